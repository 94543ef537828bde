//! Archive files: the formats archive jobs (and feeds) come in, reading them as a stream of
//! rows, and writing result rows so that a file that exists is complete. Parquet needs the
//! `parquet` feature (on by default).

mod format;
pub mod input;
pub mod output;
#[cfg(feature = "parquet")]
mod parquet;
pub mod rows;

pub use format::FileFormat;
