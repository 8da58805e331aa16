//! Counts per prefix, as rows stream by: the summary a scan writes.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write;

use ptraudit_scan::{Prefix, Row, Sink, SinkError};

use crate::counts::Counts;

/// Aggregates rows per their `prefix` column. Memory grows with the number of prefixes,
/// not of rows.
#[derive(Debug, Default)]
pub struct Summary {
    prefixes: HashMap<Prefix, Counts>,
    totals: Counts,
}

/// Header of the summary CSV.
pub(crate) const SUMMARY_COLUMNS: [&str; 9] = [
    "prefix",
    "addresses",
    "with_ptr",
    "fcrdns_pass",
    "fcrdns_fail",
    "generic",
    "mail_ready",
    "errors",
    // Appended (issue 17): readers that know the first eight columns still work.
    "multi_ptr_unconfirmed",
];

impl Summary {
    /// Counts one more row.
    pub fn add(&mut self, r: &Row) {
        self.prefixes.entry(r.prefix).or_default().add(r);
        self.totals.add(r);
    }

    /// Counts over every row.
    pub fn totals(&self) -> Counts {
        self.totals
    }

    /// `(prefix, counts)` in address order.
    pub fn prefixes(&self) -> Vec<(Prefix, Counts)> {
        let mut v: Vec<(Prefix, Counts)> = self.prefixes.iter().map(|(p, c)| (*p, *c)).collect();
        v.sort_by_key(|(p, _)| *p);
        v
    }

    /// Writes the summary as CSV (a header, then one line per prefix: `prefix`, `addresses`, `with_ptr`,
    /// `fcrdns_pass`, `fcrdns_fail`, `generic`, `mail_ready`, `errors`,
    /// `multi_ptr_unconfirmed`).
    pub fn write_csv(&self, out: impl Write) -> Result<(), csv::Error> {
        let mut w = csv::Writer::from_writer(out);
        w.write_record(SUMMARY_COLUMNS)?;
        for (prefix, c) in self.prefixes() {
            w.write_record([
                prefix.to_string(),
                c.addresses.to_string(),
                c.with_ptr.to_string(),
                c.pass.to_string(),
                c.fail().to_string(),
                c.generic.to_string(),
                c.mail_ready.to_string(),
                c.errors.to_string(),
                c.multi_ptr_unconfirmed.to_string(),
            ])?;
        }
        w.flush()?;
        Ok(())
    }

    /// A short table for a terminal: the totals, then up to `limit` prefixes, those with
    /// the smallest share of mail-ready addresses first.
    pub fn table(&self, limit: usize) -> String {
        let mut rows = self.prefixes();
        rows.sort_by(|a, b| a.1.mail_ready_share().total_cmp(&b.1.mail_ready_share()));
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{:<24} {:>9} {:>9} {:>9} {:>9} {:>9} {:>10} {:>7}",
            "prefix", "addresses", "with_ptr", "pass", "fail", "generic", "mail-ready", "errors"
        );
        let mut line = |name: &str, c: &Counts| {
            let _ = writeln!(
                s,
                "{:<24} {:>9} {:>9} {:>9} {:>9} {:>9} {:>10} {:>7}",
                name,
                c.addresses,
                c.with_ptr,
                c.pass,
                c.fail(),
                c.generic,
                c.mail_ready,
                c.errors
            );
        };
        line("total", &self.totals);
        for (p, c) in rows.iter().take(limit) {
            line(&p.to_string(), c);
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
        self.add(r);
        Ok(())
    }
}
