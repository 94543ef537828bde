//! One server's connection: connects, waits until the server is SERVING, runs a
//! `SummarizeStream` for the rows the coordinator hands it, and reconnects with backoff when the
//! connection fails or the server drains. Every row it is handed comes back to the coordinator
//! exactly once, as an answer or as lost.

use std::{collections::HashSet, error::Error as _, time::Duration};

use futures::{future::BoxFuture, stream::FuturesUnordered, FutureExt, StreamExt};
use prost::Message as _;
use tokio::sync::mpsc;
use tonic::{
    service::{interceptor::InterceptedService, Interceptor},
    transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity},
    Code, Status, Streaming,
};
use tonic_health::pb::{health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest};
use tracing::debug;

use super::{Backoff, Dispatch, Event, NotReady, Outcome, RemoteTls};
use crate::proto::{
    self as pb, model_service_client::ModelServiceClient, summarizer_service_client::SummarizerServiceClient,
};

/// The health service name whose status says whether summaries can be asked for.
const SERVICE: &str = crate::server::SERVICE_NAMES[0];
/// Longest a TCP connect may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest a health check, a server-info call or opening a stream may take.
const RPC_TIMEOUT: Duration = Duration::from_secs(10);
/// HTTP/2 pings find a peer that vanished without closing the connection.
const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(15);
const KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(20);
/// Largest response the client reads (responses are a fraction of their article).
const MAX_RESPONSE_BYTES: usize = 64 << 20;

/// How one try at a server ended.
enum End {
    /// The coordinator is gone.
    Closed,
    /// The connection, the health check or the stream failed.
    Failed(String),
    /// The server is reachable but not SERVING (loading models, rebuilding workers, stopping).
    NotServing,
    /// The server went NOT_SERVING during a stream; the stream was closed after its rows.
    Drained,
}

/// A connection whose calls carry the API key.
type Authed = InterceptedService<Channel, BearerKey>;

/// Adds `authorization: Bearer KEY` to every call when a key is set.
#[derive(Clone)]
struct BearerKey(Option<String>);

impl Interceptor for BearerKey {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(key) = &self.0 {
            let mut value: tonic::metadata::MetadataValue<_> = format!("Bearer {key}")
                .parse()
                .map_err(|_| tonic::Status::invalid_argument("the API key is not a valid header value"))?;
            // Never indexed by HTTP/2 header compression.
            value.set_sensitive(true);
            request.metadata_mut().insert("authorization", value);
        }
        Ok(request)
    }
}

pub(super) struct Worker {
    pub server: usize,
    pub addr: String,
    /// The API key every call carries, if the servers need one.
    pub api_key: Option<String>,
    pub tls: RemoteTls,
    pub backoff: Backoff,
    pub events: mpsc::UnboundedSender<Event>,
    pub dispatch: mpsc::UnboundedReceiver<Dispatch>,
}

impl Worker {
    /// Runs until the coordinator goes.
    pub async fn run(mut self) {
        let endpoint = match endpoint(&self.addr, &self.tls) {
            Ok(endpoint) => endpoint,
            Err(error) => {
                // Never reachable: say so once, then hand back whatever comes.
                self.not_ready(NotReady::Unreachable {
                    failures: u32::MAX,
                    error,
                });
                while self.idle(Duration::from_secs(3600)).await {}
                return;
            }
        };
        // Consecutive failures (for the coordinator's give-up rule and the reconnect backoff),
        // and consecutive waits for a server that is up but not SERVING.
        let (mut failures, mut waits) = (0u32, 0u32);
        loop {
            let delay = match self.attempt(&endpoint, &mut failures).await {
                End::Closed => return,
                End::Failed(error) => {
                    failures = failures.saturating_add(1);
                    waits = 0;
                    self.not_ready(NotReady::Unreachable { failures, error });
                    self.backoff.delay(failures)
                }
                End::NotServing | End::Drained => {
                    failures = 0;
                    waits = waits.saturating_add(1);
                    self.not_ready(NotReady::NotServing);
                    self.backoff.delay(waits)
                }
            };
            if !self.idle(delay).await {
                return;
            }
        }
    }

    fn send(&self, event: Event) {
        // The coordinator gone is noticed on the dispatch channel.
        let _ = self.events.send(event);
    }

    fn not_ready(&self, why: NotReady) {
        self.send(Event::NotReady {
            server: self.server,
            why,
        });
    }

    fn lost(&self, seq: u64, sent: bool, reason: &str) {
        self.send(Event::Lost {
            server: self.server,
            seq,
            sent,
            reason: reason.to_string(),
        });
    }

    fn answer(&self, seq: u64, outcome: Outcome) {
        self.send(Event::Answer {
            server: self.server,
            seq,
            outcome,
        });
    }

    /// Waits `delay`, handing back any row dispatched meanwhile. False once the coordinator
    /// is gone.
    async fn idle(&mut self, delay: Duration) -> bool {
        let sleep = tokio::time::sleep(delay);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                () = &mut sleep => return true,
                dispatch = self.dispatch.recv() => match dispatch {
                    Some(dispatch) => self.lost(dispatch.seq, false, "the server is not ready"),
                    None => return false,
                },
            }
        }
    }

    /// Connects, checks health, learns the server's size limit and runs one stream.
    async fn attempt(&mut self, endpoint: &Endpoint, failures: &mut u32) -> End {
        let channel = match endpoint.connect().await {
            Ok(channel) => InterceptedService::new(channel, BearerKey(self.api_key.clone())),
            Err(err) => return End::Failed(chain(&err)),
        };
        let mut health = HealthClient::new(channel.clone());
        let check = health.check(HealthCheckRequest {
            service: SERVICE.into(),
        });
        match tokio::time::timeout(RPC_TIMEOUT, check).await {
            Err(_) => return End::Failed("the health check timed out".into()),
            Ok(Ok(response)) if response.get_ref().status != ServingStatus::Serving as i32 => return End::NotServing,
            Ok(Ok(_)) => {}
            // A server without the health service: go by the stream alone.
            Ok(Err(status)) if matches!(status.code(), Code::Unimplemented | Code::NotFound) => {}
            Ok(Err(status)) => return End::Failed(status_text(&status)),
        }
        let mut models = ModelServiceClient::new(channel.clone());
        let info = models.get_server_info(pb::GetServerInfoRequest {});
        let max_body = match tokio::time::timeout(RPC_TIMEOUT, info).await {
            Err(_) => return End::Failed("the server-info call timed out".into()),
            Ok(Ok(info)) => Some(info.into_inner().max_body_bytes),
            Ok(Err(status)) if status.code() == Code::Unimplemented => None,
            Ok(Err(status)) => return End::Failed(status_text(&status)),
        };
        self.session(channel, max_body, failures).await
    }

    /// One `SummarizeStream` (and a health watch beside it) until it fails, drains or the
    /// coordinator goes. Rows too large for a stream message go as unary calls.
    async fn session(&mut self, channel: Authed, max_body: Option<u64>, failures: &mut u32) -> End {
        let client = SummarizerServiceClient::new(channel.clone())
            .max_decoding_message_size(MAX_RESPONSE_BYTES)
            .max_encoding_message_size(usize::MAX);
        let mut health = HealthClient::new(channel);
        let watch = health.watch(HealthCheckRequest {
            service: SERVICE.into(),
        });
        let mut watch = match tokio::time::timeout(RPC_TIMEOUT, watch).await {
            Err(_) => return End::Failed("the health watch timed out".into()),
            Ok(Ok(watch)) => Some(watch.into_inner()),
            Ok(Err(status)) if matches!(status.code(), Code::Unimplemented | Code::NotFound) => None,
            Ok(Err(status)) => return End::Failed(status_text(&status)),
        };
        let (requests, outgoing) = futures::channel::mpsc::unbounded::<pb::SummarizeRequest>();
        let mut stream_client = client.clone();
        let mut responses = match tokio::time::timeout(RPC_TIMEOUT, stream_client.summarize_stream(outgoing)).await {
            Err(_) => return End::Failed("opening the stream timed out".into()),
            Ok(Ok(responses)) => responses.into_inner(),
            Ok(Err(status)) => return End::Failed(status_text(&status)),
        };
        self.send(Event::Ready { server: self.server });
        debug!(server = %self.addr, "stream open");

        let mut requests = Some(requests);
        let mut held: HashSet<u64> = HashSet::new();
        let mut unary: FuturesUnordered<BoxFuture<'static, (u64, Result<pb::SummarizeResponse, Status>)>> =
            FuturesUnordered::new();
        let end = loop {
            tokio::select! {
                dispatch = self.dispatch.recv() => {
                    let Some(Dispatch { seq, request }) = dispatch else {
                        return End::Closed;
                    };
                    let Some(sender) = &requests else {
                        self.lost(seq, false, "the server is draining");
                        continue;
                    };
                    if max_body.is_some_and(|max| request.encoded_len() as u64 > max) {
                        // A message over the server's limit would fail the whole stream; alone,
                        // it fails only itself.
                        let mut client = client.clone();
                        unary.push(async move { (seq, client.summarize(request).await.map(tonic::Response::into_inner)) }.boxed());
                    } else if sender.unbounded_send(request).is_ok() {
                        held.insert(seq);
                    } else {
                        self.lost(seq, false, "the stream is closed");
                    }
                }
                message = responses.message() => match message {
                    Ok(Some(message)) => {
                        let Some(seq) = message.request_id.parse().ok().filter(|seq| held.remove(seq)) else {
                            debug!(server = %self.addr, request_id = %message.request_id, "answer to no outstanding row");
                            continue;
                        };
                        *failures = 0;
                        self.answer(seq, stream_outcome(message.result));
                    }
                    Ok(None) if requests.is_none() => break End::Drained,
                    Ok(None) => break End::Failed("the server ended the stream".into()),
                    Err(status) => break End::Failed(status_text(&status)),
                },
                Some((seq, result)) = unary.next(), if !unary.is_empty() => {
                    self.unary_result(seq, result, failures);
                }
                status = next_status(&mut watch), if watch.is_some() => {
                    if status != Some(ServingStatus::Serving) {
                        // Let the server drain: close our half of the stream (the server
                        // answers what it holds, then ends it) and the watch, which would
                        // otherwise hold the connection open past the server's shutdown.
                        debug!(server = %self.addr, ?status, "server not serving: draining the stream");
                        requests = None;
                        watch = None;
                        self.not_ready(NotReady::Draining);
                    }
                }
            }
        };
        drop((requests, watch, responses));
        // No more rows for this connection; the coordinator learns why once we return.
        self.not_ready(NotReady::Draining);
        let reason = match &end {
            End::Failed(error) => error.clone(),
            _ => "the server ended the stream without answering".into(),
        };
        for seq in held {
            self.lost(seq, true, &reason);
        }
        while let Some((seq, result)) = unary.next().await {
            self.unary_result(seq, result, failures);
        }
        end
    }

    fn unary_result(&self, seq: u64, result: Result<pb::SummarizeResponse, Status>, failures: &mut u32) {
        match result {
            Ok(response) => {
                *failures = 0;
                self.answer(seq, Outcome::Response(Box::new(response)));
            }
            // The call failed in transport, not at the server.
            Err(status) if status.source().is_some() || matches!(status.code(), Code::Unknown | Code::Cancelled) => {
                self.lost(seq, true, &status_text(&status));
            }
            Err(status) => {
                *failures = 0;
                self.answer(
                    seq,
                    Outcome::Error {
                        code: status.code() as i32,
                        message: status.message().to_string(),
                    },
                );
            }
        }
    }
}

/// The endpoint of `addr` ("host:port" or a URL), over TLS when `addr` is `https://` or
/// `tls` is configured.
fn endpoint(addr: &str, tls: &RemoteTls) -> Result<Endpoint, String> {
    let url = if addr.contains("://") {
        addr.to_string()
    } else if tls.configured() {
        format!("https://{addr}")
    } else {
        format!("http://{addr}")
    };
    let mut endpoint = Endpoint::from_shared(url)
        .map_err(|err| format!("not a server address: {}", chain(&err)))?
        .connect_timeout(CONNECT_TIMEOUT)
        .tcp_nodelay(true)
        .http2_keep_alive_interval(KEEP_ALIVE_INTERVAL)
        .keep_alive_timeout(KEEP_ALIVE_TIMEOUT)
        .keep_alive_while_idle(true);
    if endpoint.uri().scheme_str() == Some("https") {
        let mut config = ClientTlsConfig::new();
        config = match &tls.ca_pem {
            Some(ca) => config.ca_certificate(Certificate::from_pem(ca)),
            None => config.with_native_roots(),
        };
        if let Some((cert, key)) = &tls.identity {
            config = config.identity(Identity::from_pem(cert, key));
        }
        endpoint = endpoint
            .tls_config(config)
            .map_err(|err| format!("TLS set-up failed: {}", chain(&err)))?;
    } else if tls.configured() {
        return Err(format!(
            "{addr} is an http:// address, but a CA or client certificate was given: use https://"
        ));
    }
    Ok(endpoint)
}

/// The next status of a health watch; `None` when the watch ended or failed.
async fn next_status(watch: &mut Option<Streaming<tonic_health::pb::HealthCheckResponse>>) -> Option<ServingStatus> {
    let watch = watch.as_mut()?;
    match watch.message().await {
        Ok(Some(response)) => ServingStatus::try_from(response.status).ok(),
        Ok(None) | Err(_) => None,
    }
}

fn stream_outcome(result: Option<pb::summarize_stream_response::Result>) -> Outcome {
    use pb::summarize_stream_response::Result as Item;
    match result {
        Some(Item::Response(response)) => Outcome::Response(Box::new(response)),
        Some(Item::Error(error)) => Outcome::Error {
            code: error.code,
            message: error.message,
        },
        None => Outcome::Error {
            code: Code::Internal as i32,
            message: "the server sent a stream item with neither a response nor an error".into(),
        },
    }
}

/// An error and its sources, as one line.
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(err) = source {
        let next = err.to_string();
        if !text.contains(&next) {
            text = format!("{text}: {next}");
        }
        source = err.source();
    }
    text
}

fn status_text(status: &Status) -> String {
    let mut text = format!("{:?}: {}", status.code(), status.message());
    if let Some(source) = status.source() {
        let source = chain(source);
        if !text.contains(&source) {
            text = format!("{text}: {source}");
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_become_urls() {
        assert_eq!(
            endpoint("127.0.0.1:50051", &RemoteTls::default())
                .unwrap()
                .uri()
                .to_string(),
            "http://127.0.0.1:50051/"
        );
        assert_eq!(
            endpoint("http://news:8080", &RemoteTls::default())
                .unwrap()
                .uri()
                .to_string(),
            "http://news:8080/"
        );
        assert!(endpoint("not a host:port", &RemoteTls::default()).is_err());
        let key = rcgen::KeyPair::generate().unwrap();
        let ca = rcgen::CertificateParams::new(vec!["news".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let with_ca = RemoteTls {
            ca_pem: Some(ca.pem().into_bytes()),
            identity: None,
        };
        assert_eq!(
            endpoint("news:8443", &with_ca).unwrap().uri().to_string(),
            "https://news:8443/",
            "a CA means TLS for plain addresses"
        );
        assert!(
            endpoint("http://news:8080", &with_ca).is_err(),
            "a CA for a plaintext URL is a mistake"
        );
    }
}
