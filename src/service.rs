//! The service core. Every entry point (the gRPC services, `newsgist summarize`,
//! `newsgist batch`) hands articles to one [`Service`], which validates them against the
//! configured limits, admits them to the worker pool, holds them to their deadline and returns
//! transport-neutral responses and errors. It owns the workers and knows when they are ready;
//! it knows no transport type.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use futures::{stream::BoxStream, Stream, StreamExt};
use tokio::sync::{watch, OnceCell, Semaphore};
use tracing::{info_span, Instrument};

use crate::{
    config::EngineConfig,
    digest::{
        render::{self, Format},
        Digest, DigestError, Digester, RawDigestOptions, Rejected,
    },
    drain::Drain,
    engine::{Engine, StartError},
    error::ServiceError,
    pool::{PoolConfig, WorkerPool},
    request::{Article, Outputs, RawOptions, SummaryRequest},
    response::SummaryResponse,
};

/// Items of one stream that may run at once, per worker: enough to keep every worker busy
/// while the next item is read. A stream also takes at most half of `--max-pending`, so that
/// it cannot crowd out other callers or trip admission control by itself.
const STREAM_ITEMS_PER_WORKER: usize = 2;

/// One article as a caller hands it in, before validation.
#[derive(Debug, Clone, Default)]
pub struct Submission {
    /// The caller's correlation id, echoed in the response.
    pub request_id: String,
    pub article: Article,
    pub options: RawOptions,
}

/// A stream item's outcome, with the caller's tag.
pub type Tagged<T> = (T, Result<SummaryResponse, ServiceError>);

/// The order of a stream's results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamOrder {
    /// Results in input order (archive jobs).
    Input,
    /// Each result as soon as it is ready (interactive streams).
    Completion,
}

/// The summarisation service: configuration, workers and the request path.
pub struct Service {
    config: EngineConfig,
    request_timeout: Option<Duration>,
    pool: OnceCell<WorkerPool<Engine>>,
    drain: Drain,
    /// One permit per digest being built (`--max-digests`).
    digests: Arc<Semaphore>,
}

/// Articles read ahead of a digest's clustering thread.
const DIGEST_READ_AHEAD: usize = 256;

/// What a digest call asks for beyond its articles.
#[derive(Debug, Clone, Default)]
pub struct DigestSubmission {
    pub options: RawDigestOptions,
    /// An abstractive summary per story (from its extractive summary) by the server's model.
    pub abstractive: bool,
    /// Rendered forms wanted besides the digest itself, each with the caller's template (or
    /// `None` for the server's `--digest-templates` one, else the built-in one).
    pub renderings: Vec<(Format, Option<String>)>,
}

/// A digest and its rendered forms, in the order asked for.
#[derive(Debug, Clone)]
pub struct DigestOutcome {
    pub digest: Digest,
    pub rendered: Vec<(Format, String)>,
}

/// One article of a digest feed as the caller read it: the article, or its id (when known)
/// and why it is not one (the digest lists it as rejected and goes on).
pub type FeedItem = Result<Article, (String, String)>;

impl Service {
    /// A service whose workers are not started yet (see [`Service::start_workers`]), so that
    /// a server can answer health checks while models load. `request_timeout` bounds every
    /// request; `None` lets requests take as long as they need (archive jobs).
    pub fn new(config: EngineConfig, request_timeout: Option<Duration>) -> Service {
        Service {
            digests: Arc::new(Semaphore::new(config.digest_limits.max_concurrent)),
            config,
            request_timeout,
            pool: OnceCell::new(),
            drain: Drain::default(),
        }
    }

    /// A service with its workers started, for command-line jobs.
    pub async fn start(config: EngineConfig, request_timeout: Option<Duration>) -> Result<Arc<Service>, StartError> {
        let service = Arc::new(Service::new(config, request_timeout));
        service.start_workers().await?;
        Ok(service)
    }

    /// Starts `workers` threads, each loading and warming up its own models; returns once
    /// all are ready. Later calls find them started.
    pub async fn start_workers(&self) -> Result<(), StartError> {
        self.pool.get_or_try_init(|| self.build_pool()).await?;
        Ok(())
    }

    async fn build_pool(&self) -> Result<WorkerPool<Engine>, StartError> {
        let config = self.config.clone();
        let pool_config = PoolConfig {
            workers: config.workers,
            max_pending: config.max_pending,
            max_batch: config.max_batch,
            batch_budget: config.batch_tokens,
        };
        tokio::task::spawn_blocking(move || {
            WorkerPool::start(pool_config, move |_| {
                let mut engine = Engine::load(&config)?;
                engine.warm_up()?;
                Ok::<_, StartError>(engine)
            })
        })
        .await
        .map_err(|_| crate::pool::BuildPanicked)?
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// True while a worker can take work: the workers have started and not all of them
    /// are being rebuilt.
    pub fn is_ready(&self) -> bool {
        self.live_workers().is_some_and(|live| *live.borrow() > 0)
    }

    /// How many workers can take work, once they have started; it drops to zero while every
    /// worker is being rebuilt after a crash.
    pub fn live_workers(&self) -> Option<watch::Receiver<usize>> {
        self.pool.get().map(WorkerPool::live_workers)
    }

    /// How many workers have been failing to be rebuilt for a while, once the workers have
    /// started (see [`WorkerPool::stuck_workers`]).
    pub fn stuck_workers(&self) -> Option<watch::Receiver<usize>> {
        self.pool.get().map(WorkerPool::stuck_workers)
    }

    /// The deadline of a request that arrived at `arrived`: the request timeout, or the
    /// caller's own timeout when that is sooner.
    pub fn deadline(&self, arrived: Instant, caller_timeout: Option<Duration>) -> Option<Instant> {
        let timeout = match (self.request_timeout, caller_timeout) {
            (Some(ours), Some(theirs)) => Some(ours.min(theirs)),
            (ours, theirs) => ours.or(theirs),
        };
        // A timeout too large to add is no timeout.
        timeout.and_then(|t| arrived.checked_add(t))
    }

    /// Checks a submission against the configured limits and fills in defaults; works
    /// before the workers start, so that a command-line job can refuse bad input at once.
    pub fn validate(&self, submission: Submission) -> Result<SummaryRequest, ServiceError> {
        Ok(SummaryRequest::validate(
            submission.request_id,
            submission.article,
            submission.options,
            &self.config.defaults,
            &self.config.limits,
        )?)
    }

    /// Validates and summarises one article. Past `deadline` the caller gets
    /// DEADLINE_EXCEEDED, and a worker that has not started the request skips it.
    pub async fn summarize(
        &self,
        submission: Submission,
        deadline: Option<Instant>,
    ) -> Result<SummaryResponse, ServiceError> {
        let span = info_span!("summarize", request_id = %submission.request_id);
        async { self.run(self.validate(submission)?, deadline).await }
            .instrument(span)
            .await
    }

    /// Summarises a validated request. Once a shutdown has begun it is refused as
    /// UNAVAILABLE; one still running when the shutdown aborts is answered the same way.
    pub async fn run(
        &self,
        request: SummaryRequest,
        deadline: Option<Instant>,
    ) -> Result<SummaryResponse, ServiceError> {
        let _in_flight = self.drain.enter().ok_or(ServiceError::ShuttingDown)?;
        let pool = self.pool.get().ok_or(ServiceError::Warming)?;
        // The pool hands the current span to the worker, so its logs carry the request id.
        // Dropping the submission on abort lets a worker that has not started it skip it.
        let response = tokio::select! {
            response = pool.submit(request, deadline) => response?,
            () = self.drain.aborted() => return Err(ServiceError::ShutDownBeforeFinished),
        };
        crate::telemetry::timings(&response.timings);
        Ok(response)
    }

    /// Begins a shutdown: new requests are refused as UNAVAILABLE, admitted ones go on.
    pub fn begin_drain(&self) {
        self.drain.begin();
    }

    /// Resolves once every admitted request has been answered.
    pub async fn drained(&self) {
        self.drain.idle().await;
    }

    /// Answers every request still running UNAVAILABLE; returns how many there were.
    pub fn abort_in_flight(&self) -> usize {
        self.drain.abort()
    }

    /// Items of one stream that may run at once.
    pub fn stream_concurrency(&self) -> usize {
        (self.config.workers * STREAM_ITEMS_PER_WORKER)
            .min(self.config.max_pending / 2)
            .max(1)
    }

    /// Summarises a stream of submissions, each tagged by the caller (`T`: a request id, a
    /// line number) and each with the whole `caller_timeout` from when it is read. An item the
    /// caller could not turn into a submission carries its error through; an error of the
    /// stream itself (`E`, the transport's) is passed on as it comes.
    pub fn summarize_stream<T, E, S>(
        self: &Arc<Self>,
        items: S,
        order: StreamOrder,
        caller_timeout: Option<Duration>,
    ) -> BoxStream<'static, Result<Tagged<T>, E>>
    where
        T: Send + 'static,
        E: Send + 'static,
        S: Stream<Item = Result<(T, Result<Submission, ServiceError>), E>> + Send + 'static,
    {
        let service = Arc::clone(self);
        let results = items.map(move |item| {
            let service = Arc::clone(&service);
            async move {
                let (tag, submission) = item?;
                let result = match submission {
                    Ok(submission) => {
                        let deadline = service.deadline(Instant::now(), caller_timeout);
                        service.summarize(submission, deadline).await
                    }
                    Err(err) => Err(err),
                };
                Ok((tag, result))
            }
        });
        let concurrency = self.stream_concurrency();
        match order {
            StreamOrder::Input => results.buffered(concurrency).boxed(),
            StreamOrder::Completion => results.buffer_unordered(concurrency).boxed(),
        }
    }
}

impl Service {
    /// Builds a digest of `feed`, read as it comes: every article is validated as a
    /// Summarize request would be (an invalid one is listed as rejected, the rest go on), then
    /// clustered on a thread of its own, so a long feed never blocks the runtime and never
    /// waits whole in memory. An error of the feed itself (`E`: the transport's) ends the
    /// digest with it. Past `deadline` the digest stops with DEADLINE_EXCEEDED.
    pub async fn digest<S, E>(
        &self,
        submission: DigestSubmission,
        feed: S,
        deadline: Option<Instant>,
    ) -> Result<DigestOutcome, E>
    where
        S: Stream<Item = Result<FeedItem, E>> + Send,
        E: From<ServiceError>,
    {
        let options = submission.options.clone().validate().map_err(ServiceError::from)?;
        // A digest counts as in flight for a shutdown's drain, as a request does.
        let _in_flight = self.drain.enter().ok_or(ServiceError::ShuttingDown)?;
        if submission.abstractive && self.config.profiles.is_empty() {
            // Refused before the feed is read, not after, with the engine's own reason (no
            // model configured, or a binary built without `torch`): without a model the
            // engine answers at once.
            self.summarize(self.abstractive_submission("Probe".into(), "Probe.".into()), deadline)
                .await?;
        }
        let permit = Arc::clone(&self.digests).try_acquire_owned().map_err(|_| {
            ServiceError::from(DigestError::Busy {
                max: self.config.digest_limits.max_concurrent,
            })
        })?;
        let (sender, mut receiver) = tokio::sync::mpsc::channel::<(u64, Result<Article, Rejected>)>(DIGEST_READ_AHEAD);
        let worker = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let mut digester = Digester::new(options);
            while let Some((index, item)) = receiver.blocking_recv() {
                match item {
                    Ok(article) => digester.push(index, article),
                    Err(rejected) => digester.reject(rejected),
                }
            }
            digester.finish()
        });
        let max_articles = self.config.digest_limits.max_articles;
        let read = async {
            futures::pin_mut!(feed);
            let mut index = 0u64;
            while let Some(item) = feed.next().await {
                if index as usize >= max_articles {
                    return Err(ServiceError::from(DigestError::TooManyArticles { max: max_articles }).into());
                }
                let checked = match item? {
                    Ok(article) => self.validate_feed_article(index, article),
                    Err((id, message)) => Err(Rejected {
                        index,
                        id,
                        code: crate::error::ErrorKind::InvalidArgument.name().into(),
                        message,
                    }),
                };
                if sender.send((index, checked)).await.is_err() {
                    break;
                }
                index += 1;
            }
            Ok::<(), E>(())
        };
        let read = async {
            tokio::select! {
                read = read => read,
                () = self.drain.aborted() => Err(ServiceError::ShutDownBeforeFinished.into()),
            }
        };
        let read = match deadline {
            Some(deadline) => tokio::time::timeout_at(deadline.into(), read)
                .await
                .unwrap_or_else(|_| Err(ServiceError::from(crate::pool::PoolError::DeadlineExceeded).into())),
            None => read.await,
        };
        // The clustering thread ends (and frees its --max-digests permit) before the call
        // answers, failed or not, so that a caller's next digest finds the permit free.
        drop(sender);
        let digest = worker.await;
        read?;
        let mut digest = digest.map_err(|_| ServiceError::from(crate::pool::PoolError::WorkerPanicked))?;
        if submission.abstractive {
            for story in &mut digest.stories {
                let body = story
                    .summary
                    .iter()
                    .map(|s| s.text.as_str())
                    .collect::<Vec<_>>()
                    .join("\n");
                let request = self.abstractive_submission(story.headline.clone(), body);
                story.abstractive = self.summarize(request, deadline).await?.abstractive;
            }
        }
        let mut rendered = Vec::with_capacity(submission.renderings.len());
        for (format, template) in submission.renderings {
            let template = template.as_deref().or_else(|| self.config.digest_templates.get(format));
            let text = render::render(&digest, format, template).map_err(DigestError::from);
            rendered.push((format, text.map_err(ServiceError::from)?));
        }
        Ok(DigestOutcome { digest, rendered })
    }

    /// A feed article checked as a Summarize request's article is, or its rejection.
    fn validate_feed_article(&self, index: u64, article: Article) -> Result<Article, Rejected> {
        let id = article.id.clone();
        let submission = Submission {
            request_id: String::new(),
            article,
            options: RawOptions::default(),
        };
        self.validate(submission).map(|r| r.article).map_err(|err| Rejected {
            index,
            id,
            code: err.kind().name().into(),
            message: err.to_string(),
        })
    }

    /// The request for a story's abstractive summary.
    fn abstractive_submission(&self, title: String, body: String) -> Submission {
        Submission {
            request_id: String::new(),
            article: Article {
                title,
                body,
                ..Article::default()
            },
            options: RawOptions {
                outputs: Some(Outputs {
                    extractive: false,
                    abstractive: true,
                    key_facts: false,
                }),
                ..RawOptions::default()
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn lean_config(workers: usize, max_pending: usize) -> EngineConfig {
        use clap::Parser;
        let workers = workers.to_string();
        let max_pending = max_pending.to_string();
        let cli = crate::config::Cli::parse_from([
            "newsgist",
            "serve",
            "--workers",
            &workers,
            "--max-pending",
            &max_pending,
        ]);
        let crate::config::Command::Serve(serve) = cli.command else {
            unreachable!()
        };
        serve.engine.validate().unwrap()
    }

    fn submission(id: &str, body: &str) -> Submission {
        Submission {
            request_id: id.into(),
            article: Article {
                body: body.into(),
                ..Article::default()
            },
            options: RawOptions::default(),
        }
    }

    #[test]
    fn the_sooner_of_the_two_timeouts_sets_the_deadline() {
        let now = Instant::now();
        let bounded = Service::new(lean_config(1, 4), Some(Duration::from_secs(10)));
        assert_eq!(bounded.deadline(now, None), Some(now + Duration::from_secs(10)));
        assert_eq!(
            bounded.deadline(now, Some(Duration::from_secs(2))),
            Some(now + Duration::from_secs(2))
        );
        assert_eq!(
            bounded.deadline(now, Some(Duration::from_secs(60))),
            Some(now + Duration::from_secs(10))
        );
        let unbounded = Service::new(lean_config(1, 4), None);
        assert_eq!(unbounded.deadline(now, None), None);
        let huge = Service::new(lean_config(1, 4), Some(Duration::MAX));
        assert_eq!(
            huge.deadline(now, None),
            None,
            "too large to add: no deadline, no panic"
        );
    }

    #[test]
    fn a_stream_runs_two_items_per_worker_within_half_of_admission() {
        assert_eq!(Service::new(lean_config(1, 64), None).stream_concurrency(), 2);
        assert_eq!(Service::new(lean_config(3, 64), None).stream_concurrency(), 6);
        assert_eq!(Service::new(lean_config(3, 4), None).stream_concurrency(), 2);
        assert_eq!(Service::new(lean_config(1, 1), None).stream_concurrency(), 1);
    }

    #[tokio::test]
    async fn requests_before_start_are_refused_as_unavailable_after_validation() {
        let service = Service::new(lean_config(1, 4), None);
        let err = service.summarize(submission("a", " "), None).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "validation comes first: {err}");
        let err = service.summarize(submission("a", "Text."), None).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
        assert!(!service.is_ready() && service.live_workers().is_none());
    }

    #[tokio::test]
    async fn an_input_ordered_stream_answers_every_item_in_order() {
        let service = Service::start(lean_config(2, 8), None).await.unwrap();
        assert_eq!(*service.live_workers().unwrap().borrow(), 2);
        let bodies = [
            "The mayor spoke on Monday. The council listened.",
            " ",
            "Rain fell in Paris.",
        ];
        let items = futures::stream::iter(
            bodies
                .into_iter()
                .enumerate()
                .map(|(i, body)| Ok::<_, std::convert::Infallible>((i, Ok(submission(&i.to_string(), body))))),
        );
        let results: Vec<_> = service
            .summarize_stream(items, StreamOrder::Input, None)
            .map(Result::unwrap)
            .collect()
            .await;
        let tags: Vec<usize> = results.iter().map(|(tag, _)| *tag).collect();
        assert_eq!(tags, [0, 1, 2]);
        assert_eq!(results[0].1.as_ref().unwrap().request_id, "0");
        assert_eq!(results[1].1.as_ref().unwrap_err().kind(), ErrorKind::InvalidArgument);
        assert!(results[2].1.as_ref().unwrap().extractive.is_some());
    }
}
