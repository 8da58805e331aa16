//! CSV rows.

use std::io::Write;
use std::time::{Duration, Instant};

use ptraudit_scan::{COLUMNS, Row, Sink, SinkError};

use crate::text::{TextCells, csv_guard, needs_csv_guard};

/// Writes rows as CSV with the [`COLUMNS`] header; lists joined with `;`, empty cells for
/// absent values, `generic` as `true`/`false`.
///
/// A cell a spreadsheet would run as a formula (it starts with `=`, `+`, `-`, `@`, tab or
/// carriage return: a PTR name is whatever the zone's owner wrote) is written with a
/// leading `'`, as is a cell that starts with `'`; the reader removes it
/// ([`read_rows`](crate::read_rows)), so rows round-trip exactly.
///
/// The quoting is the csv crate's (fields quoted only when they must be). A row none of
/// whose cells holds a delimiter, quote or line break — nearly every row: names come
/// escaped — reads the same quoted or not, so it is written as is; the others go through
/// the csv writer. A test holds the bytes equal to the csv crate's for both kinds.
#[derive(Debug)]
pub struct CsvSink<W: Write> {
    out: W,
    /// Rows not yet handed to `out`.
    buf: Vec<u8>,
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
        let mut sink = Self::without_header(out);
        sink.write_quoted(COLUMNS)?;
        Ok(sink)
    }

    /// Appends rows to `out` without a header (continuing a CSV file).
    pub fn without_header(out: W) -> Self {
        CsvSink {
            out,
            buf: Vec::with_capacity(1 << 16),
            cells: TextCells::default(),
            since_flush: 0,
            last_flush: Instant::now(),
        }
    }

    /// The inner writer.
    pub fn get_ref(&self) -> &W {
        &self.out
    }

    /// Flushes and returns the inner writer.
    pub fn into_inner(mut self) -> Result<W, SinkError> {
        self.flush()?;
        Ok(self.out)
    }

    /// Writes a record through the csv crate's writer (which quotes what needs it) into
    /// the row buffer.
    fn write_quoted<I, T>(&mut self, record: I) -> Result<(), csv::Error>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        let mut quoter = csv::WriterBuilder::new().from_writer(std::mem::take(&mut self.buf));
        quoter.write_record(record)?;
        self.buf = quoter
            .into_inner()
            .map_err(|e| csv::Error::from(e.into_error()))?;
        Ok(())
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        self.out.flush()?;
        Ok(())
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

/// Whether the csv crate would quote this cell: it holds the delimiter, the quote or a
/// line break.
fn needs_quotes(cell: &str) -> bool {
    cell.bytes()
        .any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n'))
}

impl<W: Write> Sink for CsvSink<W> {
    fn row(&mut self, r: &Row) -> Result<(), SinkError> {
        self.cells.render(r);
        if self.cells.cells().any(needs_quotes) {
            let cells = std::mem::take(&mut self.cells);
            let written = self.write_quoted(cells.cells().map(|c| csv_guard(c).into_owned()));
            self.cells = cells;
            written.map_err(sink_error)?;
        } else {
            for (i, cell) in self.cells.cells().enumerate() {
                if i > 0 {
                    self.buf.push(b',');
                }
                if needs_csv_guard(cell) {
                    self.buf.push(b'\'');
                }
                self.buf.extend_from_slice(cell.as_bytes());
            }
            self.buf.push(b'\n');
        }
        self.since_flush += 1;
        if self.since_flush >= FLUSH_ROWS || self.last_flush.elapsed() >= FLUSH_EVERY {
            self.flush()?;
            self.since_flush = 0;
            self.last_flush = Instant::now();
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), SinkError> {
        self.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ptraudit_scan::{Fcrdns, FcrdnsReason, PrefixLens, Status};
    use std::time::UNIX_EPOCH;

    fn row(i: u32, ptr_all: &[&str], reason: Option<FcrdnsReason>) -> Row {
        let ip = std::net::Ipv4Addr::from(0xc612_0000 + i).into();
        Row {
            ip,
            prefix: PrefixLens::DEFAULT.of(ip),
            ptr_status: Status::Answer,
            ptr: ptr_all.first().map(|s| s.to_string()),
            ptr_all: ptr_all.iter().map(|s| s.to_string()).collect(),
            cname_chain: vec![],
            forward_addrs: vec![std::net::Ipv4Addr::from(0xc612_0000 + i).into()],
            fcrdns: Fcrdns::Fail,
            fcrdns_reason: reason,
            generic: Some(i.is_multiple_of(2)),
            generic_reasons: vec!["keyword:dyn".into()],
            resolver: Some("127.0.0.1:53".parse().unwrap()),
            attempts: i,
            rtt_ms: i.is_multiple_of(3).then_some(u64::from(i)),
            scanned_at: UNIX_EPOCH + Duration::from_millis(1_790_000_000_000 + u64::from(i)),
            dnsbl: if i.is_multiple_of(4) {
                vec!["spamhaus-zen=127.0.0.10".parse().unwrap()]
            } else {
                vec![]
            },
            dnsbl_listed: (i % 3 != 1).then_some(i.is_multiple_of(4)),
        }
    }

    #[test]
    fn bytes_equal_the_csv_crates_with_and_without_quotes() {
        let rows = [
            row(1, &["a.test"], None),
            row(
                2,
                &["b,c.test", "d.test"],
                Some(FcrdnsReason::ForwardMismatch),
            ),
            row(3, &[], Some(FcrdnsReason::PtrNxdomain)),
            row(4, &["q\"uote.test"], None),
            row(5, &["line\nbreak.test", "cr\rtest"], None),
            row(6, &["plain.test"], Some(FcrdnsReason::PtrTargetCname)),
            row(7, &["=cmd|' /c calc'!a0.test"], None),
            row(8, &["-2+3.test,x"], None),
        ];
        let mut sink = CsvSink::new(Vec::new()).unwrap();
        for r in &rows {
            sink.row(r).unwrap();
        }
        sink.finish().unwrap();
        let ours = sink.into_inner().unwrap();

        let mut reference = csv::Writer::from_writer(Vec::new());
        reference.write_record(COLUMNS).unwrap();
        let mut cells = TextCells::default();
        for r in &rows {
            cells.render(r);
            reference
                .write_record(
                    cells
                        .cells()
                        .map(|c| crate::text::csv_guard(c).into_owned()),
                )
                .unwrap();
        }
        let reference = reference.into_inner().unwrap();
        assert_eq!(
            String::from_utf8(ours).unwrap(),
            String::from_utf8(reference).unwrap()
        );
    }

    /// Names a spreadsheet would run as formulas are written with a leading `'`, with
    /// and without quotes, and read back exactly as they were.
    #[test]
    fn formula_cells_are_guarded_and_read_back_exactly() {
        let names = [
            "=HYPERLINK(\"http://x.test\").test",
            "+1.test",
            "-rf.test",
            "@sum.test",
            "'quoted.test",
            "''.test",
            "'=x.test",
            "\tab.test",
            "\rcr.test",
            "=a,b.test",
            "plain.test",
        ];
        let rows: Vec<Row> = names
            .iter()
            .enumerate()
            .map(|(i, n)| row(i as u32, &[n, "=second.test"], None))
            .collect();
        let mut sink = CsvSink::new(Vec::new()).unwrap();
        for r in &rows {
            sink.row(r).unwrap();
        }
        let bytes = sink.into_inner().unwrap();
        let mut reader = csv::Reader::from_reader(&bytes[..]);
        let ptr = COLUMNS.iter().position(|c| *c == "ptr").unwrap();
        for (rec, name) in reader.records().zip(names) {
            let cell = rec.unwrap()[ptr].to_string();
            if name == "plain.test" {
                assert_eq!(cell, name);
            } else {
                assert_eq!(
                    cell,
                    format!("'{name}"),
                    "a spreadsheet sees the cell as text"
                );
            }
        }
        let dir = std::env::temp_dir().join(format!("ptraudit-guard-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("guarded.csv");
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(crate::read_rows(&path).unwrap(), rows);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
