//! The Hugging Face cache side of model profiles, on the real filesystem and without the
//! network: each test builds its own hub cache in a temporary directory from the tiny BART
//! fixture (models/fixtures/bart-tiny, made by `make setup`) and passes it to the API
//! explicitly, so tests never touch the process environment or each other's files. Downloads
//! go to a local HTTP server that speaks the hub's resolve protocol.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use newsgist::models::hub::{self, CacheState, Checked, FileStatus, HubConfig, HubError};
use newsgist::models::manifest::{manifest, Manifest, ProfileEntry};
use newsgist::models::Architecture;

const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";
const FILES: [&str; 4] = ["config.json", "model.safetensors", "vocab.json", "merges.txt"];

fn fixture_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/fixtures/bart-tiny");
    assert!(
        dir.join("manifest.json").is_file(),
        "{} is missing: run `make setup`",
        dir.display()
    );
    dir
}

/// (size, sha256) of each fixture file, as its generator recorded them.
fn fixture_sums() -> HashMap<String, (u64, String)> {
    let text = std::fs::read_to_string(fixture_dir().join("manifest.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["files"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, v)| {
            let size = v["bytes"].as_u64().unwrap();
            (name.clone(), (size, v["sha256"].as_str().unwrap().to_string()))
        })
        .collect()
}

/// A one-profile manifest for the fixture; `with_sums` records sizes and checksums.
fn test_entry(revision: &str, with_sums: bool) -> ProfileEntry {
    let sums = fixture_sums();
    let mut text = format!(
        "default = \"bart-tiny\"\n[[profile]]\nname = \"bart-tiny\"\nrepo = \"newsgist-test/bart-tiny\"\n\
         revision = \"{revision}\"\narchitecture = \"bart\"\nweights = \"safetensors\"\nmax_input_tokens = 128\n"
    );
    for file in FILES {
        text += &format!("[[profile.file]]\nname = \"{file}\"\n");
        if with_sums {
            let (size, sha) = &sums[file];
            text += &format!("size = {size}\nsha256 = \"{sha}\"\n");
        }
    }
    text += "[[profile.file]]\nname = \"generation_config.json\"\noptional = true\n";
    text += "[profile.generation]\nnum_beams = 2\nlength_penalty = 1.5\nmin_length = 5\nmax_length = 60\n\
             no_repeat_ngram_size = 2\nearly_stopping = true\n";
    Manifest::parse(&text).unwrap().get("bart-tiny").unwrap().clone()
}

fn offline(cache: &Path) -> HubConfig {
    HubConfig {
        offline: true,
        progress: false,
        ..HubConfig::new(cache)
    }
}

/// Lays out `repo` in the hub cache as hf-hub and huggingface_hub do: the content in
/// `blobs/<sha256>`, snapshot entries linking to it, and `refs/<branch>` naming the commit
/// unless the revision is itself a commit. Returns the snapshot directory.
fn cache_repo(cache: &Path, repo: &str, revision: &str, files: &[(&str, &Path)]) -> PathBuf {
    let repo_dir = cache.join(format!("models--{}", repo.replace('/', "--")));
    let commit = if revision.len() == 40 { revision } else { COMMIT };
    if commit != revision {
        std::fs::create_dir_all(repo_dir.join("refs")).unwrap();
        std::fs::write(repo_dir.join("refs").join(revision), commit).unwrap();
    }
    let snapshot = repo_dir.join("snapshots").join(commit);
    std::fs::create_dir_all(&snapshot).unwrap();
    std::fs::create_dir_all(repo_dir.join("blobs")).unwrap();
    for (name, source) in files {
        let sha = hub::sha256_file(source, name, false).unwrap();
        std::fs::copy(source, repo_dir.join("blobs").join(&sha)).unwrap();
        std::os::unix::fs::symlink(Path::new("../../blobs").join(&sha), snapshot.join(name)).unwrap();
    }
    snapshot
}

fn cache_fixture(cache: &Path, repo: &str, revision: &str) -> PathBuf {
    let fixture = fixture_dir();
    let files: Vec<(&str, PathBuf)> = FILES.iter().map(|f| (*f, fixture.join(f))).collect();
    let files: Vec<(&str, &Path)> = files.iter().map(|(n, p)| (*n, p.as_path())).collect();
    cache_repo(cache, repo, revision, &files)
}

/// Overwrites the first byte of a cached file's content in place (size unchanged).
fn corrupt(path: &Path) {
    let target = std::fs::canonicalize(path).unwrap();
    let mut bytes = std::fs::read(&target).unwrap();
    bytes[0] ^= 0xff;
    std::fs::write(&target, bytes).unwrap();
}

fn status<'a>(report: &'a hub::VerifyReport, name: &str) -> &'a FileStatus {
    &report.files.iter().find(|f| f.name == name).unwrap().status
}

#[test]
fn resolution_finds_the_cached_snapshot_and_uses_manifest_generation_settings() {
    let cache = tempfile::tempdir().unwrap();
    let snapshot = cache_fixture(cache.path(), "newsgist-test/bart-tiny", "main");
    let entry = test_entry("main", true);
    let hub = offline(cache.path());
    assert_eq!(hub::resolve(&entry, &hub).unwrap(), snapshot);
    let profile = entry.to_profile(&snapshot).unwrap();
    assert_eq!(profile.architecture, Architecture::Bart);
    assert_eq!(profile.dir, snapshot);
    // The fixture's own config says 4 beams and max_length 40: the manifest wins.
    assert_eq!((profile.generation.num_beams, profile.generation.max_length), (2, 60));
    assert_eq!(profile.max_input_tokens, 128);
    assert_eq!(hub::cache_state(&entry, &hub), CacheState::Cached(snapshot));
}

#[test]
fn a_real_profile_resolves_from_a_cache_laid_out_by_huggingface_hub() {
    let cache = tempfile::tempdir().unwrap();
    let snapshot = cache_fixture(cache.path(), "facebook/bart-large-cnn", "main");
    let hub = offline(cache.path());
    let profile = hub::load_profile(Some("bart-large-cnn"), &hub).unwrap();
    assert_eq!(profile.name, "bart-large-cnn");
    assert_eq!(profile.dir, snapshot);
    let g = &profile.generation;
    assert_eq!(
        (g.num_beams, g.min_length, g.max_length, g.length_penalty),
        (4, 56, 142, 2.0)
    );
    // The default profile is the same one.
    assert_eq!(hub::load_profile(None, &hub).unwrap().dir, snapshot);
    let listed = hub::list(&hub);
    let bart = listed.iter().find(|p| p.name == "bart-large-cnn").unwrap();
    assert!(bart.is_default);
    assert_eq!(bart.state, CacheState::Cached(snapshot));
    let t5 = listed.iter().find(|p| p.name == "t5-small").unwrap();
    assert_eq!(t5.state, CacheState::NotCached);
    assert!(t5.to_string().contains("newsgist models fetch t5-small"), "{t5}");
}

#[test]
fn a_pinned_revision_is_found_by_commit_without_a_ref() {
    let cache = tempfile::tempdir().unwrap();
    let pinned = "89abcdef0123456789abcdef0123456789abcdef";
    let snapshot = cache_fixture(cache.path(), "newsgist-test/bart-tiny", pinned);
    let entry = test_entry(pinned, true);
    assert_eq!(hub::resolve(&entry, &offline(cache.path())).unwrap(), snapshot);
    // A cached "main" is not the pinned commit.
    let other = tempfile::tempdir().unwrap();
    cache_fixture(other.path(), "newsgist-test/bart-tiny", "main");
    assert!(hub::resolve(&entry, &offline(other.path())).is_err());
}

#[test]
fn a_missing_profile_says_what_to_run_and_where_it_looked() {
    let cache = tempfile::tempdir().unwrap();
    let entry = test_entry("main", true);
    let err = hub::resolve(&entry, &offline(cache.path())).unwrap_err();
    assert!(matches!(err, HubError::NotCached { .. }), "{err:?}");
    let text = err.to_string();
    for needle in [
        "newsgist models fetch bart-tiny",
        "--model-dir DIR",
        "newsgist-test/bart-tiny",
        &cache
            .path()
            .join("models--newsgist-test--bart-tiny")
            .display()
            .to_string(),
    ] {
        assert!(text.contains(needle), "{needle:?} not in: {text}");
    }
    let err = hub::load_profile(Some("t5-small"), &offline(cache.path()))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("newsgist models fetch t5-small") && err.contains("--model-dir"),
        "{err}"
    );
    let err = hub::load_profile(Some("no-such-model"), &offline(cache.path()))
        .unwrap_err()
        .to_string();
    assert!(err.contains("no-such-model") && err.contains("bart-large-cnn"), "{err}");
}

#[test]
fn a_partly_cached_profile_names_the_missing_file() {
    let cache = tempfile::tempdir().unwrap();
    let snapshot = cache_fixture(cache.path(), "newsgist-test/bart-tiny", "main");
    std::fs::remove_file(snapshot.join("merges.txt")).unwrap();
    let entry = test_entry("main", true);
    let hub = offline(cache.path());
    let err = hub::resolve(&entry, &hub).unwrap_err().to_string();
    assert!(
        err.contains("missing merges.txt") && err.contains("newsgist models fetch bart-tiny"),
        "{err}"
    );
    assert_eq!(
        hub::cache_state(&entry, &hub),
        CacheState::Partial {
            dir: snapshot,
            missing: vec!["merges.txt".into()]
        }
    );
}

#[test]
fn offline_fetch_of_an_uncached_profile_fails_without_touching_the_network() {
    let cache = tempfile::tempdir().unwrap();
    // The endpoint records and drops every connection, so a network attempt shows up here
    // (and fails fast instead of waiting for an answer).
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let connections = Arc::new(Mutex::new(0usize));
    let counter = connections.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            *counter.lock().unwrap() += 1;
            drop(stream);
        }
    });
    let hub = HubConfig {
        endpoint,
        ..offline(cache.path())
    };
    let err = hub::fetch(&test_entry("main", true), &hub).unwrap_err();
    assert_eq!(
        *connections.lock().unwrap(),
        0,
        "offline fetch connected to the endpoint"
    );
    assert!(matches!(err, HubError::Offline { .. }), "{err:?}");
    let text = err.to_string();
    for needle in [
        "HF_HUB_OFFLINE",
        "newsgist models fetch bart-tiny",
        "--model-dir",
        "config.json",
    ] {
        assert!(text.contains(needle), "{needle:?} not in: {text}");
    }
    assert_eq!(
        std::fs::read_dir(cache.path()).unwrap().count(),
        0,
        "offline fetch wrote to the cache"
    );
}

#[test]
fn offline_fetch_of_a_cached_profile_verifies_it() {
    let cache = tempfile::tempdir().unwrap();
    let snapshot = cache_fixture(cache.path(), "newsgist-test/bart-tiny", "main");
    let report = hub::fetch(&test_entry("main", true), &offline(cache.path())).unwrap();
    assert!(report.is_ready(), "{report}");
    assert!(report.downloaded.is_empty());
    assert_eq!(report.cached, FILES);
    assert_eq!(report.dir, snapshot);
}

#[test]
fn verify_passes_an_intact_cache() {
    let cache = tempfile::tempdir().unwrap();
    cache_fixture(cache.path(), "newsgist-test/bart-tiny", "main");
    let report = hub::verify(&test_entry("main", true), &offline(cache.path())).unwrap();
    assert!(report.is_ok(), "{report}");
    for file in FILES {
        assert_eq!(status(&report, file), &FileStatus::Ok(Checked::ManifestSha256));
    }
    // The optional file the fixture cache lacks is reported but is no problem.
    assert_eq!(status(&report, "generation_config.json"), &FileStatus::Missing);
    assert!(report.to_string().ends_with("bart-tiny: verified"), "{report}");
}

#[test]
fn verify_detects_a_corrupted_file() {
    let cache = tempfile::tempdir().unwrap();
    let snapshot = cache_fixture(cache.path(), "newsgist-test/bart-tiny", "main");
    corrupt(&snapshot.join("vocab.json"));
    let report = hub::verify(&test_entry("main", true), &offline(cache.path())).unwrap();
    assert!(!report.is_ok());
    let expected = fixture_sums()["vocab.json"].1.clone();
    assert!(
        matches!(status(&report, "vocab.json"), FileStatus::ChecksumMismatch { expected: e, actual } if *e == expected && *actual != expected),
        "{report}"
    );
    assert_eq!(status(&report, "config.json"), &FileStatus::Ok(Checked::ManifestSha256));
    let text = report.to_string();
    assert!(
        text.contains("FAIL vocab.json") && text.contains("newsgist models fetch bart-tiny"),
        "{text}"
    );
}

#[test]
fn verify_detects_a_missing_and_a_truncated_file() {
    let cache = tempfile::tempdir().unwrap();
    let snapshot = cache_fixture(cache.path(), "newsgist-test/bart-tiny", "main");
    std::fs::remove_file(snapshot.join("merges.txt")).unwrap();
    let weights = std::fs::canonicalize(snapshot.join("model.safetensors")).unwrap();
    let size = std::fs::metadata(&weights).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&weights)
        .unwrap()
        .set_len(size / 2)
        .unwrap();
    let report = hub::verify(&test_entry("main", true), &offline(cache.path())).unwrap();
    assert!(!report.is_ok());
    assert_eq!(status(&report, "merges.txt"), &FileStatus::Missing);
    assert_eq!(
        status(&report, "model.safetensors"),
        &FileStatus::SizeMismatch {
            expected: size,
            actual: size / 2
        }
    );
}

#[test]
fn without_manifest_checksums_verify_uses_the_hub_published_sha256() {
    let cache = tempfile::tempdir().unwrap();
    let snapshot = cache_fixture(cache.path(), "newsgist-test/bart-tiny", "main");
    let entry = test_entry("main", false);
    let hub = offline(cache.path());
    let report = hub::verify(&entry, &hub).unwrap();
    assert!(report.is_ok(), "{report}");
    assert_eq!(
        status(&report, "model.safetensors"),
        &FileStatus::Ok(Checked::HubSha256)
    );
    corrupt(&snapshot.join("model.safetensors"));
    let report = hub::verify(&entry, &hub).unwrap();
    assert!(
        matches!(
            status(&report, "model.safetensors"),
            FileStatus::ChecksumMismatch { .. }
        ),
        "{report}"
    );
    // A plain copy (no blob link) can only be checked for presence.
    let plain = snapshot.join("config.json");
    let content = std::fs::read(&plain).unwrap();
    std::fs::remove_file(&plain).unwrap();
    std::fs::write(&plain, content).unwrap();
    let report = hub::verify(&entry, &hub).unwrap();
    assert_eq!(status(&report, "config.json"), &FileStatus::Ok(Checked::Presence));
}

#[test]
fn a_pytorch_only_profile_asks_for_conversion() {
    let cache = tempfile::tempdir().unwrap();
    let fixture = fixture_dir();
    // distilbart ships pytorch_model.bin only; any bytes stand in for it here.
    let files = [
        ("config.json", fixture.join("config.json")),
        ("pytorch_model.bin", fixture.join("model.safetensors")),
        ("vocab.json", fixture.join("vocab.json")),
        ("merges.txt", fixture.join("merges.txt")),
    ];
    let files: Vec<(&str, &Path)> = files.iter().map(|(n, p)| (*n, p.as_path())).collect();
    let snapshot = cache_repo(cache.path(), "sshleifer/distilbart-cnn-12-6", "main", &files);
    let hub = offline(cache.path());
    let entry = manifest().get("distilbart-cnn-12-6").unwrap();
    let err = hub::resolve(entry, &hub).unwrap_err();
    let HubError::NeedsConversion { command, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(command.contains("convert_to_safetensors.py") && command.contains(&snapshot.display().to_string()));
    assert_eq!(
        hub::cache_state(entry, &hub),
        CacheState::NeedsConversion(snapshot.clone())
    );
    let report = hub::verify(entry, &hub).unwrap();
    assert!(
        matches!(status(&report, "model.safetensors"), FileStatus::NotConverted { .. }),
        "{report}"
    );
    assert!(report.to_string().contains("convert the weights"), "{report}");
    // After conversion (here: the fixture's safetensors) it resolves and verifies.
    std::fs::copy(fixture.join("model.safetensors"), snapshot.join("model.safetensors")).unwrap();
    assert_eq!(hub::resolve(entry, &hub).unwrap(), snapshot);
    let report = hub::verify(entry, &hub).unwrap();
    assert_eq!(
        status(&report, "model.safetensors"),
        &FileStatus::Ok(Checked::SafetensorsHeader)
    );
    assert!(report.is_ok(), "{report}");
}

/// A minimal HTTP/1.1 server for `/<repo>/resolve/<revision>/<file>` with range requests, as
/// the hub answers them: ETag is the content's SHA-256 (as for LFS files), X-Repo-Commit the
/// commit. `served` counts requests per file name.
struct MockHub {
    endpoint: String,
    served: Arc<Mutex<HashMap<String, usize>>>,
}

fn mock_hub(repo: &str, files: HashMap<String, Vec<u8>>) -> MockHub {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let served = Arc::new(Mutex::new(HashMap::new()));
    let counts = served.clone();
    let prefix = format!("/{repo}/resolve/");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            answer(stream, &prefix, &files, &counts);
        }
    });
    MockHub { endpoint, served }
}

fn answer(
    mut stream: TcpStream,
    prefix: &str,
    files: &HashMap<String, Vec<u8>>,
    served: &Mutex<HashMap<String, usize>>,
) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request = String::new();
    reader.read_line(&mut request).unwrap();
    let mut range_start = 0usize;
    let mut range_end = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
            break;
        }
        if let Some(range) = line.to_ascii_lowercase().strip_prefix("range: bytes=") {
            let (start, end) = range.trim().split_once('-').unwrap();
            range_start = start.parse().unwrap();
            range_end = end.parse::<usize>().ok();
        }
    }
    let path = request.split_whitespace().nth(1).unwrap_or("");
    let file = path
        .strip_prefix(prefix)
        .and_then(|rest| rest.split_once('/'))
        .map(|(_, file)| file.to_string());
    let content = file.as_ref().and_then(|f| files.get(f));
    *served
        .lock()
        .unwrap()
        .entry(file.clone().unwrap_or_default())
        .or_default() += 1;
    let response = match content {
        None => b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_vec(),
        Some(content) => {
            let end = range_end.unwrap_or(content.len() - 1).min(content.len() - 1);
            let body = &content[range_start.min(end)..=end];
            let sha = sha256_hex(content);
            let mut r = format!(
                "HTTP/1.1 206 Partial Content\r\netag: \"{sha}\"\r\nx-repo-commit: {COMMIT}\r\n\
                 content-range: bytes {range_start}-{end}/{}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                content.len(),
                body.len()
            )
            .into_bytes();
            r.extend_from_slice(body);
            r
        }
    };
    let _ = stream.write_all(&response);
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn fixture_files() -> HashMap<String, Vec<u8>> {
    FILES
        .iter()
        .map(|f| (f.to_string(), std::fs::read(fixture_dir().join(f)).unwrap()))
        .collect()
}

/// ureq reads proxy settings from the environment and has no NO_PROXY support, so requests to
/// the local server would go to the proxy.
fn proxy_in_environment() -> bool {
    let proxied = [
        "ALL_PROXY",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "all_proxy",
        "http_proxy",
        "https_proxy",
    ]
    .iter()
    .any(|k| std::env::var_os(k).is_some_and(|v| !v.is_empty()));
    if proxied {
        eprintln!(
            "skipped: a proxy is configured in the environment and ureq would route the local mock hub through it"
        );
    }
    proxied
}

#[test]
fn fetch_downloads_into_the_standard_layout_and_verifies() {
    if proxy_in_environment() {
        return;
    }
    let server = mock_hub("newsgist-test/bart-tiny", fixture_files());
    let cache = tempfile::tempdir().unwrap();
    let hub = HubConfig {
        endpoint: server.endpoint.clone(),
        progress: false,
        ..HubConfig::new(cache.path())
    };
    let entry = test_entry("main", true);
    let report = hub::fetch(&entry, &hub).unwrap();
    assert!(report.is_ready(), "{report}");
    assert_eq!(report.downloaded, FILES);
    assert_eq!(report.absent_optional, ["generation_config.json"]);
    let repo_dir = cache.path().join("models--newsgist-test--bart-tiny");
    assert_eq!(std::fs::read_to_string(repo_dir.join("refs/main")).unwrap(), COMMIT);
    assert_eq!(report.dir, repo_dir.join("snapshots").join(COMMIT));
    assert_eq!(hub::resolve(&entry, &offline(cache.path())).unwrap(), report.dir);
    assert!(report.to_string().contains("--model bart-tiny"), "{report}");

    // A second fetch finds everything cached and downloads nothing.
    let before = server.served.lock().unwrap().clone();
    let again = hub::fetch(&entry, &hub).unwrap();
    assert!(again.downloaded.is_empty() && again.cached == FILES, "{again}");
    let after = server.served.lock().unwrap().clone();
    assert_eq!(before.get("vocab.json"), after.get("vocab.json"));

    // A corrupted cached file is downloaded again.
    corrupt(&report.dir.join("vocab.json"));
    let repaired = hub::fetch(&entry, &hub).unwrap();
    assert_eq!(repaired.downloaded, ["vocab.json"]);
    assert!(repaired.is_ready(), "{repaired}");
}

#[test]
fn fetch_rejects_and_deletes_a_download_that_does_not_match_the_manifest() {
    if proxy_in_environment() {
        return;
    }
    let mut files = fixture_files();
    files.get_mut("merges.txt").unwrap()[0] ^= 0xff;
    let server = mock_hub("newsgist-test/bart-tiny", files);
    let cache = tempfile::tempdir().unwrap();
    let hub = HubConfig {
        endpoint: server.endpoint,
        progress: false,
        ..HubConfig::new(cache.path())
    };
    let err = hub::fetch(&test_entry("main", true), &hub).unwrap_err();
    let HubError::Damaged { file, problem, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(file, "merges.txt");
    assert!(matches!(problem, FileStatus::ChecksumMismatch { .. }));
    assert!(err.to_string().contains("newsgist models fetch bart-tiny"), "{err}");
    let snapshot = cache
        .path()
        .join("models--newsgist-test--bart-tiny/snapshots")
        .join(COMMIT);
    assert!(!snapshot.join("merges.txt").exists(), "the damaged file was kept");
}

#[test]
fn fetch_reports_an_unreachable_hub_with_the_url_and_what_to_do() {
    if proxy_in_environment() {
        return;
    }
    // Bind and drop a listener: its port then refuses connections.
    let endpoint = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let cache = tempfile::tempdir().unwrap();
    let hub = HubConfig {
        endpoint: endpoint.clone(),
        progress: false,
        ..HubConfig::new(cache.path())
    };
    let err = hub::fetch(&test_entry("main", true), &hub).unwrap_err();
    assert!(matches!(err, HubError::Download { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains(&endpoint) && text.contains("HF_ENDPOINT") && text.contains("newsgist models fetch bart-tiny"),
        "{text}"
    );
}

/// The Python venv with torch and transformers that `make setup` installs.
fn python() -> Option<&'static str> {
    let python = option_env!("NEWSGIST_PYTHON")?;
    if Path::new(python).is_file() {
        Some(python)
    } else {
        eprintln!("skipped: {python} (NEWSGIST_PYTHON) does not exist; `make setup` installs it");
        None
    }
}

#[test]
fn the_printed_conversion_command_writes_what_save_pretrained_would() {
    let Some(python) = python() else { return };
    let cache = tempfile::tempdir().unwrap();
    let fixture = fixture_dir();
    // A pytorch-only copy of the fixture as old checkpoints are stored: tied copies left out.
    let pickled = cache.path().join("pickled");
    let prepare = r#"
import sys, torch
from transformers import AutoModelForSeq2SeqLM
model = AutoModelForSeq2SeqLM.from_pretrained(sys.argv[1], local_files_only=True)
state = {k: v for k, v in model.state_dict().items() if not (k.endswith("embed_tokens.weight") or k == "lm_head.weight")}
assert len(state) < len(model.state_dict())
model.config.to_json_file(f"{sys.argv[2]}/config.json")
torch.save(state, f"{sys.argv[2]}/pytorch_model.bin")
"#;
    std::fs::create_dir(&pickled).unwrap();
    let out = std::process::Command::new(python)
        .args(["-c", prepare])
        .arg(&fixture)
        .arg(&pickled)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let files = [
        ("config.json", pickled.join("config.json")),
        ("pytorch_model.bin", pickled.join("pytorch_model.bin")),
        ("vocab.json", fixture.join("vocab.json")),
        ("merges.txt", fixture.join("merges.txt")),
    ];
    let files: Vec<(&str, &Path)> = files.iter().map(|(n, p)| (*n, p.as_path())).collect();
    let snapshot = cache_repo(cache.path(), "sshleifer/distilbart-cnn-6-6", "main", &files);
    let hub = offline(cache.path());
    let entry = manifest().get("distilbart-cnn-6-6").unwrap();
    let HubError::NeedsConversion { command, .. } = hub::resolve(entry, &hub).unwrap_err() else {
        panic!("expected a conversion request")
    };
    let out = std::process::Command::new("sh")
        .args(["-c", &command])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{command}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(hub::resolve(entry, &hub).unwrap(), snapshot);
    assert!(hub::verify(entry, &hub).unwrap().is_ok());
    let compare = r#"
import sys
from safetensors.torch import load_file
a, b = load_file(sys.argv[1]), load_file(sys.argv[2])
assert set(a) == set(b), set(a) ^ set(b)
assert all(a[k].equal(b[k]) for k in a), [k for k in a if not a[k].equal(b[k])]
"#;
    let out = std::process::Command::new(python)
        .args(["-c", compare])
        .arg(snapshot.join("model.safetensors"))
        .arg(fixture.join("model.safetensors"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
