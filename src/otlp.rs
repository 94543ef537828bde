//! Traces to an OpenTelemetry collector (`--otlp-endpoint`), over OTLP/gRPC. Every span the
//! service opens (the call at the edge, each request, each batch a worker runs, linked to the
//! requests it holds) becomes an OpenTelemetry span; logs stay on stderr as before.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::{
    runtime,
    trace::{span_processor_with_async_runtime::BatchSpanProcessor, SdkTracerProvider},
    Resource,
};
use tracing::Subscriber;
use tracing_subscriber::{registry::LookupSpan, Layer};

#[derive(Debug, thiserror::Error)]
pub enum OtlpError {
    #[error("--otlp-endpoint {endpoint:?} is not an http:// or https:// URL of an OTLP/gRPC collector (such as http://otel-collector:4317)")]
    NotAnEndpoint { endpoint: String },
    #[error("--otlp-endpoint {endpoint:?}: the exporter could not be built: {reason}")]
    Exporter { endpoint: String, reason: String },
}

/// The trace pipeline to one collector; [`TraceExport::shutdown`] sends what is buffered.
pub struct TraceExport {
    provider: SdkTracerProvider,
}

impl TraceExport {
    /// Starts exporting to `endpoint`. Must be called inside the tokio runtime that is to
    /// run the exports, and that runtime must outlive [`TraceExport::shutdown`].
    pub fn start(endpoint: &str) -> Result<TraceExport, OtlpError> {
        let parsed: Result<tonic::transport::Uri, _> = endpoint.parse();
        let scheme_ok = parsed
            .as_ref()
            .is_ok_and(|uri| matches!(uri.scheme_str(), Some("http" | "https")) && uri.host().is_some());
        if !scheme_ok {
            return Err(OtlpError::NotAnEndpoint {
                endpoint: endpoint.to_owned(),
            });
        }
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint)
            .build()
            .map_err(|err| OtlpError::Exporter {
                endpoint: endpoint.to_owned(),
                reason: err.to_string(),
            })?;
        let processor = BatchSpanProcessor::builder(exporter, runtime::Tokio).build();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(processor)
            .with_resource(Resource::builder().with_service_name("newsgist").build())
            .build();
        Ok(TraceExport { provider })
    }

    /// The tracing layer that turns spans into OpenTelemetry spans.
    pub fn layer<S>(&self) -> impl Layer<S>
    where
        S: Subscriber + for<'span> LookupSpan<'span>,
    {
        tracing_opentelemetry::layer().with_tracer(self.provider.tracer("newsgist"))
    }

    /// Sends the spans still buffered and stops. Blocks: call it outside the runtime's
    /// worker threads (which do the sending).
    pub fn shutdown(self) {
        if let Err(err) = self.provider.shutdown() {
            eprintln!("newsgist: sending the last traces failed: {err}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn only_http_urls_are_endpoints() {
        for bad in [
            "",
            "otel-collector:4317",
            "ftp://collector:4317",
            "http://",
            "not a url",
        ] {
            assert!(
                matches!(TraceExport::start(bad), Err(OtlpError::NotAnEndpoint { .. })),
                "{bad:?}"
            );
        }
        let export = TraceExport::start("http://127.0.0.1:4317").expect("a well-formed endpoint");
        tokio::task::spawn_blocking(move || export.shutdown()).await.unwrap();
    }
}
