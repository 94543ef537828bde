//! The Prometheus endpoint of a real server: every series listed right after start-up, and
//! counting what the server does. Its own test binary: the metrics recorder is one per process.

mod common;

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// GETs `path` from `addr` over HTTP/1.1 and returns the status line and body.
async fn get(addr: std::net::SocketAddr, path: &str) -> (String, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).await.unwrap();
    let (head, body) = reply.split_once("\r\n\r\n").unwrap();
    (head.lines().next().unwrap().to_owned(), body.to_owned())
}

/// The value of the series whose line starts with `series` (name and labels).
fn value(scrape: &str, series: &str) -> Option<f64> {
    scrape
        .lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

#[tokio::test]
async fn every_series_is_listed_from_start_up_and_counts_requests() {
    let server = TestServer::start(&["--workers", "2"]).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(newsgist::telemetry::serve(listener));

    let (status, scrape) = get(addr, "/metrics").await;
    assert!(status.contains("200"), "{status}");
    println!("scrape right after start-up:\n{scrape}");
    for rpc in ["Summarize", "SummarizeStream", "BuildDigest", "BuildDigestStream"] {
        for code in [
            "OK",
            "INVALID_ARGUMENT",
            "RESOURCE_EXHAUSTED",
            "DEADLINE_EXCEEDED",
            "INTERNAL",
        ] {
            let series = format!("newsgist_requests_total{{rpc=\"{rpc}\",code=\"{code}\"}}");
            assert_eq!(value(&scrape, &series), Some(0.0), "{series}");
        }
    }
    assert_eq!(value(&scrape, "newsgist_admitted_requests"), Some(0.0));
    assert_eq!(value(&scrape, "newsgist_queue_depth"), Some(0.0));
    assert_eq!(value(&scrape, "newsgist_admission_refusals_total"), Some(0.0));
    assert_eq!(value(&scrape, "newsgist_worker_restarts_total"), Some(0.0));
    assert_eq!(value(&scrape, "newsgist_live_workers"), Some(2.0));
    assert!(scrape.contains("newsgist_model_info{"), "model info");
    for name in ["newsgist_stage_duration_seconds", "newsgist_batch_size"] {
        assert!(scrape.contains(&format!("# TYPE {name} histogram")), "{name} listed");
    }

    let mut client = server.client().await;
    client.summarize(request("m-1", ARTICLE_BODY, &[])).await.unwrap();
    let refused = client.summarize(request("m-2", "  ", &[])).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    let (_, scrape) = get(addr, "/metrics").await;
    let ok = "newsgist_requests_total{rpc=\"Summarize\",code=\"OK\"}";
    assert_eq!(value(&scrape, ok), Some(1.0), "{scrape}");
    let bad = "newsgist_requests_total{rpc=\"Summarize\",code=\"INVALID_ARGUMENT\"}";
    assert_eq!(value(&scrape, bad), Some(1.0));
    let total = "newsgist_stage_duration_seconds_count{stage=\"total\"}";
    assert_eq!(value(&scrape, total), Some(1.0), "{scrape}");
    // The slot is released just after the reply is sent: give it a moment.
    let mut admitted = value(&scrape, "newsgist_admitted_requests");
    for _ in 0..50 {
        if admitted == Some(0.0) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        admitted = value(&get(addr, "/metrics").await.1, "newsgist_admitted_requests");
    }
    assert_eq!(admitted, Some(0.0), "released after the reply");
    assert_eq!(value(&scrape, "newsgist_queue_depth"), Some(0.0), "nothing waits");

    let (status, _) = get(addr, "/other").await;
    assert!(status.contains("404"), "{status}");
}
