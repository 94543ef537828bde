//! Faults on a real server: a worker that panics fails only its request and is rebuilt;
//! SIGTERM under load answers every admitted request and exits within the grace period; a
//! damaged model file is a clear start-up error.

mod common;
#[path = "../benches/common/process.rs"]
mod process;

use std::time::{Duration, Instant};

use common::*;
use tonic::Code;

#[tokio::test]
async fn a_panicking_worker_fails_only_its_request_and_is_rebuilt() {
    let server = TestServer::start(&["--workers", "1", "--fault-panic-request-id", "boom"]).await;
    let calls: Vec<_> = ["a", "boom", "b", "c"]
        .into_iter()
        .map(|id| (id, server.spawn_summarize(request(id, ARTICLE_BODY, &[]))))
        .collect();
    for (id, call) in calls {
        let result = call.await.unwrap();
        match id {
            "boom" => {
                let status = result.unwrap_err();
                assert_eq!(status.code(), Code::Internal, "{status:?}");
                assert!(status.message().contains("crashed"), "{status:?}");
            }
            _ => assert!(result.is_ok(), "{id}: {result:?}"),
        }
    }
    // The rebuilt worker serves again, and readiness says so.
    let mut served = false;
    for _ in 0..100 {
        if server
            .client()
            .await
            .summarize(request("after", ARTICLE_BODY, &[]))
            .await
            .is_ok()
        {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(served, "the worker was rebuilt");
    let readiness = server.health("newsgist.v1.SummarizerService").await;
    assert_eq!(
        readiness,
        tonic_health::pb::health_check_response::ServingStatus::Serving
    );
}

#[tokio::test]
async fn sigterm_under_load_answers_every_admitted_request_and_exits_in_the_grace_period() {
    let (mut child, url) = process::serve_ready(&["--workers", "1", "--shutdown-grace-secs", "20"]).await;
    let client = newsgist::proto::summarizer_service_client::SummarizerServiceClient::connect(url)
        .await
        .expect("the server came up");
    let body = ARTICLE_BODY.repeat(150);
    let calls: Vec<_> = (0..16)
        .map(|i| {
            let mut client = client.clone();
            let request = request(&format!("load-{i}"), &body, &[]);
            tokio::spawn(async move { client.summarize(request).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let signalled = Instant::now();
    process::terminate(&child);
    let (mut served, mut unavailable) = (0, 0);
    for call in calls {
        match call.await.unwrap() {
            Ok(_) => served += 1,
            Err(status) if status.code() == Code::Unavailable => unavailable += 1,
            Err(status) => panic!("an admitted request got {status:?}, not a result or UNAVAILABLE"),
        }
    }
    let status = process::exit_status(&mut child, signalled, Duration::from_secs(25)).await;
    println!(
        "SIGTERM under load: {served} served, {unavailable} UNAVAILABLE, exit {status} after {:.2} s",
        signalled.elapsed().as_secs_f64()
    );
    assert!(status.success(), "a drained shutdown exits 0");
    assert_eq!(served + unavailable, 16, "every request answered");
}

#[tokio::test]
async fn a_drain_past_the_grace_period_answers_every_request_and_is_visible_on_open_connections() {
    let (mut child, url) = process::serve_ready(&["--workers", "1", "--shutdown-grace-secs", "2"]).await;
    let channel = tonic::transport::Channel::from_shared(url)
        .unwrap()
        .connect()
        .await
        .unwrap();
    let client = newsgist::proto::summarizer_service_client::SummarizerServiceClient::new(channel.clone());
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
    // More work than one worker finishes in the grace period.
    let body = ARTICLE_BODY.repeat(400);
    let calls: Vec<_> = (0..60)
        .map(|i| {
            let mut client = client.clone();
            let request = request(&format!("slow-{i}"), &body, &[]);
            tokio::spawn(async move { client.summarize(request).await })
        })
        .collect();
    // Every call admitted before the signal.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let signalled = Instant::now();
    process::terminate(&child);
    tokio::time::sleep(Duration::from_millis(300)).await;

    // During the drain the open connection still answers: readiness says NOT_SERVING and a
    // new call gets a status it can retry elsewhere.
    let readiness = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: "newsgist.v1.SummarizerService".into(),
        })
        .await
        .expect("health answers during the drain")
        .into_inner()
        .status;
    assert_eq!(
        readiness,
        tonic_health::pb::health_check_response::ServingStatus::NotServing as i32
    );
    let refused = client
        .clone()
        .summarize(request("late", ARTICLE_BODY, &[]))
        .await
        .expect_err("no new work once the drain has begun");
    assert_eq!(refused.code(), Code::Unavailable, "{refused:?}");
    assert!(refused.message().contains("shutting down"), "{refused:?}");

    // A call still on the wire at the signal is refused; one admitted and still running at
    // the end of the grace period is answered that it was cut short.
    let (mut served, mut refused_late, mut aborted) = (0, 0, 0);
    for call in calls {
        match call.await.unwrap() {
            Ok(_) => served += 1,
            Err(status) if status.code() == Code::Unavailable && status.message().contains("is shutting down") => {
                refused_late += 1
            }
            Err(status) if status.code() == Code::Unavailable && status.message().contains("grace period ended") => {
                aborted += 1
            }
            Err(status) => panic!("a request got {status:?}, not a result or UNAVAILABLE"),
        }
    }
    let status = process::exit_status(&mut child, signalled, Duration::from_secs(4)).await;
    println!(
        "drain past the grace period: {served} served, {refused_late} refused, {aborted} cut short (UNAVAILABLE), exit {status} after {:.2} s",
        signalled.elapsed().as_secs_f64()
    );
    assert!(aborted > 0, "the load outlasted the grace period");
    assert_eq!(served + refused_late + aborted, 60, "every request answered");
    assert!(status.success(), "every request was answered: exit 0");
}

#[cfg(feature = "torch")]
#[tokio::test]
async fn a_worker_that_panics_inside_an_abstractive_batch_fails_only_that_batch_and_is_rebuilt() {
    use newsgist::proto::Output;
    let bart = fixture("bart-tiny");
    let server = TestServer::start(&[
        "--workers",
        "1",
        "--model-dir",
        &bart,
        "--max-batch",
        "4",
        "--fault-panic-request-id",
        "boom",
    ])
    .await;
    // A long one first keeps the worker busy, so that the next four queue and share a batch.
    let long = ARTICLE_BODY.repeat(40);
    let first = server.spawn_summarize(request("first", &long, &[Output::Abstractive]));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let batch: Vec<_> = ["a", "boom", "b", "c"]
        .into_iter()
        .map(|id| {
            (
                id,
                server.spawn_summarize(request(id, ARTICLE_BODY, &[Output::Abstractive])),
            )
        })
        .collect();
    assert!(first.await.unwrap().is_ok(), "the batch before the fault is served");
    let mut failed = Vec::new();
    for (id, call) in batch {
        match call.await.unwrap() {
            Ok(response) => assert!(response.into_inner().abstractive.is_some(), "{id}"),
            Err(status) => {
                assert_eq!(status.code(), Code::Internal, "{id}: {status:?}");
                assert!(status.message().contains("crashed"), "{status:?}");
                failed.push(id);
            }
        }
    }
    println!("abstractive batch with a panic: failed {failed:?}");
    assert!(failed.contains(&"boom"), "the panicking request failed");
    // The rebuilt worker loads the model again and serves abstractive requests.
    let mut served = false;
    for _ in 0..100 {
        let result = server
            .client()
            .await
            .summarize(request("after", ARTICLE_BODY, &[Output::Abstractive]))
            .await;
        if result.is_ok_and(|r| r.into_inner().abstractive.is_some()) {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(served, "the worker was rebuilt with its model");
}

#[cfg(feature = "torch")]
#[test]
fn a_truncated_model_file_is_a_clear_start_up_error() {
    let fixture = std::path::PathBuf::from(fixture("bart-tiny"));
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("bart-tiny");
    std::fs::create_dir(&model).unwrap();
    for entry in std::fs::read_dir(&fixture).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, model.join(path.file_name().unwrap())).unwrap();
    }
    let weights = model.join("model.safetensors");
    let bytes = std::fs::read(&weights).unwrap();
    std::fs::write(&weights, &bytes[..bytes.len() / 2]).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_newsgist"))
        .args([
            "summarize",
            "-",
            "--outputs",
            "abstractive",
            "--model-dir",
            model.to_str().unwrap(),
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), ARTICLE_BODY.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("model.safetensors") && !stderr.contains("panicked"),
        "{stderr}"
    );
}
