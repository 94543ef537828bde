//! `newsgist.v1.DigestService`: converts messages and hands the feed to the service core.

use std::{sync::Arc, time::Instant};

use futures::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};
use tracing::Instrument;

use super::{
    convert, status,
    summarizer::{arrival, caller_timeout, key_name},
};
use crate::{
    digest::DigestError,
    error::ServiceError,
    proto::{self as pb, digest_service_server::DigestService},
    service::{FeedItem, Service},
    telemetry,
};

/// Why a digest call failed: the service refused it, or the call's own stream broke.
enum CallError {
    Service(ServiceError),
    Transport(Status),
}

impl From<ServiceError> for CallError {
    fn from(err: ServiceError) -> Self {
        CallError::Service(err)
    }
}

/// The feed item of one article message: invalid articles are listed, not fatal.
fn feed_item(article: pb::Article) -> FeedItem {
    let id = article.id.clone();
    convert::article(article).map_err(|err| (id, err.to_string()))
}

/// The service: a handle on the core.
pub struct Digests(pub Arc<Service>);

impl Digests {
    async fn build<S>(
        &self,
        rpc: &'static str,
        options: pb::DigestOptions,
        feed: S,
        deadline: Option<Instant>,
    ) -> Result<pb::Digest, Status>
    where
        S: Stream<Item = Result<FeedItem, CallError>> + Send,
    {
        let result = match convert::digest_submission(options) {
            Ok(submission) => self.0.digest(submission, feed, deadline).await,
            Err(err) => Err(CallError::Service(err)),
        };
        match result {
            Ok(outcome) => {
                telemetry::request(rpc, "OK");
                Ok(convert::digest(outcome))
            }
            Err(CallError::Service(err)) => {
                telemetry::request(rpc, err.kind().name());
                Err(status::failed(&err))
            }
            Err(CallError::Transport(status)) => Err(status),
        }
    }
}

#[tonic::async_trait]
impl DigestService for Digests {
    async fn build_digest(
        &self,
        request: Request<pb::BuildDigestRequest>,
    ) -> Result<Response<pb::BuildDigestResponse>, Status> {
        let deadline = self.0.deadline(arrival(&request), caller_timeout(request.metadata()));
        let span = tracing::info_span!("grpc", key = %key_name(&request));
        let request = request.into_inner();
        let feed = futures::stream::iter(request.articles.into_iter().map(|a| Ok(feed_item(a))));
        let digest = self
            .build("BuildDigest", request.options.unwrap_or_default(), feed, deadline)
            .instrument(span)
            .await?;
        Ok(Response::new(pb::BuildDigestResponse { digest: Some(digest) }))
    }

    async fn build_digest_stream(
        &self,
        request: Request<Streaming<pb::BuildDigestStreamRequest>>,
    ) -> Result<Response<pb::BuildDigestStreamResponse>, Status> {
        use pb::build_digest_stream_request::Item;
        let deadline = self.0.deadline(arrival(&request), caller_timeout(request.metadata()));
        let span = tracing::info_span!("grpc", key = %key_name(&request));
        let mut messages = request.into_inner();
        // The options come first; a stream that starts with an article takes the defaults.
        let first = messages.next().await.transpose()?;
        let (options, first_article) = match first.and_then(|m| m.item) {
            Some(Item::Options(options)) => (options, None),
            Some(Item::Article(article)) => (pb::DigestOptions::default(), Some(article)),
            None => (pb::DigestOptions::default(), None),
        };
        let rest = messages.filter_map(|message| async move {
            match message {
                Ok(pb::BuildDigestStreamRequest {
                    item: Some(Item::Article(article)),
                }) => Some(Ok(feed_item(article))),
                Ok(pb::BuildDigestStreamRequest {
                    item: Some(Item::Options(_)),
                }) => Some(Err(CallError::Service(DigestError::OptionsOutOfPlace.into()))),
                // An empty message carries nothing.
                Ok(pb::BuildDigestStreamRequest { item: None }) => None,
                Err(status) => Some(Err(CallError::Transport(status))),
            }
        });
        let feed = futures::stream::iter(first_article.map(|a| Ok(feed_item(a)))).chain(rest);
        let digest = self
            .build("BuildDigestStream", options, feed, deadline)
            .instrument(span)
            .await?;
        Ok(Response::new(pb::BuildDigestStreamResponse { digest: Some(digest) }))
    }
}
