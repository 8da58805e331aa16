//! JSON lines: one object per address, the same fields as the CSV, lists as arrays,
//! `null` where a value is absent.

use std::io::Write;

use ptraudit_scan::{COLUMNS, Row, Sink, SinkError};
use serde_json::{Map, Value};

use crate::schema::Value as Cell;

/// Writes one JSON object per row, keys in column order.
#[derive(Debug)]
pub struct JsonlSink<W: Write> {
    out: W,
    line: Vec<u8>,
}

impl<W: Write> JsonlSink<W> {
    /// Rows go to `out` (wrap files in a `BufWriter`).
    pub fn new(out: W) -> Self {
        JsonlSink {
            out,
            line: Vec::with_capacity(512),
        }
    }

    /// The inner writer.
    pub fn get_ref(&self) -> &W {
        &self.out
    }

    /// Flushes and returns the writer.
    pub fn into_inner(mut self) -> std::io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// The row as a JSON object with keys in column order (serde_json's own map would sort
/// them), lists as arrays, `null` where absent.
pub fn row_to_json(r: &Row) -> String {
    let mut s = String::with_capacity(400);
    s.push('{');
    for (i, (value, name)) in crate::schema::values(r)
        .into_iter()
        .zip(COLUMNS)
        .enumerate()
    {
        if i > 0 {
            s.push(',');
        }
        s.push('"');
        s.push_str(name);
        s.push_str("\":");
        let v = match value {
            Cell::Text(t) => t.map_or(Value::Null, Value::String),
            Cell::List(l) => Value::Array(l.into_iter().map(Value::String).collect()),
            Cell::Bool(b) => b.map_or(Value::Null, Value::Bool),
            Cell::UInt(n) => n.map_or(Value::Null, Value::from),
            Cell::Time(t) => Value::String(t),
        };
        s.push_str(&v.to_string());
    }
    s.push('}');
    s
}

impl<W: Write> Sink for JsonlSink<W> {
    fn row(&mut self, r: &Row) -> Result<(), SinkError> {
        self.line.clear();
        self.line.extend_from_slice(row_to_json(r).as_bytes());
        self.line.push(b'\n');
        self.out.write_all(&self.line)?;
        Ok(())
    }

    fn finish(&mut self) -> Result<(), SinkError> {
        self.out.flush()?;
        Ok(())
    }
}

/// Parses one JSON line back into the map of its fields.
pub fn parse_line(line: &str) -> Result<Map<String, Value>, String> {
    match serde_json::from_str::<Value>(line) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err("not a JSON object".into()),
        Err(e) => Err(e.to_string()),
    }
}
