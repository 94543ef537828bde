//! The gRPC edge: service implementations, health, reflection, limits and graceful
//! shutdown. tonic appears nowhere else.

mod auth;
pub(crate) mod codec;
mod convert;
mod digest;
mod models_service;
mod status;
mod summarizer;
mod tls;

pub use tls::MAX_HANDSHAKES;

use std::{future::Future, sync::Arc, time::Duration};

use tokio::{net::TcpListener, sync::watch};
use tonic::{
    codec::CompressionEncoding,
    service::interceptor::InterceptedService,
    transport::{server::TcpIncoming, Server},
};
use tonic_health::{server::HealthReporter, ServingStatus};
use tracing::{error, info, warn};

use crate::{
    config::ServerConfig,
    engine::StartError,
    proto::{
        self, digest_service_server::DigestServiceServer, model_service_server::ModelServiceServer,
        summarizer_service_server::SummarizerServiceServer,
    },
    service::Service,
};

/// Service names reported by grpc.health.v1: readiness. They are SERVING while a worker can
/// take work, and NOT_SERVING while the workers load, while every worker is being rebuilt and
/// from the start of shutdown. The empty name, for the whole server, is liveness: SERVING
/// from the moment the server listens until shutdown begins, so that a probe restarts the
/// process only when it cannot answer at all (never for a full queue or a slow start).
pub const SERVICE_NAMES: [&str; 3] = [
    "newsgist.v1.SummarizerService",
    "newsgist.v1.ModelService",
    "newsgist.v1.DigestService",
];

/// Headroom over the body limit for the rest of a request (title, URL, options).
const MESSAGE_OVERHEAD_BYTES: usize = 64 * 1024;

/// Largest BuildDigest request (a whole feed in one message); larger feeds go over
/// BuildDigestStream, one article per message.
const DIGEST_MESSAGE_BYTES: usize = 256 << 20;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("workers failed to start: {0}")]
    Start(#[from] StartError),
    #[error(transparent)]
    Auth(#[from] auth::AuthError),
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    #[error("gRPC transport failed: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// The end of the grace period kept for answering the requests still running UNAVAILABLE
/// and closing connections: at most this, and at most a quarter of the grace period.
const ANSWER_MARGIN: Duration = Duration::from_secs(1);

/// Serves on `listener` until `shutdown` resolves, then drains in-flight requests. Health:
/// see [`SERVICE_NAMES`].
pub async fn serve(
    config: ServerConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    crate::telemetry::register(&config.engine);
    let keys = auth::ApiKeys::load(config.api_keys_file.as_deref(), config.api_keys.as_deref())?;
    if let Some(keys) = &keys {
        tokio::spawn(Arc::clone(keys).watch(config.api_keys.clone()));
    }
    let require_key = auth::RequireKey(keys);
    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_service_status("", ServingStatus::Serving).await;
    set_readiness(&health, ServingStatus::NotServing).await;

    let service = Arc::new(Service::new(config.engine.clone(), Some(config.request_timeout)));
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .expect("the compiled descriptor set is valid");
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()
        .expect("the compiled descriptor set is valid");
    let max_message = config.engine.limits.max_body_bytes + MESSAGE_OVERHEAD_BYTES;
    // gzip-compressed requests are accepted (grpcio and grpcurl users turn it on), and
    // responses are compressed for callers that ask for it.
    let summarizer = SummarizerServiceServer::new(summarizer::Summarizer(Arc::clone(&service)))
        .max_decoding_message_size(max_message)
        .max_encoding_message_size(max_message * 2)
        .accept_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Gzip);
    let summarizer = InterceptedService::new(summarizer, summarizer::Edge(require_key.clone()));
    let models = ModelServiceServer::new(models_service::Models(Arc::clone(&service)))
        .accept_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Gzip);
    let models = InterceptedService::new(models, require_key.clone());
    let digests = DigestServiceServer::new(digest::Digests(Arc::clone(&service)))
        .max_decoding_message_size(DIGEST_MESSAGE_BYTES.max(max_message))
        .max_encoding_message_size(DIGEST_MESSAGE_BYTES.max(max_message))
        .accept_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Gzip);
    let digests = InterceptedService::new(digests, summarizer::Edge(require_key.clone()));
    // Reflection describes the API: it follows the keys. Health stays open to probes unless
    // --auth-health.
    let reflection_v1 = InterceptedService::new(reflection_v1, require_key.clone());
    let reflection_v1alpha = InterceptedService::new(reflection_v1alpha, require_key.clone());
    let health_key = auth::RequireKey(require_key.0.clone().filter(|_| config.auth_health));
    let health_service = InterceptedService::new(health_service, health_key);

    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let addr = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
    let router = Server::builder()
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(summarizer)
        .add_service(models)
        .add_service(digests);
    let stopped = async {
        let _ = stop_rx.await;
    };
    let server = match &config.tls {
        Some(files) => {
            let (acceptor, watch_certificate) = tls::acceptor(files)?;
            tokio::spawn(watch_certificate);
            tokio::spawn(router.serve_with_incoming_shutdown(tls::incoming(listener, acceptor), stopped))
        }
        // Without TCP_NODELAY, small responses wait for delayed ACKs (~40 ms each).
        None => tokio::spawn(
            router.serve_with_incoming_shutdown(TcpIncoming::from(listener).with_nodelay(Some(true)), stopped),
        ),
    };
    info!(%addr, "listening; loading models");

    let starting = Arc::clone(&service);
    let mut warm_up = tokio::spawn(async move { starting.start_workers().await });
    tokio::pin!(shutdown);
    tokio::select! {
        started = &mut warm_up => match started.expect("worker start-up does not panic") {
            Ok(()) => {
                let live = service.live_workers().expect("the workers have started");
                let stuck = service.stuck_workers().expect("the workers have started");
                let followers = [
                    tokio::spawn(follow_live_workers(health.clone(), live)),
                    tokio::spawn(follow_stuck_workers(health.clone(), stuck, config.engine.workers)),
                ];
                shutdown.await;
                // Stopped before NOT_SERVING below, so that they cannot write SERVING after it.
                for follower in followers {
                    follower.abort();
                    let _ = follower.await;
                }
            }
            Err(err) => {
                error!(%err, "workers failed to start");
                let _ = stop_tx.send(());
                let _ = server.await;
                return Err(err.into());
            }
        },
        () = &mut shutdown => {}
    }

    info!("shutting down: refusing new work, draining in-flight requests");
    health.set_service_status("", ServingStatus::NotServing).await;
    set_readiness(&health, ServingStatus::NotServing).await;
    drain(&service, config.shutdown_grace).await;
    // Only now GOAWAY: until here open connections got statuses (NOT_SERVING from health,
    // UNAVAILABLE from the services), never a closed connection.
    let _ = stop_tx.send(());
    let margin = answer_margin(config.shutdown_grace);
    match tokio::time::timeout(margin, server).await {
        Ok(joined) => joined.expect("the server task does not panic")?,
        // Every request has its answer; what is left are idle streams a client keeps open.
        Err(_) => warn!("closing connections that stayed open past the grace period"),
    }
    // Workers finish what they hold and are joined when the last reference goes.
    drop(service);
    info!("stopped");
    Ok(())
}

fn answer_margin(grace: Duration) -> Duration {
    ANSWER_MARGIN.min(grace / 4)
}

/// Lets admitted requests finish within the grace period, less the answer margin, then
/// answers those still running UNAVAILABLE.
async fn drain(service: &Service, grace: Duration) {
    service.begin_drain();
    let margin = answer_margin(grace);
    let finishing = grace.saturating_sub(margin).saturating_sub(margin);
    if tokio::time::timeout(finishing, service.drained()).await.is_ok() {
        return;
    }
    let aborted = service.abort_in_flight();
    warn!(
        aborted,
        "grace period ending: requests still running answered UNAVAILABLE"
    );
    if tokio::time::timeout(margin, service.drained()).await.is_err() {
        warn!("requests still in flight after the abort");
    }
}

/// Keeps health in step with the pool: SERVING while a worker is live, NOT_SERVING while
/// every worker is being rebuilt.
async fn follow_live_workers(health: HealthReporter, mut live: watch::Receiver<usize>) {
    loop {
        let workers = *live.borrow_and_update();
        if workers > 0 {
            set_readiness(&health, ServingStatus::Serving).await;
            info!(workers, "serving");
        } else {
            set_readiness(&health, ServingStatus::NotServing).await;
            warn!("no worker is live: NOT_SERVING until one is rebuilt");
        }
        if live.changed().await.is_err() {
            break;
        }
    }
}

/// Liveness: NOT_SERVING once every worker is stuck (failing to be rebuilt again and again),
/// so that the process is restarted; SERVING again if one recovers first.
async fn follow_stuck_workers(health: HealthReporter, mut stuck: watch::Receiver<usize>, workers: usize) {
    loop {
        let stuck_now = *stuck.borrow_and_update();
        if stuck_now >= workers {
            error!(
                workers,
                "no worker can be rebuilt: liveness NOT_SERVING, the process needs a restart"
            );
            health.set_service_status("", ServingStatus::NotServing).await;
        } else {
            health.set_service_status("", ServingStatus::Serving).await;
        }
        if stuck.changed().await.is_err() {
            break;
        }
    }
}

async fn set_readiness(health: &HealthReporter, status: ServingStatus) {
    for name in SERVICE_NAMES {
        health.set_service_status(name, status).await;
    }
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tonic_health::pb::{health_client::HealthClient, HealthCheckRequest};

    use super::*;

    /// The status of `service` (readiness: a service name; liveness: ""), asked over a
    /// real connection.
    async fn status(client: &mut HealthClient<tonic::transport::Channel>, service: &str) -> i32 {
        let request = HealthCheckRequest {
            service: service.into(),
        };
        client.check(request).await.unwrap().into_inner().status
    }

    async fn eventually(client: &mut HealthClient<tonic::transport::Channel>, service: &str, wanted: ServingStatus) {
        for _ in 0..100 {
            if status(client, service).await == wanted as i32 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("health of {service:?} never reported {wanted:?}");
    }

    /// A health service on a real port, and a client of it.
    async fn health_server() -> (HealthReporter, HealthClient<tonic::transport::Channel>) {
        let (health, health_service) = tonic_health::server::health_reporter();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(
            Server::builder()
                .add_service(health_service)
                .serve_with_incoming(TcpIncoming::from(listener)),
        );
        let channel = tonic::transport::Channel::from_shared(url)
            .unwrap()
            .connect()
            .await
            .unwrap();
        (health, HealthClient::new(channel))
    }

    #[tokio::test]
    async fn readiness_follows_the_live_worker_count() {
        let (health, mut client) = health_server().await;
        let (live_tx, live) = watch::channel(2);
        tokio::spawn(follow_live_workers(health, live));
        let ready = SERVICE_NAMES[0];
        eventually(&mut client, ready, ServingStatus::Serving).await;
        live_tx.send(1).unwrap();
        eventually(&mut client, ready, ServingStatus::Serving).await;
        live_tx.send(0).unwrap();
        eventually(&mut client, ready, ServingStatus::NotServing).await;
        live_tx.send(1).unwrap();
        eventually(&mut client, ready, ServingStatus::Serving).await;
    }

    #[tokio::test]
    async fn liveness_fails_only_when_every_worker_is_stuck() {
        let (health, mut client) = health_server().await;
        let (stuck_tx, stuck) = watch::channel(0);
        tokio::spawn(follow_stuck_workers(health, stuck, 2));
        eventually(&mut client, "", ServingStatus::Serving).await;
        stuck_tx.send(1).unwrap();
        eventually(&mut client, "", ServingStatus::Serving).await;
        stuck_tx.send(2).unwrap();
        eventually(&mut client, "", ServingStatus::NotServing).await;
        stuck_tx.send(1).unwrap();
        eventually(&mut client, "", ServingStatus::Serving).await;
    }
}
