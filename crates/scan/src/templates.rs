//! Neighbourhood templates in a scan: the rows of one summary prefix judged together
//! ([`ptraudit_classify::templates`]) before they are written.
//!
//! Rows are held per prefix until no later row can belong to it, then revised and passed
//! on. "No later row can belong to it" comes from the order of the work: in a linear
//! brute-force scan and in a walk, plan positions grow with addresses, so once every
//! position below `d` is done ([`Sink::done`]), every later row lies above the highest
//! address seen below `d`, and each prefix that ends at or before that address is
//! complete. Memory is the window's rows plus one prefix. `done` is passed on only for
//! positions whose rows have been passed on, so a checkpoint never records a held row.
//! A random order has no such bound: [`Templated`] is only for linear scans and walks.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;

use ptraudit_classify::Rules;

use crate::checkpoint::Checkpoint;
use crate::row::{Prefix, Row, Sink, SinkError};

/// A sink that applies neighbourhood templates per summary prefix before passing rows to
/// `inner`. See the module documentation.
#[derive(Debug)]
pub struct Templated<S: Sink> {
    inner: S,
    rules: Arc<Rules>,
    /// Rows held, by prefix, with their plan positions.
    held: BTreeMap<Prefix, Vec<(u64, Row)>>,
    /// Positions done (as told by the engine).
    done: Checkpoint,
    /// Positions of the held rows, counted (a walk writes many rows per position).
    held_seqs: BTreeMap<u64, u32>,
    /// Addresses of rows at or above the done watermark, by position (the highest of a
    /// position's rows).
    above: BTreeMap<u64, IpAddr>,
    /// The highest address of the rows below the done watermark.
    seen: Option<IpAddr>,
    /// `done` has been passed on below this position.
    passed: u64,
    /// Rows whose names a template turned generic.
    revised: u64,
}

/// The last address of a prefix.
fn last_address(p: &Prefix) -> IpAddr {
    match p.network() {
        IpAddr::V4(a) => {
            let host = u32::MAX.checked_shr(u32::from(p.bits())).unwrap_or(0);
            IpAddr::V4((u32::from(a) | host).into())
        }
        IpAddr::V6(a) => {
            let host = u128::MAX.checked_shr(u32::from(p.bits())).unwrap_or(0);
            IpAddr::V6((u128::from(a) | host).into())
        }
    }
}

impl<S: Sink> Templated<S> {
    /// Rows to `inner`, judged with `rules` when a template revises them.
    pub fn new(inner: S, rules: Arc<Rules>) -> Self {
        Templated {
            inner,
            rules,
            held: BTreeMap::new(),
            done: Checkpoint::default(),
            held_seqs: BTreeMap::new(),
            above: BTreeMap::new(),
            seen: None,
            passed: 0,
            revised: 0,
        }
    }

    /// Rows a template turned generic so far.
    pub fn revised(&self) -> u64 {
        self.revised
    }

    /// The sink rows go to.
    pub fn into_inner(self) -> S {
        self.inner
    }

    /// The sink rows go to.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// The sink rows go to, to write to it directly (bypassing the templates).
    pub fn into_inner_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Judges and passes on the rows of `prefix`.
    fn flush(&mut self, prefix: Prefix) -> Result<(), SinkError> {
        // Rows leave in the order they came (completion order, as without templates);
        // `templates` orders its members itself.
        let Some(mut rows) = self.held.remove(&prefix) else {
            return Ok(());
        };
        let mut changes = Vec::new();
        // A template only turns custom names generic: with fewer custom names than a
        // template needs, there is nothing to find.
        let custom = rows
            .iter()
            .filter(|(_, r)| r.generic == Some(false))
            .count();
        let named: Vec<(usize, (IpAddr, &str))> = if custom >= ptraudit_classify::MIN_MEMBERS {
            rows.iter()
                .enumerate()
                .filter_map(|(i, (_, r))| r.ptr.as_deref().map(|n| (i, (r.ip, n))))
                .collect()
        } else {
            Vec::new()
        };
        if named.len() >= ptraudit_classify::MIN_MEMBERS {
            let input: Vec<(IpAddr, &str)> = named.iter().map(|(_, x)| *x).collect();
            for t in ptraudit_classify::templates(&input) {
                for &m in &t.members {
                    let (i, (ip, name)) = named[m];
                    let mut v = ptraudit_classify::classify_with(&self.rules, Some(ip), name);
                    v.apply_template(&t);
                    changes.push((i, v));
                }
            }
        }
        for (i, v) in changes {
            let row = &mut rows[i].1;
            self.revised += u64::from(row.generic != Some(v.generic));
            row.generic = Some(v.generic);
            row.generic_reasons = v.reasons.into_iter().map(|r| r.code).collect();
        }
        for (seq, row) in rows {
            if let Some(n) = self.held_seqs.get_mut(&seq) {
                *n -= 1;
                if *n == 0 {
                    self.held_seqs.remove(&seq);
                }
            }
            self.inner.row_owned(seq, row)?;
        }
        Ok(())
    }

    /// Passes `done` on for the positions below the lowest held row.
    fn pass_done(&mut self, all: bool) -> Result<(), SinkError> {
        let lowest_held = self.held_seqs.keys().next().copied();
        let upto = match lowest_held {
            Some(s) if !all => s.min(self.done.done_below()),
            _ => self.done.done_below(),
        };
        if upto > self.passed {
            self.inner.done(self.passed, upto - 1)?;
            self.passed = upto;
        }
        if all {
            let above: Vec<(u64, u64)> = self.done.done_above().collect();
            for (a, b) in above {
                self.inner.done(a, b)?;
            }
        }
        Ok(())
    }
}

impl<S: Sink> Sink for Templated<S> {
    fn row(&mut self, row: &Row) -> Result<(), SinkError> {
        self.row_at(u64::MAX, row)
    }

    fn row_at(&mut self, seq: u64, row: &Row) -> Result<(), SinkError> {
        self.row_owned(seq, row.clone())
    }

    fn row_owned(&mut self, seq: u64, row: Row) -> Result<(), SinkError> {
        *self.held_seqs.entry(seq).or_default() += 1;
        let ip = self.above.entry(seq).or_insert(row.ip);
        *ip = (*ip).max(row.ip);
        // Room for a /24 at once: growing by doubling would copy every row again.
        self.held
            .entry(row.prefix)
            .or_insert_with(|| Vec::with_capacity(256))
            .push((seq, row));
        Ok(())
    }

    fn done(&mut self, first: u64, last: u64) -> Result<(), SinkError> {
        let before = self.done.done_below();
        self.done.mark(first, last);
        let d = self.done.done_below();
        if d > before {
            // Every row below `d` has arrived; later ones lie above the highest of them.
            while let Some(entry) = self.above.first_entry() {
                if *entry.key() >= d {
                    break;
                }
                let ip = entry.remove();
                self.seen = Some(self.seen.map_or(ip, |s| s.max(ip)));
            }
            if let Some(seen) = self.seen {
                // Prefixes in address order (IPv4 first): those ending at or before
                // `seen` are complete.
                let complete: Vec<Prefix> = self
                    .held
                    .keys()
                    .take_while(|p| p.network() <= seen)
                    .filter(|p| last_address(p) <= seen)
                    .copied()
                    .collect();
                for p in complete {
                    self.flush(p)?;
                }
            }
        }
        self.pass_done(false)
    }

    fn finish(&mut self) -> Result<(), SinkError> {
        let all: Vec<Prefix> = self.held.keys().copied().collect();
        for p in all {
            self.flush(p)?;
        }
        self.pass_done(true)?;
        self.inner.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::row::{Fcrdns, PrefixLens};
    use ptraudit_dns::Status;

    fn row(ip: &str, name: &str) -> Row {
        let ip: IpAddr = ip.parse().unwrap();
        let v = ptraudit_classify::classify_with(Rules::builtin(), Some(ip), name);
        Row {
            ip,
            prefix: PrefixLens::DEFAULT.of(ip),
            ptr_status: Status::Answer,
            ptr: Some(name.to_string()),
            ptr_all: vec![name.to_string()],
            cname_chain: vec![],
            forward_addrs: vec![ip],
            fcrdns: Fcrdns::Pass,
            fcrdns_reason: None,
            generic: Some(v.generic),
            generic_reasons: v.reasons.into_iter().map(|r| r.code).collect(),
            resolver: None,
            attempts: 1,
            rtt_ms: None,
            scanned_at: std::time::SystemTime::UNIX_EPOCH,
            dnsbl: vec![],
            dnsbl_listed: None,
        }
    }

    /// Records what reaches the inner sink, and checks that `done` never runs ahead of
    /// the rows of the positions it marks.
    #[derive(Default)]
    struct Recorder {
        rows: Vec<(u64, Row)>,
        done: Checkpoint,
        finished: bool,
    }

    impl Sink for Recorder {
        fn row(&mut self, r: &Row) -> Result<(), SinkError> {
            self.rows.push((u64::MAX, r.clone()));
            Ok(())
        }
        fn row_at(&mut self, seq: u64, r: &Row) -> Result<(), SinkError> {
            assert!(!self.done.is_done(seq), "row {seq} after its done");
            self.rows.push((seq, r.clone()));
            Ok(())
        }
        fn done(&mut self, first: u64, last: u64) -> Result<(), SinkError> {
            for s in first..=last {
                assert!(
                    self.rows.iter().any(|(q, _)| *q == s),
                    "done {s} before its row"
                );
            }
            self.done.mark(first, last);
            Ok(())
        }
        fn finish(&mut self) -> Result<(), SinkError> {
            self.finished = true;
            Ok(())
        }
    }

    /// Feeds rows the way the engine does: in completion order (shuffled inside a
    /// window), each followed by its `done`.
    fn run(rows: Vec<Row>) -> (Recorder, u64) {
        let mut t = Templated::new(Recorder::default(), Arc::new(Rules::builtin().clone()));
        let mut order: Vec<usize> = (0..rows.len()).collect();
        // A deterministic shuffle within windows of 16.
        for chunk in order.chunks_mut(16) {
            chunk.reverse();
            chunk.rotate_left(5);
        }
        for i in order {
            t.row_at(i as u64, &rows[i]).unwrap();
            t.done(i as u64, i as u64).unwrap();
        }
        t.finish().unwrap();
        let revised = t.revised();
        (t.into_inner(), revised)
    }

    #[test]
    fn a_template_tracking_the_address_turns_its_prefix_generic_and_nothing_is_lost() {
        // 198.18.0.0/24: box<4700 + host>.area9.example.test, which no single-name
        // signal calls generic; 198.18.1.0/24: a customer's own hosts.
        let mut rows = Vec::new();
        for h in 1..=40u32 {
            rows.push(row(
                &format!("198.18.0.{h}"),
                &format!("box{}.area9.example.test", 4700 + h),
            ));
        }
        for (h, name) in [
            (1, "mail1.shop.test"),
            (2, "mail2.shop.test"),
            (3, "mail3.shop.test"),
        ] {
            rows.push(row(&format!("198.18.1.{h}"), name));
        }
        assert!(
            rows[..40].iter().all(|r| r.generic == Some(false)),
            "alone, custom"
        );
        let (out, revised) = run(rows.clone());
        assert!(out.finished);
        assert_eq!(out.rows.len(), rows.len());
        let seqs: std::collections::BTreeSet<u64> = out.rows.iter().map(|(s, _)| *s).collect();
        assert_eq!(seqs.len(), rows.len(), "every row once");
        assert_eq!(
            out.done.done_below(),
            rows.len() as u64,
            "every position done"
        );
        assert_eq!(revised, 40);
        for (_, r) in &out.rows {
            let templated = r.generic_reasons.iter().any(|c| c.starts_with("template:"));
            if r.ip.to_string().starts_with("198.18.0.") {
                assert!(templated && r.generic == Some(true), "{r:?}");
            } else {
                assert!(!templated && r.generic == Some(false), "{r:?}");
            }
        }
    }

    #[test]
    fn rows_leave_as_soon_as_their_prefix_is_complete() {
        // Three /24s in order: when the third begins, the first is out; memory is about
        // one prefix plus the window.
        let mut t = Templated::new(Recorder::default(), Arc::new(Rules::builtin().clone()));
        let mut seq = 0;
        for net in 0..3 {
            for h in 0..100 {
                let r = row(&format!("198.18.{net}.{h}"), "x.example.test");
                t.row_at(seq, &r).unwrap();
                t.done(seq, seq).unwrap();
                seq += 1;
            }
        }
        let inner = t.inner();
        // The first two /24s are complete once a row of the next one is below the mark.
        assert_eq!(inner.rows.len(), 200);
        assert_eq!(inner.done.done_below(), 200);
        assert_eq!(t.held.len(), 1);
    }
}
