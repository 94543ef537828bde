//! Throughput of key-fact extraction alone, single-threaded, over the BBC archive (no
//! publication dates there: a fixed anchor). Prints articles per second.
//!
//! Skips with a message when `../shared` (the shared data folder) is absent.

use std::hint::black_box;
use std::time::{Duration, Instant};

mod common;

use chrono::NaiveDate;
use newsgist::facts::extract;

/// Minimum measuring time, so one pass over a small archive is not noise.
const MIN_TIME: Duration = Duration::from_secs(3);

/// Facts asked for per article, the service default.
const MAX_FACTS: usize = 5;

fn main() {
    let Some(articles) = common::bbc_archive("keyfacts") else {
        return;
    };
    let anchor = NaiveDate::from_ymd_opt(2005, 6, 1)
        .and_then(|d| d.and_hms_opt(12, 0, 0))
        .expect("valid anchor");

    // The embedded models are decoded once, on first use, outside the measurement.
    let started = Instant::now();
    black_box(newsgist::nlp::Pipeline::load_embedded().is_ok());
    let nlp_ms = started.elapsed().as_secs_f64() * 1e3;
    let started = Instant::now();
    black_box(newsgist::nlp::places::Gazetteer::embedded().len());
    let places_ms = started.elapsed().as_secs_f64() * 1e3;
    println!("embedded models decoded in {nlp_ms:.1} ms (NLP bundle) and {places_ms:.1} ms (place lexicon)");
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
