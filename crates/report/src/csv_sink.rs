//! CSV rows.

use std::io::Write;
use std::time::{Duration, Instant};

use ptraudit_scan::{COLUMNS, Row, Sink, SinkError};

use crate::text::TextCells;

/// Writes rows as CSV with the [`COLUMNS`] header; lists joined with `;`, empty cells for
/// absent values, `generic` as `true`/`false`.
#[derive(Debug)]
pub struct CsvSink<W: Write> {
    writer: csv::Writer<W>,
    cells: TextCells,
    since_flush: usize,
    last_flush: Instant,
}

/// Rows are flushed every this many rows or this often, whichever comes first: a person
/// tailing the file sees progress, and an interrupted run loses little.
const FLUSH_ROWS: usize = 1000;
const FLUSH_EVERY: Duration = Duration::from_secs(1);

impl<W: Write> CsvSink<W> {
    /// Writes the header to `out`.
    pub fn new(out: W) -> Result<Self, csv::Error> {
        let mut writer = csv::WriterBuilder::new().from_writer(out);
        writer.write_record(COLUMNS)?;
        Ok(CsvSink {
            writer,
            cells: TextCells::default(),
            since_flush: 0,
            last_flush: Instant::now(),
        })
    }

    /// Appends rows to `out` without a header (continuing a CSV file).
    pub fn without_header(out: W) -> Self {
        CsvSink {
            writer: csv::WriterBuilder::new().from_writer(out),
            cells: TextCells::default(),
            since_flush: 0,
            last_flush: Instant::now(),
        }
    }

    /// The inner writer.
    pub fn get_ref(&self) -> &W {
        self.writer.get_ref()
    }

    /// Flushes and returns the inner writer.
    pub fn into_inner(self) -> Result<W, SinkError> {
        self.writer
            .into_inner()
            .map_err(|e| Box::new(e.into_error()) as SinkError)
    }
}

/// I/O errors come out as `std::io::Error`, so callers can tell a closed pipe (`| head`)
/// from a real failure.
fn sink_error(e: csv::Error) -> SinkError {
    if !e.is_io_error() {
        return Box::new(e);
    }
    match e.into_kind() {
        csv::ErrorKind::Io(io) => Box::new(io),
        // is_io_error() said Io; keep a readable error rather than panic.
        other => Box::new(std::io::Error::other(format!("{other:?}"))),
    }
}

impl<W: Write> Sink for CsvSink<W> {
    fn row(&mut self, r: &Row) -> Result<(), SinkError> {
        self.cells.render(r);
        self.writer
            .write_record(self.cells.cells())
            .map_err(sink_error)?;
        self.since_flush += 1;
        if self.since_flush >= FLUSH_ROWS || self.last_flush.elapsed() >= FLUSH_EVERY {
            self.writer.flush().map_err(|e| Box::new(e) as SinkError)?;
            self.since_flush = 0;
            self.last_flush = Instant::now();
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), SinkError> {
        self.writer.flush()?;
        Ok(())
    }
}
