//! Reading scan outputs back (CSV, Parquet, JSON lines): for `ptraudit report`, merging
//! shards, and for tests that compare formats.
//!
//! This room holds the common API — [`Format`], [`ReadError`], [`for_each_row`],
//! [`read_rows`] — and the one mapping of a row's text cells back to a [`Row`]. Each
//! format's reader has its own room: `csv`, `jsonl`, `parquet` (footer checks, row
//! groups, the decoder's guard) with `parquet_cells` (columns of whatever compatible
//! type another writer chose, read as text cells), and `facts` (the report's column by
//! column fast path over ptraudit's own Parquet parts).

mod csv;
mod facts;
mod jsonl;
mod parquet;
mod parquet_cells;

use std::fs::File;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use ptraudit_scan::Row;

use self::csv::read_csv;
pub(crate) use self::facts::for_each_facts;
use self::jsonl::read_jsonl;
pub use self::parquet::parquet_metadata;
use self::parquet::read_parquet;
use crate::text::parse_rfc3339;

/// The output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated values with a header.
    Csv,
    /// Apache Parquet.
    Parquet,
    /// One JSON object per line.
    Jsonl,
}

impl Format {
    /// From a file name's extension: `.csv`, `.parquet`, `.jsonl` / `.ndjson`.
    pub fn from_path(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "parquet" | "pq" => Some(Format::Parquet),
            "jsonl" | "ndjson" => Some(Format::Jsonl),
            _ => None,
        }
    }

    /// The `--format` name: `csv`, `parquet` or `jsonl`.
    pub fn name(&self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Parquet => "parquet",
            Format::Jsonl => "jsonl",
        }
    }

    /// From a `--format` value.
    pub fn from_name(name: &str) -> Option<Format> {
        match name {
            "csv" => Some(Format::Csv),
            "parquet" => Some(Format::Parquet),
            "jsonl" | "ndjson" => Some(Format::Jsonl),
            _ => None,
        }
    }
}

/// Errors reading a scan output. Each names the file (and line or row).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// I/O.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Not a format we know.
    #[error("{0}: unknown format (expected .csv, .parquet, .jsonl or .ndjson)")]
    UnknownFormat(PathBuf),
    /// Bad content.
    #[error("{path}: {at}: {message}")]
    Bad {
        /// The file.
        path: PathBuf,
        /// Where (line or row).
        at: String,
        /// What.
        message: String,
    },
}

fn bad(path: &Path, at: impl Into<String>, message: impl Into<String>) -> ReadError {
    ReadError::Bad {
        path: path.to_owned(),
        at: at.into(),
        message: message.into(),
    }
}

/// The fields of one row as text, in [`COLUMNS`](ptraudit_scan::COLUMNS) order (lists
/// `;`-joined, absent = "").
type Cells = [String; 17];

/// Columns every file has; those after them (`dnsbl`, `dnsbl_listed`) were added later,
/// and files written before them read as "no list checked".
const REQUIRED: usize = 15;

fn row_from_cells(c: &Cells) -> Result<Row, String> {
    let list = |s: &str| -> Vec<String> {
        s.split(';')
            .filter(|x| !x.is_empty())
            .map(str::to_string)
            .collect()
    };
    let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
    Ok(Row {
        ip: c[0].parse().map_err(|_| format!("bad ip {:?}", c[0]))?,
        prefix: c[1].parse().map_err(|e| format!("bad prefix: {e}"))?,
        ptr_status: c[2].parse().map_err(|e| format!("bad ptr_status: {e}"))?,
        ptr: opt(&c[3]),
        ptr_all: list(&c[4]),
        cname_chain: list(&c[5]),
        forward_addrs: list(&c[6])
            .iter()
            .map(|a| {
                a.parse::<IpAddr>()
                    .map_err(|_| format!("bad forward address {a:?}"))
            })
            .collect::<Result<_, _>>()?,
        fcrdns: c[7].parse().map_err(|e| format!("{e}"))?,
        fcrdns_reason: match c[8].as_str() {
            "" => None,
            s => Some(s.parse().map_err(|e| format!("{e}"))?),
        },
        generic: match c[9].as_str() {
            "" => None,
            "true" => Some(true),
            "false" => Some(false),
            other => return Err(format!("bad generic {other:?}")),
        },
        generic_reasons: list(&c[10]).into_iter().map(Into::into).collect(),
        resolver: match c[11].as_str() {
            "" => None,
            s => Some(
                s.parse::<SocketAddr>()
                    .map_err(|_| format!("bad resolver {s:?}"))?,
            ),
        },
        attempts: c[12]
            .parse()
            .map_err(|_| format!("bad attempts {:?}", c[12]))?,
        rtt_ms: match c[13].as_str() {
            "" => None,
            s => Some(s.parse().map_err(|_| format!("bad rtt_ms {s:?}"))?),
        },
        scanned_at: parse_rfc3339(&c[14]).ok_or_else(|| format!("bad scanned_at {:?}", c[14]))?,
        dnsbl: list(&c[15])
            .iter()
            .map(|l| l.parse().map_err(|e| format!("{e}")))
            .collect::<Result<_, _>>()?,
        dnsbl_listed: match c[16].as_str() {
            "" => None,
            "true" => Some(true),
            "false" => Some(false),
            other => return Err(format!("bad dnsbl_listed {other:?}")),
        },
    })
}

/// Calls `each` for every row of `path`, whatever its format.
pub fn for_each_row(path: &Path, each: impl FnMut(Row)) -> Result<(), ReadError> {
    let format =
        Format::from_path(path).ok_or_else(|| ReadError::UnknownFormat(path.to_owned()))?;
    for_each_row_as(path, format, each)
}

/// Like [`for_each_row`], with the format given (for files whose name does not say it,
/// such as `.partial` journals).
pub(crate) fn for_each_row_as(
    path: &Path,
    format: Format,
    mut each: impl FnMut(Row),
) -> Result<(), ReadError> {
    let io = |source| ReadError::Io {
        path: path.to_owned(),
        source,
    };
    let file = File::open(path).map_err(io)?;
    match format {
        Format::Csv => read_csv(path, file, &mut each)?,
        Format::Jsonl => read_jsonl(path, file, &mut each)?,
        Format::Parquet => read_parquet(path, file, &mut each)?,
    }
    Ok(())
}

/// Every row of `path`.
pub fn read_rows(path: &Path) -> Result<Vec<Row>, ReadError> {
    let mut rows = Vec::new();
    for_each_row(path, |r| rows.push(r))?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::reference::row;
    use crate::writer::FormatSink;
    use ptraudit_scan::{FcrdnsReason, Sink, Status};

    /// Every format written by its writer and read back gives the rows written: the
    /// readers and writers agree on every column and value kind.
    #[test]
    fn every_format_reads_back_what_its_writer_wrote() {
        let mut rows = vec![
            row("198.18.0.7", true, 1_790_000_000_123),
            row("2001:db8::15", false, 7),
        ];
        // Values of every typed column that the reference rows do not hold.
        let mut odd = row("198.18.0.8", true, 1_790_000_000_124);
        odd.ptr_status = Status::Rcode(4);
        odd.fcrdns = ptraudit_scan::Fcrdns::TempError;
        odd.fcrdns_reason = Some(FcrdnsReason::ForwardNotimp);
        odd.generic = Some(true);
        odd.rtt_ms = None;
        odd.resolver = None;
        rows.push(odd);
        let dir = std::env::temp_dir().join(format!("ptraudit-read-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for format in [Format::Csv, Format::Jsonl, Format::Parquet] {
            let path = dir.join(format!("rows.{}", format.name()));
            let file = std::fs::File::create(&path).unwrap();
            let mut sink = FormatSink::new(file, format, true).unwrap();
            for r in &rows {
                sink.row(r).unwrap();
            }
            sink.into_inner_with(&[]).unwrap();
            assert_eq!(read_rows(&path).unwrap(), rows, "{}", format.name());
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
