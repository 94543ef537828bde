//! `newsgist.v1.ModelService`: what this server runs and its limits.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::convert;
use crate::{
    proto::{self as pb, model_service_server::ModelService},
    request::Outputs,
    service::Service,
};

/// The service: a handle on the core.
pub struct Models(pub Arc<Service>);

#[tonic::async_trait]
impl ModelService for Models {
    async fn list_models(&self, _: Request<pb::ListModelsRequest>) -> Result<Response<pb::ListModelsResponse>, Status> {
        let config = self.0.config();
        let loaded = self.0.is_ready();
        let embedded = |name: &str, kind: pb::ModelKind| pb::ModelInfo {
            name: name.into(),
            kind: kind.into(),
            architecture: "embedded".into(),
            source: "embedded".into(),
            loaded,
            default: true,
        };
        let mut models = vec![
            embedded("lexical", pb::ModelKind::Extractive),
            embedded("key-facts", pb::ModelKind::KeyFacts),
        ];
        if let Some(dir) = &config.embedding_dir {
            models.push(pb::ModelInfo {
                name: "sentence-embeddings".into(),
                kind: pb::ModelKind::Embedding.into(),
                architecture: "bert".into(),
                source: dir.display().to_string(),
                loaded,
                default: true,
            });
        }
        if let Some(dir) = &config.ner_dir {
            models.push(pb::ModelInfo {
                name: "named-entities".into(),
                kind: pb::ModelKind::KeyFacts.into(),
                architecture: "bert".into(),
                source: dir.display().to_string(),
                loaded,
                default: true,
            });
        }
        models.extend(config.profiles.iter().map(|profile| pb::ModelInfo {
            name: profile.name.clone(),
            kind: pb::ModelKind::Abstractive.into(),
            architecture: profile.architecture.name().into(),
            source: profile.dir.display().to_string(),
            loaded,
            default: config.default_profile.as_ref() == Some(&profile.name),
        }));
        Ok(Response::new(pb::ListModelsResponse { models }))
    }

    async fn get_server_info(
        &self,
        _: Request<pb::GetServerInfoRequest>,
    ) -> Result<Response<pb::GetServerInfoResponse>, Status> {
        let config = self.0.config();
        Ok(Response::new(pb::GetServerInfoResponse {
            version: env!("CARGO_PKG_VERSION").into(),
            workers: config.workers as u32,
            max_body_bytes: config.limits.max_body_bytes as u64,
            max_pending: config.max_pending as u32,
            default_outputs: convert::outputs(Outputs::DEFAULT),
        }))
    }
}
