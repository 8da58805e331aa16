//! The one column contract shared by every writer and reader.
//!
//! CSV and JSON lines carry exactly [`COLUMNS`](ptraudit_scan::COLUMNS); Parquet adds `ip_version` after `ip`
//! (a typed column datasets filter on). The Arrow schema below is the single place the
//! types are defined.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, TimeUnit};
use ptraudit_scan::{Row, rfc3339};

/// The kind of value a column holds, independent of the format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Text, never empty.
    Text,
    /// Text that may be absent.
    OptText,
    /// A list of text values.
    List,
    /// true/false or absent.
    OptBool,
    /// Unsigned integer.
    UInt,
    /// Unsigned integer or absent.
    OptUInt,
    /// A UTC timestamp (RFC 3339 in text formats).
    Timestamp,
}

/// `(name, kind)` for every column of [`COLUMNS`](ptraudit_scan::COLUMNS), in order.
pub const KINDS: [(&str, Kind); 15] = [
    ("ip", Kind::Text),
    ("prefix", Kind::Text),
    ("ptr_status", Kind::Text),
    ("ptr", Kind::OptText),
    ("ptr_all", Kind::List),
    ("cname_chain", Kind::List),
    ("forward_addrs", Kind::List),
    ("fcrdns", Kind::Text),
    ("fcrdns_reason", Kind::OptText),
    ("generic", Kind::OptBool),
    ("generic_reasons", Kind::List),
    ("resolver", Kind::OptText),
    ("attempts", Kind::UInt),
    ("rtt_ms", Kind::OptUInt),
    ("scanned_at", Kind::Timestamp),
];

/// One cell of a row, typed as its column's [`Kind`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Text (also for [`Kind::OptText`], `None` when absent).
    Text(Option<String>),
    /// A list of text values.
    List(Vec<String>),
    /// true/false or absent.
    Bool(Option<bool>),
    /// An unsigned integer or absent.
    UInt(Option<u64>),
    /// A timestamp, as RFC 3339 text.
    Time(String),
}

impl Value {
    /// The text formats' rendering: lists `;`-joined, absent values empty.
    pub fn to_text(&self) -> String {
        match self {
            Value::Text(t) => t.clone().unwrap_or_default(),
            Value::List(l) => l.join(";"),
            Value::Bool(b) => b.map(|b| b.to_string()).unwrap_or_default(),
            Value::UInt(n) => n.map(|n| n.to_string()).unwrap_or_default(),
            Value::Time(t) => t.clone(),
        }
    }
}

fn strings<T: ToString>(items: &[T]) -> Vec<String> {
    items.iter().map(ToString::to_string).collect()
}

/// The cells of a row in [`KINDS`] order: the one mapping every text writer uses.
pub fn values(r: &Row) -> [Value; 15] {
    let text = |s: &str| Value::Text(Some(s.to_string()));
    [
        text(&r.ip.to_string()),
        text(&r.prefix),
        text(&r.ptr_status),
        Value::Text(r.ptr.clone()),
        Value::List(r.ptr_all.clone()),
        Value::List(r.cname_chain.clone()),
        Value::List(strings(&r.forward_addrs)),
        text(r.fcrdns.as_str()),
        Value::Text(r.fcrdns_reason.clone()),
        Value::Bool(r.generic),
        Value::List(r.generic_reasons.clone()),
        Value::Text(r.resolver.map(|a| a.to_string())),
        Value::UInt(Some(u64::from(r.attempts))),
        Value::UInt(r.rtt_ms),
        Value::Time(rfc3339(r.scanned_at)),
    ]
}

fn list_of_text() -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)))
}

/// The Parquet/Arrow schema: [`KINDS`] typed, plus `ip_version` (UInt8) after `ip`.
pub fn arrow_schema() -> Schema {
    let mut fields = Vec::with_capacity(KINDS.len() + 1);
    for (name, kind) in KINDS {
        let (dt, nullable) = match kind {
            Kind::Text => (DataType::Utf8, false),
            Kind::OptText => (DataType::Utf8, true),
            Kind::List => (list_of_text(), false),
            Kind::OptBool => (DataType::Boolean, true),
            Kind::UInt => (DataType::UInt32, false),
            Kind::OptUInt => (DataType::UInt64, true),
            Kind::Timestamp => (
                DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
                false,
            ),
        };
        fields.push(Field::new(name, dt, nullable));
        if name == "ip" {
            fields.push(Field::new("ip_version", DataType::UInt8, false));
        }
    }
    Schema::new(fields)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ptraudit_scan::COLUMNS;

    #[test]
    fn values_have_the_kind_of_their_column() {
        let row = Row {
            ip: "198.18.0.7".parse().unwrap(),
            prefix: "198.18.0.0/24".into(),
            ptr_status: "NOERROR".into(),
            ptr: None,
            ptr_all: vec![],
            cname_chain: vec![],
            forward_addrs: vec![],
            fcrdns: ptraudit_scan::Fcrdns::NoPtr,
            fcrdns_reason: None,
            generic: None,
            generic_reasons: vec![],
            resolver: None,
            attempts: 1,
            rtt_ms: None,
            scanned_at: std::time::SystemTime::UNIX_EPOCH,
        };
        for (v, (name, kind)) in values(&row).iter().zip(KINDS) {
            let ok = matches!(
                (v, kind),
                (Value::Text(Some(_)), Kind::Text)
                    | (Value::Text(_), Kind::OptText)
                    | (Value::List(_), Kind::List)
                    | (Value::Bool(_), Kind::OptBool)
                    | (Value::UInt(Some(_)), Kind::UInt)
                    | (Value::UInt(_), Kind::OptUInt)
                    | (Value::Time(_), Kind::Timestamp)
            );
            assert!(ok, "{name}: {v:?} is not a {kind:?}");
        }
    }

    #[test]
    fn kinds_follow_the_scan_columns_and_parquet_adds_ip_version() {
        let names: Vec<&str> = KINDS.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, COLUMNS);
        let schema = arrow_schema();
        let mut expected: Vec<&str> = COLUMNS.to_vec();
        expected.insert(1, "ip_version");
        let got: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(got, expected);
    }
}
