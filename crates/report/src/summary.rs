//! Counts per prefix: the hygiene report.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write;
use std::net::IpAddr;

use ptraudit_scan::{Fcrdns, Row, Sink, SinkError};

/// Counts for one prefix (or the total).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Addresses scanned.
    pub addresses: u64,
    /// With at least one PTR name.
    pub with_ptr: u64,
    /// FCrDNS pass.
    pub fcrdns_pass: u64,
    /// FCrDNS fail (PTR present, no forward confirmation).
    pub fcrdns_fail: u64,
    /// PTR name looks generic.
    pub generic: u64,
    /// FCrDNS pass and a custom name: what a mail server needs.
    pub custom_pass: u64,
    /// temperror rows (SERVFAIL, REFUSED, TIMEOUT).
    pub errors: u64,
}

impl Counts {
    fn add(&mut self, r: &Row) {
        self.addresses += 1;
        self.with_ptr += u64::from(!r.ptr_all.is_empty());
        self.fcrdns_pass += u64::from(r.fcrdns == Fcrdns::Pass);
        self.fcrdns_fail += u64::from(r.fcrdns == Fcrdns::Fail);
        self.generic += u64::from(r.generic == Some(true));
        self.custom_pass += u64::from(r.fcrdns == Fcrdns::Pass && r.generic == Some(false));
        self.errors += u64::from(r.fcrdns == Fcrdns::TempError);
    }
}

/// Aggregates rows per their `prefix` column.
#[derive(Debug, Default)]
pub struct Summary {
    prefixes: HashMap<String, (IpAddr, Counts)>,
    totals: Counts,
}

/// Header of the summary CSV.
pub const SUMMARY_COLUMNS: [&str; 8] = [
    "prefix",
    "addresses",
    "with_ptr",
    "fcrdns_pass",
    "fcrdns_fail",
    "generic",
    "custom_pass",
    "errors",
];

impl Summary {
    /// Counts over every row.
    pub fn totals(&self) -> Counts {
        self.totals
    }

    /// `(prefix, counts)` in address order.
    pub fn prefixes(&self) -> Vec<(&str, Counts)> {
        let mut v: Vec<(&str, IpAddr, Counts)> = self
            .prefixes
            .iter()
            .map(|(p, (ip, c))| (p.as_str(), *ip, *c))
            .collect();
        v.sort_by_key(|(_, ip, _)| *ip);
        v.into_iter().map(|(p, _, c)| (p, c)).collect()
    }

    /// Writes the summary as CSV (header [`SUMMARY_COLUMNS`], one line per prefix).
    pub fn write_csv(&self, out: impl Write) -> Result<(), csv::Error> {
        let mut w = csv::Writer::from_writer(out);
        w.write_record(SUMMARY_COLUMNS)?;
        for (prefix, c) in self.prefixes() {
            w.write_record([
                prefix.to_string(),
                c.addresses.to_string(),
                c.with_ptr.to_string(),
                c.fcrdns_pass.to_string(),
                c.fcrdns_fail.to_string(),
                c.generic.to_string(),
                c.custom_pass.to_string(),
                c.errors.to_string(),
            ])?;
        }
        w.flush()?;
        Ok(())
    }

    /// A short table for a terminal: the totals, then up to `limit` prefixes, those with
    /// the smallest share of mail-ready (custom + pass) addresses first.
    pub fn table(&self, limit: usize) -> String {
        let mut rows = self.prefixes();
        rows.sort_by(|a, b| {
            let share = |c: &Counts| c.custom_pass as f64 / c.addresses.max(1) as f64;
            share(&a.1).total_cmp(&share(&b.1))
        });
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{:<24} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7}",
            "prefix", "addresses", "with_ptr", "pass", "fail", "generic", "mail-ok", "errors"
        );
        let mut line = |name: &str, c: &Counts| {
            let _ = writeln!(
                s,
                "{:<24} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7}",
                name,
                c.addresses,
                c.with_ptr,
                c.fcrdns_pass,
                c.fcrdns_fail,
                c.generic,
                c.custom_pass,
                c.errors
            );
        };
        line("total", &self.totals);
        for (p, c) in rows.iter().take(limit) {
            line(p, c);
        }
        if rows.len() > limit {
            let _ = writeln!(
                s,
                "… {} more prefixes in the summary file",
                rows.len() - limit
            );
        }
        s
    }
}

impl Sink for Summary {
    fn row(&mut self, r: &Row) -> Result<(), SinkError> {
        // Looked up by reference first: a new key (and its parsed network) only once per
        // prefix, not per row.
        if let Some((_, counts)) = self.prefixes.get_mut(&r.prefix) {
            counts.add(r);
        } else {
            let network = r
                .prefix
                .split('/')
                .next()
                .and_then(|a| a.parse().ok())
                .unwrap_or(r.ip);
            let mut counts = Counts::default();
            counts.add(r);
            self.prefixes.insert(r.prefix.clone(), (network, counts));
        }
        self.totals.add(r);
        Ok(())
    }
}
