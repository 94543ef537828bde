//! The engine: what one worker owns and the pipeline that turns a validated request into a
//! response (extractive summary, abstractive summary, key facts). The libtorch models live in
//! [`neural`], which only the `torch` feature builds; without it the engine answers requests
//! for them with [`EngineError::NotBuilt`].

#[cfg(feature = "torch")]
mod neural;

use std::time::{Duration, Instant};

use crate::{
    config::EngineConfig,
    facts,
    models::ModelError,
    nlp::Pipeline,
    pool::{BuildPanicked, Handler, Queued},
    request::{ExtractiveMode, SummaryRequest},
    response::{AbstractiveSummary, ExtractiveSentence, ExtractiveSummary, Field, Location, SummaryResponse, Timings},
    summarize::extractive::{self, Document, RankMode},
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
    #[error("{what} need libtorch models, and {hint}", hint = crate::models::BUILT_WITHOUT_TORCH)]
    NotBuilt { what: &'static str },
    /// The caller stopped waiting; the stages after this point were not run.
    #[error("the request's deadline passed while it ran (before {stage}); it was stopped there")]
    DeadlineExceeded { stage: &'static str },
    #[cfg(feature = "torch")]
    #[error("abstractive generation failed: {0}")]
    Abstractive(crate::seq2seq::Seq2SeqError),
    #[cfg(feature = "torch")]
    #[error("sentence embedding failed: {0}")]
    Embedding(rust_bert::RustBertError),
}

/// Why a worker could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("the embedded NLP models (models/nlp/nlp.bin) cannot be read: {0}")]
    EmbeddedNlp(&'static crate::nlp::NlpError),
    #[error(transparent)]
    Load(#[from] ModelError),
    #[error("warm-up failed: {0}")]
    WarmUp(#[from] EngineError),
    #[error(transparent)]
    Panicked(#[from] BuildPanicked),
}

/// What requests must share to be generated in one batched model call.
#[cfg(feature = "torch")]
type BatchKey = neural::BatchKey;
/// Without models nothing is batched: a key can never be made.
#[cfg(not(feature = "torch"))]
type BatchKey = std::convert::Infallible;

/// What one worker owns: the embedded NLP models and, in a `torch` build, the configured
/// libtorch models.
pub struct Engine {
    #[cfg(feature = "torch")]
    neural: neural::NeuralModels,
    /// Fault injection: requests with this id panic (tests of crash recovery).
    panic_on: Option<String>,
}

/// An article for warm-up: short, with a name, a place and a date, so that every stage runs.
const WARM_UP_BODY: &str =
    "The council of Riverside approved the new budget on Monday. Mayor Jane Okafor said spending would rise.";

impl Engine {
    /// Checks the embedded models and loads every configured model onto the configured
    /// device.
    pub fn load(config: &EngineConfig) -> Result<Engine, StartError> {
        Pipeline::load_embedded().map_err(StartError::EmbeddedNlp)?;
        #[cfg(not(feature = "torch"))]
        let _ = config;
        Ok(Engine {
            #[cfg(feature = "torch")]
            neural: neural::NeuralModels::load(config)?,
            panic_on: config.fault_panic_request_id.clone(),
        })
    }

    /// Runs key facts and each loaded model once, so that the first real request does not
    /// pay for lazy initialisation and a broken model is found before the server reports
    /// SERVING.
    pub fn warm_up(&mut self) -> Result<(), StartError> {
        let article = crate::request::Article {
            body: WARM_UP_BODY.into(),
            ..Default::default()
        };
        facts::extract(&article, chrono::Utc::now().naive_utc(), 1);
        #[cfg(feature = "torch")]
        self.neural.warm_up(WARM_UP_BODY)?;
        Ok(())
    }

    /// Produces every output the request asks for, stopping between stages once its deadline
    /// has passed.
    pub fn summarize(&self, queued: &Queued<SummaryRequest>) -> Result<SummaryResponse, EngineError> {
        self.respond(queued, None)
    }

    /// Like [`Engine::summarize`], with the abstractive summary already computed (by a
    /// batched call) when `precomputed` holds it and its milliseconds.
    fn respond(
        &self,
        job: &Queued<SummaryRequest>,
        precomputed: Option<(AbstractiveSummary, f64)>,
    ) -> Result<SummaryResponse, EngineError> {
        let (request, queued) = (&job.request, job.waited);
        if self.panic_on.as_ref() == Some(&request.request_id) {
            panic!("fault injection: request {:?}", request.request_id);
        }
        let before = |stage: &'static str| {
            if job.expired() {
                Err(EngineError::DeadlineExceeded { stage })
            } else {
                Ok(())
            }
        };
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
            .then(|| {
                before("the extractive summary")?;
                timed(&mut timings.extractive_ms, || self.extractive(request))
            })
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
                .then(|| {
                    before("the abstractive summary")?;
                    timed(&mut timings.abstractive_ms, || self.abstractive(request))
                })
                .transpose()?,
        };
        let key_facts = request
            .outputs
            .key_facts
            .then(|| {
                before("the key facts")?;
                Ok::<_, EngineError>(timed(&mut timings.key_facts_ms, || {
                    facts::extract_with(article, anchor, request.max_facts, self.names())
                }))
            })
            .transpose()?;

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
            ExtractiveMode::Semantic | ExtractiveMode::Hybrid => Some(self.embed(&document.candidate_texts())?),
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

    /// One embedding per sentence, for the semantic and hybrid modes.
    fn embed(&self, sentences: &[&str]) -> Result<Vec<Vec<f32>>, EngineError> {
        #[cfg(feature = "torch")]
        return self.neural.embed(sentences);
        #[cfg(not(feature = "torch"))]
        {
            let _ = sentences;
            Err(EngineError::NotBuilt {
                what: "semantic and hybrid extractive modes",
            })
        }
    }

    fn abstractive(&self, request: &SummaryRequest) -> Result<AbstractiveSummary, EngineError> {
        #[cfg(feature = "torch")]
        return self.neural.abstractive(request);
        #[cfg(not(feature = "torch"))]
        {
            let _ = request;
            Err(EngineError::NotBuilt {
                what: "abstractive summaries",
            })
        }
    }

    /// The configured named-entity model, which replaces the embedded tagger's names.
    fn names(&self) -> Option<&dyn facts::NamedEntities> {
        #[cfg(feature = "torch")]
        return self.neural.names();
        #[cfg(not(feature = "torch"))]
        None
    }
}

impl Handler for Engine {
    type Request = SummaryRequest;
    type Response = SummaryResponse;
    type Error = EngineError;
    type BatchKey = BatchKey;

    fn batch_key(&self, request: &SummaryRequest) -> Option<(BatchKey, usize)> {
        #[cfg(feature = "torch")]
        return self.neural.batch_key(request);
        #[cfg(not(feature = "torch"))]
        {
            let _ = request;
            None
        }
    }

    fn handle_batch(&mut self, requests: Vec<Queued<SummaryRequest>>) -> Vec<Result<SummaryResponse, EngineError>> {
        let one_at_a_time =
            |requests: &[Queued<SummaryRequest>]| requests.iter().map(|queued| self.summarize(queued)).collect();
        if requests.len() == 1 {
            return one_at_a_time(&requests);
        }
        #[cfg(not(feature = "torch"))]
        return one_at_a_time(&requests);
        #[cfg(feature = "torch")]
        {
            let started = Instant::now();
            match self.neural.abstractive_batch(&requests) {
                Ok(summaries) => {
                    let ms = millis(started.elapsed());
                    requests
                        .iter()
                        .zip(summaries)
                        .map(|(queued, summary)| self.respond(queued, Some((summary, ms))))
                        .collect()
                }
                // One bad input must not fail its batch mates: retry each alone.
                Err(err) => {
                    tracing::warn!(batch = requests.len(), %err, "batched generation failed; retrying each request alone");
                    one_at_a_time(&requests)
                }
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::{Article, RawOptions};

    fn engine_and_request() -> (Engine, SummaryRequest) {
        use clap::Parser;
        let crate::config::Command::Serve(serve) = crate::config::Cli::parse_from(["newsgist", "serve"]).command else {
            unreachable!()
        };
        let config = serve.engine.validate().unwrap();
        let article = Article {
            body: WARM_UP_BODY.into(),
            ..Article::default()
        };
        let request = SummaryRequest::validate(
            "r".into(),
            article,
            RawOptions::default(),
            &config.defaults,
            &config.limits,
        )
        .unwrap();
        (Engine::load(&config).unwrap(), request)
    }

    #[test]
    fn work_stops_between_stages_once_the_deadline_has_passed() {
        let (engine, request) = engine_and_request();
        let late = Queued {
            request: request.clone(),
            waited: Duration::ZERO,
            deadline: Some(Instant::now()),
        };
        let err = engine.summarize(&late).unwrap_err();
        assert!(matches!(err, EngineError::DeadlineExceeded { .. }), "{err}");
        let in_time = Queued {
            request,
            waited: Duration::from_millis(3),
            deadline: Some(Instant::now() + Duration::from_secs(60)),
        };
        let response = engine.summarize(&in_time).unwrap();
        assert!(response.extractive.is_some() && response.key_facts.is_some());
        assert!(response.timings.queue_ms >= 3.0 && response.timings.total_ms >= response.timings.queue_ms);
    }
}
