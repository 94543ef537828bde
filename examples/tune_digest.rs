//! Measures each family of story clustering weights (every setting but the threshold) by
//! leave-one-event-out on a labelled stream (`../shared/data/digest/dev-stream.jsonl` format:
//! `story` labels, `duplicate_of`), and reports how the defaults do on other streams of the
//! same format. `--explain STREAM c,n,t,s` lists the wrong merges and splits of one setting
//! (centroid weight, names weight, threshold, time scale in hours).
//!
//! ```sh
//! cargo run --release --no-default-features --example tune_digest -- ../shared/data/digest/dev-stream.jsonl [OTHER.jsonl ...]
//! ```
//!
//! An *event* is a gold story with three or more original (non-copy) articles; every other
//! article is a negative that should stand alone (or beside its copies). For each event, the
//! family's threshold is chosen on the stream without it (the lowest within 0.5 pairwise F1
//! of the best) and scored on that event with the negatives.

use std::collections::{HashMap, HashSet};

use newsgist::{
    archive::input::{article_from_json, FieldNames},
    digest::{cluster::ClusterParams, DigestOptions, Digester},
    request::Article,
};

struct Row {
    article: Article,
    story: String,
}

fn read(path: &str) -> Vec<Row> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|err| panic!("cannot read {path}: {err}"));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).expect("a JSON row");
            let (_, article) = article_from_json(line, &FieldNames::default());
            Row {
                article: article.expect("an article"),
                story: value["story"].as_str().expect("a story label").to_string(),
            }
        })
        .collect()
}

/// Pairwise F1 (as `score_digest.py`) of clustering `rows` with `params`.
fn pairwise_f1(rows: &[&Row], params: ClusterParams) -> f64 {
    let options = DigestOptions {
        max_stories: None,
        max_facts: 0,
        clustering: params,
        ..DigestOptions::default()
    };
    let mut digester = Digester::new(options);
    for (i, row) in rows.iter().enumerate() {
        digester.push(i as u64, row.article.clone());
    }
    let digest = digester.finish();
    let mut predicted: HashMap<String, usize> = HashMap::new();
    for (n, story) in digest.stories.iter().enumerate() {
        for a in &story.articles {
            predicted.insert(a.id.clone(), n);
        }
    }
    let (mut tp, mut pred, mut gold) = (0u64, 0u64, 0u64);
    for i in 0..rows.len() {
        for j in i + 1..rows.len() {
            let g = rows[i].story == rows[j].story;
            let p = predicted[rows[i].article.id.as_str()] == predicted[rows[j].article.id.as_str()];
            tp += u64::from(g && p);
            pred += u64::from(p);
            gold += u64::from(g);
        }
    }
    let p = if pred == 0 { 1.0 } else { tp as f64 / pred as f64 };
    let r = if gold == 0 { 1.0 } else { tp as f64 / gold as f64 };
    if p + r == 0.0 {
        0.0
    } else {
        200.0 * p * r / (p + r)
    }
}

/// The thresholds tried for each family of weights.
fn thresholds() -> Vec<f32> {
    (0..=16).map(|t| 0.1 + 0.025 * t as f32).collect()
}

/// Families of weights: every setting but the threshold.
fn families() -> Vec<ClusterParams> {
    let mut out = Vec::new();
    for time_scale_hours in [0.0, 24.0, 72.0] {
        for centroid_weight in [0.5, 1.0] {
            for names_weight in [0.0, 0.2, 0.4] {
                out.push(ClusterParams {
                    centroid_weight,
                    names_weight,
                    threshold: 0.0,
                    time_scale_hours,
                });
            }
        }
    }
    out
}

/// F1 within this much of the best counts as as good.
const TOLERANCE: f64 = 0.5;

/// The threshold for `family` on `rows`: the lowest whose F1 is within [`TOLERANCE`] of the
/// best. Lowest, because held-out events are less cohesive than the dev stream's (a fitted
/// threshold loses recall there, ../shared/tools/README.md), while stand-alone articles
/// stay apart well below it.
fn choose(rows: &[&Row], family: ClusterParams) -> (ClusterParams, f64) {
    let grid: Vec<ClusterParams> = thresholds()
        .into_iter()
        .map(|threshold| ClusterParams { threshold, ..family })
        .collect();
    // Two threads: the grid is most of the run time.
    let half = grid.len() / 2;
    let (first, second) = std::thread::scope(|scope| {
        let first = scope.spawn(|| grid[..half].iter().map(|&p| pairwise_f1(rows, p)).collect::<Vec<f64>>());
        let second: Vec<f64> = grid[half..].iter().map(|&p| pairwise_f1(rows, p)).collect();
        (first.join().expect("no panic"), second)
    });
    let scores: Vec<f64> = first.into_iter().chain(second).collect();
    let best = scores.iter().cloned().fold(0.0, f64::max);
    let pick = scores
        .iter()
        .position(|&s| s >= best - TOLERANCE)
        .expect("one is the best");
    (grid[pick], scores[pick])
}

/// Prints the stories that mix gold stories and the gold stories split, for `params`.
fn explain(rows: &[Row], params: ClusterParams) {
    let mut digester = Digester::new(DigestOptions {
        max_stories: None,
        max_facts: 0,
        clustering: params,
        ..DigestOptions::default()
    });
    for (i, row) in rows.iter().enumerate() {
        digester.push(i as u64, row.article.clone());
    }
    let position: HashMap<&str, usize> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| (r.article.id.as_str(), i))
        .collect();
    let mut gold_of: HashMap<&str, HashSet<usize>> = HashMap::new();
    for (n, story) in digester.finish().stories.iter().enumerate() {
        let labels: HashSet<&str> = story
            .articles
            .iter()
            .map(|a| rows[position[a.id.as_str()]].story.as_str())
            .collect();
        if labels.len() > 1 {
            println!("merged:");
            for a in &story.articles {
                let i = position[a.id.as_str()];
                println!(
                    "  #{i:<4} {} {}  {}",
                    rows[i].story,
                    a.published_at.map(|t| t.to_string()).unwrap_or_default(),
                    a.title
                );
            }
        }
        for a in &story.articles {
            gold_of
                .entry(rows[position[a.id.as_str()]].story.as_str())
                .or_default()
                .insert(n);
        }
    }
    for (gold, parts) in gold_of.iter().filter(|(_, p)| p.len() > 1) {
        println!("split: {gold} into {} stories", parts.len());
    }
}

fn main() {
    let paths: Vec<String> = std::env::args().skip(1).collect();
    if let (Some(flag), Some(path), Some(values)) = (paths.first(), paths.get(1), paths.get(2)) {
        if flag == "--explain" {
            let v: Vec<f32> = values.split(',').map(|x| x.parse().expect("a number")).collect();
            let params = ClusterParams {
                centroid_weight: v[0],
                names_weight: v[1],
                threshold: v[2],
                time_scale_hours: v[3],
            };
            explain(&read(path), params);
            return;
        }
    }
    let Some(dev) = paths.first() else {
        eprintln!("usage: tune_digest DEV.jsonl [OTHER.jsonl ...]");
        std::process::exit(2);
    };
    let rows = read(dev);
    let copies: HashSet<&str> = std::fs::read_to_string(dev)
        .unwrap()
        .lines()
        .filter(|l| l.contains("\"duplicate_of\""))
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| {
            v["id"]
                .as_str()
                .map(|s| rows.iter().find(|r| r.article.id == s).unwrap().article.id.as_str())
        })
        .collect();
    let mut originals: HashMap<&str, usize> = HashMap::new();
    for r in rows.iter().filter(|r| !copies.contains(r.article.id.as_str())) {
        *originals.entry(r.story.as_str()).or_insert(0) += 1;
    }
    let mut events: Vec<&str> = originals.iter().filter(|(_, &n)| n >= 3).map(|(s, _)| *s).collect();
    events.sort_unstable();
    let all: Vec<&Row> = rows.iter().collect();
    println!(
        "defaults {:?}: dev pairwise F1 {:.1}",
        ClusterParams::default(),
        pairwise_f1(&all, ClusterParams::default())
    );
    for family in families() {
        let (on_dev, dev_f1) = choose(&all, family);
        let mut held = Vec::new();
        for event in &events {
            let tune: Vec<&Row> = rows.iter().filter(|r| r.story != *event).collect();
            let test: Vec<&Row> = rows
                .iter()
                .filter(|r| r.story == *event || !events.contains(&r.story.as_str()))
                .collect();
            let (params, _) = choose(&tune, family);
            held.push((pairwise_f1(&test, params), params.threshold));
        }
        let mean = held.iter().map(|h| h.0).sum::<f64>() / held.len().max(1) as f64;
        let min = held.iter().map(|h| h.0).fold(100.0, f64::min);
        let folds: Vec<String> = held.iter().map(|(f, t)| format!("{f:.1}@{t:.3}")).collect();
        println!(
            "centroid {:.1} names {:.1} time {:>2}h: dev F1 {dev_f1:.1} at {:.3}; leave-one-event-out mean {mean:.1}, lowest {min:.1} [{}]",
            family.centroid_weight,
            family.names_weight,
            family.time_scale_hours,
            on_dev.threshold,
            folds.join(" ")
        );
    }
    for other in &paths[1..] {
        let rows = read(other);
        let all: Vec<&Row> = rows.iter().collect();
        println!(
            "{other}: pairwise F1 with defaults {:.1}",
            pairwise_f1(&all, ClusterParams::default())
        );
    }
}
