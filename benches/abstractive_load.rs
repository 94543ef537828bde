//! What dynamic batching buys under concurrent load: a real gRPC server in this process with
//! one worker, N clients each sending one abstractive request at the same moment, once with
//! `--max-batch 1` (one request per generation) and once with `--max-batch N`. The articles
//! are the window-cut CNN/DailyMail articles `cargo bench --bench abstractive` writes to
//! target/bench-abstractive/articles.jsonl (run it first; `make bench-abstractive` does).
//!
//! Usage: cargo bench --bench abstractive_load -- MODEL_DIR [--n 6] [--beams 4] [--length 60]
//!        [--threads 2]

use std::time::{Duration, Instant};

#[path = "common/abstractive_args.rs"]
mod abstractive_args;
#[path = "common/server.rs"]
mod bench_server;

use abstractive_args::Args;
use clap::ValueEnum;
use newsgist::proto as pb;

/// Serves with `max_batch`, sends every article at once, and returns (wall seconds,
/// per-request seconds).
async fn run(args: &Args, articles: &[String], max_batch: usize) -> (f64, Vec<f64>) {
    let flags = [
        "--model-dir".to_string(),
        args.model_dir.display().to_string(),
        "--workers".into(),
        "1".into(),
        "--intra-op-threads".into(),
        args.threads.to_string(),
        "--max-batch".into(),
        max_batch.to_string(),
        "--request-timeout-secs".into(),
        "3600".into(),
        "--quantize".into(),
        args.quantize
            .to_possible_value()
            .expect("a named value")
            .get_name()
            .into(),
    ];
    let server = bench_server::start(&flags).await;
    let client = server.client.clone();
    let request = |body: &str| pb::SummarizeRequest {
        request_id: String::new(),
        article: Some(pb::Article {
            body: body.to_string(),
            ..Default::default()
        }),
        options: Some(pb::SummarizeOptions {
            outputs: vec![pb::Output::Abstractive as i32],
            abstractive: Some(pb::AbstractiveOptions {
                model: String::new(),
                min_tokens: args.length,
                max_tokens: args.length,
                num_beams: args.beams,
            }),
            ..Default::default()
        }),
    };
    // Wait until the worker has loaded and warmed up (health would say SERVING).
    let mut probe = client.clone();
    while probe
        .summarize(request("Warm-up sentence one. Warm-up sentence two."))
        .await
        .is_err()
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let started = Instant::now();
    let calls = articles.iter().map(|body| {
        let mut client = client.clone();
        let request = request(body);
        async move {
            let sent = Instant::now();
            client.summarize(request).await.expect("request succeeds");
            sent.elapsed().as_secs_f64()
        }
    });
    let latencies = futures::future::join_all(calls).await;
    let wall = started.elapsed().as_secs_f64();
    server.stop().await;
    (wall, latencies)
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/target/bench-abstractive/articles.jsonl");
    let Ok(text) = std::fs::read_to_string(data) else {
        println!("skipping: {data} is absent; run `cargo bench --bench abstractive -- MODEL_DIR` first");
        return;
    };
    let mut articles: Vec<String> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|row| row["body"].as_str().map(str::to_string))
        .collect();
    if articles.is_empty() || !args.model_dir.join("config.json").is_file() {
        println!(
            "skipping: need articles in {data} and a model directory (got {:?})",
            args.model_dir
        );
        return;
    }
    // Repeat the articles if fewer were cut than requests wanted.
    articles = articles.iter().cycle().take(args.n).cloned().collect();
    let mut rows = Vec::new();
    for max_batch in [1, args.n] {
        let (wall, mut latencies) = run(&args, &articles, max_batch).await;
        latencies.sort_by(f64::total_cmp);
        rows.push(serde_json::json!({
            "max_batch": max_batch,
            "wall_s": wall,
            "articles_per_s": articles.len() as f64 / wall,
            "latency_s": {"p50": latencies[latencies.len() / 2], "max": latencies[latencies.len() - 1]},
        }));
    }
    let result = serde_json::json!({
        "concurrent_requests": articles.len(),
        "beams": args.beams,
        "output_tokens": args.length,
        "threads": args.threads,
        "runs": rows,
    });
    println!("{}", serde_json::to_string_pretty(&result).unwrap());
}
