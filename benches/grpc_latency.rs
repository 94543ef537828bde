//! Latency of sequential extractive requests over gRPC: a real server on 127.0.0.1:0 in
//! this process, a real client, one request at a time. `cargo bench --bench grpc_latency`
//! (`-- N` for another request count).

use std::time::{Duration, Instant};

#[path = "common/server.rs"]
mod bench_server;

use newsgist::proto as pb;

const FALLBACK_BODY: &str =
    "The city council of Riverside approved a new tram line on Tuesday after a year of debate. \
The line will link the university to the central station and is expected to open in 2027. \
Mayor Jane Okafor said the project would cut traffic in the old town by a third. \
Opponents argued that the 400 million dollar budget was too high for a city of its size. \
Construction is due to begin in March, the council said in a statement.";

#[tokio::main]
async fn main() {
    let requests: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(1000);
    let sample = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/data/samples/kim-beijing-2018.txt"
    );
    let (body, source) = match std::fs::read_to_string(sample) {
        Ok(body) => (body, "kim-beijing-2018.txt"),
        Err(_) => (FALLBACK_BODY.to_string(), "built-in article (../shared absent)"),
    };

    let server = bench_server::start(&[]).await;
    let mut client = server.client.clone();
    let request = pb::SummarizeRequest {
        request_id: "bench".into(),
        article: Some(pb::Article {
            body,
            published_at: None,
            ..Default::default()
        }),
        options: Some(pb::SummarizeOptions {
            outputs: vec![pb::Output::Extractive as i32],
            extractive: Some(pb::ExtractiveOptions {
                length: Some(pb::extractive_options::Length::Sentences(3)),
                mode: 0,
            }),
            ..Default::default()
        }),
    };
    // Warm-up until the workers are serving, then measure.
    for _ in 0..50 {
        while client.summarize(request.clone()).await.is_err() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let mut latencies = Vec::with_capacity(requests);
    let started = Instant::now();
    for _ in 0..requests {
        let sent = Instant::now();
        client.summarize(request.clone()).await.expect("request succeeds");
        latencies.push(sent.elapsed());
    }
    let wall = started.elapsed();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("grpc_latency: {requests} sequential extractive requests (3 sentences) on {source}");
    println!(
        "  p50 {:.3} ms   p90 {:.3} ms   p99 {:.3} ms   max {:.3} ms   throughput {:.0} requests/s",
        ms(at(0.50)),
        ms(at(0.90)),
        ms(at(0.99)),
        ms(*latencies.last().unwrap()),
        requests as f64 / wall.as_secs_f64()
    );
    server.stop().await;
}
