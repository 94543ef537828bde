//! The rows archive jobs write: one per input row (the response or the error), and the
//! dead-letter rows.

use serde::Serialize;

use crate::response::SummaryResponse;

/// One output row: the response with the article's id, or the error.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum OutputRow {
    Done {
        id: String,
        /// The row's 1-based position in the input: its line (JSON Lines) or row (Parquet).
        line: u64,
        #[serde(flatten)]
        response: SummaryResponse,
    },
    Failed {
        id: String,
        line: u64,
        error: RowError,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct RowError {
    pub code: &'static str,
    pub message: String,
}

/// A failed row as the dead-letter file keeps it: enough to find, fix and resubmit it.
#[derive(Debug, Serialize)]
pub struct DeadLetter<'a> {
    pub id: &'a str,
    pub line: u64,
    pub code: &'static str,
    pub message: &'a str,
    /// The input line itself (JSON Lines input).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<&'a str>,
}

#[cfg(test)]
pub use samples::{sample_done, sample_failed};

/// Rows for the writers' tests.
#[cfg(test)]
mod samples {
    use super::*;
    use crate::response::{ExtractiveSentence, ExtractiveSummary, Field as TextField, Location, Timings};

    pub fn sample_done(id: &str) -> OutputRow {
        OutputRow::Done {
            id: id.into(),
            line: 1,
            response: SummaryResponse {
                request_id: id.into(),
                article_id: id.into(),
                extractive: Some(ExtractiveSummary {
                    sentences: vec![ExtractiveSentence {
                        text: "Rain fell.".into(),
                        location: Location {
                            field: TextField::Body,
                            start: 0,
                            end: 10,
                        },
                        score: 0.5,
                        index: 0,
                    }],
                    text: "Rain fell.".into(),
                    mode: crate::request::ExtractiveMode::Lexical,
                    total_sentences: 1,
                }),
                abstractive: None,
                key_facts: Some(Vec::new()),
                timings: Timings::default(),
            },
        }
    }

    pub fn sample_failed(id: &str) -> OutputRow {
        OutputRow::Failed {
            id: id.into(),
            line: 2,
            error: RowError {
                code: "INVALID_ARGUMENT",
                message: "article.body is empty".into(),
            },
        }
    }
}
