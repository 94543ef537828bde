//! Against real newsgist servers on 127.0.0.1:0.

use std::{
    net::SocketAddr,
    sync::atomic::AtomicBool,
    time::{Duration, Instant},
};

use clap::Parser;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::oneshot,
};
use tonic_health::pb::{health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest};

use super::*;
use crate::{
    config::{Cli, Command},
    request::{Article, InvalidRequest, Outputs, RawOptions},
    server::ServerError,
};

const BODY: &str = "The city council of Riverside approved a new tram line on Tuesday after a year of debate. \
The line will link the university to the central station and is expected to open in 2027. \
Mayor Jane Okafor said the project would cut traffic in the old town by a third. \
Opponents argued that the 400 million dollar budget was too high for a city of its size. \
Construction is due to begin in March, the council said in a statement.";

struct TestServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), ServerError>>>,
}

impl TestServer {
    /// A server with `serve` flags, once it reports SERVING.
    async fn start(flags: &[&str]) -> TestServer {
        let mut args = vec!["newsgist", "serve"];
        args.extend_from_slice(flags);
        let Command::Serve(serve) = Cli::parse_from(args).command else {
            unreachable!()
        };
        let config = serve.server_config().expect("a valid test configuration");
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(crate::server::serve(config, listener, async {
            let _ = stopped.await;
        }));
        let url = format!("http://{addr}");
        for _ in 0..600 {
            if let Ok(channel) = tonic::transport::Channel::from_shared(url.clone())
                .unwrap()
                .connect()
                .await
            {
                let mut health = HealthClient::new(channel);
                let request = HealthCheckRequest { service: String::new() };
                if let Ok(response) = health.check(request).await {
                    if response.into_inner().status == ServingStatus::Serving as i32 {
                        return TestServer {
                            addr,
                            stop: Some(stop),
                            task: Some(task),
                        };
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the test server did not reach SERVING within 60 s");
    }

    fn addr(&self) -> String {
        self.addr.to_string()
    }

    /// Begins graceful shutdown; the task ends once the server has drained.
    fn shut_down(&mut self) -> JoinHandle<Result<(), ServerError>> {
        let _ = self.stop.take().expect("running").send(());
        self.task.take().expect("running")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A TCP proxy in front of a server that can stop passing the server's bytes back and then
/// cut every connection, as a dying host or network would.
struct Proxy {
    addr: SocketAddr,
    frozen: Arc<AtomicBool>,
    task: JoinHandle<()>,
}

impl Proxy {
    async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let frozen = Arc::new(AtomicBool::new(false));
        let freeze = Arc::clone(&frozen);
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((inbound, _)) = listener.accept().await {
                connections.spawn(pipe(inbound, target, Arc::clone(&freeze)));
            }
        });
        Proxy { addr, frozen, task }
    }

    fn freeze(&self) {
        self.frozen.store(true, Ordering::SeqCst);
    }

    /// Closes every connection and the listener (dropping the JoinSet aborts the pipes).
    fn cut(&self) {
        self.task.abort();
    }
}

async fn pipe(inbound: TcpStream, target: SocketAddr, frozen: Arc<AtomicBool>) {
    let Ok(outbound) = TcpStream::connect(target).await else {
        return;
    };
    let (mut client_read, mut client_write) = inbound.into_split();
    let (mut server_read, mut server_write) = outbound.into_split();
    let up = tokio::io::copy(&mut client_read, &mut server_write);
    let down = async {
        let mut buffer = vec![0u8; 16 * 1024];
        loop {
            let n = server_read.read(&mut buffer).await?;
            if n == 0 {
                return Ok::<_, std::io::Error>(());
            }
            if !frozen.load(Ordering::SeqCst) {
                client_write.write_all(&buffer[..n]).await?;
            }
        }
    };
    let _ = tokio::join!(up, down);
}

fn submission(i: usize) -> Submission {
    Submission {
        request_id: format!("row-{i}"),
        article: Article {
            id: format!("art-{i}"),
            title: "Council approves tram".into(),
            body: format!("Row {i} of the archive. {BODY}"),
            ..Article::default()
        },
        options: RawOptions::default(),
    }
}

fn rows(count: usize) -> Vec<(usize, Result<Submission, ServiceError>)> {
    (0..count).map(|i| (i, Ok(submission(i)))).collect()
}

fn quick(servers: Vec<String>) -> RemoteOptions {
    RemoteOptions {
        servers,
        in_flight_per_server: 4,
        max_attempts: 8,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(100),
        ..RemoteOptions::default()
    }
}

/// Every row once, in input order, each answered for its own article.
fn assert_all_answered(results: &[Tagged<usize>], count: usize) {
    let tags: Vec<usize> = results.iter().map(|(tag, _)| *tag).collect();
    assert_eq!(tags, (0..count).collect::<Vec<_>>(), "input order, each row once");
    for (i, result) in results {
        let response = result.as_ref().unwrap_or_else(|err| panic!("row {i}: {err}"));
        assert_eq!(
            response.request_id,
            format!("row-{i}"),
            "the caller's request id is restored"
        );
        assert_eq!(response.article_id, format!("art-{i}"));
        assert!(response.extractive.is_some());
    }
}

fn answered(stats: &Stats) -> Vec<usize> {
    stats.answered.lock().unwrap().clone()
}

#[test]
fn backoff_doubles_within_its_bounds_with_jitter() {
    let backoff = Backoff {
        initial: Duration::from_millis(100),
        max: Duration::from_secs(5),
    };
    for (failures, full) in [(1, 100), (2, 200), (3, 400), (7, 5000), (40, 5000), (u32::MAX, 5000)] {
        let full = Duration::from_millis(full);
        let delays: Vec<Duration> = (0..50).map(|_| backoff.delay(failures)).collect();
        assert!(
            delays.iter().all(|d| *d >= full / 2 && *d <= full),
            "{failures}: {delays:?}"
        );
        assert!(delays.iter().any(|d| *d != delays[0]), "jittered: {delays:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_reach_a_server_with_api_keys_when_the_key_is_given() {
    let key = "batch-job-0123456789abcdef";
    let server = TestServer::start(&["--api-keys", &format!("batch:{key}")]).await;
    let with_key = RemoteOptions {
        api_key: Some(key.into()),
        ..quick(vec![server.addr()])
    };
    let results: Vec<_> = summarize_stream(with_key, futures::stream::iter(rows(6)))
        .collect()
        .await;
    assert_all_answered(&results, 6);
    let without = RemoteOptions {
        max_attempts: 2,
        ..quick(vec![server.addr()])
    };
    let results: Vec<_> = summarize_stream(without, futures::stream::iter(rows(2)))
        .collect()
        .await;
    for (_, result) in &results {
        let err = result.as_ref().unwrap_err();
        assert_eq!(err.kind(), crate::error::ErrorKind::Unavailable, "{err}");
        assert!(err.to_string().contains("API key"), "says why: {err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_share_the_rows_and_results_come_in_input_order() {
    let a = TestServer::start(&["--workers", "1"]).await;
    let b = TestServer::start(&["--workers", "1"]).await;
    let stats = Arc::new(Stats::default());
    let count = 40;
    let mut items = rows(count);
    // Options travel: this row wants the extractive summary only.
    if let Ok(submission) = &mut items[3].1 {
        submission.options.outputs = Some(Outputs {
            extractive: true,
            abstractive: false,
            key_facts: false,
        });
        submission.options.sentences = Some(1);
    }
    let options = quick(vec![a.addr(), format!("http://{}", b.addr())]);
    let results: Vec<_> = observed(options, futures::stream::iter(items), Arc::clone(&stats))
        .collect()
        .await;
    assert_all_answered(&results, count);
    assert!(
        results[0].1.as_ref().unwrap().key_facts.is_some(),
        "key facts by default"
    );
    let extractive_only = results[3].1.as_ref().unwrap();
    assert!(extractive_only.key_facts.is_none(), "key facts were not asked for");
    assert_eq!(extractive_only.extractive.as_ref().unwrap().sentences.len(), 1);
    let answered = answered(&stats);
    assert!(answered.iter().all(|&n| n > 0), "both servers took rows: {answered:?}");
    assert_eq!(answered.iter().sum::<usize>(), count, "{answered:?}");
    assert_eq!(stats.retries.load(Ordering::Relaxed), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_refused_as_resource_exhausted_are_retried_until_answered() {
    let server = TestServer::start(&["--workers", "1", "--max-pending", "1"]).await;
    let stats = Arc::new(Stats::default());
    let count = 30;
    // Three streams to one server that admits one request at a time.
    let options = RemoteOptions {
        max_attempts: 500,
        initial_backoff: Duration::from_millis(2),
        max_backoff: Duration::from_millis(20),
        ..quick(vec![server.addr(); 3])
    };
    let results: Vec<_> = observed(options, futures::stream::iter(rows(count)), Arc::clone(&stats))
        .collect()
        .await;
    assert_all_answered(&results, count);
    assert!(
        stats.retries.load(Ordering::Relaxed) > 0,
        "the server refused some rows"
    );
    assert_eq!(answered(&stats).iter().sum::<usize>(), count);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_shut_down_mid_run_drains_and_the_other_finishes() {
    let mut a = TestServer::start(&["--workers", "1"]).await;
    let b = TestServer::start(&["--workers", "1"]).await;
    let stats = Arc::new(Stats::default());
    let count = 60;
    let options = quick(vec![a.addr(), b.addr()]);
    let mut results = Vec::new();
    let mut stream = observed(options, futures::stream::iter(rows(count)), Arc::clone(&stats));
    let a_stopped = Arc::new(AtomicBool::new(false));
    let mut after_stop = 0;
    let mut drained = None;
    while let Some(result) = stream.next().await {
        if a_stopped.load(Ordering::SeqCst) {
            after_stop += 1;
        }
        results.push(result);
        if drained.is_none() && results.len() >= 10 && answered(&stats)[0] >= 2 {
            let serving = a.shut_down();
            let stopped = Arc::clone(&a_stopped);
            drained = Some(tokio::spawn(async move {
                let outcome = serving.await.unwrap();
                stopped.store(true, Ordering::SeqCst);
                outcome
            }));
        }
    }
    assert_all_answered(&results, count);
    let drained = tokio::time::timeout(Duration::from_secs(20), drained.unwrap())
        .await
        .expect("the client let the server drain");
    assert!(matches!(drained, Ok(Ok(()))), "a clean shutdown: {drained:?}");
    assert!(after_stop > 0, "rows were answered after the server had stopped");
    assert_eq!(
        stats.lost.load(Ordering::Relaxed),
        0,
        "the draining server answered what it held"
    );
    let answered = answered(&stats);
    assert!(answered.iter().all(|&n| n > 0), "{answered:?}");
    assert_eq!(answered.iter().sum::<usize>(), count);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_on_a_cut_connection_are_sent_again_elsewhere() {
    let a = TestServer::start(&["--workers", "1"]).await;
    let b = TestServer::start(&["--workers", "1"]).await;
    let proxy = Proxy::start(a.addr).await;
    let stats = Arc::new(Stats::default());
    let count = 100;
    let options = quick(vec![proxy.addr.to_string(), b.addr()]);
    let mut results = Vec::new();
    let mut stream = observed(options, futures::stream::iter(rows(count)), Arc::clone(&stats));
    let mut cut = None;
    while let Some(result) = stream.next().await {
        results.push(result);
        if cut.is_none() && answered(&stats)[0] >= 2 {
            // Once its stream is up, the proxied server's answers stop coming; the rows it
            // holds hold up the output until the connection is cut.
            proxy.freeze();
            let task = proxy.task.abort_handle();
            cut = Some(tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(300)).await;
                task.abort();
            }));
        }
    }
    cut.unwrap().await.unwrap();
    proxy.cut();
    assert_all_answered(&results, count);
    assert!(
        stats.lost.load(Ordering::Relaxed) > 0,
        "rows were lost with the connection and resent"
    );
    assert_eq!(answered(&stats).iter().sum::<usize>(), count, "no row answered twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_servers_fail_rows_as_unavailable_in_bounded_time() {
    let refused = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    let options = RemoteOptions {
        max_attempts: 3,
        ..quick(vec![refused.clone(), "not a host:port".into()])
    };
    let mut items = rows(5);
    items[2].1 = Err(InvalidRequest::Unreadable("line 3: not JSON".into()).into());
    let started = Instant::now();
    let results: Vec<_> = summarize_stream(options, futures::stream::iter(items)).collect().await;
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    let tags: Vec<usize> = results.iter().map(|(tag, _)| *tag).collect();
    assert_eq!(tags, [0, 1, 2, 3, 4]);
    for (i, result) in &results {
        let err = result.as_ref().unwrap_err();
        if *i == 2 {
            assert!(
                matches!(err, ServiceError::InvalidRequest(InvalidRequest::Unreadable(_))),
                "{err}"
            );
            continue;
        }
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
        let message = err.to_string();
        assert!(
            message.contains(&refused) && message.contains("not a host:port"),
            "{message}"
        );
    }
    // No server at all: the same, at once.
    let results: Vec<_> = summarize_stream(RemoteOptions::default(), futures::stream::iter(rows(2)))
        .collect()
        .await;
    assert_eq!(results.len(), 2);
    assert!(results
        .iter()
        .all(|(_, r)| r.as_ref().unwrap_err().kind() == ErrorKind::Unavailable));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn input_errors_and_refused_rows_keep_their_place() {
    let server = TestServer::start(&["--max-body-bytes", "2000"]).await;
    let mut items = rows(6);
    items[1].1 = Err(InvalidRequest::Unreadable("line 2: not JSON".into()).into());
    if let Ok(submission) = &mut items[2].1 {
        submission.article.body = " ".into();
    }
    // Over the body limit, and over the server's message limit: each fails alone (a message
    // over the limit on the stream would fail every row on it).
    if let Ok(submission) = &mut items[3].1 {
        submission.article.body = BODY.repeat(8);
    }
    if let Ok(submission) = &mut items[4].1 {
        submission.article.body = BODY.repeat(300);
    }
    let results: Vec<_> = summarize_stream(quick(vec![server.addr()]), futures::stream::iter(items))
        .collect()
        .await;
    let tags: Vec<usize> = results.iter().map(|(tag, _)| *tag).collect();
    assert_eq!(tags, [0, 1, 2, 3, 4, 5]);
    assert_eq!(results[0].1.as_ref().unwrap().request_id, "row-0");
    let err = results[1].1.as_ref().unwrap_err();
    assert!(
        matches!(err, ServiceError::InvalidRequest(InvalidRequest::Unreadable(_))),
        "passed through: {err}"
    );
    assert_eq!(err.to_string(), "line 2: not JSON");
    for (i, needle) in [(2, "empty"), (3, "over this server's limit"), (4, "")] {
        let err = results[i].1.as_ref().unwrap_err();
        assert!(matches!(err, ServiceError::Remote { .. }), "row {i}: {err:?}");
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "row {i}: {err}");
        assert!(err.to_string().contains(needle), "row {i}: {err}");
    }
    assert_eq!(results[5].1.as_ref().unwrap().request_id, "row-5");
}
