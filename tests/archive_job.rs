//! deploy/archive-job.yaml emulated on this machine: `newsgist batch --shards 3` run as three
//! processes at once with JOB_COMPLETION_INDEX=0,1,2 (what the Job controller sets in each
//! pod of an Indexed Job), then `newsgist merge`, against one unsharded run of the same rows.
//! Also the exit codes that the Job's podFailurePolicy relies on.

mod archive_common;

use std::{
    path::Path,
    process::{Output, Stdio},
};

use archive_common::*;
use serde_json::Value;

const SHARDS: usize = 3;
const FLAGS: &[&str] = &["--outputs", "extractive,key-facts", "--ratio", "0.4"];

fn part(dir: &Path, index: usize, of: usize, suffix: &str) -> std::path::PathBuf {
    dir.join(format!("part-{index:05}-of-{of:05}{suffix}"))
}

/// 300 articles with the three bad lines at 40, 160 and 260: one in each third.
fn archive(dir: &Path) -> (std::path::PathBuf, Vec<String>, Vec<usize>) {
    let bad_at = vec![40, 160, 260];
    let lines = insert_at(articles(300), bad_lines(), &bad_at);
    let path = dir.join("archive.jsonl");
    write_lines(&path, &lines);
    (path, expected_keys(&lines), bad_at)
}

/// Starts the `SHARDS` shards of an Indexed Job at once, each told its index only through
/// JOB_COMPLETION_INDEX, and waits for all.
fn run_indexed_job(input: &Path, out_dir: &Path, flags: &[&str]) -> Vec<Output> {
    let shards = SHARDS.to_string();
    let children: Vec<_> = (0..SHARDS)
        .map(|index| {
            let mut args = flags.to_vec();
            args.extend_from_slice(&["--shards", &shards]);
            batch_command(input, out_dir, &args)
                .env("JOB_COMPLETION_INDEX", index.to_string())
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    children.into_iter().map(|c| c.wait_with_output().unwrap()).collect()
}

fn merge(input: &Path, output: &Path) -> Output {
    run(newsgist()
        .arg("merge")
        .arg("--input")
        .arg(input)
        .arg("--output")
        .arg(output))
}

#[test]
fn three_indexed_shards_merged_equal_one_unsharded_run() {
    let dir = tempfile::tempdir().unwrap();
    let (input, keys, bad_at) = archive(dir.path());
    let total = keys.len();

    // One unsharded run: the reference.
    let single = dir.path().join("single.jsonl");
    let output = run(&mut batch_command(&input, &single, FLAGS));
    assert_success(&output);
    let json = summary(&output);
    assert!(accounts_for(&json, total, bad_at.len()), "{json}");
    let single_rows = read_rows(&single);
    let single_dead = read_rows(&dead_letter(&single));
    assert_complete(&single_rows, &single_dead, &keys, &bad_at);

    // The Indexed Job: OUT is a directory that does not exist yet, created by whichever shard
    // comes first.
    let out_dir = dir.path().join("out").join("archive");
    let outputs = run_indexed_job(&input, &out_dir, FLAGS);
    let mut parts = Vec::new();
    let mut rows_reported = 0;
    let mut failed_reported = 0;
    for (index, output) in outputs.iter().enumerate() {
        assert_success(output);
        let json = summary(output);
        let file = part(&out_dir, index, SHARDS, ".jsonl");
        assert!(
            json["output"]
                .as_str()
                .unwrap()
                .ends_with(&*file.file_name().unwrap().to_string_lossy()),
            "shard {index} names its part: {json}"
        );
        rows_reported += json["rows"].as_u64().unwrap();
        failed_reported += json["failed"].as_u64().unwrap();
        let rows = read_rows(&file);
        let dead = read_rows(&part(&out_dir, index, SHARDS, ".dead-letter.jsonl"));
        println!(
            "shard {index}: {} rows, {} dead letters: {}",
            rows.len(),
            dead.len(),
            json
        );
        parts.push((rows, dead));
    }
    assert_eq!(failed_reported as usize, bad_at.len());
    let expected_rows_reported = json["rows"].as_u64().unwrap();
    assert_eq!(
        rows_reported, expected_rows_reported,
        "shards report the rows one run reports"
    );

    // Exactly the six part files and three done markers; no work directory left behind.
    let mut expected_names = Vec::new();
    for index in 0..SHARDS {
        for suffix in [".dead-letter.jsonl", ".jsonl"] {
            expected_names.push(
                part(&out_dir, index, SHARDS, suffix)
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
            );
        }
        // The marker that makes a retried, finished shard a no-op.
        expected_names.push(format!(".part-{index:05}-of-{SHARDS:05}.done.json"));
    }
    expected_names.sort();
    assert_eq!(entries(&out_dir), expected_names);

    // Deterministic and contiguous: the parts in order are the single run.
    let sizes: Vec<usize> = parts.iter().map(|(rows, _)| rows.len()).collect();
    assert_eq!(sizes.iter().sum::<usize>(), total, "{sizes:?}");
    let joined: Vec<Value> = parts.iter().flat_map(|(rows, _)| rows.clone()).collect();
    assert!(
        joined == single_rows,
        "the parts in order differ from one unsharded run"
    );
    let joined_dead: Vec<Value> = parts.iter().flat_map(|(_, dead)| dead.clone()).collect();
    assert_eq!(
        joined_dead, single_dead,
        "global line numbers in every shard's dead letters"
    );

    // The merge step of deploy/archive-merge-job.yaml.
    let merged = dir.path().join("merged.jsonl");
    let output = merge(&out_dir, &merged);
    assert_success(&output);
    let merged_rows = read_rows(&merged);
    assert_eq!(merged_rows.len(), single_rows.len());
    assert!(
        merged_rows == single_rows,
        "merged output differs from one unsharded run"
    );
    assert_complete(&merged_rows, &read_rows(&dead_letter(&merged)), &keys, &bad_at);
    assert_eq!(
        std::fs::read(dead_letter(&merged)).unwrap(),
        std::fs::read(dead_letter(&single)).unwrap(),
        "merged dead letters are byte for byte those of one run"
    );
    println!(
        "{total} rows: 3 shards of {sizes:?} merged equal one unsharded run ({} failed rows)",
        bad_at.len()
    );

    // A plain file splits by bytes (no shard reads past its range), so shards hold about
    // 1/N of the rows each: the articles differ in length.
    let share = total as f64 / SHARDS as f64;
    assert!(
        sizes
            .iter()
            .all(|&s| (s as f64) > 0.6 * share && (s as f64) < 1.4 * share),
        "shards of {sizes:?} rows for {total} rows: each should hold about {share:.0}"
    );
}

#[test]
fn merge_refuses_parts_that_are_missing_and_names_them() {
    let dir = tempfile::tempdir().unwrap();
    let bad_at = vec![5];
    let lines = insert_at(articles(60), vec![bad_lines().remove(0)], &bad_at);
    let input = dir.path().join("archive.jsonl");
    write_lines(&input, &lines);
    let out_dir = dir.path().join("parts");
    // Here each shard is told its index with --shard-index, no JOB_COMPLETION_INDEX.
    for index in 0..SHARDS {
        let output = run(&mut batch_command(
            &input,
            &out_dir,
            &[
                "--outputs",
                "extractive",
                "--shards",
                &SHARDS.to_string(),
                "--shard-index",
                &index.to_string(),
            ],
        ));
        assert_success(&output);
        assert!(part(&out_dir, index, SHARDS, ".jsonl").is_file());
    }
    let all = dir.path().join("all.jsonl");
    assert_success(&merge(&out_dir, &all));
    assert_eq!(read_rows(&all).len(), lines.len());

    std::fs::remove_file(part(&out_dir, 1, SHARDS, ".jsonl")).unwrap();
    let merged = dir.path().join("merged.jsonl");
    let output = merge(&out_dir, &merged);
    assert!(
        !output.status.success(),
        "merge with part 1 missing: {}",
        describe(&output)
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("part-00001-of-00003") || (stderr.to_lowercase().contains("missing") && stderr.contains('1')),
        "the message names the missing part: {stderr}"
    );
    assert!(!merged.exists(), "no partial merge is left behind");

    std::fs::remove_file(part(&out_dir, 2, SHARDS, ".jsonl")).unwrap();
    let output = merge(&out_dir, &merged);
    assert!(!output.status.success(), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        (stderr.contains("part-00001-of-00003") && stderr.contains("part-00002-of-00003"))
            || (stderr.to_lowercase().contains("missing") && stderr.contains('1') && stderr.contains('2')),
        "the message names both missing parts: {stderr}"
    );
    println!("merge with missing parts: {}", stderr.trim());
}

#[test]
fn exit_codes_are_those_the_jobs_pod_failure_policy_expects() {
    let dir = tempfile::tempdir().unwrap();
    let bad_at = vec![2, 5, 9];
    let lines = insert_at(articles(9), bad_lines(), &bad_at);
    let input = dir.path().join("archive.jsonl");
    write_lines(&input, &lines);

    // 3 (FailIndex): more failed rows than --max-failures.
    let out = dir.path().join("too-many.jsonl");
    let output = run(&mut batch_command(
        &input,
        &out,
        &["--outputs", "extractive", "--max-failures", "2"],
    ));
    assert_eq!(output.status.code(), Some(3), "{}", describe(&output));
    // As many as allowed: 0.
    let out = dir.path().join("allowed.jsonl");
    let output = run(&mut batch_command(
        &input,
        &out,
        &["--outputs", "extractive", "--max-failures", "3"],
    ));
    assert_success(&output);
    let json = summary(&output);
    assert!(accounts_for(&json, lines.len(), 3), "{json}");
    assert_eq!(read_rows(&dead_letter(&out)).len(), 3);

    // 2 (FailJob): a shard setting no pod of the Job could run with; nothing written.
    let cases: &[(&[&str], Option<&str>)] = &[
        (&["--shards", "3", "--shard-index", "3"], None),
        (&["--shards", "3"], Some("3")),
        (&["--shards", "3"], None),
        (&["--shards", "3"], Some("one")),
        (&["--shards", "0"], None),
    ];
    for (k, (flags, index)) in cases.iter().enumerate() {
        let out = dir.path().join(format!("bad-{k}"));
        let mut command = batch_command(&input, &out, flags);
        if let Some(index) = index {
            command.env("JOB_COMPLETION_INDEX", index);
        }
        let output = run(&mut command);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{flags:?} with JOB_COMPLETION_INDEX={index:?}: {}",
            describe(&output)
        );
        assert!(!String::from_utf8_lossy(&output.stderr).trim().is_empty(), "a message");
        assert!(!out.exists(), "{flags:?}: nothing written for bad flags");
    }
}
