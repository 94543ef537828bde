//! A real newsgist server on 127.0.0.1:0 and a real client, for integration tests.
#![allow(dead_code)] // each test binary uses a different part of this module

use std::{path::PathBuf, time::Duration};

use clap::Parser;
use newsgist::{
    config::{Cli, Command},
    proto::{self as pb, model_service_client::ModelServiceClient, summarizer_service_client::SummarizerServiceClient},
    server::{self, ServerError},
};
use tokio::{sync::oneshot, task::JoinHandle};
use tonic::transport::Channel;
use tonic_health::pb::{health_check_response::ServingStatus, health_client::HealthClient, HealthCheckRequest};

pub struct TestServer {
    pub addr: std::net::SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), ServerError>>>,
}

impl TestServer {
    /// Starts a server with `serve` flags (besides --listen) and waits until it is SERVING.
    pub async fn start(flags: &[&str]) -> TestServer {
        let server = TestServer::spawn(flags).await;
        server.wait_until(ServingStatus::Serving).await;
        server
    }

    /// Starts a server with `serve` flags (besides --listen) without waiting for it.
    pub async fn spawn(flags: &[&str]) -> TestServer {
        let mut args = vec!["newsgist", "serve"];
        args.extend_from_slice(flags);
        let Command::Serve(serve) = Cli::parse_from(args).command else {
            unreachable!()
        };
        let config = serve.server_config().expect("valid test configuration");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server::serve(config, listener, async {
            let _ = stopped.await;
        }));
        TestServer {
            addr,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub async fn channel(&self) -> Channel {
        Channel::from_shared(self.url()).unwrap().connect().await.unwrap()
    }

    pub async fn client(&self) -> SummarizerServiceClient<Channel> {
        SummarizerServiceClient::new(self.channel().await)
    }

    /// Sends `request` on its own connection in a background task, so that a test can do
    /// other things while it runs.
    pub fn spawn_summarize(
        &self,
        request: pb::SummarizeRequest,
    ) -> JoinHandle<Result<tonic::Response<pb::SummarizeResponse>, tonic::Status>> {
        let url = self.url();
        tokio::spawn(async move {
            SummarizerServiceClient::connect(url)
                .await
                .unwrap()
                .summarize(request)
                .await
        })
    }

    pub async fn list_models(&self) -> Vec<pb::ModelInfo> {
        let mut models = ModelServiceClient::new(self.channel().await);
        models
            .list_models(pb::ListModelsRequest {})
            .await
            .unwrap()
            .into_inner()
            .models
    }

    pub async fn health(&self, service: &str) -> ServingStatus {
        let mut health = HealthClient::new(self.channel().await);
        let response = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap();
        ServingStatus::try_from(response.into_inner().status).unwrap()
    }

    async fn wait_until(&self, status: ServingStatus) {
        for _ in 0..600 {
            if let Ok(channel) = Channel::from_shared(self.url()).unwrap().connect().await {
                let mut health = HealthClient::new(channel);
                // Readiness: the summariser's own status (the empty name is liveness).
                let readiness = HealthCheckRequest {
                    service: server::SERVICE_NAMES[0].into(),
                };
                if let Ok(r) = health.check(readiness).await {
                    if r.into_inner().status == status as i32 {
                        return;
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("server did not reach {status:?} within 60 s");
    }

    /// Begins graceful shutdown and returns the server task, to await its drain.
    pub fn begin_shutdown(&mut self) -> JoinHandle<Result<(), ServerError>> {
        let _ = self.stop.take().expect("not yet stopped").send(());
        self.task.take().expect("not yet stopped")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub fn repo_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// The bundled all-MiniLM-L6-v2 directory that `make setup` installs.
pub fn minilm_dir() -> String {
    std::env::var("NEWSGIST_MINILM_DIR").expect("NEWSGIST_MINILM_DIR is set by scripts/setup.sh in .cargo/config.toml")
}

pub fn fixture(name: &str) -> String {
    let dir = repo_path("models/fixtures").join(name);
    assert!(
        dir.join("model.safetensors").is_file(),
        "{} is missing: run `make setup`",
        dir.display()
    );
    dir.display().to_string()
}

pub const ARTICLE_TITLE: &str = "City council approves new tram line for Riverside";

pub const ARTICLE_BODY: &str =
    "The city council of Riverside approved a new tram line on Tuesday after a year of debate. \
The line will link the university to the central station and is expected to open in 2027. \
Mayor Jane Okafor said the project would cut traffic in the old town by a third. \
Opponents argued that the 400 million dollar budget was too high for a city of its size. \
Construction is due to begin in March, the council said in a statement. \
Local businesses welcomed the decision, citing the footfall the tram would bring. \
The regional government has promised to cover half of the cost.";

pub fn article(id: &str, body: &str) -> pb::Article {
    pb::Article {
        id: id.into(),
        title: ARTICLE_TITLE.into(),
        body: body.into(),
        url: "https://example.org/riverside-tram".into(),
        published_at: Some(prost_types::Timestamp {
            seconds: 1_718_755_200,
            nanos: 0,
        }),
        language: "en".into(),
    }
}

pub fn request(id: &str, body: &str, outputs: &[pb::Output]) -> pb::SummarizeRequest {
    pb::SummarizeRequest {
        request_id: id.into(),
        article: Some(article(id, body)),
        options: Some(pb::SummarizeOptions {
            outputs: outputs.iter().map(|o| *o as i32).collect(),
            ..Default::default()
        }),
    }
}

/// The code point slice `[start, end)` of `text`.
pub fn char_slice(text: &str, start: u32, end: u32) -> String {
    text.chars().skip(start as usize).take((end - start) as usize).collect()
}
