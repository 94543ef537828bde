//! What archive jobs write: one row per input row (the response or the error) in JSON Lines
//! or Parquet, the dead-letter rows, and the files they are committed in. Every file is
//! written under a temporary name, synced and renamed into place, so that a file that exists
//! is complete.

use std::{
    fs::File,
    io::{BufWriter, Write},
    path::{Path, PathBuf},
    sync::{Arc, LazyLock},
};

use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef};
use parquet::{arrow::ArrowWriter, basic::Compression, file::properties::WriterProperties};
use serde::Serialize;

use super::format::FileFormat;
use crate::response::SummaryResponse;

/// Rows per row group of a Parquet output, and per record batch when files are merged.
const PARQUET_GROUP_ROWS: usize = 8192;

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

/// The Parquet output schema (documented in the README).
pub static PARQUET_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    let string = |name: &str| Field::new(name, DataType::Utf8, true);
    let sentence = Fields::from(vec![
        Field::new("text", DataType::Utf8, false),
        Field::new("start", DataType::UInt32, false),
        Field::new("end", DataType::UInt32, false),
        Field::new("score", DataType::Float32, false),
        Field::new("index", DataType::UInt32, false),
    ]);
    let fact = Fields::from(vec![
        string("who"),
        string("what"),
        string("when"),
        string("when_normalized"),
        string("where"),
        Field::new("evidence", DataType::Utf8, false),
        Field::new("confidence", DataType::Float32, false),
    ]);
    let list_of = |name: &str, fields: Fields| {
        Field::new(
            name,
            DataType::List(Arc::new(Field::new("item", DataType::Struct(fields), true))),
            true,
        )
    };
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Utf8, false),
        Field::new("line", DataType::UInt64, false),
        string("extractive_text"),
        list_of("extractive_sentences", sentence),
        string("abstractive_text"),
        string("abstractive_model"),
        list_of("key_facts", fact),
        Field::new("total_ms", DataType::Float64, true),
        string("error_code"),
        string("error_message"),
    ]))
});

/// An output row in the shape of [`PARQUET_SCHEMA`].
#[derive(Serialize)]
struct ParquetRow<'a> {
    id: &'a str,
    line: u64,
    extractive_text: Option<&'a str>,
    extractive_sentences: Option<Vec<ParquetSentence<'a>>>,
    abstractive_text: Option<&'a str>,
    abstractive_model: Option<&'a str>,
    key_facts: Option<Vec<ParquetFact<'a>>>,
    total_ms: Option<f64>,
    error_code: Option<&'a str>,
    error_message: Option<&'a str>,
}

#[derive(Serialize)]
struct ParquetSentence<'a> {
    text: &'a str,
    start: u32,
    end: u32,
    score: f32,
    index: u32,
}

#[derive(Serialize)]
struct ParquetFact<'a> {
    who: Option<&'a str>,
    what: Option<&'a str>,
    when: Option<&'a str>,
    when_normalized: Option<&'a str>,
    #[serde(rename = "where")]
    where_: Option<&'a str>,
    evidence: &'a str,
    confidence: f32,
}

impl<'a> ParquetRow<'a> {
    fn of(row: &'a OutputRow) -> ParquetRow<'a> {
        match row {
            OutputRow::Done { id, line, response } => {
                let extractive = response.extractive.as_ref();
                let abstractive = response.abstractive.as_ref();
                let slot = |field: &'a Option<crate::response::FactField>| field.as_ref().map(|f| f.text.as_str());
                ParquetRow {
                    id,
                    line: *line,
                    extractive_text: extractive.map(|e| e.text.as_str()),
                    extractive_sentences: extractive.map(|e| {
                        e.sentences
                            .iter()
                            .map(|s| ParquetSentence {
                                text: &s.text,
                                start: s.location.start,
                                end: s.location.end,
                                score: s.score,
                                index: s.index,
                            })
                            .collect()
                    }),
                    abstractive_text: abstractive.map(|a| a.text.as_str()),
                    abstractive_model: abstractive.map(|a| a.model_id.as_str()),
                    key_facts: response.key_facts.as_ref().map(|facts| {
                        facts
                            .iter()
                            .map(|f| ParquetFact {
                                who: slot(&f.who),
                                what: slot(&f.what),
                                when: slot(&f.when),
                                when_normalized: f.when.as_ref().and_then(|w| w.normalized.as_deref()),
                                where_: slot(&f.where_),
                                evidence: &f.evidence.text,
                                confidence: f.confidence,
                            })
                            .collect()
                    }),
                    total_ms: Some(response.timings.total_ms),
                    error_code: None,
                    error_message: None,
                }
            }
            OutputRow::Failed { id, line, error } => ParquetRow {
                id,
                line: *line,
                extractive_text: None,
                extractive_sentences: None,
                abstractive_text: None,
                abstractive_model: None,
                key_facts: None,
                total_ms: None,
                error_code: Some(error.code),
                error_message: Some(&error.message),
            },
        }
    }
}

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
    /// Parquet rows are encoded when the file is finished.
    Parquet(BufWriter<File>, Vec<u8>, usize),
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
            FileFormat::Parquet => Sink::Parquet(file, Vec::new(), 0),
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
            Sink::Parquet(_, rows, count) => {
                // Kept as JSON lines; arrow's JSON decoder turns them into columns at the end.
                *count += 1;
                rows
            }
        };
        serde_json::to_writer(&mut *out, row)?;
        out.write_all(b"\n")
    }

    /// Appends an output row in the file's format.
    pub fn write_row(&mut self, row: &OutputRow) -> std::io::Result<()> {
        match self.sink {
            Sink::Parquet(..) => self.write(&ParquetRow::of(row)),
            _ => self.write(row),
        }
    }

    /// Completes the file and moves it into place.
    pub fn finish(self) -> std::io::Result<()> {
        let writer = match self.sink {
            Sink::Plain(w) => w,
            Sink::Gz(w) => w.finish()?,
            Sink::Zst(w) => w.finish()?,
            Sink::Parquet(w, rows, _) => {
                let mut writer = parquet_writer(w)?;
                let mut decoder = arrow_json::ReaderBuilder::new(PARQUET_SCHEMA.clone())
                    .with_batch_size(PARQUET_GROUP_ROWS)
                    .build(std::io::Cursor::new(rows))
                    .map_err(std::io::Error::other)?;
                for batch in &mut decoder {
                    writer.write(&batch.map_err(std::io::Error::other)?)?;
                }
                writer.into_inner()?
            }
        };
        let file = writer.into_inner().map_err(|e| e.into_error())?;
        commit(file, &self.tmp, &self.dest)
    }
}

fn parquet_writer(sink: BufWriter<File>) -> std::io::Result<ArrowWriter<BufWriter<File>>> {
    let properties = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(PARQUET_GROUP_ROWS))
        .build();
    ArrowWriter::try_new(sink, PARQUET_SCHEMA.clone(), Some(properties)).map_err(std::io::Error::other)
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
        let mut writer = parquet_writer(out)?;
        for part in parts {
            let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(File::open(part)?)
                .and_then(|b| b.with_batch_size(PARQUET_GROUP_ROWS).build())
                .map_err(std::io::Error::other)?;
            for batch in reader {
                writer.write(&batch.map_err(std::io::Error::other)?)?;
            }
        }
        out = writer.into_inner()?;
    }
    let file = out.into_inner().map_err(|e| e.into_error())?;
    commit(file, &tmp, dest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::response::{ExtractiveSentence, ExtractiveSummary, Field as TextField, Location, Timings};

    fn done(id: &str) -> OutputRow {
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

    fn failed(id: &str) -> OutputRow {
        OutputRow::Failed {
            id: id.into(),
            line: 2,
            error: RowError {
                code: "INVALID_ARGUMENT",
                message: "article.body is empty".into(),
            },
        }
    }

    fn read_parquet(path: &Path) -> Vec<arrow_array::RecordBatch> {
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap())
            .unwrap()
            .build()
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    #[test]
    fn each_format_round_trips_and_parts_join_in_order() {
        let dir = tempfile::tempdir().unwrap();
        for format in [
            FileFormat::Jsonl,
            FileFormat::JsonlGz,
            FileFormat::JsonlZst,
            FileFormat::Parquet,
        ] {
            let parts: Vec<PathBuf> = (0..2)
                .map(|i| dir.path().join(format!("part{i}.{}", format.extension())))
                .collect();
            for (i, part) in parts.iter().enumerate() {
                let mut file = RowFile::create(part, format).unwrap();
                file.write_row(&done(&format!("a{i}"))).unwrap();
                file.write_row(&failed(&format!("b{i}"))).unwrap();
                assert!(!part.exists(), "a file appears only when finished");
                file.finish().unwrap();
            }
            let joined = dir.path().join(format!("joined.{}", format.extension()));
            join(&parts, format, &joined).unwrap();
            let ids: Vec<String> = if format == FileFormat::Parquet {
                let batches = read_parquet(&joined);
                assert_eq!(batches[0].schema(), *PARQUET_SCHEMA);
                batches
                    .iter()
                    .flat_map(|b| {
                        let ids = arrow_cast::cast(b.column(0), &DataType::Utf8).unwrap();
                        (0..b.num_rows())
                            .map(|r| arrow_array::cast::AsArray::as_string::<i32>(&ids).value(r).to_owned())
                            .collect::<Vec<_>>()
                    })
                    .collect()
            } else {
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

    #[test]
    fn parquet_rows_hold_sentences_and_errors_in_columns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.parquet");
        let mut file = RowFile::create(&path, FileFormat::Parquet).unwrap();
        file.write_row(&done("a")).unwrap();
        file.write_row(&failed("b")).unwrap();
        file.finish().unwrap();
        let batch = &read_parquet(&path)[0];
        let column = |name: &str| batch.column(batch.schema().index_of(name).unwrap()).clone();
        let sentences = column("extractive_sentences");
        assert!(sentences.is_valid(0) && sentences.is_null(1));
        let codes = column("error_code");
        assert!(codes.is_null(0));
        assert_eq!(
            arrow_array::cast::AsArray::as_string::<i32>(&codes).value(1),
            "INVALID_ARGUMENT"
        );
    }
}
