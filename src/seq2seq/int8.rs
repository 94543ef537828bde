//! Int8 weights with float activations on CPU, through libtorch's fbgemm kernels.
//!
//! Decoding a few beams reads every weight once per token, so its speed is set by memory
//! traffic: int8 weights are a quarter of float32's. fbgemm quantizes the activations on the
//! fly (8 bits, one scale per call) and multiplies with AVX2/AVX-512 (VNNI where the CPU has
//! it) integer kernels, which also makes the encoder's long matrix products faster.
//!
//! libtorch's `fbgemm_linear_quantize_weight` gives a whole matrix one scale; a single large
//! weight then coarsens every other row. Here each output row has its own scale (as
//! CTranslate2 quantizes): the matrix handed to fbgemm is quantized row by row, fbgemm is told
//! scale 1, and its output is multiplied by the row scales afterwards, which is exact because
//! the scale of an output column factors out of its dot products. The bias is divided by the
//! scales beforehand so that fbgemm still adds it in the same pass.

use tch::{Kind, Scalar, Tensor};

/// The largest magnitude of a symmetric int8 value (-128 is left out so that the range is
/// symmetric around zero).
const INT8_MAX: f64 = 127.0;

/// A (rows, columns) float matrix quantized to int8, one scale per row.
pub struct Int8Rows {
    /// The int8 values, row-major.
    pub values: Tensor,
    /// (rows,) float32: row i is `values[i] * scales[i]`.
    pub scales: Tensor,
}

impl Int8Rows {
    /// Rounds each row of `matrix` to the nearest multiple of its largest magnitude / 127.
    pub fn quantize(matrix: &Tensor) -> Int8Rows {
        let matrix = matrix.to_kind(Kind::Float);
        // An all-zero row would get scale 0, and the bias is divided by the scales.
        let scales = (matrix.abs().amax([1], false) / INT8_MAX).clamp_min(f64::from(f32::MIN_POSITIVE));
        let values = (matrix / scales.unsqueeze(1))
            .round()
            .clamp(-INT8_MAX, INT8_MAX)
            .to_kind(Kind::Int8);
        Int8Rows { values, scales }
    }

    /// Rows `ids` (any shape) as float32, shaped `ids.size() + [columns]` (embedding lookup).
    pub fn rows(&self, ids: &Tensor) -> Tensor {
        let flat = ids.reshape([-1]);
        let rows =
            self.values.index_select(0, &flat).to_kind(Kind::Float) * self.scales.index_select(0, &flat).unsqueeze(1);
        let mut shape = ids.size();
        shape.push(self.values.size()[1]);
        rows.view(shape.as_slice())
    }
}

/// A linear layer's weight in fbgemm's packed int8 layout.
pub struct PackedInt8 {
    /// fbgemm's PackBMatrix, owned by this (opaque) tensor.
    packed: Tensor,
    /// A zero-stride view of one int8 holding the weight's (out, in) shape: the kernel reads
    /// only the sizes of its `weight` argument, and the packed copy holds the values.
    shape: Tensor,
    /// Each row's sum of int8 values: fbgemm's column offsets, which correct for the
    /// activations' zero point (the weights' is 0).
    row_sums: Tensor,
    scales: Tensor,
    /// The bias over the scales (zeros without a bias), added by fbgemm before the scaling.
    scaled_bias: Tensor,
}

impl PackedInt8 {
    pub fn new(weight: &Int8Rows, bias: Option<&Tensor>) -> PackedInt8 {
        let size = weight.values.size();
        let scaled_bias = match bias {
            Some(bias) => bias.to_kind(Kind::Float) / &weight.scales,
            None => weight.scales.zeros_like(),
        };
        PackedInt8 {
            packed: weight.values.contiguous().fbgemm_pack_quantized_matrix(),
            shape: Tensor::zeros([1, 1], (Kind::Int8, weight.values.device())).expand(size.as_slice(), false),
            row_sums: weight.values.sum_dim_intlist(1, false, Kind::Int),
            scales: weight.scales.shallow_clone(),
            scaled_bias,
        }
    }

    /// `x W^T + b` for float32 `x` (..., in).
    pub fn forward(&self, x: &Tensor) -> Tensor {
        x.contiguous().fbgemm_linear_int8_weight_fp32_activation(
            &self.shape,
            &self.packed,
            &self.row_sums,
            // The kernel wants a float scale and an integer zero point.
            Scalar::float(1.0),
            Scalar::int(0),
            &self.scaled_bias,
        ) * &self.scales
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    #[test]
    fn per_row_scales_reconstruct_each_row_to_half_a_step() {
        // Rows of very different magnitudes: one scale for the whole matrix would round the
        // small row to almost nothing.
        let matrix = Tensor::from_slice(&[0.01f32, -0.02, 0.005, 100.0, -50.0, 25.0]).view([2, 3]);
        let quantized = Int8Rows::quantize(&matrix);
        let restored = quantized.rows(&Tensor::from_slice(&[0i64, 1]));
        let error = f64::try_from((restored - &matrix).abs().amax([1], false).max()).unwrap();
        let steps = Vec::<f32>::try_from(&quantized.scales).unwrap();
        assert!(error <= f64::from(steps[0].max(steps[1])) / 2.0 + 1e-6, "error {error}");
        let small_row_error = f64::try_from((quantized.rows(&Tensor::from(0i64)) - matrix.get(0)).abs().max()).unwrap();
        assert!(small_row_error <= f64::from(steps[0]) / 2.0 + 1e-9, "{small_row_error}");
    }

    #[test]
    fn packed_int8_matches_the_float_product_within_quantization_error() {
        tch::manual_seed(7);
        let weight = Tensor::randn([96, 64], (Kind::Float, Device::Cpu)) * 0.05;
        let bias = Tensor::randn([96], (Kind::Float, Device::Cpu));
        let x = Tensor::randn([3, 5, 64], (Kind::Float, Device::Cpu));
        let exact = x.linear(&weight, Some(&bias));
        let packed = PackedInt8::new(&Int8Rows::quantize(&weight), Some(&bias));
        let approx = packed.forward(&x);
        assert_eq!(approx.size(), vec![3, 5, 96]);
        let relative =
            f64::try_from((&approx - &exact).abs().mean(Kind::Float) / exact.abs().mean(Kind::Float)).unwrap();
        assert!(relative < 0.02, "relative error {relative}");
        // Without a bias the zero-bias path gives the same product less the bias.
        let unbiased = PackedInt8::new(&Int8Rows::quantize(&weight), None).forward(&x);
        let difference = f64::try_from((approx - unbiased - bias).abs().max()).unwrap();
        assert!(difference < 1e-3, "{difference}");
    }
}
