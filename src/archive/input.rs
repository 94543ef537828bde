//! Reading archives as a stream of rows: JSON Lines (plain, gzip, Zstandard) and Parquet,
//! with the archive's own field names, one shard of it, and the rows a previous run finished
//! skipped. Readers are blocking iterators; the job runs them on a thread of their own.

use std::{
    fs::File,
    io::{BufRead, BufReader, Read, Seek, SeekFrom},
    path::{Path, PathBuf},
    sync::Arc,
};

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;

use super::format::FileFormat;
use crate::request::Article;

/// Why an archive cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path} is not a readable Parquet file: {reason}")]
    Parquet { path: PathBuf, reason: String },
    #[error("{path} is Parquet, and this newsgist binary was built without the `parquet` feature: use a default build (`cargo build --release`), or convert the archive to JSON Lines")]
    ParquetNotBuilt { path: PathBuf },
    #[error("{path} has no column {column:?} (it has: {available}): name the archive's column with --{flag}")]
    MissingColumn {
        path: PathBuf,
        column: String,
        flag: &'static str,
        available: String,
    },
}

/// The archive's names for the fields of an article.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FieldNames {
    pub id: String,
    pub title: String,
    pub body: String,
    pub published: String,
    pub url: String,
    pub language: String,
}

impl Default for FieldNames {
    fn default() -> Self {
        FieldNames {
            id: "id".into(),
            title: "title".into(),
            body: "body".into(),
            published: "published_at".into(),
            url: "url".into(),
            language: "language".into(),
        }
    }
}

/// One shard of an input: `index` of `count` deterministic, contiguous parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// This shard's part `[start, end)` of `total` units (bytes, lines, row groups).
    pub(super) fn range(self, total: u64) -> (u64, u64) {
        let part = |i: u64| total * i / u64::from(self.count);
        (part(u64::from(self.index)), part(u64::from(self.index) + 1))
    }
}

/// A row of the input, read but not yet validated.
#[derive(Debug)]
pub struct InputRow {
    /// 1-based line of a JSON Lines file, or 1-based row of a Parquet file.
    pub position: u64,
    /// The article's id, as text; empty when the row has none or cannot be read.
    pub id: String,
    /// The line itself (JSON Lines), kept for the dead-letter file.
    pub raw: Option<String>,
    /// The article, or why the row is not one.
    pub article: Result<Article, String>,
}

/// Reports how far a reader has got, in its own units (input bytes, or rows for Parquet).
pub type Progress = Arc<dyn Fn(u64) + Send + Sync>;

/// A reader's rows.
pub type Rows = Box<dyn Iterator<Item = std::io::Result<InputRow>> + Send>;

/// What [`open`] needs to know.
pub struct InputSpec<'a> {
    pub path: &'a Path,
    pub format: FileFormat,
    pub fields: &'a FieldNames,
    pub shard: Shard,
    /// Rows of this shard a previous run finished (blank lines do not count).
    pub skip: u64,
}

/// Opens `spec.path` and returns its shard's rows after the first `spec.skip`, and the
/// total units [`Progress`] counts to.
pub fn open(spec: &InputSpec, progress: Progress) -> Result<(Rows, u64), InputError> {
    match spec.format {
        #[cfg(feature = "parquet")]
        FileFormat::Parquet => super::parquet::open(spec, progress),
        #[cfg(not(feature = "parquet"))]
        FileFormat::Parquet => Err(InputError::ParquetNotBuilt { path: spec.path.into() }),
        _ => open_jsonl(spec, progress),
    }
}

/// Reads RFC 3339, "YYYY-MM-DD HH:MM:SS" or "YYYY-MM-DD" (taken as UTC).
pub fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(time.with_timezone(&Utc));
    }
    if let Ok(time) = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S") {
        return Ok(time.and_utc());
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(date.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc());
    }
    Err(format!(
        "cannot read time {text:?}: use RFC 3339 (2018-06-19T08:00:00Z) or YYYY-MM-DD"
    ))
}

/// An article from one JSON object with the archive's field names, and its id.
pub fn article_from_json(text: &str, fields: &FieldNames) -> (String, Result<Article, String>) {
    let object = match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(object)) => object,
        Ok(_) => return (String::new(), Err("line is not a JSON article: not an object".into())),
        Err(err) => return (String::new(), Err(format!("line is not a JSON article: {err}"))),
    };
    let id = match object.get(&fields.id) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    let text_field = |name: &str| -> Result<String, String> {
        match object.get(name) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(format!("field {name:?} must be a string")),
        }
    };
    let published_at = match object.get(&fields.published) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => parse_time(s).map(Some),
        Some(Value::Number(n)) => n
            .as_i64()
            .and_then(|seconds| DateTime::from_timestamp(seconds, 0))
            .map(Some)
            .ok_or_else(|| format!("field {:?}: {n} is not a Unix time in seconds", fields.published)),
        Some(_) => Err(format!("field {:?} must be a string or a number", fields.published)),
    };
    let article = (|| {
        Ok(Article {
            id: id.clone(),
            title: text_field(&fields.title)?,
            body: text_field(&fields.body)?,
            url: text_field(&fields.url)?,
            published_at: published_at?,
            language: text_field(&fields.language)?,
        })
    })();
    (id, article)
}

pub(super) fn io_error(path: &Path) -> impl Fn(std::io::Error) -> InputError + '_ {
    move |source| InputError::Io {
        path: path.into(),
        source,
    }
}

/// A reader that reports the bytes read through it.
struct Counted<R> {
    inner: R,
    read: u64,
    progress: Progress,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        (self.progress)(self.read);
        Ok(n)
    }
}

/// The decompressed lines of a JSON Lines file, from its start.
fn decoded(file: File, format: FileFormat, progress: Progress) -> std::io::Result<Box<dyn BufRead + Send>> {
    let counted = Counted {
        inner: file,
        read: 0,
        progress,
    };
    Ok(match format {
        FileFormat::JsonlGz => Box::new(BufReader::new(flate2::read::MultiGzDecoder::new(counted))),
        FileFormat::JsonlZst => Box::new(BufReader::new(zstd::stream::read::Decoder::new(counted)?)),
        _ => Box::new(BufReader::with_capacity(1 << 16, counted)),
    })
}

fn open_jsonl(spec: &InputSpec, progress: Progress) -> Result<(Rows, u64), InputError> {
    let path = spec.path;
    let file = File::open(path).map_err(io_error(path))?;
    let size = file.metadata().map_err(io_error(path))?.len();
    let mut rows = JsonlRows {
        reader: Box::new(std::io::empty()),
        fields: spec.fields.clone(),
        line: 0,
        offset: 0,
        end: None,
        first_line: 1,
        last_line: None,
        skip: spec.skip,
        buf: Vec::new(),
    };
    if spec.format == FileFormat::Jsonl {
        // A plain file splits by bytes: a line belongs to the shard its first byte is in, so
        // no shard reads past its range (it counts the newlines before it for line numbers).
        let (start, end) = spec.shard.range(size);
        let (line_start, lines_before) = line_start_at(path, start)?;
        let mut file = file;
        file.seek(SeekFrom::Start(line_start)).map_err(io_error(path))?;
        let base = line_start;
        let report = Arc::clone(&progress);
        let counted = Counted {
            inner: file,
            read: 0,
            progress: Arc::new(move |read| report(base + read)),
        };
        rows.reader = Box::new(BufReader::with_capacity(1 << 16, counted));
        rows.offset = line_start;
        rows.end = Some(end);
        rows.line = lines_before;
        return Ok((Box::new(rows), size));
    }
    // A compressed file cannot be entered in the middle: count its lines, then take this
    // shard's contiguous range of them.
    if spec.shard.count > 1 {
        let lines = count_lines(
            decoded(File::open(path).map_err(io_error(path))?, spec.format, Arc::new(|_| {}))
                .map_err(io_error(path))?,
        )
        .map_err(io_error(path))?;
        let (first, last) = spec.shard.range(lines);
        rows.first_line = first + 1;
        rows.last_line = Some(last);
    }
    rows.reader = decoded(file, spec.format, progress).map_err(io_error(path))?;
    Ok((Box::new(rows), size))
}

/// The offset of the first line that starts at or after `offset`, and how many lines come
/// before it.
fn line_start_at(path: &Path, offset: u64) -> Result<(u64, u64), InputError> {
    if offset == 0 {
        return Ok((0, 0));
    }
    let mut reader = BufReader::with_capacity(1 << 16, File::open(path).map_err(io_error(path))?);
    let mut lines = 0u64;
    let mut position = 0u64;
    // Newlines before offset - 1; the byte at offset - 1 says whether a line starts at offset.
    while position < offset {
        let buf = reader.fill_buf().map_err(io_error(path))?;
        if buf.is_empty() {
            return Ok((position, lines));
        }
        let take = buf.len().min((offset - position) as usize);
        lines += memchr::memchr_iter(b'\n', &buf[..take]).count() as u64;
        let ends_line = buf[take - 1] == b'\n';
        reader.consume(take);
        position += take as u64;
        if position == offset && ends_line {
            return Ok((offset, lines));
        }
    }
    // Inside a line: it belongs to the shard before; this one starts after it.
    let mut rest = Vec::new();
    let n = reader.read_until(b'\n', &mut rest).map_err(io_error(path))?;
    let ended = rest.last() == Some(&b'\n');
    Ok((position + n as u64, lines + u64::from(ended)))
}

fn count_lines(mut reader: Box<dyn BufRead + Send>) -> std::io::Result<u64> {
    let (mut lines, mut last) = (0u64, b'\n');
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            break;
        }
        lines += memchr::memchr_iter(b'\n', buf).count() as u64;
        last = buf[buf.len() - 1];
        let n = buf.len();
        reader.consume(n);
    }
    Ok(lines + u64::from(last != b'\n'))
}

struct JsonlRows {
    reader: Box<dyn BufRead + Send>,
    fields: FieldNames,
    /// Lines read so far.
    line: u64,
    /// Byte offset of the next line (plain files).
    offset: u64,
    /// No line starting at or after this offset is this shard's.
    end: Option<u64>,
    /// The shard's first and last line (compressed files).
    first_line: u64,
    last_line: Option<u64>,
    skip: u64,
    buf: Vec<u8>,
}

impl Iterator for JsonlRows {
    type Item = std::io::Result<InputRow>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.end.is_some_and(|end| self.offset >= end) || self.last_line.is_some_and(|last| self.line >= last) {
                return None;
            }
            self.buf.clear();
            let n = match self.reader.read_until(b'\n', &mut self.buf) {
                Ok(0) => return None,
                Ok(n) => n,
                Err(err) => return Some(Err(err)),
            };
            self.offset += n as u64;
            self.line += 1;
            if self.line < self.first_line || self.buf.trim_ascii().is_empty() {
                continue;
            }
            if self.skip > 0 {
                self.skip -= 1;
                continue;
            }
            let position = self.line;
            let text = match std::str::from_utf8(self.buf.trim_ascii_end()) {
                Ok(text) => text,
                Err(err) => {
                    return Some(Ok(InputRow {
                        position,
                        id: String::new(),
                        raw: Some(String::from_utf8_lossy(&self.buf).into_owned()),
                        article: Err(format!("line is not valid UTF-8: {err}")),
                    }))
                }
            };
            let (id, article) = article_from_json(text, &self.fields);
            return Some(Ok(InputRow {
                position,
                id,
                raw: Some(text.to_owned()),
                article,
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> FieldNames {
        FieldNames::default()
    }

    fn read_all(path: &Path, format: FileFormat, shard: Shard, skip: u64) -> Vec<(u64, String)> {
        let spec = InputSpec {
            path,
            format,
            fields: &fields(),
            shard,
            skip,
        };
        let (rows, _) = open(&spec, Arc::new(|_| {})).unwrap();
        rows.map(|r| {
            let r = r.unwrap();
            (r.position, r.id)
        })
        .collect()
    }

    fn lines(n: usize) -> String {
        let mut text = String::new();
        for i in 0..n {
            if i % 7 == 3 {
                text.push('\n'); // a blank line: counted as a line, not a row
            }
            text.push_str(&format!("{{\"id\": \"r{i}\", \"body\": \"Body {i}.\"}}\n"));
        }
        text
    }

    #[test]
    fn shards_of_a_plain_file_cover_every_row_once_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.jsonl");
        std::fs::write(&path, lines(100)).unwrap();
        let whole = read_all(&path, FileFormat::Jsonl, Shard::WHOLE, 0);
        assert_eq!(whole.len(), 100);
        for count in [2, 3, 7, 150] {
            let joined: Vec<_> = (0..count)
                .flat_map(|index| read_all(&path, FileFormat::Jsonl, Shard { index, count }, 0))
                .collect();
            assert_eq!(joined, whole, "{count} shards");
        }
    }

    #[test]
    fn shards_of_compressed_files_cover_every_row_once_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let text = lines(50);
        let gz = dir.path().join("in.jsonl.gz");
        let mut encoder = flate2::write::GzEncoder::new(File::create(&gz).unwrap(), flate2::Compression::fast());
        std::io::Write::write_all(&mut encoder, text.as_bytes()).unwrap();
        encoder.finish().unwrap();
        let zst = dir.path().join("in.jsonl.zst");
        std::fs::write(&zst, zstd::encode_all(text.as_bytes(), 3).unwrap()).unwrap();
        let plain = dir.path().join("in.jsonl");
        std::fs::write(&plain, &text).unwrap();
        let whole = read_all(&plain, FileFormat::Jsonl, Shard::WHOLE, 0);
        for (path, format) in [(&gz, FileFormat::JsonlGz), (&zst, FileFormat::JsonlZst)] {
            assert_eq!(read_all(path, format, Shard::WHOLE, 0), whole);
            let joined: Vec<_> = (0..3)
                .flat_map(|index| read_all(path, format, Shard { index, count: 3 }, 0))
                .collect();
            assert_eq!(joined, whole, "{format:?}");
        }
    }

    #[test]
    fn skipping_resumes_after_the_finished_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.jsonl");
        std::fs::write(&path, lines(30)).unwrap();
        let whole = read_all(&path, FileFormat::Jsonl, Shard::WHOLE, 0);
        assert_eq!(read_all(&path, FileFormat::Jsonl, Shard::WHOLE, 12), whole[12..]);
        let second = read_all(&path, FileFormat::Jsonl, Shard { index: 1, count: 2 }, 0);
        assert_eq!(
            read_all(&path, FileFormat::Jsonl, Shard { index: 1, count: 2 }, 3),
            second[3..]
        );
    }

    #[test]
    fn field_names_map_an_archives_own_columns() {
        let fields = FieldNames {
            id: "uuid".into(),
            body: "text".into(),
            published: "date".into(),
            ..FieldNames::default()
        };
        let (id, article) = article_from_json(r#"{"uuid": 42, "text": "Body.", "date": 1718755200}"#, &fields);
        let article = article.unwrap();
        assert_eq!((id.as_str(), article.body.as_str()), ("42", "Body."));
        assert_eq!(article.published_at.unwrap().to_rfc3339(), "2024-06-19T00:00:00+00:00");
        let (_, bad) = article_from_json(r#"{"text": 5}"#, &fields);
        assert!(bad.unwrap_err().contains("\"text\" must be a string"));
        let (_, bad) = article_from_json("[1]", &fields);
        assert!(bad.unwrap_err().contains("not a JSON article"));
    }

    #[test]
    fn times_parse_in_three_forms() {
        assert_eq!(
            parse_time("2018-06-19").unwrap().to_rfc3339(),
            "2018-06-19T00:00:00+00:00"
        );
        assert_eq!(
            parse_time("2018-06-19 08:30:00").unwrap().to_rfc3339(),
            "2018-06-19T08:30:00+00:00"
        );
        assert_eq!(
            parse_time("2018-06-19T08:30:00+02:00").unwrap().to_rfc3339(),
            "2018-06-19T06:30:00+00:00"
        );
        assert!(parse_time("19/06/2018").is_err());
    }
}
