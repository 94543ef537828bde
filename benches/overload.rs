//! Overload: ten times `--max-pending` concurrent callers for a while against a real
//! `newsgist serve` process on 127.0.0.1, each sending extractive + key-fact requests back to
//! back. Reports how many were served and refused, p50/p99 of each, and the server's peak
//! resident memory. `cargo bench --bench overload [-- SECONDS]` (default 30).

use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use newsgist::proto::{self as pb, summarizer_service_client::SummarizerServiceClient};
use tonic_health::pb::{health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest};

const MAX_PENDING: usize = 8;
const CALLERS: usize = 10 * MAX_PENDING;

fn percentile(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index].as_secs_f64() * 1000.0
}

/// The server's peak resident memory (VmHWM), in MB.
fn peak_rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

#[tokio::main]
async fn main() {
    let seconds: u64 = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(30);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut server = Command::new(env!("CARGO_BIN_EXE_newsgist"))
        .args([
            "serve",
            "--listen",
            &addr,
            "--workers",
            "2",
            "--max-pending",
            &MAX_PENDING.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("newsgist serve starts");
    let url = format!("http://{addr}");
    loop {
        if let Ok(channel) = tonic::transport::Channel::from_shared(url.clone())
            .unwrap()
            .connect()
            .await
        {
            let check = HealthClient::new(channel)
                .check(HealthCheckRequest {
                    service: "newsgist.v1.SummarizerService".into(),
                })
                .await;
            if check.is_ok_and(|r| r.into_inner().status == ServingStatus::Serving as i32) {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
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
    let until = Instant::now() + Duration::from_secs(seconds);
    let mut callers = Vec::new();
    for _ in 0..CALLERS {
        let url = url.clone();
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
    let alive = server.try_wait().unwrap().is_none();
    let rss = peak_rss_mb(server.id());
    println!("overload: {CALLERS} callers against --max-pending {MAX_PENDING} --workers 2 for {seconds} s (extractive + key facts)");
    println!(
        "  served {} ({:.0}/s): p50 {:.2} ms, p99 {:.2} ms",
        served.len(),
        served.len() as f64 / seconds as f64,
        percentile(&served, 0.5),
        percentile(&served, 0.99)
    );
    println!(
        "  refused RESOURCE_EXHAUSTED {} ({:.0}/s): p50 {:.3} ms, p99 {:.3} ms",
        refused.len(),
        refused.len() as f64 / seconds as f64,
        percentile(&refused, 0.5),
        percentile(&refused, 0.99)
    );
    println!("  other errors {other}; server alive after the run: {alive}; server peak RSS {rss:.1} MB");
    let _ = server.kill();
    let _ = server.wait();
}
