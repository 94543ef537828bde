//! Traces over OTLP/gRPC to a real collector endpoint: a server process started with
//! `--otlp-endpoint` sends a span for each call and each request (stream items inside their
//! call's span), and one for each batch a worker ran, linked to the requests it held.

mod common;
#[path = "../benches/common/process.rs"]
mod process;

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use common::*;
use opentelemetry_proto::tonic::{
    collector::trace::v1::{
        trace_service_server::{TraceService, TraceServiceServer},
        ExportTraceServiceRequest, ExportTraceServiceResponse,
    },
    common::v1::any_value::Value,
    trace::v1::Span,
};

/// A collector that keeps every span it is sent.
#[derive(Clone, Default)]
struct Collector(Arc<Mutex<Vec<Span>>>);

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let spans = request
            .into_inner()
            .resource_spans
            .into_iter()
            .flat_map(|r| r.scope_spans)
            .flat_map(|s| s.spans);
        self.0.lock().unwrap().extend(spans);
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

fn attribute<'a>(span: &'a Span, key: &str) -> Option<&'a str> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
            Value::StringValue(s) => Some(s.as_str()),
            _ => None,
        })
}

#[tokio::test]
async fn each_request_and_the_batch_it_ran_in_reach_the_collector_linked() {
    let collector = Collector::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(collector.clone()))
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );
    let (mut child, url) = process::serve_ready(&["--workers", "1", "--otlp-endpoint", &endpoint]).await;
    let mut client = newsgist::proto::summarizer_service_client::SummarizerServiceClient::connect(url)
        .await
        .unwrap();
    for id in ["traced-1", "traced-2"] {
        client.summarize(request(id, ARTICLE_BODY, &[])).await.unwrap();
    }
    let mut streamed = client
        .summarize_stream(futures::stream::iter([request("streamed-1", ARTICLE_BODY, &[])]))
        .await
        .unwrap()
        .into_inner();
    while streamed.message().await.unwrap().is_some() {}
    // A shutdown sends what is buffered.
    process::terminate(&child);
    process::exit_status(&mut child, Instant::now(), Duration::from_secs(20)).await;

    let spans = collector.0.lock().unwrap().clone();
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
    println!("spans received: {names:?}");
    for id in ["traced-1", "traced-2"] {
        let request_span = spans
            .iter()
            .find(|s| s.name == "summarize" && attribute(s, "request_id") == Some(id))
            .unwrap_or_else(|| panic!("a span for {id} among {names:?}"));
        let batch = spans
            .iter()
            .find(|s| s.name == "batch" && s.links.iter().any(|l| l.span_id == request_span.span_id))
            .unwrap_or_else(|| panic!("a batch span linked to {id}"));
        assert_eq!(
            batch.trace_id, request_span.trace_id,
            "the batch is in the request's trace"
        );
    }
}
