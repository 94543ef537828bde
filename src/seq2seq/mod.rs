//! Encoder-decoder transformers (BART, Pegasus, T5) written directly on libtorch, with their
//! own generation loop.
//!
//! rust-bert's generators were 1.5x slower than transformers at batch 1 and 2.5x batched: each
//! decoding step copied every layer's cross-attention keys and values twice (once when
//! caching, once when reordering beams), gigabytes per step for BART-large. Here the encoder
//! states are projected once per article and every beam of that article reads the same copy;
//! float32 linear layers on CPU multiply through oneDNN with weights prepacked at load
//! (`onednn.rs`: MKL takes a generic path on AMD processors); weights are read from
//! safetensors one tensor at a time. `layers.rs` says why each choice was made.
//!
//! Outputs are held to transformers 4.44's token for token (tests/parity.rs). With
//! `Quantization::Int8` the linear layers and the token embeddings hold int8 weights
//! (`int8.rs`); that trades exact parity for memory and speed, and is off unless asked for.
//! `profile.rs` times each generation stage for the abstractive bench.

mod bart;
mod int8;
mod layers;
mod onednn;
mod profile;
pub mod search;
mod t5;
mod weights;

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;
use tch::{Device, Kind, Tensor};

use crate::models::{Architecture, Placement, Quantization};
use layers::KeyValues;
pub use profile::StageTimes;
use profile::{Stage, StageClock};
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
    #[error("an input of {length} tokens exceeds this model's {limit} encoder positions")]
    InputTooLong { length: usize, limit: usize },
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
}

/// Token ids generation needs.
#[derive(Debug, Clone, PartialEq)]
struct SpecialTokens {
    decoder_start_token_id: i64,
    eos_token_id: i64,
    pad_token_id: i64,
    forced_bos_token_id: Option<i64>,
    forced_eos_token_id: Option<i64>,
}

impl SpecialTokens {
    /// Each id from generation_config.json, else config.json, else the default transformers'
    /// config class gives it (BartConfig forces EOS 2, PegasusConfig 1; T5 forces nothing). A
    /// key set to null means none.
    fn read(config: &Value, generation: &Value, architecture: Architecture) -> Result<SpecialTokens, Seq2SeqError> {
        let lookup = |key: &str| generation.get(key).or_else(|| config.get(key));
        let id = |key: &str, default: Option<i64>| -> Result<Option<i64>, Seq2SeqError> {
            match lookup(key) {
                None => Ok(default),
                Some(Value::Null) => Ok(None),
                Some(value) => value
                    .as_i64()
                    .map(Some)
                    .ok_or_else(|| Seq2SeqError::Config(format!("{key} must be a token id, got {value}"))),
            }
        };
        let required = |key: &str, default: i64| -> Result<i64, Seq2SeqError> {
            id(key, Some(default))?.ok_or_else(|| Seq2SeqError::Config(format!("{key} is null; generation needs it")))
        };
        // (pad, eos, decoder start, forced EOS) as each config class defaults them.
        let (pad, eos, start, forced_eos) = match architecture {
            Architecture::Bart => (1, 2, 2, Some(2)),
            Architecture::Pegasus => (0, 1, 0, Some(1)),
            Architecture::T5 => (0, 1, 0, None),
        };
        let mut forced_bos_token_id = id("forced_bos_token_id", None)?;
        // Old BART configs say `force_bos_token_to_be_generated`, which BartConfig turns into
        // forcing the BOS token.
        if forced_bos_token_id.is_none() && lookup("force_bos_token_to_be_generated") == Some(&Value::Bool(true)) {
            forced_bos_token_id = id("bos_token_id", Some(0))?;
        }
        Ok(SpecialTokens {
            pad_token_id: required("pad_token_id", pad)?,
            eos_token_id: required("eos_token_id", eos)?,
            decoder_start_token_id: required("decoder_start_token_id", start)?,
            forced_bos_token_id,
            forced_eos_token_id: id("forced_eos_token_id", forced_eos)?,
        })
    }
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

/// Hands the heap's free pages back to the system. Loading frees a read buffer and a dense
/// copy of every weight it packs; after the first large free glibc raises its mmap threshold,
/// so the later buffers come from the heap and stay resident once freed (measured on
/// BART-large float32: 2,310 to 2,439 MiB resident after load without this, 2,028 MiB with
/// it).
fn release_freed_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory to the kernel.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// A loaded encoder-decoder model.
pub struct Seq2SeqModel {
    network: Network,
    tokens: SpecialTokens,
    device: Device,
    clock: StageClock,
}

impl Seq2SeqModel {
    /// Loads config.json (and generation_config.json when present) and model.safetensors
    /// from `dir`, quantizing the weights as `quantization` says.
    pub fn load(
        dir: &Path,
        architecture: Architecture,
        placement: Placement,
        quantization: Quantization,
    ) -> Result<Seq2SeqModel, Seq2SeqError> {
        if quantization == Quantization::Int8 && (placement.tch_device() != Device::Cpu || placement.half) {
            return Err(Seq2SeqError::Config(
                "int8 weights run on CPU in float32 only (fbgemm kernels)".into(),
            ));
        }
        if architecture == Architecture::T5 && placement.kind() == Kind::Half {
            // transformers keeps T5's feed-forward output layer in float32 because float16
            // overflows there; this implementation does not, so it refuses rather than emit NaN.
            return Err(Seq2SeqError::Config(
                "T5 overflows in float16: run it without --half".into(),
            ));
        }
        let read = |name: &str| -> Result<Option<Value>, Seq2SeqError> {
            let path = dir.join(name);
            if !path.is_file() {
                return Ok(None);
            }
            let text =
                std::fs::read_to_string(&path).map_err(|e| Seq2SeqError::Config(format!("{}: {e}", path.display())))?;
            serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| Seq2SeqError::Config(format!("{}: {e}", path.display())))
        };
        let config = read("config.json")?
            .ok_or_else(|| Seq2SeqError::Config(format!("{} has no config.json", dir.display())))?;
        let generation = read("generation_config.json")?.unwrap_or(Value::Null);
        let tokens = SpecialTokens::read(&config, &generation, architecture)?;
        let parse_error = |e: serde_json::Error| Seq2SeqError::Config(format!("{}/config.json: {e}", dir.display()));
        let weights = Weights::open(
            &dir.join("model.safetensors"),
            placement.tch_device(),
            placement.kind(),
            quantization,
        )?;
        let network = match architecture {
            Architecture::Bart | Architecture::Pegasus => {
                let config = bart::BartConfig::deserialize(&config).map_err(parse_error)?;
                let flavour = if architecture == Architecture::Bart {
                    bart::Flavour::Bart
                } else {
                    bart::Flavour::Pegasus
                };
                Network::Bart(bart::Bart::load(&weights, &config, flavour)?)
            }
            Architecture::T5 => {
                let config = t5::T5Config::deserialize(&config).map_err(parse_error)?;
                Network::T5(t5::T5::load(&weights, &config)?)
            }
        };
        release_freed_heap();
        Ok(Seq2SeqModel {
            network,
            tokens,
            device: placement.tch_device(),
            clock: StageClock::default(),
        })
    }

    /// Encodes padded `ids` (batch, length) with their 0/1 `mask`.
    fn encode(&self, ids: &Tensor, mask: &Tensor) -> Tensor {
        self.clock.time(Stage::Encoder, || match &self.network {
            Network::Bart(net) => net.encode(ids, mask),
            Network::T5(net) => net.encode(ids, mask),
        })
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
        let cross = self.clock.time(Stage::CrossKeyValues, || match &self.network {
            Network::Bart(net) => net.cross_key_values(&encoded),
            Network::T5(net) => net.cross_key_values(&encoded),
        });
        DecoderState {
            // One self-attention cache per decoder layer, as there is one cross-attention.
            self_cache: cross.iter().map(|_| None).collect(),
            cross,
            cross_mask: layers::padding_bias(&mask, encoded.kind()),
            position: 0,
        }
    }

    /// Float logits (rows, vocabulary) for the next token of each row, given each row's
    /// latest token.
    fn step(&self, last_tokens: &[i64], state: &mut DecoderState) -> Tensor {
        let tokens = Tensor::from_slice(last_tokens).unsqueeze(1).to_device(self.device);
        let hidden = self.clock.time(Stage::DecoderLayers, || match &self.network {
            Network::Bart(net) => net.decode_step(&tokens, state),
            Network::T5(net) => net.decode_step(&tokens, state),
        });
        state.position += 1;
        self.clock
            .time(Stage::OutputLayer, || match &self.network {
                Network::Bart(net) => net.logits(&hidden),
                Network::T5(net) => net.logits(&hidden),
            })
            .to_kind(Kind::Float)
    }

    /// Keeps the self-attention history of `rows` (new row i continues old row rows[i]).
    fn reorder(&self, state: &mut DecoderState, rows: &[i64]) {
        self.clock.time(Stage::CacheReorder, || {
            state.reorder(&Tensor::from_slice(rows).to_device(self.device))
        });
    }

    /// Seconds per stage since the last call (see [`StageTimes`]).
    pub fn take_stage_times(&self) -> StageTimes {
        self.clock.take()
    }

    /// Generates one token sequence per input (decoder start token first, as transformers
    /// returns them), by greedy search for one beam and beam search otherwise.
    pub fn generate(&self, inputs: &[Vec<i64>], settings: &SearchSettings) -> Result<Vec<Vec<i64>>, Seq2SeqError> {
        // T5's positions are relative: it has no table to run off the end of.
        if let Network::Bart(net) = &self.network {
            let (input_limit, output_limit) = net.positions();
            if settings.max_length > output_limit {
                return Err(Seq2SeqError::OutputTooLong {
                    requested: settings.max_length,
                    limit: output_limit,
                });
            }
            if let Some(input) = inputs.iter().find(|input| input.len() > input_limit) {
                return Err(Seq2SeqError::InputTooLong {
                    length: input.len(),
                    limit: input_limit,
                });
            }
        }
        if inputs.is_empty() {
            return Ok(Vec::new());
        }
        let _no_grad = tch::no_grad_guard();
        Ok(self.clock.generation(|| {
            let state = self.start(inputs);
            search::run(self, state, inputs.len(), settings)
        }))
    }
}

impl Seq2SeqModel {
    /// The float logits (steps, vocabulary) the model gives each next token while it is fed
    /// `decoder_ids` (start token first) after encoding `input`: teacher forcing, which
    /// compares two loadings of one model (float32 and int8) position by position on the
    /// same prefix.
    pub fn teacher_forced_logits(&self, input: &[i64], decoder_ids: &[i64]) -> Tensor {
        let _no_grad = tch::no_grad_guard();
        let mut state = self.start(&[input.to_vec()]);
        let rows: Vec<Tensor> = decoder_ids
            .iter()
            .map(|&token| self.step(&[token], &mut state))
            .collect();
        Tensor::cat(&rows, 0)
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

    #[test]
    fn special_tokens_follow_transformers_precedence_and_defaults() {
        let none = Value::Null;
        let bart = SpecialTokens::read(&serde_json::json!({}), &none, Architecture::Bart).unwrap();
        assert_eq!(
            (bart.pad_token_id, bart.eos_token_id, bart.decoder_start_token_id),
            (1, 2, 2)
        );
        assert_eq!(bart.forced_eos_token_id, Some(2), "BartConfig forces EOS by default");
        let pegasus = SpecialTokens::read(&serde_json::json!({}), &none, Architecture::Pegasus).unwrap();
        assert_eq!((pegasus.eos_token_id, pegasus.forced_eos_token_id), (1, Some(1)));
        let t5 = SpecialTokens::read(&serde_json::json!({}), &none, Architecture::T5).unwrap();
        assert_eq!(t5.forced_eos_token_id, None);

        let config = serde_json::json!({"forced_eos_token_id": null, "eos_token_id": 7, "forced_bos_token_id": 3});
        let generation = serde_json::json!({"eos_token_id": 9});
        let read = SpecialTokens::read(&config, &generation, Architecture::Bart).unwrap();
        assert_eq!(read.forced_eos_token_id, None, "null switches the default off");
        assert_eq!(read.eos_token_id, 9, "generation_config.json wins");
        assert_eq!(read.forced_bos_token_id, Some(3));

        let legacy = serde_json::json!({"force_bos_token_to_be_generated": true, "bos_token_id": 0});
        let read = SpecialTokens::read(&legacy, &none, Architecture::Bart).unwrap();
        assert_eq!(read.forced_bos_token_id, Some(0));

        let bad = serde_json::json!({"eos_token_id": null});
        assert!(SpecialTokens::read(&bad, &none, Architecture::Bart).is_err());
    }

    fn tiny_bart_dir() -> PathBuf {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/fixtures/bart-tiny");
        assert!(
            dir.join("model.safetensors").is_file(),
            "{} is missing: run `make setup` (models/make_fixtures.py)",
            dir.display()
        );
        dir
    }

    fn tiny_bart() -> Seq2SeqModel {
        Seq2SeqModel::load(&tiny_bart_dir(), Architecture::Bart, Placement::CPU, Quantization::None).unwrap()
    }

    #[test]
    fn int8_weights_generate_well_formed_sequences_and_are_refused_off_cpu() {
        let int8 =
            Seq2SeqModel::load(&tiny_bart_dir(), Architecture::Bart, Placement::CPU, Quantization::Int8).unwrap();
        let settings = SearchSettings {
            num_beams: 3,
            min_length: 4,
            max_length: 12,
            no_repeat_ngram_size: 3,
            length_penalty: 1.0,
            early_stopping: true,
        };
        let input: Vec<i64> = (3..40).collect();
        for output in int8
            .generate(&[input.clone(), input[..20].to_vec()], &settings)
            .unwrap()
        {
            assert_eq!(output[0], int8.tokens.decoder_start_token_id);
            assert!(
                (settings.min_length..=settings.max_length).contains(&output.len()),
                "{output:?}"
            );
        }
        // Teacher forcing gives one finite row of logits per fed token.
        let logits = int8.teacher_forced_logits(&input, &[2, 0, 7]);
        assert_eq!(logits.size()[0], 3);
        assert!(bool::try_from(logits.isfinite().all()).unwrap());
        let gpu = Placement {
            device: crate::models::Device::Cuda(0),
            half: false,
        };
        let err = Seq2SeqModel::load(&tiny_bart_dir(), Architecture::Bart, gpu, Quantization::Int8)
            .err()
            .expect("int8 is CPU only");
        assert!(err.to_string().contains("CPU"), "{err}");
    }

    #[test]
    fn an_input_longer_than_the_position_table_is_refused() {
        let settings = SearchSettings {
            num_beams: 1,
            min_length: 0,
            max_length: 10,
            no_repeat_ngram_size: 0,
            length_penalty: 1.0,
            early_stopping: true,
        };
        let err = tiny_bart().generate(&[vec![5; 129]], &settings).unwrap_err();
        assert!(
            matches!(
                err,
                Seq2SeqError::InputTooLong {
                    length: 129,
                    limit: 128
                }
            ),
            "{err}"
        );
    }

    /// Encoding one input at a time (CPU) and in one padded batch (GPU) give the same states.
    #[test]
    fn encoding_alone_or_together_agrees() {
        let model = tiny_bart();
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
