//! The building blocks the encoder-decoder networks share: projections, normalisation,
//! activations and multi-head attention.

use tch::{Kind, Tensor};

use super::{
    int8::{Int8Rows, PackedInt8},
    onednn::PackedLinear,
    weights::Weights,
    Seq2SeqError,
};

pub struct Linear {
    product: Product,
}

/// How a linear layer multiplies: through oneDNN with a prepacked float32 weight (CPU, see
/// onednn.rs), by int8 weights (CPU, `--quantize int8`, see int8.rs), or by libtorch's
/// `linear` (GPUs, half precision).
enum Product {
    Packed(PackedLinear),
    Int8(PackedInt8),
    Float { weight: Tensor, bias: Option<Tensor> },
}

impl Product {
    fn float(weight: Tensor, bias: Option<Tensor>) -> Result<Product, Seq2SeqError> {
        Ok(match PackedLinear::pack(&weight, bias.as_ref())? {
            Some(packed) => Product::Packed(packed),
            None => Product::Float { weight, bias },
        })
    }
}

impl Linear {
    /// `{prefix}.weight`, and `{prefix}.bias` when the file has one (T5 has none), quantized
    /// when the weights are read for int8.
    pub fn load(weights: &Weights, prefix: &str) -> Result<Linear, Seq2SeqError> {
        Linear::load_stacked(weights, &[prefix])
    }

    /// The layers `prefixes` as one, their outputs side by side (keys and values in one
    /// product: one pass over the input and one kernel call instead of two).
    pub fn load_stacked(weights: &Weights, prefixes: &[&str]) -> Result<Linear, Seq2SeqError> {
        let mut parts = Vec::new();
        let mut biases = Vec::new();
        for prefix in prefixes {
            parts.push(weights.get(&format!("{prefix}.weight"))?);
            let bias_name = format!("{prefix}.bias");
            if weights.contains(&bias_name) {
                biases.push(weights.get(&bias_name)?);
            }
        }
        let weight = if parts.len() == 1 {
            parts.remove(0)
        } else {
            Tensor::cat(&parts, 0)
        };
        let bias = match biases.len() {
            0 => None,
            n if n == prefixes.len() => Some(if n == 1 {
                biases.remove(0)
            } else {
                Tensor::cat(&biases, 0)
            }),
            _ => {
                return Err(Seq2SeqError::Config(format!(
                    "of {prefixes:?} only some have a bias; stacked layers need all or none"
                )))
            }
        };
        let product = if weights.int8() {
            Product::Int8(PackedInt8::new(&Int8Rows::quantize(&weight), bias.as_ref()))
        } else {
            Product::float(weight, bias)?
        };
        Ok(Linear { product })
    }

    pub fn forward(&self, x: &Tensor) -> Tensor {
        match &self.product {
            Product::Packed(packed) => packed.forward(x),
            Product::Int8(packed) => packed.forward(x),
            Product::Float { weight, bias } => x.linear(weight, bias.as_ref()),
        }
    }
}

/// A token embedding table, which tied models also use as their output layer.
pub enum Embedding {
    Float(Tensor),
    /// Quantized once, for the lookups and the output layer alike.
    Int8(Int8Rows),
}

impl Embedding {
    /// The table `name` (or the first of several names, see [`Weights::first_of`]).
    pub fn load(weights: &Weights, names: &[&str]) -> Result<Embedding, Seq2SeqError> {
        let table = weights.first_of(names)?;
        Ok(if weights.int8() {
            Embedding::Int8(Int8Rows::quantize(&table))
        } else {
            Embedding::Float(table)
        })
    }

    /// Rows `ids` (batch, length) -> (batch, length, width).
    pub fn lookup(&self, ids: &Tensor) -> Tensor {
        match self {
            Embedding::Float(table) => embed(table, ids),
            Embedding::Int8(table) => table.rows(ids),
        }
    }

    /// An output layer tied to this table, plus `bias` (BART's `final_logits_bias`). A
    /// float32 table is packed for oneDNN as a second copy (the lookups read the dense one):
    /// 206 MB more for BART-large, for an output layer that took 3.3 ms instead of 4.7 ms a
    /// step over 4 beams and 4.9 ms instead of 24.6 ms over 12 rows (MKL on the bench machine).
    pub fn tied_output(&self, bias: Option<Tensor>) -> Result<Linear, Seq2SeqError> {
        let product = match self {
            Embedding::Float(table) => Product::float(table.shallow_clone(), bias)?,
            Embedding::Int8(table) => Product::Int8(PackedInt8::new(table, bias.as_ref())),
        };
        Ok(Linear { product })
    }
}

/// LayerNorm (BART, Pegasus) or T5's RMS norm (no mean, no bias, variance in f32).
pub enum Norm {
    Layer { weight: Tensor, bias: Tensor },
    Rms { weight: Tensor, eps: f64 },
}

impl Norm {
    pub fn layer(weights: &Weights, prefix: &str) -> Result<Norm, Seq2SeqError> {
        Ok(Norm::Layer {
            weight: weights.get(&format!("{prefix}.weight"))?,
            bias: weights.get(&format!("{prefix}.bias"))?,
        })
    }

    pub fn rms(weights: &Weights, prefix: &str, eps: f64) -> Result<Norm, Seq2SeqError> {
        Ok(Norm::Rms {
            weight: weights.get(&format!("{prefix}.weight"))?,
            eps,
        })
    }

    pub fn forward(&self, x: &Tensor) -> Tensor {
        match self {
            Norm::Layer { weight, bias } => {
                let width = *x.size().last().expect("hidden states have a width");
                x.layer_norm([width], Some(weight), Some(bias), 1e-5, false)
            }
            Norm::Rms { weight, eps } => {
                let variance = x
                    .to_kind(Kind::Float)
                    .pow_tensor_scalar(2)
                    .mean_dim(-1, true, Kind::Float);
                let normed = x * (variance + *eps).rsqrt();
                weight * normed.to_kind(weight.kind())
            }
        }
    }
}

/// Feed-forward activations by their Hugging Face config names.
#[derive(Debug, Clone, Copy)]
pub enum Activation {
    Gelu,
    /// transformers' NewGELUActivation (`gelu_new`), written out as it writes it.
    GeluNew,
    /// `gelu_pytorch_tanh`: libtorch's own tanh approximation.
    GeluTanh,
    Relu,
    Silu,
}

impl Activation {
    pub fn from_name(name: &str) -> Result<Activation, Seq2SeqError> {
        match name {
            "gelu" => Ok(Activation::Gelu),
            "gelu_new" => Ok(Activation::GeluNew),
            "gelu_pytorch_tanh" => Ok(Activation::GeluTanh),
            "relu" => Ok(Activation::Relu),
            "silu" | "swish" => Ok(Activation::Silu),
            other => Err(Seq2SeqError::Config(format!(
                "unsupported activation function {other:?}"
            ))),
        }
    }

    pub fn apply(self, x: &Tensor) -> Tensor {
        match self {
            Activation::Gelu => x.gelu("none"),
            Activation::GeluNew => {
                let inner = (x + x.pow_tensor_scalar(3.0) * 0.044715) * (2.0 / std::f64::consts::PI).sqrt();
                x * 0.5 * (inner.tanh() + 1.0)
            }
            Activation::GeluTanh => x.gelu("tanh"),
            Activation::Relu => x.relu(),
            Activation::Silu => x.silu(),
        }
    }
}

/// A token embedding table (shared by encoder, decoder and, when tied, the output layer).
pub fn embed(table: &Tensor, ids: &Tensor) -> Tensor {
    Tensor::embedding(table, ids, -1, false, false)
}

/// Keys and values of one attention layer, shaped (batch, heads, length, head width).
pub struct KeyValues {
    pub keys: Tensor,
    pub values: Tensor,
}

/// Multi-head attention. `scale` is None for the usual 1/sqrt(head width) (BART, Pegasus)
/// and Some(1.0) for T5, which folds the scaling into its initialisation.
pub struct Attention {
    q: Linear,
    /// Keys and values stacked (see [`Linear::load_stacked`]).
    kv: Linear,
    out: Linear,
    heads: i64,
    scale: Option<f64>,
}

impl Attention {
    pub fn load(
        weights: &Weights,
        prefix: &str,
        names: [&str; 4],
        heads: i64,
        scale: Option<f64>,
    ) -> Result<Attention, Seq2SeqError> {
        let [q, k, v, out] = names.map(|name| format!("{prefix}.{name}"));
        Ok(Attention {
            q: Linear::load(weights, &q)?,
            kv: Linear::load_stacked(weights, &[&k, &v])?,
            out: Linear::load(weights, &out)?,
            heads,
            scale,
        })
    }

    /// (batch, length, width) -> (batch, heads, length, head width).
    fn split_heads(&self, x: Tensor) -> Tensor {
        let (batch, length, width) = x.size3().expect("hidden states are 3-D");
        x.view([batch, length, self.heads, width / self.heads]).transpose(1, 2)
    }

    /// (batch, heads, length, head width) -> (batch, length, width).
    fn merge_heads(x: Tensor) -> Tensor {
        let (batch, heads, length, head_width) = x.size4().expect("attention output is 4-D");
        x.transpose(1, 2).reshape([batch, length, heads * head_width])
    }

    /// softmax(q k^T scale + mask) v for a few query positions (decoder steps), written out
    /// rather than through `scaled_dot_product_attention`: with a mask, libtorch 2.4's CPU
    /// kernel takes its math path, which rescales the whole key tensor on every call; that
    /// was a sixth of each decoder step for BART-large (cached cross-attention keys of 1,000
    /// tokens). The encoder's long queries keep the fused kernel, which is faster there.
    fn attend_few(&self, q: &Tensor, kv: &KeyValues, mask: Option<&Tensor>) -> Tensor {
        let head_width = *q.size().last().expect("queries have a head width");
        let scale = self.scale.unwrap_or(1.0 / (head_width as f64).sqrt());
        let scores = (q * scale).matmul(&kv.keys.transpose(-2, -1));
        let scores = match mask {
            Some(mask) => scores + mask,
            None => scores,
        };
        scores.softmax(-1, scores.kind()).matmul(&kv.values)
    }

    /// Projects `source` (batch, length, width) to keys and values.
    pub fn key_values(&self, source: &Tensor) -> KeyValues {
        let [keys, values] = <[Tensor; 2]>::try_from(self.kv.forward(source).chunk(2, -1))
            .expect("keys and values are stacked in two halves");
        KeyValues {
            keys: self.split_heads(keys).contiguous(),
            values: self.split_heads(values).contiguous(),
        }
    }

    /// Self-attention over the whole of `x` (the encoder). `mask` is additive, broadcastable
    /// to (batch, heads, length, length).
    pub fn self_attend(&self, x: &Tensor, mask: &Tensor) -> Tensor {
        let q = self.split_heads(self.q.forward(x));
        let kv = self.key_values(x);
        let output = Tensor::scaled_dot_product_attention(&q, &kv.keys, &kv.values, Some(mask), 0.0, false, self.scale);
        self.out.forward(&Self::merge_heads(output))
    }

    /// One decoder step of self-attention: `x` is (rows, 1, width); its key and value are
    /// appended to `cache`, which holds every earlier position of the same rows.
    pub fn self_attend_step(&self, x: &Tensor, cache: &mut Option<KeyValues>, bias: Option<&Tensor>) -> Tensor {
        let q = self.split_heads(self.q.forward(x));
        let new = self.key_values(x);
        let kv = match cache.take() {
            Some(old) => KeyValues {
                keys: Tensor::cat(&[old.keys, new.keys], 2),
                values: Tensor::cat(&[old.values, new.values], 2),
            },
            None => new,
        };
        let output = self.attend_few(&q, &kv, bias);
        *cache = Some(kv);
        self.out.forward(&Self::merge_heads(output))
    }

    /// Cross-attention of decoder rows onto the encoder output. `x` is (items x rows per
    /// item, 1, width) and `source` holds one set of keys and values per item: every beam of
    /// an article reads the same encoder states, so they are projected once per article and
    /// the beams attend as extra query positions instead of as copies.
    pub fn cross_attend(&self, x: &Tensor, source: &KeyValues, mask: &Tensor) -> Tensor {
        let (rows, length, width) = x.size3().expect("hidden states are 3-D");
        let items = source.keys.size()[0];
        let grouped = x.reshape([items, rows / items * length, width]);
        let q = self.split_heads(self.q.forward(&grouped));
        let output = Self::merge_heads(self.attend_few(&q, source, Some(mask)));
        // The attention width (heads x head width) may differ from the model width (flan-t5).
        self.out.forward(&output.reshape([rows, length, -1]))
    }
}

/// An additive attention mask over keys, shaped (batch, 1, 1, length), from a 0/1 padding
/// mask: 0 for real tokens, the most negative value of `kind` for padding, as transformers
/// builds it.
pub fn padding_bias(attention_mask: &Tensor, kind: Kind) -> Tensor {
    let most_negative = if kind == Kind::Half {
        -65504.0
    } else {
        f64::from(f32::MIN)
    };
    (attention_mask.logical_not().to_kind(kind) * most_negative)
        .unsqueeze(1)
        .unsqueeze(1)
}
