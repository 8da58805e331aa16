//! JSON lines: one object per address, the same fields as the CSV, lists as arrays,
//! `null` where a value is absent.

use std::fmt::Write as _;
use std::io::Write;
use std::net::IpAddr;
use std::time::SystemTime;

use ptraudit_scan::{COLUMNS, Row, Sink, SinkError, Status};
use serde_json::{Map, Value};

use crate::schema::{Cells, Renderer};
use crate::text::{push_ip, push_rfc3339, push_status, push_u64};

/// Writes one JSON object per row, keys in column order.
#[derive(Debug)]
pub struct JsonlSink<W: Write> {
    out: W,
    line: JsonCells,
    renderer: Renderer,
}

impl<W: Write> JsonlSink<W> {
    /// Rows go to `out` (wrap files in a `BufWriter`).
    pub fn new(out: W) -> Self {
        JsonlSink {
            out,
            line: JsonCells(String::with_capacity(512), 0),
            renderer: Renderer::default(),
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

/// One JSON object being rendered: cells appended directly (strings escaped as
/// serde_json escapes them), no value tree per row; and the items of the open list.
#[derive(Debug, Default)]
struct JsonCells(String, usize);

impl JsonCells {
    /// The separator before the next item of the open list.
    fn next_item(&mut self) {
        if self.1 > 0 {
            self.0.push(',');
        }
        self.1 += 1;
    }
}

impl JsonCells {
    fn key(&mut self, col: usize) {
        self.0.push(if col == 0 { '{' } else { ',' });
        self.0.push('"');
        self.0.push_str(COLUMNS[col]);
        self.0.push_str("\":");
    }
}

impl Cells for JsonCells {
    fn text(&mut self, col: usize, v: &str) {
        self.key(col);
        push_json_str(&mut self.0, v);
    }
    fn null(&mut self, col: usize) {
        self.key(col);
        self.0.push_str("null");
    }
    fn list_start(&mut self, col: usize) {
        self.key(col);
        self.0.push('[');
        self.1 = 0;
    }
    fn item(&mut self, v: &str) {
        self.next_item();
        push_json_str(&mut self.0, v);
    }
    fn list_end(&mut self) {
        self.0.push(']');
    }
    fn ip(&mut self, col: usize, ip: IpAddr) {
        self.key(col);
        // Addresses and statuses hold nothing JSON must escape.
        self.0.push('"');
        push_ip(&mut self.0, ip);
        self.0.push('"');
    }
    fn addr_item(&mut self, ip: IpAddr) {
        self.next_item();
        self.0.push('"');
        push_ip(&mut self.0, ip);
        self.0.push('"');
    }
    fn status(&mut self, col: usize, s: Status) {
        self.key(col);
        self.0.push('"');
        push_status(&mut self.0, s);
        self.0.push('"');
    }
    fn bool(&mut self, col: usize, v: bool) {
        self.key(col);
        self.0.push_str(if v { "true" } else { "false" });
    }
    fn uint(&mut self, col: usize, v: u64) {
        self.key(col);
        push_u64(&mut self.0, v);
    }
    fn time(&mut self, col: usize, t: SystemTime) {
        self.key(col);
        self.0.push('"');
        push_rfc3339(&mut self.0, t);
        self.0.push('"');
    }
}

/// The row as a JSON object with keys in column order (serde_json's own map would sort
/// them), lists as arrays, `null` where absent.
#[cfg(test)]
fn row_to_json(r: &Row) -> String {
    let mut cells = JsonCells::default();
    Renderer::default().visit(r, &mut cells);
    cells.0.push('}');
    cells.0
}

/// A JSON string literal, escaped the way serde_json writes it: `"` and `\\`, the short
/// forms `\\b \\f \\n \\r \\t`, other control characters as `\\u00XX`.
fn push_json_str(s: &mut String, v: &str) {
    s.push('"');
    let mut start = 0;
    for (i, b) in v.bytes().enumerate() {
        let esc: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        s.push_str(&v[start..i]);
        if esc.is_empty() {
            let _ = write!(s, "\\u{:04x}", b);
        } else {
            s.push_str(esc);
        }
        start = i + 1;
    }
    s.push_str(&v[start..]);
    s.push('"');
}

impl<W: Write> Sink for JsonlSink<W> {
    fn row(&mut self, r: &Row) -> Result<(), SinkError> {
        self.line.0.clear();
        self.renderer.visit(r, &mut self.line);
        self.line.0.push_str("}\n");
        self.out.write_all(self.line.0.as_bytes())?;
        Ok(())
    }

    fn finish(&mut self) -> Result<(), SinkError> {
        self.out.flush()?;
        Ok(())
    }
}

/// Parses one JSON line back into the map of its fields.
pub(crate) fn parse_line(line: &str) -> Result<Map<String, Value>, String> {
    match serde_json::from_str::<Value>(line) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err("not a JSON object".into()),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::reference::{Value as Cell, row, values};

    /// What serde_json writes for the row's cells: the reference the direct writer must
    /// equal byte for byte.
    fn reference(r: &Row) -> String {
        let mut s = String::from("{");
        for (i, (cell, name)) in values(r).into_iter().zip(COLUMNS).enumerate() {
            if i > 0 {
                s.push(',');
            }
            s.push_str(&Value::String(name.to_string()).to_string());
            s.push(':');
            let v = match cell {
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

    #[test]
    fn direct_json_equals_serde_json_byte_for_byte() {
        let hostile = "a\"b\\c\nd\re\tf\u{8}g\u{c}h\u{1}i\u{1f}j/k\u{7f}ü✓".to_string();
        for (ip, full) in [("198.18.0.7", true), ("2001:db8::1", false)] {
            let mut r = row(ip, full, 1_790_000_000_123);
            if full {
                r.ptr = Some(hostile.clone());
                r.ptr_all = vec![hostile.clone(), "b.test".into()];
            }
            r.cname_chain = vec!["x\\032y.test".into()];
            let got = row_to_json(&r);
            assert_eq!(got, reference(&r));
            assert!(parse_line(&got).is_ok());
        }
    }
}
