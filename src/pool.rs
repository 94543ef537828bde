//! The model worker pool. rust-bert models are `Send` but not `Sync` and inference blocks, so
//! each worker is a dedicated OS thread that builds and owns its own models; requests reach
//! the workers through a bounded queue and come back on a oneshot channel.
//!
//! Admission control happens before the queue: at most `max_pending` requests (running plus
//! queued) are admitted, and the next one is refused at once with [`PoolError::Overloaded`]
//! rather than waiting without bound.

use std::{
    panic::{catch_unwind, AssertUnwindSafe},
    sync::Arc,
    thread::JoinHandle,
    time::{Duration, Instant},
};

use crossbeam_channel::{Receiver, Sender};
use metrics::{counter, gauge, histogram};
use tokio::sync::{oneshot, watch, OwnedSemaphorePermit, Semaphore};
use tracing::{error, info, info_span, warn, Span};

use crate::telemetry;

/// The work a pool's threads do. Each worker owns one handler.
pub trait Handler: Send + 'static {
    type Request: Send + 'static;
    type Response: Send + 'static;
    type Error: Send + 'static;
    /// What requests must share to be handled in one batch.
    type BatchKey: PartialEq;

    /// Requests with equal keys may be handled together in one [`Handler::handle_batch`]
    /// call; the cost counts against [`PoolConfig::batch_budget`]. `None`: handled alone.
    fn batch_key(&self, request: &Self::Request) -> Option<(Self::BatchKey, usize)>;

    /// Handles requests; one result per request, in order.
    fn handle_batch(&mut self, requests: Vec<Queued<Self::Request>>) -> Vec<Result<Self::Response, Self::Error>>;
}

/// A request as a worker takes it from the queue.
#[derive(Debug)]
pub struct Queued<R> {
    pub request: R,
    /// How long it waited for a worker.
    pub waited: Duration,
    /// When its caller stops waiting: work on it past this point is wasted.
    pub deadline: Option<Instant>,
}

impl<R> Queued<R> {
    /// True once the deadline has passed.
    pub fn expired(&self) -> bool {
        expired(self.deadline)
    }
}

/// Why the pool could not deliver a response.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    #[error("server is at capacity ({max_pending} requests running or queued): retry with backoff")]
    Overloaded { max_pending: usize },
    #[error("the request's deadline passed before a worker could finish it")]
    DeadlineExceeded,
    #[error("the server is shutting down")]
    ShuttingDown,
    #[error("the worker handling this request crashed; the request was not completed (the worker has been restarted)")]
    WorkerPanicked,
}

/// A submitted request's failure: the pool's, or the handler's own error.
#[derive(Debug)]
pub enum SubmitError<E> {
    Pool(PoolError),
    Handler(E),
}

impl<E> From<PoolError> for SubmitError<E> {
    fn from(err: PoolError) -> Self {
        SubmitError::Pool(err)
    }
}

/// Building a worker's handler panicked (libtorch loaders can); the panic message is in
/// the log.
#[derive(Debug, thiserror::Error)]
#[error("building a worker panicked; see the log for the panic message")]
pub struct BuildPanicked;

impl From<BuildPanicked> for String {
    fn from(err: BuildPanicked) -> String {
        err.to_string()
    }
}

/// Sizing of a pool.
#[derive(Debug, Clone, Copy)]
pub struct PoolConfig {
    pub workers: usize,
    /// Requests admitted at once: running plus queued.
    pub max_pending: usize,
    /// Most requests handled in one batch.
    pub max_batch: usize,
    /// Most total cost (see [`Handler::batch_key`]) in one batch.
    pub batch_budget: usize,
}

type Reply<H> = oneshot::Sender<Result<<H as Handler>::Response, SubmitError<<H as Handler>::Error>>>;

struct Job<H: Handler> {
    request: H::Request,
    reply: Reply<H>,
    deadline: Option<Instant>,
    enqueued_at: Instant,
    span: Span,
    // Held until the reply was sent: admission counts running work too.
    _permit: Admitted,
}

/// An admission slot, held (not read) until dropped; the admitted-requests gauge follows the
/// slots in use.
struct Admitted {
    _permit: OwnedSemaphorePermit,
}

impl Admitted {
    fn new(permit: OwnedSemaphorePermit) -> Admitted {
        gauge!(telemetry::ADMITTED).increment(1.0);
        Admitted { _permit: permit }
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        gauge!(telemetry::ADMITTED).decrement(1.0);
    }
}

/// A fixed set of worker threads, each owning a [`Handler`].
pub struct WorkerPool<H: Handler> {
    jobs: Option<Sender<Job<H>>>,
    admission: Arc<Semaphore>,
    config: PoolConfig,
    live: Arc<watch::Sender<usize>>,
    stuck: Arc<watch::Sender<usize>>,
    threads: Vec<JoinHandle<()>>,
}

/// Pause between attempts to rebuild a crashed worker.
const REBUILD_RETRY: Duration = if cfg!(test) {
    Duration::from_millis(5)
} else {
    Duration::from_secs(1)
};

/// Failed rebuilds in a row after which a worker counts as stuck (about 30 s): a model that
/// no longer loads, say. A process whose every worker is stuck cannot serve at all, and its
/// liveness says so, so that it is restarted.
const REBUILD_ATTEMPTS_BEFORE_STUCK: u32 = 30;

/// A job just taken off the queue (the queue-depth gauge counts it out), or none.
fn dequeued<J>(job: Option<J>) -> Option<J> {
    if job.is_some() {
        gauge!(telemetry::QUEUE_DEPTH).decrement(1.0);
    }
    job
}

/// True when `deadline` has passed. The one deadline test of the pool: before a request is
/// queued, and again when a worker takes it.
fn expired(deadline: Option<Instant>) -> bool {
    deadline.is_some_and(|d| d <= Instant::now())
}

impl<H: Handler> WorkerPool<H> {
    /// Starts `config.workers` threads, each building its handler with `build(worker_index)`,
    /// and returns once every handler is built (models loaded, warm-up done), so that the
    /// caller can report SERVING only when the pool can serve. Blocks: call it from a thread
    /// that may block.
    pub fn start<F, E>(config: PoolConfig, build: F) -> Result<Self, E>
    where
        F: Fn(usize) -> Result<H, E> + Send + Sync + 'static,
        E: std::fmt::Display + From<BuildPanicked> + Send + 'static,
    {
        let (jobs, queue) = crossbeam_channel::bounded::<Job<H>>(config.max_pending);
        let build = Arc::new(build);
        let live = Arc::new(watch::Sender::new(0));
        let stuck = Arc::new(watch::Sender::new(0));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let mut threads = Vec::with_capacity(config.workers);
        for index in 0..config.workers {
            let queue = queue.clone();
            let build = Arc::clone(&build);
            let ready = ready_tx.clone();
            let live = Arc::clone(&live);
            let stuck = Arc::clone(&stuck);
            let thread = std::thread::Builder::new()
                .name(format!("newsgist-worker-{index}"))
                .spawn(move || match catch_unwind(AssertUnwindSafe(|| build(index))) {
                    Ok(Ok(handler)) => {
                        let worker = Worker {
                            index,
                            config,
                            live,
                            stuck,
                            rebuild: |i| build(i).map_err(|e| e.to_string()),
                        };
                        // Live before start-up returns, so that readiness counts it.
                        worker.add_live(1);
                        let _ = ready.send(Ok(()));
                        drop(ready);
                        worker.run(handler, queue);
                    }
                    Ok(Err(err)) => {
                        let _ = ready.send(Err(err));
                    }
                    Err(_) => {
                        let _ = ready.send(Err(BuildPanicked.into()));
                    }
                })
                .expect("spawning a worker thread");
            threads.push(thread);
        }
        drop(ready_tx);
        let mut first_error = None;
        for outcome in ready_rx.iter().take(config.workers) {
            if let Err(err) = outcome {
                first_error.get_or_insert(err);
            }
        }
        let pool = WorkerPool {
            jobs: Some(jobs),
            admission: Arc::new(Semaphore::new(config.max_pending)),
            config,
            live,
            stuck,
            threads,
        };
        match first_error {
            Some(err) => Err(err),
            None => Ok(pool),
        }
    }

    /// The pool's sizing.
    pub fn config(&self) -> PoolConfig {
        self.config
    }

    /// How many workers can take work now; it drops while a crashed worker is rebuilt.
    pub fn live_workers(&self) -> watch::Receiver<usize> {
        self.live.subscribe()
    }

    /// How many workers have failed to be rebuilt [`REBUILD_ATTEMPTS_BEFORE_STUCK`] times in a
    /// row and are still failing.
    pub fn stuck_workers(&self) -> watch::Receiver<usize> {
        self.stuck.subscribe()
    }

    /// Runs `request` on a worker. Refused at once when the pool is full. When `deadline`
    /// passes, the caller gets [`PoolError::DeadlineExceeded`], and a worker that has not
    /// started the request yet skips it.
    pub async fn submit(
        &self,
        request: H::Request,
        deadline: Option<Instant>,
    ) -> Result<H::Response, SubmitError<H::Error>> {
        let permit = Arc::clone(&self.admission).try_acquire_owned().map_err(|_| {
            counter!(telemetry::REFUSED).increment(1);
            PoolError::Overloaded {
                max_pending: self.config.max_pending,
            }
        })?;
        let permit = Admitted::new(permit);
        if expired(deadline) {
            return Err(PoolError::DeadlineExceeded.into());
        }
        let (reply, response) = oneshot::channel();
        let job = Job {
            request,
            reply,
            deadline,
            enqueued_at: Instant::now(),
            span: Span::current(),
            _permit: permit,
        };
        let jobs = self.jobs.as_ref().ok_or(PoolError::ShuttingDown)?;
        jobs.try_send(job).map_err(|_| PoolError::ShuttingDown)?;
        gauge!(telemetry::QUEUE_DEPTH).increment(1.0);
        // The reply is dropped unanswered only if the worker thread died.
        let answered = async { response.await.map_err(|_| PoolError::WorkerPanicked)? };
        match deadline {
            // Giving up drops the reply channel, which tells the worker to skip the request.
            Some(deadline) => tokio::time::timeout_at(deadline.into(), answered)
                .await
                .map_err(|_| PoolError::DeadlineExceeded)?,
            None => answered.await,
        }
    }

    /// Stops taking work, lets the workers finish what is queued, and joins them.
    fn stop(&mut self) {
        self.jobs.take();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

impl<H: Handler> Drop for WorkerPool<H> {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One worker thread's settings and how it rebuilds its handler after a panic.
struct Worker<R> {
    index: usize,
    config: PoolConfig,
    live: Arc<watch::Sender<usize>>,
    stuck: Arc<watch::Sender<usize>>,
    rebuild: R,
}

impl<R> Worker<R> {
    fn run<H: Handler>(&self, mut handler: H, queue: Receiver<Job<H>>)
    where
        R: Fn(usize) -> Result<H, String>,
    {
        // A job taken from the queue that did not fit the last batch; it goes first next time.
        let mut held_back: Option<Job<H>> = None;
        loop {
            let Some(first) = held_back.take().or_else(|| dequeued(queue.recv().ok())) else {
                break;
            };
            let Some(first) = self.admit(first) else { continue };
            let mut batch = vec![first];
            if let Some((key, mut cost)) = handler.batch_key(&batch[0].request) {
                // Join what is already waiting, without blocking: batching must never add latency.
                while batch.len() < self.config.max_batch {
                    let Some(job) = dequeued(queue.try_recv().ok()) else {
                        break;
                    };
                    let Some(job) = self.admit(job) else { continue };
                    match handler.batch_key(&job.request) {
                        Some((other, extra)) if other == key && cost + extra <= self.config.batch_budget => {
                            cost += extra;
                            batch.push(job);
                        }
                        _ => {
                            held_back = Some(job);
                            break;
                        }
                    }
                }
            }
            if !self.run_batch(&mut handler, batch) {
                self.add_live(-1);
                handler = self.rebuild_until_ok();
                self.add_live(1);
                counter!(telemetry::WORKER_RESTARTS).increment(1);
            }
        }
    }

    /// Changes the live-worker count by `delta`, for health and the live-workers gauge.
    fn add_live(&self, delta: isize) {
        self.live.send_modify(|n| {
            *n = n.saturating_add_signed(delta);
            gauge!(telemetry::LIVE_WORKERS).set(*n as f64);
        });
    }

    /// The job, unless its caller has gone or its deadline passed (then it is answered here).
    fn admit<H: Handler>(&self, job: Job<H>) -> Option<Job<H>> {
        if job.reply.is_closed() {
            info!(worker = self.index, "skipped a request whose caller has gone");
            return None;
        }
        if expired(job.deadline) {
            let _ = job.reply.send(Err(PoolError::DeadlineExceeded.into()));
            return None;
        }
        Some(job)
    }

    /// Runs one batch and replies to each job. False when the handler panicked: every job of
    /// the batch then fails, and the handler must be rebuilt.
    fn run_batch<H: Handler>(&self, handler: &mut H, batch: Vec<Job<H>>) -> bool {
        // A child of the first request, so that the worker's log lines carry its id, and
        // linked to every request it holds, so that a trace shows the batch each ran in.
        let span = info_span!(parent: &batch[0].span, "batch", worker = self.index, size = batch.len());
        for job in &batch {
            span.follows_from(&job.span);
        }
        let _entered = span.enter();
        let mut replies = Vec::with_capacity(batch.len());
        let mut requests = Vec::with_capacity(batch.len());
        for job in batch {
            requests.push(Queued {
                request: job.request,
                waited: job.enqueued_at.elapsed(),
                deadline: job.deadline,
            });
            replies.push((job.reply, job._permit));
        }
        let size = requests.len();
        histogram!(telemetry::BATCH_SIZE).record(size as f64);
        match catch_unwind(AssertUnwindSafe(|| handler.handle_batch(requests))) {
            Ok(results) => {
                debug_assert_eq!(results.len(), size, "one result per request");
                for ((reply, _permit), result) in replies.into_iter().zip(results) {
                    let _ = reply.send(result.map_err(SubmitError::Handler));
                }
                true
            }
            Err(_) => {
                error!(
                    worker = self.index,
                    batch = size,
                    "worker panicked; failing its requests and rebuilding it"
                );
                for (reply, _permit) in replies {
                    let _ = reply.send(Err(PoolError::WorkerPanicked.into()));
                }
                false
            }
        }
    }

    fn rebuild_until_ok<H>(&self) -> H
    where
        R: Fn(usize) -> Result<H, String>,
    {
        let mut failures = 0u32;
        loop {
            match catch_unwind(AssertUnwindSafe(|| (self.rebuild)(self.index)))
                .unwrap_or_else(|_| Err(BuildPanicked.to_string()))
            {
                Ok(handler) => {
                    if failures >= REBUILD_ATTEMPTS_BEFORE_STUCK {
                        self.stuck.send_modify(|n| *n -= 1);
                        info!(worker = self.index, failures, "worker rebuilt after all");
                    }
                    return handler;
                }
                Err(err) => {
                    failures += 1;
                    if failures == REBUILD_ATTEMPTS_BEFORE_STUCK {
                        self.stuck.send_modify(|n| *n += 1);
                        error!(worker = self.index, failures, %err, "worker cannot be rebuilt; still trying");
                    } else {
                        warn!(worker = self.index, %err, "rebuilding worker failed; retrying in {REBUILD_RETRY:?}");
                    }
                    std::thread::sleep(REBUILD_RETRY);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sleeps for the requested milliseconds, panics on `u64::MAX`, and counts its builds.
    struct Sleeper {
        builds: Arc<std::sync::atomic::AtomicUsize>,
    }

    impl Handler for Sleeper {
        type Request = u64;
        type Response = (usize, usize);
        type Error = String;
        type BatchKey = ();

        /// Even durations may share a batch; odd ones run alone.
        fn batch_key(&self, millis: &u64) -> Option<((), usize)> {
            millis.is_multiple_of(2).then_some(((), 1))
        }

        /// Sleeps for the longest request, and answers (builds so far, batch size).
        fn handle_batch(&mut self, requests: Vec<Queued<u64>>) -> Vec<Result<(usize, usize), String>> {
            assert!(requests.iter().all(|q| q.request != u64::MAX), "asked to panic");
            let longest = requests.iter().map(|q| q.request).max().unwrap_or(0);
            std::thread::sleep(Duration::from_millis(longest));
            let builds = self.builds.load(std::sync::atomic::Ordering::SeqCst);
            requests.iter().map(|_| Ok((builds, requests.len()))).collect()
        }
    }

    fn pool(workers: usize, max_pending: usize) -> (WorkerPool<Sleeper>, Arc<std::sync::atomic::AtomicUsize>) {
        let builds = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = Arc::clone(&builds);
        let pool = WorkerPool::start(
            PoolConfig {
                workers,
                max_pending,
                max_batch: 4,
                batch_budget: 4,
            },
            move |_| {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                Ok::<_, String>(Sleeper {
                    builds: Arc::clone(&counter),
                })
            },
        )
        .unwrap();
        (pool, builds)
    }

    /// Submits in a background task, so the test can act while the request runs.
    fn spawn_submit(
        pool: &Arc<WorkerPool<Sleeper>>,
        millis: u64,
    ) -> tokio::task::JoinHandle<Result<(usize, usize), SubmitError<String>>> {
        let pool = Arc::clone(pool);
        tokio::spawn(async move { pool.submit(millis, None).await })
    }

    #[tokio::test]
    async fn refuses_work_beyond_max_pending() {
        let (pool, _) = pool(1, 2);
        let pool = Arc::new(pool);
        let slow: Vec<_> = (0..2).map(|_| spawn_submit(&pool, 300)).collect();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let refused = pool.submit(0, None).await.unwrap_err();
        assert!(
            matches!(refused, SubmitError::Pool(PoolError::Overloaded { max_pending: 2 })),
            "{refused:?}"
        );
        for task in slow {
            assert!(task.await.unwrap().is_ok());
        }
        assert!(
            pool.submit(0, None).await.is_ok(),
            "capacity is released after completion"
        );
    }

    #[tokio::test]
    async fn a_panic_fails_one_request_and_the_worker_is_rebuilt() {
        let (pool, builds) = pool(1, 4);
        let err = pool.submit(u64::MAX, None).await.unwrap_err();
        assert!(matches!(err, SubmitError::Pool(PoolError::WorkerPanicked)), "{err:?}");
        let (builds_seen, _) = pool.submit(0, None).await.unwrap();
        assert_eq!(builds_seen, 2, "the worker was rebuilt after the panic");
        assert_eq!(builds.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn skips_requests_whose_deadline_passed_in_the_queue() {
        let (pool, _) = pool(1, 4);
        let pool = Arc::new(pool);
        let blocker = spawn_submit(&pool, 200);
        tokio::time::sleep(Duration::from_millis(20)).await;
        let deadline = Instant::now() + Duration::from_millis(50);
        let err = pool.submit(0, Some(deadline)).await.unwrap_err();
        assert!(matches!(err, SubmitError::Pool(PoolError::DeadlineExceeded)), "{err:?}");
        assert!(blocker.await.unwrap().is_ok());
    }

    #[tokio::test]
    async fn waiting_requests_with_the_same_key_are_batched_up_to_the_cap() {
        let (pool, _) = pool(1, 16);
        let pool = Arc::new(pool);
        let blocker = spawn_submit(&pool, 101);
        tokio::time::sleep(Duration::from_millis(20)).await;
        let waiting: Vec<_> = [2u64, 4, 6, 8, 10, 3]
            .into_iter()
            .map(|millis| spawn_submit(&pool, millis))
            .collect();
        assert_eq!(blocker.await.unwrap().unwrap().1, 1, "odd requests run alone");
        let mut sizes = Vec::new();
        for task in waiting {
            sizes.push(task.await.unwrap().unwrap().1);
        }
        assert_eq!(
            sizes[..4],
            [4, 4, 4, 4],
            "the first four even requests share a batch (cap 4)"
        );
        assert_eq!(sizes[4], 1, "the fifth even one did not fit: {sizes:?}");
        assert_eq!(sizes[5], 1, "odd requests run alone");
    }

    /// One worker, one request per batch, built (and rebuilt) by `build`.
    fn one_worker_pool(
        build: impl Fn(usize) -> Result<Sleeper, String> + Send + Sync + 'static,
    ) -> WorkerPool<Sleeper> {
        let config = PoolConfig {
            workers: 1,
            max_pending: 4,
            max_batch: 1,
            batch_budget: 1,
        };
        WorkerPool::start(config, build).unwrap()
    }

    #[tokio::test]
    async fn live_workers_drop_while_a_crashed_worker_is_rebuilt() {
        let counter = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let pool = one_worker_pool(move |_| {
            // Every build after the first takes a while, as reloading models does.
            if counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst) > 0 {
                std::thread::sleep(Duration::from_millis(300));
            }
            Ok(Sleeper {
                builds: Arc::clone(&counter),
            })
        });
        let mut live = pool.live_workers();
        assert_eq!(*live.borrow_and_update(), 1);
        assert!(pool.submit(u64::MAX, None).await.is_err());
        live.changed().await.unwrap();
        assert_eq!(*live.borrow_and_update(), 0, "no worker is live while it is rebuilt");
        live.changed().await.unwrap();
        assert_eq!(*live.borrow_and_update(), 1, "the rebuilt worker is live again");
        assert_eq!(pool.submit(0, None).await.unwrap().0, 2);
    }

    #[tokio::test]
    async fn a_worker_that_cannot_be_rebuilt_counts_as_stuck_until_it_is() {
        let counter = std::sync::atomic::AtomicU32::new(0);
        let pool = one_worker_pool(move |_| {
            // The first build works; the next ones fail for a while, then one works.
            let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if n == 0 || n > REBUILD_ATTEMPTS_BEFORE_STUCK + 5 {
                Ok(Sleeper { builds: Arc::default() })
            } else {
                Err(format!("model file gone (attempt {n})"))
            }
        });
        let mut stuck = pool.stuck_workers();
        assert_eq!(*stuck.borrow_and_update(), 0);
        assert!(pool.submit(u64::MAX, None).await.is_err(), "the worker crashes");
        stuck.changed().await.unwrap();
        assert_eq!(*stuck.borrow_and_update(), 1, "stuck after failing again and again");
        assert_eq!(*pool.live_workers().borrow(), 0);
        stuck.changed().await.unwrap();
        assert_eq!(*stuck.borrow_and_update(), 0, "no longer stuck once rebuilt");
        assert!(pool.submit(0, None).await.is_ok());
    }

    #[tokio::test]
    async fn a_request_past_its_deadline_fails_at_once() {
        let (pool, _) = pool(1, 4);
        let err = pool.submit(0, Some(Instant::now())).await.unwrap_err();
        assert!(matches!(err, SubmitError::Pool(PoolError::DeadlineExceeded)), "{err:?}");
    }

    #[tokio::test]
    async fn a_panicking_build_fails_start() {
        let started = WorkerPool::<Sleeper>::start(
            PoolConfig {
                workers: 2,
                max_pending: 2,
                max_batch: 1,
                batch_budget: 1,
            },
            |i| -> Result<Sleeper, String> {
                assert!(i == 0, "loader crashed");
                Ok(Sleeper { builds: Arc::default() })
            },
        );
        assert!(started.err().is_some_and(|e| e.contains("panicked")));
    }

    #[tokio::test]
    async fn a_failed_build_fails_start() {
        let started = WorkerPool::<Sleeper>::start(
            PoolConfig {
                workers: 2,
                max_pending: 2,
                max_batch: 1,
                batch_budget: 1,
            },
            |i| {
                if i == 1 {
                    Err("no weights".to_string())
                } else {
                    Ok(Sleeper { builds: Arc::default() })
                }
            },
        );
        assert_eq!(started.err().as_deref(), Some("no weights"));
    }
}
