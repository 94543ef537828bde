//! Configuration: command-line flags, `NEWSGIST_*` environment variables and an optional
//! TOML file, in that order of precedence, validated once at start-up.

use std::{
    ffi::OsString,
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

pub use crate::digest::render::Format as DigestFormat;
use crate::digest::render::Templates;
use crate::{
    archive::FileFormat,
    models::{hub, manifest::manifest, Device, ModelError, ModelProfile, Placement, Quantization},
    request::{AbstractiveParams, ExtractiveMode, Outputs, RawOptions, RequestDefaults, RequestLimits},
};

/// Defaults of the settings, each defined here once; the flags' defaults are these (the
/// README's configuration table quotes them).
pub mod defaults {
    use crate::request::ExtractiveMode;

    pub const LISTEN: &str = "127.0.0.1:50051";
    pub const REQUEST_TIMEOUT_SECS: u64 = 120;
    pub const SHUTDOWN_GRACE_SECS: u64 = 30;
    pub const WORKERS: usize = 1;
    pub const MAX_PENDING: usize = 64;
    pub const MAX_BATCH: usize = 8;
    /// Estimated input tokens of the abstractive requests a worker takes together.
    pub const BATCH_TOKENS: usize = 8192;
    pub const MAX_BODY_BYTES: usize = 1 << 20;
    pub const SENTENCES: u32 = 3;
    pub const FACTS: u32 = 5;
    pub const EXTRACTIVE_MODE: ExtractiveMode = ExtractiveMode::Lexical;
    /// Rows per committed chunk of an archive job.
    pub const CHUNK_ROWS: u64 = 1000;
    /// Articles per digest: a busy day of a large feed.
    pub const MAX_DIGEST_ARTICLES: usize = 50_000;
    /// Digests built at once.
    pub const MAX_DIGESTS: usize = 2;
}

/// Per-request limits that are not settings.
pub mod limits {
    pub const MAX_SENTENCES: u32 = 100;
    pub const MAX_FACTS: u32 = 50;
    pub const MAX_OUTPUT_TOKENS: u32 = 1024;
    pub const MAX_BEAMS: u32 = 16;
    /// Largest `article.title`: headlines are a line (key-fact time grows faster than
    /// linearly in the title's length, so it needs a bound of its own).
    pub const MAX_TITLE_BYTES: usize = 2 * 1024;
    /// Largest `article.url` (browsers and CDNs stop near 8 KiB too).
    pub const MAX_URL_BYTES: usize = 8 * 1024;
    /// Largest `article.id`.
    pub const MAX_ID_BYTES: usize = 1024;
    /// Largest `request_id`.
    pub const MAX_REQUEST_ID_BYTES: usize = 1024;
    /// Largest `article.language`: the longest BCP 47 tag implementations must support
    /// (RFC 5646, section 4.4.1).
    pub const MAX_LANGUAGE_BYTES: usize = 35;
    /// Largest `--max-body-bytes` a server starts with: an article is far smaller, and the
    /// transport limit (body limit plus 64 KiB) stays a sane allocation.
    pub const MAX_BODY_BYTES_CAP: usize = 64 << 20;
}

/// News summarisation and key facts over gRPC, or from the command line.
#[derive(Debug, Parser)]
#[command(name = "newsgist", version, about, long_about = None)]
pub struct Cli {
    /// TOML file whose keys are flag names (`workers = 2`, `model-dir = ["models/bart"]`).
    /// Flags and NEWSGIST_* variables override it.
    #[arg(long, env = "NEWSGIST_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Log output format.
    #[arg(long, env = "NEWSGIST_LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty, global = true)]
    pub log_format: LogFormat,
    /// Log filter (tracing env-filter syntax, e.g. `info` or `newsgist=debug`).
    #[arg(long, env = "NEWSGIST_LOG", default_value = "info", global = true)]
    pub log: String,
    /// OpenTelemetry collector to send traces to, over OTLP/gRPC (`http://otel-collector:4317`).
    #[arg(long, env = "NEWSGIST_OTLP_ENDPOINT", global = true)]
    pub otlp_endpoint: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the gRPC API.
    Serve(ServeArgs),
    /// Summarise one article (a text file, a JSON article, or `-` for stdin).
    Summarize(SummarizeArgs),
    /// Summarise an archive (JSON Lines or Parquet): streaming, resumable, shardable.
    Batch(Box<BatchArgs>),
    /// Join the shard outputs of `batch --shards N` into one file.
    Merge(MergeArgs),
    /// Digest a feed (JSON Lines or Parquet, in time order) into ranked, deduplicated
    /// stories, as JSON, email-safe HTML, Markdown or plain text.
    Digest(DigestArgs),
    /// Named abstractive model profiles (models/manifest.toml) in the Hugging Face cache.
    Models {
        #[command(subcommand)]
        command: ModelsCommand,
    },
}

/// `newsgist models ...`. The cache is Hugging Face's (HF_HOME, HF_HUB_CACHE); HF_ENDPOINT
/// selects a mirror and HF_HUB_OFFLINE=1 forbids network access.
#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// Every profile, and whether it is in the cache.
    List,
    /// Download a profile's files (resumable), then verify their checksums.
    Fetch { name: String },
    /// Check that a cached profile's files are present and intact.
    Verify { name: String },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "NEWSGIST_LISTEN", default_value = defaults::LISTEN)]
    pub listen: SocketAddr,
    /// Longest a request may take, in seconds; a shorter client deadline (grpc-timeout) wins.
    #[arg(long, env = "NEWSGIST_REQUEST_TIMEOUT_SECS", default_value_t = defaults::REQUEST_TIMEOUT_SECS, value_parser = clap::value_parser!(u64).range(1..))]
    pub request_timeout_secs: u64,
    /// On SIGTERM/Ctrl-C, how long in-flight requests may take to finish, in seconds.
    #[arg(long, env = "NEWSGIST_SHUTDOWN_GRACE_SECS", default_value_t = defaults::SHUTDOWN_GRACE_SECS)]
    pub shutdown_grace_secs: u64,
    /// Address for Prometheus metrics (`/metrics`). Default: none.
    #[arg(long, env = "NEWSGIST_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// File of API keys, one per line (`NAME:KEY` or `KEY`, `#` comments), re-read when it
    /// changes. Callers then send `authorization: Bearer KEY`.
    #[arg(long, env = "NEWSGIST_API_KEYS_FILE")]
    pub api_keys_file: Option<PathBuf>,
    /// API keys, comma-separated (`NAME:KEY` or `KEY`), besides the file's.
    #[arg(long, env = "NEWSGIST_API_KEYS", hide_env_values = true)]
    pub api_keys: Option<String>,
    /// Require a key for grpc.health.v1 too (by default health stays open to probes).
    #[arg(long, env = "NEWSGIST_AUTH_HEALTH")]
    pub auth_health: bool,
    /// TLS certificate chain (PEM); with --tls-key, the server speaks only TLS. Both files
    /// are re-read when they change, or on SIGHUP.
    #[arg(long, env = "NEWSGIST_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, env = "NEWSGIST_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// CA certificates (PEM) that client certificates must chain to: mutual TLS.
    #[arg(long, env = "NEWSGIST_TLS_CLIENT_CA", requires = "tls_cert")]
    pub tls_client_ca: Option<PathBuf>,
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// Models, workers and limits: shared by `serve`, `summarize` and `batch`.
#[derive(Debug, Clone, Args)]
pub struct EngineArgs {
    /// Abstractive model directory in Hugging Face format (config.json, model.safetensors,
    /// tokenizer files). Repeatable; each becomes a profile named after its directory.
    #[arg(long = "model-dir", env = "NEWSGIST_MODEL_DIR", value_delimiter = ',')]
    pub model_dirs: Vec<PathBuf>,
    /// Default abstractive profile: one of the --model-dir names, or a profile of
    /// models/manifest.toml (such as bart-large-cnn) already in the Hugging Face cache
    /// (`newsgist models fetch NAME`). Default: the first --model-dir.
    #[arg(long, env = "NEWSGIST_MODEL")]
    pub model: Option<String>,
    /// Sentence-embedding model directory (sentence-transformers layout, e.g.
    /// all-MiniLM-L6-v2) enabling the semantic and hybrid extractive modes.
    #[arg(long, env = "NEWSGIST_EMBEDDING_MODEL_DIR")]
    pub embedding_model_dir: Option<PathBuf>,
    /// Named-entity model directory (Hugging Face BERT token classification with PER/LOC/ORG
    /// IOB2 labels) whose names replace the embedded tagger's in key facts.
    #[arg(long, env = "NEWSGIST_NER_MODEL_DIR")]
    pub ner_model_dir: Option<PathBuf>,
    /// Fault injection for tests: a worker panics on a request with this request id, as a
    /// crashing model would. Hidden; never set in production.
    #[arg(long, hide = true)]
    pub fault_panic_request_id: Option<String>,
    /// Device for models: cpu or cuda:N.
    #[arg(long, env = "NEWSGIST_DEVICE", default_value = "cpu")]
    pub device: String,
    /// Run models in half precision (GPU only).
    #[arg(long, env = "NEWSGIST_HALF")]
    pub half: bool,
    /// Abstractive weights: none (the checkpoint's precision) or int8 (CPU only: a quarter
    /// of the memory, faster, slightly less faithful; see README). Overrides each profile's
    /// `quantize`. Default: the profile's, which is none.
    #[arg(long, env = "NEWSGIST_QUANTIZE", value_enum)]
    pub quantize: Option<Quantization>,
    /// Worker threads, each owning its own copy of the models. Default: 1 (`batch` without
    /// models: one per core).
    #[arg(long, env = "NEWSGIST_WORKERS")]
    pub workers: Option<usize>,
    /// libtorch threads per worker. Default: CPU cores divided by workers.
    #[arg(long, env = "NEWSGIST_INTRA_OP_THREADS")]
    pub intra_op_threads: Option<usize>,
    /// Requests admitted at once (running plus queued); beyond it the server answers
    /// RESOURCE_EXHAUSTED at once.
    #[arg(long, env = "NEWSGIST_MAX_PENDING", default_value_t = defaults::MAX_PENDING)]
    pub max_pending: usize,
    /// Most abstractive requests generated together in one batched model call.
    #[arg(long, env = "NEWSGIST_MAX_BATCH", default_value_t = defaults::MAX_BATCH)]
    pub max_batch: usize,
    /// Most estimated input tokens of the abstractive requests (sharing model and settings)
    /// a worker takes together.
    #[arg(long, env = "NEWSGIST_BATCH_TOKENS", default_value_t = defaults::BATCH_TOKENS)]
    pub batch_tokens: usize,
    /// Largest article body accepted, in bytes (at most 67108864, 64 MiB).
    #[arg(long, env = "NEWSGIST_MAX_BODY_BYTES", default_value_t = defaults::MAX_BODY_BYTES)]
    pub max_body_bytes: usize,
    /// Summarise an article tagged English (`en`, `en-*`) even when its text is detected as
    /// another language, with a warning in the log; without it such an article is refused.
    /// Untagged articles in another language are refused either way.
    #[arg(long, env = "NEWSGIST_ALLOW_LANGUAGE_MISMATCH")]
    pub allow_language_mismatch: bool,
    /// Extractive sentences when a request does not say.
    #[arg(long, env = "NEWSGIST_DEFAULT_SENTENCES", default_value_t = defaults::SENTENCES)]
    pub default_sentences: u32,
    /// Extractive ranking when a request does not say.
    #[arg(long, env = "NEWSGIST_EXTRACTIVE_MODE", value_enum, default_value_t = defaults::EXTRACTIVE_MODE)]
    pub extractive_mode: ExtractiveMode,
    /// Key facts returned when a request does not say.
    #[arg(long, env = "NEWSGIST_DEFAULT_FACTS", default_value_t = defaults::FACTS)]
    pub default_facts: u32,
    /// Most articles one digest takes; more are refused with RESOURCE_EXHAUSTED.
    #[arg(long, env = "NEWSGIST_MAX_DIGEST_ARTICLES", default_value_t = defaults::MAX_DIGEST_ARTICLES)]
    pub max_digest_articles: usize,
    /// Digests built at once (each on a thread of its own); more are refused with
    /// RESOURCE_EXHAUSTED.
    #[arg(long, env = "NEWSGIST_MAX_DIGESTS", default_value_t = defaults::MAX_DIGESTS)]
    pub max_digests: usize,
    /// A directory with the newsroom's own digest templates (digest.html.j2, digest.md.j2,
    /// digest.txt.j2, each optional), used instead of the built-in ones for every digest.
    #[arg(long, env = "NEWSGIST_DIGEST_TEMPLATES")]
    pub digest_templates: Option<PathBuf>,
}

/// What to compute for each article (summarize and batch).
#[derive(Debug, Clone, Args)]
pub struct RequestArgs {
    /// Outputs, comma-separated: extractive, abstractive, key-facts. Default: what the API
    /// gives a request that names none (extractive and key facts).
    #[arg(long, value_delimiter = ',')]
    pub outputs: Option<Vec<OutputArg>>,
    /// Extractive summary length in sentences.
    #[arg(long, conflicts_with = "ratio")]
    pub sentences: Option<u32>,
    /// Extractive summary length as a share of the article's sentences, in (0, 1].
    #[arg(long)]
    pub ratio: Option<f32>,
    /// Extractive ranking mode (default: the engine's --extractive-mode).
    #[arg(long, value_enum)]
    pub mode: Option<ExtractiveMode>,
    /// Abstractive summary minimum length in tokens.
    #[arg(long)]
    pub min_tokens: Option<u32>,
    /// Abstractive summary maximum length in tokens.
    #[arg(long)]
    pub max_tokens: Option<u32>,
    /// Abstractive beam count.
    #[arg(long)]
    pub beams: Option<u32>,
    /// Key facts per article.
    #[arg(long)]
    pub max_facts: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputArg {
    Extractive,
    Abstractive,
    KeyFacts,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Json,
    Text,
}

#[derive(Debug, Args)]
pub struct DigestArgs {
    /// Feed: JSON Lines (`.jsonl`, `.jsonl.gz`, `.jsonl.zst`) or Apache Parquet (`.parquet`),
    /// one article per line or row (`id`, `title`, `body`, `url`, `published_at`), in time
    /// order.
    #[arg(long)]
    pub input: PathBuf,
    /// Input format, when the extension does not say.
    #[arg(long, value_enum)]
    pub input_format: Option<FileFormat>,
    /// Where the digest goes; `-` is stdout.
    #[arg(long)]
    pub output: PathBuf,
    #[arg(long, value_enum, default_value_t = DigestFormat::Json)]
    pub format: DigestFormat,
    /// A minijinja template to render instead of the built-in one (html, md, text); its
    /// context is the digest's JSON form (README "Digest").
    #[arg(long)]
    pub template: Option<PathBuf>,
    /// Most stories, best first; 0 lists every story, stand-alone articles too.
    #[arg(long, default_value_t = crate::digest::DEFAULT_STORIES as u32)]
    pub max_stories: u32,
    /// Summary sentences per story.
    #[arg(long, default_value_t = crate::digest::DEFAULT_SENTENCES as u32)]
    pub sentences: u32,
    /// Merged key facts per story; 0 for none.
    #[arg(long, default_value_t = crate::digest::DEFAULT_FACTS as u32)]
    pub max_facts: u32,
    /// The digest's title.
    #[arg(long, default_value = "")]
    pub title: String,
    /// Only articles published at or after this time (RFC 3339 or YYYY-MM-DD).
    #[arg(long)]
    pub window_start: Option<String>,
    /// Only articles published before this time.
    #[arg(long)]
    pub window_end: Option<String>,
    /// A story takes no more articles once the feed is this many hours past its latest one.
    #[arg(long, default_value_t = crate::digest::DEFAULT_STORY_GAP_HOURS as u32)]
    pub story_gap_hours: u32,
    /// An abstractive summary per story, by the configured model (--model-dir or --model).
    #[arg(long)]
    pub abstractive: bool,
    #[command(flatten)]
    pub engine: EngineArgs,
}

#[derive(Debug, Args)]
pub struct SummarizeArgs {
    /// Article file: plain text (the body) or a JSON object with body/title/published_at;
    /// `-` reads stdin.
    pub input: PathBuf,
    /// Headline (plain-text input).
    #[arg(long)]
    pub title: Option<String>,
    /// Publication time, RFC 3339 or YYYY-MM-DD (plain-text input).
    #[arg(long)]
    pub published_at: Option<String>,
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    #[command(flatten)]
    pub request: RequestArgs,
    #[command(flatten)]
    pub engine: EngineArgs,
}

#[derive(Debug, Args)]
pub struct BatchArgs {
    /// Archive to read: JSON Lines (`.jsonl`, `.jsonl.gz`, `.jsonl.zst`) or Apache Parquet
    /// (`.parquet`), one article per line or row.
    #[arg(long)]
    pub input: PathBuf,
    /// Where results go, one row per input row in input order, in the format its extension
    /// names. With --shards above 1: a directory the shards share, each writing its
    /// `part-IIIII-of-NNNNN` file (`newsgist merge` joins them).
    #[arg(long)]
    pub output: PathBuf,
    /// Input format, when the extension does not say.
    #[arg(long, value_enum)]
    pub input_format: Option<FileFormat>,
    /// Output format, when the extension does not say (default for a shard directory: the
    /// input's).
    #[arg(long, value_enum)]
    pub output_format: Option<FileFormat>,
    /// Field (JSON) or column (Parquet) holding the article's id.
    #[arg(long, default_value = "id")]
    pub id_field: String,
    #[arg(long, default_value = "title")]
    pub title_field: String,
    #[arg(long, default_value = "body")]
    pub body_field: String,
    /// Publication time: RFC 3339 or YYYY-MM-DD text, Unix seconds, or a Parquet timestamp
    /// or date.
    #[arg(long, default_value = "published_at")]
    pub published_field: String,
    #[arg(long, default_value = "url")]
    pub url_field: String,
    #[arg(long, default_value = "language")]
    pub language_field: String,
    /// Split the input into this many deterministic, contiguous shards and process one.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub shards: u32,
    /// The shard to process, from 0 (a Kubernetes Indexed Job sets JOB_COMPLETION_INDEX).
    #[arg(long, env = "JOB_COMPLETION_INDEX")]
    pub shard_index: Option<u32>,
    /// Rows per committed chunk: a rerun after an interruption repeats at most this many.
    #[arg(long, default_value_t = defaults::CHUNK_ROWS, value_parser = clap::value_parser!(u64).range(1..))]
    pub chunk_rows: u64,
    /// Start over: discard a finished output or an unfinished run's progress.
    #[arg(long)]
    pub restart: bool,
    /// Where failed rows also go, with code and message. Default: the output's path with
    /// `.dead-letter.jsonl` appended.
    #[arg(long)]
    pub dead_letter: Option<PathBuf>,
    /// Stop with exit status 3 once more than this many rows have failed.
    #[arg(long)]
    pub max_failures: Option<u64>,
    /// Send the rows to running newsgist servers (host:port, comma-separated) instead of
    /// running models here.
    #[arg(long, value_delimiter = ',')]
    pub server: Vec<String>,
    /// The API key sent to those servers (`authorization: Bearer KEY`).
    #[arg(long, env = "NEWSGIST_SERVER_API_KEY", hide_env_values = true, requires = "server")]
    pub server_api_key: Option<String>,
    /// The CA (PEM) the servers' TLS certificates chain to; TLS for every --server address.
    /// `https://` addresses without it trust the system's CAs.
    #[arg(long, env = "NEWSGIST_SERVER_CA", requires = "server")]
    pub server_ca: Option<PathBuf>,
    /// A client certificate (PEM) for servers that require mutual TLS, with --server-key.
    #[arg(long, env = "NEWSGIST_SERVER_CERT", requires_all = ["server", "server_key"])]
    pub server_cert: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    #[arg(long, env = "NEWSGIST_SERVER_KEY", requires = "server_cert")]
    pub server_key: Option<PathBuf>,
    #[command(flatten)]
    pub request: RequestArgs,
    #[command(flatten)]
    pub engine: EngineArgs,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The directory the shards of a `batch --shards N` run wrote.
    #[arg(long)]
    pub input: PathBuf,
    /// The joined file; its dead letters go beside it (`.dead-letter.jsonl` appended).
    #[arg(long)]
    pub output: PathBuf,
    /// Replace an existing output file.
    #[arg(long)]
    pub force: bool,
}

/// A setting that cannot work, found at start-up.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    ReadFile { path: PathBuf, source: std::io::Error },
    #[error("config file {path} is not valid TOML: {source}")]
    ParseFile { path: PathBuf, source: toml::de::Error },
    #[error("config file {path}: unknown key {key:?}; keys are flag names such as workers or model-dir")]
    UnknownKey { path: PathBuf, key: String },
    #[error("config file {path}: key {key:?} must be a string, number, boolean or list of them")]
    BadValue { path: PathBuf, key: String },
    /// A flag whose value cannot work (the message names the flag).
    #[error("{0}")]
    Invalid(String),
    #[error("{0} must be at least 1")]
    Zero(&'static str),
    #[error("--max-body-bytes ({0}) is over the cap of {max} bytes (64 MiB)", max = limits::MAX_BODY_BYTES_CAP)]
    BodyLimitOverCap(usize),
    #[error("--default-facts ({0}) is over the per-request limit of {max}", max = limits::MAX_FACTS)]
    TooManyDefaultFacts(u32),
    #[error("--extractive-mode {0:?} needs --embedding-model-dir (a sentence-embedding model)")]
    ModeNeedsEmbeddings(ExtractiveMode),
    #[error("--max-pending ({max_pending}) must be at least --workers ({workers})")]
    PendingBelowWorkers { max_pending: usize, workers: usize },
    #[error("--model {name:?} is not one of the configured profiles: {known}")]
    UnknownDefaultModel { name: String, known: String },
    #[error("two --model-dir directories are both named {0:?}: rename one")]
    DuplicateProfile(String),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Hub(#[from] crate::models::hub::HubError),
    #[error(transparent)]
    DigestTemplates(#[from] crate::digest::render::TemplatesError),
    #[error("{0} needs libtorch models, and {hint}", hint = crate::models::BUILT_WITHOUT_TORCH)]
    NeedsTorch(&'static str),
}

/// Parses the command line, with the TOML file's settings as defaults below flags and
/// environment variables. Exits with clap's message on bad flags.
pub fn parse() -> Result<Cli, ConfigError> {
    let args: Vec<OsString> = std::env::args_os().collect();
    let file = config_path(&args).or_else(|| std::env::var_os("NEWSGIST_CONFIG").map(PathBuf::from));
    let args = match file {
        Some(path) => with_file_defaults(args, &path)?,
        None => args,
    };
    Ok(Cli::parse_from(args))
}

fn config_path(args: &[OsString]) -> Option<PathBuf> {
    args.iter().enumerate().find_map(|(i, arg)| {
        let arg = arg.to_str()?;
        if arg == "--config" {
            args.get(i + 1).map(PathBuf::from)
        } else {
            arg.strip_prefix("--config=").map(PathBuf::from)
        }
    })
}

/// Adds `--key value` after the subcommand for each file setting that neither the command
/// line nor the environment sets, so that clap validates file values like flags.
fn with_file_defaults(args: Vec<OsString>, path: &Path) -> Result<Vec<OsString>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ReadFile {
        path: path.into(),
        source,
    })?;
    let table: toml::Table = text.parse().map_err(|source| ConfigError::ParseFile {
        path: path.into(),
        source,
    })?;
    let command = Cli::command();
    let Some(position) = args.iter().position(|a| command.find_subcommand(a).is_some()) else {
        return Ok(args);
    };
    let subcommand = command.find_subcommand(&args[position]).expect("found above");
    let mut injected = Vec::new();
    for (key, value) in &table {
        let arg = subcommand
            .get_arguments()
            .chain(command.get_arguments())
            .find(|a| a.get_long() == Some(key.as_str()) && a.get_id() != "config")
            .ok_or_else(|| ConfigError::UnknownKey {
                path: path.into(),
                key: key.clone(),
            })?;
        let flag = format!("--{key}");
        let on_command_line = args.iter().any(|a| {
            a.to_str()
                .is_some_and(|a| a == flag || a.starts_with(&format!("{flag}=")))
        });
        let in_environment = arg.get_env().is_some_and(|var| std::env::var_os(var).is_some());
        if on_command_line || in_environment {
            continue;
        }
        let values = match value {
            toml::Value::Array(items) => items.iter().map(scalar).collect::<Option<Vec<_>>>(),
            other => scalar(other).map(|v| vec![v]),
        }
        .ok_or_else(|| ConfigError::BadValue {
            path: path.into(),
            key: key.clone(),
        })?;
        for value in values {
            injected.push(OsString::from(format!("{flag}={value}")));
        }
    }
    let mut args = args;
    args.splice(position + 1..position + 1, injected);
    Ok(args)
}

fn scalar(value: &toml::Value) -> Option<String> {
    match value {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Float(f) => Some(f.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Engine settings after validation: what every worker loads.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub profiles: Vec<ModelProfile>,
    pub default_profile: Option<String>,
    pub embedding_dir: Option<PathBuf>,
    pub ner_dir: Option<PathBuf>,
    /// See `EngineArgs::fault_panic_request_id`.
    pub fault_panic_request_id: Option<String>,
    pub placement: Placement,
    pub workers: usize,
    pub intra_op_threads: usize,
    pub max_pending: usize,
    pub max_batch: usize,
    pub batch_tokens: usize,
    pub defaults: RequestDefaults,
    pub limits: RequestLimits,
    pub digest_limits: DigestLimits,
    /// Templates replacing the built-in ones (`--digest-templates`).
    pub digest_templates: Templates,
}

/// Bounds on digests.
#[derive(Debug, Clone, Copy)]
pub struct DigestLimits {
    pub max_articles: usize,
    pub max_concurrent: usize,
}

impl EngineArgs {
    /// Checks every setting and reads each model directory's config, so that a bad setting
    /// stops start-up with a message instead of failing requests later.
    pub fn validate(&self) -> Result<EngineConfig, ConfigError> {
        let workers = self.workers.unwrap_or(defaults::WORKERS);
        for (name, value) in [
            ("--workers", workers),
            ("--max-pending", self.max_pending),
            ("--max-body-bytes", self.max_body_bytes),
            ("--max-digest-articles", self.max_digest_articles),
            ("--max-digests", self.max_digests),
        ] {
            if value == 0 {
                return Err(ConfigError::Zero(name));
            }
        }
        if self.default_sentences == 0 {
            return Err(ConfigError::Zero("--default-sentences"));
        }
        if self.max_body_bytes > limits::MAX_BODY_BYTES_CAP {
            return Err(ConfigError::BodyLimitOverCap(self.max_body_bytes));
        }
        #[cfg(not(feature = "torch"))]
        self.refuse_torch_settings()?;
        if self.default_facts > limits::MAX_FACTS {
            return Err(ConfigError::TooManyDefaultFacts(self.default_facts));
        }
        if self.extractive_mode != ExtractiveMode::Lexical && self.embedding_model_dir.is_none() {
            return Err(ConfigError::ModeNeedsEmbeddings(self.extractive_mode));
        }
        if self.max_pending < workers {
            return Err(ConfigError::PendingBelowWorkers {
                max_pending: self.max_pending,
                workers,
            });
        }
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let intra_op_threads = match self.intra_op_threads {
            Some(0) => return Err(ConfigError::Zero("--intra-op-threads")),
            Some(n) => n,
            None => (cores / workers).max(1),
        };
        let placement = Placement::new(&self.device, self.half)?;
        let mut profiles: Vec<ModelProfile> = Vec::new();
        for dir in &self.model_dirs {
            let name = dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "model".into());
            if profiles.iter().any(|p| p.name == name) {
                return Err(ConfigError::DuplicateProfile(name));
            }
            profiles.push(ModelProfile::from_dir(&name, dir)?);
        }
        if let Some(name) = &self.model {
            let from_dirs = profiles.iter().any(|p| &p.name == name);
            if !from_dirs && manifest().get(name).is_ok() {
                profiles.push(hub::load_profile(Some(name), &hub::HubConfig::from_env()?)?);
            }
        }
        let names: Vec<String> = profiles.iter().map(|p| p.name.clone()).collect();
        let default_profile = match &self.model {
            Some(name) if !names.contains(name) => {
                let mut known = names.clone();
                known.extend(
                    manifest()
                        .names()
                        .into_iter()
                        .map(|n| format!("{n} (after `newsgist models fetch {n}`)")),
                );
                return Err(ConfigError::UnknownDefaultModel {
                    name: name.clone(),
                    known: known.join(", "),
                });
            }
            Some(name) => Some(name.clone()),
            None => names.first().cloned(),
        };
        if let Some(quantization) = self.quantize {
            profiles.iter_mut().for_each(|p| p.quantization = quantization);
        }
        if placement.device != Device::Cpu && profiles.iter().any(|p| p.quantization == Quantization::Int8) {
            return Err(ModelError::Int8OnGpu.into());
        }
        if let Some(dir) = &self.embedding_model_dir {
            crate::models::require(dir, "modules.json")?;
        }
        if let Some(dir) = &self.ner_model_dir {
            crate::models::require(dir, "vocab.txt")?;
        }
        Ok(EngineConfig {
            profiles,
            default_profile,
            embedding_dir: self.embedding_model_dir.clone(),
            ner_dir: self.ner_model_dir.clone(),
            fault_panic_request_id: self.fault_panic_request_id.clone(),
            placement,
            workers,
            intra_op_threads,
            max_pending: self.max_pending,
            max_batch: self.max_batch,
            batch_tokens: self.batch_tokens,
            defaults: RequestDefaults {
                sentences: self.default_sentences,
                mode: self.extractive_mode,
                max_facts: self.default_facts,
            },
            limits: RequestLimits {
                max_body_bytes: self.max_body_bytes,
                max_sentences: limits::MAX_SENTENCES,
                max_facts: limits::MAX_FACTS,
                max_output_tokens: limits::MAX_OUTPUT_TOKENS,
                max_beams: limits::MAX_BEAMS,
                abstractive_profiles: names,
                allow_language_mismatch: self.allow_language_mismatch,
            },
            digest_limits: DigestLimits {
                max_articles: self.max_digest_articles,
                max_concurrent: self.max_digests,
            },
            digest_templates: self
                .digest_templates
                .as_deref()
                .map(Templates::load)
                .transpose()?
                .unwrap_or_default(),
        })
    }

    /// True when these settings load any model beyond the embedded ones.
    pub fn loads_models(&self) -> bool {
        !self.model_dirs.is_empty()
            || self.model.is_some()
            || self.embedding_model_dir.is_some()
            || self.ner_model_dir.is_some()
    }

    /// A build without libtorch refuses, at start-up, every setting that needs it.
    #[cfg(not(feature = "torch"))]
    fn refuse_torch_settings(&self) -> Result<(), ConfigError> {
        let needs_torch = [
            ("--model-dir", !self.model_dirs.is_empty()),
            ("--model", self.model.is_some()),
            ("--embedding-model-dir", self.embedding_model_dir.is_some()),
            ("--ner-model-dir", self.ner_model_dir.is_some()),
            (
                "--extractive-mode semantic or hybrid",
                self.extractive_mode != ExtractiveMode::Lexical,
            ),
            ("--device other than cpu", self.device != "cpu"),
            ("--half", self.half),
            ("--quantize", self.quantize.is_some()),
            ("--intra-op-threads", self.intra_op_threads.is_some()),
        ];
        match needs_torch.into_iter().find(|(_, set)| *set) {
            Some((flag, _)) => Err(ConfigError::NeedsTorch(flag)),
            None => Ok(()),
        }
    }
}

impl ServeArgs {
    /// The server's configuration: what `newsgist serve`, the tests and the benches all run.
    pub fn server_config(&self) -> Result<ServerConfig, ConfigError> {
        Ok(ServerConfig {
            engine: self.engine.validate()?,
            request_timeout: Duration::from_secs(self.request_timeout_secs),
            shutdown_grace: Duration::from_secs(self.shutdown_grace_secs),
            tls: match (&self.tls_cert, &self.tls_key) {
                (Some(cert), Some(key)) => Some(TlsFiles {
                    cert: cert.clone(),
                    key: key.clone(),
                    client_ca: self.tls_client_ca.clone(),
                }),
                _ => None,
            },
            api_keys_file: self.api_keys_file.clone(),
            api_keys: self.api_keys.clone(),
            auth_health: self.auth_health,
        })
    }
}

/// The files of a TLS identity.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub client_ca: Option<PathBuf>,
}

/// A validated server configuration.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub engine: EngineConfig,
    /// Longest any request may take; a sooner client deadline wins.
    pub request_timeout: Duration,
    /// How long in-flight requests may take to finish after shutdown begins.
    pub shutdown_grace: Duration,
    /// TLS, when configured.
    pub tls: Option<TlsFiles>,
    /// Where API keys come from; neither: the server is open.
    pub api_keys_file: Option<PathBuf>,
    pub api_keys: Option<String>,
    /// Whether health needs a key too.
    pub auth_health: bool,
}

impl RequestArgs {
    /// The options these flags describe.
    pub fn options(&self) -> RawOptions {
        let outputs = self.outputs.as_ref().map(|outputs| Outputs {
            extractive: outputs.contains(&OutputArg::Extractive),
            abstractive: outputs.contains(&OutputArg::Abstractive),
            key_facts: outputs.contains(&OutputArg::KeyFacts),
        });
        RawOptions {
            outputs,
            sentences: self.sentences,
            ratio: self.ratio,
            mode: self.mode,
            abstractive: AbstractiveParams {
                model: None,
                min_tokens: self.min_tokens,
                max_tokens: self.max_tokens,
                num_beams: self.beams,
            },
            max_facts: self.max_facts,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn file_settings_become_flags_that_the_command_line_overrides() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("newsgist.toml");
        std::fs::write(&path, "workers = 3\nmax-pending = 9\nlisten = \"127.0.0.1:7000\"\n").unwrap();
        let args = with_file_defaults(os(&["newsgist", "serve", "--workers", "2"]), &path).unwrap();
        let cli = Cli::parse_from(args);
        let Command::Serve(serve) = cli.command else {
            panic!("not serve")
        };
        assert_eq!(serve.engine.workers, Some(2), "the flag wins over the file");
        assert_eq!(serve.engine.max_pending, 9);
        assert_eq!(serve.listen.port(), 7000);
    }

    #[test]
    fn unknown_file_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("newsgist.toml");
        std::fs::write(&path, "wokers = 3\n").unwrap();
        let err = with_file_defaults(os(&["newsgist", "serve"]), &path).unwrap_err();
        assert!(
            matches!(err, ConfigError::UnknownKey { ref key, .. } if key == "wokers"),
            "{err}"
        );
    }

    #[test]
    fn impossible_settings_are_refused() {
        let parse = |args: &[&str]| match Cli::parse_from(os(args)).command {
            Command::Serve(serve) => serve.engine.validate(),
            _ => unreachable!(),
        };
        assert!(matches!(
            parse(&["newsgist", "serve", "--workers", "0"]),
            Err(ConfigError::Zero(_))
        ));
        assert!(matches!(
            parse(&["newsgist", "serve", "--workers", "4", "--max-pending", "2"]),
            Err(ConfigError::PendingBelowWorkers { .. })
        ));
        assert!(matches!(
            parse(&["newsgist", "serve", "--default-facts", "80"]),
            Err(ConfigError::TooManyDefaultFacts(80))
        ));
        assert!(Cli::try_parse_from(os(&["newsgist", "serve", "--request-timeout-secs", "0"])).is_err());
        let err = parse(&["newsgist", "serve", "--max-body-bytes", "100000000000"]).unwrap_err();
        assert!(matches!(err, ConfigError::BodyLimitOverCap(100_000_000_000)), "{err}");
        assert!(err.to_string().contains("cap of 67108864 bytes"), "{err}");
        assert!(parse(&["newsgist", "serve", "--max-body-bytes", "67108864"]).is_ok());
        assert!(parse(&["newsgist", "serve"]).is_ok());
    }

    fn validate(args: &[&str]) -> Result<EngineConfig, ConfigError> {
        match Cli::parse_from(os(args)).command {
            Command::Serve(serve) => serve.engine.validate(),
            _ => unreachable!(),
        }
    }

    #[cfg(feature = "torch")]
    #[test]
    fn impossible_model_settings_are_refused() {
        assert!(matches!(
            validate(&["newsgist", "serve", "--model-dir", "/nonexistent"]),
            Err(ConfigError::Model(_))
        ));
        assert!(matches!(
            validate(&["newsgist", "serve", "--device", "tpu"]),
            Err(ConfigError::Model(_))
        ));
        assert!(matches!(
            validate(&["newsgist", "serve", "--half"]),
            Err(ConfigError::Model(ModelError::HalfOnCpu))
        ));
        assert!(matches!(
            validate(&["newsgist", "serve", "--extractive-mode", "semantic"]),
            Err(ConfigError::ModeNeedsEmbeddings(ExtractiveMode::Semantic))
        ));
        let bart = concat!(env!("CARGO_MANIFEST_DIR"), "/models/fixtures/bart-tiny");
        assert!(matches!(
            validate(&[
                "newsgist",
                "serve",
                "--model-dir",
                bart,
                "--device",
                "cuda:0",
                "--quantize",
                "int8"
            ]),
            Err(ConfigError::Model(ModelError::Int8OnGpu))
        ));
    }

    #[cfg(feature = "torch")]
    #[test]
    fn quantize_applies_to_every_profile_and_is_off_by_default() {
        let bart = concat!(env!("CARGO_MANIFEST_DIR"), "/models/fixtures/bart-tiny");
        let t5 = concat!(env!("CARGO_MANIFEST_DIR"), "/models/fixtures/t5-tiny");
        let plain = validate(&["newsgist", "serve", "--model-dir", bart]).unwrap();
        assert_eq!(plain.profiles[0].quantization, Quantization::None);
        let int8 = validate(&[
            "newsgist",
            "serve",
            "--model-dir",
            bart,
            "--model-dir",
            t5,
            "--quantize",
            "int8",
        ])
        .unwrap();
        assert!(int8.profiles.iter().all(|p| p.quantization == Quantization::Int8));
    }

    #[cfg(not(feature = "torch"))]
    #[test]
    fn a_lean_build_refuses_model_settings_naming_the_torch_feature() {
        for flags in [
            &["--model-dir", "/models/bart"][..],
            &["--model", "bart-large-cnn"],
            &["--embedding-model-dir", "/models/minilm"],
            &["--ner-model-dir", "/models/ner"],
            &["--extractive-mode", "hybrid"],
            &["--device", "cuda:0"],
            &["--half"],
            &["--quantize", "int8"],
            &["--intra-op-threads", "2"],
        ] {
            let mut args = vec!["newsgist", "serve"];
            args.extend_from_slice(flags);
            let err = validate(&args).unwrap_err();
            assert!(
                matches!(err, ConfigError::NeedsTorch(flag) if flag.starts_with(flags[0])),
                "{flags:?}: {err}"
            );
            assert!(err.to_string().contains("without the `torch` feature"), "{err}");
        }
    }

    #[test]
    fn one_function_builds_the_server_configuration() {
        let Command::Serve(serve) = Cli::parse_from(os(&["newsgist", "serve", "--request-timeout-secs", "7"])).command
        else {
            unreachable!()
        };
        let config = serve.server_config().unwrap();
        assert_eq!(config.request_timeout, Duration::from_secs(7));
        assert_eq!(
            config.shutdown_grace,
            Duration::from_secs(defaults::SHUTDOWN_GRACE_SECS)
        );
        assert_eq!(config.engine.workers, defaults::WORKERS);
        assert_eq!(config.engine.limits.max_facts, limits::MAX_FACTS);
        assert!(!config.engine.limits.allow_language_mismatch);
        let allowing = validate(&["newsgist", "serve", "--allow-language-mismatch"]).unwrap();
        assert!(
            allowing.limits.allow_language_mismatch,
            "the flag reaches the request limits"
        );
    }
}
