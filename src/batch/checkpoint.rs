//! The work directory of an archive job: what the job is (so that a rerun with other settings
//! or another input is refused instead of mixed in), the chunks it has committed, and their
//! files. A chunk counts as done only once the ledger names it, and the ledger is replaced
//! atomically after the chunk's files are in place, so a kill at any moment leaves a state
//! that a rerun continues from.

use std::{
    path::{Path, PathBuf},
    time::UNIX_EPOCH,
};

use serde::{Deserialize, Serialize};

const JOB_FILE: &str = "_job.json";
const LEDGER_FILE: &str = "_ledger.json";

/// Why a job cannot continue from its work directory.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("{dir} holds an unfinished run with other settings or another input: rerun that command to finish it, or pass --restart to start over")]
    OtherJob { dir: PathBuf },
    #[error("work directory {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("work directory file {path} is damaged ({source}): pass --restart to start over")]
    Damaged { path: PathBuf, source: serde_json::Error },
}

/// What identifies a job: its input file as it is now, and every setting that shapes its
/// output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobSpec {
    pub input: PathBuf,
    pub input_bytes: u64,
    pub input_modified_ns: u128,
    pub settings: serde_json::Value,
}

impl JobSpec {
    pub fn new(input: &Path, settings: serde_json::Value) -> std::io::Result<JobSpec> {
        let metadata = std::fs::metadata(input)?;
        let modified = metadata.modified()?.duration_since(UNIX_EPOCH).unwrap_or_default();
        Ok(JobSpec {
            input: std::fs::canonicalize(input)?,
            input_bytes: metadata.len(),
            input_modified_ns: modified.as_nanos(),
            settings,
        })
    }
}

/// One committed chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkDone {
    pub rows: u64,
    pub failed: u64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Ledger {
    chunks: Vec<ChunkDone>,
    /// Every row is in a chunk; only joining the chunks into the output may remain.
    #[serde(default)]
    complete: bool,
}

/// A job's work directory.
pub struct WorkDir {
    dir: PathBuf,
    ledger: Ledger,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> CheckpointError + '_ {
    move |source| CheckpointError::Io {
        path: path.into(),
        source,
    }
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Option<T>, CheckpointError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|source| CheckpointError::Damaged {
                path: path.into(),
                source,
            }),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(io(path)(err)),
    }
}

/// Writes `value` to `path` through a temporary file and a rename.
pub fn write_json_atomically<T: Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    let tmp = path.with_extension("json.tmp");
    let file = std::fs::File::create(&tmp)?;
    serde_json::to_writer(&file, value)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}

impl WorkDir {
    /// Opens `dir` for `job`: creates it, or continues the same job in it. Files of chunks
    /// the ledger does not name (a run killed between writing a chunk and recording it) are
    /// removed.
    pub fn open(dir: &Path, job: &JobSpec) -> Result<WorkDir, CheckpointError> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let job_path = dir.join(JOB_FILE);
        match read_json::<JobSpec>(&job_path)? {
            Some(existing) if existing != *job => return Err(CheckpointError::OtherJob { dir: dir.into() }),
            Some(_) => {}
            None => write_json_atomically(&job_path, job).map_err(io(&job_path))?,
        }
        let ledger = read_json::<Ledger>(&dir.join(LEDGER_FILE))?.unwrap_or_default();
        let work = WorkDir {
            dir: dir.into(),
            ledger,
        };
        for entry in std::fs::read_dir(dir).map_err(io(dir))? {
            let path = entry.map_err(io(dir))?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            let orphan = name.ends_with(".tmp") || chunk_index(name).is_some_and(|i| i >= work.ledger.chunks.len());
            if orphan {
                std::fs::remove_file(&path).map_err(io(&path))?;
            }
        }
        Ok(work)
    }

    /// True when `dir` holds `job`, with every row committed.
    pub fn completed(dir: &Path, job: &JobSpec) -> bool {
        let same_job = read_json::<JobSpec>(&dir.join(JOB_FILE))
            .ok()
            .flatten()
            .is_some_and(|j| j == *job);
        same_job
            && read_json::<Ledger>(&dir.join(LEDGER_FILE))
                .ok()
                .flatten()
                .is_some_and(|l| l.complete)
    }

    /// True once [`WorkDir::mark_complete`] was recorded.
    pub fn is_complete(&self) -> bool {
        self.ledger.complete
    }

    /// Records that every row is committed.
    pub fn mark_complete(&mut self) -> Result<(), CheckpointError> {
        if !self.ledger.complete {
            self.ledger.complete = true;
            let path = self.dir.join(LEDGER_FILE);
            write_json_atomically(&path, &self.ledger).map_err(io(&path))?;
        }
        Ok(())
    }

    /// Rows of committed chunks.
    pub fn rows_done(&self) -> u64 {
        self.ledger.chunks.iter().map(|c| c.rows).sum()
    }

    /// Failed rows of committed chunks.
    pub fn failed_done(&self) -> u64 {
        self.ledger.chunks.iter().map(|c| c.failed).sum()
    }

    /// The path of chunk `index`'s file `suffix` (such as `out.jsonl`).
    pub fn chunk_path(&self, index: usize, suffix: &str) -> PathBuf {
        self.dir.join(format!("chunk-{index:06}.{suffix}"))
    }

    /// The index the next chunk gets.
    pub fn next_chunk(&self) -> usize {
        self.ledger.chunks.len()
    }

    /// Records the next chunk as committed; its files must be in place already.
    pub fn commit(&mut self, chunk: ChunkDone) -> Result<(), CheckpointError> {
        self.ledger.chunks.push(chunk);
        let path = self.dir.join(LEDGER_FILE);
        write_json_atomically(&path, &self.ledger).map_err(io(&path))
    }

    /// The files `suffix` of every committed chunk, in order.
    pub fn chunk_files(&self, suffix: &str) -> Vec<PathBuf> {
        (0..self.ledger.chunks.len())
            .map(|i| self.chunk_path(i, suffix))
            .collect()
    }

    /// Removes the directory once the job's outputs are in place.
    pub fn remove(self) -> Result<(), CheckpointError> {
        std::fs::remove_dir_all(&self.dir).map_err(io(&self.dir))
    }
}

/// The index of a chunk file name (`chunk-000012.out.jsonl` -> 12).
fn chunk_index(name: &str) -> Option<usize> {
    name.strip_prefix("chunk-")?.split('.').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(dir: &Path, setting: &str) -> JobSpec {
        let input = dir.join("in.jsonl");
        if !input.exists() {
            std::fs::write(&input, "{}\n").unwrap();
        }
        JobSpec::new(&input, serde_json::json!({ "setting": setting })).unwrap()
    }

    #[test]
    fn a_rerun_continues_after_the_recorded_chunks_and_drops_unrecorded_files() {
        let dir = tempfile::tempdir().unwrap();
        let work_dir = dir.path().join("work");
        let spec = job(dir.path(), "a");
        let mut work = WorkDir::open(&work_dir, &spec).unwrap();
        std::fs::write(work.chunk_path(0, "out.jsonl"), "x\n").unwrap();
        work.commit(ChunkDone { rows: 10, failed: 1 }).unwrap();
        // Killed after writing chunk 1 but before recording it, with a temporary file left.
        std::fs::write(work.chunk_path(1, "out.jsonl"), "y\n").unwrap();
        std::fs::write(work_dir.join("chunk-000002.out.jsonl.tmp"), "z").unwrap();
        drop(work);

        let work = WorkDir::open(&work_dir, &spec).unwrap();
        assert_eq!((work.rows_done(), work.failed_done(), work.next_chunk()), (10, 1, 1));
        assert!(work.chunk_path(0, "out.jsonl").exists());
        assert!(!work.chunk_path(1, "out.jsonl").exists(), "unrecorded chunk removed");
        assert!(!work_dir.join("chunk-000002.out.jsonl.tmp").exists());
        assert_eq!(work.chunk_files("out.jsonl"), [work.chunk_path(0, "out.jsonl")]);
    }

    #[test]
    fn other_settings_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let work_dir = dir.path().join("work");
        WorkDir::open(&work_dir, &job(dir.path(), "a")).unwrap();
        let err = WorkDir::open(&work_dir, &job(dir.path(), "b")).err().unwrap();
        assert!(matches!(err, CheckpointError::OtherJob { .. }), "{err}");
        assert!(err.to_string().contains("--restart"));
    }
}
