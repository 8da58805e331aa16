//! JSON lines: one object per address, the same fields as the CSV, lists as arrays,
//! `null` where a value is absent.

use std::fmt::Write as _;
use std::io::Write;

use ptraudit_scan::{COLUMNS, Row, Sink, SinkError};
use serde_json::{Map, Value};

use crate::text::{push_ip, push_rfc3339, push_u64};

/// Writes one JSON object per row, keys in column order.
#[derive(Debug)]
pub struct JsonlSink<W: Write> {
    out: W,
    line: String,
}

impl<W: Write> JsonlSink<W> {
    /// Rows go to `out` (wrap files in a `BufWriter`).
    pub fn new(out: W) -> Self {
        JsonlSink {
            out,
            line: String::with_capacity(512),
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
    push_row_json(&mut s, r);
    s
}

/// Appends the JSON object of `r` to `s`: rendered directly (addresses, numbers and times
/// without `fmt`, strings escaped as serde_json escapes them), no value tree per row.
fn push_row_json(s: &mut String, r: &Row) {
    fn key(s: &mut String, i: usize) {
        if i > 0 {
            s.push(',');
        }
        s.push('"');
        s.push_str(COLUMNS[i]);
        s.push_str("\":");
    }
    fn opt_str(s: &mut String, v: Option<&str>) {
        match v {
            Some(v) => push_json_str(s, v),
            None => s.push_str("null"),
        }
    }
    fn list(s: &mut String, items: &[String]) {
        s.push('[');
        for (i, v) in items.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            push_json_str(s, v);
        }
        s.push(']');
    }
    s.push('{');
    key(s, 0);
    s.push('"');
    push_ip(s, r.ip);
    s.push('"');
    key(s, 1);
    push_json_str(s, &r.prefix);
    key(s, 2);
    push_json_str(s, &r.ptr_status);
    key(s, 3);
    opt_str(s, r.ptr.as_deref());
    key(s, 4);
    list(s, &r.ptr_all);
    key(s, 5);
    list(s, &r.cname_chain);
    key(s, 6);
    s.push('[');
    for (i, a) in r.forward_addrs.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push('"');
        push_ip(s, *a);
        s.push('"');
    }
    s.push(']');
    key(s, 7);
    push_json_str(s, r.fcrdns.as_str());
    key(s, 8);
    opt_str(s, r.fcrdns_reason.as_deref());
    key(s, 9);
    s.push_str(match r.generic {
        Some(true) => "true",
        Some(false) => "false",
        None => "null",
    });
    key(s, 10);
    list(s, &r.generic_reasons);
    key(s, 11);
    match r.resolver {
        Some(a) => {
            // Socket addresses hold no character JSON must escape.
            let _ = write!(s, "\"{a}\"");
        }
        None => s.push_str("null"),
    }
    key(s, 12);
    push_u64(s, u64::from(r.attempts));
    key(s, 13);
    match r.rtt_ms {
        Some(ms) => push_u64(s, ms),
        None => s.push_str("null"),
    }
    key(s, 14);
    s.push('"');
    push_rfc3339(s, r.scanned_at);
    s.push('"');
    s.push('}');
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
        self.line.clear();
        push_row_json(&mut self.line, r);
        self.line.push('\n');
        self.out.write_all(self.line.as_bytes())?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Value as Cell, values};
    use std::time::{Duration, UNIX_EPOCH};

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
            let r = Row {
                ip: ip.parse().unwrap(),
                prefix: "198.18.0.0/24".into(),
                ptr_status: "NOERROR".into(),
                ptr: full.then(|| hostile.clone()),
                ptr_all: if full {
                    vec![hostile.clone(), "b.test".into()]
                } else {
                    vec![]
                },
                cname_chain: vec!["x\\032y.test".into()],
                forward_addrs: if full {
                    vec![
                        "198.18.0.7".parse().unwrap(),
                        "2001:db8::15".parse().unwrap(),
                    ]
                } else {
                    vec![]
                },
                fcrdns: ptraudit_scan::Fcrdns::TempError,
                fcrdns_reason: (!full).then(|| "ptr-servfail".into()),
                generic: full.then_some(true),
                generic_reasons: vec!["ip-embedded:dashed".into()],
                resolver: if full {
                    Some("127.0.0.1:53".parse().unwrap())
                } else {
                    Some("[::1]:5353".parse().unwrap())
                },
                attempts: 7,
                rtt_ms: full.then_some(1234),
                scanned_at: UNIX_EPOCH + Duration::from_millis(1_790_000_000_123),
            };
            let got = row_to_json(&r);
            assert_eq!(got, reference(&r));
            assert!(parse_line(&got).is_ok());
        }
    }
}
