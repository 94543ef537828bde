//! `newsgist.v1.SummarizerService`.

use std::{
    pin::Pin,
    sync::{Arc, OnceLock},
    time::{Duration, Instant},
};

use futures::{Stream, StreamExt};
use tonic::{metadata::MetadataMap, Request, Response, Status, Streaming};
use tracing::{error, info, info_span, Instrument};

use super::convert;
use crate::{
    config::EngineConfig,
    engine::Engine,
    error::ServiceError,
    pool::{PoolError, WorkerPool},
    proto::{self as pb, summarizer_service_server::SummarizerService},
    request::SummaryRequest,
};

/// tonic enforces grpc-timeout itself (server and client side) and answers CANCELLED when it
/// expires; ending the call this much earlier lets the caller get the precise
/// DEADLINE_EXCEEDED instead. 5 ms was not enough on a loaded 2-core machine (the client's
/// timer won the race in a CI-like run); 20 ms is small next to any summarisation budget.
const DEADLINE_MARGIN: Duration = Duration::from_millis(20);

/// What the services share: the configuration and, once warm-up finished, the workers.
pub struct State {
    pub config: EngineConfig,
    pool: OnceLock<WorkerPool<Engine>>,
    request_timeout: Duration,
}

impl State {
    pub fn new(config: EngineConfig, request_timeout: Duration) -> State {
        State {
            config,
            pool: OnceLock::new(),
            request_timeout,
        }
    }

    pub fn set_pool(&self, pool: WorkerPool<Engine>) {
        if self.pool.set(pool).is_err() {
            unreachable!("the pool is set once, after warm-up");
        }
    }

    pub fn is_ready(&self) -> bool {
        self.pool.get().is_some()
    }

    /// Validates and runs one request.
    async fn run(
        &self,
        request: pb::SummarizeRequest,
        deadline: Instant,
    ) -> Result<pb::SummarizeResponse, ServiceError> {
        let (request_id, article, options) = convert::request_parts(request)?;
        let request =
            SummaryRequest::validate(request_id, article, options, &self.config.defaults, &self.config.limits)?;
        let pool = self.pool.get().ok_or(PoolError::Warming)?;
        // Past the deadline the caller stops waiting; dropping the reply channel also tells
        // the worker to skip the request if it has not started it.
        let response = tokio::time::timeout_at(deadline.into(), pool.submit(request, Some(deadline)))
            .await
            .map_err(|_| PoolError::DeadlineExceeded)??;
        Ok(convert::response(response))
    }

    /// The deadline of a call: the server's request timeout, or the client's grpc-timeout
    /// when that is sooner, counted from the call's arrival (see [`stamp_arrival`]).
    fn deadline<T>(&self, request: &Request<T>) -> Instant {
        let arrived = request.extensions().get::<Arrival>().map_or_else(Instant::now, |a| a.0);
        self.deadline_after(arrived, client_timeout(request.metadata()))
    }

    fn deadline_after(&self, arrived: Instant, client_timeout: Option<Duration>) -> Instant {
        let timeout = client_timeout.map_or(self.request_timeout, |t| t.min(self.request_timeout));
        arrived + timeout.saturating_sub(DEADLINE_MARGIN)
    }
}

/// When a call arrived, before its message was decoded: a large message takes a while to
/// decode, and tonic's own grpc-timeout timer starts before that.
#[derive(Clone, Copy)]
struct Arrival(Instant);

/// Interceptor that records [`Arrival`].
pub fn stamp_arrival(mut request: Request<()>) -> Result<Request<()>, Status> {
    request.extensions_mut().insert(Arrival(Instant::now()));
    Ok(request)
}

/// Parses the grpc-timeout header: an integer and a unit (H, M, S, m, u, n).
fn client_timeout(metadata: &MetadataMap) -> Option<Duration> {
    let value = metadata.get("grpc-timeout")?.to_str().ok()?;
    let (digits, unit) = value.split_at(value.len().checked_sub(1)?);
    let amount: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(amount.saturating_mul(3600)),
        "M" => Duration::from_secs(amount.saturating_mul(60)),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

/// Logs a failed request: at info when the caller is at fault, at error when the server is.
fn log_failure(err: &ServiceError) {
    if err.is_client_error() {
        info!(code = ?err.code(), %err, "request refused");
    } else {
        error!(code = ?err.code(), %err, "request failed");
    }
}

type ResponseStream = Pin<Box<dyn Stream<Item = Result<pb::SummarizeStreamResponse, Status>> + Send>>;

/// The service: a handle on the shared state.
pub struct Summarizer(pub Arc<State>);

#[tonic::async_trait]
impl SummarizerService for Summarizer {
    async fn summarize(
        &self,
        request: Request<pb::SummarizeRequest>,
    ) -> Result<Response<pb::SummarizeResponse>, Status> {
        let deadline = self.0.deadline(&request);
        let request = request.into_inner();
        let span = info_span!("summarize", request_id = %request.request_id);
        let result = self.0.run(request, deadline).instrument(span).await;
        result.map(Response::new).map_err(|err| {
            log_failure(&err);
            err.into()
        })
    }

    type SummarizeStreamStream = ResponseStream;

    async fn summarize_stream(
        &self,
        request: Request<Streaming<pb::SummarizeRequest>>,
    ) -> Result<Response<ResponseStream>, Status> {
        let state = Arc::clone(&self.0);
        let timeout = client_timeout(request.metadata());
        // Each item may use the pool's workers at once, but no more, so that one stream
        // cannot crowd out other callers or trip admission control by itself.
        let concurrency = state.config.workers.max(1) * 2;
        let items = request.into_inner().map(move |item| {
            let state = Arc::clone(&state);
            async move {
                let request = item?;
                let request_id = request.request_id.clone();
                // Each item has the whole budget, from when it was read.
                let deadline = state.deadline_after(Instant::now(), timeout);
                let span = info_span!("summarize_stream_item", request_id = %request_id);
                let result = match state.run(request, deadline).instrument(span).await {
                    Ok(response) => pb::summarize_stream_response::Result::Response(response),
                    Err(err) => {
                        log_failure(&err);
                        pb::summarize_stream_response::Result::Error(pb::ItemError {
                            code: err.code() as i32,
                            message: err.to_string(),
                        })
                    }
                };
                Ok(pb::SummarizeStreamResponse {
                    request_id,
                    result: Some(result),
                })
            }
        });
        Ok(Response::new(Box::pin(items.buffer_unordered(concurrency))))
    }
}
