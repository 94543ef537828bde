//! Protobuf messages to and from the engine's request and response types. The only place
//! that knows both.

use chrono::{DateTime, Utc};

use crate::{
    proto as pb,
    request::{AbstractiveParams, Article, ExtractiveMode, InvalidRequest, Outputs, RawOptions},
    response::{self, FactField, KeyFact, Location, SummaryResponse},
};

/// The article and options of a request, not yet validated.
pub fn request_parts(request: pb::SummarizeRequest) -> Result<(String, Article, RawOptions), InvalidRequest> {
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
    Ok((request.request_id, article, options))
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

pub fn extractive_mode(mode: ExtractiveMode) -> pb::ExtractiveMode {
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
