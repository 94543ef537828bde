//! Compiles the protobuf API with a pure-Rust compiler (no system `protoc`), keeps the
//! descriptor set for gRPC server reflection, and, in builds with the `torch` feature, adds
//! libtorch's directory to the rpath so every binary (server, tests, benches) runs without
//! `LD_LIBRARY_PATH`, and compiles the C++ shim over libtorch's oneDNN linear operators.

use std::{env, path::PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = ["proto/newsgist/v1/newsgist.proto", "proto/newsgist/v1/digest.proto"];
    for proto in protos {
        println!("cargo:rerun-if-changed={proto}");
    }
    let descriptors = protox::compile(protos, ["proto"])?;
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    let descriptor_path = out_dir.join("newsgist_descriptor.bin");
    std::fs::write(&descriptor_path, prost::Message::encode_to_vec(&descriptors))?;
    tonic_prost_build::configure()
        .file_descriptor_set_path(&descriptor_path)
        // Malformed messages are the caller's error (src/server/codec.rs).
        .codec_path("crate::server::codec::StrictCodec")
        .skip_protoc_run()
        .compile_fds(descriptors)?;

    println!("cargo:rerun-if-env-changed=LIBTORCH");
    println!("cargo:rerun-if-env-changed=LIBTORCH_CXX11_ABI");
    if env::var_os("CARGO_FEATURE_TORCH").is_some() {
        let libtorch = env::var("LIBTORCH").map_err(|_| {
            "the torch feature needs LIBTORCH (libtorch's directory; scripts/setup.sh writes it to .cargo/config.toml)"
        })?;
        println!("cargo:rustc-link-arg=-Wl,-rpath,{libtorch}/lib");
        compile_onednn_linear(&libtorch);
    }
    Ok(())
}

/// The C++ shim over libtorch's oneDNN linear operators (src/seq2seq/onednn.rs says why),
/// compiled against the same libtorch headers and C++ ABI as tch's own shim.
fn compile_onednn_linear(libtorch: &str) {
    let source = "src/seq2seq/cpp/onednn_linear.cpp";
    println!("cargo:rerun-if-changed={source}");
    let abi = env::var("LIBTORCH_CXX11_ABI").unwrap_or_else(|_| "1".into());
    cc::Build::new()
        .cpp(true)
        .pic(true)
        .std("c++17")
        .include(format!("{libtorch}/include"))
        .include(format!("{libtorch}/include/torch/csrc/api/include"))
        .define("_GLIBCXX_USE_CXX11_ABI", abi.as_str())
        // libtorch's headers warn about themselves; the shim's own code is a few lines.
        .warnings(false)
        .file(source)
        .compile("newsgist_onednn");
}
