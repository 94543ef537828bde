//! The client side of `newsgist batch --server ADDR[,ADDR...]`: archive rows summarised by
//! running newsgist servers over `SummarizerService.SummarizeStream` instead of local models.
//!
//! One coordinator (the returned stream itself: it works only while polled) owns every row.
//! It numbers the rows it reads, hands each to one server connection at a time, and yields
//! the results in input order from a reorder buffer. Each server address gets a worker task
//! (`worker.rs`) that connects, waits for SERVING, and runs one stream with at most
//! `in_flight_per_server` rows outstanding (fewer after RESOURCE_EXHAUSTED: the limit halves on
//! a refusal and grows back by one per answer). Rows refused with RESOURCE_EXHAUSTED or
//! UNAVAILABLE are retried after an exponential, jittered backoff; rows whose connection failed
//! are sent again at once to whichever server can take them. A row is final once answered:
//! the first final answer wins, and a late duplicate is dropped. When the server goes
//! NOT_SERVING (shutting down) the worker stops sending, lets the server answer what it holds
//! and closes the stream, so that the server's graceful shutdown is not held up by this client.
//!
//! Like `server/`, this is a tonic edge: the rest of the crate sees only [`Submission`]s,
//! [`SummaryResponse`]s and [`ServiceError`]s. Poll the stream on a tokio runtime.

mod convert;
mod worker;

use std::{
    cmp::Reverse,
    collections::{BTreeSet, BinaryHeap, VecDeque},
    hash::{BuildHasher, Hasher},
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use futures::{stream::BoxStream, Stream, StreamExt};
use tokio::{sync::mpsc, task::JoinHandle, time::Instant};
use tracing::{debug, info, warn};

use crate::{
    error::{ErrorKind, ServiceError},
    proto as pb,
    response::SummaryResponse,
    service::{Submission, Tagged},
};

/// Rows answered but waiting for an earlier row, allowed per row that may be outstanding.
const REORDER_FACTOR: usize = 3;

/// Where and how to send rows.
#[derive(Debug, Clone)]
pub struct RemoteOptions {
    /// Servers, "host:port" or "http://host:port". Each entry gets its own connection and
    /// stream; an address listed twice gets two.
    pub servers: Vec<String>,
    /// Rows outstanding at once on each server's stream.
    pub in_flight_per_server: usize,
    /// Tries per row: answers of RESOURCE_EXHAUSTED or UNAVAILABLE and rows lost with their
    /// connection count as failed tries. Also how many consecutive connection failures make
    /// a server count as down; when every server is down, waiting rows fail as UNAVAILABLE.
    pub max_attempts: u32,
    /// First retry or reconnect delay; it doubles per failure up to `max_backoff`, and each
    /// delay is drawn from its upper half.
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// Sent as `authorization: Bearer KEY` on every call, for servers with API keys.
    pub api_key: Option<String>,
    /// TLS to the servers.
    pub tls: RemoteTls,
}

/// How to reach servers over TLS. TLS is used for `https://` addresses, and for every address
/// once a CA or a client certificate is given; the system's CAs are trusted unless `ca_pem`
/// names the one to trust.
#[derive(Debug, Clone, Default)]
pub struct RemoteTls {
    /// The CA (PEM) the servers' certificates must chain to.
    pub ca_pem: Option<Vec<u8>>,
    /// A client certificate chain and its key (PEM), for servers that require mutual TLS.
    pub identity: Option<(Vec<u8>, Vec<u8>)>,
}

impl RemoteTls {
    /// True when plain `host:port` addresses are to be reached over TLS too.
    pub fn configured(&self) -> bool {
        self.ca_pem.is_some() || self.identity.is_some()
    }
}

impl Default for RemoteOptions {
    fn default() -> Self {
        RemoteOptions {
            servers: Vec::new(),
            in_flight_per_server: 8,
            max_attempts: 8,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            api_key: None,
            tls: RemoteTls::default(),
        }
    }
}

/// Summarises tagged submissions on the servers, yielding results in INPUT order, each exactly
/// once. An item that arrives as `Err` passes through unchanged in its place. Failures the
/// servers report become [`ServiceError::Remote`] with the kind of their gRPC code.
///
/// At most `servers x in_flight_per_server` rows are outstanding at once, and at most
/// `1 + 3` times that many are read ahead of the row the stream waits on.
pub fn summarize_stream<T, S>(options: RemoteOptions, items: S) -> BoxStream<'static, Tagged<T>>
where
    T: Send + 'static,
    S: Stream<Item = (T, Result<Submission, ServiceError>)> + Send + 'static,
{
    observed(options, items, Arc::default())
}

fn observed<T, S>(options: RemoteOptions, items: S, stats: Arc<Stats>) -> BoxStream<'static, Tagged<T>>
where
    T: Send + 'static,
    S: Stream<Item = (T, Result<Submission, ServiceError>)> + Send + 'static,
{
    let coordinator = Coordinator::new(options, items.boxed(), stats);
    futures::stream::unfold(coordinator, |mut coordinator| async move {
        let item = coordinator.next().await?;
        Some((item, coordinator))
    })
    .boxed()
}

/// Counters for tests and logs.
#[derive(Debug, Default)]
struct Stats {
    /// Answers of RESOURCE_EXHAUSTED or UNAVAILABLE.
    retries: AtomicUsize,
    /// Rows sent on a connection that failed before answering them.
    lost: AtomicUsize,
    /// Final answers per server.
    answered: Mutex<Vec<usize>>,
}

/// Exponential backoff with jitter.
#[derive(Debug, Clone, Copy)]
struct Backoff {
    initial: Duration,
    max: Duration,
}

impl Backoff {
    /// The wait after `failures` consecutive failures (1 for the first): `initial` doubled per
    /// further failure, capped at `max`, drawn from the upper half of that.
    fn delay(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(30);
        let full = self.initial.saturating_mul(1 << doublings).min(self.max);
        let half = full / 2;
        half + half.mul_f64(random_unit())
    }
}

/// A number in [0, 1), different on each call; good enough to spread retries.
fn random_unit() -> f64 {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(CALLS.fetch_add(1, Ordering::Relaxed));
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// A row for a worker to send.
struct Dispatch {
    seq: u64,
    /// Its request id is the row's sequence number.
    request: pb::SummarizeRequest,
}

/// What a worker tells the coordinator.
enum Event {
    /// The stream is open: send rows.
    Ready { server: usize },
    /// Send no more rows; the ones held still come back, answered or lost.
    NotReady { server: usize, why: NotReady },
    /// The server answered a row.
    Answer { server: usize, seq: u64, outcome: Outcome },
    /// A row handed to the worker will not be answered there. `sent`: it went out on a
    /// connection that then failed (it counts as a try).
    Lost {
        server: usize,
        seq: u64,
        sent: bool,
        reason: String,
    },
}

enum NotReady {
    /// Connecting or the stream failed, `failures` times in a row.
    Unreachable { failures: u32, error: String },
    /// Up, but not SERVING (loading models, or every worker being rebuilt).
    NotServing,
    /// The stream is closing (the server went NOT_SERVING, or the stream failed).
    Draining,
}

enum Outcome {
    Response(Box<pb::SummarizeResponse>),
    Error { code: i32, message: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RowState {
    /// Waiting for a server.
    Queued,
    /// With this server's worker.
    Held(usize),
    /// Waiting out a retry delay.
    Backoff,
    /// Answered (or failed); waiting for its turn to be yielded.
    Done,
}

struct Row<T> {
    tag: T,
    state: RowState,
    /// The request, kept for resending until the row is done.
    request: Option<pb::SummarizeRequest>,
    /// The caller's request id, restored in the response.
    request_id: String,
    key_facts: bool,
    /// Failed tries.
    attempts: u32,
    result: Option<Result<SummaryResponse, ServiceError>>,
}

struct Server {
    addr: String,
    dispatch: mpsc::UnboundedSender<Dispatch>,
    ready: bool,
    held: usize,
    /// Rows it may hold: `in_flight_per_server`, halved on each refusal, back up by one per
    /// answer.
    limit: usize,
    /// Consecutive connection failures, as its worker counts them.
    failures: u32,
    last_error: Option<String>,
}

/// Aborts the worker tasks when the stream is dropped.
struct Tasks(Vec<JoinHandle<()>>);

impl Drop for Tasks {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

struct Coordinator<T> {
    in_flight: usize,
    max_attempts: u32,
    backoff: Backoff,
    input: BoxStream<'static, (T, Result<Submission, ServiceError>)>,
    input_done: bool,
    /// Rows read and not yet yielded, from sequence number `first_seq` on.
    rows: VecDeque<Row<T>>,
    first_seq: u64,
    /// Rows waiting for a server, lowest first: earlier rows hold up the output.
    queued: BTreeSet<u64>,
    /// Retry times of rows in backoff.
    timers: BinaryHeap<Reverse<(Instant, u64)>>,
    /// Rows read from `items` as submissions and not yet done.
    outstanding: usize,
    /// Most rows read and not yet yielded.
    window: usize,
    servers: Vec<Server>,
    events: mpsc::UnboundedReceiver<Event>,
    /// Kept so that `events` stays open whatever the workers do.
    _events_tx: mpsc::UnboundedSender<Event>,
    /// Workers not started yet: they start on the first poll, on the caller's runtime.
    idle_workers: Vec<worker::Worker>,
    _tasks: Tasks,
    next_server: usize,
    stats: Arc<Stats>,
}

impl<T> Coordinator<T> {
    fn new(
        options: RemoteOptions,
        input: BoxStream<'static, (T, Result<Submission, ServiceError>)>,
        stats: Arc<Stats>,
    ) -> Coordinator<T> {
        let in_flight = options.in_flight_per_server.max(1);
        let backoff = Backoff {
            initial: options.initial_backoff,
            max: options.max_backoff.max(options.initial_backoff),
        };
        let (events_tx, events) = mpsc::unbounded_channel();
        let mut servers = Vec::new();
        let mut idle_workers = Vec::new();
        for (server, addr) in options.servers.iter().enumerate() {
            let (dispatch, dispatched) = mpsc::unbounded_channel();
            servers.push(Server {
                addr: addr.clone(),
                dispatch,
                ready: false,
                held: 0,
                limit: in_flight,
                failures: 0,
                last_error: None,
            });
            idle_workers.push(worker::Worker {
                server,
                addr: addr.clone(),
                api_key: options.api_key.clone(),
                tls: options.tls.clone(),
                backoff,
                events: events_tx.clone(),
                dispatch: dispatched,
            });
        }
        *stats.answered.lock().unwrap() = vec![0; servers.len()];
        let capacity = servers.len() * in_flight;
        Coordinator {
            in_flight,
            max_attempts: options.max_attempts.max(1),
            backoff,
            input,
            input_done: false,
            rows: VecDeque::new(),
            first_seq: 0,
            queued: BTreeSet::new(),
            timers: BinaryHeap::new(),
            outstanding: 0,
            window: (capacity * (1 + REORDER_FACTOR)).max(1),
            servers,
            events,
            _events_tx: events_tx,
            idle_workers,
            _tasks: Tasks(Vec::new()),
            next_server: 0,
            stats,
        }
    }

    /// The next result in input order; `None` once the input is done and every row yielded.
    async fn next(&mut self) -> Option<Tagged<T>> {
        for worker in self.idle_workers.drain(..) {
            self._tasks.0.push(tokio::spawn(worker.run()));
        }
        loop {
            if self.rows.front().is_some_and(|row| row.state == RowState::Done) {
                let row = self.rows.pop_front().expect("a front row");
                self.first_seq += 1;
                return Some((row.tag, row.result.expect("a done row has its result")));
            }
            if self.input_done && self.rows.is_empty() {
                return None;
            }
            self.dispatch();
            if self.rows.front().is_some_and(|row| row.state == RowState::Done) {
                continue;
            }
            let pull = self.can_pull();
            let timer = self.timers.peek().map(|Reverse((at, _))| *at);
            tokio::select! {
                biased;
                Some(event) = self.events.recv() => self.handle(event),
                () = tokio::time::sleep_until(timer.unwrap_or_else(Instant::now)), if timer.is_some() => {
                    self.fire_timers();
                }
                item = self.input.next(), if pull => match item {
                    Some((tag, submission)) => self.admit(tag, submission),
                    None => self.input_done = true,
                },
            }
        }
    }

    fn all_down(&self) -> bool {
        self.servers.iter().all(|server| server.failures >= self.max_attempts)
    }

    /// Whether to read another row: the window has room, and a server can take the row now
    /// (or every server is down, and the row fails at once).
    fn can_pull(&self) -> bool {
        if self.input_done || self.rows.len() >= self.window {
            return false;
        }
        if self.all_down() {
            return true;
        }
        self.outstanding < self.servers.len() * self.in_flight
            && self.queued.is_empty()
            && self.servers.iter().any(|s| s.ready && s.held < s.limit)
    }

    fn admit(&mut self, tag: T, submission: Result<Submission, ServiceError>) {
        let seq = self.first_seq + self.rows.len() as u64;
        let mut row = Row {
            tag,
            state: RowState::Done,
            request: None,
            request_id: String::new(),
            key_facts: false,
            attempts: 0,
            result: None,
        };
        match submission {
            Err(err) => row.result = Some(Err(err)),
            Ok(submission) => {
                row.key_facts = convert::wants_key_facts(&submission.options);
                let mut request = convert::request(submission);
                row.request_id = std::mem::replace(&mut request.request_id, seq.to_string());
                row.request = Some(request);
                row.state = RowState::Queued;
                self.queued.insert(seq);
                self.outstanding += 1;
            }
        }
        self.rows.push_back(row);
    }

    fn index(&self, seq: u64) -> Option<usize> {
        let index = usize::try_from(seq.checked_sub(self.first_seq)?).ok()?;
        (index < self.rows.len()).then_some(index)
    }

    fn finish(&mut self, index: usize, result: Result<SummaryResponse, ServiceError>) {
        let row = &mut self.rows[index];
        debug_assert_ne!(row.state, RowState::Done);
        row.state = RowState::Done;
        row.request = None;
        row.result = Some(result);
        self.outstanding -= 1;
    }

    /// Hands queued rows, lowest first, to the least loaded servers that can take them; when
    /// every server is down, fails every row that waits instead.
    fn dispatch(&mut self) {
        if self.all_down() {
            if self.outstanding > 0 {
                let message = self.unreachable();
                let waiting: Vec<usize> = (0..self.rows.len())
                    .filter(|&i| matches!(self.rows[i].state, RowState::Queued | RowState::Backoff))
                    .collect();
                if !waiting.is_empty() {
                    warn!(rows = waiting.len(), "{message}");
                }
                for index in waiting {
                    let message = message.clone();
                    self.finish(
                        index,
                        Err(ServiceError::Remote {
                            kind: ErrorKind::Unavailable,
                            message,
                        }),
                    );
                }
                self.queued.clear();
            }
            return;
        }
        while let Some(&seq) = self.queued.first() {
            let Some(server) = self.pick() else {
                break;
            };
            self.queued.pop_first();
            let index = self.index(seq).expect("queued rows are in the window");
            let request = self.rows[index]
                .request
                .clone()
                .expect("a queued row keeps its request");
            if self.servers[server].dispatch.send(Dispatch { seq, request }).is_err() {
                // Its worker is gone (it only goes with the coordinator, short of a panic).
                let server = &mut self.servers[server];
                server.ready = false;
                server.failures = u32::MAX;
                server.last_error = Some("its connection task stopped".into());
                self.queued.insert(seq);
                continue;
            }
            self.rows[index].state = RowState::Held(server);
            self.servers[server].held += 1;
        }
    }

    /// The ready server with the fewest rows and room for one more; ties go round.
    fn pick(&mut self) -> Option<usize> {
        let count = self.servers.len();
        let best = (0..count)
            .map(|k| (self.next_server + k) % count)
            .filter(|&i| self.servers[i].ready && self.servers[i].held < self.servers[i].limit)
            .min_by_key(|&i| self.servers[i].held)?;
        self.next_server = (best + 1) % count;
        Some(best)
    }

    fn unreachable(&self) -> String {
        if self.servers.is_empty() {
            return "no newsgist server was given".into();
        }
        let servers: Vec<String> = self
            .servers
            .iter()
            .map(|server| match &server.last_error {
                Some(error) => format!("{} ({error})", server.addr),
                None => server.addr.clone(),
            })
            .collect();
        format!(
            "no newsgist server could be reached, {} tries each: {}",
            self.max_attempts,
            servers.join("; ")
        )
    }

    fn fire_timers(&mut self) {
        let now = Instant::now();
        while let Some(&Reverse((at, seq))) = self.timers.peek() {
            if at > now {
                break;
            }
            self.timers.pop();
            if let Some(index) = self.index(seq) {
                if self.rows[index].state == RowState::Backoff {
                    self.rows[index].state = RowState::Queued;
                    self.queued.insert(seq);
                }
            }
        }
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Ready { server } => {
                let server = &mut self.servers[server];
                if server.failures > 0 || server.last_error.is_some() {
                    info!(server = %server.addr, "newsgist server reachable again");
                }
                server.ready = true;
                server.last_error = None;
                debug!(server = %server.addr, "stream open");
            }
            Event::NotReady { server, why } => {
                let max_attempts = self.max_attempts;
                let server = &mut self.servers[server];
                server.ready = false;
                match why {
                    NotReady::Unreachable { failures, error } => {
                        if failures == 1 || failures == max_attempts {
                            warn!(server = %server.addr, failures, %error, "newsgist server unreachable");
                        } else {
                            debug!(server = %server.addr, failures, %error, "newsgist server unreachable");
                        }
                        server.failures = failures;
                        server.last_error = Some(error);
                    }
                    NotReady::NotServing => {
                        debug!(server = %server.addr, "newsgist server up but not serving");
                        server.failures = 0;
                    }
                    NotReady::Draining => {}
                }
            }
            Event::Answer { server, seq, outcome } => {
                let server_state = &mut self.servers[server];
                server_state.held = server_state.held.saturating_sub(1);
                server_state.failures = 0;
                self.answered(server, seq, outcome);
            }
            Event::Lost {
                server,
                seq,
                sent,
                reason,
            } => {
                let server_state = &mut self.servers[server];
                server_state.held = server_state.held.saturating_sub(1);
                self.lost(server, seq, sent, &reason);
            }
        }
    }

    fn answered(&mut self, server: usize, seq: u64, outcome: Outcome) {
        let Some(index) = self.index(seq) else {
            return; // yielded already
        };
        let row = &mut self.rows[index];
        if row.state == RowState::Done {
            return; // a late duplicate: the first final answer won
        }
        match outcome {
            Outcome::Response(response) => {
                let result = convert::response(*response, row.key_facts)
                    .map(|mut response| {
                        response.request_id = std::mem::take(&mut row.request_id);
                        response
                    })
                    .map_err(|err| ServiceError::Remote {
                        kind: ErrorKind::Internal,
                        message: format!("{err} (from {})", self.servers[server].addr),
                    });
                let server_state = &mut self.servers[server];
                server_state.limit = (server_state.limit + 1).min(self.in_flight);
                self.stats.answered.lock().unwrap()[server] += 1;
                self.finish(index, result);
            }
            Outcome::Error { code, message } => {
                let kind = convert::error_kind(code);
                if !matches!(kind, ErrorKind::ResourceExhausted | ErrorKind::Unavailable) {
                    self.stats.answered.lock().unwrap()[server] += 1;
                    self.finish(index, Err(ServiceError::Remote { kind, message }));
                    return;
                }
                if row.state != RowState::Held(server) {
                    return; // a refusal of a copy no longer current
                }
                self.stats.retries.fetch_add(1, Ordering::Relaxed);
                row.attempts += 1;
                let attempts = row.attempts;
                let server_state = &mut self.servers[server];
                if kind == ErrorKind::ResourceExhausted {
                    server_state.limit = (server_state.limit / 2).max(1);
                }
                if attempts >= self.max_attempts {
                    let message = format!(
                        "{message} (gave up after {attempts} tries; the last answer was from {})",
                        server_state.addr
                    );
                    self.stats.answered.lock().unwrap()[server] += 1;
                    self.finish(index, Err(ServiceError::Remote { kind, message }));
                } else {
                    debug!(seq, attempts, server = %server_state.addr, code = kind.name(), "row refused; retrying");
                    self.rows[index].state = RowState::Backoff;
                    let at = Instant::now() + self.backoff.delay(attempts);
                    self.timers.push(Reverse((at, seq)));
                }
            }
        }
    }

    fn lost(&mut self, server: usize, seq: u64, sent: bool, reason: &str) {
        let Some(index) = self.index(seq) else {
            return;
        };
        let row = &mut self.rows[index];
        if row.state != RowState::Held(server) {
            return;
        }
        if sent {
            self.stats.lost.fetch_add(1, Ordering::Relaxed);
            row.attempts += 1;
        }
        if row.attempts >= self.max_attempts {
            let message = format!(
                "lost in transit {} times; last from {}: {reason}",
                row.attempts, self.servers[server].addr
            );
            self.finish(
                index,
                Err(ServiceError::Remote {
                    kind: ErrorKind::Unavailable,
                    message,
                }),
            );
        } else {
            row.state = RowState::Queued;
            self.queued.insert(seq);
        }
    }
}

#[cfg(test)]
mod tests;
