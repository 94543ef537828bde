//! Throughput of key-fact extraction alone, single-threaded, over the BBC archive (no
//! publication dates there: a fixed anchor). Prints articles per second.
//!
//! Skips with a message when `../shared` (the shared data folder) is absent.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use newsgist::facts::extract;
use newsgist::request::Article;

/// Minimum measuring time, so one pass over a small archive is not noise.
const MIN_TIME: Duration = Duration::from_secs(3);

/// Facts asked for per article, the service default.
const MAX_FACTS: usize = 5;

fn main() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    if !shared.is_dir() {
        println!("skipping keyfacts bench: {} not found", shared.display());
        return;
    }
    let path = shared.join("data/archive/bbc-2225.jsonl");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) => {
            println!("skipping keyfacts bench: cannot read {}: {e}", path.display());
            return;
        }
    };
    let articles: Vec<Article> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| {
            Some(Article {
                id: v.get("id")?.as_str()?.to_owned(),
                title: v.get("title").and_then(|t| t.as_str()).unwrap_or_default().to_owned(),
                body: v.get("body")?.as_str()?.to_owned(),
                ..Article::default()
            })
        })
        .collect();
    if articles.is_empty() {
        println!("skipping keyfacts bench: no articles in {}", path.display());
        return;
    }
    let anchor = NaiveDate::from_ymd_opt(2005, 6, 1)
        .and_then(|d| d.and_hms_opt(12, 0, 0))
        .expect("valid anchor");

    // Warm-up: decodes the embedded models once, outside the measurement.
    black_box(extract(&articles[0], anchor, MAX_FACTS));

    let start = Instant::now();
    let (mut done, mut facts, mut passes) = (0usize, 0usize, 0usize);
    while passes == 0 || start.elapsed() < MIN_TIME {
        for article in &articles {
            facts += black_box(extract(article, anchor, MAX_FACTS)).len();
        }
        done += articles.len();
        passes += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "keyfacts: {done} articles in {secs:.2} s ({passes} passes over {} articles, one thread): {:.0} articles/s, {:.2} facts/article",
        articles.len(),
        done as f64 / secs,
        facts as f64 / done as f64
    );
}
