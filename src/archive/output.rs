//! The files archive jobs write rows into, in JSON Lines (plain, gzip, Zstandard) or Parquet.
//! Every file is written under a temporary name, synced and renamed into place, so that a
//! file that exists is complete.

use std::{
    fs::File,
    io::{BufWriter, Write},
    path::{Path, PathBuf},
};

use serde::Serialize;

use super::{format::FileFormat, rows::OutputRow};

/// The name a file is written under before it is complete.
fn temporary(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Makes `tmp`'s contents durable and moves them to `dest` in one step.
fn commit(file: File, tmp: &Path, dest: &Path) -> std::io::Result<()> {
    file.sync_all()?;
    drop(file);
    std::fs::rename(tmp, dest)
}

enum Sink {
    Plain(BufWriter<File>),
    Gz(flate2::write::GzEncoder<BufWriter<File>>),
    Zst(zstd::stream::write::Encoder<'static, BufWriter<File>>),
    /// Parquet rows, kept as JSON lines until the file is finished and they become columns.
    #[cfg(feature = "parquet")]
    Parquet(BufWriter<File>, Vec<u8>),
}

/// What writing Parquet in a build without the `parquet` feature answers.
pub fn parquet_not_built() -> std::io::Error {
    std::io::Error::other(
        "Parquet output needs the `parquet` feature, which this newsgist binary was built without: \
         use a default build (`cargo build --release`), or write JSON Lines",
    )
}

/// A file of output rows being written; it appears under its name only when finished.
pub struct RowFile {
    tmp: PathBuf,
    dest: PathBuf,
    sink: Sink,
}

impl RowFile {
    pub fn create(dest: &Path, format: FileFormat) -> std::io::Result<RowFile> {
        let tmp = temporary(dest);
        let file = BufWriter::with_capacity(1 << 16, File::create(&tmp)?);
        let sink = match format {
            FileFormat::Jsonl => Sink::Plain(file),
            FileFormat::JsonlGz => Sink::Gz(flate2::write::GzEncoder::new(file, flate2::Compression::default())),
            FileFormat::JsonlZst => Sink::Zst(zstd::stream::write::Encoder::new(file, 3)?),
            #[cfg(feature = "parquet")]
            FileFormat::Parquet => Sink::Parquet(file, Vec::new()),
            #[cfg(not(feature = "parquet"))]
            FileFormat::Parquet => return Err(parquet_not_built()),
        };
        Ok(RowFile {
            tmp,
            dest: dest.into(),
            sink,
        })
    }

    /// Appends one row.
    pub fn write<T: Serialize>(&mut self, row: &T) -> std::io::Result<()> {
        let out: &mut dyn Write = match &mut self.sink {
            Sink::Plain(w) => w,
            Sink::Gz(w) => w,
            Sink::Zst(w) => w,
            #[cfg(feature = "parquet")]
            Sink::Parquet(_, rows) => rows,
        };
        serde_json::to_writer(&mut *out, row)?;
        out.write_all(b"\n")
    }

    /// Appends an output row in the file's format.
    pub fn write_row(&mut self, row: &OutputRow) -> std::io::Result<()> {
        match self.sink {
            #[cfg(feature = "parquet")]
            Sink::Parquet(..) => self.write(&super::parquet::ParquetRow::of(row)),
            _ => self.write(row),
        }
    }

    /// Completes the file and moves it into place.
    pub fn finish(self) -> std::io::Result<()> {
        let writer = match self.sink {
            Sink::Plain(w) => w,
            Sink::Gz(w) => w.finish()?,
            Sink::Zst(w) => w.finish()?,
            #[cfg(feature = "parquet")]
            Sink::Parquet(w, rows) => super::parquet::encode(&rows, w)?,
        };
        let file = writer.into_inner().map_err(|e| e.into_error())?;
        commit(file, &self.tmp, &self.dest)
    }
}

/// Joins `parts`, in order, into one file `dest` of `format` (written under a temporary name
/// and renamed into place). JSON Lines parts are concatenated; Parquet parts are read and
/// written again as one file.
pub fn join(parts: &[PathBuf], format: FileFormat, dest: &Path) -> std::io::Result<()> {
    let tmp = temporary(dest);
    let mut out = BufWriter::with_capacity(1 << 16, File::create(&tmp)?);
    if format.concatenates() {
        for part in parts {
            std::io::copy(&mut File::open(part)?, &mut out)?;
        }
    } else {
        #[cfg(feature = "parquet")]
        {
            out = super::parquet::join(parts, out)?;
        }
        #[cfg(not(feature = "parquet"))]
        return Err(parquet_not_built());
    }
    let file = out.into_inner().map_err(|e| e.into_error())?;
    commit(file, &tmp, dest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::rows::{sample_done, sample_failed};

    #[test]
    fn each_json_lines_format_round_trips_and_parts_join_in_order() {
        let dir = tempfile::tempdir().unwrap();
        for format in [FileFormat::Jsonl, FileFormat::JsonlGz, FileFormat::JsonlZst] {
            let parts: Vec<PathBuf> = (0..2)
                .map(|i| dir.path().join(format!("part{i}.{}", format.extension())))
                .collect();
            for (i, part) in parts.iter().enumerate() {
                let mut file = RowFile::create(part, format).unwrap();
                file.write_row(&sample_done(&format!("a{i}"))).unwrap();
                file.write_row(&sample_failed(&format!("b{i}"))).unwrap();
                assert!(!part.exists(), "a file appears only when finished");
                file.finish().unwrap();
            }
            let joined = dir.path().join(format!("joined.{}", format.extension()));
            join(&parts, format, &joined).unwrap();
            let ids: Vec<String> = {
                let bytes = std::fs::read(&joined).unwrap();
                let text = match format {
                    FileFormat::JsonlGz => {
                        let mut text = String::new();
                        std::io::Read::read_to_string(&mut flate2::read::MultiGzDecoder::new(&bytes[..]), &mut text)
                            .unwrap();
                        text
                    }
                    FileFormat::JsonlZst => String::from_utf8(zstd::decode_all(&bytes[..]).unwrap()).unwrap(),
                    _ => String::from_utf8(bytes).unwrap(),
                };
                text.lines()
                    .map(|l| {
                        serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                            .as_str()
                            .unwrap()
                            .to_owned()
                    })
                    .collect()
            };
            assert_eq!(ids, ["a0", "b0", "a1", "b1"], "{format:?}");
        }
    }
}
