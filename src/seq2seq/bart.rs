//! BART and Pegasus, which share one layout: learned (BART) or sinusoidal (Pegasus) positions,
//! post-norm (BART) or pre-norm with final norms (Pegasus) layers, and an output layer tied to
//! the token embeddings plus `final_logits_bias`. Numerics follow transformers' modeling_bart
//! and modeling_pegasus.

use serde::Deserialize;
use tch::{Kind, Tensor};

use super::{
    layers::{padding_bias, Activation, Attention, Embedding, KeyValues, Linear, Norm},
    weights::Weights,
    DecoderState, Seq2SeqError,
};

/// The config.json fields this layout reads, with BartConfig's and PegasusConfig's defaults
/// (the same for these fields).
#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct BartConfig {
    d_model: i64,
    encoder_layers: usize,
    decoder_layers: usize,
    encoder_attention_heads: i64,
    decoder_attention_heads: i64,
    activation_function: String,
    max_position_embeddings: i64,
    scale_embedding: bool,
}

impl Default for BartConfig {
    fn default() -> BartConfig {
        BartConfig {
            d_model: 1024,
            encoder_layers: 12,
            decoder_layers: 12,
            encoder_attention_heads: 16,
            decoder_attention_heads: 16,
            activation_function: "gelu".into(),
            max_position_embeddings: 1024,
            scale_embedding: false,
        }
    }
}

/// What differs between the two architectures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Flavour {
    Bart,
    Pegasus,
}

impl Flavour {
    fn pre_norm(self) -> bool {
        self == Flavour::Pegasus
    }

    /// BART's learned position table starts two rows in (a fairseq legacy).
    fn position_offset(self) -> i64 {
        match self {
            Flavour::Bart => 2,
            Flavour::Pegasus => 0,
        }
    }
}

struct Layer {
    self_attention: Attention,
    self_norm: Norm,
    cross: Option<(Attention, Norm)>,
    fc1: Linear,
    fc2: Linear,
    ffn_norm: Norm,
}

const PROJECTIONS: [&str; 4] = ["q_proj", "k_proj", "v_proj", "out_proj"];

/// float16's largest value less 1000, where transformers clamps encoder states.
const HALF_CLAMP: f64 = 65504.0 - 1000.0;

impl Layer {
    fn load(weights: &Weights, prefix: &str, heads: i64, decoder: bool) -> Result<Layer, Seq2SeqError> {
        let cross = if decoder {
            Some((
                Attention::load(weights, &format!("{prefix}.encoder_attn"), PROJECTIONS, heads, None)?,
                Norm::layer(weights, &format!("{prefix}.encoder_attn_layer_norm"))?,
            ))
        } else {
            None
        };
        Ok(Layer {
            self_attention: Attention::load(weights, &format!("{prefix}.self_attn"), PROJECTIONS, heads, None)?,
            self_norm: Norm::layer(weights, &format!("{prefix}.self_attn_layer_norm"))?,
            cross,
            fc1: Linear::load(weights, &format!("{prefix}.fc1"))?,
            fc2: Linear::load(weights, &format!("{prefix}.fc2"))?,
            ffn_norm: Norm::layer(weights, &format!("{prefix}.final_layer_norm"))?,
        })
    }

    /// `residual + f(x)` with the norm before f (pre-norm) or after the sum (post-norm).
    fn block(pre_norm: bool, norm: &Norm, x: Tensor, f: impl FnOnce(&Tensor) -> Tensor) -> Tensor {
        if pre_norm {
            &x + f(&norm.forward(&x))
        } else {
            norm.forward(&(&x + f(&x)))
        }
    }

    fn feed_forward(&self, x: &Tensor, activation: Activation) -> Tensor {
        self.fc2.forward(&activation.apply(&self.fc1.forward(x)))
    }
}

struct Stack {
    layers: Vec<Layer>,
    positions: Tensor,
    embedding_norm: Option<Norm>,
    final_norm: Option<Norm>,
}

impl Stack {
    fn load(
        weights: &Weights,
        prefix: &str,
        config: &BartConfig,
        flavour: Flavour,
        decoder: bool,
    ) -> Result<Stack, Seq2SeqError> {
        let (count, heads) = if decoder {
            (config.decoder_layers, config.decoder_attention_heads)
        } else {
            (config.encoder_layers, config.encoder_attention_heads)
        };
        let layers = (0..count)
            .map(|i| Layer::load(weights, &format!("{prefix}.layers.{i}"), heads, decoder))
            .collect::<Result<_, _>>()?;
        let positions_name = format!("{prefix}.embed_positions.weight");
        let positions = match flavour {
            Flavour::Pegasus if !weights.contains(&positions_name) => {
                let (kind, device) = weights.placement();
                sinusoidal_positions(config.max_position_embeddings, config.d_model)
                    .to_kind(kind)
                    .to_device(device)
            }
            _ => weights.get(&positions_name)?,
        };
        let (embedding_norm, final_norm) = match flavour {
            Flavour::Bart => (
                Some(Norm::layer(weights, &format!("{prefix}.layernorm_embedding"))?),
                None,
            ),
            Flavour::Pegasus => (None, Some(Norm::layer(weights, &format!("{prefix}.layer_norm"))?)),
        };
        Ok(Stack {
            layers,
            positions,
            embedding_norm,
            final_norm,
        })
    }
}

/// A loaded BART or Pegasus network.
pub struct Bart {
    flavour: Flavour,
    activation: Activation,
    embed_scale: f64,
    shared: Embedding,
    /// Tied to `shared`, plus `final_logits_bias` where the checkpoint has one.
    output: Linear,
    encoder: Stack,
    decoder: Stack,
}

impl Bart {
    pub fn load(weights: &Weights, config: &BartConfig, flavour: Flavour) -> Result<Bart, Seq2SeqError> {
        let shared = Embedding::load(
            weights,
            &[
                "model.shared.weight",
                "model.encoder.embed_tokens.weight",
                "model.decoder.embed_tokens.weight",
            ],
        )?;
        let logits_bias = weights
            .contains("final_logits_bias")
            .then(|| weights.get("final_logits_bias").map(|bias| bias.reshape([-1])))
            .transpose()?;
        Ok(Bart {
            flavour,
            activation: Activation::from_name(&config.activation_function)?,
            embed_scale: if config.scale_embedding {
                (config.d_model as f64).sqrt()
            } else {
                1.0
            },
            encoder: Stack::load(weights, "model.encoder", config, flavour, false)?,
            decoder: Stack::load(weights, "model.decoder", config, flavour, true)?,
            output: shared.tied_output(logits_bias)?,
            shared,
        })
    }

    /// Token embeddings plus positions `start..start + length`, normalised for BART.
    fn embed(&self, stack: &Stack, ids: &Tensor, start: i64) -> Tensor {
        let length = ids.size()[1];
        let offset = self.flavour.position_offset();
        let positions = stack.positions.narrow(0, start + offset, length);
        let x = self.shared.lookup(ids) * self.embed_scale + positions;
        match &stack.embedding_norm {
            Some(norm) => norm.forward(&x),
            None => x,
        }
    }

    /// Encoder output (batch, length, width) for padded `ids` and their 0/1 mask.
    pub fn encode(&self, ids: &Tensor, attention_mask: &Tensor) -> Tensor {
        let mask = padding_bias(attention_mask, self.encoder.positions.kind());
        let pre_norm = self.flavour.pre_norm();
        let mut x = self.embed(&self.encoder, ids, 0);
        for layer in &self.encoder.layers {
            x = Layer::block(pre_norm, &layer.self_norm, x, |h| {
                layer.self_attention.self_attend(h, &mask)
            });
            x = Layer::block(pre_norm, &layer.ffn_norm, x, |h| layer.feed_forward(h, self.activation));
            if x.kind() == Kind::Half {
                // transformers clamps half-precision encoder states that overflowed to inf.
                x = x.clamp(-HALF_CLAMP, HALF_CLAMP);
            }
        }
        match &self.encoder.final_norm {
            Some(norm) => norm.forward(&x),
            None => x,
        }
    }

    /// Each decoder layer's cross-attention keys and values, once per article.
    pub fn cross_key_values(&self, encoded: &Tensor) -> Vec<KeyValues> {
        self.decoder
            .layers
            .iter()
            .map(|layer| {
                layer
                    .cross
                    .as_ref()
                    .expect("decoder layers attend to the encoder")
                    .0
                    .key_values(encoded)
            })
            .collect()
    }

    /// The decoder's output (rows, width) for the next token after `tokens` (rows, 1).
    pub fn decode_step(&self, tokens: &Tensor, state: &mut DecoderState) -> Tensor {
        let pre_norm = self.flavour.pre_norm();
        let mut x = self.embed(&self.decoder, tokens, state.position);
        for (i, layer) in self.decoder.layers.iter().enumerate() {
            let cache = &mut state.self_cache[i];
            x = Layer::block(pre_norm, &layer.self_norm, x, |h| {
                layer.self_attention.self_attend_step(h, cache, None)
            });
            let (attention, norm) = layer.cross.as_ref().expect("decoder layers attend to the encoder");
            x = Layer::block(pre_norm, norm, x, |h| {
                attention.cross_attend(h, &state.cross[i], &state.cross_mask)
            });
            x = Layer::block(pre_norm, &layer.ffn_norm, x, |h| layer.feed_forward(h, self.activation));
        }
        if let Some(norm) = &self.decoder.final_norm {
            x = norm.forward(&x);
        }
        x.squeeze_dim(1)
    }

    /// Logits (rows, vocabulary) from the decoder's output `hidden` (rows, width).
    pub fn logits(&self, hidden: &Tensor) -> Tensor {
        self.output.forward(hidden)
    }

    /// Positions the (encoder, decoder) position tables cover: the longest input, and the
    /// longest output with its start token.
    pub fn positions(&self) -> (usize, usize) {
        let rows = |stack: &Stack| (stack.positions.size()[0] - self.flavour.position_offset()) as usize;
        (rows(&self.encoder), rows(&self.decoder))
    }
}

/// transformers' PegasusSinusoidalPositionalEmbedding table: sines in the first half of each
/// row, cosines in the second, for checkpoints that do not store it.
fn sinusoidal_positions(positions: i64, width: i64) -> Tensor {
    let half = (width + 1) / 2;
    let mut table = vec![0f32; (positions * width) as usize];
    for pos in 0..positions {
        for j in 0..width {
            let angle = pos as f64 / 10000f64.powf((2 * (j / 2)) as f64 / width as f64);
            let column = if j % 2 == 0 { j / 2 } else { half + j / 2 };
            table[(pos * width + column) as usize] = if j % 2 == 0 { angle.sin() } else { angle.cos() } as f32;
        }
    }
    Tensor::from_slice(&table).view([positions, width])
}
