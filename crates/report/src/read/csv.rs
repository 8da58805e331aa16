//! Reading CSV outputs: the header checked against the columns, the writer's formula
//! guard removed from each cell.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use ptraudit_scan::{COLUMNS, Row};

use super::{Cells, REQUIRED, ReadError, bad, row_from_cells};
use crate::text::csv_unguard;

/// Calls `each` for every row of the CSV file `path` (opened as `file`).
pub(super) fn read_csv(
    path: &Path,
    file: File,
    each: &mut impl FnMut(Row),
) -> Result<(), ReadError> {
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
    Ok(())
}
