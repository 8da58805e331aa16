//! The hygiene report: scan outputs aggregated per prefix or per PTR domain.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::io::Write;
use std::net::IpAddr;

use ptraudit_scan::{Fcrdns, Row, prefix_of};

/// Counts of one group (a prefix, a domain, or everything).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Hygiene {
    /// Addresses.
    pub addresses: u64,
    /// With at least one PTR name.
    pub with_ptr: u64,
    /// FCrDNS pass.
    pub pass: u64,
    /// FCrDNS fail: the name's addresses do not include the address.
    pub fail_mismatch: u64,
    /// FCrDNS fail: the name has no A/AAAA.
    pub fail_nodata: u64,
    /// FCrDNS fail: the name does not exist.
    pub fail_nxdomain: u64,
    /// No PTR.
    pub no_ptr: u64,
    /// The PTR name looks generic.
    pub generic: u64,
    /// Custom name and FCrDNS pass: ready to send mail.
    pub mail_ready: u64,
    /// temperror rows.
    pub errors: u64,
}

impl Hygiene {
    fn add(&mut self, r: &Row) {
        self.addresses += 1;
        self.with_ptr += u64::from(!r.ptr_all.is_empty());
        match r.fcrdns {
            Fcrdns::Pass => self.pass += 1,
            Fcrdns::Fail => match r.fcrdns_reason.as_deref() {
                Some("forward-nodata") => self.fail_nodata += 1,
                Some("forward-nxdomain") => self.fail_nxdomain += 1,
                _ => self.fail_mismatch += 1,
            },
            Fcrdns::NoPtr => self.no_ptr += 1,
            Fcrdns::TempError => self.errors += 1,
        }
        self.generic += u64::from(r.generic == Some(true));
        self.mail_ready += u64::from(r.fcrdns == Fcrdns::Pass && r.generic == Some(false));
    }

    /// Percentage of the PTR names that look generic.
    pub fn generic_share(&self) -> f64 {
        100.0 * self.generic as f64 / self.with_ptr.max(1) as f64
    }

    /// FCrDNS failures of any reason.
    pub fn fail(&self) -> u64 {
        self.fail_mismatch + self.fail_nodata + self.fail_nxdomain
    }

    /// The hygiene score: the percentage of the addresses that were *decided* (not
    /// temperror) whose reverse DNS is forward-confirmed. An address without PTR counts
    /// against it (RFC 1912: every host should have one), as does every PTR that does
    /// not resolve back. 100 means every address has a PTR that leads back to it.
    pub fn score(&self) -> f64 {
        let decided = self.addresses - self.errors;
        if decided == 0 {
            return 0.0;
        }
        100.0 * self.pass as f64 / decided as f64
    }
}

/// How to group rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    /// By network prefix of the given lengths (IPv4, IPv6).
    Prefix(u8, u8),
    /// By the registered domain of the PTR name.
    Domain,
}

/// Second-level labels under which registrations happen one level deeper (`co.uk`).
const TWO_LEVEL: &[&str] = &[
    "co", "com", "net", "org", "ne", "or", "ac", "gov", "edu", "ad", "gr", "lg", "go",
];

/// The registered domain of a name, approximately: the last two labels, or three under
/// country second levels like `co.uk`, `com.au`, `ne.jp`.
pub fn registered_domain(name: &str) -> String {
    let labels: Vec<&str> = name.trim_end_matches('.').split('.').collect();
    let n = labels.len();
    let take = if n >= 3 && labels[n - 1].len() == 2 && TWO_LEVEL.contains(&labels[n - 2]) {
        3
    } else {
        2
    };
    labels[n.saturating_sub(take)..].join(".")
}

/// Status of one address for the map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell {
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
}

impl Cell {
    fn of(r: &Row) -> Cell {
        match (r.fcrdns, r.generic) {
            (Fcrdns::Pass, Some(true)) => Cell::GenericPass,
            (Fcrdns::Pass, _) => Cell::CustomPass,
            (Fcrdns::Fail, _) => Cell::Fail,
            (Fcrdns::NoPtr, _) => Cell::NoPtr,
            (Fcrdns::TempError, _) => Cell::Error,
        }
    }
}

/// Aggregated scan outputs.
#[derive(Debug)]
pub struct Report {
    by: GroupBy,
    groups: HashMap<String, (Option<IpAddr>, Hygiene)>,
    total: Hygiene,
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
            total: Hygiene::default(),
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
        let (key, network) = match self.by {
            GroupBy::Prefix(v4, v6) => {
                let p = prefix_of(r.ip, v4, v6);
                let net = p.split('/').next().and_then(|a| a.parse().ok());
                (p, net)
            }
            GroupBy::Domain => match &r.ptr {
                Some(name) => (registered_domain(name), None),
                None => ("(no PTR)".to_string(), None),
            },
        };
        self.groups
            .entry(key)
            .or_insert((network, Hygiene::default()))
            .1
            .add(r);
        if let IpAddr::V4(v4) = r.ip {
            let n = u32::from(v4);
            self.cells
                .entry(n >> 16)
                .or_default()
                .insert((n & 0xffff) as u16, Cell::of(r));
        }
    }

    /// Totals over every address.
    pub fn total(&self) -> Hygiene {
        self.total
    }

    /// Rows ignored because their address was seen before.
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }

    /// Groups, worst first: lowest hygiene score, then most addresses.
    pub fn groups(&self) -> Vec<(&str, Hygiene)> {
        let mut v: Vec<(&str, Option<IpAddr>, Hygiene)> = self
            .groups
            .iter()
            .map(|(k, (net, h))| (k.as_str(), *net, *h))
            .collect();
        v.sort_by(|a, b| {
            a.2.score()
                .total_cmp(&b.2.score())
                .then(b.2.addresses.cmp(&a.2.addresses))
                .then(a.1.cmp(&b.1))
                .then(a.0.cmp(b.0))
        });
        v.into_iter().map(|(k, _, h)| (k, h)).collect()
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
        w.write_record([
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
        ])?;
        for (k, h) in self.groups() {
            w.write_record([
                k.to_string(),
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
                format!("{:.1}", 100.0 * h.pass as f64 / h.addresses.max(1) as f64),
                format!("{:.1}", h.score()),
            ])?;
        }
        w.flush()?;
        Ok(())
    }

    /// A text table of the totals and the `limit` worst groups.
    pub fn table(&self, limit: usize) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{:<28} {:>9} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>6}",
            self.group_name(),
            "addresses",
            "ptr",
            "pass",
            "fail",
            "no-ptr",
            "generic",
            "mail-ok",
            "score"
        );
        let mut line = |k: &str, h: &Hygiene| {
            let _ = writeln!(
                s,
                "{:<28} {:>9} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>6.1}",
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
        };
        line("total", &self.total);
        for (k, h) in self.groups().iter().take(limit) {
            line(k, h);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_domains() {
        assert_eq!(
            registered_domain("c-1-2-3-4.hsd1.ca.comcast.net"),
            "comcast.net"
        );
        assert_eq!(
            registered_domain("host86-1.range86-1.btcentralplus.co.uk"),
            "btcentralplus.co.uk"
        );
        assert_eq!(registered_domain("mail.example.test."), "example.test");
        assert_eq!(registered_domain("localhost"), "localhost");
    }

    #[test]
    fn score_definition() {
        let h = Hygiene {
            addresses: 10,
            pass: 6,
            errors: 2,
            ..Hygiene::default()
        };
        assert!((h.score() - 75.0).abs() < 1e-9);
        assert_eq!(Hygiene::default().score(), 0.0);
    }
}
