//! Reading scan outputs back (CSV, Parquet, JSON lines): for `ptraudit report`, merging
//! shards, and for tests that compare formats.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use std::fmt::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Int8Type, Int16Type, Int32Type, Int64Type, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use ptraudit_scan::dnsbl::Listing;
use ptraudit_scan::{COLUMNS, Fcrdns, Row};

use crate::counts::Facts;

use crate::text::{csv_unguard, parse_rfc3339, rfc3339};
use serde_json::Value;

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

/// The longest JSON line read (a row with hundreds of 255-byte names is ~100 KiB).
const MAX_LINE: usize = 4 << 20;

/// The fields of one row as text, in [`COLUMNS`] order (lists `;`-joined, absent = "").
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
        Format::Csv => {
            let mut r = csv::Reader::from_reader(BufReader::new(file));
            let headers = r
                .headers()
                .map_err(|e| bad(path, "header", e.to_string()))?
                .clone();
            let names: Vec<&str> = headers.iter().collect();
            if names != COLUMNS && names != COLUMNS[..REQUIRED] {
                return Err(bad(
                    path,
                    "header",
                    format!("expected the columns {}", COLUMNS.join(",")),
                ));
            }
            for (i, rec) in r.records().enumerate() {
                let rec = rec.map_err(|e| bad(path, format!("line {}", i + 2), e.to_string()))?;
                // The formula guard of the writer removed (see `CsvSink`).
                let cells: Cells =
                    std::array::from_fn(|k| csv_unguard(rec.get(k).unwrap_or("")).to_string());
                each(row_from_cells(&cells).map_err(|m| bad(path, format!("line {}", i + 2), m))?);
            }
        }
        Format::Jsonl => {
            let mut input = BufReader::new(file);
            let mut bytes = Vec::new();
            for i in 0.. {
                let at = || format!("line {}", i + 1);
                bytes.clear();
                // At most MAX_LINE bytes: a file with a 10 GB line is an error, not an
                // allocation of 10 GB.
                let n = (&mut input)
                    .take(MAX_LINE as u64 + 1)
                    .read_until(b'\n', &mut bytes)
                    .map_err(io)?;
                if n == 0 {
                    break;
                }
                if bytes.len() > MAX_LINE && bytes.last() != Some(&b'\n') {
                    return Err(bad(
                        path,
                        at(),
                        format!("line longer than {MAX_LINE} bytes"),
                    ));
                }
                let line =
                    std::str::from_utf8(&bytes).map_err(|_| bad(path, at(), "not UTF-8 text"))?;
                if line.trim().is_empty() {
                    continue;
                }
                let map = crate::jsonl::parse_line(line).map_err(|m| bad(path, at(), m))?;
                let cell = |k: &str| -> String {
                    match map.get(k) {
                        None | Some(Value::Null) => String::new(),
                        Some(Value::String(s)) => s.clone(),
                        Some(Value::Array(a)) => a
                            .iter()
                            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                            .collect::<Vec<_>>()
                            .join(";"),
                        Some(v) => v.to_string(),
                    }
                };
                let cells: Cells = std::array::from_fn(|k| cell(COLUMNS[k]));
                each(row_from_cells(&cells).map_err(|m| bad(path, at(), m))?);
            }
        }
        Format::Parquet => read_parquet(path, file, &mut each)?,
    }
    Ok(())
}

/// The key-value metadata of a Parquet file (a scan part's `ptraudit.*` dataset
/// metadata), in file order.
pub fn parquet_metadata(path: &Path) -> Result<Vec<(String, String)>, ReadError> {
    let file = File::open(path).map_err(|source| ReadError::Io {
        path: path.to_owned(),
        source,
    })?;
    let meta = open_parquet(path, &file)?;
    Ok(meta
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .map(|kv| {
            kv.iter()
                .map(|e| (e.key.clone(), e.value.clone().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default())
}

/// Every row of `path`.
pub fn read_rows(path: &Path) -> Result<Vec<Row>, ReadError> {
    let mut rows = Vec::new();
    for_each_row(path, |r| rows.push(r))?;
    Ok(rows)
}

/// Reads a Parquet file row group by row group, so that every error names the row group.
///
/// Any Parquet file whose columns hold ptraudit's values is read, whoever wrote it:
/// DuckDB, pandas or Spark rewrite our files with other physical types (microsecond or
/// nanosecond timestamps, large or view strings, large lists, signed integers,
/// dictionary-encoded strings). A column of a type that cannot hold its values, a
/// missing column or an undecodable page is an error naming the file, the row group and
/// the column — never a panic: the decoder runs under `catch_unwind` as a last line of
/// defence against a panic inside the parquet crate on corrupt pages.
fn read_parquet(path: &Path, file: File, each: &mut impl FnMut(Row)) -> Result<(), ReadError> {
    let meta = open_parquet(path, &file)?;
    let schema = meta.schema().clone();
    // Every column present and of a type we read, before any row is read.
    let mut columns = Vec::with_capacity(COLUMNS.len());
    for (i, name) in COLUMNS.into_iter().enumerate() {
        let Some((k, field)) = schema.column_with_name(name) else {
            if i >= REQUIRED {
                columns.push(None);
                continue;
            }
            return Err(bad(path, "schema", format!("no column {name}")));
        };
        check_type(field.data_type(), false).map_err(|m| bad(path, format!("column {name}"), m))?;
        columns.push(Some(k));
    }
    for_each_batch(path, &file, &meta, None, |batch, at, first| {
        // The cells are read under the guard too: arrays decoded from a corrupt file are
        // not all validated, and a bad offset would panic in `value(i)`.
        let rows = guarded(|| -> Result<Vec<Row>, ReadError> {
            let readers = columns
                .iter()
                .zip(COLUMNS)
                .map(|(&k, name)| match k {
                    Some(k) => cell_reader(batch.column(k).as_ref(), false)
                        .map(Some)
                        .map_err(|m| bad(path, format!("{}, column {name}", at(None)), m)),
                    None => Ok(None),
                })
                .collect::<Result<Vec<_>, _>>()?;
            (0..batch.num_rows())
                .map(|i| {
                    row_from_cells(&batch_cells(batch, &columns, &readers, i)).map_err(|m| {
                        bad(
                            path,
                            format!("{} (row {} of the file)", at(Some(i)), first + i),
                            m,
                        )
                    })
                })
                .collect()
        })
        .map_err(|m| bad(path, at(Some(0)), m))??;
        rows.into_iter().for_each(&mut *each);
        Ok(())
    })
}

/// Where in a file: `row group G` or `row group G, row R`.
type At<'a> = &'a dyn Fn(Option<usize>) -> String;

/// Calls `each(batch, at, first)` for every record batch of `path`, row group by row
/// group so that every error names the row group; `at(Some(i))` names row `i` of the
/// batch, `first` is the batch's first row in the file. The decoder runs under the
/// guard. `mask`: the columns to decode (all when `None`).
fn for_each_batch(
    path: &Path,
    file: &File,
    meta: &ArrowReaderMetadata,
    mask: Option<(ProjectionMask, usize)>,
    mut each: impl FnMut(&RecordBatch, At<'_>, usize) -> Result<(), ReadError>,
) -> Result<(), ReadError> {
    let mut first_row = 0usize;
    for g in 0..meta.metadata().num_row_groups() {
        let input = file.try_clone().map_err(|source| ReadError::Io {
            path: path.to_owned(),
            source,
        })?;
        let group = |row: Option<usize>| match row {
            Some(r) => format!("row group {g}, row {r}"),
            None => format!("row group {g}"),
        };
        let mut builder = ParquetRecordBatchReaderBuilder::new_with_metadata(input, meta.clone())
            .with_row_groups(vec![g]);
        if let Some((mask, batch_size)) = &mask {
            builder = builder
                .with_projection(mask.clone())
                .with_batch_size(*batch_size);
        }
        let mut reader = builder
            .build()
            .map_err(|e| bad(path, group(None), e.to_string()))?;
        let mut row = 0usize;
        loop {
            let batch = match guarded(|| reader.next()).map_err(|m| bad(path, group(None), m))? {
                None => break,
                Some(b) => b.map_err(|e| bad(path, group(Some(row)), e.to_string()))?,
            };
            let at = |i: Option<usize>| group(i.map(|i| row + i));
            each(&batch, &at, first_row + row)?;
            row += batch.num_rows();
        }
        first_row += row;
    }
    Ok(())
}

/// The footer of a Parquet file, checked: every column chunk inside the file.
fn open_parquet(path: &Path, file: &File) -> Result<ArrowReaderMetadata, ReadError> {
    let meta = guarded(|| ArrowReaderMetadata::load(file, ArrowReaderOptions::default()))
        .and_then(|r| r.map_err(|e| e.to_string()))
        .map_err(|m| bad(path, "footer", format!("not a readable Parquet file: {m}")))?;
    // Validate before use: the parquet crate asserts that each column chunk's start and
    // length are not negative (a panic), and reads whatever range the footer claims.
    let file_len = file
        .metadata()
        .map_err(|source| ReadError::Io {
            path: path.to_owned(),
            source,
        })?
        .len();
    for (g, rg) in meta.metadata().row_groups().iter().enumerate() {
        for c in rg.columns() {
            let start = c.dictionary_page_offset().unwrap_or(c.data_page_offset());
            let len = c.compressed_size();
            let fits = u64::try_from(start)
                .ok()
                .zip(u64::try_from(len).ok())
                .and_then(|(s, l)| s.checked_add(l))
                .is_some_and(|end| end <= file_len);
            if !fits {
                return Err(bad(
                    path,
                    format!("row group {g}, column {}", c.column_path()),
                    format!("the footer puts the column chunk at {start}+{len}, outside the file"),
                ));
            }
        }
    }
    Ok(meta)
}

/// The columns a report reads, with ptraudit's own types: the fast path takes these
/// straight from the Arrow arrays (`None` = the column may be missing).
const FACT_COLUMNS: [(&str, bool); 8] = [
    ("ip", true),
    ("ptr", true),
    ("ptr_all", true),
    ("fcrdns", true),
    ("fcrdns_reason", true),
    ("generic", true),
    ("dnsbl", false),
    ("dnsbl_listed", false),
];

/// Rows read per Arrow batch by the fast path.
const FACT_BATCH_ROWS: usize = 8192;

/// Calls `each` with the [`Facts`] of every row of `path`. Parquet parts whose columns
/// have ptraudit's own types (as [`ParquetSink`](crate::ParquetSink) writes them) are
/// read column by column — only the eight columns a report needs, no text rendered and
/// parsed back, no [`Row`] built; any other file goes through [`for_each_row`], with the
/// same result.
pub(crate) fn for_each_facts(
    path: &Path,
    mut each: impl FnMut(&Facts<'_>),
) -> Result<(), ReadError> {
    let format =
        Format::from_path(path).ok_or_else(|| ReadError::UnknownFormat(path.to_owned()))?;
    if format == Format::Parquet {
        let file = File::open(path).map_err(|source| ReadError::Io {
            path: path.to_owned(),
            source,
        })?;
        let meta = open_parquet(path, &file)?;
        if let Some(roots) = native_columns(meta.schema()) {
            return facts_parquet(path, file, meta, &roots, &mut each);
        }
    }
    for_each_row_as(path, format, |r| each(&Facts::of(&r)))
}

/// The root indices of [`FACT_COLUMNS`] when each has ptraudit's own type.
fn native_columns(schema: &arrow_schema::Schema) -> Option<Vec<usize>> {
    let mut roots = Vec::new();
    for (name, required) in FACT_COLUMNS {
        let Some((k, f)) = schema.column_with_name(name) else {
            if required {
                return None;
            }
            continue;
        };
        let ok = match name {
            "generic" | "dnsbl_listed" => f.data_type() == &DataType::Boolean,
            "ptr_all" | "dnsbl" => {
                matches!(f.data_type(), DataType::List(item) if item.data_type() == &DataType::Utf8)
            }
            _ => f.data_type() == &DataType::Utf8,
        };
        if !ok {
            return None;
        }
        roots.push(k);
    }
    Some(roots)
}

fn facts_parquet(
    path: &Path,
    file: File,
    meta: ArrowReaderMetadata,
    roots: &[usize],
    each: &mut impl FnMut(&Facts<'_>),
) -> Result<(), ReadError> {
    let mask = ProjectionMask::roots(
        meta.metadata().file_metadata().schema_descr(),
        roots.iter().copied(),
    );
    let mut dnsbl: Vec<Listing> = Vec::new();
    for_each_batch(
        path,
        &file,
        &meta,
        Some((mask, FACT_BATCH_ROWS)),
        |batch, at, first| {
            // Under the guard, as in `read_parquet`: arrays from a corrupt file.
            guarded(|| facts_batch(batch, &mut dnsbl, &mut *each))
                .map_err(|m| bad(path, at(Some(0)), m))?
                .map_err(|(i, m)| {
                    bad(
                        path,
                        format!("{} (row {} of the file)", at(Some(i)), first + i),
                        m,
                    )
                })
        },
    )
}

/// The facts of every row of one batch of [`FACT_COLUMNS`]; an error names the row in
/// the batch.
fn facts_batch(
    batch: &RecordBatch,
    dnsbl: &mut Vec<Listing>,
    each: &mut impl FnMut(&Facts<'_>),
) -> Result<(), (usize, String)> {
    let column = |name: &str| {
        batch
            .schema()
            .index_of(name)
            .ok()
            .map(|k| batch.column(k).clone())
    };
    let mismatch = |name: &str| (0, format!("column {name}: data does not match its type"));
    let text = |name: &'static str| -> Result<arrow_array::StringArray, (usize, String)> {
        column(name)
            .and_then(|a| a.as_string_opt::<i32>().cloned())
            .ok_or_else(|| mismatch(name))
    };
    let list = |name: &'static str| -> Result<Option<arrow_array::ListArray>, (usize, String)> {
        match column(name) {
            None => Ok(None),
            Some(a) => a
                .as_list_opt::<i32>()
                .cloned()
                .map(Some)
                .ok_or_else(|| mismatch(name)),
        }
    };
    let boolean =
        |name: &'static str| -> Result<Option<arrow_array::BooleanArray>, (usize, String)> {
            match column(name) {
                None => Ok(None),
                Some(a) => a
                    .as_boolean_opt()
                    .cloned()
                    .map(Some)
                    .ok_or_else(|| mismatch(name)),
            }
        };
    let ip = text("ip")?;
    let ptr = text("ptr")?;
    let fcrdns = text("fcrdns")?;
    let reason = text("fcrdns_reason")?;
    let ptr_all = list("ptr_all")?.ok_or_else(|| mismatch("ptr_all"))?;
    let generic = boolean("generic")?.ok_or_else(|| mismatch("generic"))?;
    let listings = list("dnsbl")?;
    let listed = boolean("dnsbl_listed")?;
    let ptr_names = ptr_all
        .values()
        .as_string_opt::<i32>()
        .ok_or_else(|| mismatch("ptr_all"))?;
    let listing_names = match &listings {
        Some(l) => Some(
            l.values()
                .as_string_opt::<i32>()
                .ok_or_else(|| mismatch("dnsbl"))?,
        ),
        None => None,
    };
    fn opt(a: &arrow_array::StringArray, i: usize) -> Option<&str> {
        if a.is_null(i) {
            return None;
        }
        Some(a.value(i)).filter(|s| !s.is_empty())
    }
    let flag = |a: &arrow_array::BooleanArray, i: usize| (!a.is_null(i)).then(|| a.value(i));
    for i in 0..batch.num_rows() {
        let ip_text = opt(&ip, i).unwrap_or("");
        let addr: IpAddr = ip_text
            .parse()
            .map_err(|_| (i, format!("bad ip {ip_text:?}")))?;
        let verdict = opt(&fcrdns, i).unwrap_or("");
        let fcrdns = match verdict {
            "pass" => Fcrdns::Pass,
            "fail" => Fcrdns::Fail,
            "no-ptr" => Fcrdns::NoPtr,
            "temperror" => Fcrdns::TempError,
            other => other.parse::<Fcrdns>().map_err(|e| (i, e.to_string()))?,
        };
        let reason = match opt(&reason, i) {
            None => None,
            Some(s) => Some(s.parse().map_err(|e| (i, format!("{e}")))?),
        };
        let has_ptr = !ptr_all.is_null(i) && {
            let o = ptr_all.value_offsets();
            let (start, end) = (o[i] as usize, (o[i + 1] as usize).min(ptr_names.len()));
            (start..end).any(|j| !ptr_names.is_null(j) && !ptr_names.value(j).is_empty())
        };
        dnsbl.clear();
        if let (Some(l), Some(names)) = (&listings, listing_names)
            && !l.is_null(i)
        {
            let o = l.value_offsets();
            let (start, end) = (o[i] as usize, (o[i + 1] as usize).min(names.len()));
            for j in start..end {
                if names.is_null(j) {
                    continue;
                }
                // As the text path: items `;`-joined and split again.
                for item in names.value(j).split(';').filter(|x| !x.is_empty()) {
                    dnsbl.push(item.parse().map_err(|e| (i, format!("{e}")))?);
                }
            }
        }
        each(&Facts {
            ip: addr,
            ptr: opt(&ptr, i),
            has_ptr,
            fcrdns,
            reason,
            generic: flag(&generic, i),
            dnsbl,
            dnsbl_listed: listed.as_ref().and_then(|a| flag(a, i)),
        });
    }
    Ok(())
}

/// Runs `f`, turning a panic into an error message.
fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|p| {
        let what = p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown cause".into());
        format!("the Parquet decoder failed: {what}")
    })
}

/// Whether a column of type `t` can hold ptraudit's values: text, integers, booleans,
/// timestamps (any unit), dictionary-encoded text, or (not nested) lists of text.
fn check_type(t: &DataType, in_list: bool) -> Result<(), String> {
    match t {
        DataType::Null
        | DataType::Utf8
        | DataType::LargeUtf8
        | DataType::Utf8View
        | DataType::Boolean
        | DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64
        | DataType::Timestamp(_, _) => Ok(()),
        DataType::Dictionary(_, v) => check_type(v, in_list),
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) if !in_list => {
            check_type(f.data_type(), true)
        }
        other => Err(format!(
            "type {other} cannot hold ptraudit's values (expected text, an integer, a \
             boolean, a timestamp or a list of text)"
        )),
    }
}

/// Writes the value at a row index into a string (the caller has checked it is not null).
type CellFn<'a> = Box<dyn Fn(usize, &mut String) + 'a>;

/// A reader of one column's values as text, in the text formats' rendering. Downcasts
/// that do not match the type are errors, never panics.
fn cell_reader(a: &dyn Array, in_list: bool) -> Result<CellFn<'_>, String> {
    let t = a.data_type();
    let mismatch = || format!("column data does not match its declared type {t}");
    macro_rules! int {
        ($ty:ty) => {{
            let p = a.as_primitive_opt::<$ty>().ok_or_else(mismatch)?;
            Box::new(move |i: usize, out: &mut String| {
                let _ = write!(out, "{}", p.value(i));
            })
        }};
    }
    macro_rules! time {
        ($ty:ty, $to_ms:expr) => {{
            let p = a.as_primitive_opt::<$ty>().ok_or_else(mismatch)?;
            Box::new(move |i: usize, out: &mut String| {
                let ms: i64 = $to_ms(p.value(i));
                match u64::try_from(ms) {
                    Ok(ms) => out.push_str(&rfc3339(UNIX_EPOCH + Duration::from_millis(ms))),
                    // Not an RFC 3339 text: the row fails with the value in its message.
                    Err(_) => {
                        let _ = write!(out, "{ms} ms before 1970");
                    }
                }
            })
        }};
    }
    Ok(match t {
        DataType::Null => Box::new(|_, _| {}),
        DataType::Utf8 => {
            let s = a.as_string_opt::<i32>().ok_or_else(mismatch)?;
            Box::new(move |i, out| out.push_str(s.value(i)))
        }
        DataType::LargeUtf8 => {
            let s = a.as_string_opt::<i64>().ok_or_else(mismatch)?;
            Box::new(move |i, out| out.push_str(s.value(i)))
        }
        DataType::Utf8View => {
            let s = a.as_string_view_opt().ok_or_else(mismatch)?;
            Box::new(move |i, out| out.push_str(s.value(i)))
        }
        DataType::Boolean => {
            let b = a.as_boolean_opt().ok_or_else(mismatch)?;
            Box::new(move |i, out| out.push_str(if b.value(i) { "true" } else { "false" }))
        }
        DataType::Int8 => int!(Int8Type),
        DataType::Int16 => int!(Int16Type),
        DataType::Int32 => int!(Int32Type),
        DataType::Int64 => int!(Int64Type),
        DataType::UInt8 => int!(UInt8Type),
        DataType::UInt16 => int!(UInt16Type),
        DataType::UInt32 => int!(UInt32Type),
        DataType::UInt64 => int!(UInt64Type),
        DataType::Timestamp(TimeUnit::Second, _) => {
            time!(TimestampSecondType, |v: i64| v.saturating_mul(1000))
        }
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            time!(TimestampMillisecondType, |v: i64| v)
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            time!(TimestampMicrosecondType, |v: i64| v.div_euclid(1000))
        }
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            time!(TimestampNanosecondType, |v: i64| v.div_euclid(1_000_000))
        }
        DataType::Dictionary(_, _) => {
            let d = a.as_any_dictionary_opt().ok_or_else(mismatch)?;
            let keys = d.normalized_keys();
            let values = d.values().as_ref();
            let inner = cell_reader(values, in_list)?;
            Box::new(move |i, out| {
                if let Some(&k) = keys.get(i)
                    && k < values.len()
                    && !values.is_null(k)
                {
                    inner(k, out);
                }
            })
        }
        DataType::List(_) if !in_list => {
            let l = a.as_list_opt::<i32>().ok_or_else(mismatch)?;
            list_reader(l.values().as_ref(), move |i| {
                let o = l.value_offsets();
                (o[i] as usize, o[i + 1] as usize)
            })?
        }
        DataType::LargeList(_) if !in_list => {
            let l = a.as_list_opt::<i64>().ok_or_else(mismatch)?;
            list_reader(l.values().as_ref(), move |i| {
                let o = l.value_offsets();
                (o[i] as usize, o[i + 1] as usize)
            })?
        }
        DataType::FixedSizeList(_, _) if !in_list => {
            let l = a.as_fixed_size_list_opt().ok_or_else(mismatch)?;
            list_reader(l.values().as_ref(), move |i| {
                let start = l.value_offset_at(i);
                (start, start + l.value_length().max(0) as usize)
            })?
        }
        other => {
            return Err(format!(
                "type {other} cannot hold ptraudit's values (expected text, an integer, a \
                 boolean, a timestamp or a list of text)"
            ));
        }
    })
}

/// A list column as text: its non-null items `;`-joined.
fn list_reader<'a>(
    values: &'a dyn Array,
    range: impl Fn(usize) -> (usize, usize) + 'a,
) -> Result<CellFn<'a>, String> {
    let item = cell_reader(values, true)?;
    Ok(Box::new(move |i, out| {
        let (start, end) = range(i);
        let mut first = true;
        for j in start..end.min(values.len()) {
            if values.is_null(j) {
                continue;
            }
            if !first {
                out.push(';');
            }
            first = false;
            item(j, out);
        }
    }))
}

fn batch_cells(
    batch: &RecordBatch,
    columns: &[Option<usize>],
    readers: &[Option<CellFn<'_>>],
    i: usize,
) -> Cells {
    std::array::from_fn(|k| {
        let mut s = String::new();
        if let (Some(c), Some(read)) = (columns[k], &readers[k])
            && !batch.column(c).is_null(i)
        {
            read(i, &mut s);
        }
        s
    })
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

    /// The report's fast path (ptraudit's own Parquet types, only the report's columns,
    /// no rows built) gives the report of the rows read back one by one, and so does a
    /// file it leaves to the generic path (CSV).
    #[test]
    fn the_reports_fast_path_equals_the_rows() {
        use crate::hygiene::{GroupBy, Report};
        let mut rows = Vec::new();
        for i in 0..300u32 {
            let ip = std::net::Ipv4Addr::from(0xc612_0000 + i * 3);
            let mut r = row(&ip.to_string(), i % 5 != 0, u64::from(i));
            match i % 7 {
                0 => r.fcrdns = ptraudit_scan::Fcrdns::TempError,
                1 if r.ptr.is_some() => {
                    r.fcrdns = ptraudit_scan::Fcrdns::Fail;
                    r.fcrdns_reason = Some(FcrdnsReason::ForwardNodata);
                }
                2 => r.generic = r.ptr.as_ref().map(|_| true),
                3 => {
                    r.dnsbl = vec!["spamhaus-zen=127.0.0.4".parse().unwrap()];
                    r.dnsbl_listed = Some(true);
                }
                4 => r.dnsbl_listed = None,
                _ => {}
            }
            rows.push(r);
        }
        rows.push(row("2001:db8::15", true, 1));
        let dir = std::env::temp_dir().join(format!("ptraudit-fast-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for by in [
            GroupBy::Prefix(ptraudit_scan::PrefixLens::DEFAULT),
            GroupBy::Domain,
        ] {
            let mut want = Report::new(by);
            rows.iter().for_each(|r| want.add(r));
            let mut want_csv = Vec::new();
            want.write_csv(&mut want_csv).unwrap();
            for format in [Format::Parquet, Format::Csv] {
                let path = dir.join(format!("rows.{}", format.name()));
                let file = std::fs::File::create(&path).unwrap();
                let mut sink = FormatSink::new(file, format, true).unwrap();
                rows.iter().for_each(|r| sink.row(r).unwrap());
                sink.into_inner_with(&[]).unwrap();
                let mut got = Report::new(by);
                got.add_file(&path).unwrap();
                got.add_file(&path).unwrap();
                assert_eq!(got.duplicates(), rows.len() as u64);
                let mut got_csv = Vec::new();
                got.write_csv(&mut got_csv).unwrap();
                assert_eq!(
                    String::from_utf8(got_csv).unwrap(),
                    String::from_utf8(want_csv.clone()).unwrap(),
                    "{}",
                    format.name()
                );
                assert_eq!(got.map_blocks(16), want.map_blocks(16));
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// Parquet files of ptraudit rows written by someone else (DuckDB, pandas, Spark) with
/// other types, and files that are not ptraudit's at all.
#[cfg(test)]
mod foreign_parquet {
    use super::*;
    use crate::schema::reference::row;
    use arrow_array::builder::OffsetBufferBuilder;
    use arrow_array::{
        ArrayRef, BooleanArray, DictionaryArray, Float64Array, GenericListArray, Int64Array,
        LargeStringArray, StringArray, StringViewArray, TimestampMicrosecondArray,
        TimestampMillisecondArray, TimestampNanosecondArray, TimestampSecondArray, UInt32Array,
        UInt64Array, types::Int32Type,
    };
    use arrow_schema::{Field, Schema};
    use parquet::arrow::ArrowWriter;
    use parquet::file::properties::WriterProperties;
    use ptraudit_scan::Fcrdns;
    use std::sync::Arc;

    /// The types a rewritten file may use.
    #[derive(Debug, Clone, Copy)]
    struct Types {
        text: Str,
        large_lists: bool,
        time: TimeUnit,
        signed: bool,
        dict_ptr: bool,
    }

    /// String types: Utf8, LargeUtf8, Utf8View.
    #[derive(Debug, Clone, Copy)]
    enum Str {
        Utf8,
        Large,
        View,
    }

    fn text(t: &Str, v: Vec<Option<String>>) -> ArrayRef {
        match t {
            Str::Large => Arc::new(LargeStringArray::from(v)),
            Str::View => Arc::new(StringViewArray::from_iter(v)),
            Str::Utf8 => Arc::new(StringArray::from(v)),
        }
    }

    fn list(t: &Types, v: Vec<Vec<String>>) -> ArrayRef {
        let values = text(&t.text, v.iter().flatten().cloned().map(Some).collect());
        let item = Arc::new(Field::new("item", values.data_type().clone(), true));
        if t.large_lists {
            let mut o = OffsetBufferBuilder::<i64>::new(v.len());
            v.iter().for_each(|l| o.push_length(l.len()));
            Arc::new(GenericListArray::<i64>::new(item, o.finish(), values, None))
        } else {
            let mut o = OffsetBufferBuilder::<i32>::new(v.len());
            v.iter().for_each(|l| o.push_length(l.len()));
            Arc::new(GenericListArray::<i32>::new(item, o.finish(), values, None))
        }
    }

    /// `rows` as one record batch with the given types.
    fn batch(rows: &[Row], t: Types) -> RecordBatch {
        let s = |f: &dyn Fn(&Row) -> Option<String>| text(&t.text, rows.iter().map(f).collect());
        let l = |f: &dyn Fn(&Row) -> Vec<String>| list(&t, rows.iter().map(f).collect());
        let ms: Vec<i64> = rows
            .iter()
            .map(|r| r.scanned_at.duration_since(UNIX_EPOCH).unwrap().as_millis() as i64)
            .collect();
        let time: ArrayRef = match t.time {
            TimeUnit::Second => Arc::new(
                TimestampSecondArray::from(ms.iter().map(|m| m / 1000).collect::<Vec<_>>())
                    .with_timezone("UTC"),
            ),
            TimeUnit::Millisecond => {
                Arc::new(TimestampMillisecondArray::from(ms).with_timezone("UTC"))
            }
            TimeUnit::Microsecond => Arc::new(
                TimestampMicrosecondArray::from(ms.iter().map(|m| m * 1000).collect::<Vec<_>>())
                    .with_timezone("UTC"),
            ),
            TimeUnit::Nanosecond => Arc::new(
                TimestampNanosecondArray::from(
                    ms.iter().map(|m| m * 1_000_000).collect::<Vec<_>>(),
                )
                .with_timezone("UTC"),
            ),
        };
        let ptr: ArrayRef = if t.dict_ptr {
            Arc::new(
                rows.iter()
                    .map(|r| r.ptr.as_deref())
                    .collect::<DictionaryArray<Int32Type>>(),
            )
        } else {
            s(&|r| r.ptr.clone())
        };
        let (attempts, rtt): (ArrayRef, ArrayRef) = if t.signed {
            (
                Arc::new(Int64Array::from_iter(
                    rows.iter().map(|r| Some(i64::from(r.attempts))),
                )),
                Arc::new(Int64Array::from_iter(
                    rows.iter().map(|r| r.rtt_ms.map(|v| v as i64)),
                )),
            )
        } else {
            (
                Arc::new(UInt32Array::from_iter(
                    rows.iter().map(|r| Some(r.attempts)),
                )),
                Arc::new(UInt64Array::from_iter(rows.iter().map(|r| r.rtt_ms))),
            )
        };
        let columns: Vec<ArrayRef> = vec![
            s(&|r| Some(r.ip.to_string())),
            s(&|r| Some(r.prefix.to_string())),
            s(&|r| Some(r.ptr_status.to_string())),
            ptr,
            l(&|r| r.ptr_all.clone()),
            l(&|r| r.cname_chain.clone()),
            l(&|r| r.forward_addrs.iter().map(ToString::to_string).collect()),
            s(&|r| Some(r.fcrdns.to_string())),
            s(&|r| r.fcrdns_reason.map(|x| x.as_str().to_string())),
            Arc::new(BooleanArray::from(
                rows.iter().map(|r| r.generic).collect::<Vec<_>>(),
            )),
            l(&|r| {
                r.generic_reasons
                    .iter()
                    .map(|c| c.as_ref().to_string())
                    .collect()
            }),
            s(&|r| r.resolver.map(|a| a.to_string())),
            attempts,
            rtt,
            time,
        ];
        let fields: Vec<Field> = COLUMNS
            .iter()
            .zip(&columns)
            .map(|(n, c)| Field::new(*n, c.data_type().clone(), true))
            .collect();
        RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap()
    }

    /// Writes `batches` (one row group each) to a fresh file.
    fn write(name: &str, batches: &[RecordBatch]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("ptraudit-foreign-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        let file = File::create(&path).unwrap();
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(1 << 20))
            .build();
        let mut w = ArrowWriter::try_new(file, batches[0].schema(), Some(props)).unwrap();
        for b in batches {
            w.write(b).unwrap();
            w.flush().unwrap();
        }
        w.close().unwrap();
        path
    }

    fn rows() -> Vec<Row> {
        let mut odd = row("198.18.0.8", true, 1_790_000_000_124);
        odd.fcrdns = Fcrdns::TempError;
        odd.rtt_ms = None;
        odd.resolver = None;
        odd.ptr = None;
        odd.generic = None;
        // These files have the columns of files written before `dnsbl` and
        // `dnsbl_listed`: they read as "no list checked".
        let mut rows = vec![
            row("198.18.0.7", true, 1_790_000_000_123),
            row("2001:db8::15", false, 7_000),
            odd,
        ];
        for r in &mut rows {
            r.dnsbl.clear();
            r.dnsbl_listed = None;
        }
        rows
    }

    const ORIGINAL: Types = Types {
        text: Str::Utf8,
        large_lists: false,
        time: TimeUnit::Millisecond,
        signed: false,
        dict_ptr: false,
    };

    /// Formerly a panic in a downcast: DuckDB's `COPY … TO 'x.parquet'` of our file has
    /// microsecond timestamps, and other writers use large or view strings, large lists,
    /// signed integers or dictionaries. Each reads as the same rows.
    #[test]
    fn parquet_with_other_compatible_types_reads_the_same_rows() {
        let rows = rows();
        let variants = [
            ORIGINAL,
            Types {
                time: TimeUnit::Microsecond,
                ..ORIGINAL
            },
            Types {
                time: TimeUnit::Nanosecond,
                ..ORIGINAL
            },
            Types {
                text: Str::Large,
                large_lists: true,
                ..ORIGINAL
            },
            Types {
                text: Str::View,
                signed: true,
                dict_ptr: true,
                ..ORIGINAL
            },
        ];
        for (k, t) in variants.into_iter().enumerate() {
            let path = write(&format!("variant{k}.parquet"), &[batch(&rows, t)]);
            assert_eq!(read_rows(&path).unwrap(), rows, "{t:?}");
        }
        // Whole seconds: the milliseconds are lost, the rows otherwise equal.
        let path = write(
            "seconds.parquet",
            &[batch(
                &rows,
                Types {
                    time: TimeUnit::Second,
                    ..ORIGINAL
                },
            )],
        );
        let read = read_rows(&path).unwrap();
        assert_eq!(read.len(), rows.len());
        assert_eq!(
            read[0].scanned_at,
            UNIX_EPOCH + Duration::from_secs(1_790_000_000)
        );
        assert_eq!(read[1].ptr_all, rows[1].ptr_all);
    }

    fn error_of(path: &Path) -> String {
        match read_rows(path) {
            Ok(rows) => panic!("{} read as {} rows", path.display(), rows.len()),
            Err(e) => {
                let text = e.to_string();
                assert!(text.contains(&path.display().to_string()), "{text}");
                text
            }
        }
    }

    #[test]
    fn a_column_of_a_wrong_type_is_an_error_naming_file_and_column() {
        let b = batch(&rows(), ORIGINAL);
        let (k, _) = b.schema().column_with_name("attempts").unwrap();
        let mut columns = b.columns().to_vec();
        columns[k] = Arc::new(Float64Array::from(vec![1.5, 2.0, 3.0]));
        let mut fields: Vec<Field> = b
            .schema()
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        fields[k] = Field::new("attempts", DataType::Float64, true);
        let b = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap();
        let e = error_of(&write("float.parquet", &[b]));
        assert!(
            e.contains("column attempts") && e.contains("Float64"),
            "{e}"
        );
    }

    #[test]
    fn a_missing_column_is_an_error_naming_it() {
        let b = batch(&rows(), ORIGINAL);
        let (k, _) = b.schema().column_with_name("ptr_all").unwrap();
        let mut b = b;
        b.remove_column(k);
        let e = error_of(&write("missing.parquet", &[b]));
        assert!(e.contains("no column ptr_all"), "{e}");
    }

    #[test]
    fn a_bad_value_names_the_row_group_and_row() {
        let good = batch(&rows(), ORIGINAL);
        let mut b = batch(&rows(), ORIGINAL);
        // ip "not-an-address" in row 1 of the second row group.
        let (k, _) = b.schema().column_with_name("ip").unwrap();
        let mut columns = b.columns().to_vec();
        columns[k] = Arc::new(StringArray::from(vec![
            "198.18.0.1",
            "not-an-address",
            "198.18.0.2",
        ]));
        b = RecordBatch::try_new(b.schema(), columns).unwrap();
        let e = error_of(&write("badvalue.parquet", &[good, b]));
        assert!(
            e.contains("row group 1, row 1") && e.contains("not-an-address"),
            "{e}"
        );
    }

    #[test]
    fn a_file_that_is_not_parquet_or_is_truncated_is_an_error() {
        let dir = std::env::temp_dir().join(format!("ptraudit-foreign-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let text = dir.join("text.parquet");
        std::fs::write(&text, "ip,prefix\n198.18.0.1,198.18.0.0/24\n").unwrap();
        assert!(error_of(&text).contains("footer"));
        let empty = dir.join("empty.parquet");
        std::fs::write(&empty, "").unwrap();
        error_of(&empty);

        let whole = std::fs::read(write("whole.parquet", &[batch(&rows(), ORIGINAL)])).unwrap();
        for keep in [whole.len() / 2, whole.len() - 9, 12, 4] {
            let cut = dir.join(format!("cut{keep}.parquet"));
            std::fs::write(&cut, &whole[..keep]).unwrap();
            error_of(&cut);
        }
    }

    /// Every single-byte corruption of a small file reads as rows or fails with an error
    /// naming the file: none panics (the reader's own checks, and `catch_unwind` around
    /// the parquet decoder for corruption it does not check).
    #[test]
    fn corrupt_bytes_never_panic() {
        let path = write("corrupt-src.parquet", &[batch(&rows(), ORIGINAL)]);
        let whole = std::fs::read(&path).unwrap();
        let cut = path.with_file_name("corrupt.parquet");
        for pos in (0..whole.len()).step_by(7) {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut bytes = whole.clone();
                bytes[pos] ^= flip;
                std::fs::write(&cut, &bytes).unwrap();
                if let Err(e) = read_rows(&cut) {
                    assert!(e.to_string().contains("corrupt.parquet"), "{e}");
                }
            }
        }
    }
}

#[cfg(test)]
mod untrusted_text {
    use super::*;

    fn dir() -> PathBuf {
        let d = std::env::temp_dir().join(format!("ptraudit-untrusted-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// A line longer than the limit is refused before it is held in memory whole.
    #[test]
    fn an_overlong_json_line_is_an_error_naming_the_line() {
        let path = dir().join("long.jsonl");
        let mut text = String::from("\n");
        text.push_str(&"x".repeat(MAX_LINE + 10));
        text.push('\n');
        std::fs::write(&path, text).unwrap();
        let e = read_rows(&path).unwrap_err().to_string();
        assert!(
            e.contains("long.jsonl") && e.contains("line 2") && e.contains("longer"),
            "{e}"
        );
    }

    #[test]
    fn a_json_line_cut_in_half_or_not_utf8_is_an_error() {
        let path = dir().join("cut.jsonl");
        std::fs::write(&path, "{\"ip\":\"198.18.0.1\",\"pre").unwrap();
        let e = read_rows(&path).unwrap_err().to_string();
        assert!(e.contains("cut.jsonl") && e.contains("line 1"), "{e}");
        std::fs::write(&path, b"\xff\xfe{}\n").unwrap();
        let e = read_rows(&path).unwrap_err().to_string();
        assert!(e.contains("line 1") && e.contains("UTF-8"), "{e}");
    }
}

#[cfg(test)]
mod fuzz_regressions {
    use super::*;

    /// Found by `fuzz/fuzz_targets/scan_output.rs`: a footer whose column chunk starts at a
    /// negative offset made the parquet crate panic (`column start and length should not
    /// be negative`), caught only by the reader's last-resort guard. The footer is now
    /// checked first: every chunk inside the file.
    #[test]
    fn a_column_chunk_outside_the_file_is_refused_before_decoding() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/fuzz-negative-column-start.parquet");
        let e = read_rows(&path).unwrap_err().to_string();
        assert!(
            e.contains("fuzz-negative-column-start.parquet") && e.contains("outside the file"),
            "{e}"
        );
    }
}
