//! Summarisers: extractive (sentence selection, no weights) and abstractive (transformer
//! sequence-to-sequence models).

#[cfg(feature = "torch")]
pub mod abstractive;
pub mod extractive;
