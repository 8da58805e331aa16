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

/// A sink in one of the formats, to any writer: the one dispatch on the format, for
/// [`Writer`] and the checkpoint journals.
#[derive(Debug)]
// Few exist per run, so variant sizes do not matter.
#[allow(clippy::large_enum_variant)]
pub(crate) enum FormatSink<W: Write + Send> {
    Csv(CsvSink<W>),
    Parquet(ParquetSink<W>),
    Jsonl(JsonlSink<W>),
}

impl<W: Write + Send> FormatSink<W> {
    /// A sink writing `format` to `out`; `header` false continues a CSV file.
    pub(crate) fn new(out: W, format: Format, header: bool) -> Result<Self, SinkError> {
        Ok(match format {
            Format::Csv if header => FormatSink::Csv(CsvSink::new(out)?),
            Format::Csv => FormatSink::Csv(CsvSink::without_header(out)),
            Format::Parquet => FormatSink::Parquet(ParquetSink::new(out)?),
            Format::Jsonl => FormatSink::Jsonl(JsonlSink::new(out)),
        })
    }

    /// The inner writer.
    pub(crate) fn get_ref(&self) -> &W {
        match self {
            FormatSink::Csv(s) => s.get_ref(),
            FormatSink::Parquet(s) => s.get_ref(),
            FormatSink::Jsonl(s) => s.get_ref(),
        }
    }

    /// Completes the output (Parquet footer with `metadata`, flush) and returns the inner
    /// writer (the text formats have no place for metadata).
    pub(crate) fn into_inner_with(self, metadata: &[(String, String)]) -> Result<W, SinkError> {
        Ok(match self {
            FormatSink::Csv(s) => s.into_inner()?,
            FormatSink::Parquet(s) => s.close_with(metadata)?,
            FormatSink::Jsonl(s) => s.into_inner()?,
        })
    }
}

impl<W: Write + Send> Sink for FormatSink<W> {
    fn row(&mut self, row: &Row) -> Result<(), SinkError> {
        match self {
            FormatSink::Csv(s) => s.row(row),
            FormatSink::Parquet(s) => s.row(row),
            FormatSink::Jsonl(s) => s.row(row),
        }
    }
    fn finish(&mut self) -> Result<(), SinkError> {
        match self {
            FormatSink::Csv(s) => s.finish(),
            FormatSink::Parquet(s) => s.finish(),
            FormatSink::Jsonl(s) => s.finish(),
        }
    }
}

/// A sink in one of the formats, to a file that appears only when complete, or stdout.
#[derive(Debug)]
pub struct Writer(FormatSink<Dest>);

impl Writer {
    /// Opens `path` (or stdout when `None`) for `format`. An existing file is refused
    /// unless `force`.
    pub fn open(path: Option<&Path>, format: Format, force: bool) -> Result<Writer, SinkError> {
        let dest = match path {
            Some(p) => Dest::File(AtomicFile::create(p, force)?),
            None => Dest::Stdout(io::stdout()),
        };
        Ok(Writer(FormatSink::new(dest, format, true)?))
    }

    /// Completes the output: Parquet footer, flush, and the rename into place. Returns the
    /// final path for files.
    pub fn close(self) -> Result<Option<PathBuf>, SinkError> {
        self.close_with(&[])
    }

    /// Like [`Writer::close`], with key-value metadata in a Parquet output.
    pub fn close_with(self, metadata: &[(String, String)]) -> Result<Option<PathBuf>, SinkError> {
        match self.0.into_inner_with(metadata)? {
            Dest::File(f) => Ok(Some(f.commit()?)),
            Dest::Stdout(mut s) => {
                s.flush()?;
                Ok(None)
            }
        }
    }

    /// The temporary path of a file output (what is left if the run fails).
    pub fn partial_path(&self) -> Option<PathBuf> {
        match self.0.get_ref() {
            Dest::File(f) => Some(f.partial_path().to_owned()),
            Dest::Stdout(_) => None,
        }
    }
}

impl Sink for Writer {
    fn row(&mut self, row: &Row) -> Result<(), SinkError> {
        self.0.row(row)
    }
    fn finish(&mut self) -> Result<(), SinkError> {
        self.0.finish()
    }
}
