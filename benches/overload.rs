//! Overload: ten times `--max-pending` concurrent callers for a while against a real
//! `newsgist serve` process on 127.0.0.1, each sending extractive + key-fact requests back to
//! back. Reports how many were served and refused, p50/p99 of each, and the server's peak
//! resident memory; with several rounds, its resident memory after each, to show whether it
//! plateaus. `cargo bench --bench overload [-- SECONDS [ROUNDS]]` (default 30 s, 1 round).

use std::time::{Duration, Instant};

#[path = "common/process.rs"]
mod process;

use newsgist::proto::{self as pb, summarizer_service_client::SummarizerServiceClient};

const MAX_PENDING: usize = 8;
const CALLERS: usize = 10 * MAX_PENDING;

fn percentile(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index].as_secs_f64() * 1000.0
}

/// One line: how many calls, their rate, and p50/p99 in ms with `decimals` decimals.
fn print_latencies(label: &str, sorted: &[Duration], seconds: u64, decimals: usize) {
    println!(
        "  {label} {} ({:.0}/s): p50 {:.decimals$} ms, p99 {:.decimals$} ms",
        sorted.len(),
        sorted.len() as f64 / seconds as f64,
        percentile(sorted, 0.5),
        percentile(sorted, 0.99)
    );
}

/// A memory figure of the server's /proc status (VmHWM: peak, VmRSS: now), in MB.
fn memory_mb(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// One round: every caller sends requests back to back for `seconds`; (served latencies,
/// refused latencies, other errors), sorted.
async fn round_of_load(
    url: &str,
    request: &pb::SummarizeRequest,
    seconds: u64,
) -> (Vec<Duration>, Vec<Duration>, usize) {
    let until = Instant::now() + Duration::from_secs(seconds);
    let mut callers = Vec::new();
    for _ in 0..CALLERS {
        let url = url.to_owned();
        let request = request.clone();
        callers.push(tokio::spawn(async move {
            let mut client = SummarizerServiceClient::connect(url).await.unwrap();
            let (mut served, mut refused, mut other) = (Vec::new(), Vec::new(), 0usize);
            while Instant::now() < until {
                let sent = Instant::now();
                match client.summarize(request.clone()).await {
                    Ok(_) => served.push(sent.elapsed()),
                    Err(status) if status.code() == tonic::Code::ResourceExhausted => refused.push(sent.elapsed()),
                    Err(_) => other += 1,
                }
            }
            (served, refused, other)
        }));
    }
    let (mut served, mut refused, mut other) = (Vec::new(), Vec::new(), 0);
    for caller in callers {
        let (s, r, o) = caller.await.unwrap();
        served.extend(s);
        refused.extend(r);
        other += o;
    }
    served.sort();
    refused.sort();
    (served, refused, other)
}

#[tokio::main]
async fn main() {
    let numbers: Vec<u64> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let seconds = numbers.first().copied().unwrap_or(30);
    let rounds = numbers.get(1).copied().unwrap_or(1).max(1);
    let max_pending = MAX_PENDING.to_string();
    let (mut server, url) = process::serve_ready(&["--workers", "2", "--max-pending", &max_pending]).await;
    let body = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/data/samples/kim-beijing-2018.txt"
    ))
    .unwrap_or_else(|_| {
        "The council approved the budget on Monday in Riverside. Mayor Jane Okafor said spending would rise. "
            .repeat(20)
    });
    let request = pb::SummarizeRequest {
        article: Some(pb::Article {
            body,
            ..Default::default()
        }),
        ..Default::default()
    };
    for round in 1..=rounds {
        let (served, refused, other) = round_of_load(&url, &request, seconds).await;
        let alive = server.try_wait().unwrap().is_none();
        println!(
            "overload round {round}/{rounds}: {CALLERS} callers against --max-pending {MAX_PENDING} --workers 2 for {seconds} s (extractive + key facts)"
        );
        print_latencies("served", &served, seconds, 2);
        print_latencies("refused RESOURCE_EXHAUSTED", &refused, seconds, 3);
        println!(
            "  other errors {other}; server alive: {alive}; server RSS now {:.1} MB, peak {:.1} MB",
            memory_mb(server.id(), "VmRSS:"),
            memory_mb(server.id(), "VmHWM:")
        );
    }
    // Stopped as Kubernetes stops it; it drains within its default 30 s grace period.
    process::terminate(&server);
    process::exit_status(
        &mut server,
        std::time::Instant::now(),
        std::time::Duration::from_secs(35),
    )
    .await;
}
