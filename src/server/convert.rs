//! Protobuf messages to and from the engine's request and response types. The only place
//! that knows both.

use chrono::{DateTime, Utc};

use crate::{
    digest::{render::Format, DigestError, RawDigestOptions, Story},
    error::ServiceError,
    proto as pb,
    request::{AbstractiveParams, Article, ExtractiveMode, InvalidRequest, Outputs, RawOptions},
    response::{self, FactField, KeyFact, Location, SummaryResponse},
    service::{DigestOutcome, DigestSubmission, Submission},
};

/// The article and options of a request, not yet validated.
pub fn submission(request: pb::SummarizeRequest) -> Result<Submission, InvalidRequest> {
    let article = article(request.article.ok_or(InvalidRequest::MissingArticle)?)?;
    let options = request.options.map(raw_options).transpose()?.unwrap_or_default();
    Ok(Submission {
        request_id: request.request_id,
        article,
        options,
    })
}

/// An article, not yet validated.
pub fn article(article: pb::Article) -> Result<Article, InvalidRequest> {
    Ok(Article {
        id: article.id,
        title: article.title,
        body: article.body,
        url: article.url,
        published_at: article.published_at.map(time).transpose()?,
        language: article.language,
    })
}

fn time(ts: prost_types::Timestamp) -> Result<DateTime<Utc>, InvalidRequest> {
    let nanos = u32::try_from(ts.nanos).map_err(|_| InvalidRequest::BadTimestamp)?;
    DateTime::<Utc>::from_timestamp(ts.seconds, nanos).ok_or(InvalidRequest::BadTimestamp)
}

fn timestamp(time: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: time.timestamp(),
        nanos: time.timestamp_subsec_nanos() as i32,
    }
}

/// What a digest call asks for, not yet validated.
pub fn digest_submission(options: pb::DigestOptions) -> Result<DigestSubmission, ServiceError> {
    let unknown = |field: &'static str, value: i32| ServiceError::from(DigestError::UnknownValue { field, value });
    let mut abstractive = false;
    let mut key_facts = options.outputs.is_empty();
    for &value in &options.outputs {
        match pb::DigestOutput::try_from(value) {
            Ok(pb::DigestOutput::KeyFacts) => key_facts = true,
            Ok(pb::DigestOutput::Abstractive) => abstractive = true,
            _ => return Err(unknown("outputs", value)),
        }
    }
    let mut renderings = Vec::new();
    for &value in &options.formats {
        let format = match pb::DigestFormat::try_from(value) {
            Ok(pb::DigestFormat::Html) => Format::Html,
            Ok(pb::DigestFormat::Markdown) => Format::Markdown,
            Ok(pb::DigestFormat::Text) => Format::Text,
            Ok(pb::DigestFormat::Json) => Format::Json,
            _ => return Err(unknown("formats", value)),
        };
        renderings.push((format, None));
    }
    let nonzero = |n: u32| (n != 0).then_some(n);
    Ok(DigestSubmission {
        options: RawDigestOptions {
            title: options.title,
            max_stories: if options.all_stories {
                Some(0)
            } else {
                nonzero(options.max_stories)
            },
            sentences: nonzero(options.sentences),
            max_facts: if key_facts { nonzero(options.max_facts) } else { Some(0) },
            window_start: options.window_start.map(time).transpose()?,
            window_end: options.window_end.map(time).transpose()?,
            story_gap_hours: nonzero(options.story_gap_hours),
        },
        abstractive,
        renderings,
    })
}

/// The protobuf form of a digest and its renderings.
pub fn digest(outcome: DigestOutcome) -> pb::Digest {
    let digest = outcome.digest;
    pb::Digest {
        title: digest.title,
        first_published: digest.first_published.map(timestamp),
        last_published: digest.last_published.map(timestamp),
        articles: digest.articles as u64,
        stories_total: digest.stories_total as u64,
        near_copies: digest.near_copies as u64,
        stories: digest.stories.into_iter().map(story).collect(),
        rejected: digest
            .rejected
            .into_iter()
            .map(|r| pb::RejectedArticle {
                index: r.index,
                id: r.id,
                code: r.code,
                message: r.message,
            })
            .collect(),
        renderings: outcome
            .rendered
            .into_iter()
            .map(|(format, text)| pb::Rendering {
                format: match format {
                    Format::Html => pb::DigestFormat::Html,
                    Format::Markdown => pb::DigestFormat::Markdown,
                    Format::Text => pb::DigestFormat::Text,
                    Format::Json => pb::DigestFormat::Json,
                }
                .into(),
                text,
            })
            .collect(),
    }
}

fn story(story: Story) -> pb::Story {
    let score = story.score;
    pb::Story {
        rank: story.rank as u32,
        id: story.id,
        headline: story.headline,
        headline_article_id: story.headline_article_id,
        summary: story
            .summary
            .into_iter()
            .map(|s| pb::DigestSentence {
                text: s.text,
                article_id: s.article_id,
                location: Some(location(s.location)),
                score: s.score,
            })
            .collect(),
        abstractive: story.abstractive.map(abstractive_summary),
        key_facts: story
            .key_facts
            .into_iter()
            .map(|f| pb::DigestFact {
                article_id: f.article_id,
                fact: Some(key_fact(f.fact)),
                source_article_ids: f.sources,
            })
            .collect(),
        sources: story
            .sources
            .into_iter()
            .map(|s| pb::DigestSource {
                name: s.name,
                url: s.url,
                article_id: s.article_id,
                title: s.title,
            })
            .collect(),
        articles: story
            .articles
            .into_iter()
            .map(|a| pb::DigestArticle {
                id: a.id,
                title: a.title,
                url: a.url,
                published_at: a.published_at.map(timestamp),
                duplicate_of: a.duplicate_of.unwrap_or_default(),
            })
            .collect(),
        first_published: story.first_published.map(timestamp),
        last_published: story.last_published.map(timestamp),
        score: Some(pb::StoryScore {
            value: score.value,
            articles: score.articles as u32,
            distinct_sources: score.distinct_sources as u32,
            centrality: score.centrality,
            recency: score.recency,
            size_factor: score.size_factor,
            source_factor: score.source_factor,
            centrality_factor: score.centrality_factor,
            explanation: score.explanation,
        }),
    }
}

fn abstractive_summary(a: response::AbstractiveSummary) -> pb::AbstractiveSummary {
    pb::AbstractiveSummary {
        text: a.text,
        model_id: a.model_id,
        chunked: a.chunked,
        chunks: a.chunks,
        input_tokens: a.input_tokens,
    }
}

/// The output values of `outputs`, in the API's order.
pub fn outputs(outputs: Outputs) -> Vec<i32> {
    [
        (outputs.extractive, pb::Output::Extractive),
        (outputs.abstractive, pb::Output::Abstractive),
        (outputs.key_facts, pb::Output::KeyFacts),
    ]
    .into_iter()
    .filter_map(|(wanted, output)| wanted.then_some(output as i32))
    .collect()
}

fn raw_options(options: pb::SummarizeOptions) -> Result<RawOptions, InvalidRequest> {
    let outputs = if options.outputs.is_empty() {
        None
    } else {
        let mut outputs = Outputs {
            extractive: false,
            abstractive: false,
            key_facts: false,
        };
        for value in &options.outputs {
            match pb::Output::try_from(*value) {
                Ok(pb::Output::Extractive) => outputs.extractive = true,
                Ok(pb::Output::Abstractive) => outputs.abstractive = true,
                Ok(pb::Output::KeyFacts) => outputs.key_facts = true,
                Ok(pb::Output::Unspecified) | Err(_) => return Err(InvalidRequest::UnknownOutput(*value)),
            }
        }
        Some(outputs)
    };
    let extractive = options.extractive.unwrap_or_default();
    let (sentences, ratio) = match extractive.length {
        Some(pb::extractive_options::Length::Sentences(n)) => (Some(n), None),
        Some(pb::extractive_options::Length::Ratio(r)) => (None, Some(r)),
        None => (None, None),
    };
    let mode = match pb::ExtractiveMode::try_from(extractive.mode) {
        Ok(pb::ExtractiveMode::Unspecified) => None,
        Ok(pb::ExtractiveMode::Lexical) => Some(ExtractiveMode::Lexical),
        Ok(pb::ExtractiveMode::Semantic) => Some(ExtractiveMode::Semantic),
        Ok(pb::ExtractiveMode::Hybrid) => Some(ExtractiveMode::Hybrid),
        Err(_) => return Err(InvalidRequest::UnknownMode(extractive.mode)),
    };
    let abstractive = options.abstractive.unwrap_or_default();
    let nonzero = |v: u32| (v != 0).then_some(v);
    Ok(RawOptions {
        outputs,
        sentences,
        ratio,
        mode,
        abstractive: AbstractiveParams {
            model: Some(abstractive.model).filter(|m| !m.is_empty()),
            min_tokens: nonzero(abstractive.min_tokens),
            max_tokens: nonzero(abstractive.max_tokens),
            num_beams: nonzero(abstractive.num_beams),
        },
        max_facts: options.key_facts.map(|k| k.max_facts).and_then(nonzero),
    })
}

fn extractive_mode(mode: ExtractiveMode) -> pb::ExtractiveMode {
    match mode {
        ExtractiveMode::Lexical => pb::ExtractiveMode::Lexical,
        ExtractiveMode::Semantic => pb::ExtractiveMode::Semantic,
        ExtractiveMode::Hybrid => pb::ExtractiveMode::Hybrid,
    }
}

fn location(location: Location) -> pb::TextLocation {
    let field = match location.field {
        response::Field::Body => pb::Field::Body,
        response::Field::Title => pb::Field::Title,
    };
    pb::TextLocation {
        field: field.into(),
        start: location.start,
        end: location.end,
    }
}

fn fact_field(field: FactField) -> pb::FactField {
    pb::FactField {
        text: field.text,
        location: Some(location(field.location)),
        normalized: field.normalized.unwrap_or_default(),
        entity_type: field.entity_type.unwrap_or_default(),
    }
}

fn key_fact(fact: KeyFact) -> pb::KeyFact {
    pb::KeyFact {
        who: fact.who.map(fact_field),
        what: fact.what.map(fact_field),
        when: fact.when.map(fact_field),
        r#where: fact.where_.map(fact_field),
        evidence: Some(fact_field(fact.evidence)),
        confidence: fact.confidence,
    }
}

/// The protobuf form of a response.
pub fn response(response: SummaryResponse) -> pb::SummarizeResponse {
    pb::SummarizeResponse {
        request_id: response.request_id,
        article_id: response.article_id,
        extractive: response.extractive.map(|e| pb::ExtractiveSummary {
            sentences: e
                .sentences
                .into_iter()
                .map(|s| pb::ExtractiveSentence {
                    text: s.text,
                    location: Some(location(s.location)),
                    score: s.score,
                    index: s.index,
                })
                .collect(),
            text: e.text,
            mode: extractive_mode(e.mode).into(),
            total_sentences: e.total_sentences,
        }),
        abstractive: response.abstractive.map(abstractive_summary),
        key_facts: response
            .key_facts
            .unwrap_or_default()
            .into_iter()
            .map(key_fact)
            .collect(),
        timings: Some(pb::Timings {
            queue_ms: response.timings.queue_ms,
            extractive_ms: response.timings.extractive_ms,
            abstractive_ms: response.timings.abstractive_ms,
            key_facts_ms: response.timings.key_facts_ms,
            total_ms: response.timings.total_ms,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::response::{ExtractiveSentence, ExtractiveSummary, Field, Timings};

    fn request(options: Option<pb::SummarizeOptions>) -> pb::SummarizeRequest {
        pb::SummarizeRequest {
            request_id: "r1".into(),
            article: Some(pb::Article {
                id: "a1".into(),
                title: "Title".into(),
                body: "Body.".into(),
                url: "https://example.org/a".into(),
                published_at: Some(prost_types::Timestamp {
                    seconds: 1_718_755_200,
                    nanos: 5,
                }),
                language: "en-GB".into(),
            }),
            options,
        }
    }

    #[test]
    fn a_request_without_options_takes_every_default() {
        let submission = submission(request(None)).unwrap();
        assert_eq!(submission.request_id, "r1");
        let article = &submission.article;
        assert_eq!((article.id.as_str(), article.title.as_str()), ("a1", "Title"));
        assert_eq!(article.published_at.unwrap().timestamp_subsec_nanos(), 5);
        assert_eq!(article.language, "en-GB");
        let options = submission.options;
        assert!(options.outputs.is_none() && options.mode.is_none() && options.sentences.is_none());
        assert_eq!(options.abstractive, AbstractiveParams::default(), "zero means default");
        assert_eq!(options.max_facts, None);
    }

    #[test]
    fn options_map_field_by_field() {
        let options = pb::SummarizeOptions {
            outputs: vec![pb::Output::Abstractive as i32, pb::Output::KeyFacts as i32],
            extractive: Some(pb::ExtractiveOptions {
                mode: pb::ExtractiveMode::Hybrid as i32,
                length: Some(pb::extractive_options::Length::Ratio(0.25)),
            }),
            abstractive: Some(pb::AbstractiveOptions {
                model: "bart".into(),
                min_tokens: 0,
                max_tokens: 60,
                num_beams: 2,
            }),
            key_facts: Some(pb::KeyFactOptions { max_facts: 7 }),
        };
        let options = submission(request(Some(options))).unwrap().options;
        assert_eq!(
            options.outputs,
            Some(Outputs {
                extractive: false,
                abstractive: true,
                key_facts: true
            })
        );
        assert_eq!((options.sentences, options.ratio), (None, Some(0.25)));
        assert_eq!(options.mode, Some(ExtractiveMode::Hybrid));
        assert_eq!(
            options.abstractive,
            AbstractiveParams {
                model: Some("bart".into()),
                min_tokens: None,
                max_tokens: Some(60),
                num_beams: Some(2),
            }
        );
        assert_eq!(options.max_facts, Some(7));
    }

    #[test]
    fn unreadable_requests_are_refused() {
        let mut missing = request(None);
        missing.article = None;
        assert_eq!(submission(missing).unwrap_err(), InvalidRequest::MissingArticle);
        let mut bad_time = request(None);
        bad_time.article.as_mut().unwrap().published_at = Some(prost_types::Timestamp { seconds: 0, nanos: -1 });
        assert_eq!(submission(bad_time).unwrap_err(), InvalidRequest::BadTimestamp);
        for (outputs, mode) in [(vec![0], 0), (vec![99], 0), (vec![], 42)] {
            let options = pb::SummarizeOptions {
                outputs,
                extractive: Some(pb::ExtractiveOptions { mode, length: None }),
                ..Default::default()
            };
            assert!(submission(request(Some(options))).is_err());
        }
    }

    #[test]
    fn default_outputs_list_in_api_order() {
        assert_eq!(
            outputs(Outputs::DEFAULT),
            [pb::Output::Extractive as i32, pb::Output::KeyFacts as i32]
        );
    }

    #[test]
    fn responses_keep_offsets_and_timings() {
        let body = "Zürich voted. Rain fell.";
        let range = 15..24;
        let response = response(SummaryResponse {
            request_id: "r1".into(),
            article_id: "a1".into(),
            extractive: Some(ExtractiveSummary {
                sentences: vec![ExtractiveSentence {
                    text: body[range.clone()].into(),
                    location: Location::of(Field::Body, body, &range),
                    score: 0.5,
                    index: 1,
                }],
                text: "Rain fell.".into(),
                mode: ExtractiveMode::Lexical,
                total_sentences: 2,
            }),
            abstractive: None,
            key_facts: Some(vec![KeyFact {
                who: None,
                what: None,
                when: Some(FactField {
                    normalized: Some("2024-06-19".into()),
                    ..FactField::span(Field::Title, "Today", 0..5)
                }),
                where_: None,
                evidence: FactField::span(Field::Body, body, 0..14),
                confidence: 0.9,
            }]),
            timings: Timings {
                total_ms: 3.0,
                ..Timings::default()
            },
        });
        let sentence = &response.extractive.as_ref().unwrap().sentences[0];
        let location = sentence.location.unwrap();
        assert_eq!((location.start, location.end), (14, 23), "code points, not bytes");
        assert_eq!(response.extractive.unwrap().mode, pb::ExtractiveMode::Lexical as i32);
        assert!(response.abstractive.is_none());
        let fact = &response.key_facts[0];
        let when = fact.when.as_ref().unwrap();
        assert_eq!(when.normalized, "2024-06-19");
        assert_eq!(when.location.unwrap().field, pb::Field::Title as i32);
        assert!(fact.who.is_none() && fact.r#where.is_none());
        assert_eq!(response.timings.unwrap().total_ms, 3.0);
    }
}
