//! Encoder-decoder transformers (BART, Pegasus, T5) written directly on libtorch, with their
//! own generation loop.
//!
//! rust-bert's generators were 1.5x slower than transformers at batch 1 and 2.5x batched: each
//! decoding step copied every layer's cross-attention keys and values twice (once when
//! caching, once when reordering beams), gigabytes per step for BART-large. Here the encoder
//! states are projected once per article and every beam of that article reads the same copy;
//! decoder steps multiply in the order MKL is fastest at for a few rows; weights stream from
//! safetensors straight into place. `layers.rs` says why each choice was made.
//!
//! Outputs are held to transformers 4.44's token for token (tests/parity.rs).

mod bart;
mod layers;
pub mod search;
mod t5;
mod weights;

use std::path::{Path, PathBuf};

use serde::Deserialize;
use tch::{Device, Kind, Tensor};

use crate::models::{Architecture, Placement};
use layers::KeyValues;
pub use search::SearchSettings;
use weights::Weights;

/// Why a model could not be loaded or run.
#[derive(Debug, thiserror::Error)]
pub enum Seq2SeqError {
    #[error("{path} is not a usable safetensors file: {reason}")]
    Weights { path: PathBuf, reason: String },
    #[error("{path} has no tensor {name}: is it a checkpoint of the architecture its config.json names?")]
    MissingTensor { name: String, path: PathBuf },
    #[error("model config: {0}")]
    Config(String),
    #[error("max_tokens {requested} exceeds this model's {limit} decoder positions; ask for at most {limit}")]
    OutputTooLong { requested: usize, limit: usize },
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
}

/// Token ids generation needs, from config.json.
#[derive(Debug, Clone, Deserialize)]
struct SpecialTokens {
    decoder_start_token_id: i64,
    eos_token_id: i64,
    pad_token_id: i64,
    #[serde(default)]
    forced_bos_token_id: Option<i64>,
    #[serde(default)]
    forced_eos_token_id: Option<i64>,
}

enum Network {
    Bart(bart::Bart),
    T5(t5::T5),
}

/// Per-generation decoder state: self-attention caches per layer (one row per beam),
/// cross-attention keys and values per layer (one row per article).
struct DecoderState {
    self_cache: Vec<Option<KeyValues>>,
    cross: Vec<KeyValues>,
    cross_mask: Tensor,
    /// Position of the next decoder token.
    position: i64,
}

impl DecoderState {
    /// Keeps the self-attention history of `rows` (new row i continues old row rows[i]).
    fn reorder(&mut self, rows: &Tensor) {
        for cache in self.self_cache.iter_mut().flatten() {
            cache.keys = cache.keys.index_select(0, rows);
            cache.values = cache.values.index_select(0, rows);
        }
    }
}

/// A loaded encoder-decoder model.
pub struct Seq2SeqModel {
    network: Network,
    tokens: SpecialTokens,
    device: Device,
}

impl Seq2SeqModel {
    /// Loads config.json and model.safetensors from `dir`.
    pub fn load(dir: &Path, architecture: Architecture, placement: Placement) -> Result<Seq2SeqModel, Seq2SeqError> {
        let config_path = dir.join("config.json");
        let config_text = std::fs::read_to_string(&config_path)
            .map_err(|e| Seq2SeqError::Config(format!("{}: {e}", config_path.display())))?;
        let parse_error = |e: serde_json::Error| Seq2SeqError::Config(format!("{}: {e}", config_path.display()));
        let tokens: SpecialTokens = serde_json::from_str(&config_text).map_err(parse_error)?;
        let weights = Weights::open(&dir.join("model.safetensors"), placement.device, placement.kind())?;
        let network = match architecture {
            Architecture::Bart | Architecture::Pegasus => {
                let config = serde_json::from_str(&config_text).map_err(parse_error)?;
                let flavour = if architecture == Architecture::Bart {
                    bart::Flavour::Bart
                } else {
                    bart::Flavour::Pegasus
                };
                Network::Bart(bart::Bart::load(&weights, &config, flavour)?)
            }
            Architecture::T5 => {
                let config = serde_json::from_str(&config_text).map_err(parse_error)?;
                Network::T5(t5::T5::load(&weights, &config)?)
            }
        };
        Ok(Seq2SeqModel {
            network,
            tokens,
            device: placement.device,
        })
    }

    /// Encodes padded `ids` (batch, length) with their 0/1 `mask`.
    fn encode(&self, ids: &Tensor, mask: &Tensor) -> Tensor {
        match &self.network {
            Network::Bart(net) => net.encode(ids, mask),
            Network::T5(net) => net.encode(ids, mask),
        }
    }

    /// Encoder states of `inputs`, padded to the longest (zero rows, which `mask` hides from
    /// the cross-attention): all in one padded batch when `together`, else one at a time.
    fn encode_padded(&self, inputs: &[Vec<i64>], mask: &Tensor, together: bool) -> Tensor {
        let longest = mask.size()[1];
        if together {
            let pad = self.tokens.pad_token_id;
            let ids: Vec<Tensor> = inputs
                .iter()
                .map(|input| {
                    let row: Vec<i64> = input
                        .iter()
                        .copied()
                        .chain(std::iter::repeat(pad))
                        .take(longest as usize)
                        .collect();
                    Tensor::from_slice(&row)
                })
                .collect();
            let encoded = self.encode(&Tensor::stack(&ids, 0).to_device(self.device), mask);
            let real = mask.unsqueeze(-1).to_kind(encoded.kind());
            return encoded * real;
        }
        let each: Vec<Tensor> = inputs
            .iter()
            .map(|input| {
                let ids = Tensor::from_slice(input).unsqueeze(0).to_device(self.device);
                let hidden = self.encode(&ids, &ids.ones_like());
                hidden.constant_pad_nd([0, 0, 0, longest - input.len() as i64])
            })
            .collect();
        Tensor::cat(&each, 0)
    }

    /// Runs the encoder over `inputs` and prepares a decoder state holding each input's
    /// cross-attention keys and values, padded to the longest input.
    ///
    /// On a CPU each input is encoded on its own: at window-length inputs the encoder is
    /// compute-bound, so batching gains nothing and padding costs (measured: three
    /// ~950-token articles took 2.97 s each together, 2.35 s each alone). A GPU encodes
    /// them together, which is what fills it.
    fn start(&self, inputs: &[Vec<i64>]) -> DecoderState {
        let mask = padding_mask(inputs).to_device(self.device);
        let encoded = self.encode_padded(inputs, &mask, self.device != Device::Cpu);
        let (cross, cross_mask, layers) = match &self.network {
            Network::Bart(net) => (
                net.cross_key_values(&encoded),
                net.cross_mask(&mask),
                net.decoder_layers(),
            ),
            Network::T5(net) => (
                net.cross_key_values(&encoded),
                net.cross_mask(&mask),
                net.decoder_layers(),
            ),
        };
        DecoderState {
            self_cache: (0..layers).map(|_| None).collect(),
            cross,
            cross_mask,
            position: 0,
        }
    }

    /// Float logits (rows, vocabulary) for the next token of each row, given each row's
    /// latest token.
    fn step(&self, last_tokens: &[i64], state: &mut DecoderState) -> Tensor {
        let tokens = Tensor::from_slice(last_tokens).unsqueeze(1).to_device(self.device);
        let logits = match &self.network {
            Network::Bart(net) => net.decode_step(&tokens, state),
            Network::T5(net) => net.decode_step(&tokens, state),
        };
        state.position += 1;
        logits.to_kind(Kind::Float)
    }

    /// Generates one token sequence per input (decoder start token first, as transformers
    /// returns them), by greedy search for one beam and beam search otherwise.
    pub fn generate(&self, inputs: &[Vec<i64>], settings: &SearchSettings) -> Result<Vec<Vec<i64>>, Seq2SeqError> {
        let limit = match &self.network {
            Network::Bart(net) => Some(net.decoder_positions()),
            // Relative positions: no table to run off the end of.
            Network::T5(_) => None,
        };
        if let Some(limit) = limit.filter(|&limit| settings.max_length > limit) {
            return Err(Seq2SeqError::OutputTooLong {
                requested: settings.max_length,
                limit,
            });
        }
        if inputs.is_empty() {
            return Ok(Vec::new());
        }
        let _no_grad = tch::no_grad_guard();
        let state = self.start(inputs);
        Ok(search::run(self, state, inputs.len(), settings))
    }
}

/// The 0/1 mask (inputs, longest input) of each input's real tokens.
fn padding_mask(inputs: &[Vec<i64>]) -> Tensor {
    let longest = inputs.iter().map(Vec::len).max().unwrap_or(0);
    let rows: Vec<Tensor> = inputs
        .iter()
        .map(|input| {
            let row: Vec<i64> = (0..longest).map(|i| i64::from(i < input.len())).collect();
            Tensor::from_slice(&row)
        })
        .collect();
    Tensor::stack(&rows, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encoding one input at a time (CPU) and in one padded batch (GPU) give the same states.
    #[test]
    fn encoding_alone_or_together_agrees() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/fixtures/bart-tiny");
        if !dir.join("model.safetensors").is_file() {
            panic!(
                "{} is missing: run `make setup` (models/make_fixtures.py)",
                dir.display()
            );
        }
        let model = Seq2SeqModel::load(&dir, Architecture::Bart, Placement::CPU).unwrap();
        let inputs = vec![
            vec![0, 31, 414, 52, 9, 2],
            vec![0, 77, 2],
            vec![0, 5, 6, 7, 8, 9, 10, 11, 2],
        ];
        let mask = padding_mask(&inputs);
        let _no_grad = tch::no_grad_guard();
        let alone = model.encode_padded(&inputs, &mask, false);
        let together = model.encode_padded(&inputs, &mask, true);
        assert_eq!(alone.size(), vec![3, 9, 64]);
        let gap = (alone - together).abs().max().double_value(&[]);
        assert!(gap < 1e-4, "largest difference {gap}");
    }
}
