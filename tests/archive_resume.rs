//! `newsgist batch` survives SIGKILL: the same command, rerun after each kill, resumes from
//! its last committed chunk and finishes with the output of an uninterrupted run (every input
//! row once, in order, no partial line) and no work directory left. A finished output is
//! never overwritten without --restart; input and output cannot be the same file.
//!
//! Run with `--nocapture` to see the kills, reruns and rows.

mod archive_common;

use std::{
    fs::File,
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};

use archive_common::*;

const FLAGS: &[&str] = &["--outputs", "extractive,key-facts", "--chunk-rows", "50"];

/// A child process, killed (SIGKILL) and reaped when dropped, also if the test panics first.
struct Running(Child);

impl Running {
    fn child(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Deterministic pseudo-random numbers (PCG-style LCG), so that a failure can be replayed.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    fn between(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.next()
    }
}

/// Bytes under `path`, recursively; entries that vanish while being read (renames) count 0.
fn size_of(path: &Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    if meta.is_dir() {
        std::fs::read_dir(path)
            .map(|entries| entries.flatten().map(|e| size_of(&e.path())).sum())
            .unwrap_or(0)
    } else {
        meta.len()
    }
}

/// Result rows on disk under `path`, in whatever files (the output, its work directory):
/// the occurrences of `"extractive":`, once per successful row. Files that vanish while being
/// read (renames) count 0.
fn rows_on_disk(path: &Path) -> usize {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    if meta.is_dir() {
        std::fs::read_dir(path)
            .map(|entries| entries.flatten().map(|e| rows_on_disk(&e.path())).sum())
            .unwrap_or(0)
    } else {
        let bytes = std::fs::read(path).unwrap_or_default();
        let needle = b"\"extractive\":";
        bytes.windows(needle.len()).filter(|w| w == needle).count()
    }
}

fn hidden_entries(dir: &Path) -> Vec<String> {
    entries(dir).into_iter().filter(|n| n.starts_with('.')).collect()
}

/// The job's input: `n` articles with three bad lines, the last line among them.
fn job_input(dir: &Path, n: usize) -> (PathBuf, Vec<String>, Vec<usize>) {
    let bad_at = vec![n / 4 + 1, n / 2, n + 3];
    let lines = insert_at(articles(n), bad_lines(), &bad_at);
    let path = dir.join("archive.jsonl");
    write_lines(&path, &lines);
    (path, expected_keys(&lines), bad_at)
}

/// `command` run to the end under bash, whose `times` gives the CPU seconds (user + system)
/// the process used: a measure of the work done that other load on the machine barely moves.
fn run_timed(command: &Command) -> (Output, f64) {
    let times = tempfile::NamedTempFile::new().unwrap();
    let mut timed = Command::new("bash");
    timed
        .arg("-c")
        .arg(r#""$@"; rc=$?; times > "$NEWSGIST_TEST_TIMES"; exit $rc"#)
        .arg("bash")
        .arg(command.get_program())
        .args(command.get_args())
        .env("NEWSGIST_TEST_TIMES", times.path())
        .env_remove("JOB_COMPLETION_INDEX");
    if let Some(dir) = command.get_current_dir() {
        timed.current_dir(dir);
    }
    let output = timed.output().unwrap();
    let text = std::fs::read_to_string(times.path()).unwrap();
    // Second line: the children's user and system time, as "0m1.234s 0m0.056s".
    let children = text.lines().nth(1).unwrap_or_else(|| panic!("bash times: {text:?}"));
    let seconds: f64 = children
        .split_whitespace()
        .map(|t| {
            let (m, s) = t.trim_end_matches('s').split_once('m').unwrap();
            m.parse::<f64>().unwrap() * 60.0 + s.parse::<f64>().unwrap()
        })
        .sum();
    (output, seconds)
}

#[test]
fn sigkill_at_pseudo_random_points_then_rerunning_resumes_to_the_uninterrupted_output() {
    let dir = tempfile::tempdir().unwrap();
    let (input, keys, bad_at) = job_input(dir.path(), 2000);
    let total = keys.len();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();

    // The uninterrupted run.
    let baseline_dir = dir.path().join("baseline");
    std::fs::create_dir(&baseline_dir).unwrap();
    let baseline = baseline_dir.join("out.jsonl");
    let started = Instant::now();
    let (output, baseline_cpu) = run_timed(&batch_command(&input, &baseline, FLAGS));
    let baseline_wall = started.elapsed();
    assert_success(&output);
    let json = summary(&output);
    assert!(accounts_for(&json, total, bad_at.len()), "{json}");
    let expected = read_rows(&baseline);
    let expected_dead = std::fs::read(dead_letter(&baseline)).unwrap();
    assert_complete(&expected, &read_rows(&dead_letter(&baseline)), &keys, &bad_at);
    let expected_rows = rows_on_disk(&baseline);
    assert_eq!(expected_rows, total - bad_at.len());
    let expected_bytes = size_of(&baseline) + expected_dead.len() as u64;
    println!(
        "uninterrupted: {total} rows in {:.2} s, {baseline_cpu:.2} CPU-s",
        baseline_wall.as_secs_f64()
    );

    // The interrupted job: three kills at 20..400 ms after start, then three once its
    // directory holds a pseudo-random 10-25%, 35-50% and 70-85% of the finished bytes.
    let job_dir = dir.path().join("job");
    std::fs::create_dir(&job_dir).unwrap();
    let out = job_dir.join("out.jsonl");
    let mut random = Lcg(0x6e65_7773_6769_7374); // "newsgist"
    enum Kill {
        After(Duration),
        AtShare(f64),
    }
    let mut plan: Vec<Kill> = (0..3)
        .map(|_| Kill::After(Duration::from_millis(random.between(20.0, 400.0) as u64)))
        .collect();
    for (low, high) in [(0.10, 0.25), (0.35, 0.50), (0.70, 0.85)] {
        plan.push(Kill::AtShare(random.between(low, high)));
    }
    let give_up = baseline_wall * 10 + Duration::from_secs(60);
    let (mut kills, mut runs) = (0, 0);
    let mut finished_early = None;
    let mut done_at_last_kill = 0.0;
    for (step, kill) in plan.iter().enumerate() {
        runs += 1;
        let log = |name: &str| File::create(logs.join(format!("run-{runs}.{name}"))).unwrap();
        let mut running = Running(
            batch_command(&input, &out, FLAGS)
                .stdin(Stdio::null())
                .stdout(log("stdout"))
                .stderr(log("stderr"))
                .spawn()
                .unwrap(),
        );
        let start = Instant::now();
        let mut exited = None;
        loop {
            if let Some(status) = running.child().try_wait().unwrap() {
                exited = Some(status);
                break;
            }
            let due = match kill {
                Kill::After(delay) => start.elapsed() >= *delay,
                Kill::AtShare(share) => size_of(&job_dir) as f64 >= share * expected_bytes as f64,
            };
            if due {
                break;
            }
            assert!(start.elapsed() < give_up, "run {runs} made no progress in {give_up:?}");
            std::thread::sleep(Duration::from_millis(5));
        }
        if exited.is_none() {
            let child = running.child();
            child.kill().unwrap(); // SIGKILL
            let status = child.wait().unwrap();
            if status.code().is_none() {
                kills += 1;
            } else {
                exited = Some(status); // it ended between the last poll and the kill
            }
        }
        drop(running);
        let on_disk = rows_on_disk(&job_dir);
        let hidden = hidden_entries(&job_dir);
        if exited.is_none() {
            done_at_last_kill = on_disk.min(expected_rows) as f64 / expected_rows as f64;
        }
        match exited {
            None => println!(
                "kill {kills} (run {runs}) after {:.3} s: {on_disk} result rows in the job directory, hidden {hidden:?}",
                start.elapsed().as_secs_f64()
            ),
            Some(status) => {
                let stderr = std::fs::read_to_string(logs.join(format!("run-{runs}.stderr"))).unwrap_or_default();
                assert!(status.success(), "run {runs} failed: {status:?}: {stderr}");
                println!("run {runs} finished before kill {} was due", step + 1);
                finished_early = Some(runs);
                break;
            }
        }
        if matches!(kill, Kill::AtShare(_)) {
            assert!(
                !hidden.is_empty(),
                "killed with {on_disk} rows written: a checkpoint should be in a hidden work directory next to the output"
            );
        }
    }

    // Rerun the same command until it finishes.
    let mut resumed_cpu = None;
    if finished_early.is_none() {
        runs += 1;
        let (output, cpu) = run_timed(&batch_command(&input, &out, FLAGS));
        assert_success(&output);
        let json = summary(&output);
        println!("run {runs} (resumed) finished: {cpu:.2} CPU-s: {json}");
        resumed_cpu = Some(cpu);
    }

    let rows = read_rows(&out);
    let dead = read_rows(&dead_letter(&out));
    assert_complete(&rows, &dead, &keys, &bad_at);
    assert_eq!(rows.len(), expected.len());
    if let Some(at) = rows.iter().zip(&expected).position(|(a, b)| a != b) {
        panic!(
            "row {} differs from the uninterrupted run:\n{}\n{}",
            at + 1,
            rows[at],
            expected[at]
        );
    }
    assert_eq!(std::fs::read(dead_letter(&out)).unwrap(), expected_dead, "dead letters");
    assert_eq!(
        entries(&job_dir),
        [".out.jsonl.done.json", "out.jsonl", "out.jsonl.dead-letter.jsonl"],
        "the work directory is gone"
    );
    println!(
        "{kills} kills, {runs} runs, {} rows: output equals the uninterrupted run",
        rows.len()
    );
    assert!(kills >= 4, "only {kills} of the planned kills landed");
    // A share of the rows was on disk at the last kill (some 70-85%, less a chunk being
    // written): the last rerun must not redo them. A job that started over would use as much
    // CPU as the uninterrupted one; half of what was done is left as margin for noise.
    if let Some(cpu) = resumed_cpu {
        let done = (done_at_last_kill - 50.0 / expected_rows as f64).max(0.0);
        let bound = baseline_cpu * (1.0 - 0.5 * done);
        println!(
            "last rerun: {cpu:.2} CPU-s; {:.0}% of the rows were done: bound {bound:.2} of {baseline_cpu:.2}",
            100.0 * done
        );
        if done >= 0.2 {
            assert!(cpu < bound, "the last rerun used {cpu:.2} CPU-s against {baseline_cpu:.2} for the whole job, with {:.0}% of the rows already written: it did not resume", 100.0 * done);
        }
    }
}

#[test]
fn a_finished_output_is_kept_unless_restart_and_restart_starts_over() {
    let dir = tempfile::tempdir().unwrap();
    let (input, keys, bad_at) = job_input(dir.path(), 600);
    let job_dir = dir.path().join("job");
    std::fs::create_dir(&job_dir).unwrap();
    let out = job_dir.join("out.jsonl");
    let extractive = ["--outputs", "extractive", "--chunk-rows", "50"];
    let with_facts = ["--outputs", "extractive,key-facts", "--chunk-rows", "50"];

    // Started with key facts, killed once a few chunks are in, then --restart without them:
    // had it resumed, the first rows would still carry key facts.
    let mut running = Running(
        batch_command(&input, &out, &with_facts)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let start = Instant::now();
    while running.child().try_wait().unwrap().is_none()
        && rows_on_disk(&job_dir) < 150
        && start.elapsed() < Duration::from_secs(120)
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    let child = running.child();
    let _ = child.kill();
    let status = child.wait().unwrap();
    println!(
        "first run {} with {} result rows written",
        if status.code().is_none() { "killed" } else { "finished" },
        rows_on_disk(&job_dir)
    );
    let restart: Vec<&str> = extractive.iter().copied().chain(["--restart"]).collect();
    let output = run(&mut batch_command(&input, &out, &restart));
    assert_success(&output);
    let rows = read_rows(&out);
    assert_complete(&rows, &read_rows(&dead_letter(&out)), &keys, &bad_at);
    let with_key_facts = rows.iter().filter(|r| !r["key_facts"].is_null()).count();
    assert_eq!(
        with_key_facts, 0,
        "--restart started over: no row from the first run is kept"
    );
    let reference = dir.path().join("reference.jsonl");
    assert_success(&run(&mut batch_command(&input, &reference, &extractive)));
    assert!(rows == read_rows(&reference), "--restart output equals a fresh run");
    assert_eq!(
        entries(&job_dir),
        [".out.jsonl.done.json", "out.jsonl", "out.jsonl.dead-letter.jsonl"]
    );

    // Finished: the same command again (a retried pod) does nothing and says so with the
    // finished job's report; another command over it is refused; nothing changes either way.
    let before = std::fs::read(&out).unwrap();
    let before_dead = std::fs::read(dead_letter(&out)).unwrap();
    let again = run(&mut batch_command(&input, &out, &extractive));
    assert_success(&again);
    let json = summary(&again);
    assert!(accounts_for(&json, keys.len(), bad_at.len()), "{json}");
    assert_eq!(std::fs::read(&out).unwrap(), before, "output untouched");
    {
        let flags = &with_facts;
        let output = run(&mut batch_command(&input, &out, flags));
        assert!(
            !output.status.success(),
            "{flags:?} over a finished output: {}",
            describe(&output)
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("--restart"), "a message: {stderr}");
        println!("another job over a finished output refused: {}", stderr.trim());
        assert_eq!(std::fs::read(&out).unwrap(), before, "output untouched");
        assert_eq!(
            std::fs::read(dead_letter(&out)).unwrap(),
            before_dead,
            "dead letters untouched"
        );
        assert_eq!(
            entries(&job_dir),
            [".out.jsonl.done.json", "out.jsonl", "out.jsonl.dead-letter.jsonl"]
        );
    }

    // Nor is a file newsgist did not write.
    let other = job_dir.join("notes.jsonl");
    std::fs::write(&other, "{\"mine\": true}\n").unwrap();
    let output = run(&mut batch_command(&input, &other, &extractive));
    assert!(!output.status.success(), "{}", describe(&output));
    assert_eq!(std::fs::read_to_string(&other).unwrap(), "{\"mine\": true}\n");
    std::fs::remove_file(&other).unwrap();

    // --restart overwrites the finished output, here with key facts.
    let restart: Vec<&str> = with_facts.iter().copied().chain(["--restart"]).collect();
    let output = run(&mut batch_command(&input, &out, &restart));
    assert_success(&output);
    let json = summary(&output);
    assert!(accounts_for(&json, keys.len(), bad_at.len()), "{json}");
    let rows = read_rows(&out);
    assert_complete(&rows, &read_rows(&dead_letter(&out)), &keys, &bad_at);
    let good = rows.iter().filter(|r| r["error"].is_null());
    assert!(good.clone().count() > 0);
    assert!(
        good.clone().all(|r| r["key_facts"].is_array()),
        "overwritten with key facts"
    );
    assert_eq!(
        entries(&job_dir),
        [".out.jsonl.done.json", "out.jsonl", "out.jsonl.dead-letter.jsonl"]
    );
}

#[test]
fn the_same_file_as_input_and_output_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let (input, _, _) = job_input(dir.path(), 20);
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    let link = dir.path().join("link.jsonl");
    std::os::unix::fs::symlink(&input, &link).unwrap();
    let original = std::fs::read(&input).unwrap();
    let listing = entries(dir.path());
    for output in [input.clone(), dir.path().join("sub/../archive.jsonl"), link] {
        let result = run(&mut batch_command(&input, &output, &["--outputs", "extractive"]));
        assert!(
            !result.status.success(),
            "--output {} for --input {}: {}",
            output.display(),
            input.display(),
            describe(&result)
        );
        assert!(!String::from_utf8_lossy(&result.stderr).trim().is_empty(), "a message");
        assert_eq!(std::fs::read(&input).unwrap(), original, "the input is unchanged");
        assert_eq!(entries(dir.path()), listing, "nothing written beside it");
        assert!(entries(&dir.path().join("sub")).is_empty());
        println!(
            "{} refused: {}",
            output.display(),
            String::from_utf8_lossy(&result.stderr).trim()
        );
    }
}
