//! JSON lines: one object per address, the same fields as the CSV, lists as arrays,
//! `null` where a value is absent.

use std::io::Write;

use ptraudit_scan::{Row, Sink, SinkError, rfc3339};
use serde_json::{Map, Value};

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

fn text(s: &str) -> Value {
    Value::String(s.to_string())
}

fn opt(s: Option<&str>) -> Value {
    s.map_or(Value::Null, text)
}

fn list<T: ToString>(items: &[T]) -> Value {
    Value::Array(items.iter().map(|i| Value::String(i.to_string())).collect())
}

/// The row as a JSON object with keys in column order.
pub fn row_to_json(r: &Row) -> String {
    // Written key by key so the order follows the columns (serde_json's map sorts keys).
    let fields: [(&str, Value); 15] = [
        ("ip", text(&r.ip.to_string())),
        ("prefix", text(&r.prefix)),
        ("ptr_status", text(&r.ptr_status)),
        ("ptr", opt(r.ptr.as_deref())),
        ("ptr_all", list(&r.ptr_all)),
        ("cname_chain", list(&r.cname_chain)),
        ("forward_addrs", list(&r.forward_addrs)),
        ("fcrdns", text(r.fcrdns.as_str())),
        ("fcrdns_reason", opt(r.fcrdns_reason.as_deref())),
        ("generic", r.generic.map_or(Value::Null, Value::Bool)),
        ("generic_reasons", list(&r.generic_reasons)),
        (
            "resolver",
            r.resolver.map_or(Value::Null, |a| text(&a.to_string())),
        ),
        ("attempts", Value::from(r.attempts)),
        ("rtt_ms", r.rtt_ms.map_or(Value::Null, Value::from)),
        ("scanned_at", text(&rfc3339(r.scanned_at))),
    ];
    let mut s = String::with_capacity(400);
    s.push('{');
    for (i, (k, v)) in fields.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push('"');
        s.push_str(k);
        s.push_str("\":");
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
