//! Checkpoints and resume: `--checkpoint FILE` records which addresses are done and how
//! long each output's journal was at that moment; `--resume FILE` truncates the journals
//! back to that length (dropping rows written after the checkpoint, which are redone) and
//! continues. The final outputs hold every address exactly once.
//!
//! In checkpoint mode rows go to journals: `FILE.partial` for CSV and JSON lines (the
//! file itself, appended), `FILE.journal.jsonl` for Parquet (which cannot be appended);
//! when the scan completes, CSV/JSONL journals are renamed into place and Parquet is
//! written from its journal.

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use ptraudit_report::{
    AtomicFile, CsvSink, Format, JsonlSink, ParquetSink, Summary, for_each_row_as,
};
use ptraudit_scan::{Row, Sink, SinkError};
use serde_json::{Value, json};

use crate::{Failure, runtime, usage};

/// How often progress is recorded.
const EVERY: Duration = Duration::from_secs(2);

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

/// The checkpoint file's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The `scan` arguments, to repeat the same scan.
    pub argv: Vec<String>,
    /// Every plan position below this is done.
    pub done_below: u64,
    /// Positions at or above `done_below` that are done.
    pub done: BTreeSet<u64>,
    /// Rows in the journals.
    pub rows: u64,
    /// The outputs.
    pub outputs: Vec<JournalState>,
    /// The scan finished and the outputs are in place.
    pub complete: bool,
}

fn format_name(f: Format) -> &'static str {
    match f {
        Format::Csv => "csv",
        Format::Parquet => "parquet",
        Format::Jsonl => "jsonl",
    }
}

impl Checkpoint {
    /// A fresh checkpoint for a scan with these arguments and outputs.
    pub fn new(argv: Vec<String>, outputs: Vec<JournalState>) -> Self {
        Checkpoint {
            argv,
            done_below: 0,
            done: BTreeSet::new(),
            rows: 0,
            outputs,
            complete: false,
        }
    }

    /// True when plan position `seq` has its row in the journals.
    pub fn is_done(&self, seq: u64) -> bool {
        seq < self.done_below || self.done.contains(&seq)
    }

    fn mark(&mut self, seq: u64) {
        self.rows += 1;
        self.done.insert(seq);
        // Keep the set small: it only holds the positions above the contiguous prefix.
        while self.done.remove(&self.done_below) {
            self.done_below += 1;
        }
    }

    fn to_json(&self) -> String {
        let outputs: Vec<Value> = self
            .outputs
            .iter()
            .map(|o| {
                json!({
                    "path": o.path.to_string_lossy(),
                    "format": format_name(o.format),
                    "journal": o.journal.to_string_lossy(),
                    "bytes": o.bytes,
                })
            })
            .collect();
        json!({
            "version": 1,
            "argv": self.argv,
            "done_below": self.done_below,
            "done": self.done.iter().collect::<Vec<_>>(),
            "rows": self.rows,
            "outputs": outputs,
            "complete": self.complete,
        })
        .to_string()
    }

    /// Writes the checkpoint atomically (temporary file, then rename).
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        {
            let mut f = File::create(&tmp)?;
            f.write_all(self.to_json().as_bytes())?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, path)
    }

    /// Reads a checkpoint, naming the file and the problem on error.
    pub fn load(path: &Path) -> Result<Self, Failure> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read checkpoint {}", path.display()))
            .map_err(usage)?;
        let bad = |what: &str| {
            usage(anyhow!(
                "{}: not a ptraudit checkpoint ({what})",
                path.display()
            ))
        };
        let v: Value = serde_json::from_str(&text).map_err(|_| bad("not JSON"))?;
        if v["version"] != json!(1) {
            return Err(bad("unknown version"));
        }
        let strings = |v: &Value| -> Option<Vec<String>> {
            v.as_array()?
                .iter()
                .map(|s| s.as_str().map(String::from))
                .collect()
        };
        let argv = strings(&v["argv"]).ok_or_else(|| bad("argv"))?;
        let done_below = v["done_below"].as_u64().ok_or_else(|| bad("done_below"))?;
        let done = v["done"]
            .as_array()
            .and_then(|a| {
                a.iter()
                    .map(Value::as_u64)
                    .collect::<Option<BTreeSet<u64>>>()
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
        Ok(Checkpoint {
            argv,
            done_below,
            done,
            rows,
            outputs,
            complete,
        })
    }
}

#[allow(clippy::large_enum_variant)] // one per output, a handful per run
enum JournalWriter {
    Csv(CsvSink<BufWriter<File>>),
    Jsonl(JsonlSink<BufWriter<File>>),
}

/// An output being written in checkpoint mode.
pub struct Journal {
    state: JournalState,
    writer: JournalWriter,
}

impl Journal {
    /// Where this journal stands.
    pub fn state(&self) -> &JournalState {
        &self.state
    }

    /// The journal path for an output.
    pub fn journal_path(path: &Path, format: Format) -> PathBuf {
        let mut p = path.as_os_str().to_owned();
        p.push(if format == Format::Parquet {
            ".journal.jsonl"
        } else {
            ".partial"
        });
        PathBuf::from(p)
    }

    /// Starts a journal for a new scan.
    pub fn create(path: &Path, format: Format) -> Result<Journal, Failure> {
        let journal = Self::journal_path(path, format);
        let file = File::create(&journal)
            .with_context(|| format!("cannot create {}", journal.display()))
            .map_err(usage)?;
        let out = BufWriter::with_capacity(256 << 10, file);
        let writer = match format {
            Format::Csv => JournalWriter::Csv(CsvSink::new(out).map_err(|e| runtime(anyhow!(e)))?),
            Format::Jsonl | Format::Parquet => JournalWriter::Jsonl(JsonlSink::new(out)),
        };
        Ok(Journal {
            state: JournalState {
                path: path.to_owned(),
                format,
                journal,
                bytes: 0,
            },
            writer,
        })
    }

    /// Reopens a journal where the checkpoint left it: rows after `bytes` (written after
    /// the checkpoint, and redone now) are cut off.
    pub fn reopen(state: &JournalState) -> Result<Journal, Failure> {
        let file = OpenOptions::new()
            .write(true)
            .open(&state.journal)
            .with_context(|| format!("cannot reopen {}", state.journal.display()))
            .map_err(usage)?;
        file.set_len(state.bytes)
            .with_context(|| format!("cannot truncate {}", state.journal.display()))
            .map_err(runtime)?;
        let mut out = BufWriter::with_capacity(256 << 10, file);
        std::io::Seek::seek(&mut out, std::io::SeekFrom::End(0)).map_err(runtime)?;
        let writer = match state.format {
            Format::Csv if state.bytes == 0 => {
                JournalWriter::Csv(CsvSink::new(out).map_err(|e| runtime(anyhow!(e)))?)
            }
            Format::Csv => JournalWriter::Csv(CsvSink::without_header(out)),
            Format::Jsonl | Format::Parquet => JournalWriter::Jsonl(JsonlSink::new(out)),
        };
        Ok(Journal {
            state: state.clone(),
            writer,
        })
    }

    /// Every row already in the journal (to rebuild the summary on resume).
    pub fn replay(state: &JournalState, summary: &mut Summary) -> Result<(), Failure> {
        let format = if state.format == Format::Csv {
            Format::Csv
        } else {
            Format::Jsonl
        };
        let mut err = None;
        for_each_row_as(&state.journal, format, |row| {
            if let Err(e) = summary.row(&row) {
                err = Some(e);
            }
        })
        .map_err(usage)?;
        match err {
            Some(e) => Err(runtime(anyhow!(e))),
            None => Ok(()),
        }
    }

    fn flush(&mut self) -> Result<u64, SinkError> {
        let file = match &mut self.writer {
            JournalWriter::Csv(s) => {
                s.finish()?;
                s.get_ref()
            }
            JournalWriter::Jsonl(s) => {
                s.finish()?;
                s.get_ref()
            }
        };
        self.state.bytes = file.get_ref().metadata()?.len();
        Ok(self.state.bytes)
    }

    /// Puts the finished output in place: renames CSV/JSONL journals, writes Parquet from
    /// its journal. Returns the output path.
    pub fn finalize(mut self) -> Result<PathBuf, Failure> {
        self.flush().map_err(|e| runtime(anyhow!(e)))?;
        drop(self.writer);
        let s = self.state;
        if s.format != Format::Parquet {
            std::fs::rename(&s.journal, &s.path)
                .with_context(|| {
                    format!("renaming {} to {}", s.journal.display(), s.path.display())
                })
                .map_err(runtime)?;
            return Ok(s.path);
        }
        let file = AtomicFile::create(&s.path, true).map_err(runtime)?;
        let mut pq = ParquetSink::new(file).map_err(|e| runtime(anyhow!(e)))?;
        let mut err = None;
        for_each_row_as(&s.journal, Format::Jsonl, |row| {
            if err.is_none()
                && let Err(e) = pq.row(&row)
            {
                err = Some(e);
            }
        })
        .map_err(runtime)?;
        if let Some(e) = err {
            return Err(runtime(anyhow!(e)));
        }
        let file = pq.close().map_err(|e| runtime(anyhow!(e)))?;
        file.commit()
            .with_context(|| format!("finishing {}", s.path.display()))
            .map_err(runtime)?;
        let _ = std::fs::remove_file(&s.journal);
        Ok(s.path)
    }

    fn row(&mut self, row: &Row) -> Result<(), SinkError> {
        match &mut self.writer {
            JournalWriter::Csv(s) => s.row(row),
            JournalWriter::Jsonl(s) => s.row(row),
        }
    }
}

/// Rows to the journals and the summary, with the checkpoint kept up to date.
pub struct Checkpointed {
    /// Journals, one per output.
    pub journals: Vec<Journal>,
    /// Per-prefix counts (including replayed rows on resume).
    pub summary: Summary,
    /// The progress so far.
    pub checkpoint: Checkpoint,
    /// Where it is saved.
    pub path: PathBuf,
    last_save: Instant,
}

impl Checkpointed {
    /// Wraps journals and a checkpoint saved at `path`.
    pub fn new(
        journals: Vec<Journal>,
        summary: Summary,
        checkpoint: Checkpoint,
        path: PathBuf,
    ) -> Self {
        Checkpointed {
            journals,
            summary,
            checkpoint,
            path,
            last_save: Instant::now(),
        }
    }

    /// Flushes the journals, then records their lengths and the done set.
    pub fn save(&mut self) -> Result<(), SinkError> {
        for (j, state) in self
            .journals
            .iter_mut()
            .zip(self.checkpoint.outputs.iter_mut())
        {
            state.bytes = j.flush()?;
        }
        self.checkpoint.save(&self.path)?;
        self.last_save = Instant::now();
        Ok(())
    }
}

impl Sink for Checkpointed {
    fn row(&mut self, row: &Row) -> Result<(), SinkError> {
        // Rows without a position cannot be checkpointed; the engine always gives one.
        self.row_at(u64::MAX, row)
    }

    fn row_at(&mut self, seq: u64, row: &Row) -> Result<(), SinkError> {
        for j in &mut self.journals {
            j.row(row)?;
        }
        self.summary.row(row)?;
        self.checkpoint.mark(seq);
        if self.last_save.elapsed() >= EVERY {
            self.save()?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), SinkError> {
        self.save()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn done_set_stays_small_and_round_trips() {
        let mut c = Checkpoint::new(vec!["198.18.0.0/24".into()], vec![]);
        for seq in [0, 2, 1, 5, 3] {
            c.mark(seq);
        }
        assert_eq!(c.done_below, 4);
        assert_eq!(c.done.iter().copied().collect::<Vec<_>>(), [5]);
        assert!(c.is_done(3) && c.is_done(5) && !c.is_done(4));
        let dir = std::env::temp_dir().join(format!("ptraudit-cp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("cp.json");
        c.outputs.push(JournalState {
            path: dir.join("x.parquet"),
            format: Format::Parquet,
            journal: dir.join("x.parquet.journal.jsonl"),
            bytes: 42,
        });
        c.save(&p).unwrap();
        assert_eq!(Checkpoint::load(&p).unwrap(), c);
        std::fs::write(&p, "{}").unwrap();
        assert!(Checkpoint::load(&p).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
