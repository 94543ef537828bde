//! The client's half of the protobuf mapping: submissions to requests, and responses back to
//! the engine's types. The exact inverse of `server::convert`, which the server side owns.

use chrono::{DateTime, Utc};

use crate::{
    error::ErrorKind,
    proto as pb,
    request::{AbstractiveParams, ExtractiveMode, Outputs, RawOptions},
    response::{
        AbstractiveSummary, ExtractiveSentence, ExtractiveSummary, FactField, Field, KeyFact, Location,
        SummaryResponse, Timings,
    },
    service::Submission,
};

/// A response the client cannot read back (a field the server always sets is missing, or an
/// enum value this client does not know).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("the server's response could not be read: {0}")]
pub struct MalformedResponse(pub String);

/// The request that carries `submission`. Options left unset (`None`) go as the proto's zero
/// values, which the server reads as "its default".
pub fn request(submission: Submission) -> pb::SummarizeRequest {
    let article = submission.article;
    pb::SummarizeRequest {
        request_id: submission.request_id,
        article: Some(pb::Article {
            id: article.id,
            title: article.title,
            body: article.body,
            url: article.url,
            published_at: article.published_at.map(timestamp),
            language: article.language,
        }),
        options: options(submission.options),
    }
}

/// The protobuf form of a point in time (a leap second keeps its nanoseconds over 1e9, which
/// the server reads back the same way).
pub fn timestamp(time: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: time.timestamp(),
        nanos: time.timestamp_subsec_nanos() as i32,
    }
}

/// Whether a response to a request with `options` carries key facts (the proto cannot tell
/// "none requested" from "none found").
pub fn wants_key_facts(options: &RawOptions) -> bool {
    options.outputs.unwrap_or_default().key_facts
}

/// The output values of `outputs`, in the API's order.
fn outputs(outputs: Outputs) -> Vec<i32> {
    [
        (outputs.extractive, pb::Output::Extractive),
        (outputs.abstractive, pb::Output::Abstractive),
        (outputs.key_facts, pb::Output::KeyFacts),
    ]
    .into_iter()
    .filter_map(|(wanted, output)| wanted.then_some(output as i32))
    .collect()
}

fn extractive_mode(mode: ExtractiveMode) -> pb::ExtractiveMode {
    match mode {
        ExtractiveMode::Lexical => pb::ExtractiveMode::Lexical,
        ExtractiveMode::Semantic => pb::ExtractiveMode::Semantic,
        ExtractiveMode::Hybrid => pb::ExtractiveMode::Hybrid,
    }
}

/// The options message, or `None` when every option takes the server's default. Sub-messages
/// whose fields are all default are left out too.
fn options(options: RawOptions) -> Option<pb::SummarizeOptions> {
    // A ratio wins over a sentence count, as in request validation; the proto's oneof holds one.
    let length = match (options.sentences, options.ratio) {
        (_, Some(ratio)) => Some(pb::extractive_options::Length::Ratio(ratio)),
        (Some(n), None) => Some(pb::extractive_options::Length::Sentences(n)),
        (None, None) => None,
    };
    let mode = options.mode.map_or(pb::ExtractiveMode::Unspecified, extractive_mode);
    let extractive = (length.is_some() || mode != pb::ExtractiveMode::Unspecified).then(|| pb::ExtractiveOptions {
        length,
        mode: mode.into(),
    });
    let AbstractiveParams {
        model,
        min_tokens,
        max_tokens,
        num_beams,
    } = options.abstractive;
    let abstractive = pb::AbstractiveOptions {
        model: model.unwrap_or_default(),
        min_tokens: min_tokens.unwrap_or(0),
        max_tokens: max_tokens.unwrap_or(0),
        num_beams: num_beams.unwrap_or(0),
    };
    let abstractive = (abstractive != pb::AbstractiveOptions::default()).then_some(abstractive);
    let key_facts = options.max_facts.map(|max_facts| pb::KeyFactOptions { max_facts });
    let message = pb::SummarizeOptions {
        outputs: options.outputs.map(outputs).unwrap_or_default(),
        extractive,
        abstractive,
        key_facts,
    };
    (message != pb::SummarizeOptions::default()).then_some(message)
}

/// The error kind of an item error's gRPC code. Codes the service never sends map to the kind
/// nearest in meaning: OUT_OF_RANGE (a message over the server's size limit) is the request's
/// fault; UNKNOWN and the rest are the server's.
pub fn error_kind(code: i32) -> ErrorKind {
    use tonic::Code;
    match Code::from_i32(code) {
        Code::InvalidArgument | Code::OutOfRange => ErrorKind::InvalidArgument,
        Code::FailedPrecondition => ErrorKind::FailedPrecondition,
        Code::ResourceExhausted => ErrorKind::ResourceExhausted,
        Code::DeadlineExceeded => ErrorKind::DeadlineExceeded,
        Code::Unavailable => ErrorKind::Unavailable,
        _ => ErrorKind::Internal,
    }
}

/// The engine's form of a response. `key_facts_wanted` tells an empty list of key facts
/// (`Some(vec![])`) from key facts not requested (`None`).
pub fn response(response: pb::SummarizeResponse, key_facts_wanted: bool) -> Result<SummaryResponse, MalformedResponse> {
    let extractive = response
        .extractive
        .map(|e| {
            Ok::<_, MalformedResponse>(ExtractiveSummary {
                sentences: e
                    .sentences
                    .into_iter()
                    .map(|s| {
                        Ok(ExtractiveSentence {
                            text: s.text,
                            location: location(s.location)?,
                            score: s.score,
                            index: s.index,
                        })
                    })
                    .collect::<Result<_, MalformedResponse>>()?,
                text: e.text,
                mode: match pb::ExtractiveMode::try_from(e.mode) {
                    Ok(pb::ExtractiveMode::Lexical) => ExtractiveMode::Lexical,
                    Ok(pb::ExtractiveMode::Semantic) => ExtractiveMode::Semantic,
                    Ok(pb::ExtractiveMode::Hybrid) => ExtractiveMode::Hybrid,
                    Ok(pb::ExtractiveMode::Unspecified) | Err(_) => {
                        return Err(MalformedResponse(format!("unknown extractive mode value {}", e.mode)))
                    }
                },
                total_sentences: e.total_sentences,
            })
        })
        .transpose()?;
    let abstractive = response.abstractive.map(|a| AbstractiveSummary {
        text: a.text,
        model_id: a.model_id,
        chunked: a.chunked,
        chunks: a.chunks,
        input_tokens: a.input_tokens,
    });
    let key_facts = response
        .key_facts
        .into_iter()
        .map(key_fact)
        .collect::<Result<Vec<_>, _>>()?;
    let key_facts = (key_facts_wanted || !key_facts.is_empty()).then_some(key_facts);
    let timings = response.timings.unwrap_or_default();
    Ok(SummaryResponse {
        request_id: response.request_id,
        article_id: response.article_id,
        extractive,
        abstractive,
        key_facts,
        timings: Timings {
            queue_ms: timings.queue_ms,
            extractive_ms: timings.extractive_ms,
            abstractive_ms: timings.abstractive_ms,
            key_facts_ms: timings.key_facts_ms,
            total_ms: timings.total_ms,
        },
    })
}

fn location(location: Option<pb::TextLocation>) -> Result<Location, MalformedResponse> {
    let location = location.ok_or_else(|| MalformedResponse("a text location is missing".into()))?;
    let field = match pb::Field::try_from(location.field) {
        Ok(pb::Field::Body) => Field::Body,
        Ok(pb::Field::Title) => Field::Title,
        Ok(pb::Field::Unspecified) | Err(_) => {
            return Err(MalformedResponse(format!("unknown field value {}", location.field)))
        }
    };
    Ok(Location {
        field,
        start: location.start,
        end: location.end,
    })
}

fn fact_field(field: pb::FactField) -> Result<FactField, MalformedResponse> {
    let non_empty = |s: String| (!s.is_empty()).then_some(s);
    Ok(FactField {
        text: field.text,
        location: location(field.location)?,
        normalized: non_empty(field.normalized),
        entity_type: non_empty(field.entity_type),
    })
}

fn key_fact(fact: pb::KeyFact) -> Result<KeyFact, MalformedResponse> {
    let evidence = fact
        .evidence
        .ok_or_else(|| MalformedResponse("a key fact has no evidence".into()))?;
    Ok(KeyFact {
        who: fact.who.map(fact_field).transpose()?,
        what: fact.what.map(fact_field).transpose()?,
        when: fact.when.map(fact_field).transpose()?,
        where_: fact.r#where.map(fact_field).transpose()?,
        evidence: fact_field(evidence)?,
        confidence: fact.confidence,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::Article;

    fn submission(options: RawOptions) -> Submission {
        Submission {
            request_id: "r1".into(),
            article: Article {
                id: "a1".into(),
                title: "Title".into(),
                body: "Body.".into(),
                url: "https://example.org/a".into(),
                published_at: DateTime::<Utc>::from_timestamp(1_718_755_200, 5),
                language: "en-GB".into(),
            },
            options,
        }
    }

    #[test]
    fn the_article_goes_field_by_field() {
        let request = request(submission(RawOptions::default()));
        assert_eq!(request.request_id, "r1");
        let article = request.article.unwrap();
        assert_eq!(
            (
                article.id.as_str(),
                article.title.as_str(),
                article.body.as_str(),
                article.url.as_str(),
                article.language.as_str()
            ),
            ("a1", "Title", "Body.", "https://example.org/a", "en-GB")
        );
        assert_eq!(
            article.published_at,
            Some(prost_types::Timestamp {
                seconds: 1_718_755_200,
                nanos: 5
            })
        );
        assert_eq!(request.options, None, "every option at its default: no options message");
        let mut unset = submission(RawOptions::default());
        unset.article.published_at = None;
        assert_eq!(self::request(unset).article.unwrap().published_at, None);
    }

    #[test]
    fn a_leap_second_keeps_its_nanoseconds() {
        let leap = DateTime::<Utc>::from_timestamp(1_483_228_799, 1_500_000_000).unwrap();
        assert_eq!(
            timestamp(leap),
            prost_types::Timestamp {
                seconds: 1_483_228_799,
                nanos: 1_500_000_000
            }
        );
    }

    #[test]
    fn options_go_field_by_field() {
        let options = RawOptions {
            outputs: Some(Outputs {
                extractive: false,
                abstractive: true,
                key_facts: true,
            }),
            sentences: None,
            ratio: Some(0.25),
            mode: Some(ExtractiveMode::Hybrid),
            abstractive: AbstractiveParams {
                model: Some("bart".into()),
                min_tokens: None,
                max_tokens: Some(60),
                num_beams: Some(2),
            },
            max_facts: Some(7),
        };
        let options = request(submission(options)).options.unwrap();
        assert_eq!(
            options,
            pb::SummarizeOptions {
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
            }
        );
    }

    #[test]
    fn a_sentence_count_and_single_options_go_alone() {
        let options = RawOptions {
            sentences: Some(4),
            ..RawOptions::default()
        };
        let options = request(submission(options)).options.unwrap();
        assert_eq!(
            options.extractive,
            Some(pb::ExtractiveOptions {
                mode: pb::ExtractiveMode::Unspecified as i32,
                length: Some(pb::extractive_options::Length::Sentences(4)),
            })
        );
        assert!(options.outputs.is_empty() && options.abstractive.is_none() && options.key_facts.is_none());
        // A ratio wins over a count, as validation has it.
        let both = RawOptions {
            sentences: Some(4),
            ratio: Some(0.5),
            ..RawOptions::default()
        };
        let extractive = request(submission(both)).options.unwrap().extractive.unwrap();
        assert_eq!(extractive.length, Some(pb::extractive_options::Length::Ratio(0.5)));
        let mode_only = RawOptions {
            mode: Some(ExtractiveMode::Semantic),
            ..RawOptions::default()
        };
        let extractive = request(submission(mode_only)).options.unwrap().extractive.unwrap();
        assert_eq!(
            (extractive.mode, extractive.length),
            (pb::ExtractiveMode::Semantic as i32, None)
        );
        let model_only = RawOptions {
            abstractive: AbstractiveParams {
                model: Some("t5".into()),
                ..AbstractiveParams::default()
            },
            ..RawOptions::default()
        };
        let abstractive = request(submission(model_only)).options.unwrap().abstractive.unwrap();
        assert_eq!(
            abstractive,
            pb::AbstractiveOptions {
                model: "t5".into(),
                ..Default::default()
            }
        );
        assert_eq!(
            outputs(Outputs::DEFAULT),
            [pb::Output::Extractive as i32, pb::Output::KeyFacts as i32]
        );
    }

    #[test]
    fn grpc_codes_map_to_kinds() {
        use tonic::Code;
        for (code, kind) in [
            (Code::InvalidArgument, ErrorKind::InvalidArgument),
            (Code::OutOfRange, ErrorKind::InvalidArgument),
            (Code::FailedPrecondition, ErrorKind::FailedPrecondition),
            (Code::ResourceExhausted, ErrorKind::ResourceExhausted),
            (Code::DeadlineExceeded, ErrorKind::DeadlineExceeded),
            (Code::Unavailable, ErrorKind::Unavailable),
            (Code::Internal, ErrorKind::Internal),
            (Code::Unknown, ErrorKind::Internal),
            (Code::Unimplemented, ErrorKind::Internal),
            (Code::Ok, ErrorKind::Internal),
        ] {
            assert_eq!(error_kind(code as i32), kind, "{code:?}");
        }
        assert_eq!(error_kind(999), ErrorKind::Internal);
    }

    fn location_pb(field: pb::Field, start: u32, end: u32) -> Option<pb::TextLocation> {
        Some(pb::TextLocation {
            field: field as i32,
            start,
            end,
        })
    }

    fn full_response() -> pb::SummarizeResponse {
        pb::SummarizeResponse {
            request_id: "r1".into(),
            article_id: "a1".into(),
            extractive: Some(pb::ExtractiveSummary {
                sentences: vec![pb::ExtractiveSentence {
                    text: "Rain fell.".into(),
                    location: location_pb(pb::Field::Body, 14, 24),
                    score: 0.5,
                    index: 1,
                }],
                text: "Rain fell.".into(),
                mode: pb::ExtractiveMode::Semantic as i32,
                total_sentences: 2,
            }),
            abstractive: Some(pb::AbstractiveSummary {
                text: "It rained.".into(),
                model_id: "bart".into(),
                chunked: true,
                chunks: 3,
                input_tokens: 900,
            }),
            key_facts: vec![pb::KeyFact {
                who: Some(pb::FactField {
                    text: "Mayor".into(),
                    location: location_pb(pb::Field::Body, 0, 5),
                    normalized: String::new(),
                    entity_type: "person".into(),
                }),
                what: None,
                when: Some(pb::FactField {
                    text: "Today".into(),
                    location: location_pb(pb::Field::Title, 0, 5),
                    normalized: "2024-06-19".into(),
                    entity_type: String::new(),
                }),
                r#where: None,
                evidence: Some(pb::FactField {
                    text: "Zürich voted.".into(),
                    location: location_pb(pb::Field::Body, 0, 13),
                    ..Default::default()
                }),
                confidence: 0.9,
            }],
            timings: Some(pb::Timings {
                queue_ms: 1.0,
                extractive_ms: 2.0,
                abstractive_ms: 3.0,
                key_facts_ms: 4.0,
                total_ms: 10.0,
            }),
        }
    }

    #[test]
    fn responses_come_back_field_by_field() {
        let response = response(full_response(), true).unwrap();
        assert_eq!(
            (response.request_id.as_str(), response.article_id.as_str()),
            ("r1", "a1")
        );
        let extractive = response.extractive.unwrap();
        assert_eq!(extractive.mode, ExtractiveMode::Semantic);
        assert_eq!(
            (extractive.text.as_str(), extractive.total_sentences),
            ("Rain fell.", 2)
        );
        let sentence = &extractive.sentences[0];
        assert_eq!(
            (sentence.text.as_str(), sentence.score, sentence.index),
            ("Rain fell.", 0.5, 1)
        );
        assert_eq!(
            sentence.location,
            Location {
                field: Field::Body,
                start: 14,
                end: 24
            }
        );
        let abstractive = response.abstractive.unwrap();
        assert_eq!(
            (
                abstractive.text.as_str(),
                abstractive.model_id.as_str(),
                abstractive.chunked,
                abstractive.chunks,
                abstractive.input_tokens
            ),
            ("It rained.", "bart", true, 3, 900)
        );
        let facts = response.key_facts.unwrap();
        assert_eq!(facts.len(), 1);
        let fact = &facts[0];
        assert_eq!(
            fact.who,
            Some(FactField {
                text: "Mayor".into(),
                location: Location {
                    field: Field::Body,
                    start: 0,
                    end: 5
                },
                normalized: None,
                entity_type: Some("person".into()),
            })
        );
        let when = fact.when.as_ref().unwrap();
        assert_eq!(when.normalized.as_deref(), Some("2024-06-19"));
        assert_eq!((when.entity_type.as_ref(), when.location.field), (None, Field::Title));
        assert!(fact.what.is_none() && fact.where_.is_none());
        assert_eq!(fact.evidence.text, "Zürich voted.");
        assert_eq!(fact.confidence, 0.9);
        let t = response.timings;
        assert_eq!(
            (
                t.queue_ms,
                t.extractive_ms,
                t.abstractive_ms,
                t.key_facts_ms,
                t.total_ms
            ),
            (1.0, 2.0, 3.0, 4.0, 10.0)
        );
    }

    #[test]
    fn absent_outputs_stay_absent() {
        let bare = pb::SummarizeResponse {
            request_id: "r1".into(),
            ..Default::default()
        };
        let unwanted = response(bare.clone(), false).unwrap();
        assert!(unwanted.extractive.is_none() && unwanted.abstractive.is_none());
        assert!(unwanted.key_facts.is_none(), "key facts not requested");
        assert_eq!(unwanted.timings.total_ms, 0.0);
        assert_eq!(
            response(bare, true).unwrap().key_facts,
            Some(vec![]),
            "requested, none found"
        );
        assert!(wants_key_facts(&RawOptions::default()));
        let extractive_only = RawOptions {
            outputs: Some(Outputs {
                extractive: true,
                abstractive: false,
                key_facts: false,
            }),
            ..RawOptions::default()
        };
        assert!(!wants_key_facts(&extractive_only));
    }

    #[test]
    fn unreadable_responses_are_refused() {
        let mut no_location = full_response();
        no_location.extractive.as_mut().unwrap().sentences[0].location = None;
        let mut bad_field = full_response();
        bad_field.key_facts[0].who.as_mut().unwrap().location = location_pb(pb::Field::Unspecified, 0, 1);
        let mut bad_mode = full_response();
        bad_mode.extractive.as_mut().unwrap().mode = 42;
        let mut no_evidence = full_response();
        no_evidence.key_facts[0].evidence = None;
        for broken in [no_location, bad_field, bad_mode, no_evidence] {
            assert!(response(broken, true).is_err());
        }
    }
}
