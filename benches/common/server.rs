//! A real newsgist server in this process on 127.0.0.1:0 with a real client, for the gRPC
//! benches.

use std::time::Duration;

use clap::Parser;
use newsgist::{
    config::{Cli, Command},
    proto::summarizer_service_client::SummarizerServiceClient,
    server,
};
use tonic::transport::Channel;

pub struct BenchServer {
    pub client: SummarizerServiceClient<Channel>,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), server::ServerError>>,
}

/// Starts `newsgist serve FLAGS` and connects a client (the server may still be warming up).
pub async fn start(flags: &[String]) -> BenchServer {
    let argv = ["newsgist", "serve"]
        .into_iter()
        .map(String::from)
        .chain(flags.iter().cloned());
    let Command::Serve(serve) = Cli::parse_from(argv).command else {
        unreachable!("the serve subcommand parses as Serve")
    };
    let config = serve.server_config().expect("valid configuration");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server::serve(config, listener, async {
        let _ = stopped.await;
    }));
    let client = loop {
        if let Ok(client) = SummarizerServiceClient::connect(url.clone()).await {
            break client;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    BenchServer { client, stop, task }
}

impl BenchServer {
    /// Shuts the server down and waits for it.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.unwrap().expect("server stops cleanly");
    }
}
