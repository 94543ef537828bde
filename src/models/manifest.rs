//! The named abstractive model profiles of models/manifest.toml: which Hugging Face
//! repository and revision each one is, the files it needs, and its generation defaults.

use std::path::Path;
use std::sync::LazyLock;

use serde::Deserialize;

use super::{require, Architecture, GenerationDefaults, ModelError, ModelProfile, Quantization};

/// The manifest compiled into the binary.
const EMBEDDED: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/models/manifest.toml"));

/// Why a manifest could not be read, or a profile not found or built from a directory.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("model manifest is not valid TOML: {0}")]
    Parse(#[from] toml::de::Error),
    #[error("model manifest, profile {profile:?}: {reason}")]
    Invalid { profile: String, reason: String },
    #[error("unknown model profile {name:?}: known profiles are {known} (`newsgist models list` shows them)")]
    UnknownProfile { name: String, known: String },
    #[error(
        "{dir} holds a {found:?} model, but profile {profile:?} is a {expected} model: point it at the right directory"
    )]
    ArchitectureMismatch {
        profile: String,
        dir: std::path::PathBuf,
        expected: &'static str,
        found: String,
    },
    #[error(transparent)]
    Model(#[from] ModelError),
}

/// How a repository ships its weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WeightsFormat {
    /// model.safetensors, which newsgist loads directly.
    Safetensors,
    /// pytorch_model.bin only: a pickle, converted to model.safetensors after download.
    Pytorch,
}

impl WeightsFormat {
    /// The weights file the repository ships.
    pub fn file_name(self) -> &'static str {
        match self {
            WeightsFormat::Safetensors => "model.safetensors",
            WeightsFormat::Pytorch => "pytorch_model.bin",
        }
    }
}

/// The weights file newsgist loads, whatever the repository ships.
pub const LOADABLE_WEIGHTS: &str = "model.safetensors";

/// One file a profile downloads.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// Path inside the repository.
    pub name: String,
    /// Size in bytes, when known.
    pub size: Option<u64>,
    /// Lowercase hex SHA-256 of the content, when known.
    pub sha256: Option<String>,
    /// The repository may lack this file; a missing one is not an error.
    #[serde(default)]
    pub optional: bool,
}

/// A named profile: where its model comes from and how it generates.
#[derive(Debug, Clone)]
pub struct ProfileEntry {
    pub name: String,
    pub description: String,
    /// Hugging Face repository id, `org/name`.
    pub repo: String,
    /// A commit hash when pinned, otherwise a branch or tag.
    pub revision: String,
    pub architecture: Architecture,
    pub weights: WeightsFormat,
    pub max_input_tokens: usize,
    /// `quantize = "int8"` in the manifest; `--quantize` overrides it.
    pub quantization: Quantization,
    pub files: Vec<FileEntry>,
    pub generation: GenerationDefaults,
}

impl ProfileEntry {
    /// Whether the revision is a full commit hash (so downloads cannot change upstream).
    pub fn is_pinned(&self) -> bool {
        is_commit_hash(&self.revision)
    }

    /// The files that must be present for the profile to be usable.
    pub fn required_files(&self) -> impl Iterator<Item = &FileEntry> {
        self.files.iter().filter(|f| !f.optional)
    }

    /// Whether the downloaded weights must be converted before newsgist can load them.
    pub fn needs_conversion(&self) -> bool {
        self.weights == WeightsFormat::Pytorch
    }

    /// A [`ModelProfile`] for a local copy of this profile's model in `dir`: the files the
    /// loader reads must be there and config.json's model_type must match the manifest;
    /// generation settings and input length come from the manifest.
    pub fn to_profile(&self, dir: &Path) -> Result<ModelProfile, ManifestError> {
        let config = require(dir, "config.json")?;
        require(dir, LOADABLE_WEIGHTS)?;
        let (vocab, merges) = self.architecture.tokenizer_files();
        require(dir, vocab)?;
        if let Some(merges) = merges {
            require(dir, merges)?;
        }
        #[derive(Deserialize)]
        struct ModelType {
            model_type: Option<String>,
        }
        let text = std::fs::read_to_string(&config).map_err(|source| ModelError::Read {
            path: config.clone(),
            source,
        })?;
        let found: ModelType = serde_json::from_str(&text).map_err(|source| ModelError::Config {
            path: config.clone(),
            source,
        })?;
        let found = found.model_type.unwrap_or_default();
        if found != self.architecture.name() {
            return Err(ManifestError::ArchitectureMismatch {
                profile: self.name.clone(),
                dir: dir.into(),
                expected: self.architecture.name(),
                found,
            });
        }
        Ok(ModelProfile {
            name: self.name.clone(),
            architecture: self.architecture,
            dir: dir.into(),
            generation: self.generation.clone(),
            max_input_tokens: self.max_input_tokens,
            quantization: self.quantization,
        })
    }
}

/// All profiles, in manifest order, and the default one.
#[derive(Debug, Clone)]
pub struct Manifest {
    default: String,
    profiles: Vec<ProfileEntry>,
}

/// The embedded manifest, parsed once. Its validity is checked by this module's tests, so a
/// failure here is a build defect, not a user error.
pub fn manifest() -> &'static Manifest {
    static MANIFEST: LazyLock<Manifest> =
        LazyLock::new(|| Manifest::parse(EMBEDDED).expect("embedded models/manifest.toml is invalid"));
    &MANIFEST
}

impl Manifest {
    /// Parses and validates a manifest in the models/manifest.toml format.
    pub fn parse(text: &str) -> Result<Manifest, ManifestError> {
        let raw: RawManifest = toml::from_str(text)?;
        let profiles = raw
            .profile
            .into_iter()
            .map(RawProfile::validate)
            .collect::<Result<Vec<_>, _>>()?;
        for (i, profile) in profiles.iter().enumerate() {
            if profiles[..i].iter().any(|p| p.name == profile.name) {
                return Err(invalid(&profile.name, "the name is used by two profiles"));
            }
        }
        if !profiles.iter().any(|p| p.name == raw.default) {
            return Err(invalid(&raw.default, "default names no profile"));
        }
        Ok(Manifest {
            default: raw.default,
            profiles,
        })
    }

    /// Every profile, in manifest order.
    pub fn profiles(&self) -> &[ProfileEntry] {
        &self.profiles
    }

    /// The profile called `name`.
    pub fn get(&self, name: &str) -> Result<&ProfileEntry, ManifestError> {
        self.profiles
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| ManifestError::UnknownProfile {
                name: name.into(),
                known: self.names().join(", "),
            })
    }

    /// The profile used when none is named.
    pub fn default_profile(&self) -> &ProfileEntry {
        // `parse` guarantees the default exists.
        self.profiles
            .iter()
            .find(|p| p.name == self.default)
            .unwrap_or(&self.profiles[0])
    }

    /// Profile names, in manifest order.
    pub fn names(&self) -> Vec<&str> {
        self.profiles.iter().map(|p| p.name.as_str()).collect()
    }
}

/// Whether `revision` is a full 40-hex git commit hash.
pub fn is_commit_hash(revision: &str) -> bool {
    revision.len() == 40 && revision.bytes().all(|b| b.is_ascii_hexdigit())
}

fn is_sha256(hex: &str) -> bool {
    hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn invalid(profile: &str, reason: impl Into<String>) -> ManifestError {
    ManifestError::Invalid {
        profile: profile.into(),
        reason: reason.into(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    default: String,
    #[serde(default)]
    profile: Vec<RawProfile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    name: String,
    #[serde(default)]
    description: String,
    repo: String,
    revision: String,
    architecture: String,
    weights: WeightsFormat,
    max_input_tokens: usize,
    #[serde(default)]
    quantize: Quantization,
    #[serde(default)]
    file: Vec<FileEntry>,
    generation: RawGeneration,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGeneration {
    num_beams: u32,
    length_penalty: f64,
    min_length: u32,
    max_length: u32,
    no_repeat_ngram_size: u32,
    early_stopping: bool,
    #[serde(default)]
    prefix: String,
}

impl RawProfile {
    fn validate(self) -> Result<ProfileEntry, ManifestError> {
        let name = self.name;
        let bad = |reason: String| invalid(&name, reason);
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) {
            return Err(bad("names use ASCII letters, digits, '-', '_' and '.'".into()));
        }
        let repo_ok = matches!(self.repo.split('/').collect::<Vec<_>>().as_slice(),
            [org, model] if safe_component(org) && safe_component(model));
        if !repo_ok {
            return Err(bad(format!("repo {:?} is not an org/name repository id", self.repo)));
        }
        if self.revision.is_empty() || !self.revision.split('/').all(safe_component) {
            return Err(bad(format!(
                "revision {:?} is not a commit, branch or tag",
                self.revision
            )));
        }
        let architecture = match self.architecture.as_str() {
            "bart" => Architecture::Bart,
            "t5" => Architecture::T5,
            "pegasus" => Architecture::Pegasus,
            other => return Err(bad(format!("architecture {other:?} is not bart, t5 or pegasus"))),
        };
        if self.max_input_tokens == 0 {
            return Err(bad("max_input_tokens must be positive".into()));
        }
        for (i, file) in self.file.iter().enumerate() {
            if !file.name.split('/').all(safe_component) {
                return Err(bad(format!(
                    "file {:?} is not a relative path inside the repository",
                    file.name
                )));
            }
            if self.file[..i].iter().any(|f| f.name == file.name) {
                return Err(bad(format!("file {:?} is listed twice", file.name)));
            }
            if let Some(sha) = &file.sha256 {
                if !is_sha256(sha) {
                    return Err(bad(format!("sha256 of {} is not 64 lowercase hex digits", file.name)));
                }
            }
        }
        let (vocab, merges) = architecture.tokenizer_files();
        let needed = ["config.json", self.weights.file_name(), vocab]
            .into_iter()
            .chain(merges);
        for needed in needed {
            if !self.file.iter().any(|f| f.name == needed && !f.optional) {
                return Err(bad(format!(
                    "a {} profile needs the file {needed}",
                    architecture.name()
                )));
            }
        }
        let g = self.generation;
        if g.num_beams == 0 {
            return Err(bad("num_beams must be at least 1".into()));
        }
        if g.min_length > g.max_length || g.max_length == 0 {
            return Err(bad(
                "generation needs 0 < max_length and min_length <= max_length".into()
            ));
        }
        if !g.length_penalty.is_finite() {
            return Err(bad("length_penalty must be a finite number".into()));
        }
        Ok(ProfileEntry {
            description: self.description,
            repo: self.repo,
            revision: self.revision,
            architecture,
            weights: self.weights,
            max_input_tokens: self.max_input_tokens,
            quantization: self.quantize,
            files: self.file,
            generation: GenerationDefaults {
                num_beams: g.num_beams,
                min_length: g.min_length,
                max_length: g.max_length,
                length_penalty: g.length_penalty,
                no_repeat_ngram_size: g.no_repeat_ngram_size,
                early_stopping: g.early_stopping,
                prefix: g.prefix,
            },
            name,
        })
    }
}

/// A path component that cannot escape its directory.
fn safe_component(part: &str) -> bool {
    !part.is_empty()
        && part != "."
        && part != ".."
        && part.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
default = "tiny"
[[profile]]
name = "tiny"
repo = "org/tiny"
revision = "main"
architecture = "bart"
weights = "safetensors"
max_input_tokens = 128
[[profile.file]]
name = "config.json"
[[profile.file]]
name = "model.safetensors"
[[profile.file]]
name = "vocab.json"
[[profile.file]]
name = "merges.txt"
[profile.generation]
num_beams = 2
length_penalty = 1.0
min_length = 1
max_length = 20
no_repeat_ngram_size = 0
early_stopping = false
"#;

    fn with(from: &str, to: &str) -> Result<Manifest, ManifestError> {
        assert!(MINIMAL.contains(from), "test edit {from:?} does not apply");
        Manifest::parse(&MINIMAL.replacen(from, to, 1))
    }

    #[test]
    fn embedded_manifest_has_the_five_profiles() {
        let m = manifest();
        assert_eq!(
            m.names(),
            [
                "bart-large-cnn",
                "distilbart-cnn-12-6",
                "distilbart-cnn-6-6",
                "pegasus-cnn_dailymail",
                "t5-small"
            ]
        );
        assert_eq!(m.default_profile().name, "bart-large-cnn");
    }

    #[test]
    fn embedded_generation_defaults_follow_the_model_cards() {
        let m = manifest();
        let bart = &m.get("bart-large-cnn").unwrap().generation;
        assert_eq!(
            (bart.num_beams, bart.length_penalty, bart.min_length, bart.max_length),
            (4, 2.0, 56, 142)
        );
        assert_eq!((bart.no_repeat_ngram_size, bart.early_stopping), (3, true));
        assert_eq!(bart.prefix, "");
        let t5 = m.get("t5-small").unwrap();
        assert_eq!(t5.generation.prefix, "summarize: ");
        assert_eq!((t5.generation.min_length, t5.generation.max_length), (30, 200));
        assert_eq!(t5.max_input_tokens, 512);
        assert!(t5.is_pinned());
        let pegasus = m.get("pegasus-cnn_dailymail").unwrap();
        assert_eq!(pegasus.architecture, Architecture::Pegasus);
        assert_eq!(
            (pegasus.generation.num_beams, pegasus.generation.length_penalty),
            (8, 0.8)
        );
        assert!(pegasus.needs_conversion());
        assert!(!m.get("bart-large-cnn").unwrap().needs_conversion());
    }

    #[test]
    fn unknown_profile_lists_the_known_ones() {
        let err = manifest().get("gpt-17").unwrap_err().to_string();
        assert!(
            err.contains("gpt-17") && err.contains("bart-large-cnn") && err.contains("t5-small"),
            "{err}"
        );
    }

    #[test]
    fn minimal_manifest_parses() {
        let m = Manifest::parse(MINIMAL).unwrap();
        let p = m.get("tiny").unwrap();
        assert_eq!(p.architecture, Architecture::Bart);
        assert!(!p.is_pinned());
        assert_eq!(p.required_files().count(), 4);
    }

    #[test]
    fn invalid_manifests_are_rejected_with_the_reason() {
        let cases = [
            ("default = \"tiny\"", "default = \"other\"", "default names no profile"),
            ("repo = \"org/tiny\"", "repo = \"../etc\"", "repository id"),
            ("repo = \"org/tiny\"", "repo = \"tiny\"", "repository id"),
            ("revision = \"main\"", "revision = \"../x\"", "revision"),
            (
                "architecture = \"bart\"",
                "architecture = \"gpt2\"",
                "bart, t5 or pegasus",
            ),
            ("max_input_tokens = 128", "max_input_tokens = 0", "max_input_tokens"),
            (
                "name = \"merges.txt\"",
                "name = \"merges.txt\"\noptional = true",
                "needs the file merges.txt",
            ),
            ("name = \"vocab.json\"", "name = \"/abs/vocab.json\"", "relative path"),
            ("name = \"vocab.json\"", "name = \"config.json\"", "listed twice"),
            (
                "name = \"vocab.json\"",
                "name = \"vocab.json\"\nsha256 = \"ABC\"",
                "64 lowercase hex",
            ),
            ("num_beams = 2", "num_beams = 0", "num_beams"),
            ("min_length = 1", "min_length = 30", "min_length <= max_length"),
            ("length_penalty = 1.0", "length_penalty = nan", "finite"),
            (
                "weights = \"safetensors\"",
                "weights = \"pytorch\"",
                "pytorch_model.bin",
            ),
        ];
        for (from, to, expected) in cases {
            let err = with(from, to).unwrap_err().to_string();
            assert!(err.contains(expected), "{to:?}: {err}");
        }
        assert!(matches!(
            with("early_stopping = false", "early_stopping = 1"),
            Err(ManifestError::Parse(_))
        ));
        assert!(matches!(
            with("name = \"tiny\"", "name = \"tiny\"\ncolour = 1"),
            Err(ManifestError::Parse(_))
        ));
    }

    #[test]
    fn duplicate_profile_names_are_rejected() {
        let doubled = format!("{MINIMAL}\n{}", &MINIMAL[MINIMAL.find("[[profile]]").unwrap()..]);
        let err = Manifest::parse(&doubled).unwrap_err().to_string();
        assert!(err.contains("two profiles"), "{err}");
    }

    #[test]
    fn every_embedded_checksum_is_well_formed_and_revisions_are_commits_or_main() {
        for p in manifest().profiles() {
            assert!(p.is_pinned() || p.revision == "main", "{}: {}", p.name, p.revision);
            for f in &p.files {
                if let Some(sha) = &f.sha256 {
                    assert!(is_sha256(sha), "{}/{}", p.name, f.name);
                }
            }
        }
    }

    #[test]
    fn commit_hashes_are_recognised() {
        assert!(is_commit_hash("df1b051c49625cf57a3d0d8d3863ed4d13564fe4"));
        assert!(!is_commit_hash("main"));
        assert!(!is_commit_hash("df1b051c49625cf57a3d0d8d3863ed4d13564fe"));
        assert!(!is_commit_hash("zf1b051c49625cf57a3d0d8d3863ed4d13564fe4"));
    }
}
