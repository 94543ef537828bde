//! The `newsgist` binary on real files: summarize and batch, including bad input.

mod common;

use std::{path::Path, process::Command};

fn newsgist() -> Command {
    Command::new(env!("CARGO_BIN_EXE_newsgist"))
}

/// Runs `newsgist batch` from `input` to `output` with `flags`.
fn batch(input: &Path, output: &Path, flags: &[&str]) -> std::process::Output {
    newsgist()
        .args([
            "batch",
            "--input",
            input.to_str().unwrap(),
            "--output",
            output.to_str().unwrap(),
        ])
        .args(flags)
        .output()
        .unwrap()
}

#[test]
fn summarize_prints_json_with_the_requested_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("article.txt");
    std::fs::write(&path, common::ARTICLE_BODY).unwrap();
    let output = newsgist()
        .args([
            "summarize",
            path.to_str().unwrap(),
            "--format",
            "json",
            "--sentences",
            "2",
            "--published-at",
            "2024-06-19",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["extractive"]["sentences"].as_array().unwrap().len(), 2);
    assert_eq!(json["extractive"]["text"].as_str().unwrap().lines().count(), 2);
    assert!(json["key_facts"].is_array());
    assert!(json.get("abstractive").is_none());
}

#[test]
fn summarize_refuses_invalid_utf8_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latin1.txt");
    std::fs::write(&path, b"Caf\xe9 owners protest.").unwrap();
    let output = newsgist().args(["summarize", path.to_str().unwrap()]).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("not valid UTF-8") && stderr.contains("offset 3"),
        "{stderr}"
    );
}

#[test]
fn batch_writes_one_row_per_article_in_order_and_keeps_bad_lines_as_errors() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.jsonl");
    let output_path = dir.path().join("out.jsonl");
    let good = |id: &str| {
        serde_json::json!({"id": id, "title": common::ARTICLE_TITLE, "body": common::ARTICLE_BODY, "published_at": "2024-06-19"})
            .to_string()
    };
    let mut bytes = Vec::new();
    for line in [
        good("a"),
        r#"{"id": "empty", "body": ""}"#.to_string(),
        "not json".to_string(),
        good("d"),
    ] {
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
    }
    bytes.extend_from_slice(b"{\"id\": \"bad-utf8\", \"body\": \"caf\xe9\"}\n");
    std::fs::write(&input, bytes).unwrap();

    let status = batch(&input, &output_path, &["--ratio", "0.4"]);
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    let stderr = String::from_utf8_lossy(&status.stderr);
    assert!(
        stderr.contains("2 articles summarised, 3 failed") && stderr.contains("articles/s"),
        "{stderr}"
    );

    let rows: Vec<serde_json::Value> = std::fs::read_to_string(&output_path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 5, "nothing is lost");
    assert_eq!(rows[0]["id"], "a");
    assert_eq!(
        rows[0]["extractive"]["sentences"].as_array().unwrap().len(),
        3,
        "40% of 7 sentences, rounded"
    );
    assert!(rows[0]["key_facts"].is_array());
    assert_eq!(rows[1]["id"], "empty");
    assert_eq!(rows[1]["error"]["code"], "INVALID_ARGUMENT");
    assert_eq!(rows[2]["line"], 3);
    assert!(rows[2]["error"]["message"]
        .as_str()
        .unwrap()
        .contains("not a JSON article"));
    assert_eq!(rows[3]["id"], "d");
    assert!(rows[4]["error"]["message"].as_str().unwrap().contains("UTF-8"));
}

#[test]
fn bad_settings_stop_start_up_with_a_message() {
    let output = newsgist().args(["summarize", "-", "--workers", "0"]).output().unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--workers must be at least 1"));
}

#[test]
fn batch_rows_name_the_code_of_each_failure() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.jsonl");
    let output_path = dir.path().join("out.jsonl");
    let line = serde_json::json!({"id": 7, "body": common::ARTICLE_BODY}).to_string();
    std::fs::write(&input, format!("{line}\n")).unwrap();
    let status = batch(&input, &output_path, &["--outputs", "abstractive"]);
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    let row: serde_json::Value = serde_json::from_str(std::fs::read_to_string(&output_path).unwrap().trim()).unwrap();
    assert_eq!(row["id"], "7", "numeric ids become strings");
    assert_eq!(row["error"]["code"], "FAILED_PRECONDITION", "{row}");
    let expected = if cfg!(feature = "torch") {
        "--model-dir"
    } else {
        "without the `torch` feature"
    };
    assert!(row["error"]["message"].as_str().unwrap().contains(expected), "{row}");
}

#[cfg(not(feature = "torch"))]
#[test]
fn a_lean_binary_refuses_model_flags_and_says_why() {
    let output = newsgist()
        .args(["serve", "--model-dir", "/models/bart", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--model-dir needs libtorch models") && stderr.contains("without the `torch` feature"),
        "{stderr}"
    );
}

#[cfg(not(feature = "parquet"))]
#[test]
fn a_build_without_parquet_refuses_parquet_archives_before_writing() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.jsonl");
    std::fs::write(&input, format!("{{\"id\": 1, \"body\": {:?}}}\n", common::ARTICLE_BODY)).unwrap();
    let output_path = dir.path().join("out.parquet");
    let status = batch(&input, &output_path, &[]);
    assert_eq!(status.status.code(), Some(2), "a command that cannot work as given");
    let stderr = String::from_utf8_lossy(&status.stderr);
    assert!(stderr.contains("without the `parquet` feature"), "{stderr}");
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["in.jsonl"], "nothing written");
}
