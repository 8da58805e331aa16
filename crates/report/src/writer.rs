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
enum Dest {
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

/// A sink in one of the formats, to a file that appears only when complete, or stdout.
#[derive(Debug)]
pub struct Writer(Inner);

/// (Few exist per run, so variant sizes do not matter.)
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
enum Inner {
    Csv(CsvSink<Dest>),
    Parquet(ParquetSink<Dest>),
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
        Ok(Writer(match format {
            Format::Csv => Inner::Csv(CsvSink::new(dest)?),
            Format::Parquet => Inner::Parquet(ParquetSink::new(dest)?),
            Format::Jsonl => Inner::Jsonl(JsonlSink::new(dest)),
        }))
    }

    /// Completes the output: Parquet footer, flush, and the rename into place. Returns the
    /// final path for files.
    pub fn close(self) -> Result<Option<PathBuf>, SinkError> {
        let dest = match self.0 {
            Inner::Csv(s) => s.into_inner()?,
            Inner::Parquet(s) => s.close()?,
            Inner::Jsonl(s) => s.into_inner()?,
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
        let dest = match &self.0 {
            Inner::Csv(s) => s.get_ref(),
            Inner::Parquet(s) => s.get_ref(),
            Inner::Jsonl(s) => s.get_ref(),
        };
        match dest {
            Dest::File(f) => Some(f.partial_path().to_owned()),
            Dest::Stdout(_) => None,
        }
    }
}

impl Sink for Writer {
    fn row(&mut self, row: &Row) -> Result<(), SinkError> {
        match &mut self.0 {
            Inner::Csv(s) => s.row(row),
            Inner::Parquet(s) => s.row(row),
            Inner::Jsonl(s) => s.row(row),
        }
    }
    fn finish(&mut self) -> Result<(), SinkError> {
        match &mut self.0 {
            Inner::Csv(s) => s.finish(),
            Inner::Parquet(s) => s.finish(),
            Inner::Jsonl(s) => s.finish(),
        }
    }
}
