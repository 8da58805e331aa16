//! One output of a scan, in any format, to a file or stdout.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use ptraudit_scan::{Row, Sink, SinkError};

use crate::csv_sink::CsvSink;
use crate::file::AtomicFile;
use crate::jsonl::JsonlSink;
use crate::parquet_sink::ParquetSink;
use crate::read::Format;

/// Where bytes go.
#[derive(Debug)]
pub enum Dest {
    /// A file that appears only when complete.
    File(AtomicFile),
    /// Standard output.
    Stdout(io::Stdout),
}

impl Write for Dest {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Dest::File(f) => f.write(buf),
            Dest::Stdout(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Dest::File(f) => f.flush(),
            Dest::Stdout(s) => s.flush(),
        }
    }
}

/// A sink in one of the formats. (Few exist per run, so variant sizes do not matter.)
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Writer {
    /// CSV.
    Csv(CsvSink<Dest>),
    /// Parquet.
    Parquet(ParquetSink<Dest>),
    /// JSON lines.
    Jsonl(JsonlSink<Dest>),
}

impl Writer {
    /// Opens `path` (or stdout when `None`) for `format`. An existing file is refused
    /// unless `force`.
    pub fn open(path: Option<&Path>, format: Format, force: bool) -> Result<Writer, SinkError> {
        let dest = match path {
            Some(p) => Dest::File(AtomicFile::create(p, force)?),
            None => Dest::Stdout(io::stdout()),
        };
        Ok(match format {
            Format::Csv => Writer::Csv(CsvSink::new(dest)?),
            Format::Parquet => Writer::Parquet(ParquetSink::new(dest)?),
            Format::Jsonl => Writer::Jsonl(JsonlSink::new(dest)),
        })
    }

    /// Completes the output: Parquet footer, flush, and the rename into place. Returns the
    /// final path for files.
    pub fn close(self) -> Result<Option<PathBuf>, SinkError> {
        let dest = match self {
            Writer::Csv(s) => s.into_inner()?,
            Writer::Parquet(s) => s.close()?,
            Writer::Jsonl(s) => s.into_inner()?,
        };
        match dest {
            Dest::File(f) => Ok(Some(f.commit()?)),
            Dest::Stdout(mut s) => {
                s.flush()?;
                Ok(None)
            }
        }
    }

    /// The temporary path of a file output (what is left if the run fails).
    pub fn partial_path(&self) -> Option<PathBuf> {
        let dest = match self {
            Writer::Csv(s) => s.get_ref(),
            Writer::Parquet(s) => s.get_ref(),
            Writer::Jsonl(s) => s.get_ref(),
        };
        match dest {
            Dest::File(f) => Some(f.partial_path().to_owned()),
            Dest::Stdout(_) => None,
        }
    }
}

impl Sink for Writer {
    fn row(&mut self, row: &Row) -> Result<(), SinkError> {
        match self {
            Writer::Csv(s) => s.row(row),
            Writer::Parquet(s) => s.row(row),
            Writer::Jsonl(s) => s.row(row),
        }
    }
    fn finish(&mut self) -> Result<(), SinkError> {
        match self {
            Writer::Csv(s) => s.finish(),
            Writer::Parquet(s) => s.finish(),
            Writer::Jsonl(s) => s.finish(),
        }
    }
}
