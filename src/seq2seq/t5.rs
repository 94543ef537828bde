//! T5 (v1.0 and the gated v1.1 feed-forward): RMS norms before each block, no attention
//! scaling, and bucketed relative-position biases computed by the first layer and shared by
//! the rest. Numerics follow transformers' modeling_t5.

use serde::Deserialize;
use tch::{Kind, Tensor};

use super::{
    layers::{embed, padding_bias, Activation, Attention, Embedding, KeyValues, Linear, Norm},
    weights::Weights,
    DecoderState, Seq2SeqError,
};

/// The config.json fields T5 reads, with T5Config's defaults.
#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct T5Config {
    d_model: i64,
    num_heads: i64,
    num_layers: usize,
    /// None: as many as `num_layers`.
    num_decoder_layers: Option<usize>,
    relative_attention_num_buckets: i64,
    relative_attention_max_distance: i64,
    layer_norm_epsilon: f64,
    feed_forward_proj: String,
    tie_word_embeddings: bool,
}

impl Default for T5Config {
    fn default() -> T5Config {
        T5Config {
            d_model: 512,
            num_heads: 8,
            num_layers: 6,
            num_decoder_layers: None,
            relative_attention_num_buckets: 32,
            relative_attention_max_distance: 128,
            layer_norm_epsilon: 1e-6,
            feed_forward_proj: "relu".into(),
            tie_word_embeddings: true,
        }
    }
}

enum FeedForward {
    Plain { wi: Linear, wo: Linear },
    Gated { wi_0: Linear, wi_1: Linear, wo: Linear },
}

impl FeedForward {
    fn forward(&self, x: &Tensor, activation: Activation) -> Tensor {
        match self {
            FeedForward::Plain { wi, wo } => wo.forward(&activation.apply(&wi.forward(x))),
            FeedForward::Gated { wi_0, wi_1, wo } => {
                wo.forward(&(activation.apply(&wi_0.forward(x)) * wi_1.forward(x)))
            }
        }
    }
}

struct Block {
    self_attention: Attention,
    self_norm: Norm,
    cross: Option<(Attention, Norm)>,
    feed_forward: FeedForward,
    ffn_norm: Norm,
}

const PROJECTIONS: [&str; 4] = ["q", "k", "v", "o"];
/// T5 folds 1/sqrt(head width) into its weights.
const UNSCALED: Option<f64> = Some(1.0);

impl Block {
    fn load(
        weights: &Weights,
        prefix: &str,
        config: &T5Config,
        gated: bool,
        decoder: bool,
    ) -> Result<Block, Seq2SeqError> {
        let eps = config.layer_norm_epsilon;
        let heads = config.num_heads;
        let ffn = if decoder { 2 } else { 1 };
        let cross = if decoder {
            Some((
                Attention::load(
                    weights,
                    &format!("{prefix}.layer.1.EncDecAttention"),
                    PROJECTIONS,
                    heads,
                    UNSCALED,
                )?,
                Norm::rms(weights, &format!("{prefix}.layer.1.layer_norm"), eps)?,
            ))
        } else {
            None
        };
        let dense = format!("{prefix}.layer.{ffn}.DenseReluDense");
        let feed_forward = if gated {
            FeedForward::Gated {
                wi_0: Linear::load(weights, &format!("{dense}.wi_0"))?,
                wi_1: Linear::load(weights, &format!("{dense}.wi_1"))?,
                wo: Linear::load(weights, &format!("{dense}.wo"))?,
            }
        } else {
            FeedForward::Plain {
                wi: Linear::load(weights, &format!("{dense}.wi"))?,
                wo: Linear::load(weights, &format!("{dense}.wo"))?,
            }
        };
        Ok(Block {
            self_attention: Attention::load(
                weights,
                &format!("{prefix}.layer.0.SelfAttention"),
                PROJECTIONS,
                heads,
                UNSCALED,
            )?,
            self_norm: Norm::rms(weights, &format!("{prefix}.layer.0.layer_norm"), eps)?,
            cross,
            feed_forward,
            ffn_norm: Norm::rms(weights, &format!("{prefix}.layer.{ffn}.layer_norm"), eps)?,
        })
    }
}

struct Stack {
    blocks: Vec<Block>,
    /// (buckets, heads), from the first block.
    relative_bias: Tensor,
    final_norm: Norm,
}

impl Stack {
    fn load(
        weights: &Weights,
        prefix: &str,
        config: &T5Config,
        gated: bool,
        decoder: bool,
    ) -> Result<Stack, Seq2SeqError> {
        let count = if decoder {
            config.num_decoder_layers.unwrap_or(config.num_layers)
        } else {
            config.num_layers
        };
        let blocks = (0..count)
            .map(|i| Block::load(weights, &format!("{prefix}.block.{i}"), config, gated, decoder))
            .collect::<Result<_, _>>()?;
        Ok(Stack {
            blocks,
            relative_bias: weights.get(&format!(
                "{prefix}.block.0.layer.0.SelfAttention.relative_attention_bias.weight"
            ))?,
            final_norm: Norm::rms(
                weights,
                &format!("{prefix}.final_layer_norm"),
                config.layer_norm_epsilon,
            )?,
        })
    }
}

pub struct T5 {
    activation: Activation,
    shared: Embedding,
    /// `lm_head`, or `shared` when tied (then hidden states are scaled by `output_scale` first).
    output: Linear,
    output_scale: f64,
    buckets: i64,
    max_distance: i64,
    encoder: Stack,
    decoder: Stack,
}

impl T5 {
    pub fn load(weights: &Weights, config: &T5Config) -> Result<T5, Seq2SeqError> {
        let (gated, act) = match config.feed_forward_proj.strip_prefix("gated-") {
            // transformers maps "gated-gelu" to the tanh approximation.
            Some("gelu") => (true, "gelu_new"),
            Some(act) => (true, act),
            None => (false, config.feed_forward_proj.as_str()),
        };
        let shared = Embedding::load(weights, &["shared.weight", "encoder.embed_tokens.weight"])?;
        let output = if config.tie_word_embeddings {
            shared.tied_output(None)?
        } else {
            Linear::load(weights, "lm_head")?
        };
        Ok(T5 {
            activation: Activation::from_name(act)?,
            output_scale: if config.tie_word_embeddings {
                (config.d_model as f64).powf(-0.5)
            } else {
                1.0
            },
            buckets: config.relative_attention_num_buckets,
            max_distance: config.relative_attention_max_distance,
            encoder: Stack::load(weights, "encoder", config, gated, false)?,
            decoder: Stack::load(weights, "decoder", config, gated, true)?,
            shared,
            output,
        })
    }

    /// Position bias (1, heads, queries, keys) for query positions `queries` against key
    /// positions 0..keys, as transformers' T5Attention.compute_bias.
    fn position_bias(&self, stack: &Stack, queries: &Tensor, keys: i64, bidirectional: bool) -> Tensor {
        let device = queries.device();
        let memory = Tensor::arange(keys, (Kind::Int64, device)).unsqueeze(0);
        let relative = memory - queries.unsqueeze(1);
        let buckets = relative_position_bucket(&relative, bidirectional, self.buckets, self.max_distance);
        embed(&stack.relative_bias, &buckets).permute([2, 0, 1]).unsqueeze(0)
    }

    pub fn encode(&self, ids: &Tensor, attention_mask: &Tensor) -> Tensor {
        let length = ids.size()[1];
        let positions = Tensor::arange(length, (Kind::Int64, ids.device()));
        let mut x = self.shared.lookup(ids);
        let bias = self.position_bias(&self.encoder, &positions, length, true) + padding_bias(attention_mask, x.kind());
        for block in &self.encoder.blocks {
            x = &x + block.self_attention.self_attend(&block.self_norm.forward(&x), &bias);
            x = &x + block.feed_forward.forward(&block.ffn_norm.forward(&x), self.activation);
        }
        self.encoder.final_norm.forward(&x)
    }

    pub fn cross_key_values(&self, encoded: &Tensor) -> Vec<KeyValues> {
        self.decoder
            .blocks
            .iter()
            .map(|block| {
                block
                    .cross
                    .as_ref()
                    .expect("decoder blocks attend to the encoder")
                    .0
                    .key_values(encoded)
            })
            .collect()
    }

    /// The decoder's output (rows, width) for the next token after `tokens` (rows, 1).
    pub fn decode_step(&self, tokens: &Tensor, state: &mut DecoderState) -> Tensor {
        let position = Tensor::from_slice(&[state.position]).to_device(tokens.device());
        let mut x = self.shared.lookup(tokens);
        let bias = self
            .position_bias(&self.decoder, &position, state.position + 1, false)
            .to_kind(x.kind());
        for (i, block) in self.decoder.blocks.iter().enumerate() {
            let cache = &mut state.self_cache[i];
            x = &x
                + block
                    .self_attention
                    .self_attend_step(&block.self_norm.forward(&x), cache, Some(&bias));
            let (attention, norm) = block.cross.as_ref().expect("decoder blocks attend to the encoder");
            x = &x + attention.cross_attend(&norm.forward(&x), &state.cross[i], &state.cross_mask);
            x = &x + block.feed_forward.forward(&block.ffn_norm.forward(&x), self.activation);
        }
        self.decoder.final_norm.forward(&x).squeeze_dim(1)
    }

    /// Logits (rows, vocabulary) from the decoder's output `hidden` (rows, width).
    pub fn logits(&self, hidden: &Tensor) -> Tensor {
        self.output.forward(&(hidden * self.output_scale))
    }
}

/// transformers' T5Attention._relative_position_bucket, op for op (so the float rounding of
/// the logarithmic buckets is the same).
fn relative_position_bucket(relative: &Tensor, bidirectional: bool, buckets: i64, max_distance: i64) -> Tensor {
    let (buckets, base, distance) = if bidirectional {
        let half = buckets / 2;
        (half, relative.gt(0).to_kind(Kind::Int64) * half, relative.abs())
    } else {
        (buckets, relative.zeros_like(), -relative.clamp_max(0))
    };
    let max_exact = buckets / 2;
    let is_small = distance.lt(max_exact);
    let large = (distance.to_kind(Kind::Float) / max_exact as f64).log()
        / (max_distance as f64 / max_exact as f64).ln()
        * (buckets - max_exact) as f64;
    let large = (large.to_kind(Kind::Int64) + max_exact).clamp_max(buckets - 1);
    base + distance.where_self(&is_small, &large)
}
