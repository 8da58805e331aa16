//! Resumable outputs: in checkpoint mode rows go to journals, and a checkpoint file
//! records, every few seconds, which plan positions are done ([`Checkpoint`]) and how
//! long each journal was at that moment. A resumed scan cuts each journal back to that
//! length (rows written after the checkpoint are redone, never duplicated) and goes on.
//!
//! Journals: `FILE.partial` for CSV and JSON lines (the file itself, appended),
//! `FILE.journal.jsonl` for Parquet (which cannot be appended). When the scan completes,
//! CSV/JSONL journals are renamed into place and Parquet is written from its journal.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ptraudit_scan::{Checkpoint, Row, Sink, SinkError};
use serde_json::{Value, json};

use crate::file::AtomicFile;
use crate::parquet_sink::ParquetSink;
use crate::read::{Format, ReadError, for_each_row_as};
use crate::summary::Summary;
use crate::writer::FormatSink;

/// How often the checkpoint file is rewritten.
const EVERY: Duration = Duration::from_secs(2);

/// Errors of checkpoints and journals. Each names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JournalError {
    /// A file could not be read, written, truncated or renamed.
    #[error("{what} {}: {source}", path.display())]
    Io {
        /// What was being done (`cannot create`, `cannot reopen`, …).
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The checkpoint file is not one of ours.
    #[error("{}: not a ptraudit checkpoint ({what})", path.display())]
    NotACheckpoint {
        /// The file.
        path: PathBuf,
        /// The field or property that is wrong.
        what: &'static str,
    },
    /// A journal's rows could not be read back.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// A writer failed.
    #[error("writing {}: {source}", path.display())]
    Write {
        /// The output.
        path: PathBuf,
        /// The cause.
        #[source]
        source: SinkError,
    },
}

impl JournalError {
    /// True when the error is in what the user gave (a checkpoint that is not one, a
    /// journal missing or unreadable), false when the run failed (a journal that could
    /// not be cut back, written or put in place): exit 2 or 3.
    pub fn is_bad_input(&self) -> bool {
        match self {
            JournalError::NotACheckpoint { .. } | JournalError::Read(_) => true,
            JournalError::Io { what, .. } => {
                matches!(
                    *what,
                    "cannot read checkpoint" | "cannot reopen" | "cannot create"
                )
            }
            JournalError::Write { .. } => false,
        }
    }
}

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> JournalError {
    let path = path.to_owned();
    move |source| JournalError::Io { what, path, source }
}

/// One output and its journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalState {
    /// Where the finished output goes.
    pub path: PathBuf,
    /// Its format.
    pub format: Format,
    /// Where rows are appended meanwhile.
    pub journal: PathBuf,
    /// Valid length of the journal at the checkpoint.
    pub bytes: u64,
}

/// The checkpoint file's content: the scan's arguments, its plan checkpoint, its outputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointFile {
    /// The `scan` arguments, to repeat the same scan.
    pub argv: Vec<String>,
    /// The plan positions done.
    pub done: Checkpoint,
    /// The outputs.
    pub outputs: Vec<JournalState>,
    /// The scan finished and the outputs are in place.
    pub complete: bool,
    /// The absolute working folder the scan started in: every relative path of `argv`
    /// and `outputs` (outputs, journals, `-i` files, excludes, rules, the checkpoint
    /// itself) is relative to it, so `scan --resume` works from any folder. `None` in
    /// checkpoints written before it was recorded (JSON field `cwd`, absent there).
    pub cwd: Option<PathBuf>,
}

impl CheckpointFile {
    fn to_json(&self) -> String {
        let outputs: Vec<Value> = self
            .outputs
            .iter()
            .map(|o| {
                json!({
                    "path": o.path.to_string_lossy(),
                    "format": o.format.name(),
                    "journal": o.journal.to_string_lossy(),
                    "bytes": o.bytes,
                })
            })
            .collect();
        json!({
            "version": 1,
            "argv": self.argv,
            "done_below": self.done.done_below(),
            "done": self.done.done_above().map(|(a, b)| [a, b]).collect::<Vec<_>>(),
            "rows": self.done.rows(),
            "outputs": outputs,
            "complete": self.complete,
            "cwd": self.cwd.as_ref().map(|c| c.to_string_lossy()),
        })
        .to_string()
    }

    /// Writes the checkpoint atomically (temporary file, synced, then renamed).
    pub fn save(&self, path: &Path) -> Result<(), JournalError> {
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let write = || -> std::io::Result<()> {
            let mut f = File::create(&tmp)?;
            f.write_all(self.to_json().as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)
        };
        write().map_err(io("cannot write checkpoint", path))
    }

    /// Reads a checkpoint, naming the file and the problem on error.
    pub fn load(path: &Path) -> Result<Self, JournalError> {
        let text = std::fs::read_to_string(path).map_err(io("cannot read checkpoint", path))?;
        let bad = |what| JournalError::NotACheckpoint {
            path: path.to_owned(),
            what,
        };
        let v: Value = serde_json::from_str(&text).map_err(|_| bad("not JSON"))?;
        if v["version"] != json!(1) {
            return Err(bad("unknown version"));
        }
        let argv = v["argv"]
            .as_array()
            .and_then(|a| a.iter().map(|s| s.as_str().map(String::from)).collect())
            .ok_or_else(|| bad("argv"))?;
        let done_below = v["done_below"].as_u64().ok_or_else(|| bad("done_below"))?;
        // Ranges `[first, last]`; a bare number (older checkpoints) is one position.
        let done: Vec<(u64, u64)> = v["done"]
            .as_array()
            .and_then(|a| {
                a.iter()
                    .map(|d| match d {
                        Value::Array(pair) => match pair.as_slice() {
                            [a, b] => Some((a.as_u64()?, b.as_u64()?)),
                            _ => None,
                        },
                        n => n.as_u64().map(|n| (n, n)),
                    })
                    .collect()
            })
            .ok_or_else(|| bad("done"))?;
        let rows = v["rows"].as_u64().ok_or_else(|| bad("rows"))?;
        let complete = v["complete"].as_bool().ok_or_else(|| bad("complete"))?;
        let outputs = v["outputs"]
            .as_array()
            .ok_or_else(|| bad("outputs"))?
            .iter()
            .map(|o| {
                Some(JournalState {
                    path: PathBuf::from(o["path"].as_str()?),
                    format: Format::from_name(o["format"].as_str()?)?,
                    journal: PathBuf::from(o["journal"].as_str()?),
                    bytes: o["bytes"].as_u64()?,
                })
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| bad("outputs"))?;
        let cwd = match &v["cwd"] {
            Value::Null => None,
            Value::String(c) if Path::new(c).is_absolute() => Some(PathBuf::from(c)),
            _ => return Err(bad("cwd")),
        };
        Ok(CheckpointFile {
            argv,
            done: Checkpoint::from_parts(done_below, done, rows),
            outputs,
            complete,
            cwd,
        })
    }
}

/// An output being written in checkpoint mode.
#[derive(Debug)]
pub(crate) struct Journal {
    state: JournalState,
    /// CSV for CSV outputs, JSON lines for the others (Parquet cannot be appended).
    writer: FormatSink<BufWriter<File>>,
}

impl Journal {
    /// Where this journal stands.
    pub(crate) fn state(&self) -> &JournalState {
        &self.state
    }

    fn journal_path(path: &Path, format: Format) -> PathBuf {
        let mut p = path.as_os_str().to_owned();
        p.push(if format == Format::Parquet {
            ".journal.jsonl"
        } else {
            ".partial"
        });
        PathBuf::from(p)
    }

    fn writer(
        out: BufWriter<File>,
        state: &JournalState,
    ) -> Result<FormatSink<BufWriter<File>>, JournalError> {
        let format = match state.format {
            Format::Csv => Format::Csv,
            Format::Jsonl | Format::Parquet => Format::Jsonl,
        };
        FormatSink::new(out, format, state.bytes == 0).map_err(|source| JournalError::Write {
            path: state.journal.clone(),
            source,
        })
    }

    /// Starts a journal for output `path` of a new scan.
    pub(crate) fn create(path: &Path, format: Format) -> Result<Journal, JournalError> {
        let journal = Self::journal_path(path, format);
        let file = File::create(&journal).map_err(io("cannot create", &journal))?;
        let out = BufWriter::with_capacity(256 << 10, file);
        let state = JournalState {
            path: path.to_owned(),
            format,
            journal,
            bytes: 0,
        };
        Ok(Journal {
            writer: Self::writer(out, &state)?,
            state,
        })
    }

    /// Reopens a journal where the checkpoint left it: rows after `bytes` (written after
    /// the checkpoint, and redone now) are cut off.
    pub(crate) fn reopen(state: &JournalState) -> Result<Journal, JournalError> {
        let path = &state.journal;
        let file = OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(io("cannot reopen", path))?;
        file.set_len(state.bytes)
            .map_err(io("cannot truncate", path))?;
        let mut out = BufWriter::with_capacity(256 << 10, file);
        out.seek(SeekFrom::End(0))
            .map_err(io("cannot seek in", path))?;
        Ok(Journal {
            writer: Self::writer(out, state)?,
            state: state.clone(),
        })
    }

    /// Calls `each` for every row in the journal (to rebuild the summary on resume).
    pub(crate) fn replay(state: &JournalState, each: impl FnMut(Row)) -> Result<(), JournalError> {
        let format = if state.format == Format::Csv {
            Format::Csv
        } else {
            Format::Jsonl
        };
        Ok(for_each_row_as(&state.journal, format, each)?)
    }

    fn flush(&mut self) -> Result<u64, SinkError> {
        self.writer.finish()?;
        self.state.bytes = self.writer.get_ref().get_ref().metadata()?.len();
        Ok(self.state.bytes)
    }

    /// Puts the finished output in place: renames CSV/JSONL journals, writes Parquet from
    /// its journal. Returns the output path.
    pub(crate) fn finalize(
        mut self,
        metadata: &[(String, String)],
    ) -> Result<PathBuf, JournalError> {
        let write_err = |path: &Path| {
            let path = path.to_owned();
            move |source| JournalError::Write { path, source }
        };
        self.flush().map_err(write_err(&self.state.path))?;
        drop(self.writer);
        let s = self.state;
        if s.format != Format::Parquet {
            std::fs::rename(&s.journal, &s.path)
                .map_err(io("cannot rename into place", &s.path))?;
            return Ok(s.path);
        }
        let file = AtomicFile::create(&s.path, true).map_err(io("cannot create", &s.path))?;
        let mut pq = ParquetSink::new(file).map_err(write_err(&s.path))?;
        let mut err = None;
        for_each_row_as(&s.journal, Format::Jsonl, |row| {
            if err.is_none()
                && let Err(e) = pq.row(&row)
            {
                err = Some(e);
            }
        })?;
        if let Some(e) = err {
            return Err(write_err(&s.path)(e));
        }
        let file = pq.close_with(metadata).map_err(write_err(&s.path))?;
        file.commit().map_err(io("cannot finish", &s.path))?;
        let _ = std::fs::remove_file(&s.journal);
        Ok(s.path)
    }
}

impl Sink for Journal {
    fn row(&mut self, row: &Row) -> Result<(), SinkError> {
        self.writer.row(row)
    }
}

/// Rows to the journals and the summary, with the checkpoint file kept up to date: the
/// sink of a scan run with `--checkpoint`.
#[derive(Debug)]
pub struct Checkpointed {
    journals: Vec<Journal>,
    summary: Summary,
    file: CheckpointFile,
    path: PathBuf,
    last_save: Instant,
}

impl Checkpointed {
    /// A new scan with arguments `argv` writing `outputs`, checkpointed at `path`. The
    /// checkpoint is saved at once, before any query: a scan killed at once can be
    /// resumed too.
    pub fn start(
        argv: Vec<String>,
        outputs: &[(PathBuf, Format)],
        path: &Path,
    ) -> Result<Checkpointed, JournalError> {
        let journals = outputs
            .iter()
            .map(|(p, f)| Journal::create(p, *f))
            .collect::<Result<Vec<_>, _>>()?;
        let file = CheckpointFile {
            argv,
            done: Checkpoint::default(),
            outputs: journals.iter().map(|j| j.state().clone()).collect(),
            complete: false,
            // Recorded so that a resume from another folder finds every relative path.
            cwd: std::env::current_dir().ok(),
        };
        let mut sink = Checkpointed {
            journals,
            summary: Summary::default(),
            file,
            path: path.to_owned(),
            last_save: Instant::now(),
        };
        sink.save()?;
        Ok(sink)
    }

    /// Continues the scan recorded in `file` (read from `path`): the journals are cut back
    /// to the checkpoint and the summary rebuilt from the rows they keep.
    pub fn resume(file: CheckpointFile, path: &Path) -> Result<Checkpointed, JournalError> {
        let mut summary = Summary::default();
        // Cut the first journal back before reading it: rows after the checkpoint are
        // redone.
        if let Some(first) = file.outputs.first() {
            drop(Journal::reopen(first)?);
            Journal::replay(first, |row| summary.add(&row))?;
        }
        let journals = file
            .outputs
            .iter()
            .map(Journal::reopen)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Checkpointed {
            journals,
            summary,
            file,
            path: path.to_owned(),
            last_save: Instant::now(),
        })
    }

    /// The plan positions done so far.
    pub fn done(&self) -> &Checkpoint {
        &self.file.done
    }

    /// Flushes the journals, then records their lengths and the done set.
    pub fn save(&mut self) -> Result<(), JournalError> {
        for (j, state) in self.journals.iter_mut().zip(self.file.outputs.iter_mut()) {
            state.bytes = j.flush().map_err(|source| JournalError::Write {
                path: state.journal.clone(),
                source,
            })?;
        }
        self.file.save(&self.path)?;
        self.last_save = Instant::now();
        Ok(())
    }

    /// The scan completed: puts every output in place, marks the checkpoint complete,
    /// and returns the summary.
    pub fn complete(self) -> Result<Summary, JournalError> {
        self.complete_with(&[])
    }

    /// Like [`Checkpointed::complete`], with key-value metadata in Parquet outputs.
    pub fn complete_with(mut self, metadata: &[(String, String)]) -> Result<Summary, JournalError> {
        for j in self.journals {
            j.finalize(metadata)?;
        }
        self.file.complete = true;
        self.file.save(&self.path)?;
        Ok(self.summary)
    }
}

impl Sink for Checkpointed {
    fn row(&mut self, row: &Row) -> Result<(), SinkError> {
        // Rows without a position cannot be checkpointed; the engine always gives one.
        self.row_at(u64::MAX, row)
    }

    fn row_at(&mut self, _seq: u64, row: &Row) -> Result<(), SinkError> {
        self.journals.row(row)?;
        self.summary.add(row);
        self.file.done.add_rows(1);
        Ok(())
    }

    fn done(&mut self, first: u64, last: u64) -> Result<(), SinkError> {
        self.file.done.mark(first, last);
        // Saved only here, between positions: a checkpoint never records half of a
        // position's rows (a walk writes many rows for one).
        if self.last_save.elapsed() >= EVERY {
            self.save()?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), SinkError> {
        Ok(self.save()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoint_file_round_trips_and_refuses_strangers() {
        let dir = std::env::temp_dir().join(format!("ptraudit-cp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("cp.json");
        let mut done = Checkpoint::default();
        for seq in [0, 1, 5] {
            done.mark(seq, seq);
        }
        done.mark(9, 1 << 40);
        done.add_rows(3);
        let c = CheckpointFile {
            argv: vec!["198.18.0.0/24".into()],
            done,
            outputs: vec![JournalState {
                path: dir.join("x.parquet"),
                format: Format::Parquet,
                journal: dir.join("x.parquet.journal.jsonl"),
                bytes: 42,
            }],
            complete: false,
            cwd: Some(dir.clone()),
        };
        c.save(&p).unwrap();
        assert_eq!(CheckpointFile::load(&p).unwrap(), c);
        // Written before `cwd` was recorded: still read.
        let old = CheckpointFile {
            cwd: None,
            ..c.clone()
        };
        old.save(&p).unwrap();
        assert!(!std::fs::read_to_string(&p).unwrap().contains("\"cwd\":\""));
        assert_eq!(CheckpointFile::load(&p).unwrap(), old);
        std::fs::write(&p, "{}").unwrap();
        let e = CheckpointFile::load(&p).unwrap_err();
        assert!(e.to_string().contains("not a ptraudit checkpoint"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
