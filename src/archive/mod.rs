//! Archive files: the formats archive jobs (and feeds) come in, reading them as a stream of
//! rows, and writing result rows so that a file that exists is complete.

mod format;
pub mod input;
pub mod output;

pub use format::FileFormat;
