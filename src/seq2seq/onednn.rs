//! Float32 linear layers on CPU through oneDNN with prepacked weights.
//!
//! libtorch's `linear` multiplies through MKL, and MKL runs a generic code path, without
//! AVX-512, on processors it does not recognise as Intel's: on the 2-core AMD EPYC bench
//! machine BART-large's encoder products ran at 200-225 GFLOPS and a decoder step's 84
//! products over 4 beams took 27 ms. oneDNN, also inside libtorch, picks its kernels by
//! instruction set; with the weight reordered once into its blocked layout (as PyTorch's
//! own compiled CPU path does) the same encoder products ran at 450-510 GFLOPS and the
//! decoder step's in 18.5 ms, 25 ms instead of 72 ms for 12 rows (3 articles x 4 beams).
//! One packed weight serves every row count, from one decoder row to a batch of encoder
//! windows; the dense weight is dropped once packed, so memory does not grow.
//!
//! The two operators are not bound by tch; src/seq2seq/cpp/onednn_linear.cpp calls them
//! through libtorch's dispatcher.

use std::{
    ffi::{c_char, CStr},
    sync::OnceLock,
};

use tch::{Device, Kind, Tensor};

use super::Seq2SeqError;

mod ffi {
    use std::ffi::{c_char, c_int};

    use tch::Tensor;
    use torch_sys::C_tensor;

    extern "C" {
        pub fn newsgist_onednn_linear_available() -> c_int;
        pub fn newsgist_onednn_pack_weight(
            weight: *const C_tensor,
            error: *mut c_char,
            error_len: usize,
        ) -> *mut C_tensor;
        pub fn newsgist_onednn_linear(
            input: *const C_tensor,
            packed: *const C_tensor,
            bias: *const C_tensor,
            error: *mut c_char,
            error_len: usize,
        ) -> *mut C_tensor;
    }

    /// The pointer tch hands to its own C shim for `tensor`.
    pub fn raw(tensor: &Tensor) -> *const C_tensor {
        tensor.as_ptr()
    }
}

/// Room for libtorch's error message (its first line says what went wrong).
const ERROR_LEN: usize = 1024;

/// Runs a shim call that returns a new tensor or null with a message in its buffer.
fn checked(call: impl FnOnce(*mut c_char, usize) -> *mut torch_sys::C_tensor) -> Result<Tensor, String> {
    let mut error = [0 as c_char; ERROR_LEN];
    let tensor = call(error.as_mut_ptr(), ERROR_LEN);
    if tensor.is_null() {
        // SAFETY: the shim writes a NUL-terminated message into the zeroed buffer.
        let message = unsafe { CStr::from_ptr(error.as_ptr()) };
        return Err(message.to_string_lossy().into_owned());
    }
    // SAFETY: the shim returned a fresh `at::Tensor*` that nothing else owns.
    Ok(unsafe { Tensor::from_ptr(tensor) })
}

/// A float32 weight (out, in) in oneDNN's layout, and its bias.
pub struct PackedLinear {
    packed: Tensor,
    bias: Option<Tensor>,
}

impl PackedLinear {
    /// Packs `weight` when oneDNN can take it: a float32 CPU weight in a libtorch with
    /// oneDNN. None leaves the caller on libtorch's `linear`.
    pub fn pack(weight: &Tensor, bias: Option<&Tensor>) -> Result<Option<PackedLinear>, Seq2SeqError> {
        if weight.device() != Device::Cpu || weight.kind() != Kind::Float || !available() {
            return Ok(None);
        }
        let dense = weight.contiguous();
        let packed = checked(|error, len| {
            // SAFETY: `dense` outlives the call; the shim only reads it.
            unsafe { ffi::newsgist_onednn_pack_weight(ffi::raw(&dense), error, len) }
        })
        .map_err(|reason| {
            Seq2SeqError::Config(format!("oneDNN could not pack a {:?} weight: {reason}", weight.size()))
        })?;
        Ok(Some(PackedLinear {
            packed,
            // Float32 like the weight: both are read at the model's precision.
            bias: bias.map(Tensor::contiguous),
        }))
    }

    /// `x W^T + b` for float32 `x` (..., in).
    pub fn forward(&self, x: &Tensor) -> Tensor {
        let bias = self.bias.as_ref().map_or(std::ptr::null(), ffi::raw);
        checked(|error, len| {
            // SAFETY: every tensor outlives the call; the shim only reads them.
            unsafe { ffi::newsgist_onednn_linear(ffi::raw(x), ffi::raw(&self.packed), bias, error, len) }
        })
        // The shapes were checked when the model loaded; a failure here is a libtorch bug,
        // which the worker's panic handling turns into an error for this request.
        .unwrap_or_else(|reason| panic!("oneDNN linear layer failed: {reason}"))
    }
}

/// Whether this libtorch has the two oneDNN operators (checked once).
fn available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    // SAFETY: a lookup in libtorch's operator registry, which is built when libtorch loads.
    *AVAILABLE.get_or_init(|| tch::utils::has_mkldnn() && unsafe { ffi::newsgist_onednn_linear_available() } != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_products_match_libtorch_linear_for_any_row_count() {
        assert!(available(), "the bundled libtorch 2.4.0 has oneDNN");
        tch::manual_seed(11);
        let weight = Tensor::randn([96, 64], (Kind::Float, Device::Cpu)) * 0.1;
        let bias = Tensor::randn([96], (Kind::Float, Device::Cpu));
        let packed = PackedLinear::pack(&weight, Some(&bias))
            .unwrap()
            .expect("float32 on CPU packs");
        for shape in [vec![1, 64], vec![4, 1, 64], vec![3, 250, 64]] {
            let x = Tensor::randn(shape.as_slice(), (Kind::Float, Device::Cpu));
            let exact = x.linear(&weight, Some(&bias));
            let product = packed.forward(&x);
            assert_eq!(product.size(), exact.size());
            let difference = f64::try_from((product - exact).abs().max()).unwrap();
            assert!(difference < 1e-4, "{shape:?}: {difference}");
        }
        let unbiased = PackedLinear::pack(&weight, None).unwrap().unwrap();
        let x = Tensor::randn([2, 64], (Kind::Float, Device::Cpu));
        let difference = f64::try_from((unbiased.forward(&x) - x.matmul(&weight.tr())).abs().max()).unwrap();
        assert!(difference < 1e-4, "{difference}");
    }

    #[test]
    fn other_precisions_stay_on_libtorch_linear() {
        let half = Tensor::zeros([8, 8], (Kind::Half, Device::Cpu));
        assert!(PackedLinear::pack(&half, None).unwrap().is_none());
    }
}
