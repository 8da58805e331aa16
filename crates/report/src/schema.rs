//! The one column contract shared by every writer and reader.
//!
//! CSV and JSON lines carry exactly [`COLUMNS`](ptraudit_scan::COLUMNS); Parquet adds `ip_version` after `ip`
//! (a typed column datasets filter on). The Arrow schema below is the single place the
//! types are defined.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, TimeUnit};

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
