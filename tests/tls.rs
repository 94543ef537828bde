//! TLS on a real server: a client that trusts the CA is served (with an API key as well), a
//! plaintext client is not, a rewritten certificate takes effect without a restart, and with a
//! client CA only callers presenting a certificate it signed get through.

mod common;

use std::{path::Path, time::Duration};

use common::*;
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use tonic::{
    metadata::MetadataValue,
    transport::{Certificate, Channel, ClientTlsConfig, Identity},
};

struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
}

fn ca(name: &str) -> Ca {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(rcgen::DnType::CommonName, name);
    Ca {
        cert: params.self_signed(&key).unwrap(),
        key,
    }
}

/// A certificate for `name` signed by `ca`: (certificate PEM, key PEM).
fn issue(ca: &Ca, name: &str) -> (String, String) {
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec![name.to_owned()])
        .unwrap()
        .signed_by(&key, &ca.cert, &ca.key)
        .unwrap();
    (cert.pem(), key.serialize_pem())
}

fn write_identity(dir: &Path, (cert, key): &(String, String)) {
    std::fs::write(dir.join("server.crt"), cert).unwrap();
    std::fs::write(dir.join("server.key"), key).unwrap();
}

/// A server speaking only TLS with the identity written to `dir` (see [`write_identity`]) and
/// the API key [`KEY`]; with `client_ca`, a PEM file in `dir`, mutual TLS.
async fn tls_server(dir: &Path, client_ca: Option<&str>) -> TestServer {
    let path = |name: &str| dir.join(name).to_str().unwrap().to_owned();
    let mut flags = vec![
        "--tls-cert".to_owned(),
        path("server.crt"),
        "--tls-key".to_owned(),
        path("server.key"),
        "--api-keys".to_owned(),
        format!("tls:{KEY}"),
    ];
    if let Some(ca) = client_ca {
        flags.extend(["--tls-client-ca".to_owned(), path(ca)]);
    }
    TestServer::spawn(&flags.iter().map(String::as_str).collect::<Vec<_>>()).await
}

async fn tls_channel(server: &TestServer, ca: &Ca, identity: Option<&(String, String)>) -> Result<Channel, String> {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca.cert.pem()))
        .domain_name("localhost");
    if let Some((cert, key)) = identity {
        tls = tls.identity(Identity::from_pem(cert, key));
    }
    let url = format!("https://localhost:{}", server.addr.port());
    Channel::from_shared(url)
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
        .map_err(|e| format!("{e:?}"))
}

/// Summarises over `channel` with `key`; the status code on failure.
async fn summarize(channel: Channel, key: &str) -> Result<(), tonic::Code> {
    let mut client = newsgist::proto::summarizer_service_client::SummarizerServiceClient::new(channel);
    let mut request = tonic::Request::new(request("tls", ARTICLE_BODY, &[]));
    let value: MetadataValue<_> = format!("Bearer {key}").parse().unwrap();
    request.metadata_mut().insert("authorization", value);
    client.summarize(request).await.map(|_| ()).map_err(|s| s.code())
}

/// Waits until a TLS client trusting `ca` is served.
async fn served_by(server: &TestServer, ca: &Ca, identity: Option<&(String, String)>, key: &str) -> bool {
    for _ in 0..100 {
        if let Ok(channel) = tls_channel(server, ca, identity).await {
            if summarize(channel, key).await.is_ok() {
                return true;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

const KEY: &str = "tls-test-0123456789abcdef";

#[tokio::test]
async fn tls_with_a_key_serves_and_a_rewritten_certificate_takes_effect_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let first = ca("first CA");
    write_identity(dir.path(), &issue(&first, "localhost"));
    let server = tls_server(dir.path(), None).await;
    assert!(
        served_by(&server, &first, None, KEY).await,
        "a client trusting the CA, with the key"
    );
    let refused = summarize(
        tls_channel(&server, &first, None).await.unwrap(),
        "wrong-0123456789abcdef",
    )
    .await;
    assert_eq!(refused, Err(tonic::Code::Unauthenticated));
    let plaintext = Channel::from_shared(server.url()).unwrap().connect().await;
    let plaintext_served = match plaintext {
        Ok(channel) => summarize(channel, KEY).await.is_ok(),
        Err(_) => false,
    };
    assert!(!plaintext_served, "plaintext is not served");

    // Rotation to a certificate from another CA: clients trusting it get through, no restart.
    let second = ca("second CA");
    write_identity(dir.path(), &issue(&second, "localhost"));
    assert!(
        served_by(&server, &second, None, KEY).await,
        "the rewritten certificate is in force"
    );
    assert!(
        tls_channel(&server, &first, None).await.is_err(),
        "the old CA no longer matches"
    );
}

#[tokio::test]
async fn connections_that_never_finish_a_handshake_cannot_crowd_out_callers() {
    use tokio::io::AsyncReadExt;
    let dir = tempfile::tempdir().unwrap();
    let ca = ca("CA");
    write_identity(dir.path(), &issue(&ca, "localhost"));
    let server = tls_server(dir.path(), None).await;
    let mut silent = Vec::new();
    for _ in 0..newsgist::server::MAX_HANDSHAKES {
        silent.push(tokio::net::TcpStream::connect(server.addr).await.unwrap());
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let mut beyond = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let mut byte = [0u8; 1];
    let closed = tokio::time::timeout(std::time::Duration::from_secs(2), beyond.read(&mut byte)).await;
    assert!(
        matches!(closed, Ok(Ok(0) | Err(_))),
        "a connection beyond the handshake slots is closed at once: {closed:?}"
    );
    // Slots free as soon as the silent clients go.
    drop(silent);
    assert!(served_by(&server, &ca, None, KEY).await, "served once they have gone");
}

#[tokio::test]
async fn with_a_client_ca_only_callers_with_its_certificates_get_through() {
    let dir = tempfile::tempdir().unwrap();
    let server_ca = ca("server CA");
    write_identity(dir.path(), &issue(&server_ca, "localhost"));
    let clients = ca("client CA");
    std::fs::write(dir.path().join("clients.crt"), clients.cert.pem()).unwrap();
    let server = tls_server(dir.path(), Some("clients.crt")).await;
    let client_identity = issue(&clients, "batch-job");
    assert!(served_by(&server, &server_ca, Some(&client_identity), KEY).await);
    let without = match tls_channel(&server, &server_ca, None).await {
        Ok(channel) => summarize(channel, KEY).await.is_ok(),
        Err(_) => false,
    };
    assert!(!without, "no client certificate: refused");
    let stranger = issue(&ca("another CA"), "intruder");
    let with_stranger = match tls_channel(&server, &server_ca, Some(&stranger)).await {
        Ok(channel) => summarize(channel, KEY).await.is_ok(),
        Err(_) => false,
    };
    assert!(!with_stranger, "a certificate from another CA: refused");
}

#[tokio::test]
async fn a_stock_python_grpcio_client_interoperates_over_tls_with_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let authority = ca("interop CA");
    write_identity(dir.path(), &issue(&authority, "localhost"));
    let ca_file = dir.path().join("ca.crt");
    std::fs::write(&ca_file, authority.cert.pem()).unwrap();
    let server = tls_server(dir.path(), None).await;
    assert!(served_by(&server, &authority, None, KEY).await, "the server is up");
    let python = std::env::var("NEWSGIST_PYTHON").expect("NEWSGIST_PYTHON is set by scripts/setup.sh");
    let run = |key: &str| {
        let mut command = tokio::process::Command::new(&python);
        command
            .arg(repo_path("tests/python/interop_client.py"))
            .arg(server.addr.to_string())
            .arg("--ca")
            .arg(&ca_file)
            .arg("--api-key")
            .arg(key)
            .arg("--timeout")
            .arg("20");
        command
    };
    let output = run(KEY).output().await.unwrap();
    assert!(
        output.status.success(),
        "python over TLS with the key:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let refused = run("not-the-key-0123456789").output().await.unwrap();
    assert!(!refused.status.success(), "a wrong key fails");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("UNAUTHENTICATED"));
}

#[tokio::test]
async fn an_archive_job_reaches_a_mutual_tls_server_with_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let server_ca = ca("server CA");
    write_identity(dir.path(), &issue(&server_ca, "localhost"));
    std::fs::write(dir.path().join("server-ca.crt"), server_ca.cert.pem()).unwrap();
    let clients = ca("client CA");
    std::fs::write(dir.path().join("clients.crt"), clients.cert.pem()).unwrap();
    let (client_cert, client_key) = issue(&clients, "archive-job");
    std::fs::write(dir.path().join("client.crt"), client_cert).unwrap();
    std::fs::write(dir.path().join("client.key"), client_key).unwrap();
    let server = tls_server(dir.path(), Some("clients.crt")).await;
    let input = dir.path().join("rows.jsonl");
    let rows: String = (0..3)
        .map(|i| {
            format!(
                "{}\n",
                serde_json::json!({"id": format!("row-{i}"), "body": ARTICLE_BODY})
            )
        })
        .collect();
    std::fs::write(&input, rows).unwrap();
    let output = dir.path().join("out.jsonl");
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let job = tokio::process::Command::new(env!("CARGO_BIN_EXE_newsgist"))
        .env_remove("JOB_COMPLETION_INDEX")
        .arg("batch")
        .arg("--input")
        .arg(&input)
        .arg("--output")
        .arg(&output)
        .args(["--outputs", "extractive", "--server"])
        .arg(format!("localhost:{}", server.addr.port()))
        .args(["--server-ca", &path("server-ca.crt")])
        .args([
            "--server-cert",
            &path("client.crt"),
            "--server-key",
            &path("client.key"),
        ])
        .args(["--server-api-key", KEY])
        .output()
        .await
        .unwrap();
    assert!(
        job.status.success(),
        "exit {:?}: {}",
        job.status,
        String::from_utf8_lossy(&job.stderr)
    );
    let written = std::fs::read_to_string(&output).unwrap();
    let rows: Vec<serde_json::Value> = written.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 3, "{written}");
    for row in &rows {
        assert!(
            row["extractive"]["text"].as_str().is_some_and(|t| !t.is_empty()),
            "{row}"
        );
    }
}
