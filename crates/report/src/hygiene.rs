//! The hygiene report: scan outputs aggregated per prefix or per PTR domain.

use std::collections::{HashMap, HashSet};
use std::fmt::{self, Write as _};
use std::io::Write;
use std::net::IpAddr;

use ptraudit_classify::Rules;
use ptraudit_scan::{Fcrdns, Prefix, PrefixLens, Row, Sink, SinkError};

use crate::counts::Counts;

/// How to group rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    /// By network prefix of the given lengths.
    Prefix(PrefixLens),
    /// By the registered domain of the PTR name ([`Rules::registered_domain`] of the
    /// built-in rules: the classifier's own notion).
    Domain,
}

/// One group of the report. Groups that tie on score and size are listed in this
/// order: rows without PTR first, then domains by name, prefixes by address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Group {
    /// Rows without a PTR name, grouped by domain.
    NoPtr,
    /// A registered domain.
    Domain(String),
    /// A network.
    Prefix(Prefix),
}

impl fmt::Display for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Group::Prefix(p) => p.fmt(f),
            Group::Domain(d) => f.write_str(d),
            Group::NoPtr => f.write_str("(no PTR)"),
        }
    }
}

/// Status of one address for the map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cell {
    /// Custom name, FCrDNS pass.
    CustomPass = 1,
    /// Generic name, FCrDNS pass.
    GenericPass = 2,
    /// FCrDNS fail.
    Fail = 3,
    /// No PTR.
    NoPtr = 4,
    /// temperror.
    Error = 5,
    /// On a DNSBL (whatever its PTR).
    Listed = 6,
}

impl Cell {
    fn of(r: &Row) -> Cell {
        if r.dnsbl_listed == Some(true) {
            return Cell::Listed;
        }
        match (r.fcrdns, r.generic) {
            (Fcrdns::Pass, Some(true)) => Cell::GenericPass,
            (Fcrdns::Pass, _) => Cell::CustomPass,
            (Fcrdns::Fail, _) => Cell::Fail,
            (Fcrdns::NoPtr, _) => Cell::NoPtr,
            (Fcrdns::TempError, _) => Cell::Error,
        }
    }
}

/// The report CSV's DNSBL columns (present when a list was checked).
const DNSBL_COLUMNS: [&str; 7] = [
    "dnsbl_checked",
    "listed",
    "listed_sbl",
    "listed_xbl",
    "listed_pbl",
    "listed_other",
    "listed_share",
];

/// Aggregated scan outputs.
#[derive(Debug)]
pub struct Report {
    by: GroupBy,
    groups: HashMap<Group, Counts>,
    total: Counts,
    seen: HashSet<IpAddr>,
    duplicates: u64,
    /// IPv4 statuses per /16 (network as u32 >> 16) for the maps: offset -> cell.
    cells: HashMap<u32, HashMap<u16, Cell>>,
}

impl Report {
    /// An empty report.
    pub fn new(by: GroupBy) -> Self {
        Report {
            by,
            groups: HashMap::new(),
            total: Counts::default(),
            seen: HashSet::new(),
            duplicates: 0,
            cells: HashMap::new(),
        }
    }

    /// Adds a row; a second row for the same address (the same file given twice,
    /// overlapping shards) is counted in [`Report::duplicates`] and ignored.
    pub fn add(&mut self, r: &Row) {
        if !self.seen.insert(r.ip) {
            self.duplicates += 1;
            return;
        }
        self.total.add(r);
        let key = match (self.by, &r.ptr) {
            (GroupBy::Prefix(lens), _) => Group::Prefix(lens.of(r.ip)),
            (GroupBy::Domain, Some(name)) => {
                Group::Domain(Rules::builtin().registered_domain(name).to_string())
            }
            (GroupBy::Domain, None) => Group::NoPtr,
        };
        self.groups.entry(key).or_default().add(r);
        if let IpAddr::V4(v4) = r.ip {
            let n = u32::from(v4);
            self.cells
                .entry(n >> 16)
                .or_default()
                .insert((n & 0xffff) as u16, Cell::of(r));
        }
    }

    /// Totals over every address.
    pub fn total(&self) -> Counts {
        self.total
    }

    /// Rows ignored because their address was seen before.
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }

    /// Groups, worst first: lowest hygiene score, then most addresses, then in address
    /// or name order.
    pub fn groups(&self) -> Vec<(&Group, Counts)> {
        let mut v: Vec<(&Group, Counts)> = self.groups.iter().map(|(k, c)| (k, *c)).collect();
        v.sort_by(|a, b| {
            a.1.score()
                .total_cmp(&b.1.score())
                .then(b.1.addresses.cmp(&a.1.addresses))
                .then(a.0.cmp(b.0))
        });
        v
    }

    /// What the groups are.
    pub fn group_name(&self) -> &'static str {
        match self.by {
            GroupBy::Prefix(..) => "prefix",
            GroupBy::Domain => "domain",
        }
    }

    /// The groups as CSV, worst first.
    pub fn write_csv(&self, out: impl Write) -> Result<(), csv::Error> {
        let mut w = csv::Writer::from_writer(out);
        // The DNSBL columns only when a list was checked: reports of scans without
        // `--dnsbl` keep their columns.
        let dnsbl = self.total.dnsbl();
        let mut header = vec![
            self.group_name(),
            "addresses",
            "with_ptr",
            "fcrdns_pass",
            "fail_mismatch",
            "fail_nodata",
            "fail_nxdomain",
            "no_ptr",
            "generic",
            "mail_ready",
            "errors",
            "generic_share",
            "pass_share",
            "hygiene_score",
        ];
        if dnsbl {
            header.extend(DNSBL_COLUMNS);
        }
        w.write_record(&header)?;
        for (k, h) in self.groups() {
            let mut record = vec![
                // A domain group is a stranger's name: guarded as in the row CSV.
                crate::text::csv_guard(&k.to_string()).into_owned(),
                h.addresses.to_string(),
                h.with_ptr.to_string(),
                h.pass.to_string(),
                h.fail_mismatch.to_string(),
                h.fail_nodata.to_string(),
                h.fail_nxdomain.to_string(),
                h.no_ptr.to_string(),
                h.generic.to_string(),
                h.mail_ready.to_string(),
                h.errors.to_string(),
                format!("{:.1}", h.generic_share()),
                format!("{:.1}", h.pass_share()),
                format!("{:.1}", h.score()),
            ];
            if dnsbl {
                record.extend([
                    h.dnsbl_checked.to_string(),
                    h.listed.to_string(),
                    h.listed_sbl.to_string(),
                    h.listed_xbl.to_string(),
                    h.listed_pbl.to_string(),
                    h.listed_other.to_string(),
                    format!("{:.1}", h.listed_share()),
                ]);
            }
            w.write_record(&record)?;
        }
        w.flush()?;
        Ok(())
    }

    /// A text table of the totals and the `limit` worst groups.
    pub fn table(&self, limit: usize) -> String {
        let mut s = String::new();
        let dnsbl = self.total.dnsbl();
        let _ = write!(
            s,
            "{:<28} {:>9} {:>8} {:>8} {:>8} {:>8} {:>8} {:>10} {:>6}",
            self.group_name(),
            "addresses",
            "ptr",
            "pass",
            "fail",
            "no-ptr",
            "generic",
            "mail-ready",
            "score"
        );
        if dnsbl {
            let _ = write!(
                s,
                " {:>7} {:>5} {:>5} {:>5} {:>5}",
                "listed", "SBL", "XBL", "PBL", "other"
            );
        }
        s.push('\n');
        let mut line = |k: &str, h: &Counts| {
            let _ = write!(
                s,
                "{:<28} {:>9} {:>8} {:>8} {:>8} {:>8} {:>8} {:>10} {:>6.1}",
                k,
                h.addresses,
                h.with_ptr,
                h.pass,
                h.fail(),
                h.no_ptr,
                h.generic,
                h.mail_ready,
                h.score()
            );
            if dnsbl {
                let _ = write!(
                    s,
                    " {:>7} {:>5} {:>5} {:>5} {:>5}",
                    h.listed, h.listed_sbl, h.listed_xbl, h.listed_pbl, h.listed_other
                );
            }
            s.push('\n');
        };
        line("total", &self.total);
        for (k, h) in self.groups().iter().take(limit) {
            // A domain group is a stranger's name: no terminal control reaches the screen.
            line(&crate::text::printable(&k.to_string()), h);
        }
        s
    }

    /// IPv4 map blocks: `(network, prefix length, cells)` for each /16 with data, the
    /// block shrunk to the smallest even-length prefix holding its addresses (a /20 scan
    /// draws as a 64×64 square, not a mostly empty 256×256 one). Most populated first,
    /// at most `limit`.
    pub fn map_blocks(&self, limit: usize) -> Vec<(u32, u8, Vec<u8>)> {
        let mut keys: Vec<(&u32, &HashMap<u16, Cell>)> = self.cells.iter().collect();
        keys.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(b.0)));
        keys.into_iter()
            .take(limit)
            .map(|(hi, cells)| {
                let min = cells.keys().min().copied().unwrap_or(0);
                let max = cells.keys().max().copied().unwrap_or(0);
                // Host bits needed to cover min..=max from an aligned start, rounded to even.
                let mut bits = 16 - (min ^ max).leading_zeros() as u8;
                if bits % 2 == 1 {
                    bits += 1;
                }
                bits = bits.max(8);
                let base = if bits >= 16 {
                    0
                } else {
                    min & !((1u16 << bits) - 1)
                };
                let size = 1usize << bits;
                let mut grid = vec![0u8; size];
                for (&off, &c) in cells {
                    let i = usize::from(off - base);
                    if i < size {
                        grid[i] = c as u8;
                    }
                }
                ((hi << 16) | u32::from(base), 32 - bits, grid)
            })
            .collect()
    }
}

/// A report built as a scan runs (the demo's HTML page).
impl Sink for Report {
    fn row(&mut self, r: &Row) -> Result<(), SinkError> {
        self.add(r);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::reference::row;

    #[test]
    fn domains_are_the_classifiers_registered_domains() {
        let mut report = Report::new(GroupBy::Domain);
        for (ip, name) in [
            ("198.18.0.1", "c-1-2-3-4.hsd1.ca.comcast.net"),
            ("198.18.0.2", "host86-1.range86-1.btcentralplus.co.uk"),
            // A two-letter country code under which `com` is not a public suffix of the
            // rules: the domain is the last two labels (the old list said three).
            ("198.18.0.3", "a.b.com.zz"),
        ] {
            let mut r = row(ip, true, 0);
            r.ptr = Some(name.into());
            report.add(&r);
        }
        report.add(&row("198.18.0.4", false, 0));
        let mut groups: Vec<String> = report.groups().iter().map(|(g, _)| g.to_string()).collect();
        groups.sort();
        assert_eq!(
            groups,
            ["(no PTR)", "btcentralplus.co.uk", "com.zz", "comcast.net"]
        );
    }
}
