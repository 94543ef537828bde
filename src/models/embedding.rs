//! Sentence embeddings (all-MiniLM-L6-v2 and other sentence-transformers models in HF
//! format) for the semantic and hybrid extractive modes.

use std::path::Path;

use rust_bert::pipelines::{
    common::ModelType,
    sentence_embeddings::{SentenceEmbeddingsConfig, SentenceEmbeddingsModel},
};

use super::{require, ModelError, Placement};

/// A loaded sentence-embedding model. Owned by one worker thread.
pub struct SentenceEmbedder {
    model: SentenceEmbeddingsModel,
}

impl SentenceEmbedder {
    /// Loads a sentence-transformers directory (modules.json, 1_Pooling/, config.json,
    /// model.safetensors, vocab.txt). rust-bert's own builder only reads `rust_model.ot`,
    /// so the configuration is assembled here to load the safetensors file directly.
    pub fn load(dir: &Path, placement: Placement) -> Result<SentenceEmbedder, ModelError> {
        let config = SentenceEmbeddingsConfig {
            modules_config_resource: Box::new(local(require(dir, "modules.json")?)),
            transformer_type: ModelType::Bert,
            transformer_config_resource: Box::new(local(require(dir, "config.json")?)),
            transformer_weights_resource: Box::new(local(require(dir, "model.safetensors")?)),
            pooling_config_resource: Box::new(local(require(dir, "1_Pooling/config.json")?)),
            dense_config_resource: None,
            dense_weights_resource: None,
            sentence_bert_config_resource: Box::new(local(require(dir, "sentence_bert_config.json")?)),
            tokenizer_config_resource: Box::new(local(require(dir, "tokenizer_config.json")?)),
            tokenizer_vocab_resource: Box::new(local(require(dir, "vocab.txt")?)),
            tokenizer_merges_resource: None,
            device: placement.tch_device(),
            kind: Some(placement.kind()),
        };
        let model = SentenceEmbeddingsModel::new(config).map_err(|source| ModelError::Load {
            what: format!("sentence embeddings from {}", dir.display()),
            source: source.into(),
        })?;
        Ok(SentenceEmbedder { model })
    }

    /// Embeds each sentence; vectors are L2-normalised when the model says so.
    pub fn embed(&self, sentences: &[&str]) -> Result<Vec<Vec<f32>>, rust_bert::RustBertError> {
        if sentences.is_empty() {
            return Ok(Vec::new());
        }
        self.model.encode(sentences)
    }
}

fn local(path: std::path::PathBuf) -> rust_bert::resources::LocalResource {
    rust_bert::resources::LocalResource { local_path: path }
}
