//! Compiles the protobuf API with a pure-Rust compiler (no system `protoc`), keeps the
//! descriptor set for gRPC server reflection, and, in builds with the `torch` feature, adds
//! libtorch's directory to the rpath so every binary (server, tests, benches) runs without
//! `LD_LIBRARY_PATH`.

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
    let with_torch = env::var_os("CARGO_FEATURE_TORCH").is_some();
    if let (true, Ok(libtorch)) = (with_torch, env::var("LIBTORCH")) {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{libtorch}/lib");
    }
    Ok(())
}
