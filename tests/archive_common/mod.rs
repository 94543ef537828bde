//! Shared by tests/archive_job.rs and tests/archive_resume.rs: archive input (the BBC archive
//! of ../shared when present, else synthetic articles), the `newsgist` binary, and reading
//! batch output back with the run-dependent `timings` removed.
#![allow(dead_code)] // each test binary uses a different part of this module

use std::{
    io::BufRead,
    path::{Path, PathBuf},
    process::{Command, Output},
};

use serde_json::Value;

/// `newsgist` with JOB_COMPLETION_INDEX removed, so that the environment the tests run in
/// cannot pick a shard for them.
pub fn newsgist() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_newsgist"));
    command.env_remove("JOB_COMPLETION_INDEX");
    command
}

pub fn batch_command(input: &Path, output: &Path, flags: &[&str]) -> Command {
    let mut command = newsgist();
    command
        .arg("batch")
        .arg("--input")
        .arg(input)
        .arg("--output")
        .arg(output)
        .args(flags);
    command
}

pub fn run(command: &mut Command) -> Output {
    command.output().unwrap()
}

pub fn describe(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

pub fn assert_success(output: &Output) {
    assert!(output.status.success(), "{}", describe(output));
}

/// The one JSON line a finished batch prints on stdout, its fields checked.
pub fn summary(output: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = stdout.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one JSON line on stdout: {}", describe(output));
    let json: Value = serde_json::from_str(lines[0]).unwrap_or_else(|e| panic!("{e}: {}", lines[0]));
    for key in ["rows", "failed"] {
        assert!(json[key].is_u64(), "{key} in {json}");
    }
    for key in ["seconds", "rows_per_second"] {
        assert!(json[key].is_number(), "{key} in {json}");
    }
    assert!(json["output"].is_string(), "output in {json}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("articles summarised") && stderr.contains("articles/s"),
        "the human line on stderr: {stderr}"
    );
    json
}

/// The contract leaves open whether `rows` counts the failed rows too: true when `json` says
/// `total` rows were done of which `failed` failed, either way.
pub fn accounts_for(json: &Value, total: usize, failed: usize) -> bool {
    let rows = json["rows"].as_u64().unwrap() as usize;
    json["failed"].as_u64().unwrap() as usize == failed && (rows == total || rows + failed == total)
}

pub fn shared_archive() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/archive/bbc-2225.jsonl")
}

/// `n` article lines: the first `n` of the BBC archive when ../shared has it (as many as
/// there are, repeated with fresh ids when it has fewer), else synthetic ones. Prints which.
pub fn articles(n: usize) -> Vec<Vec<u8>> {
    let path = shared_archive();
    if let Ok(file) = std::fs::File::open(&path) {
        let base: Vec<Value> = std::io::BufReader::new(file)
            .lines()
            .map(|l| l.unwrap())
            .filter(|l| !l.trim().is_empty())
            .take(n)
            .map(|l| serde_json::from_str(&l).unwrap())
            .collect();
        if !base.is_empty() {
            println!("input: first {} articles of {}", n.min(base.len()), path.display());
            return (0..n)
                .map(|i| {
                    let mut article = base[i % base.len()].clone();
                    if i >= base.len() {
                        article["id"] = Value::from(format!("{}-r{}", article["id"].as_str().unwrap(), i / base.len()));
                    }
                    article.to_string().into_bytes()
                })
                .collect();
        }
    }
    println!("input: {} synthetic articles ({} not found)", n, path.display());
    synthetic(n)
}

/// Deterministic made-up news articles with dates, places and people, 6 to 14 sentences each.
pub fn synthetic(n: usize) -> Vec<Vec<u8>> {
    const WHO: &[&str] = &[
        "The city council",
        "Mayor Jane Okafor",
        "The transport minister",
        "A group of residents",
        "The central bank",
        "Acme Industries",
        "The university",
        "Opposition leader Tom Brandt",
    ];
    const DID: &[&str] = &[
        "approved a new tram line",
        "announced a budget of 400 million dollars",
        "opened an inquiry into the delays",
        "raised interest rates by a quarter point",
        "cut 1,200 jobs",
        "signed an agreement with the unions",
        "rejected the proposal",
        "published its annual report",
    ];
    const WHERE: &[&str] = &[
        "in Riverside",
        "in Lyon",
        "in Nairobi",
        "in Osaka",
        "in Lima",
        "in Leeds",
    ];
    const WHEN: &[&str] = &[
        "on Tuesday",
        "last week",
        "on 3 March 2021",
        "in January",
        "on Friday evening",
        "earlier this year",
    ];
    const WHY: &[&str] = &[
        "after a year of debate",
        "despite strong opposition",
        "to reduce traffic in the old town",
        "as inflation stayed high",
        "following a court ruling",
        "citing falling demand",
    ];
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |m: usize| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((state >> 33) as usize) % m
    };
    (0..n)
        .map(|i| {
            let sentences = 6 + next(9);
            let mut body = Vec::new();
            for s in 0..sentences {
                body.push(format!(
                    "{} {} {} {} {}.",
                    WHO[next(WHO.len())],
                    DID[next(DID.len())],
                    WHERE[next(WHERE.len())],
                    WHEN[next(WHEN.len())],
                    WHY[next(WHY.len())]
                ));
                if s % 4 == 3 {
                    body.push("\n\n".into());
                }
            }
            let title = format!("{} {}", WHO[next(WHO.len())], DID[next(DID.len())]);
            serde_json::json!({
                "id": format!("synthetic-{i:05}"),
                "title": title,
                "body": body.join(" "),
                "published_at": format!("2021-{:02}-{:02}", 1 + i % 12, 1 + i % 28),
                "url": format!("https://news.example/{i}"),
            })
            .to_string()
            .into_bytes()
        })
        .collect()
}

/// Lines that cannot be summarised, each failing differently.
pub fn bad_lines() -> Vec<Vec<u8>> {
    vec![
        b"not json at all".to_vec(),
        br#"{"id": "empty-body", "title": "Nothing here", "body": ""}"#.to_vec(),
        b"{\"id\": \"bad-utf8\", \"title\": \"Caf\xe9\", \"body\": \"caf\xe9 owners protest\"}".to_vec(),
    ]
}

/// `good` with `bad[k]` inserted so that it becomes line `at[k]` (1-based) of the result.
pub fn insert_at(mut good: Vec<Vec<u8>>, bad: Vec<Vec<u8>>, at: &[usize]) -> Vec<Vec<u8>> {
    assert_eq!(bad.len(), at.len());
    for (line, &position) in bad.into_iter().zip(at) {
        good.insert(position - 1, line);
    }
    good
}

pub fn write_lines(path: &Path, lines: &[Vec<u8>]) {
    let mut bytes = Vec::new();
    for line in lines {
        bytes.extend_from_slice(line);
        bytes.push(b'\n');
    }
    std::fs::write(path, bytes).unwrap();
}

/// What identifies the row an input line should produce: its id, or its 1-based line number
/// when it has no readable id.
pub fn expected_keys(lines: &[Vec<u8>]) -> Vec<String> {
    lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            match serde_json::from_slice::<Value>(line)
                .ok()
                .and_then(|v| v["id"].as_str().filter(|id| !id.is_empty()).map(String::from))
            {
                Some(id) => id,
                None => format!("line {}", i + 1),
            }
        })
        .collect()
}

/// The row's id, or its line number when it has none (unreadable lines get `"id": ""`).
pub fn row_key(row: &Value) -> String {
    match row["id"].as_str().filter(|id| !id.is_empty()) {
        Some(id) => id.to_string(),
        None => format!("line {}", row["line"]),
    }
}

/// Removes every `timings` member, at any depth.
pub fn strip_timings(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.remove("timings");
            map.values_mut().for_each(strip_timings);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_timings),
        _ => {}
    }
}

/// A finished JSON Lines file: ends with a newline (no partial last line), every line one
/// JSON object; `timings` removed.
pub fn read_rows(path: &Path) -> Vec<Value> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if bytes.is_empty() {
        return Vec::new();
    }
    assert_eq!(bytes.last(), Some(&b'\n'), "{}: partial last line", path.display());
    let text = std::str::from_utf8(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            let mut row: Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("{} line {}: {e}: {line}", path.display(), i + 1));
            assert!(row.is_object(), "{} line {}: {line}", path.display(), i + 1);
            strip_timings(&mut row);
            row
        })
        .collect()
}

/// The default dead-letter file of `output`.
pub fn dead_letter(output: &Path) -> PathBuf {
    let mut name = output.as_os_str().to_owned();
    name.push(".dead-letter.jsonl");
    PathBuf::from(name)
}

/// Checks the row-level facts of a finished output: one row per input line, in input order,
/// error rows exactly where the input was bad, with their 1-based line numbers; and the dead
/// letters naming the same lines with their code and message.
pub fn assert_complete(rows: &[Value], dead: &[Value], keys: &[String], bad_at: &[usize]) {
    let got: Vec<String> = rows.iter().map(row_key).collect();
    if got != keys {
        let first = got
            .iter()
            .zip(keys)
            .position(|(a, b)| a != b)
            .unwrap_or(got.len().min(keys.len()));
        panic!(
            "rows are not the input rows once each in order: {} rows for {} input lines, first difference at row {}: {:?} instead of {:?}",
            got.len(),
            keys.len(),
            first + 1,
            got.get(first),
            keys.get(first)
        );
    }
    let errors: Vec<usize> = rows
        .iter()
        .enumerate()
        .filter(|(_, r)| !r["error"].is_null())
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(errors, bad_at, "error rows where the bad lines are");
    for &at in bad_at {
        let row = &rows[at - 1];
        assert_eq!(row["line"], at, "{row}");
        assert!(
            row["error"]["code"].is_string() && row["error"]["message"].is_string(),
            "{row}"
        );
    }
    let dead_lines: Vec<u64> = dead.iter().map(|d| d["line"].as_u64().expect("line")).collect();
    assert_eq!(
        dead_lines,
        bad_at.iter().map(|&a| a as u64).collect::<Vec<_>>(),
        "{dead:?}"
    );
    for (d, &at) in dead.iter().zip(bad_at) {
        let row = &rows[at - 1];
        assert_eq!(d["code"], row["error"]["code"], "{d}");
        assert_eq!(d["message"], row["error"]["message"], "{d}");
        let id = |v: &Value| v["id"].as_str().unwrap_or_default().to_string();
        assert_eq!(id(d), id(row), "{d}");
    }
}

/// The names in `dir`, sorted.
pub fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
