//! The rows of a walk: a row for a whole node (wildcard, referral, unexplored, budget),
//! IPv4 rows inferred from a pruned ancestor, the rows held for unexplored nodes and
//! their holes in the checkpoint, and the units written in order once nothing live can
//! add to them.

use std::net::{IpAddr, SocketAddr};
use std::time::SystemTime;

use ptraudit_dns::{Outcome, Status, name_to_text};

use super::frontier::Walker;
use super::tree::prefix;
use crate::row::{Fcrdns, FcrdnsReason, Row};
use crate::targets::from_num;

/// The rows of one local unit, gathered until the unit can be written.
#[derive(Debug, Default)]
pub(super) struct UnitRows {
    pub(super) rows: Vec<Row>,
    /// IPv4 addresses inferred NXDOMAIN (first, last, resolver of the pruning answer).
    inferred: Vec<(u128, u128, Option<SocketAddr>)>,
}

impl Walker<'_> {
    /// Keeps a row of an unexplored node for the end of the run; its local units
    /// `la..=lb` become a hole, never marked done.
    pub(super) fn hold(&mut self, row: Row, la: u64, lb: u64) {
        self.held.push(row);
        let e = self.holes.entry(la).or_insert(lb);
        *e = (*e).max(lb);
    }

    /// A row for a whole node: `ip` its first address, `prefix` the node itself.
    pub(super) fn node_row(
        &self,
        net: u128,
        len: u8,
        v4: bool,
        outcome: Option<&Outcome>,
        reason: FcrdnsReason,
    ) -> Row {
        let ptr_all: Vec<String> = outcome
            .map(|o| o.ptr_names().map(name_to_text).collect())
            .unwrap_or_default();
        Row {
            ip: from_num(net, v4),
            prefix: prefix(net, len, v4),
            ptr_status: outcome.map_or(Status::Timeout, |o| o.status),
            ptr: ptr_all.first().cloned(),
            ptr_all,
            cname_chain: Vec::new(),
            forward_addrs: Vec::new(),
            fcrdns: Fcrdns::TempError,
            fcrdns_reason: Some(reason),
            generic: None,
            generic_reasons: Vec::new(),
            resolver: outcome.and_then(|o| o.resolver),
            attempts: outcome.map_or(0, |o| u32::from(o.attempts)),
            rtt_ms: outcome
                .and_then(|o| o.rtt)
                .map(|d| d.as_micros().div_ceil(1000) as u64),
            scanned_at: SystemTime::now(),
            dnsbl: Vec::new(),
            dnsbl_listed: None,
        }
    }

    /// IPv4 addresses `a..=b` of span `s` answered NXDOMAIN through an ancestor.
    pub(super) fn infer(&mut self, s: usize, a: u128, b: u128, resolver: Option<SocketAddr>) {
        let Some((la, lb)) = self.plan.local_range(s, a, b) else {
            return;
        };
        for l in la..=lb {
            if (self.skip)(l, l) {
                continue;
            }
            let (first, last) = self.plan.unit_addrs(s, l, a, b);
            if first <= last {
                self.buffers
                    .entry(l)
                    .or_default()
                    .inferred
                    .push((first, last, resolver));
            }
        }
    }

    /// An address's row is done (`seq` its local unit). IPv6 names that do not exist
    /// were not found: no row.
    pub(crate) fn address_done(&mut self, seq: u64, row: Row) {
        self.unregister(seq);
        if row.ip.is_ipv6() && row.ptr_status == Status::NxDomain {
            return;
        }
        self.buffers.entry(seq).or_default().rows.push(row);
    }

    /// Writes every unit nothing live can add to any more, in order, and marks them
    /// done (apart from the holes of unexplored nodes). `end`: the run is over.
    pub(crate) fn emit<S: crate::Sink + ?Sized>(
        &mut self,
        sink: &mut S,
        stats: &mut crate::ScanStats,
        end: bool,
    ) -> Result<(), crate::SinkError> {
        let lw = match self.pending.keys().next() {
            Some(&k) if !end => k.min(self.plan.len()),
            _ => self.plan.len(),
        };
        while let Some(entry) = self.buffers.first_entry() {
            if *entry.key() >= lw {
                break;
            }
            let l = *entry.key();
            let unit = entry.remove();
            let mut rows = unit.rows;
            for (first, last, resolver) in unit.inferred {
                let v4 = true;
                for n in first..=last {
                    rows.push(self.inferred_row(from_num(n, v4), resolver));
                    self.summary.inferred += 1;
                }
            }
            rows.sort_by_key(|x| (x.ip, x.prefix.bits()));
            for row in &rows {
                count(stats, row);
                sink.row_at(l, row)?;
            }
        }
        if lw > self.emitted {
            let mut from = self.emitted;
            let holes: Vec<(u64, u64)> = self
                .holes
                .range(..lw)
                .map(|(&a, &b)| (a, b))
                .filter(|&(_, b)| b >= from)
                .collect();
            for (a, b) in holes {
                if a > from {
                    sink.done(from, a - 1)?;
                }
                from = from.max(b.saturating_add(1));
            }
            if from < lw {
                sink.done(from, lw - 1)?;
            }
            self.emitted = lw;
        }
        if end {
            for row in std::mem::take(&mut self.held) {
                count(stats, &row);
                sink.row(&row)?;
            }
        }
        Ok(())
    }

    fn inferred_row(&self, ip: IpAddr, resolver: Option<SocketAddr>) -> Row {
        Row {
            ip,
            prefix: self.lens.of(ip),
            ptr_status: Status::NxDomain,
            ptr: None,
            ptr_all: Vec::new(),
            cname_chain: Vec::new(),
            forward_addrs: Vec::new(),
            fcrdns: Fcrdns::NoPtr,
            fcrdns_reason: Some(FcrdnsReason::PtrNxdomain),
            generic: None,
            generic_reasons: Vec::new(),
            resolver,
            attempts: 0,
            rtt_ms: None,
            scanned_at: SystemTime::now(),
            dnsbl: Vec::new(),
            dnsbl_listed: None,
        }
    }
}

fn count(stats: &mut crate::ScanStats, row: &Row) {
    stats.addresses += 1;
    match row.fcrdns {
        Fcrdns::Pass => stats.pass += 1,
        Fcrdns::Fail => stats.fail += 1,
        Fcrdns::NoPtr => stats.no_ptr += 1,
        Fcrdns::TempError => stats.temperror += 1,
    }
}
