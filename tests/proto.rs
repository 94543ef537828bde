//! API hygiene, with the buf that `make setup` installs (`NEWSGIST_BUF`): `buf lint` passes
//! on proto/ (STANDARD rules, the exceptions of buf.yaml), and `buf breaking` finds v1
//! compatible with the released baseline (proto/baseline/, FILE rules), so that changes to
//! newsgist.v1 stay additive. The other tests show that each check fails when it should, on a
//! copy of proto/ with a renumbered field or a badly named one, and that the lint exceptions
//! cover exactly the cases buf.yaml names.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use serde_json::Value;

const V1: &str = "proto/newsgist/v1/newsgist.proto";
const BASELINE: &str = "proto/baseline";
/// buf's exit status when the check ran and reported problems (1 is a failure to run).
const FOUND_ISSUES: i32 = 100;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// What one buf run reported: exit status, and the issues as (rule, message) pairs.
struct Report {
    status: Option<i32>,
    issues: Vec<(String, String)>,
    text: String,
}

impl Report {
    fn rules(&self) -> Vec<&str> {
        self.issues.iter().map(|(rule, _)| rule.as_str()).collect()
    }
}

/// Runs `buf ARGS --error-format json` in `dir`, the root of a buf workspace.
fn buf(dir: &Path, args: &[&str]) -> Report {
    let buf = std::env::var("NEWSGIST_BUF").expect("NEWSGIST_BUF is set by scripts/setup.sh");
    let output = Command::new(&buf)
        .args(args)
        .args(["--error-format", "json"])
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("running {buf}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let text = format!(
        "buf {}\nstdout:\n{stdout}\nstderr:\n{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    let issues = stdout
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let issue: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}\n{text}"));
            (
                issue["type"].as_str().unwrap_or_default().to_owned(),
                issue["message"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    Report {
        status: output.status.code(),
        issues,
        text,
    }
}

fn lint(dir: &Path) -> Report {
    buf(dir, &["lint"])
}

fn breaking(dir: &Path) -> Report {
    buf(dir, &["breaking", "--against", BASELINE])
}

fn assert_passes(report: &Report) {
    assert!(
        report.status == Some(0) && report.issues.is_empty(),
        "expected no issues:\n{}",
        report.text
    );
}

fn assert_fails_with(report: &Report, rule: &str, needle: &str) {
    assert_eq!(report.status, Some(FOUND_ISSUES), "expected issues:\n{}", report.text);
    assert!(
        report
            .issues
            .iter()
            .any(|(r, message)| r == rule && message.contains(needle)),
        "expected {rule} about {needle}:\n{}",
        report.text
    );
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let (from, to) = (entry.path(), to.join(entry.file_name()));
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&from, &to);
        } else {
            fs::copy(&from, &to).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
        }
    }
}

/// A copy of the buf workspace (buf.yaml and proto/, the baseline included) in a temporary
/// directory, with `edit` applied to its v1 proto.
fn workspace_with(edit: impl FnOnce(&str) -> String) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::copy(repo().join("buf.yaml"), dir.path().join("buf.yaml")).unwrap();
    copy_dir(&repo().join("proto"), &dir.path().join("proto"));
    let proto = dir.path().join(V1);
    let before = fs::read_to_string(&proto).unwrap();
    let after = edit(&before);
    assert_ne!(before, after, "the edit changed nothing");
    fs::write(&proto, after).unwrap();
    dir
}

/// `text` with `from` (which must occur exactly once) replaced by `to`.
fn replace_once(text: &str, from: &str, to: &str) -> String {
    assert_eq!(text.matches(from).count(), 1, "{from:?} occurs once in {V1}");
    text.replacen(from, to, 1)
}

#[test]
fn lint_passes() {
    assert_passes(&lint(&repo()));
}

#[test]
fn v1_is_compatible_with_the_baseline() {
    assert_passes(&breaking(&repo()));
}

/// Renumbering a field keeps every name (lint has nothing to say) but breaks the wire.
#[test]
fn breaking_catches_a_renumbered_field() {
    let dir = workspace_with(|proto| replace_once(proto, "string body = 3;", "string body = 7;"));
    assert_fails_with(
        &breaking(dir.path()),
        "FIELD_NO_DELETE",
        "field \"3\" with name \"body\"",
    );
    assert_passes(&lint(dir.path()));
}

/// A new field is an additive change (breaking passes) that lint refuses for its name.
#[test]
fn lint_catches_a_bad_field_name() {
    let dir = workspace_with(|proto| {
        replace_once(
            proto,
            "  string language = 6;\n",
            "  string language = 6;\n  string sourceURL = 7;\n",
        )
    });
    let report = lint(dir.path());
    assert_fails_with(&report, "FIELD_LOWER_SNAKE_CASE", "sourceURL");
    assert_eq!(
        report.rules(),
        ["FIELD_LOWER_SNAKE_CASE"],
        "the exceptions still apply:\n{}",
        report.text
    );
    assert_passes(&breaking(dir.path()));
}

/// The exceptions are file-wide (buf.yaml's ignore_only); without them lint reports exactly
/// the one case they are for (SummarizeStream takes Summarize's SummarizeRequest), so another
/// RPC sharing or misnaming its request type would fail lint_passes.
#[test]
fn lint_exceptions_cover_only_summarize_stream() {
    // buf.yaml without its lint section: the module, STANDARD rules, no exceptions.
    let standard = r#"{"version": "v2", "modules": [{"path": "proto", "excludes": ["proto/baseline"]}], "lint": {"use": ["STANDARD"]}}"#;
    let report = buf(&repo(), &["lint", "--config", standard]);
    assert_eq!(report.status, Some(FOUND_ISSUES), "{}", report.text);
    let shared = "\"newsgist.v1.SummarizeRequest\" is used as the request or response type for multiple RPCs.";
    let misnamed = "RPC request type \"SummarizeRequest\" should be named \"SummarizeStreamRequest\" or \"SummarizerServiceSummarizeStreamRequest\".";
    let mut issues = report.issues.clone();
    issues.sort();
    let expected = [
        ("RPC_REQUEST_RESPONSE_UNIQUE", shared), // Summarize
        ("RPC_REQUEST_RESPONSE_UNIQUE", shared), // SummarizeStream
        ("RPC_REQUEST_STANDARD_NAME", misnamed),
    ]
    .map(|(rule, message)| (rule.to_owned(), message.to_owned()));
    assert_eq!(issues, expected, "{}", report.text);
}
