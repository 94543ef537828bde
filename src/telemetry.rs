//! Prometheus metrics: the names, recorded through the `metrics` facade wherever the work
//! happens (the pool, the service core, the gRPC edge), and the `/metrics` endpoint that
//! serves them as Prometheus text. Every series is created at start-up, so that a scrape right
//! after start-up already lists them (at zero).

use std::{
    convert::Infallible,
    sync::{Arc, OnceLock},
    time::Duration,
};

use http_body_util::Full;
use hyper::{body::Bytes, Request, Response};
use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::{net::TcpListener, sync::Semaphore};
use tracing::{debug, info, warn};

use crate::{config::EngineConfig, response::Timings};

pub const REQUESTS: &str = "newsgist_requests_total";
pub const STAGE_SECONDS: &str = "newsgist_stage_duration_seconds";
pub const ADMITTED: &str = "newsgist_admitted_requests";
pub const QUEUE_DEPTH: &str = "newsgist_queue_depth";
pub const REFUSED: &str = "newsgist_admission_refusals_total";
pub const UNAUTHENTICATED: &str = "newsgist_unauthenticated_total";
pub const BATCH_SIZE: &str = "newsgist_batch_size";
pub const WORKER_RESTARTS: &str = "newsgist_worker_restarts_total";
pub const LIVE_WORKERS: &str = "newsgist_live_workers";
pub const MODEL_INFO: &str = "newsgist_model_info";

/// How often histogram samples are folded into their buckets.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// The RPCs counted by [`REQUESTS`].
pub const RPCS: [&str; 4] = ["Summarize", "SummarizeStream", "BuildDigest", "BuildDigestStream"];

/// Seconds: from a lexical request (about a millisecond) to a long abstractive one.
const STAGE_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 60.0,
];
const BATCH_BUCKETS: [f64; 7] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0];

/// Every outcome code a request can be counted with.
const CODES: [&str; 7] = [
    "OK",
    "INVALID_ARGUMENT",
    "FAILED_PRECONDITION",
    "RESOURCE_EXHAUSTED",
    "DEADLINE_EXCEEDED",
    "UNAVAILABLE",
    "INTERNAL",
];

/// The process's Prometheus recorder, installed on first use.
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(STAGE_SECONDS.into()), &STAGE_BUCKETS)
            .and_then(|b| b.set_buckets_for_metric(Matcher::Full(BATCH_SIZE.into()), &BATCH_BUCKETS))
            .expect("bucket lists are not empty");
        let handle = builder
            .install_recorder()
            .expect("the metrics recorder is installed once, here");
        describe();
        // Histogram samples are folded into their buckets on render or upkeep: without a
        // scrape (no --metrics-listen, or Prometheus gone) they would pile up in memory.
        let upkeep = handle.clone();
        std::thread::Builder::new()
            .name("newsgist-metrics-upkeep".into())
            .spawn(move || loop {
                std::thread::sleep(UPKEEP_EVERY);
                upkeep.run_upkeep();
            })
            .expect("spawning the metrics upkeep thread");
        handle
    })
}

fn describe() {
    describe_counter!(
        REQUESTS,
        "Summarisation requests (unary calls and stream items) by RPC and outcome code."
    );
    describe_histogram!(
        STAGE_SECONDS,
        Unit::Seconds,
        "Time per request in each stage: queue, extractive, abstractive, key_facts, total."
    );
    describe_gauge!(
        ADMITTED,
        "Requests admitted now (running plus queued), up to --max-pending."
    );
    describe_gauge!(QUEUE_DEPTH, "Admitted requests no worker has taken yet.");
    describe_counter!(REFUSED, "Requests refused at admission (RESOURCE_EXHAUSTED).");
    describe_counter!(
        UNAUTHENTICATED,
        "Calls of any RPC refused for a missing or wrong API key (UNAUTHENTICATED)."
    );
    describe_histogram!(BATCH_SIZE, "Requests a worker handled together in one batch.");
    describe_counter!(WORKER_RESTARTS, "Workers rebuilt after a crash.");
    describe_gauge!(LIVE_WORKERS, "Workers that can take work now.");
    describe_gauge!(
        MODEL_INFO,
        "1 for each model this server runs, with its kind, architecture and source."
    );
}

/// Creates every series at zero and records the models `config` loads.
pub fn register(config: &EngineConfig) {
    handle();
    for rpc in RPCS {
        for code in CODES {
            counter!(REQUESTS, "rpc" => rpc, "code" => code).absolute(0);
        }
    }
    for stage in ["queue", "extractive", "abstractive", "key_facts", "total"] {
        // Created empty, so that the series are listed before the first request.
        let _ = histogram!(STAGE_SECONDS, "stage" => stage);
    }
    gauge!(ADMITTED).set(0.0);
    gauge!(QUEUE_DEPTH).set(0.0);
    counter!(REFUSED).absolute(0);
    counter!(UNAUTHENTICATED).absolute(0);
    let _ = histogram!(BATCH_SIZE);
    counter!(WORKER_RESTARTS).absolute(0);
    gauge!(LIVE_WORKERS).set(0.0);
    let model = |name: String, kind: &'static str, architecture: String, source: String| {
        gauge!(MODEL_INFO, "name" => name, "kind" => kind, "architecture" => architecture, "source" => source).set(1.0);
    };
    model("lexical".into(), "extractive", "embedded".into(), "embedded".into());
    model("key-facts".into(), "key_facts", "embedded".into(), "embedded".into());
    if let Some(dir) = &config.embedding_dir {
        model(
            "sentence-embeddings".into(),
            "embedding",
            "bert".into(),
            dir.display().to_string(),
        );
    }
    if let Some(dir) = &config.ner_dir {
        model(
            "named-entities".into(),
            "key_facts",
            "bert".into(),
            dir.display().to_string(),
        );
    }
    for profile in &config.profiles {
        model(
            profile.name.clone(),
            "abstractive",
            profile.architecture.name().into(),
            profile.dir.display().to_string(),
        );
    }
}

/// Counts one request of `rpc` and its outcome: `OK` or an error kind's name.
pub fn request(rpc: &'static str, code: &'static str) {
    counter!(REQUESTS, "rpc" => rpc, "code" => code).increment(1);
}

/// Records a served request's stage times.
pub fn timings(timings: &Timings) {
    for (stage, ms) in [
        ("queue", timings.queue_ms),
        ("extractive", timings.extractive_ms),
        ("abstractive", timings.abstractive_ms),
        ("key_facts", timings.key_facts_ms),
        ("total", timings.total_ms),
    ] {
        // A stage a request did not ask for took no time and is not a sample.
        if ms > 0.0 || stage == "queue" || stage == "total" {
            histogram!(STAGE_SECONDS, "stage" => stage).record(ms / 1000.0);
        }
    }
}

/// Scrapes served at once; a connection beyond them is closed at once. Prometheus needs one.
pub const METRICS_CONNECTIONS: usize = 32;

/// How long a metrics connection may take to send its request headers, and to be served in
/// all: a client that connects and sends nothing cannot hold a slot.
pub const METRICS_HEADER_TIMEOUT: Duration = Duration::from_secs(5);
const METRICS_CONNECTION_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves `/metrics` on `listener` until the process ends.
pub async fn serve(listener: TcpListener) {
    let addr = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
    info!(%addr, "metrics on /metrics");
    let slots = Arc::new(Semaphore::new(METRICS_CONNECTIONS));
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(err) => {
                // Out of file descriptors, say: wait a little instead of spinning.
                warn!(%err, "accepting a metrics connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            debug!("{METRICS_CONNECTIONS} metrics connections open: closing another");
            continue;
        };
        tokio::spawn(async move {
            let service = hyper::service::service_fn(|request: Request<hyper::body::Incoming>| async move {
                let response = if request.uri().path() == "/metrics" {
                    Response::builder()
                        .header("content-type", "text/plain; version=0.0.4")
                        .body(Full::new(Bytes::from(handle().render())))
                } else {
                    Response::builder()
                        .status(404)
                        .body(Full::new(Bytes::from_static(b"metrics are on /metrics\n")))
                };
                Ok::<_, Infallible>(response.expect("a valid response"))
            });
            let io = hyper_util::rt::TokioIo::new(stream);
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(METRICS_HEADER_TIMEOUT)
                .serve_connection(io, service);
            match tokio::time::timeout(METRICS_CONNECTION_TIMEOUT, connection).await {
                Ok(Err(err)) => debug!(%err, "a metrics connection failed"),
                Err(_) => debug!("a metrics connection outlived its time and was closed"),
                Ok(Ok(())) => {}
            }
            drop(slot);
        });
    }
}
