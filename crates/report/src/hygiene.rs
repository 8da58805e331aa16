//! The hygiene report: scan outputs aggregated per prefix or per PTR domain.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt::{self, Write as _};
use std::io::Write;
use std::net::{IpAddr, Ipv6Addr};
use std::path::Path;

use ptraudit_classify::Rules;
use ptraudit_scan::{Fcrdns, Prefix, PrefixLens, Row, Sink, SinkError};

use crate::counts::{Counts, Facts};
use crate::read::ReadError;

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
    fn of(r: &Facts<'_>) -> Cell {
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

/// At most this many /16s keep a map cell per address (64 KiB each: 16 MiB in all).
/// Beyond it the /16s of the lowest addresses keep theirs; every /16 keeps its per-/24
/// tallies for the overview.
pub const MAP_BLOCKS_KEPT: usize = 256;

/// Per-/24 tallies for the overview map: enough for the hygiene score.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Tally {
    /// Addresses (at most 256).
    pub(crate) addresses: u16,
    /// FCrDNS pass.
    pub(crate) pass: u16,
    /// temperror.
    pub(crate) errors: u16,
}

impl Tally {
    /// As [`Counts::score`].
    pub(crate) fn score(&self) -> f64 {
        let decided = self.addresses - self.errors;
        if decided == 0 {
            return 0.0;
        }
        100.0 * f64::from(self.pass) / f64::from(decided)
    }
}

/// One IPv4 /16 with data: one bit per address (seen), the /24 tallies, and (for at
/// most [`MAP_BLOCKS_KEPT`] of them) a map cell per address. About 9.5 KiB without
/// the cells.
#[derive(Debug)]
struct Block16 {
    seen: Box<[u64; 1024]>,
    tally: Box<[Tally; 256]>,
    addresses: u32,
    cells: Option<Box<[u8; 65536]>>,
}

impl Block16 {
    fn new() -> Self {
        Block16 {
            seen: Box::new([0; 1024]),
            tally: Box::new([Tally::default(); 256]),
            addresses: 0,
            cells: None,
        }
    }
}

/// The IPv4 /24 overview of a large report: per /8 with data, a /24 per cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Overview8 {
    /// The /8's first octet.
    pub octet: u8,
    /// Per /24 of the /8 (index = second and third octets): `None` when not scanned,
    /// else (addresses, hygiene score).
    pub cells: Vec<Option<(u16, f64)>>,
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
///
/// Memory is bounded by the address space scanned, not by the rows: an IPv4 address
/// costs one bit (a bitmap per /16, allocated when the /16's first row arrives), a /24
/// six bytes of tallies, and the per-address map cells are kept for at most
/// [`MAP_BLOCKS_KEPT`] /16s. IPv6 addresses are kept in a set.
#[derive(Debug)]
pub struct Report {
    by: GroupBy,
    groups: Vec<(Group, Counts)>,
    index: HashMap<Group, usize>,
    /// The group of the previous row (rows come in address order: most rows hit it).
    last: Option<(Group, usize)>,
    total: Counts,
    /// Per /16 (network as u32 >> 16), allocated on the first IPv4 row.
    v4: Vec<Option<Block16>>,
    v6: HashSet<Ipv6Addr>,
    /// /16s holding map cells.
    with_cells: BTreeSet<u16>,
    /// Some /16 lost (or never had) its cells to the bound.
    cells_dropped: bool,
    duplicates: u64,
}

impl Report {
    /// An empty report.
    pub fn new(by: GroupBy) -> Self {
        Report {
            by,
            groups: Vec::new(),
            index: HashMap::new(),
            last: None,
            total: Counts::default(),
            v4: Vec::new(),
            v6: HashSet::new(),
            with_cells: BTreeSet::new(),
            cells_dropped: false,
            duplicates: 0,
        }
    }

    /// Adds a row; a second row for the same address (the same file given twice,
    /// overlapping shards) is counted in [`Report::duplicates`] and ignored.
    pub fn add(&mut self, r: &Row) {
        self.add_facts(&Facts::of(r));
    }

    /// Adds every row of a scan output (any format; Parquet parts of ptraudit's own
    /// types are read column by column, without building rows).
    pub fn add_file(&mut self, path: &Path) -> Result<(), ReadError> {
        crate::read::for_each_facts(path, |f| self.add_facts(f))
    }

    pub(crate) fn add_facts(&mut self, r: &Facts<'_>) {
        let new = match r.ip {
            IpAddr::V4(v4) => self.add_v4(u32::from(v4), r),
            IpAddr::V6(v6) => self.v6.insert(v6),
        };
        if !new {
            self.duplicates += 1;
            return;
        }
        self.total.add_facts(r);
        let key = match (self.by, r.ptr) {
            (GroupBy::Prefix(lens), _) => Group::Prefix(lens.of(r.ip)),
            (GroupBy::Domain, Some(name)) => {
                Group::Domain(Rules::builtin().registered_domain(name).to_string())
            }
            (GroupBy::Domain, None) => Group::NoPtr,
        };
        let k = match &self.last {
            Some((g, k)) if *g == key => *k,
            _ => {
                let k = match self.index.get(&key) {
                    Some(&k) => k,
                    None => {
                        self.groups.push((key.clone(), Counts::default()));
                        self.index.insert(key.clone(), self.groups.len() - 1);
                        self.groups.len() - 1
                    }
                };
                self.last = Some((key, k));
                k
            }
        };
        self.groups[k].1.add_facts(r);
    }

    /// Marks an IPv4 address seen and records its tallies and map cell; false when it
    /// was seen before.
    fn add_v4(&mut self, n: u32, r: &Facts<'_>) -> bool {
        if self.v4.is_empty() {
            self.v4.resize_with(1 << 16, || None);
        }
        let hi = (n >> 16) as usize;
        let lo = (n & 0xffff) as usize;
        if self.v4[hi].is_none() {
            self.v4[hi] = Some(Block16::new());
            self.keep_cells(hi as u16);
        }
        let Some(b) = self.v4[hi].as_mut() else {
            return false;
        };
        let (word, bit) = (lo / 64, 1u64 << (lo % 64));
        if b.seen[word] & bit != 0 {
            return false;
        }
        b.seen[word] |= bit;
        b.addresses += 1;
        let t = &mut b.tally[lo >> 8];
        t.addresses += 1;
        t.pass += u16::from(r.fcrdns == Fcrdns::Pass);
        t.errors += u16::from(r.fcrdns == Fcrdns::TempError);
        if let Some(cells) = b.cells.as_mut() {
            cells[lo] = Cell::of(r) as u8;
        }
        true
    }

    /// Gives a new /16 map cells if the bound allows: the [`MAP_BLOCKS_KEPT`] lowest
    /// /16s keep theirs.
    fn keep_cells(&mut self, hi: u16) {
        if self.with_cells.len() >= MAP_BLOCKS_KEPT {
            self.cells_dropped = true;
            let Some(&highest) = self.with_cells.last() else {
                return;
            };
            if highest < hi {
                return;
            }
            self.with_cells.remove(&highest);
            if let Some(b) = self.v4[usize::from(highest)].as_mut() {
                b.cells = None;
            }
        }
        self.with_cells.insert(hi);
        if let Some(b) = self.v4[usize::from(hi)].as_mut() {
            b.cells = Some(Box::new([0; 65536]));
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
            // After the columns reports always had, before the optional DNSBL ones.
            "multi_ptr_unconfirmed",
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
                h.multi_ptr_unconfirmed.to_string(),
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
            "{:<28} {:>9} {:>8} {:>8} {:>8} {:>8} {:>8} {:>10} {:>9} {:>6}",
            self.group_name(),
            "addresses",
            "ptr",
            "pass",
            "fail",
            "no-ptr",
            "generic",
            "mail-ready",
            "multi-ptr",
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
                "{:<28} {:>9} {:>8} {:>8} {:>8} {:>8} {:>8} {:>10} {:>9} {:>6.1}",
                k,
                h.addresses,
                h.with_ptr,
                h.pass,
                h.fail(),
                h.no_ptr,
                h.generic,
                h.mail_ready,
                h.multi_ptr_unconfirmed,
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
    /// at most `limit`, of the /16s that kept their cells (see [`MAP_BLOCKS_KEPT`]).
    pub fn map_blocks(&self, limit: usize) -> Vec<(u32, u8, Vec<u8>)> {
        let mut keys: Vec<(u16, u32)> = self
            .with_cells
            .iter()
            .filter_map(|&hi| Some((hi, self.v4[usize::from(hi)].as_ref()?.addresses)))
            .collect();
        keys.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        keys.into_iter()
            .take(limit)
            .filter_map(|(hi, _)| self.block(hi))
            .collect()
    }

    /// The worst map blocks: as [`Report::map_blocks`], lowest hygiene score of the /16
    /// first (then most populated, then by address).
    pub fn worst_map_blocks(&self, limit: usize) -> Vec<(u32, u8, Vec<u8>)> {
        let mut keys: Vec<(u16, f64, u32)> = self
            .with_cells
            .iter()
            .filter_map(|&hi| {
                let b = self.v4[usize::from(hi)].as_ref()?;
                let mut t = Counts::default();
                for x in b.tally.iter() {
                    t.addresses += u64::from(x.addresses);
                    t.pass += u64::from(x.pass);
                    t.errors += u64::from(x.errors);
                }
                Some((hi, t.score(), b.addresses))
            })
            .collect();
        keys.sort_by(|a, b| a.1.total_cmp(&b.1).then(b.2.cmp(&a.2)).then(a.0.cmp(&b.0)));
        keys.into_iter()
            .take(limit)
            .filter_map(|(hi, _, _)| self.block(hi))
            .collect()
    }

    fn block(&self, hi: u16) -> Option<(u32, u8, Vec<u8>)> {
        let cells = self.v4[usize::from(hi)].as_ref()?.cells.as_ref()?;
        let min = cells.iter().position(|&c| c != 0)? as u16;
        let max = cells.iter().rposition(|&c| c != 0)? as u16;
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
        let start = usize::from(base);
        let grid = cells[start..start + size].to_vec();
        Some(((u32::from(hi) << 16) | u32::from(base), 32 - bits, grid))
    }

    /// IPv4 /16s with data.
    pub fn v4_blocks(&self) -> usize {
        self.v4.iter().filter(|b| b.is_some()).count()
    }

    /// True when some /16 has no per-address map (more than [`MAP_BLOCKS_KEPT`] /16s).
    pub fn maps_dropped(&self) -> bool {
        self.cells_dropped
    }

    /// The /24 overview: per /8 with data, in address order, each /24's addresses and
    /// hygiene score.
    pub fn overview(&self) -> Vec<Overview8> {
        let mut out: Vec<Overview8> = Vec::new();
        for (hi, b) in self.v4.iter().enumerate() {
            let Some(b) = b else { continue };
            let octet = (hi >> 8) as u8;
            if out.last().is_none_or(|o| o.octet != octet) {
                out.push(Overview8 {
                    octet,
                    cells: vec![None; 1 << 16],
                });
            }
            let Some(o) = out.last_mut() else { continue };
            for (k, t) in b.tally.iter().enumerate() {
                if t.addresses > 0 {
                    o.cells[((hi & 0xff) << 8) | k] = Some((t.addresses, t.score()));
                }
            }
        }
        out
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

    /// An address counts once whichever way it comes back (IPv4 bitmap, IPv6 set), and
    /// map cells are kept for the lowest [`MAP_BLOCKS_KEPT`] /16s only, whatever order
    /// the /16s arrive in; every /16 keeps its /24 tallies.
    #[test]
    fn addresses_count_once_and_map_cells_stay_bounded() {
        let mut report = Report::new(GroupBy::Prefix(PrefixLens::DEFAULT));
        let n = MAP_BLOCKS_KEPT as u32 + 44;
        // Highest /16 first: each later, lower one evicts a kept higher one.
        for hi in (0..n).rev() {
            let ip = std::net::Ipv4Addr::from(0x0a00_0000 + (hi << 16) + 7);
            report.add(&row(&ip.to_string(), true, 0));
        }
        report.add(&row("10.0.0.7", true, 0));
        report.add(&row("2001:db8::1", true, 0));
        report.add(&row("2001:db8::1", false, 0));
        assert_eq!(report.total().addresses, u64::from(n) + 1);
        assert_eq!(report.duplicates(), 2);
        assert_eq!(report.v4_blocks(), n as usize);
        assert!(report.maps_dropped());
        let blocks = report.map_blocks(usize::MAX);
        assert_eq!(blocks.len(), MAP_BLOCKS_KEPT);
        let highest = blocks.iter().map(|b| b.0 >> 16).max().unwrap();
        assert_eq!(highest, 0x0a00 + MAP_BLOCKS_KEPT as u32 - 1);
        let overview = report.overview();
        assert_eq!(overview.len(), 2, "10/8 and 11/8");
        let scanned: usize = overview
            .iter()
            .map(|o| o.cells.iter().flatten().count())
            .sum();
        assert_eq!(scanned, n as usize);
    }
}
