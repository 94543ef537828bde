//! The worker's libtorch models (feature `torch`): sentence embeddings for the semantic and
//! hybrid extractive modes, the optional named-entity tagger, and the abstractive models.

use super::{EngineError, StartError};
use crate::{
    config::EngineConfig,
    facts::NamedEntities,
    models::{embedding::SentenceEmbedder, ner::NerTagger},
    pool::Queued,
    request::{AbstractiveParams, Article, SummaryRequest},
    response::AbstractiveSummary,
    summarize::abstractive::{AbstractiveModel, AbstractiveOutput},
};

/// Abstractive requests generate together when they share a model and its settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchKey {
    model: String,
    min_tokens: Option<u32>,
    max_tokens: Option<u32>,
    num_beams: Option<u32>,
}

impl BatchKey {
    fn new(model: &str, params: &AbstractiveParams) -> BatchKey {
        BatchKey {
            model: model.to_owned(),
            min_tokens: params.min_tokens,
            max_tokens: params.max_tokens,
            num_beams: params.num_beams,
        }
    }
}

/// The libtorch models one worker owns.
pub struct NeuralModels {
    embedder: Option<SentenceEmbedder>,
    ner: Option<NerTagger>,
    abstractive: Vec<AbstractiveModel>,
    default_profile: Option<String>,
}

impl NeuralModels {
    /// Loads every configured model onto the configured device, with the configured number
    /// of libtorch threads.
    pub fn load(config: &EngineConfig) -> Result<NeuralModels, StartError> {
        // OpenMP keeps the thread count per calling thread: set it on each worker.
        tch::set_num_threads(i32::try_from(config.intra_op_threads).unwrap_or(i32::MAX));
        let placement = config.placement;
        let embedder = config
            .embedding_dir
            .as_deref()
            .map(|dir| SentenceEmbedder::load(dir, placement))
            .transpose()?;
        let ner = config
            .ner_dir
            .as_deref()
            .map(|dir| NerTagger::load(dir, placement))
            .transpose()?;
        let abstractive = config
            .profiles
            .iter()
            .map(|profile| AbstractiveModel::load(profile, placement))
            .collect::<Result<_, _>>()?;
        Ok(NeuralModels {
            embedder,
            ner,
            abstractive,
            default_profile: config.default_profile.clone(),
        })
    }

    /// Runs each loaded model once on `sample`.
    pub fn warm_up(&self, sample: &str) -> Result<(), EngineError> {
        if let Some(embedder) = &self.embedder {
            embedder.embed(&[sample]).map_err(EngineError::Embedding)?;
        }
        if let Some(ner) = &self.ner {
            ner.named_entities(sample, 0..sample.len());
        }
        let params = AbstractiveParams {
            max_tokens: Some(4),
            min_tokens: Some(1),
            num_beams: Some(1),
            ..Default::default()
        };
        for model in &self.abstractive {
            model.summarize(sample, &params).map_err(EngineError::Abstractive)?;
        }
        Ok(())
    }

    pub fn embed(&self, sentences: &[&str]) -> Result<Vec<Vec<f32>>, EngineError> {
        let embedder = self.embedder.as_ref().ok_or(EngineError::NotConfigured {
            what: "semantic and hybrid extractive modes",
            needs: "a sentence-embedding model",
            hint: "start it with --embedding-model-dir DIR (make run-full points it at all-MiniLM-L6-v2)",
        })?;
        embedder.embed(sentences).map_err(EngineError::Embedding)
    }

    pub fn names(&self) -> Option<&dyn NamedEntities> {
        self.ner.as_ref().map(|n| n as &dyn NamedEntities)
    }

    /// The abstractive model a request asks for, or the default.
    fn model(&self, request: &SummaryRequest) -> Result<&AbstractiveModel, EngineError> {
        let wanted = request.abstractive.model.as_ref().or(self.default_profile.as_ref());
        wanted
            .and_then(|name| self.abstractive.iter().find(|m| &m.profile().name == name))
            .ok_or(EngineError::NotConfigured {
                what: "abstractive summaries",
                needs: "an abstractive model",
                hint: "start it with --model-dir DIR (a Hugging Face BART, T5 or Pegasus directory)",
            })
    }

    /// The batch key of an abstractive request, and its cost: an estimate of its input
    /// tokens (about four bytes of English per token). Other requests run alone.
    pub fn batch_key(&self, request: &SummaryRequest) -> Option<(BatchKey, usize)> {
        if !request.outputs.abstractive {
            return None;
        }
        let model = self.model(request).ok()?;
        let key = BatchKey::new(&model.profile().name, &request.abstractive);
        Some((key, request.article.body.len() / 4 + 1))
    }

    pub fn abstractive(&self, request: &SummaryRequest) -> Result<AbstractiveSummary, EngineError> {
        let model = self.model(request)?;
        let output = model
            .summarize(&abstractive_input(&request.article), &request.abstractive)
            .map_err(EngineError::Abstractive)?;
        Ok(abstractive_summary(model, output))
    }

    /// Summarises requests that share a batch key in one batched model call.
    pub fn abstractive_batch(
        &self,
        requests: &[Queued<SummaryRequest>],
    ) -> Result<Vec<AbstractiveSummary>, EngineError> {
        let model = self.model(&requests[0].request)?;
        let inputs: Vec<String> = requests.iter().map(|q| abstractive_input(&q.request.article)).collect();
        let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
        let outputs = model
            .summarize_many(&inputs, &requests[0].request.abstractive)
            .map_err(EngineError::Abstractive)?;
        Ok(outputs
            .into_iter()
            .map(|output| abstractive_summary(model, output))
            .collect())
    }
}

/// The text an abstractive model reads: headline, then body.
fn abstractive_input(article: &Article) -> String {
    if article.title.trim().is_empty() {
        article.body.clone()
    } else {
        format!("{}. {}", article.title.trim().trim_end_matches('.'), article.body)
    }
}

fn abstractive_summary(model: &AbstractiveModel, output: AbstractiveOutput) -> AbstractiveSummary {
    AbstractiveSummary {
        text: output.text,
        model_id: model.profile().name.clone(),
        chunked: output.chunks > 1,
        chunks: output.chunks as u32,
        input_tokens: output.input_tokens as u32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(min: Option<u32>, max: Option<u32>, beams: Option<u32>) -> AbstractiveParams {
        AbstractiveParams {
            model: None,
            min_tokens: min,
            max_tokens: max,
            num_beams: beams,
        }
    }

    #[test]
    fn batch_keys_match_only_for_the_same_model_and_settings() {
        let base = BatchKey::new("bart", &params(Some(10), Some(60), Some(4)));
        assert_eq!(base, BatchKey::new("bart", &params(Some(10), Some(60), Some(4))));
        for other in [
            BatchKey::new("t5", &params(Some(10), Some(60), Some(4))),
            BatchKey::new("bart", &params(None, Some(60), Some(4))),
            BatchKey::new("bart", &params(Some(10), Some(61), Some(4))),
            BatchKey::new("bart", &params(Some(10), Some(60), Some(1))),
        ] {
            assert_ne!(base, other);
        }
    }

    #[test]
    fn the_headline_leads_the_abstractive_input() {
        let article = Article {
            title: " Tram approved. ".into(),
            body: "The council voted.".into(),
            ..Article::default()
        };
        assert_eq!(abstractive_input(&article), "Tram approved. The council voted.");
        let untitled = Article {
            body: "The council voted.".into(),
            ..Article::default()
        };
        assert_eq!(abstractive_input(&untitled), "The council voted.");
    }
}
