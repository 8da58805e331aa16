//! Reading Parquet outputs: the footer checked before use, rows read row group by row
//! group so that every error names the row group, and the parquet decoder run under a
//! guard that turns a panic into an error. Columns of other compatible types (files
//! rewritten by DuckDB, pandas or Spark) are read through `parquet_cells`.

use std::fs::File;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use arrow_array::RecordBatch;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use ptraudit_scan::{COLUMNS, Row};

use super::parquet_cells::{batch_cells, cell_reader, check_type};
use super::{REQUIRED, ReadError, bad, row_from_cells};

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

/// Reads a Parquet file row group by row group, so that every error names the row group.
///
/// Any Parquet file whose columns hold ptraudit's values is read, whoever wrote it:
/// DuckDB, pandas or Spark rewrite our files with other physical types (microsecond or
/// nanosecond timestamps, large or view strings, large lists, signed integers,
/// dictionary-encoded strings). A column of a type that cannot hold its values, a
/// missing column or an undecodable page is an error naming the file, the row group and
/// the column — never a panic: the decoder runs under `catch_unwind` as a last line of
/// defence against a panic inside the parquet crate on corrupt pages.
pub(super) fn read_parquet(
    path: &Path,
    file: File,
    each: &mut impl FnMut(Row),
) -> Result<(), ReadError> {
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
pub(super) type At<'a> = &'a dyn Fn(Option<usize>) -> String;

/// Calls `each(batch, at, first)` for every record batch of `path`, row group by row
/// group so that every error names the row group; `at(Some(i))` names row `i` of the
/// batch, `first` is the batch's first row in the file. The decoder runs under the
/// guard. `mask`: the columns to decode (all when `None`).
pub(super) fn for_each_batch(
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
pub(super) fn open_parquet(path: &Path, file: &File) -> Result<ArrowReaderMetadata, ReadError> {
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

/// Runs `f`, turning a panic into an error message.
pub(super) fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|p| {
        let what = p
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown cause".into());
        format!("the Parquet decoder failed: {what}")
    })
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
    use arrow_schema::{DataType, Field, Schema, TimeUnit};
    use parquet::arrow::ArrowWriter;
    use parquet::file::properties::WriterProperties;
    use ptraudit_scan::Fcrdns;
    use std::path::PathBuf;
    use std::sync::Arc;
    use std::time::{Duration, UNIX_EPOCH};

    use crate::read_rows;

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
mod fuzz_regressions {
    use super::*;
    use crate::read_rows;

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
