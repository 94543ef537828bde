//! A `newsgist serve` process of its own on a free 127.0.0.1 port, for the benches and tests
//! that need the server apart from the process measuring or signalling it.

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use tonic_health::pb::{health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest};

/// Starts `newsgist serve --listen 127.0.0.1:PORT FLAGS` and waits, up to a minute, until
/// its summariser reports SERVING (readiness); returns the process and its `http://` URL.
pub async fn serve_ready(flags: &[&str]) -> (Child, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_newsgist"))
        .args(["serve", "--listen", &addr])
        .args(flags)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("newsgist serve starts");
    let url = format!("http://{addr}");
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
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
                return (child, url);
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("newsgist serve {flags:?} did not become ready within 60 s");
}

/// The server process's exit status, which must come within `within` of `signalled`. Waits
/// without blocking the runtime, which may be serving the process's peers (a collector).
pub async fn exit_status(child: &mut Child, signalled: Instant, within: Duration) -> std::process::ExitStatus {
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(signalled.elapsed() < within, "still running past the grace period");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Sends SIGTERM to the server process.
pub fn terminate(child: &Child) {
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
}
