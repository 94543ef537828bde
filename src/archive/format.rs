//! The file formats archive jobs read and write, named by flag or by file extension.

use std::path::Path;

/// An archive file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize)]
pub enum FileFormat {
    /// JSON Lines, one object per line.
    #[value(name = "jsonl")]
    Jsonl,
    /// JSON Lines compressed with gzip.
    #[value(name = "jsonl.gz")]
    JsonlGz,
    /// JSON Lines compressed with Zstandard.
    #[value(name = "jsonl.zst")]
    JsonlZst,
    /// Apache Parquet.
    #[value(name = "parquet")]
    Parquet,
}

impl FileFormat {
    /// The format a file name says (`.gz`, `.zst`, `.parquet`; anything else is JSON Lines).
    pub fn of_path(path: &Path) -> FileFormat {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("gz") => FileFormat::JsonlGz,
            Some("zst" | "zstd") => FileFormat::JsonlZst,
            Some("parquet" | "pq") => FileFormat::Parquet,
            _ => FileFormat::Jsonl,
        }
    }

    /// The file extension of this format, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            FileFormat::Jsonl => "jsonl",
            FileFormat::JsonlGz => "jsonl.gz",
            FileFormat::JsonlZst => "jsonl.zst",
            FileFormat::Parquet => "parquet",
        }
    }

    /// True for the JSON Lines family, whose files concatenate into a valid file (gzip
    /// members and Zstandard frames may follow each other).
    pub fn concatenates(self) -> bool {
        self != FileFormat::Parquet
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_name_formats() {
        for (name, format) in [
            ("a.jsonl", FileFormat::Jsonl),
            ("a.json", FileFormat::Jsonl),
            ("archive", FileFormat::Jsonl),
            ("a.jsonl.gz", FileFormat::JsonlGz),
            ("a.JSONL.ZST", FileFormat::JsonlZst),
            ("a.parquet", FileFormat::Parquet),
        ] {
            assert_eq!(FileFormat::of_path(Path::new(name)), format, "{name}");
        }
        assert_eq!(FileFormat::JsonlGz.extension(), "jsonl.gz");
    }
}
