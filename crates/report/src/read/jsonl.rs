//! Reading JSON lines outputs: one object per line, each line bounded in length before
//! it is held in memory, lists as arrays and `null` where absent.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use ptraudit_scan::{COLUMNS, Row};
use serde_json::Value;

use super::{Cells, ReadError, bad, row_from_cells};

/// The longest JSON line read (a row with hundreds of 255-byte names is ~100 KiB).
const MAX_LINE: usize = 4 << 20;

/// Calls `each` for every row of the JSON lines file `path` (opened as `file`).
pub(super) fn read_jsonl(
    path: &Path,
    file: File,
    each: &mut impl FnMut(Row),
) -> Result<(), ReadError> {
    let io = |source| ReadError::Io {
        path: path.to_owned(),
        source,
    };
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
        let line = std::str::from_utf8(&bytes).map_err(|_| bad(path, at(), "not UTF-8 text"))?;
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
    Ok(())
}

#[cfg(test)]
mod untrusted_text {
    use std::path::PathBuf;

    use super::*;
    use crate::read_rows;

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
