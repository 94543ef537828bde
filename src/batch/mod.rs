//! Archive jobs: `newsgist batch` streams an archive through the service core (or through
//! remote servers) with bounded memory, commits its output in chunks so that a rerun continues
//! after any interruption, processes one shard of the input when asked, and `newsgist merge`
//! joins the shards' outputs.

mod checkpoint;

use std::{
    convert::Infallible,
    io::IsTerminal,
    path::{Path, PathBuf},
    sync::Arc,
    time::Instant,
};

use futures::{stream::BoxStream, StreamExt};
use serde::Serialize;

use crate::{
    archive::{
        input::{self, FieldNames, InputError, InputRow, InputSpec, Shard},
        output::{self, RowFile},
        rows::{DeadLetter, OutputRow, RowError},
        FileFormat,
    },
    config::{BatchArgs, ConfigError, MergeArgs},
    engine::StartError,
    error::ServiceError,
    remote::{self, RemoteOptions, RemoteTls},
    request::InvalidRequest,
    service::{Service, StreamOrder, Submission, Tagged},
};
use checkpoint::{CheckpointError, ChunkDone, JobSpec, WorkDir};

/// Rows read ahead of the ones being summarised: bounds memory whatever the input's size.
const READ_AHEAD_ROWS: usize = 256;

/// Why an archive job stopped.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error("--output {0} is the input file: choose another output path (the input is left as it is)")]
    SameFile(PathBuf),
    #[error("{0} already holds a finished output: pass --restart to replace it, or choose another --output")]
    Finished(PathBuf),
    #[error("--shards {shards} needs --shard-index (from 0 to {last}) or the JOB_COMPLETION_INDEX variable", last = shards - 1)]
    NoShardIndex { shards: u32 },
    #[error("{0} is Parquet, and this newsgist binary was built without the `parquet` feature: use a default build (`cargo build --release`), or JSON Lines")]
    ParquetNotBuilt(PathBuf),
    #[error("--shard-index {index} must be below --shards {shards}")]
    ShardIndex { index: u32, shards: u32 },
    #[error(transparent)]
    Config(Box<ConfigError>),
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error("workers failed to start: {0}")]
    Start(#[from] StartError),
    #[error("cannot {what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{failed} rows failed, more than --max-failures {max}; the committed chunks are kept, so rerunning the same command continues (see the dead letters in {dead_letter})")]
    TooManyFailures {
        failed: u64,
        max: u64,
        dead_letter: PathBuf,
    },
    #[error("{0} exists: pass --force to replace it, or choose another --output")]
    MergeOutputExists(PathBuf),
    #[error("{dir} has no part-IIIII-of-NNNNN files to merge")]
    NoParts { dir: PathBuf },
    #[error("{dir} is missing parts {missing} of {count}: rerun those shards first")]
    MissingParts { dir: PathBuf, missing: String, count: u32 },
    #[error("{dir} holds parts of different runs ({first} and {other}): keep one run's parts per directory")]
    MixedParts { dir: PathBuf, first: String, other: String },
}

impl BatchError {
    /// The process exit status: 2 for a command that cannot work as given, 3 for too many
    /// failed rows, 1 for anything else (schedulers may retry those).
    pub fn exit_code(&self) -> u8 {
        match self {
            BatchError::SameFile(_)
            | BatchError::Finished(_)
            | BatchError::NoShardIndex { .. }
            | BatchError::ShardIndex { .. }
            | BatchError::ParquetNotBuilt(_)
            | BatchError::Config(_)
            | BatchError::MergeOutputExists(_)
            | BatchError::MixedParts { .. } => 2,
            BatchError::TooManyFailures { .. } => 3,
            BatchError::Input(_)
            | BatchError::Checkpoint(_)
            | BatchError::Start(_)
            | BatchError::Io { .. }
            | BatchError::NoParts { .. }
            | BatchError::MissingParts { .. } => 1,
        }
    }
}

fn io_error<'a>(what: &'static str, path: &'a Path) -> impl Fn(std::io::Error) -> BatchError + 'a {
    move |source| BatchError::Io {
        what,
        path: path.into(),
        source,
    }
}

impl From<ConfigError> for BatchError {
    fn from(err: ConfigError) -> Self {
        BatchError::Config(Box::new(err))
    }
}

/// What a finished job reports, as one JSON line for schedulers.
#[derive(Debug, Serialize, serde::Deserialize)]
pub struct Report {
    pub rows: u64,
    pub failed: u64,
    pub seconds: f64,
    pub rows_per_second: f64,
    pub output: PathBuf,
}

/// What `newsgist merge` joined.
#[derive(Debug)]
pub struct MergeReport {
    pub parts: u32,
    pub output: PathBuf,
}

/// Where a job reads and writes.
struct Plan {
    input_format: FileFormat,
    output_format: FileFormat,
    shard: Shard,
    /// The finished output file (a shard's part file with --shards).
    output: PathBuf,
    dead_letter: PathBuf,
    work_dir: PathBuf,
    /// Written once the output is in place (see [`DoneMarker`]).
    done_marker: PathBuf,
}

/// `path` with `suffix` appended to its file name.
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

/// The name of shard `index` of `count`'s part.
fn part_name(index: u32, count: u32) -> String {
    format!("part-{index:05}-of-{count:05}")
}

impl Plan {
    fn new(args: &BatchArgs) -> Result<Plan, BatchError> {
        let plan = Plan::paths(args)?;
        if !cfg!(feature = "parquet") {
            for (format, path) in [(plan.input_format, &args.input), (plan.output_format, &plan.output)] {
                if format == FileFormat::Parquet {
                    return Err(BatchError::ParquetNotBuilt(path.clone()));
                }
            }
        }
        Ok(plan)
    }

    fn paths(args: &BatchArgs) -> Result<Plan, BatchError> {
        let input_format = args.input_format.unwrap_or_else(|| FileFormat::of_path(&args.input));
        let shard = match (args.shards, args.shard_index) {
            (1, index) if index.unwrap_or(0) == 0 => Shard::WHOLE,
            (shards, None) => return Err(BatchError::NoShardIndex { shards }),
            (shards, Some(index)) if index >= shards => return Err(BatchError::ShardIndex { index, shards }),
            (count, Some(index)) => Shard { index, count },
        };
        if shard.count == 1 {
            let output_format = args.output_format.unwrap_or_else(|| FileFormat::of_path(&args.output));
            let name = args.output.file_name().unwrap_or_default().to_string_lossy();
            return Ok(Plan {
                input_format,
                output_format,
                shard,
                output: args.output.clone(),
                dead_letter: args
                    .dead_letter
                    .clone()
                    .unwrap_or_else(|| with_suffix(&args.output, ".dead-letter.jsonl")),
                work_dir: args.output.with_file_name(format!(".{name}.work")),
                done_marker: args.output.with_file_name(format!(".{name}.done.json")),
            });
        }
        // Shards share the output directory; each writes its own part.
        let output_format = args.output_format.unwrap_or(input_format);
        let part = part_name(shard.index, shard.count);
        Ok(Plan {
            input_format,
            output_format,
            shard,
            output: args.output.join(format!("{part}.{}", output_format.extension())),
            dead_letter: args
                .dead_letter
                .clone()
                .unwrap_or_else(|| args.output.join(format!("{part}.dead-letter.jsonl"))),
            work_dir: args.output.join(format!(".{part}.work")),
            done_marker: args.output.join(format!(".{part}.done.json")),
        })
    }
}

/// The path a file would have, with its directory resolved (the file itself may not exist).
fn resolved(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| {
        let parent = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::canonicalize(parent)
            .unwrap_or_else(|_| parent.into())
            .join(path.file_name().unwrap_or_default())
    })
}

/// What a finished job leaves beside its output: the job and its report, so that rerunning
/// the same command (a scheduler retrying a pod that finished just before it was stopped)
/// answers with the report instead of an error.
#[derive(Serialize, serde::Deserialize)]
struct DoneMarker {
    job: JobSpec,
    report: Report,
}

/// Summarises an archive as `args` says, resuming a previous run of the same job.
pub async fn run(args: BatchArgs) -> Result<Report, BatchError> {
    let started = Instant::now();
    let plan = Plan::new(&args)?;
    let input = resolved(&args.input);
    for path in [&plan.output, &plan.dead_letter] {
        if resolved(path) == input {
            return Err(BatchError::SameFile(path.clone()));
        }
    }
    if let Some(dir) = plan.output.parent().filter(|_| plan.shard.count > 1) {
        std::fs::create_dir_all(dir).map_err(io_error("create", dir))?;
    }
    let options = args.request.options();
    let fields = FieldNames {
        id: args.id_field.clone(),
        title: args.title_field.clone(),
        body: args.body_field.clone(),
        published: args.published_field.clone(),
        url: args.url_field.clone(),
        language: args.language_field.clone(),
    };
    let engine = &args.engine;
    let settings = serde_json::json!({
        "input_format": plan.input_format,
        "output_format": plan.output_format,
        "fields": fields,
        "shard": plan.shard,
        "chunk_rows": args.chunk_rows,
        "options": format!("{options:?}"),
        "models": format!("{:?}", (&engine.model_dirs, &engine.model, &engine.embedding_model_dir, &engine.ner_model_dir)),
        "defaults": format!("{:?}", (engine.extractive_mode, engine.default_sentences, engine.default_facts, engine.max_body_bytes, engine.allow_language_mismatch)),
        "servers": args.server,
    });
    let job = JobSpec::new(&args.input, settings).map_err(io_error("read", &args.input))?;
    if args.restart {
        for path in [&plan.output, &plan.dead_letter, &plan.done_marker] {
            remove_if_present(path)?;
        }
        if plan.work_dir.exists() {
            std::fs::remove_dir_all(&plan.work_dir).map_err(io_error("remove", &plan.work_dir))?;
        }
    } else if plan.output.exists() {
        let marker = std::fs::read(&plan.done_marker)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<DoneMarker>(&bytes).ok());
        match marker {
            Some(marker) if marker.job == job => {
                tracing::info!(output = %plan.output.display(), "this job has finished already; nothing to do");
                return Ok(marker.report);
            }
            // Killed while joining its chunks: the work directory says so, and the join is redone.
            _ if !WorkDir::completed(&plan.work_dir, &job) => return Err(BatchError::Finished(plan.output.clone())),
            _ => {}
        }
    }
    let mut work = WorkDir::open(&plan.work_dir, &job)?;
    let too_many = |failed: u64| {
        args.max_failures
            .filter(|&max| failed > max)
            .map(|max| BatchError::TooManyFailures {
                failed,
                max,
                dead_letter: plan.work_dir.clone(),
            })
    };
    if let Some(err) = too_many(work.failed_done()) {
        return Err(err);
    }
    if !work.is_complete() {
        summarize_rows(&args, &plan, &fields, options, &mut work, &too_many).await?;
    }
    let (rows, failed) = (work.rows_done(), work.failed_done());
    if let Some(err) = too_many(failed) {
        return Err(err);
    }
    // Joining is redone in full by a rerun after a kill, so it comes after the ledger says so.
    work.mark_complete()?;
    output::join(
        &work.chunk_files(&out_suffix(plan.output_format)),
        plan.output_format,
        &plan.output,
    )
    .map_err(io_error("write", &plan.output))?;
    output::join(&work.chunk_files(DEAD_SUFFIX), FileFormat::Jsonl, &plan.dead_letter)
        .map_err(io_error("write", &plan.dead_letter))?;
    let seconds = started.elapsed().as_secs_f64();
    let report = Report {
        rows,
        failed,
        seconds,
        rows_per_second: rows as f64 / seconds.max(1e-9),
        output: plan.output.clone(),
    };
    let marker = DoneMarker { job, report };
    checkpoint::write_json_atomically(&plan.done_marker, &marker).map_err(io_error("write", &plan.done_marker))?;
    work.remove()?;
    Ok(marker.report)
}

/// Reads the rows a previous run has not finished, summarises them and commits them chunk
/// by chunk.
/// The TLS files of `batch --server`, read before any row is.
fn remote_tls(args: &BatchArgs) -> Result<RemoteTls, BatchError> {
    let read = |path: &PathBuf| {
        std::fs::read(path).map_err(|source| BatchError::Io {
            what: "read",
            path: path.clone(),
            source,
        })
    };
    Ok(RemoteTls {
        ca_pem: args.server_ca.as_ref().map(read).transpose()?,
        identity: match (&args.server_cert, &args.server_key) {
            (Some(cert), Some(key)) => Some((read(cert)?, read(key)?)),
            _ => None,
        },
    })
}

async fn summarize_rows(
    args: &BatchArgs,
    plan: &Plan,
    fields: &FieldNames,
    options: crate::request::RawOptions,
    work: &mut WorkDir,
    too_many: &impl Fn(u64) -> Option<BatchError>,
) -> Result<(), BatchError> {
    let backend = if args.server.is_empty() {
        let mut engine = args.engine.clone();
        if engine.workers.is_none() && !engine.loads_models() {
            // Lexical work alone: one worker per core.
            engine.workers = Some(std::thread::available_parallelism().map_or(1, |n| n.get()));
        }
        Backend::Local(Service::start(engine.validate()?, None).await?)
    } else {
        Backend::Remote(RemoteOptions {
            servers: args.server.clone(),
            api_key: args.server_api_key.clone(),
            tls: remote_tls(args)?,
            ..RemoteOptions::default()
        })
    };

    let progress = progress_bar();
    let report_to = progress.clone();
    let spec = InputSpec {
        path: &args.input,
        format: plan.input_format,
        fields,
        shard: plan.shard,
        skip: work.rows_done(),
    };
    let (rows, total) = input::open(&spec, Arc::new(move |done| report_to.set_position(done)))?;
    progress.set_length(total);
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<InputRow>(READ_AHEAD_ROWS);
    let reader = std::thread::Builder::new()
        .name("newsgist-reader".into())
        .spawn(move || -> std::io::Result<()> {
            for row in rows {
                if sender.blocking_send(row?).is_err() {
                    break; // the job stopped early
                }
            }
            Ok(())
        })
        .map_err(io_error("start a reader for", &args.input))?;
    let submissions = futures::stream::poll_fn(move |cx| receiver.poll_recv(cx)).map(move |row| {
        let tag = RowTag {
            position: row.position,
            id: row.id.clone(),
            raw: row.raw,
        };
        let submission = row
            .article
            .map(|article| Submission {
                request_id: row.id,
                article,
                options: options.clone(),
            })
            .map_err(|message| ServiceError::from(InvalidRequest::Unreadable(message)));
        (tag, submission)
    });
    let mut results = backend.summarize(submissions);

    let (mut rows_done, mut failed) = (work.rows_done(), work.failed_done());
    let mut chunk: Option<Chunk> = None;
    while let Some((tag, result)) = results.next().await {
        let open = match chunk.as_mut() {
            Some(open) => open,
            None => chunk.insert(Chunk::create(work, plan.output_format)?),
        };
        let row_failed = open.write(&tag, result)?;
        rows_done += 1;
        failed += u64::from(row_failed);
        progress.set_message(format!("{rows_done} rows, {failed} failed"));
        if open.done.rows == args.chunk_rows {
            chunk.take().expect("a chunk is open").commit(work)?;
            if let Some(err) = too_many(failed) {
                return Err(err);
            }
        }
    }
    drop(results);
    // A read error ends the stream early: keep what is committed, finish nothing.
    match reader.join() {
        Ok(Ok(())) => {}
        Ok(Err(source)) => {
            return Err(BatchError::Io {
                what: "read",
                path: args.input.clone(),
                source,
            })
        }
        Err(_) => panic!("the archive reader panicked"),
    }
    if let Some(open) = chunk {
        open.commit(work)?;
    }
    progress.finish_and_clear();
    Ok(())
}

fn remove_if_present(path: &Path) -> Result<(), BatchError> {
    match std::fs::remove_file(path) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(io_error("remove", path)(err)),
        _ => Ok(()),
    }
}

/// Where the rows are summarised.
enum Backend {
    Local(Arc<Service>),
    Remote(RemoteOptions),
}

/// What a result needs of its input row.
struct RowTag {
    position: u64,
    id: String,
    raw: Option<String>,
}

impl Backend {
    /// Results in input order.
    fn summarize(
        self,
        submissions: impl futures::Stream<Item = (RowTag, Result<Submission, ServiceError>)> + Send + 'static,
    ) -> BoxStream<'static, Tagged<RowTag>> {
        match self {
            Backend::Local(service) => service
                .summarize_stream(submissions.map(Ok::<_, Infallible>), StreamOrder::Input, None)
                .map(|item| match item {
                    Ok(tagged) => tagged,
                    Err(never) => match never {},
                })
                .boxed(),
            Backend::Remote(options) => remote::summarize_stream(options, submissions),
        }
    }
}

const DEAD_SUFFIX: &str = "dead.jsonl";

fn out_suffix(format: FileFormat) -> String {
    format!("out.{}", format.extension())
}

/// The chunk being written: its output rows and dead letters.
struct Chunk {
    rows: RowFile,
    dead: RowFile,
    done: ChunkDone,
}

impl Chunk {
    fn create(work: &WorkDir, format: FileFormat) -> Result<Chunk, BatchError> {
        let index = work.next_chunk();
        let path = work.chunk_path(index, &out_suffix(format));
        let dead_path = work.chunk_path(index, DEAD_SUFFIX);
        Ok(Chunk {
            rows: RowFile::create(&path, format).map_err(io_error("write", &path))?,
            dead: RowFile::create(&dead_path, FileFormat::Jsonl).map_err(io_error("write", &dead_path))?,
            done: ChunkDone { rows: 0, failed: 0 },
        })
    }

    /// Writes one result; true when the row failed.
    fn write(
        &mut self,
        tag: &RowTag,
        result: Result<crate::response::SummaryResponse, ServiceError>,
    ) -> Result<bool, BatchError> {
        let row = match result {
            Ok(response) => OutputRow::Done {
                id: tag.id.clone(),
                line: tag.position,
                response,
            },
            Err(err) => {
                let error = RowError {
                    code: err.kind().name(),
                    message: err.to_string(),
                };
                let letter = DeadLetter {
                    id: &tag.id,
                    line: tag.position,
                    code: error.code,
                    message: &error.message,
                    input: tag.raw.as_deref(),
                };
                self.dead
                    .write(&letter)
                    .map_err(io_error("write", Path::new("a dead-letter chunk")))?;
                OutputRow::Failed {
                    id: tag.id.clone(),
                    line: tag.position,
                    error,
                }
            }
        };
        self.rows
            .write_row(&row)
            .map_err(io_error("write", Path::new("an output chunk")))?;
        self.done.rows += 1;
        let failed = matches!(row, OutputRow::Failed { .. });
        self.done.failed += u64::from(failed);
        Ok(failed)
    }

    /// Puts the chunk's files in place, then records it.
    fn commit(self, work: &mut WorkDir) -> Result<(), BatchError> {
        let chunk = Path::new("a chunk of the work directory");
        self.rows.finish().map_err(io_error("commit", chunk))?;
        self.dead.finish().map_err(io_error("commit", chunk))?;
        Ok(work.commit(self.done)?)
    }
}

fn progress_bar() -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {percent}%  {msg}  {per_sec}  eta {eta}")
            .expect("valid progress template"),
    );
    bar
}

/// Joins the parts a sharded run wrote into `args.input` into one file.
pub fn merge(args: &MergeArgs) -> Result<MergeReport, BatchError> {
    let dir = &args.input;
    let mut parts: Vec<(u32, u32, String, PathBuf)> = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_error("read", dir))? {
        let path = entry.map_err(io_error("read", dir))?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if let Some((index, count, extension)) = parse_part_name(name) {
            parts.push((index, count, extension.to_owned(), path.clone()));
        }
    }
    parts.sort();
    let Some((_, count, extension, _)) = parts.first().cloned() else {
        return Err(BatchError::NoParts { dir: dir.clone() });
    };
    if let Some((_, other_count, other_extension, _)) = parts.iter().find(|(_, c, e, _)| *c != count || *e != extension)
    {
        return Err(BatchError::MixedParts {
            dir: dir.clone(),
            first: format!("of-{count:05}.{extension}"),
            other: format!("of-{other_count:05}.{other_extension}"),
        });
    }
    let missing: Vec<String> = (0..count)
        .filter(|i| !parts.iter().any(|(index, ..)| index == i))
        .map(|i| i.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(BatchError::MissingParts {
            dir: dir.clone(),
            missing: missing.join(", "),
            count,
        });
    }
    let dead_letter = with_suffix(&args.output, ".dead-letter.jsonl");
    if !args.force {
        if let Some(existing) = [&args.output, &dead_letter].into_iter().find(|p| p.exists()) {
            return Err(BatchError::MergeOutputExists(existing.clone()));
        }
    }
    let format = FileFormat::of_path(Path::new(&format!("x.{extension}")));
    let files: Vec<PathBuf> = parts.iter().map(|(.., path)| path.clone()).collect();
    output::join(&files, format, &args.output).map_err(io_error("write", &args.output))?;
    let letters: Vec<PathBuf> = (0..count)
        .map(|i| dir.join(format!("{}.dead-letter.jsonl", part_name(i, count))))
        .filter(|p| p.exists())
        .collect();
    output::join(&letters, FileFormat::Jsonl, &dead_letter).map_err(io_error("write", &dead_letter))?;
    Ok(MergeReport {
        parts: count,
        output: args.output.clone(),
    })
}

/// `part-00003-of-00016.jsonl.gz` -> (3, 16, "jsonl.gz"); dead letters and temporary files
/// are not parts.
fn parse_part_name(name: &str) -> Option<(u32, u32, &str)> {
    if name.ends_with(".dead-letter.jsonl") || name.ends_with(".tmp") {
        return None;
    }
    let rest = name.strip_prefix("part-")?;
    let (index, rest) = rest.split_once("-of-")?;
    let (count, extension) = rest.split_once('.')?;
    if index.len() != 5 || count.len() != 5 {
        return None;
    }
    Some((index.parse().ok()?, count.parse().ok()?, extension))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_names_round_trip_and_exclude_side_files() {
        assert_eq!(part_name(3, 16), "part-00003-of-00016");
        assert_eq!(
            parse_part_name("part-00003-of-00016.jsonl.gz"),
            Some((3, 16, "jsonl.gz"))
        );
        assert_eq!(parse_part_name("part-00003-of-00016.dead-letter.jsonl"), None);
        assert_eq!(parse_part_name("part-00003-of-00016.parquet.tmp"), None);
        assert_eq!(parse_part_name(".part-00003-of-00016.work"), None);
        assert_eq!(parse_part_name("part-3-of-16.jsonl"), None);
    }

    #[test]
    fn suffixes_go_after_the_whole_name() {
        assert_eq!(
            with_suffix(Path::new("out/a.jsonl.gz"), ".dead-letter.jsonl"),
            Path::new("out/a.jsonl.gz.dead-letter.jsonl")
        );
    }
}
