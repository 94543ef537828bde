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
    assert_eq!(value(&scrape, "newsgist_unauthenticated_total"), Some(0.0));
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

    a_client_that_disconnects_mid_stream_frees_its_work(&server, addr).await;
    silent_connections_cannot_hold_the_endpoint(addr).await;
    calls_without_a_key_are_counted(addr).await;
}

/// Part of the test above: a call a keyed server refuses before any service sees it.
async fn calls_without_a_key_are_counted(addr: std::net::SocketAddr) {
    let keyed = TestServer::start(&["--api-keys", "ops:metrics-test-0123456789"]).await;
    let refused = keyed
        .client()
        .await
        .summarize(request("no-key", ARTICLE_BODY, &[]))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);
    let (_, scrape) = get(addr, "/metrics").await;
    assert_eq!(value(&scrape, "newsgist_unauthenticated_total"), Some(1.0), "{scrape}");
}

/// Reads until the peer closes the connection; true if it did within `within`.
async fn closed_within(stream: &mut tokio::net::TcpStream, within: std::time::Duration) -> bool {
    let mut buffer = [0u8; 256];
    loop {
        match tokio::time::timeout(within, stream.read(&mut buffer)).await {
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

/// Part of the test above: connections that send nothing fill the endpoint's slots only
/// until the header timeout; one beyond the slots is closed at once.
async fn silent_connections_cannot_hold_the_endpoint(addr: std::net::SocketAddr) {
    use newsgist::telemetry::{METRICS_CONNECTIONS, METRICS_HEADER_TIMEOUT};
    let mut silent = Vec::new();
    for _ in 0..METRICS_CONNECTIONS {
        silent.push(tokio::net::TcpStream::connect(addr).await.unwrap());
    }
    // Let the server take them all before the next one.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let mut beyond = tokio::net::TcpStream::connect(addr).await.unwrap();
    assert!(
        closed_within(&mut beyond, std::time::Duration::from_secs(2)).await,
        "a connection beyond the slots is closed"
    );
    for stream in &mut silent {
        assert!(
            closed_within(stream, METRICS_HEADER_TIMEOUT + std::time::Duration::from_secs(3)).await,
            "a silent connection is closed after the header timeout"
        );
    }
    let (status, scrape) = get(addr, "/metrics").await;
    assert!(
        status.contains("200") && scrape.contains("newsgist_requests_total"),
        "{status}"
    );
}

/// A TCP relay to `target` on a port of its own; aborting the returned task closes both
/// sides at once, as when a client's host or network goes away.
async fn relay(target: std::net::SocketAddr) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let (mut client, _) = listener.accept().await.unwrap();
        let mut server = tokio::net::TcpStream::connect(target).await.unwrap();
        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
    });
    (url, task)
}

/// Part of the test above (the counters are one per process): a client whose connection
/// goes away mid-stream, with more work sent than the workers can finish soon, costs only
/// the items that had started.
async fn a_client_that_disconnects_mid_stream_frees_its_work(server: &TestServer, addr: std::net::SocketAddr) {
    const SENT: usize = 40;
    let total = "newsgist_stage_duration_seconds_count{stage=\"total\"}";
    let before = value(&get(addr, "/metrics").await.1, total).unwrap();
    let (url, connection) = relay(server.addr).await;
    let channel = tonic::transport::Channel::from_shared(url)
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = newsgist::proto::summarizer_service_client::SummarizerServiceClient::new(channel);
    let body = ARTICLE_BODY.repeat(300);
    let items: Vec<_> = (0..SENT).map(|i| request(&format!("s-{i}"), &body, &[])).collect();
    let mut answers = client
        .summarize_stream(futures::stream::iter(items))
        .await
        .unwrap()
        .into_inner();
    answers.message().await.unwrap().expect("a first answer");
    connection.abort();
    // Wait until nothing is admitted: what had started has finished, the rest was skipped.
    let mut scrape = String::new();
    for _ in 0..500 {
        scrape = get(addr, "/metrics").await.1;
        if value(&scrape, "newsgist_admitted_requests") == Some(0.0) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(value(&scrape, "newsgist_admitted_requests"), Some(0.0), "{scrape}");
    let ran = value(&scrape, total).unwrap() - before;
    println!("a stream of {SENT} whose connection went after its first answer ran {ran} of them");
    assert!(
        ran < SENT as f64 / 2.0,
        "the work of the gone client was freed: {ran} of {SENT} ran"
    );
}
