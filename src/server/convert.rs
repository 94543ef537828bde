//! Protobuf messages to and from the engine's request and response types. The only place
//! that knows both.

use chrono::{DateTime, Utc};

use crate::{
    proto as pb,
    request::{AbstractiveParams, Article, ExtractiveMode, InvalidRequest, Outputs, RawOptions},
    response::{self, FactField, KeyFact, Location, SummaryResponse},
    service::Submission,
};

/// The article and options of a request, not yet validated.
pub fn submission(request: pb::SummarizeRequest) -> Result<Submission, InvalidRequest> {
    let article = request.article.ok_or(InvalidRequest::MissingArticle)?;
    let published_at = article
        .published_at
        .map(|ts| {
            let nanos = u32::try_from(ts.nanos).map_err(|_| InvalidRequest::BadTimestamp)?;
            DateTime::<Utc>::from_timestamp(ts.seconds, nanos).ok_or(InvalidRequest::BadTimestamp)
        })
        .transpose()?;
    let article = Article {
        id: article.id,
        title: article.title,
        body: article.body,
        url: article.url,
        published_at,
        language: article.language,
    };
    let options = request.options.map(raw_options).transpose()?.unwrap_or_default();
    Ok(Submission {
        request_id: request.request_id,
        article,
        options,
    })
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
        abstractive: response.abstractive.map(|a| pb::AbstractiveSummary {
            text: a.text,
            model_id: a.model_id,
            chunked: a.chunked,
            chunks: a.chunks,
            input_tokens: a.input_tokens,
        }),
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
