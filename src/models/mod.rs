//! Model profiles: what a named model is, where its weights live, how to load it.

#[cfg(feature = "torch")]
pub mod embedding;
pub mod hub;
pub mod manifest;
#[cfg(feature = "torch")]
pub mod ner;

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// What a build without the `torch` feature tells a caller who asks for a libtorch model.
pub const BUILT_WITHOUT_TORCH: &str = "this newsgist binary was built without the `torch` feature: \
     use a build with default features (`make run-full`, or `cargo build --release`)";

/// Why a model could not be resolved or loaded.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("model directory {dir} is missing {file}: it must hold a Hugging Face model (config.json, model.safetensors and tokenizer files)")]
    MissingFile { dir: PathBuf, file: &'static str },
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path} is not a valid model config: {source}")]
    Config { path: PathBuf, source: serde_json::Error },
    #[error("model type {0:?} cannot summarise: use a BART, T5 or Pegasus model")]
    UnsupportedArchitecture(String),
    #[error("unknown device {0:?}: use cpu or cuda:N")]
    Device(String),
    #[error("--half needs a GPU (--device cuda:N); on CPU use full precision")]
    HalfOnCpu,
    #[error("--quantize int8 runs on CPU only (fbgemm kernels); on a GPU use --half")]
    Int8OnGpu,
    #[error("loading {what} failed: {source}")]
    Load {
        what: String,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Sequence-to-sequence architectures the abstractive summariser runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Architecture {
    Bart,
    T5,
    Pegasus,
}

impl Architecture {
    pub fn name(self) -> &'static str {
        match self {
            Architecture::Bart => "bart",
            Architecture::T5 => "t5",
            Architecture::Pegasus => "pegasus",
        }
    }

    /// Tokenizer files in the model directory: vocabulary, then merges for BPE models.
    pub fn tokenizer_files(self) -> (&'static str, Option<&'static str>) {
        match self {
            Architecture::Bart => ("vocab.json", Some("merges.txt")),
            Architecture::T5 | Architecture::Pegasus => ("spiece.model", None),
        }
    }
}

/// Generation settings a profile uses unless a request overrides them.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerationDefaults {
    pub num_beams: u32,
    pub min_length: u32,
    pub max_length: u32,
    pub length_penalty: f64,
    pub no_repeat_ngram_size: u32,
    pub early_stopping: bool,
    /// Prepended to every input (T5 is trained with "summarize: ").
    pub prefix: String,
}

/// A loadable abstractive model: a name and an HF-format directory.
#[derive(Debug, Clone)]
pub struct ModelProfile {
    pub name: String,
    pub architecture: Architecture,
    pub dir: PathBuf,
    pub generation: GenerationDefaults,
    /// Longest input the model reads, in tokens.
    pub max_input_tokens: usize,
    /// How the weights are held in memory: `--quantize`, else the manifest profile's
    /// `quantize`, else full precision.
    pub quantization: Quantization,
}

/// How an abstractive model's linear layers and embeddings hold their weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Quantization {
    /// The checkpoint's precision (float32, or float16 with --half).
    #[default]
    None,
    /// int8 weights with one scale per output row, float32 activations (CPU only): about a
    /// quarter of the memory and faster decoding, at a small cost in fidelity (README).
    Int8,
}

/// The fields of an HF config.json (and generation_config.json) the service reads.
#[derive(Debug, Deserialize, Default)]
struct HfConfig {
    model_type: Option<String>,
    max_position_embeddings: Option<usize>,
    n_positions: Option<usize>,
    num_beams: Option<u32>,
    min_length: Option<u32>,
    max_length: Option<u32>,
    length_penalty: Option<f64>,
    no_repeat_ngram_size: Option<u32>,
    early_stopping: Option<bool>,
    task_specific_params: Option<TaskParams>,
}

#[derive(Debug, Deserialize, Default)]
struct TaskParams {
    summarization: Option<SummarizationParams>,
}

#[derive(Debug, Deserialize, Default)]
struct SummarizationParams {
    num_beams: Option<u32>,
    min_length: Option<u32>,
    max_length: Option<u32>,
    length_penalty: Option<f64>,
    no_repeat_ngram_size: Option<u32>,
    early_stopping: Option<bool>,
    prefix: Option<String>,
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, ModelError> {
    let text = std::fs::read_to_string(path).map_err(|source| ModelError::Read {
        path: path.into(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| ModelError::Config {
        path: path.into(),
        source,
    })
}

/// Requires `file` in `dir`.
pub fn require(dir: &Path, file: &'static str) -> Result<PathBuf, ModelError> {
    let path = dir.join(file);
    if path.is_file() {
        Ok(path)
    } else {
        Err(ModelError::MissingFile { dir: dir.into(), file })
    }
}

impl ModelProfile {
    /// A profile for the HF-format directory `dir`, reading architecture and generation
    /// defaults from its config.json (task-specific summarisation settings first, then
    /// generation_config.json, then the config's top level).
    pub fn from_dir(name: &str, dir: &Path) -> Result<ModelProfile, ModelError> {
        let config: HfConfig = read_json(&require(dir, "config.json")?)?;
        require(dir, "model.safetensors")?;
        let model_type = config.model_type.clone().unwrap_or_default();
        let architecture = match model_type.as_str() {
            "bart" => Architecture::Bart,
            "t5" => Architecture::T5,
            "pegasus" => Architecture::Pegasus,
            _ => return Err(ModelError::UnsupportedArchitecture(model_type)),
        };
        let (vocab, merges) = architecture.tokenizer_files();
        require(dir, vocab)?;
        if let Some(merges) = merges {
            require(dir, merges)?;
        }
        let generation_file = dir.join("generation_config.json");
        let generation_config: HfConfig = if generation_file.is_file() {
            read_json(&generation_file)?
        } else {
            HfConfig::default()
        };
        let task = config
            .task_specific_params
            .as_ref()
            .and_then(|t| t.summarization.as_ref());
        let pick_u32 = |task: Option<u32>, generation: Option<u32>, top: Option<u32>, default: u32| {
            task.or(generation).or(top).unwrap_or(default)
        };
        let generation = GenerationDefaults {
            num_beams: pick_u32(
                task.and_then(|t| t.num_beams),
                generation_config.num_beams,
                config.num_beams,
                4,
            ),
            min_length: pick_u32(
                task.and_then(|t| t.min_length),
                generation_config.min_length,
                config.min_length,
                0,
            ),
            max_length: pick_u32(
                task.and_then(|t| t.max_length),
                generation_config.max_length,
                config.max_length,
                142,
            ),
            length_penalty: task
                .and_then(|t| t.length_penalty)
                .or(generation_config.length_penalty)
                .or(config.length_penalty)
                .unwrap_or(1.0),
            no_repeat_ngram_size: pick_u32(
                task.and_then(|t| t.no_repeat_ngram_size),
                generation_config.no_repeat_ngram_size,
                config.no_repeat_ngram_size,
                3,
            ),
            early_stopping: task
                .and_then(|t| t.early_stopping)
                .or(generation_config.early_stopping)
                .or(config.early_stopping)
                .unwrap_or(true),
            prefix: task.and_then(|t| t.prefix.clone()).unwrap_or_else(|| {
                if architecture == Architecture::T5 {
                    "summarize: ".into()
                } else {
                    String::new()
                }
            }),
        };
        // T5 has relative positions and no hard limit; 512 is what it was trained on.
        let max_input_tokens = config.max_position_embeddings.or(config.n_positions).unwrap_or(512);
        Ok(ModelProfile {
            name: name.into(),
            architecture,
            dir: dir.into(),
            generation,
            max_input_tokens,
            quantization: Quantization::None,
        })
    }
}

/// A device models can run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    Cpu,
    Cuda(usize),
}

/// Where models run and in which precision.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placement {
    pub device: Device,
    /// 16-bit floats: about half the memory and faster on GPUs; refused on CPU, where
    /// libtorch's half-precision kernels are slow and less accurate.
    pub half: bool,
}

impl Placement {
    pub const CPU: Placement = Placement {
        device: Device::Cpu,
        half: false,
    };

    /// A device name (`cpu`, `cuda`, `cuda:N`) and whether to use half precision.
    pub fn new(device: &str, half: bool) -> Result<Placement, ModelError> {
        let device = parse_device(device)?;
        if half && device == Device::Cpu {
            return Err(ModelError::HalfOnCpu);
        }
        Ok(Placement { device, half })
    }
}

#[cfg(feature = "torch")]
impl Placement {
    pub fn tch_device(self) -> tch::Device {
        match self.device {
            Device::Cpu => tch::Device::Cpu,
            Device::Cuda(index) => tch::Device::Cuda(index),
        }
    }

    pub fn kind(self) -> tch::Kind {
        if self.half {
            tch::Kind::Half
        } else {
            tch::Kind::Float
        }
    }
}

/// Parses a device name: `cpu` or `cuda:N`.
fn parse_device(name: &str) -> Result<Device, ModelError> {
    match name {
        "cpu" => Ok(Device::Cpu),
        "cuda" => Ok(Device::Cuda(0)),
        _ => name
            .strip_prefix("cuda:")
            .and_then(|n| n.parse().ok())
            .map(Device::Cuda)
            .ok_or_else(|| ModelError::Device(name.into())),
    }
}
