//! The one column contract shared by every writer and reader: each column's kind
//! ([`KINDS`]), the one mapping of a row to its cells ([`Renderer::visit`]), and the
//! Arrow schema.
//!
//! CSV and JSON lines carry exactly [`COLUMNS`](ptraudit_scan::COLUMNS); Parquet adds `ip_version` after `ip` (a
//! typed column datasets filter on).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::SystemTime;

use arrow_schema::{DataType, Field, Schema, TimeUnit};
use ptraudit_scan::{Prefix, Row, Status};

use crate::text::{push_prefix, push_socket};

/// The kind of value a column holds, independent of the format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Text, never empty.
    Text,
    /// Text that may be absent.
    OptText,
    /// A list of text values.
    List,
    /// true/false or absent.
    OptBool,
    /// Unsigned 32-bit integer.
    UInt32,
    /// Unsigned integer or absent.
    OptUInt64,
    /// A UTC timestamp (RFC 3339 in text formats).
    Timestamp,
}

/// `(name, kind)` of every column of [`COLUMNS`](ptraudit_scan::COLUMNS), in order (a test holds the names
/// equal to [`COLUMNS`](ptraudit_scan::COLUMNS)).
pub(crate) const KINDS: [(&str, Kind); 17] = [
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
    ("attempts", Kind::UInt32),
    ("rtt_ms", Kind::OptUInt64),
    ("scanned_at", Kind::Timestamp),
    ("dnsbl", Kind::List),
    ("dnsbl_listed", Kind::OptBool),
];

/// A writer's side of [`Renderer::visit`]: receives one row's cells in column order
/// (`col` indexes [`COLUMNS`](ptraudit_scan::COLUMNS)), each as the value its [`Kind`] holds.
pub(crate) trait Cells {
    /// A text cell (`Text`, or a present `OptText`).
    fn text(&mut self, col: usize, v: &str);
    /// An absent value (`OptText`, `OptBool`, `OptUInt64`).
    fn null(&mut self, col: usize);
    /// A list cell begins; its items follow, then [`Cells::list_end`].
    fn list_start(&mut self, col: usize);
    /// One item of the open list.
    fn item(&mut self, v: &str);
    /// The open list is complete.
    fn list_end(&mut self);
    /// A present `OptBool`.
    fn bool(&mut self, col: usize, v: bool);
    /// A `UInt32` or a present `OptUInt64`.
    fn uint(&mut self, col: usize, v: u64);
    /// A `Timestamp`.
    fn time(&mut self, col: usize, t: SystemTime);
    /// The `ip` column (text as `Display` writes it; Parquet also fills `ip_version`).
    fn ip(&mut self, col: usize, ip: IpAddr);
    /// An address item of the open list (text as `Display` writes it).
    fn addr_item(&mut self, ip: IpAddr);
    /// A status cell (text as `Display` writes it).
    fn status(&mut self, col: usize, s: Status);
}

/// Renders rows into [`Cells`], keeping the texts consecutive rows share (resolver,
/// prefix), so that no cell allocates.
#[derive(Debug, Default)]
pub(crate) struct Renderer {
    resolver: Option<(SocketAddr, String)>,
    prefix: Option<(Prefix, String)>,
}

impl Renderer {
    /// The one mapping of a row to its columns.
    #[inline]
    pub(crate) fn visit(&mut self, r: &Row, c: &mut impl Cells) {
        c.ip(0, r.ip);
        if self.prefix.as_ref().is_none_or(|(p, _)| *p != r.prefix) {
            let mut text = String::new();
            push_prefix(&mut text, r.prefix);
            self.prefix = Some((r.prefix, text));
        }
        c.text(1, self.prefix.as_ref().map_or("", |(_, t)| t));
        c.status(2, r.ptr_status);
        opt_text(c, 3, r.ptr.as_deref());
        list(c, 4, r.ptr_all.iter().map(String::as_str));
        list(c, 5, r.cname_chain.iter().map(String::as_str));
        c.list_start(6);
        for a in &r.forward_addrs {
            c.addr_item(*a);
        }
        c.list_end();
        c.text(7, r.fcrdns.as_str());
        opt_text(c, 8, r.fcrdns_reason.as_ref().map(|x| x.as_str()));
        match r.generic {
            Some(b) => c.bool(9, b),
            None => c.null(9),
        }
        list(c, 10, r.generic_reasons.iter().map(|c| c.as_ref()));
        match r.resolver {
            Some(a) => {
                if self.resolver.as_ref().is_none_or(|(last, _)| *last != a) {
                    let mut text = String::new();
                    push_socket(&mut text, a);
                    self.resolver = Some((a, text));
                }
                c.text(11, self.resolver.as_ref().map_or("", |(_, t)| t));
            }
            None => c.null(11),
        }
        c.uint(12, u64::from(r.attempts));
        match r.rtt_ms {
            Some(ms) => c.uint(13, ms),
            None => c.null(13),
        }
        c.time(14, r.scanned_at);
        c.list_start(15);
        let mut text = String::new();
        for l in &r.dnsbl {
            text.clear();
            // Writing to a String cannot fail.
            let _ = std::fmt::Write::write_fmt(&mut text, format_args!("{l}"));
            c.item(&text);
        }
        c.list_end();
        match r.dnsbl_listed {
            Some(b) => c.bool(16, b),
            None => c.null(16),
        }
    }
}

fn opt_text(c: &mut impl Cells, col: usize, v: Option<&str>) {
    match v {
        Some(v) => c.text(col, v),
        None => c.null(col),
    }
}

fn list<'a>(c: &mut impl Cells, col: usize, items: impl Iterator<Item = &'a str>) {
    c.list_start(col);
    for i in items {
        c.item(i);
    }
    c.list_end();
}

fn list_of_text() -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)))
}

/// The Parquet/Arrow schema: [`KINDS`] typed, plus `ip_version` (UInt8) after `ip`.
pub(crate) fn arrow_schema() -> Schema {
    let mut fields = Vec::with_capacity(KINDS.len() + 1);
    for (name, kind) in KINDS {
        let (dt, nullable) = match kind {
            Kind::Text => (DataType::Utf8, false),
            Kind::OptText => (DataType::Utf8, true),
            Kind::List => (list_of_text(), false),
            Kind::OptBool => (DataType::Boolean, true),
            Kind::UInt32 => (DataType::UInt32, false),
            Kind::OptUInt64 => (DataType::UInt64, true),
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

/// Test reference: the cells of a row built with `fmt` (`to_string`), not through the
/// writers' renderers, so the fast paths can be held equal to it.
#[cfg(test)]
pub(crate) mod reference {
    use super::*;

    /// One cell, typed.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub(crate) enum Value {
        Text(Option<String>),
        List(Vec<String>),
        Bool(Option<bool>),
        UInt(Option<u64>),
        Time(String),
    }

    impl Value {
        /// The text formats' rendering: lists `;`-joined, absent values empty.
        pub(crate) fn to_text(&self) -> String {
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

    /// The cells of a row in column order, through `fmt`.
    pub(crate) fn values(r: &Row) -> [Value; 17] {
        let text = |s: String| Value::Text(Some(s));
        [
            text(r.ip.to_string()),
            text(r.prefix.to_string()),
            text(r.ptr_status.to_string()),
            Value::Text(r.ptr.clone()),
            Value::List(r.ptr_all.clone()),
            Value::List(r.cname_chain.clone()),
            Value::List(strings(&r.forward_addrs)),
            text(r.fcrdns.to_string()),
            Value::Text(r.fcrdns_reason.map(|x| x.to_string())),
            Value::Bool(r.generic),
            Value::List(strings(&r.generic_reasons)),
            Value::Text(r.resolver.map(|a| a.to_string())),
            Value::UInt(Some(u64::from(r.attempts))),
            Value::UInt(r.rtt_ms),
            Value::Time(crate::text::rfc3339(r.scanned_at)),
            Value::List(strings(&r.dnsbl)),
            Value::Bool(r.dnsbl_listed),
        ]
    }

    /// A row with every column filled (`full`) or most absent, for the writers' tests.
    pub(crate) fn row(ip: &str, full: bool, millis: u64) -> Row {
        use ptraudit_scan::{Fcrdns, FcrdnsReason, PrefixLens};
        let ip: IpAddr = ip.parse().unwrap();
        Row {
            ip,
            prefix: PrefixLens::DEFAULT.of(ip),
            ptr_status: if full {
                Status::Answer
            } else {
                Status::Rcode(12)
            },
            ptr: full.then(|| "a.example.test".into()),
            ptr_all: if full {
                vec!["a.example.test".into(), "b,\"q\".test".into()]
            } else {
                vec![]
            },
            cname_chain: if full {
                vec!["7.0/25.0.18.198.in-addr.arpa".into()]
            } else {
                vec![]
            },
            forward_addrs: if full {
                vec![
                    "198.18.0.7".parse().unwrap(),
                    "2001:db8::1".parse().unwrap(),
                ]
            } else {
                vec![]
            },
            fcrdns: if full { Fcrdns::Pass } else { Fcrdns::NoPtr },
            fcrdns_reason: (!full).then_some(FcrdnsReason::PtrNxdomain),
            generic: full.then_some(false),
            generic_reasons: if full {
                vec!["service-label:mail".into(), "no-ip-signal".into()]
            } else {
                vec![]
            },
            resolver: if full {
                Some("127.0.0.1:5353".parse().unwrap())
            } else {
                Some("[::1]:53".parse().unwrap())
            },
            attempts: if full { 3 } else { 0 },
            rtt_ms: full.then_some(12_345),
            scanned_at: SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(millis),
            dnsbl: if full {
                vec![
                    "spamhaus-zen=127.0.0.4".parse().unwrap(),
                    "spamhaus-zen=127.0.0.10".parse().unwrap(),
                    "bl.example.test=127.0.0.2".parse().unwrap(),
                ]
            } else {
                vec![]
            },
            dnsbl_listed: full.then_some(true),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::reference::{Value, row, values};
    use super::*;
    use ptraudit_scan::COLUMNS;

    #[test]
    fn values_have_the_kind_of_their_column() {
        for r in [row("198.18.0.7", true, 0), row("2001:db8::1", false, 0)] {
            for (v, (name, kind)) in values(&r).iter().zip(KINDS) {
                let ok = matches!(
                    (v, kind),
                    (Value::Text(Some(_)), Kind::Text)
                        | (Value::Text(_), Kind::OptText)
                        | (Value::List(_), Kind::List)
                        | (Value::Bool(_), Kind::OptBool)
                        | (Value::UInt(Some(_)), Kind::UInt32)
                        | (Value::UInt(_), Kind::OptUInt64)
                        | (Value::Time(_), Kind::Timestamp)
                );
                assert!(ok, "{name}: {v:?} is not a {kind:?}");
            }
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
