//! Apache Parquet archives (feature `parquet`): reading an archive's row groups with its own
//! column names, and writing result rows in a documented schema.

use std::{
    fs::File,
    io::BufWriter,
    path::PathBuf,
    sync::{Arc, LazyLock},
};

use arrow_array::{cast::AsArray, Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use chrono::{DateTime, Utc};
use parquet::{
    arrow::{
        arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder, RowSelection, RowSelector},
        ArrowWriter,
    },
    basic::Compression,
    file::properties::WriterProperties,
};
use serde::Serialize;

use super::{
    input::{io_error, parse_time, InputError, InputRow, InputSpec, Progress, Rows},
    rows::OutputRow,
};
use crate::request::Article;

/// Rows read per batch of an input.
const READ_BATCH_ROWS: usize = 1024;

/// Rows per row group of an output, and per record batch when files are joined.
const GROUP_ROWS: usize = 8192;

/// The Parquet output schema (documented in the README).
pub static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
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

/// An output row in the shape of [`SCHEMA`].
#[derive(Serialize)]
pub struct ParquetRow<'a> {
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
    pub fn of(row: &'a OutputRow) -> ParquetRow<'a> {
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

/// A writer of [`SCHEMA`] rows into `sink`.
fn writer(sink: BufWriter<File>) -> std::io::Result<ArrowWriter<BufWriter<File>>> {
    let properties = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(GROUP_ROWS))
        .build();
    ArrowWriter::try_new(sink, SCHEMA.clone(), Some(properties)).map_err(std::io::Error::other)
}

/// Encodes `rows` (JSON lines of [`ParquetRow`]) as a Parquet file into `sink`.
pub fn encode(rows: &[u8], sink: BufWriter<File>) -> std::io::Result<BufWriter<File>> {
    let mut writer = writer(sink)?;
    let decoder = arrow_json::ReaderBuilder::new(SCHEMA.clone())
        .with_batch_size(GROUP_ROWS)
        .build(std::io::Cursor::new(rows))
        .map_err(std::io::Error::other)?;
    for batch in decoder {
        writer.write(&batch.map_err(std::io::Error::other)?)?;
    }
    Ok(writer.into_inner()?)
}

/// Writes the rows of the Parquet files `parts`, in order, as one file into `sink`.
pub fn join(parts: &[PathBuf], sink: BufWriter<File>) -> std::io::Result<BufWriter<File>> {
    let mut writer = writer(sink)?;
    for part in parts {
        let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(part)?)
            .and_then(|b| b.with_batch_size(GROUP_ROWS).build())
            .map_err(std::io::Error::other)?;
        for batch in reader {
            writer.write(&batch.map_err(std::io::Error::other)?)?;
        }
    }
    Ok(writer.into_inner()?)
}

/// Opens `spec.path` and returns its shard's row groups as rows, after the first `spec.skip`.
pub fn open(spec: &InputSpec, progress: Progress) -> Result<(Rows, u64), InputError> {
    let path = spec.path;
    let parquet_error = |source: parquet::errors::ParquetError| InputError::Parquet {
        path: path.into(),
        reason: source.to_string(),
    };
    let file = File::open(path).map_err(io_error(path))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(parquet_error)?;
    let metadata = builder.metadata().clone();
    let groups = metadata.num_row_groups() as u64;
    let (first, last) = spec.shard.range(groups);
    let row_groups: Vec<usize> = (first as usize..last as usize).collect();
    let rows_before: u64 = (0..first as usize)
        .map(|g| metadata.row_group(g).num_rows() as u64)
        .sum();
    let shard_rows: u64 = row_groups
        .iter()
        .map(|&g| metadata.row_group(g).num_rows() as u64)
        .sum();

    let schema = builder.schema().clone();
    let column = |name: &str, flag: &'static str, required: bool| -> Result<Option<usize>, InputError> {
        match schema.index_of(name) {
            Ok(index) => Ok(Some(index)),
            Err(_) if !required => Ok(None),
            Err(_) => Err(InputError::MissingColumn {
                path: path.into(),
                column: name.into(),
                flag,
                available: schema
                    .fields()
                    .iter()
                    .map(|f| f.name().as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    };
    let fields = spec.fields;
    let columns = Columns {
        id: column(&fields.id, "id-field", false)?,
        title: column(&fields.title, "title-field", false)?,
        body: column(&fields.body, "body-field", true)?,
        published: column(&fields.published, "published-field", false)?,
        url: column(&fields.url, "url-field", false)?,
        language: column(&fields.language, "language-field", false)?,
    };
    let skip = spec.skip.min(shard_rows);
    let selection = RowSelection::from(vec![
        RowSelector::skip(skip as usize),
        RowSelector::select((shard_rows - skip) as usize),
    ]);
    let reader = builder
        .with_row_groups(row_groups)
        .with_row_selection(selection)
        .with_batch_size(READ_BATCH_ROWS)
        .build()
        .map_err(parquet_error)?;
    let rows = ParquetRows {
        reader,
        columns,
        next_position: rows_before + skip + 1,
        pending: Vec::new().into_iter(),
        done: skip,
        progress,
    };
    Ok((Box::new(rows), shard_rows))
}

/// Where each field is in a Parquet file's columns.
struct Columns {
    id: Option<usize>,
    title: Option<usize>,
    body: Option<usize>,
    published: Option<usize>,
    url: Option<usize>,
    language: Option<usize>,
}

struct ParquetRows {
    reader: ParquetRecordBatchReader,
    columns: Columns,
    next_position: u64,
    pending: std::vec::IntoIter<InputRow>,
    done: u64,
    progress: Progress,
}

impl Iterator for ParquetRows {
    type Item = std::io::Result<InputRow>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(row) = self.pending.next() {
                self.done += 1;
                (self.progress)(self.done);
                return Some(Ok(row));
            }
            let batch = match self.reader.next()? {
                Ok(batch) => batch,
                Err(err) => return Some(Err(std::io::Error::other(err))),
            };
            match self.rows_of(&batch) {
                Ok(rows) => self.pending = rows.into_iter(),
                Err(err) => return Some(Err(std::io::Error::other(err))),
            }
        }
    }
}

impl ParquetRows {
    fn rows_of(&mut self, batch: &RecordBatch) -> Result<Vec<InputRow>, arrow_schema::ArrowError> {
        let text = |index: Option<usize>| -> Result<Option<ArrayRef>, arrow_schema::ArrowError> {
            index
                .map(|i| arrow_cast::cast(batch.column(i), &DataType::Utf8))
                .transpose()
        };
        let (id, title, body, url, language) = (
            text(self.columns.id)?,
            text(self.columns.title)?,
            text(self.columns.body)?,
            text(self.columns.url)?,
            text(self.columns.language)?,
        );
        let published = self.columns.published.map(|i| batch.column(i));
        let value = |column: &Option<ArrayRef>, row: usize| -> String {
            match column {
                Some(array) if array.is_valid(row) => array.as_string::<i32>().value(row).to_owned(),
                _ => String::new(),
            }
        };
        let mut rows = Vec::with_capacity(batch.num_rows());
        for row in 0..batch.num_rows() {
            let id = value(&id, row);
            let published_at = match published {
                Some(array) if array.is_valid(row) => published_value(array, row).map(Some),
                _ => Ok(None),
            };
            let article = published_at.map(|published_at| Article {
                id: id.clone(),
                title: value(&title, row),
                body: value(&body, row),
                url: value(&url, row),
                published_at,
                language: value(&language, row),
            });
            rows.push(InputRow {
                position: self.next_position,
                id,
                raw: None,
                article,
            });
            self.next_position += 1;
        }
        Ok(rows)
    }
}

/// A publication time from a Parquet column: a timestamp, a date, Unix seconds, or text.
fn published_value(array: &ArrayRef, row: usize) -> Result<DateTime<Utc>, String> {
    use arrow_array::types::{Date32Type, Int64Type, TimestampMicrosecondType};
    let unreadable = || format!("cannot read the publication time of a {} column", array.data_type());
    match array.data_type() {
        DataType::Utf8 => parse_time(array.as_string::<i32>().value(row)),
        DataType::LargeUtf8 => parse_time(array.as_string::<i64>().value(row)),
        DataType::Int64 => {
            DateTime::from_timestamp(array.as_primitive::<Int64Type>().value(row), 0).ok_or_else(unreadable)
        }
        DataType::Date32 => {
            let days = array.as_primitive::<Date32Type>().value(row);
            DateTime::from_timestamp(i64::from(days) * 86_400, 0).ok_or_else(unreadable)
        }
        DataType::Timestamp(_, _) | DataType::Date64 => {
            let micros = arrow_cast::cast(&array.slice(row, 1), &DataType::Timestamp(TimeUnit::Microsecond, None))
                .map_err(|err| err.to_string())?;
            DateTime::from_timestamp_micros(micros.as_primitive::<TimestampMicrosecondType>().value(0))
                .ok_or_else(unreadable)
        }
        _ => Err(unreadable()),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::archive::{
        input::{open as open_input, FieldNames, Shard},
        output::{join as join_files, RowFile},
        rows::{sample_done, sample_failed},
        FileFormat,
    };

    fn read(path: &Path) -> Vec<RecordBatch> {
        ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap())
            .unwrap()
            .build()
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    fn strings(batches: &[RecordBatch], column: &str) -> Vec<Option<String>> {
        batches
            .iter()
            .flat_map(|b| {
                let array = b.column(b.schema().index_of(column).unwrap()).clone();
                (0..b.num_rows())
                    .map(move |r| array.is_valid(r).then(|| array.as_string::<i32>().value(r).to_owned()))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn output_rows_hold_sentences_and_errors_in_columns_and_parts_join_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let parts: Vec<PathBuf> = (0..2).map(|i| dir.path().join(format!("part{i}.parquet"))).collect();
        for (i, part) in parts.iter().enumerate() {
            let mut file = RowFile::create(part, FileFormat::Parquet).unwrap();
            file.write_row(&sample_done(&format!("a{i}"))).unwrap();
            file.write_row(&sample_failed(&format!("b{i}"))).unwrap();
            assert!(!part.exists(), "a file appears only when finished");
            file.finish().unwrap();
        }
        let joined = dir.path().join("joined.parquet");
        join_files(&parts, FileFormat::Parquet, &joined).unwrap();
        let batches = read(&joined);
        assert_eq!(batches[0].schema(), *SCHEMA);
        let ids: Vec<String> = strings(&batches, "id").into_iter().flatten().collect();
        assert_eq!(ids, ["a0", "b0", "a1", "b1"]);
        assert_eq!(
            strings(&batches, "error_code"),
            [
                None,
                Some("INVALID_ARGUMENT".to_owned()),
                None,
                Some("INVALID_ARGUMENT".to_owned())
            ]
        );
        let batch = &batches[0];
        let sentences = batch.column(batch.schema().index_of("extractive_sentences").unwrap());
        assert!(sentences.is_valid(0) && sentences.is_null(1));
    }

    /// A Parquet archive with its own column names and types, in row groups of 4 rows.
    fn parquet_archive(path: &Path, rows: i64) {
        use arrow_array::{Int64Array, StringArray, TimestampSecondArray};
        let schema = Arc::new(arrow_schema::Schema::new(vec![
            arrow_schema::Field::new("uuid", DataType::Int64, false),
            arrow_schema::Field::new("text", DataType::Utf8, true),
            arrow_schema::Field::new("date", DataType::Timestamp(TimeUnit::Second, None), true),
        ]));
        let properties = parquet::file::properties::WriterProperties::builder()
            .set_max_row_group_row_count(Some(4))
            .build();
        let mut writer =
            parquet::arrow::ArrowWriter::try_new(File::create(path).unwrap(), schema.clone(), Some(properties))
                .unwrap();
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from_iter_values(0..rows)),
                Arc::new(StringArray::from_iter(
                    (0..rows).map(|i| (i != 5).then(|| format!("Body {i}."))),
                )),
                Arc::new(TimestampSecondArray::from_iter_values(
                    (0..rows).map(|i| 1_718_755_200 + i),
                )),
            ],
        )
        .unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
    }

    #[test]
    fn input_shards_read_their_row_groups_with_mapped_columns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.parquet");
        parquet_archive(&path, 10);
        let fields = FieldNames {
            id: "uuid".into(),
            body: "text".into(),
            published: "date".into(),
            ..FieldNames::default()
        };
        let read = |shard: Shard, skip: u64| -> Vec<InputRow> {
            let spec = InputSpec {
                path: &path,
                format: FileFormat::Parquet,
                fields: &fields,
                shard,
                skip,
            };
            open_input(&spec, Arc::new(|_| {}))
                .unwrap()
                .0
                .map(Result::unwrap)
                .collect()
        };
        let whole = read(Shard::WHOLE, 0);
        assert_eq!(whole.len(), 10);
        let first = whole[1].article.as_ref().unwrap();
        assert_eq!((whole[1].id.as_str(), first.body.as_str()), ("1", "Body 1."));
        assert_eq!(first.published_at.unwrap().timestamp(), 1_718_755_201);
        assert_eq!(
            whole[5].article.as_ref().unwrap().body,
            "",
            "a null body reads as empty"
        );
        // Three row groups (4, 4, 2 rows) over two shards: groups 0 | 1, 2.
        let positions = |rows: Vec<InputRow>| rows.iter().map(|r| r.position).collect::<Vec<_>>();
        assert_eq!(positions(read(Shard { index: 0, count: 2 }, 0)), [1, 2, 3, 4]);
        assert_eq!(positions(read(Shard { index: 1, count: 2 }, 0)), [5, 6, 7, 8, 9, 10]);
        assert_eq!(
            positions(read(Shard { index: 1, count: 2 }, 4)),
            [9, 10],
            "resumed after 4 rows"
        );
        let missing = FieldNames {
            body: "content".into(),
            ..FieldNames::default()
        };
        let spec = InputSpec {
            path: &path,
            format: FileFormat::Parquet,
            fields: &missing,
            shard: Shard::WHOLE,
            skip: 0,
        };
        let err = open_input(&spec, Arc::new(|_| {})).err().unwrap().to_string();
        assert!(
            err.contains("\"content\"") && err.contains("--body-field") && err.contains("uuid, text, date"),
            "{err}"
        );
    }
}
