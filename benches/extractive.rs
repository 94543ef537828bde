//! Throughput of the lexical extractive summariser, single-threaded, on the
//! BBC archive under the evaluation protocol (40% of each article's
//! sentences). `make bench-extractive` compares it with
//! `benches/sumy_textrank.py`.
//!
//! Skips with a message when `../shared` (the shared data folder) is absent.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use newsgist::summarize::extractive::{select, Document, RankMode, SummaryLength};

/// Minimum measuring time, so one pass over a small archive is not noise.
const MIN_TIME: Duration = Duration::from_secs(3);

fn main() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    if !shared.is_dir() {
        println!("skipping extractive bench: {} not found", shared.display());
        return;
    }
    let path = shared.join("data/archive/bbc-2225.jsonl");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) => {
            println!("skipping extractive bench: cannot read {}: {e}", path.display());
            return;
        }
    };
    let articles: Vec<(Option<String>, String)> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| {
            let body = v.get("body")?.as_str()?.to_owned();
            let title = v.get("title").and_then(|t| t.as_str()).map(str::to_owned);
            Some((title, body))
        })
        .collect();
    if articles.is_empty() {
        println!("skipping extractive bench: no articles in {}", path.display());
        return;
    }

    let cpu_start = cpu_time();
    let start = Instant::now();
    let mut done = 0usize;
    let mut picked = 0usize;
    while start.elapsed() < MIN_TIME {
        for (title, body) in &articles {
            let doc = Document::new(title.as_deref(), body);
            let summary = select(&doc, SummaryLength::Ratio(0.4), RankMode::Lexical);
            picked += black_box(summary).len();
            done += 1;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    // On a shared machine wall time includes waiting for a core; CPU time
    // is what the work costs, and what sumy_textrank.py reports too.
    let cpu = match (cpu_start, cpu_time()) {
        (Some(a), Some(b)) if b > a => format!(", {:.0} articles/CPU-s", done as f64 / (b - a).as_secs_f64()),
        _ => String::new(),
    };
    println!(
        "extractive lexical: {} articles ({} passes over {}), {:.2} s, {:.0} articles/s{}, {:.1} sentences/summary",
        done,
        done / articles.len(),
        articles.len(),
        secs,
        done as f64 / secs,
        cpu,
        picked as f64 / done as f64
    );
}

/// CPU time of this thread so far (Linux schedstat), if available.
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos = stat.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}
