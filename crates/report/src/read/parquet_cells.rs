//! Parquet columns of whatever compatible type read as the text formats' cells: files
//! rewritten by DuckDB, pandas or Spark use other physical types (microsecond or
//! nanosecond timestamps, large or view strings, large lists, signed integers,
//! dictionary-encoded strings) for ptraudit's values. Downcasts that do not match are
//! errors, never panics.

use std::fmt::Write as _;
use std::time::{Duration, UNIX_EPOCH};

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Int8Type, Int16Type, Int32Type, Int64Type, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, TimeUnit};

use super::Cells;
use crate::text::rfc3339;

/// Whether a column of type `t` can hold ptraudit's values: text, integers, booleans,
/// timestamps (any unit), dictionary-encoded text, or (not nested) lists of text.
pub(super) fn check_type(t: &DataType, in_list: bool) -> Result<(), String> {
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
pub(super) type CellFn<'a> = Box<dyn Fn(usize, &mut String) + 'a>;

/// A reader of one column's values as text, in the text formats' rendering. Downcasts
/// that do not match the type are errors, never panics.
pub(super) fn cell_reader(a: &dyn Array, in_list: bool) -> Result<CellFn<'_>, String> {
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

pub(super) fn batch_cells(
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
