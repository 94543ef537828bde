//! `newsgist.v1.SummarizerService`: converts messages and hands them to the service core.

use std::{
    pin::Pin,
    sync::Arc,
    time::{Duration, Instant},
};

use futures::{Stream, StreamExt};
use tonic::{metadata::MetadataMap, service::Interceptor, Request, Response, Status, Streaming};
use tracing::Instrument;

use super::{
    auth::{KeyName, RequireKey},
    convert, status,
};
use crate::{
    error::ServiceError,
    proto::{self as pb, summarizer_service_server::SummarizerService},
    response::SummaryResponse,
    service::{Service, StreamOrder},
    telemetry,
};

/// tonic enforces grpc-timeout itself (server and client side) and answers CANCELLED when it
/// expires; ending the call this much earlier lets the caller get the precise
/// DEADLINE_EXCEEDED instead. 5 ms was not enough on a loaded 2-core machine (the client's
/// timer won the race in a CI-like run); 20 ms is small next to any summarisation budget.
const DEADLINE_MARGIN: Duration = Duration::from_millis(20);

/// When a call arrived, before its message was decoded: a large message takes a while to
/// decode, and tonic's own grpc-timeout timer starts before that.
#[derive(Clone, Copy)]
struct Arrival(Instant);

/// The summariser's interceptor: records [`Arrival`], then checks the API key.
#[derive(Clone)]
pub struct Edge(pub RequireKey);

impl Interceptor for Edge {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        request.extensions_mut().insert(Arrival(Instant::now()));
        self.0.call(request)
    }
}

/// When a call arrived (now, for a call the interceptor did not see).
pub(super) fn arrival<T>(request: &Request<T>) -> Instant {
    request.extensions().get::<Arrival>().map_or_else(Instant::now, |a| a.0)
}

/// The key a call was made with, for its log lines ("-" on an open server).
pub(super) fn key_name<T>(request: &Request<T>) -> String {
    request
        .extensions()
        .get::<KeyName>()
        .map_or_else(|| "-".into(), |k| k.0.clone())
}

/// The caller's timeout, less the margin that lets our answer beat tonic's timer.
pub(super) fn caller_timeout(metadata: &MetadataMap) -> Option<Duration> {
    let value = metadata.get("grpc-timeout")?.to_str().ok()?;
    parse_grpc_timeout(value).map(|t| t.saturating_sub(DEADLINE_MARGIN))
}

/// Parses a grpc-timeout value: at most eight digits and a unit (H, M, S, m, u, n).
fn parse_grpc_timeout(value: &str) -> Option<Duration> {
    let (digits, unit) = value.split_at(value.len().checked_sub(1)?);
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let amount: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(amount * 3600),
        "M" => Duration::from_secs(amount * 60),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

/// The code a request is counted under.
fn outcome<T>(result: &Result<T, ServiceError>) -> &'static str {
    result.as_ref().map_or_else(|err| err.kind().name(), |_| "OK")
}

type ResponseStream = Pin<Box<dyn Stream<Item = Result<pb::SummarizeStreamResponse, Status>> + Send>>;

/// The service: a handle on the core.
pub struct Summarizer(pub Arc<Service>);

impl Summarizer {
    async fn summarize_one(
        &self,
        request: pb::SummarizeRequest,
        deadline: Option<Instant>,
    ) -> Result<pb::SummarizeResponse, ServiceError> {
        let submission = convert::submission(request)?;
        Ok(convert::response(self.0.summarize(submission, deadline).await?))
    }
}

/// A stream item's answer: the response, or the error with its code.
fn stream_response(request_id: String, result: Result<SummaryResponse, ServiceError>) -> pb::SummarizeStreamResponse {
    telemetry::request("SummarizeStream", outcome(&result));
    let result = match result {
        Ok(response) => pb::summarize_stream_response::Result::Response(convert::response(response)),
        Err(err) => {
            let status = status::failed(&err);
            pb::summarize_stream_response::Result::Error(pb::ItemError {
                code: status.code() as i32,
                message: status.message().to_owned(),
            })
        }
    };
    pb::SummarizeStreamResponse {
        request_id,
        result: Some(result),
    }
}

#[tonic::async_trait]
impl SummarizerService for Summarizer {
    async fn summarize(
        &self,
        request: Request<pb::SummarizeRequest>,
    ) -> Result<Response<pb::SummarizeResponse>, Status> {
        let deadline = self.0.deadline(arrival(&request), caller_timeout(request.metadata()));
        let span = tracing::info_span!("grpc", key = %key_name(&request));
        let result = self
            .summarize_one(request.into_inner(), deadline)
            .instrument(span)
            .await;
        telemetry::request("Summarize", outcome(&result));
        result.map(Response::new).map_err(|err| status::failed(&err))
    }

    type SummarizeStreamStream = ResponseStream;

    async fn summarize_stream(
        &self,
        request: Request<Streaming<pb::SummarizeRequest>>,
    ) -> Result<Response<ResponseStream>, Status> {
        let timeout = caller_timeout(request.metadata());
        // Polled inside the call's span, so that each item's span is its child and the key's
        // name reaches the stream's log lines too.
        let span = tracing::info_span!("grpc", key = %key_name(&request));
        let items = request.into_inner().map(|item| {
            item.map(|request| {
                let request_id = request.request_id.clone();
                (request_id, convert::submission(request).map_err(ServiceError::from))
            })
        });
        let results = self
            .0
            .summarize_stream(items, StreamOrder::Completion, timeout)
            .map(|item| item.map(|(request_id, result)| stream_response(request_id, result)));
        let mut results = Box::pin(results);
        let results = futures::stream::poll_fn(move |cx| {
            let _entered = span.enter();
            results.poll_next_unpin(cx)
        });
        Ok(Response::new(Box::pin(results)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeouts_parse_in_every_unit() {
        assert_eq!(parse_grpc_timeout("2H"), Some(Duration::from_secs(7200)));
        assert_eq!(parse_grpc_timeout("3M"), Some(Duration::from_secs(180)));
        assert_eq!(parse_grpc_timeout("10S"), Some(Duration::from_secs(10)));
        assert_eq!(parse_grpc_timeout("250m"), Some(Duration::from_millis(250)));
        assert_eq!(parse_grpc_timeout("99999999u"), Some(Duration::from_micros(99_999_999)));
        assert_eq!(parse_grpc_timeout("5n"), Some(Duration::from_nanos(5)));
    }

    #[test]
    fn malformed_grpc_timeouts_are_ignored() {
        for value in ["", "S", "10", "10s", "-5S", "+5S", "1.5S", "123456789S", "10 S"] {
            assert_eq!(parse_grpc_timeout(value), None, "{value:?}");
        }
    }

    #[test]
    fn the_margin_comes_off_the_callers_timeout() {
        let mut metadata = MetadataMap::new();
        assert_eq!(caller_timeout(&metadata), None);
        metadata.insert("grpc-timeout", "1000m".parse().unwrap());
        assert_eq!(
            caller_timeout(&metadata),
            Some(Duration::from_millis(1000) - DEADLINE_MARGIN)
        );
        metadata.insert("grpc-timeout", "5m".parse().unwrap());
        assert_eq!(caller_timeout(&metadata), Some(Duration::ZERO));
    }
}
