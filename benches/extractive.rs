//! Throughput of the lexical extractive summariser, single-threaded, on the
//! BBC archive under the evaluation protocol (40% of each article's
//! sentences). `make bench-extractive` compares it with
//! `benches/sumy_textrank.py`.
//!
//! Skips with a message when `../shared` (the shared data folder) is absent.

use std::hint::black_box;
use std::time::{Duration, Instant};

mod common;

use newsgist::{
    request::SummaryLength,
    summarize::extractive::{select, Document, RankMode},
};

/// Minimum measuring time, so one pass over a small archive is not noise.
const MIN_TIME: Duration = Duration::from_secs(3);

fn main() {
    let Some(archive) = common::bbc_archive("extractive") else {
        return;
    };
    let articles: Vec<(Option<String>, String)> = archive
        .into_iter()
        .map(|a| (Some(a.title).filter(|t| !t.is_empty()), a.body))
        .collect();

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
