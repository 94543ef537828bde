//! API keys on a real server: refused without or with a wrong key, served with a right one,
//! health open to probes, reflection behind the keys, and a changed keys file taking effect
//! without a restart.

mod common;

use std::time::Duration;

use common::*;
use tonic::{metadata::MetadataValue, Code};
use tonic_health::pb::{health_client::HealthClient, HealthCheckRequest};

const NEWSROOM: &str = "newsroom-0123456789abcdef";
const ROTATED: &str = "rotated-fedcba9876543210";

fn with_key(key: Option<&str>) -> tonic::Request<newsgist::proto::SummarizeRequest> {
    let mut request = tonic::Request::new(request("k", ARTICLE_BODY, &[]));
    if let Some(key) = key {
        let value: MetadataValue<_> = format!("Bearer {key}").parse().unwrap();
        request.metadata_mut().insert("authorization", value);
    }
    request
}

#[tokio::test]
async fn keys_guard_the_api_but_not_health_and_rotate_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    std::fs::write(&keys, format!("# the newsroom's services\nnewsroom:{NEWSROOM}\n")).unwrap();
    let server = TestServer::start(&["--api-keys-file", keys.to_str().unwrap()]).await;
    let mut client = server.client().await;

    let missing = client.summarize(with_key(None)).await.unwrap_err();
    assert_eq!(missing.code(), Code::Unauthenticated);
    assert!(missing.message().contains("authorization: Bearer KEY"), "{missing:?}");
    let wrong = client.summarize(with_key(Some(ROTATED))).await.unwrap_err();
    assert_eq!(wrong.code(), Code::Unauthenticated, "{wrong:?}");
    assert!(client.summarize(with_key(Some(NEWSROOM))).await.is_ok());

    // Probes need no key; the models service and reflection do.
    let mut health = HealthClient::new(server.channel().await);
    assert!(health
        .check(HealthCheckRequest { service: String::new() })
        .await
        .is_ok());
    let models = newsgist::proto::model_service_client::ModelServiceClient::new(server.channel().await)
        .list_models(newsgist::proto::ListModelsRequest {})
        .await
        .unwrap_err();
    assert_eq!(models.code(), Code::Unauthenticated);
    use tonic_reflection::pb::v1;
    let list = v1::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(v1::server_reflection_request::MessageRequest::ListServices(
            String::new(),
        )),
    };
    let reflection = v1::server_reflection_client::ServerReflectionClient::new(server.channel().await)
        .server_reflection_info(futures::stream::iter([list]))
        .await;
    let refused = match reflection {
        Err(status) => status,
        Ok(replies) => futures::StreamExt::next(&mut replies.into_inner())
            .await
            .unwrap()
            .unwrap_err(),
    };
    assert_eq!(refused.code(), Code::Unauthenticated, "reflection follows the keys");

    // Rotation: the new key works and the old one stops, without a restart.
    std::fs::write(&keys, format!("newsroom:{ROTATED}\n")).unwrap();
    let mut rotated = false;
    for _ in 0..100 {
        if client.summarize(with_key(Some(ROTATED))).await.is_ok() {
            rotated = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(rotated, "the rewritten keys file took effect");
    let old = client.summarize(with_key(Some(NEWSROOM))).await.unwrap_err();
    assert_eq!(old.code(), Code::Unauthenticated);
}

#[tokio::test]
async fn health_can_require_a_key_too() {
    let server = TestServer::spawn(&["--api-keys", &format!("probe:{NEWSROOM}"), "--auth-health"]).await;
    let check = |key: Option<&str>| {
        let mut request = tonic::Request::new(HealthCheckRequest { service: String::new() });
        if let Some(key) = key {
            let value: MetadataValue<_> = format!("Bearer {key}").parse().unwrap();
            request.metadata_mut().insert("authorization", value);
        }
        request
    };
    let mut answered = None;
    for _ in 0..100 {
        if let Ok(channel) = tonic::transport::Channel::from_shared(server.url())
            .unwrap()
            .connect()
            .await
        {
            answered = Some(HealthClient::new(channel).check(check(Some(NEWSROOM))).await);
            if answered.as_ref().is_some_and(Result::is_ok) {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(answered.is_some_and(|a| a.is_ok()), "health answers with the key");
    let mut health = HealthClient::new(server.channel().await);
    let refused = health.check(check(None)).await.unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated);
}
