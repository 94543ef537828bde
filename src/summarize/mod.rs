//! Summarisers: extractive (sentence selection, no weights) and abstractive (transformer
//! sequence-to-sequence models).

pub mod abstractive;
pub mod extractive;
