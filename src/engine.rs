//! The engine: one worker's models and the pipeline that turns a validated request into a
//! response (extractive summary, abstractive summary, key facts).

use std::time::{Duration, Instant};

use crate::{
    config::EngineConfig,
    facts,
    models::{embedding::SentenceEmbedder, ner::NerTagger, ModelError},
    pool::{BuildPanicked, Handler, PoolConfig, WorkerPool},
    request::{ExtractiveMode, SummaryRequest},
    response::{AbstractiveSummary, ExtractiveSentence, ExtractiveSummary, Field, Location, SummaryResponse, Timings},
    summarize::{
        abstractive::{AbstractiveModel, AbstractiveOutput},
        extractive::{self, Document, RankMode},
    },
};

/// Why an admitted request failed inside a worker.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{what} require {needs}, which this server was not started with: {hint}")]
    NotConfigured {
        what: &'static str,
        needs: &'static str,
        hint: &'static str,
    },
    #[error("abstractive generation failed: {0}")]
    Abstractive(crate::seq2seq::Seq2SeqError),
    #[error("sentence embedding failed: {0}")]
    Embedding(rust_bert::RustBertError),
}

/// Why the workers could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Load(#[from] ModelError),
    #[error("warm-up failed: {0}")]
    WarmUp(#[from] EngineError),
    #[error(transparent)]
    Panicked(#[from] BuildPanicked),
}

/// Starts `config.workers` threads, each loading and warming up its own models with
/// `config.intra_op_threads` libtorch threads. Blocks until all are ready.
pub fn start_workers(config: &EngineConfig) -> Result<WorkerPool<Engine>, StartError> {
    let config = config.clone();
    let threads = i32::try_from(config.intra_op_threads).unwrap_or(i32::MAX);
    tch::set_num_threads(threads);
    let pool_config = PoolConfig {
        workers: config.workers,
        max_pending: config.max_pending,
        max_batch: config.max_batch,
        batch_budget: config.batch_tokens,
    };
    WorkerPool::start(pool_config, move |_| {
        // OpenMP keeps the thread count per calling thread, so set it on each worker too.
        tch::set_num_threads(threads);
        let mut engine = Engine::load(&config)?;
        engine.warm_up()?;
        Ok(engine)
    })
}

/// The models one worker owns.
pub struct Engine {
    embedder: Option<SentenceEmbedder>,
    ner: Option<NerTagger>,
    abstractive: Vec<AbstractiveModel>,
    default_profile: Option<String>,
}

impl Engine {
    /// Loads every configured model onto the configured device.
    pub fn load(config: &EngineConfig) -> Result<Engine, ModelError> {
        let embedder = config
            .embedding_dir
            .as_deref()
            .map(|dir| SentenceEmbedder::load(dir, config.placement))
            .transpose()?;
        let ner = config
            .ner_dir
            .as_deref()
            .map(|dir| NerTagger::load(dir, config.placement))
            .transpose()?;
        let abstractive = config
            .profiles
            .iter()
            .map(|profile| AbstractiveModel::load(profile, config.placement))
            .collect::<Result<_, _>>()?;
        Ok(Engine {
            embedder,
            ner,
            abstractive,
            default_profile: config.default_profile.clone(),
        })
    }

    /// Runs each loaded model once, so that the first real request does not pay for lazy
    /// initialisation and a broken model is found before the server reports SERVING.
    pub fn warm_up(&mut self) -> Result<(), EngineError> {
        let sample = "The council approved the new budget on Monday. Officials said spending would rise.";
        if let Some(embedder) = &self.embedder {
            embedder.embed(&[sample]).map_err(EngineError::Embedding)?;
        }
        for model in &self.abstractive {
            let params = crate::request::AbstractiveParams {
                max_tokens: Some(4),
                min_tokens: Some(1),
                num_beams: Some(1),
                ..Default::default()
            };
            model.summarize(sample, &params).map_err(EngineError::Abstractive)?;
        }
        Ok(())
    }

    /// Produces every output the request asks for.
    pub fn summarize(&self, request: &SummaryRequest, queued: Duration) -> Result<SummaryResponse, EngineError> {
        self.respond(request, queued, None)
    }

    /// Like [`Engine::summarize`], with the abstractive summary already computed (by a
    /// batched call) when `precomputed` holds it and its milliseconds.
    fn respond(
        &self,
        request: &SummaryRequest,
        queued: Duration,
        precomputed: Option<(AbstractiveSummary, f64)>,
    ) -> Result<SummaryResponse, EngineError> {
        let started = Instant::now();
        let mut timings = Timings {
            queue_ms: millis(queued),
            ..Timings::default()
        };
        let article = &request.article;
        // Relative dates need an anchor; without a publication time, the article is taken
        // to be current.
        let anchor = article.published_at.unwrap_or_else(chrono::Utc::now).naive_utc();

        let extractive = request
            .outputs
            .extractive
            .then(|| timed(&mut timings.extractive_ms, || self.extractive(request)))
            .transpose()?;
        // A batched summary was computed before this call started; count its time in total.
        let mut before_started = Duration::ZERO;
        let abstractive = match precomputed {
            Some((summary, ms)) => {
                timings.abstractive_ms = ms;
                before_started = Duration::from_secs_f64(ms / 1000.0);
                Some(summary)
            }
            None => request
                .outputs
                .abstractive
                .then(|| timed(&mut timings.abstractive_ms, || self.abstractive(request)))
                .transpose()?,
        };
        let key_facts = request.outputs.key_facts.then(|| {
            timed(&mut timings.key_facts_ms, || {
                facts::extract_with(
                    article,
                    anchor,
                    request.max_facts,
                    self.ner.as_ref().map(|n| n as &dyn facts::NamedEntities),
                )
            })
        });

        timings.total_ms = millis(queued + before_started + started.elapsed());
        Ok(SummaryResponse {
            request_id: request.request_id.clone(),
            article_id: article.id.clone(),
            extractive,
            abstractive,
            key_facts,
            timings,
        })
    }

    fn extractive(&self, request: &SummaryRequest) -> Result<ExtractiveSummary, EngineError> {
        let article = &request.article;
        let title = Some(article.title.as_str()).filter(|t| !t.trim().is_empty());
        let document = Document::new(title, &article.body);
        let embeddings = match request.extractive_mode {
            ExtractiveMode::Lexical => None,
            ExtractiveMode::Semantic | ExtractiveMode::Hybrid => {
                let embedder = self.embedder.as_ref().ok_or(EngineError::NotConfigured {
                    what: "semantic and hybrid extractive modes",
                    needs: "a sentence-embedding model",
                    hint: "start it with --embedding-model-dir DIR (make run points it at all-MiniLM-L6-v2)",
                })?;
                Some(
                    embedder
                        .embed(&document.candidate_texts())
                        .map_err(EngineError::Embedding)?,
                )
            }
        };
        let mode = match (request.extractive_mode, &embeddings) {
            (ExtractiveMode::Semantic, Some(e)) => RankMode::Semantic(e),
            (ExtractiveMode::Hybrid, Some(e)) => RankMode::Hybrid(e),
            _ => RankMode::Lexical,
        };
        let chosen = extractive::select(&document, request.extractive_length, mode);
        let body = article.body.as_str();
        let candidates = document.candidate_ranges();
        let sentences: Vec<ExtractiveSentence> = chosen
            .into_iter()
            .map(|s| ExtractiveSentence {
                text: body[s.range.clone()].to_string(),
                location: Location::of(Field::Body, body, &s.range),
                score: s.score,
                index: candidates.iter().position(|r| *r == s.range).unwrap_or_default() as u32,
            })
            .collect();
        let text = sentences.iter().map(|s| s.text.as_str()).collect::<Vec<_>>().join("\n");
        Ok(ExtractiveSummary {
            sentences,
            text,
            mode: request.extractive_mode,
            total_sentences: candidates.len() as u32,
        })
    }

    /// The abstractive model a request asks for, or the default.
    fn abstractive_model(&self, request: &SummaryRequest) -> Result<&AbstractiveModel, EngineError> {
        let wanted = request.abstractive.model.as_ref().or(self.default_profile.as_ref());
        wanted
            .and_then(|name| self.abstractive.iter().find(|m| &m.profile().name == name))
            .ok_or(EngineError::NotConfigured {
                what: "abstractive summaries",
                needs: "an abstractive model",
                hint: "start it with --model-dir DIR (a Hugging Face BART, T5 or Pegasus directory)",
            })
    }

    fn abstractive(&self, request: &SummaryRequest) -> Result<AbstractiveSummary, EngineError> {
        let model = self.abstractive_model(request)?;
        let input = abstractive_input(&request.article);
        let output = model
            .summarize(&input, &request.abstractive)
            .map_err(EngineError::Abstractive)?;
        Ok(abstractive_summary(model, output))
    }

    /// Summarises requests that share a model and settings in one batched model call.
    fn abstractive_batch(
        &self,
        requests: &[(SummaryRequest, Duration)],
    ) -> Result<Vec<AbstractiveSummary>, EngineError> {
        let model = self.abstractive_model(&requests[0].0)?;
        let inputs: Vec<String> = requests.iter().map(|(r, _)| abstractive_input(&r.article)).collect();
        let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
        let outputs = model
            .summarize_many(&inputs, &requests[0].0.abstractive)
            .map_err(EngineError::Abstractive)?;
        Ok(outputs
            .into_iter()
            .map(|output| abstractive_summary(model, output))
            .collect())
    }
}

/// The text an abstractive model reads: headline, then body.
fn abstractive_input(article: &crate::request::Article) -> String {
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

impl Handler for Engine {
    type Request = SummaryRequest;
    type Response = SummaryResponse;
    type Error = EngineError;

    /// Abstractive requests with the same model and settings batch together; their cost is
    /// an estimate of their input tokens (about four bytes of English per token).
    fn batch_key(&self, request: &SummaryRequest) -> Option<(String, usize)> {
        if !request.outputs.abstractive {
            return None;
        }
        let model = self.abstractive_model(request).ok()?;
        let p = &request.abstractive;
        let key = format!(
            "{}/{:?}/{:?}/{:?}",
            model.profile().name,
            p.min_tokens,
            p.max_tokens,
            p.num_beams
        );
        Some((key, request.article.body.len() / 4 + 1))
    }

    fn handle_batch(&mut self, requests: Vec<(SummaryRequest, Duration)>) -> Vec<Result<SummaryResponse, EngineError>> {
        if requests.len() == 1 {
            return requests
                .iter()
                .map(|(request, queued)| self.summarize(request, *queued))
                .collect();
        }
        let started = Instant::now();
        match self.abstractive_batch(&requests) {
            Ok(summaries) => {
                let ms = millis(started.elapsed());
                requests
                    .iter()
                    .zip(summaries)
                    .map(|((request, queued), summary)| self.respond(request, *queued, Some((summary, ms))))
                    .collect()
            }
            // One bad input must not fail its batch mates: retry each alone.
            Err(_) => requests
                .iter()
                .map(|(request, queued)| self.summarize(request, *queued))
                .collect(),
        }
    }
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn timed<T>(slot: &mut f64, work: impl FnOnce() -> T) -> T {
    let started = Instant::now();
    let result = work();
    *slot = millis(started.elapsed());
    result
}
