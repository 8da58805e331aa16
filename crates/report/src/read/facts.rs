//! The report's fast path: the [`Facts`] of every row, read column by column from
//! Parquet parts with ptraudit's own types, any other file through the row readers.

use std::fs::File;
use std::net::IpAddr;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ArrowReaderMetadata;
use ptraudit_scan::Fcrdns;
use ptraudit_scan::dnsbl::Listing;

use super::parquet::{for_each_batch, guarded, open_parquet};
use super::{Format, ReadError, bad, for_each_row_as};
use crate::counts::Facts;

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
/// parsed back, no [`Row`](ptraudit_scan::Row) built; any other file goes through
/// [`for_each_row`](super::for_each_row), with the same result.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::reference::row;
    use crate::writer::FormatSink;
    use ptraudit_scan::{FcrdnsReason, Sink};

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
