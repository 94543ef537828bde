//! Manifest profiles in the standard Hugging Face hub cache: resolving one to a local
//! directory without the network, downloading it (`newsgist models fetch`), checking it
//! (`newsgist models verify`) and listing what is cached (`newsgist models list`).
//!
//! The cache layout is the one huggingface_hub and hf-hub share, so a model downloaded by
//! either (or by `huggingface-cli download`) is found here and the other way round:
//! `<cache>/models--<org>--<name>/refs/<branch>` holds the commit a branch pointed to,
//! `<cache>/models--<org>--<name>/snapshots/<commit>/<file>` the files (usually links into
//! `blobs/`, where large files are named by their SHA-256).

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use hf_hub::api::sync::{ApiBuilder, ApiError};
use hf_hub::{Cache, Repo, RepoType};
use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};

use super::manifest::{self, is_commit_hash, FileEntry, ManifestError, ProfileEntry, LOADABLE_WEIGHTS};
use super::ModelProfile;

const DEFAULT_ENDPOINT: &str = "https://huggingface.co";
/// Interpreter and script that turn a downloaded pytorch_model.bin into model.safetensors.
const CONVERTER_PYTHON: &str = match option_env!("NEWSGIST_PYTHON") {
    Some(python) => python,
    None => "python3",
};
const CONVERTER_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/models/convert_to_safetensors.py");
/// Files above this size get a progress bar while they are hashed.
const HASH_PROGRESS_BYTES: u64 = 64 << 20;

/// Where the hub cache is and how to reach the hub.
#[derive(Debug, Clone)]
pub struct HubConfig {
    /// The hub cache directory (the one holding `models--org--name` folders).
    pub cache_dir: PathBuf,
    /// Hub or mirror base URL (HF_ENDPOINT).
    pub endpoint: String,
    /// Never touch the network (HF_HUB_OFFLINE).
    pub offline: bool,
    /// Access token for gated repositories (HF_TOKEN; otherwise hf-hub reads `<HF_HOME>/token`).
    pub token: Option<String>,
    /// Draw progress bars on stderr (indicatif hides them when stderr is not a terminal).
    pub progress: bool,
}

impl HubConfig {
    /// Defaults for an explicit cache directory: huggingface.co, online, no token, progress.
    pub fn new(cache_dir: impl Into<PathBuf>) -> HubConfig {
        HubConfig {
            cache_dir: cache_dir.into(),
            endpoint: DEFAULT_ENDPOINT.into(),
            offline: false,
            token: None,
            progress: true,
        }
    }

    /// Settings from the process environment, as huggingface_hub reads them.
    pub fn from_env() -> Result<HubConfig, HubError> {
        HubConfig::from_vars(|key| std::env::var(key).ok())
    }

    /// Settings from `var` (an environment lookup): the cache is HF_HUB_CACHE, else
    /// HUGGINGFACE_HUB_CACHE, else `$HF_HOME/hub`, else `$XDG_CACHE_HOME/huggingface/hub`,
    /// else `~/.cache/huggingface/hub`; HF_ENDPOINT, HF_HUB_OFFLINE and HF_TOKEN as in
    /// huggingface_hub. Empty values count as unset.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<HubConfig, HubError> {
        let get = |key: &str| var(key).filter(|v| !v.trim().is_empty());
        let cache_dir = get("HF_HUB_CACHE")
            .or_else(|| get("HUGGINGFACE_HUB_CACHE"))
            .map(PathBuf::from)
            .or_else(|| get("HF_HOME").map(|home| Path::new(&home).join("hub")))
            .or_else(|| get("XDG_CACHE_HOME").map(|c| Path::new(&c).join("huggingface/hub")))
            .or_else(|| get("HOME").map(|home| Path::new(&home).join(".cache/huggingface/hub")))
            .ok_or(HubError::NoCacheDir)?;
        let offline = get("HF_HUB_OFFLINE")
            .is_some_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on"));
        let endpoint = get("HF_ENDPOINT")
            .map(|e| e.trim().trim_end_matches('/').to_string())
            .unwrap_or_else(|| DEFAULT_ENDPOINT.into());
        Ok(HubConfig {
            cache_dir,
            endpoint,
            offline,
            token: get("HF_TOKEN"),
            progress: true,
        })
    }

    fn repo_dir(&self, entry: &ProfileEntry) -> PathBuf {
        self.cache_dir
            .join(format!("models--{}", entry.repo.replace('/', "--")))
    }
}

/// What went wrong, phrased as what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    #[error("cannot locate the Hugging Face cache: set HF_HUB_CACHE or HF_HOME (HOME is not set either)")]
    NoCacheDir,
    #[error(
        "model profile {profile} ({repo} at {revision}) is not in the Hugging Face cache: {problem}\n  \
         looked in {looked}\n  \
         to download it (needs network access): newsgist models fetch {profile}\n  \
         or use a local copy instead: --model-dir DIR (a directory with config.json, model.safetensors and the tokenizer files)"
    )]
    NotCached {
        profile: String,
        repo: String,
        revision: String,
        looked: PathBuf,
        problem: String,
    },
    #[error(
        "model profile {profile} is downloaded, but newsgist cannot read its PyTorch weights (pytorch_model.bin) \
         until they are converted to model.safetensors; run:\n  {command}"
    )]
    NeedsConversion { profile: String, command: String },
    #[error(
        "HF_HUB_OFFLINE is set, so newsgist will not download model profile {profile}; missing from {looked}: {missing}\n  \
         unset HF_HUB_OFFLINE and run `newsgist models fetch {profile}` on a machine with network access \
         (then copy the cache folder here), or pass --model-dir DIR with a local copy of the model"
    )]
    Offline {
        profile: String,
        looked: PathBuf,
        missing: String,
    },
    #[error(
        "downloading {file} of model profile {profile} from {url} failed: {source}\n  \
         check the network (HF_ENDPOINT selects a mirror, HF_TOKEN authenticates) and rerun \
         `newsgist models fetch {profile}`; a partial download resumes where it stopped"
    )]
    Download {
        profile: String,
        file: String,
        url: String,
        source: Box<ApiError>,
    },
    #[error(
        "{file} of model profile {profile} arrived damaged ({problem}); the bad copy was deleted\n  \
         rerun `newsgist models fetch {profile}`; if it fails again the file changed upstream, so use \
         --model-dir DIR with a copy you trust"
    )]
    Damaged {
        profile: String,
        file: String,
        problem: FileStatus,
    },
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Manifest(#[from] ManifestError),
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> HubError + 'a {
    move |source| HubError::Io {
        action,
        path: path.into(),
        source,
    }
}

/// How a file compared with what it should be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileStatus {
    /// Present and as expected, as far as `Checked` says.
    Ok(Checked),
    Missing,
    SizeMismatch {
        expected: u64,
        actual: u64,
    },
    ChecksumMismatch {
        expected: String,
        actual: String,
    },
    /// A pytorch-only profile whose weights still need converting: run `command`.
    NotConverted {
        command: String,
    },
    /// model.safetensors exists but is not a safetensors file.
    NotSafetensors,
}

/// What a file was checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checked {
    /// SHA-256 from the manifest.
    ManifestSha256,
    /// SHA-256 the hub published for it (its blob name in the cache).
    HubSha256,
    /// Size only: no checksum is known.
    Size,
    /// Presence only: neither size nor checksum is known.
    Presence,
    /// A converted model.safetensors with a well-formed header.
    SafetensorsHeader,
}

impl fmt::Display for FileStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileStatus::Ok(Checked::ManifestSha256) => f.write_str("ok (sha256 from the manifest)"),
            FileStatus::Ok(Checked::HubSha256) => f.write_str("ok (sha256 published by the hub)"),
            FileStatus::Ok(Checked::Size) => f.write_str("ok (size; no checksum known)"),
            FileStatus::Ok(Checked::Presence) => f.write_str("present (no size or checksum known)"),
            FileStatus::Ok(Checked::SafetensorsHeader) => f.write_str("ok (converted; header valid)"),
            FileStatus::Missing => f.write_str("missing"),
            FileStatus::SizeMismatch { expected, actual } => {
                write!(f, "size {actual} bytes, expected {expected}")
            }
            FileStatus::ChecksumMismatch { expected, actual } => {
                write!(f, "sha256 {actual}, expected {expected}")
            }
            FileStatus::NotConverted { command } => write!(f, "not converted yet: run {command}"),
            FileStatus::NotSafetensors => f.write_str("not a safetensors file: convert again"),
        }
    }
}

impl FileStatus {
    fn is_ok(&self) -> bool {
        matches!(self, FileStatus::Ok(_))
    }
}

/// One file's check.
#[derive(Debug, Clone)]
pub struct FileCheck {
    pub name: String,
    pub optional: bool,
    pub status: FileStatus,
}

impl FileCheck {
    /// Whether this file keeps the profile from being usable.
    pub fn is_problem(&self) -> bool {
        !(self.status.is_ok() || self.optional && self.status == FileStatus::Missing)
    }
}

/// The result of [`verify`]: every manifest file (and the converted weights where needed).
#[derive(Debug, Clone)]
pub struct VerifyReport {
    pub profile: String,
    pub dir: PathBuf,
    pub files: Vec<FileCheck>,
}

impl VerifyReport {
    /// Whether the profile is complete and undamaged.
    pub fn is_ok(&self) -> bool {
        !self.files.iter().any(FileCheck::is_problem)
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} in {}", self.profile, self.dir.display())?;
        for file in &self.files {
            let mark = match (&file.status, file.is_problem()) {
                (_, true) => "FAIL",
                (FileStatus::Missing, false) => "-   ",
                _ => "ok  ",
            };
            let optional = if file.optional { " (optional)" } else { "" };
            writeln!(f, "  {mark} {}{optional}: {}", file.name, file.status)?;
        }
        if self.is_ok() {
            write!(f, "{}: verified", self.profile)
        } else if self
            .files
            .iter()
            .filter(|c| c.is_problem())
            .all(|c| matches!(c.status, FileStatus::NotConverted { .. }))
        {
            write!(f, "{}: downloaded; convert the weights as shown above", self.profile)
        } else {
            write!(
                f,
                "{}: damaged or incomplete; run `newsgist models fetch {}` to repair it",
                self.profile, self.profile
            )
        }
    }
}

/// The result of [`fetch`].
#[derive(Debug, Clone)]
pub struct FetchReport {
    pub profile: String,
    pub dir: PathBuf,
    /// Files downloaded now.
    pub downloaded: Vec<String>,
    /// Files already in the cache and intact.
    pub cached: Vec<String>,
    /// Optional files the repository does not have.
    pub absent_optional: Vec<String>,
    /// The command converting pytorch_model.bin, when it still has to be run.
    pub conversion: Option<String>,
    /// The check after downloading.
    pub verify: VerifyReport,
}

impl FetchReport {
    /// Whether the profile can be loaded now (no conversion pending, nothing damaged).
    pub fn is_ready(&self) -> bool {
        self.verify.is_ok()
    }
}

impl fmt::Display for FetchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |names: &[String]| {
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        };
        writeln!(f, "{}: downloaded {}", self.profile, list(&self.downloaded))?;
        writeln!(f, "  already cached: {}", list(&self.cached))?;
        if !self.absent_optional.is_empty() {
            writeln!(f, "  not in the repository (optional): {}", list(&self.absent_optional))?;
        }
        writeln!(f, "{}", self.verify)?;
        match &self.conversion {
            Some(command) => write!(
                f,
                "The repository ships PyTorch weights only; convert them once with:\n  {command}"
            ),
            None if self.is_ready() => write!(f, "Use it with --model {}", self.profile),
            None => Ok(()),
        }
    }
}

/// A profile's state in the cache, for `newsgist models list` (presence only, no hashing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheState {
    /// Every required file is present in `dir`.
    Cached(PathBuf),
    /// Downloaded, but pytorch_model.bin still has to be converted.
    NeedsConversion(PathBuf),
    /// Some files are missing.
    Partial {
        dir: PathBuf,
        missing: Vec<String>,
    },
    NotCached,
}

/// One row of [`list`].
#[derive(Debug, Clone)]
pub struct ProfileStatus {
    pub name: String,
    pub repo: String,
    pub revision: String,
    pub pinned: bool,
    pub architecture: &'static str,
    pub is_default: bool,
    pub state: CacheState,
}

impl fmt::Display for ProfileStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let default = if self.is_default { " (default)" } else { "" };
        let pin = if self.pinned { "" } else { ", unpinned" };
        write!(
            f,
            "{}{default}  {} {}@{}{pin}  ",
            self.name, self.architecture, self.repo, self.revision
        )?;
        match &self.state {
            CacheState::Cached(dir) => write!(f, "cached: {}", dir.display()),
            CacheState::NeedsConversion(dir) => write!(f, "cached, needs conversion: {}", conversion_command(dir)),
            CacheState::Partial { missing, .. } => write!(
                f,
                "partly cached (missing {}): newsgist models fetch {}",
                missing.join(", "),
                self.name
            ),
            CacheState::NotCached => write!(f, "not cached: newsgist models fetch {}", self.name),
        }
    }
}

/// The command that converts a downloaded pytorch-only model in `dir`.
pub fn conversion_command(dir: &Path) -> String {
    format!(
        "{} {} {}",
        shell_quote(CONVERTER_PYTHON),
        shell_quote(CONVERTER_SCRIPT),
        shell_quote(&dir.to_string_lossy())
    )
}

fn shell_quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+=:,@".contains(&b))
    {
        word.into()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// The snapshot directory of `entry`'s revision, if the cache has one: a pinned commit is
/// looked up directly, a branch through `refs/<branch>`. Errors name the path looked at.
fn snapshot_dir(entry: &ProfileEntry, hub: &HubConfig) -> Result<PathBuf, (PathBuf, String)> {
    let repo_dir = hub.repo_dir(entry);
    let commit = if is_commit_hash(&entry.revision) {
        entry.revision.clone()
    } else {
        let ref_path = repo_dir.join("refs").join(&entry.revision);
        match std::fs::read_to_string(&ref_path) {
            Ok(commit) if is_commit_hash(commit.trim()) => commit.trim().to_string(),
            Ok(_) => return Err((ref_path, "its ref file does not hold a commit hash".into())),
            Err(_) => return Err((ref_path, "no download of this revision".into())),
        }
    };
    let dir = repo_dir.join("snapshots").join(commit);
    if dir.is_dir() {
        Ok(dir)
    } else {
        Err((dir, "the snapshot folder is missing".into()))
    }
}

/// Required files of `entry` absent from `dir` (presence only), the converted weights
/// excluded.
fn missing_files(entry: &ProfileEntry, dir: &Path) -> Vec<String> {
    entry
        .required_files()
        .filter(|f| !dir.join(&f.name).is_file())
        .map(|f| f.name.clone())
        .collect()
}

/// The cached directory of `entry`, found without the network: every required file must be
/// present (sizes and checksums are `verify`'s job, so that start-up does not hash gigabytes),
/// including model.safetensors after conversion for pytorch-only repositories.
pub fn resolve(entry: &ProfileEntry, hub: &HubConfig) -> Result<PathBuf, HubError> {
    let not_cached = |looked: PathBuf, problem: String| HubError::NotCached {
        profile: entry.name.clone(),
        repo: entry.repo.clone(),
        revision: entry.revision.clone(),
        looked,
        problem,
    };
    let dir = snapshot_dir(entry, hub).map_err(|(looked, problem)| not_cached(looked, problem))?;
    let missing = missing_files(entry, &dir);
    if !missing.is_empty() {
        return Err(not_cached(dir, format!("missing {}", missing.join(", "))));
    }
    if entry.needs_conversion() && !dir.join(LOADABLE_WEIGHTS).is_file() {
        return Err(HubError::NeedsConversion {
            profile: entry.name.clone(),
            command: conversion_command(&dir),
        });
    }
    Ok(dir)
}

/// The [`ModelProfile`] for `--model NAME` (the manifest's default when `name` is None),
/// loaded from the cache without the network.
pub fn load_profile(name: Option<&str>, hub: &HubConfig) -> Result<ModelProfile, HubError> {
    let manifest = manifest::manifest();
    let entry = match name {
        Some(name) => manifest.get(name)?,
        None => manifest.default_profile(),
    };
    let dir = resolve(entry, hub)?;
    Ok(entry.to_profile(&dir)?)
}

/// Checks every file of `entry` in the cache: presence, then size and SHA-256 against the
/// manifest, or against the SHA-256 the hub published when the manifest has none.
pub fn verify(entry: &ProfileEntry, hub: &HubConfig) -> Result<VerifyReport, HubError> {
    let dir = snapshot_dir(entry, hub).map_err(|(looked, problem)| HubError::NotCached {
        profile: entry.name.clone(),
        repo: entry.repo.clone(),
        revision: entry.revision.clone(),
        looked,
        problem,
    })?;
    let mut files = Vec::with_capacity(entry.files.len() + 1);
    for file in &entry.files {
        files.push(FileCheck {
            name: file.name.clone(),
            optional: file.optional,
            status: check_file(&dir.join(&file.name), file, hub.progress)?,
        });
    }
    if entry.needs_conversion() {
        files.push(FileCheck {
            name: LOADABLE_WEIGHTS.into(),
            optional: false,
            status: check_converted(&dir)?,
        });
    }
    Ok(VerifyReport {
        profile: entry.name.clone(),
        dir,
        files,
    })
}

fn check_converted(dir: &Path) -> Result<FileStatus, HubError> {
    let path = dir.join(LOADABLE_WEIGHTS);
    if !path.is_file() {
        return Ok(FileStatus::NotConverted {
            command: conversion_command(dir),
        });
    }
    Ok(if safetensors_header_ok(&path).map_err(io("cannot read", &path))? {
        FileStatus::Ok(Checked::SafetensorsHeader)
    } else {
        FileStatus::NotSafetensors
    })
}

/// A safetensors file starts with an 8-byte little-endian header length, then that many
/// bytes of JSON object, then the tensor data.
fn safetensors_header_ok(path: &Path) -> std::io::Result<bool> {
    let mut file = std::fs::File::open(path)?;
    let total = file.metadata()?.len();
    let mut len = [0u8; 8];
    if file.read_exact(&mut len).is_err() {
        return Ok(false);
    }
    let len = u64::from_le_bytes(len);
    if len == 0 || len > total - 8 || len > 100 << 20 {
        return Ok(false);
    }
    let mut header = vec![0u8; len as usize];
    file.read_exact(&mut header)?;
    Ok(serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&header).is_ok())
}

/// Compares the file at `path` with its manifest entry.
fn check_file(path: &Path, file: &FileEntry, progress: bool) -> Result<FileStatus, HubError> {
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(FileStatus::Missing);
    };
    if !meta.is_file() {
        return Ok(FileStatus::Missing);
    }
    if let Some(expected) = file.size {
        if meta.len() != expected {
            return Ok(FileStatus::SizeMismatch {
                expected,
                actual: meta.len(),
            });
        }
    }
    let (expected, checked) = match (&file.sha256, hub_sha256(path)) {
        (Some(sha), _) => (sha.clone(), Checked::ManifestSha256),
        (None, Some(sha)) => (sha, Checked::HubSha256),
        (None, None) if file.size.is_some() => return Ok(FileStatus::Ok(Checked::Size)),
        (None, None) => return Ok(FileStatus::Ok(Checked::Presence)),
    };
    let actual = sha256_file(path, &file.name, progress && meta.len() >= HASH_PROGRESS_BYTES)
        .map_err(io("cannot read", path))?;
    Ok(if actual == expected {
        FileStatus::Ok(checked)
    } else {
        FileStatus::ChecksumMismatch { expected, actual }
    })
}

/// The SHA-256 the hub published for a cached file: large (LFS) files are stored as
/// `blobs/<sha256>` with the snapshot entry linking to them (small git files are named by
/// their 40-hex git hash, which this does not check).
fn hub_sha256(path: &Path) -> Option<String> {
    let target = std::fs::read_link(path).ok()?;
    let name = target.file_name()?.to_str()?;
    let is_sha256 = name.len() == 64 && name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    is_sha256.then(|| name.to_string())
}

/// Lowercase hex SHA-256 of a file, streamed.
pub fn sha256_file(path: &Path, label: &str, progress: bool) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let bar = if progress {
        let bar = ProgressBar::new(file.metadata()?.len());
        if let Ok(style) = ProgressStyle::with_template("{msg} [{wide_bar}] {bytes}/{total_bytes}") {
            bar.set_style(style);
        }
        bar.set_message(format!("checking {label}"));
        bar
    } else {
        ProgressBar::hidden()
    };
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        bar.inc(n as u64);
    }
    bar.finish_and_clear();
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Deletes a cached file and, when it links into `blobs/`, the blob too, so that the next
/// download starts afresh rather than keeping or resuming damaged bytes.
fn remove_cached(path: &Path) -> Result<(), HubError> {
    if let Ok(target) = std::fs::read_link(path) {
        let blob = path.parent().map_or(target.clone(), |p| p.join(&target));
        if blob.is_file() {
            std::fs::remove_file(&blob).map_err(io("cannot delete", &blob))?;
        }
    }
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io("cannot delete", path)(e)),
        _ => Ok(()),
    }
}

/// Downloads every file of `entry` that is missing or damaged in the cache, checks each one,
/// and reports. With `hub.offline` it never touches the network: it succeeds only when the
/// cache already holds the whole profile.
pub fn fetch(entry: &ProfileEntry, hub: &HubConfig) -> Result<FetchReport, HubError> {
    let cached_dir = snapshot_dir(entry, hub).ok();
    let mut cached = Vec::new();
    let mut todo = Vec::new();
    for file in &entry.files {
        let status = match &cached_dir {
            Some(dir) => check_file(&dir.join(&file.name), file, hub.progress)?,
            None => FileStatus::Missing,
        };
        if status.is_ok() {
            cached.push(file.name.clone());
        } else {
            todo.push((file, status));
        }
    }
    if hub.offline {
        let missing: Vec<&str> = todo
            .iter()
            .filter(|(f, _)| !f.optional)
            .map(|(f, _)| f.name.as_str())
            .collect();
        if !missing.is_empty() {
            return Err(HubError::Offline {
                profile: entry.name.clone(),
                looked: cached_dir.unwrap_or_else(|| hub.repo_dir(entry)),
                missing: missing.join(", "),
            });
        }
        todo.clear();
    }
    let mut downloaded = Vec::new();
    let mut absent_optional = Vec::new();
    if !todo.is_empty() {
        let mut builder = ApiBuilder::from_cache(Cache::new(hub.cache_dir.clone()))
            .with_endpoint(hub.endpoint.clone())
            .with_progress(hub.progress)
            .with_retries(3)
            .with_user_agent("newsgist", env!("CARGO_PKG_VERSION"));
        if hub.token.is_some() {
            builder = builder.with_token(hub.token.clone());
        }
        let api = builder.build().map_err(|source| HubError::Download {
            profile: entry.name.clone(),
            file: "(HTTP client set-up)".into(),
            url: hub.endpoint.clone(),
            source: Box::new(source),
        })?;
        let repo = api.repo(Repo::with_revision(
            entry.repo.clone(),
            RepoType::Model,
            entry.revision.clone(),
        ));
        for (file, status) in todo {
            if let (Some(dir), false) = (&cached_dir, status == FileStatus::Missing) {
                remove_cached(&dir.join(&file.name))?;
            }
            let path = match repo.download(&file.name) {
                Ok(path) => path,
                Err(ApiError::RequestError(e)) if file.optional && is_not_found(&e) => {
                    absent_optional.push(file.name.clone());
                    continue;
                }
                Err(source) => {
                    return Err(HubError::Download {
                        profile: entry.name.clone(),
                        file: file.name.clone(),
                        url: repo.url(&file.name),
                        source: Box::new(source),
                    })
                }
            };
            let status = check_file(&path, file, hub.progress)?;
            if !status.is_ok() {
                remove_cached(&path)?;
                return Err(HubError::Damaged {
                    profile: entry.name.clone(),
                    file: file.name.clone(),
                    problem: status,
                });
            }
            downloaded.push(file.name.clone());
        }
    }
    let verify = verify(entry, hub)?;
    let conversion = verify.files.iter().find_map(|c| match &c.status {
        FileStatus::NotConverted { command } => Some(command.clone()),
        _ => None,
    });
    Ok(FetchReport {
        profile: entry.name.clone(),
        dir: verify.dir.clone(),
        downloaded,
        cached,
        absent_optional,
        conversion,
        verify,
    })
}

fn is_not_found(error: &ureq::Error) -> bool {
    matches!(error, ureq::Error::Status(404, _))
}

/// Every manifest profile and whether the cache holds it (presence only, no network).
pub fn list(hub: &HubConfig) -> Vec<ProfileStatus> {
    let manifest = manifest::manifest();
    let default = &manifest.default_profile().name;
    manifest
        .profiles()
        .iter()
        .map(|entry| ProfileStatus {
            name: entry.name.clone(),
            repo: entry.repo.clone(),
            revision: entry.revision.clone(),
            pinned: entry.is_pinned(),
            architecture: entry.architecture.name(),
            is_default: &entry.name == default,
            state: cache_state(entry, hub),
        })
        .collect()
}

/// Where `entry` stands in the cache (presence only).
pub fn cache_state(entry: &ProfileEntry, hub: &HubConfig) -> CacheState {
    let Ok(dir) = snapshot_dir(entry, hub) else {
        return CacheState::NotCached;
    };
    let missing = missing_files(entry, &dir);
    if !missing.is_empty() {
        CacheState::Partial { dir, missing }
    } else if entry.needs_conversion() && !dir.join(LOADABLE_WEIGHTS).is_file() {
        CacheState::NeedsConversion(dir)
    } else {
        CacheState::Cached(dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<HubConfig, HubError> {
        let vars: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        HubConfig::from_vars(|k| vars.get(k).cloned())
    }

    #[test]
    fn cache_dir_follows_huggingface_hub_precedence() {
        let home = [("HOME", "/home/u")];
        assert_eq!(
            config(&home).unwrap().cache_dir,
            Path::new("/home/u/.cache/huggingface/hub")
        );
        let xdg = [("HOME", "/home/u"), ("XDG_CACHE_HOME", "/xdg")];
        assert_eq!(config(&xdg).unwrap().cache_dir, Path::new("/xdg/huggingface/hub"));
        let hf_home = [("HOME", "/home/u"), ("XDG_CACHE_HOME", "/xdg"), ("HF_HOME", "/hf")];
        assert_eq!(config(&hf_home).unwrap().cache_dir, Path::new("/hf/hub"));
        let hub_cache = [("HF_HOME", "/hf"), ("HF_HUB_CACHE", "/c")];
        assert_eq!(config(&hub_cache).unwrap().cache_dir, Path::new("/c"));
        let legacy = [("HF_HOME", "/hf"), ("HUGGINGFACE_HUB_CACHE", "/old")];
        assert_eq!(config(&legacy).unwrap().cache_dir, Path::new("/old"));
        let empty = [("HF_HUB_CACHE", ""), ("HOME", "/home/u")];
        assert_eq!(
            config(&empty).unwrap().cache_dir,
            Path::new("/home/u/.cache/huggingface/hub")
        );
        assert!(matches!(config(&[]), Err(HubError::NoCacheDir)));
    }

    #[test]
    fn endpoint_offline_and_token_come_from_the_environment() {
        let c = config(&[("HOME", "/h")]).unwrap();
        assert_eq!(c.endpoint, "https://huggingface.co");
        assert!(!c.offline && c.token.is_none());
        let c = config(&[
            ("HOME", "/h"),
            ("HF_ENDPOINT", "https://hf-mirror.example/"),
            ("HF_HUB_OFFLINE", "1"),
            ("HF_TOKEN", "hf_x"),
        ])
        .unwrap();
        assert_eq!(c.endpoint, "https://hf-mirror.example");
        assert!(c.offline);
        assert_eq!(c.token.as_deref(), Some("hf_x"));
        for (value, offline) in [("TRUE", true), ("yes", true), ("0", false), ("false", false)] {
            assert_eq!(
                config(&[("HOME", "/h"), ("HF_HUB_OFFLINE", value)]).unwrap().offline,
                offline
            );
        }
    }

    #[test]
    fn shell_quoting_keeps_plain_paths_and_quotes_the_rest() {
        assert_eq!(shell_quote("/a/b-c_d.e"), "/a/b-c_d.e");
        assert_eq!(shell_quote("/a b/it's"), r"'/a b/it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn sha256_of_a_known_string() {
        let dir = std::env::temp_dir().join(format!("newsgist-hub-sha-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("abc");
        std::fs::write(&path, b"abc").unwrap();
        assert_eq!(
            sha256_file(&path, "abc", false).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn safetensors_header_check_rejects_garbage() {
        let dir = std::env::temp_dir().join(format!("newsgist-hub-st-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good");
        let header = br#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#;
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(header);
        bytes.extend_from_slice(&[0; 4]);
        std::fs::write(&good, &bytes).unwrap();
        assert!(safetensors_header_ok(&good).unwrap());
        for bad in [
            &b"short"[..],
            &u64::MAX.to_le_bytes()[..],
            &[2, 0, 0, 0, 0, 0, 0, 0, b'[', b']'][..],
        ] {
            std::fs::write(dir.join("bad"), bad).unwrap();
            assert!(!safetensors_header_ok(&dir.join("bad")).unwrap());
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
