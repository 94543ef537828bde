//! newsgist: news summarisation (extractive and abstractive) and who/what/when/where key
//! facts, served over gRPC and from the command line.
//!
//! Every entry point calls [`service::Service`]; the libtorch models (abstractive summaries,
//! sentence embeddings, the optional NER model) are built only with the `torch` feature.

pub mod archive;
pub mod batch;
pub mod cli;
pub mod config;
pub mod digest;
pub mod drain;
pub mod engine;
pub mod error;
pub mod facts;
pub mod models;
pub mod nlp;
pub mod otlp;
pub mod pool;
pub mod proto;
pub mod remote;
pub mod request;
pub mod response;
#[cfg(feature = "torch")]
pub mod seq2seq;
pub mod server;
pub mod service;
pub mod summarize;
pub mod telemetry;
pub mod text;
