//! What a summarisation request returns. These types are the JSON the CLI prints and map
//! one-to-one onto the protobuf response; offsets are Unicode code points, as in the API.

use std::ops::Range;

use serde::Serialize;

use crate::{request::ExtractiveMode, text::offsets::char_range};

/// Which article field an offset points into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Field {
    Body,
    Title,
}

/// Code point offsets `[start, end)` into `field`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    pub field: Field,
    pub start: u32,
    pub end: u32,
}

impl Location {
    /// Location of the byte range `bytes` of `text`, which is the article's `field`.
    pub fn of(field: Field, text: &str, bytes: &Range<usize>) -> Location {
        let chars = char_range(text, bytes);
        Location {
            field,
            start: chars.start,
            end: chars.end,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ExtractiveSentence {
    pub text: String,
    pub location: Location,
    pub score: f32,
    /// Index among the article's sentences.
    pub index: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExtractiveSummary {
    /// Document order.
    pub sentences: Vec<ExtractiveSentence>,
    /// The sentences joined by newlines.
    pub text: String,
    pub mode: ExtractiveMode,
    pub total_sentences: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct AbstractiveSummary {
    pub text: String,
    pub model_id: String,
    pub chunked: bool,
    pub chunks: u32,
    pub input_tokens: u32,
}

/// One slot of a key fact.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FactField {
    pub text: String,
    pub location: Location,
    /// ISO 8601 value of a `when` slot; ISO 3166-1 alpha-2 country code of a `where` slot
    /// whose place the lexicon knows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub normalized: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity_type: Option<String>,
}

impl FactField {
    /// The slot covering the byte range `bytes` of `text` (the article's `field`).
    pub fn span(field: Field, text: &str, bytes: Range<usize>) -> FactField {
        FactField {
            text: text[bytes.clone()].to_string(),
            location: Location::of(field, text, &bytes),
            normalized: None,
            entity_type: None,
        }
    }
}

/// A who/what/when/where tuple; slots the text does not state are `None`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyFact {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub who: Option<FactField>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub what: Option<FactField>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub when: Option<FactField>,
    #[serde(rename = "where", skip_serializing_if = "Option::is_none")]
    pub where_: Option<FactField>,
    pub evidence: FactField,
    pub confidence: f32,
}

/// Milliseconds spent per stage.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timings {
    pub queue_ms: f64,
    pub extractive_ms: f64,
    pub abstractive_ms: f64,
    pub key_facts_ms: f64,
    pub total_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SummaryResponse {
    pub request_id: String,
    pub article_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extractive: Option<ExtractiveSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub abstractive: Option<AbstractiveSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_facts: Option<Vec<KeyFact>>,
    pub timings: Timings,
}
