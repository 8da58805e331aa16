//! The reverse-tree walk (RFC 8020): a name that answers NXDOMAIN has nothing below it,
//! so one query prunes a whole subtree of `in-addr.arpa` (octets) or `ip6.arpa`
//! (nibbles).
//!
//! The walk is depth first over a stack of sibling runs ([`Frame`]), so its memory is
//! the depth times the window, whatever the range. Its work is numbered in **units** —
//! the /24s of IPv4, the /64s of IPv6, cut to the targets — which play the part plan
//! positions play in brute force: shards take every N-th unit, and a checkpoint records
//! units done. A unit's rows are written together once nothing in flight can still add
//! to it, so a checkpoint never holds half a unit.
//!
//! How each answer is read:
//! - NXDOMAIN: pruned. IPv4 addresses below get their row, inferred (`attempts 0`).
//! - NOERROR, with or without data: descend (16 or 256 children). At full depth the
//!   question *is* the PTR lookup: the address job carries on from there.
//! - Data at a node above full depth (IPv6): a probe of one random name below; the same
//!   answer means a wildcard, reported once for its parent and not enumerated.
//! - A referral, SERVFAIL, REFUSED, a timeout (IPv6): an unexplored node, reported with its
//!   prefix. IPv4 descends instead (bounded by the range, as brute force is).
//! - A node that exists but whose children all answer NXDOMAIN: noted (an empty zone, or
//!   a server answering NXDOMAIN for empty non-terminals, which a walk cannot see past).

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::SystemTime;

use ptraudit_dns::{Name, Outcome, Status, name_to_text, reverse_name};
use slab::Slab;

use crate::row::{Fcrdns, FcrdnsReason, Prefix, PrefixLens, Row};
use crate::targets::{Shard, TargetError, TargetSet, from_num};

const fn width(v4: bool) -> u8 {
    if v4 { 32 } else { 128 }
}

const fn step(v4: bool) -> u8 {
    if v4 { 8 } else { 4 }
}

/// Host bits of a unit: a /24 of IPv4, a /64 of IPv6.
const fn unit_host_bits(v4: bool) -> u8 {
    if v4 { 8 } else { 64 }
}

/// The addresses below a node of length `len` (all ones in the host part).
fn host_mask(len: u8, v4: bool) -> u128 {
    let host = u32::from(width(v4) - len);
    if host >= 128 {
        u128::MAX
    } else {
        (1u128 << host) - 1
    }
}

/// Most units a walk may hold (IPv6 shorter than /2 is refused).
const MAX_UNITS: u64 = 1 << 62;

/// The plan of a walk: the targets cut into units, the shard's share of them, and the
/// query budget. Built by [`TargetSet::walk_plan`], run by
/// [`crate::Scanner::walk_until`].
#[derive(Debug, Clone)]
pub struct WalkPlan {
    spans: Vec<WalkSpan>,
    shard: Shard,
    units: u64,
    max_queries: Option<u64>,
}

#[derive(Debug, Clone, Copy)]
struct WalkSpan {
    start: u128,
    end: u128,
    v4: bool,
    first_unit: u64,
}

impl TargetSet {
    /// The walk of this set for `shard`. Errors when the IPv6 targets are too large to
    /// number (wider than a /2).
    pub fn walk_plan(&self, shard: Shard) -> Result<WalkPlan, TargetError> {
        let mut spans = Vec::new();
        let mut units: u64 = 0;
        for (s, v4) in self.spans() {
            let hb = u32::from(unit_host_bits(v4));
            let blocks = (s.end >> hb) - (s.start >> hb) + 1;
            let total = u128::from(units) + blocks;
            if total > u128::from(MAX_UNITS) {
                return Err(TargetError::TooLarge(format!(
                    "{}-{}",
                    from_num(s.start, v4),
                    from_num(s.end, v4)
                )));
            }
            spans.push(WalkSpan {
                start: s.start,
                end: s.end,
                v4,
                first_unit: units,
            });
            units = total as u64;
        }
        Ok(WalkPlan {
            spans,
            shard,
            units,
            max_queries: None,
        })
    }
}

impl WalkPlan {
    /// Stop descending once this many queries have been sent; what is left is reported
    /// as unexplored.
    pub fn max_queries(mut self, n: Option<u64>) -> Self {
        self.max_queries = n;
        self
    }

    /// The query budget (`--max-queries`), if any.
    pub fn budget(&self) -> Option<u64> {
        self.max_queries
    }

    /// Units in this shard's share (the positions of its checkpoint and progress).
    pub fn len(&self) -> u64 {
        let Shard { index, count } = self.shard;
        if self.units <= index {
            0
        } else {
            (self.units - index).div_ceil(count)
        }
    }

    /// True when the shard's share is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The global unit of `addr` in span `s`.
    fn unit(&self, s: usize, addr: u128) -> u64 {
        let span = &self.spans[s];
        let hb = u32::from(unit_host_bits(span.v4));
        span.first_unit + ((addr >> hb) - (span.start >> hb)) as u64
    }

    /// The shard's own (local) units among the global units `ga..=gb`, if any.
    fn local_bounds(&self, ga: u64, gb: u64) -> Option<(u64, u64)> {
        let Shard { index, count } = self.shard;
        if gb < index {
            return None;
        }
        let la = if ga <= index {
            0
        } else {
            (ga - index).div_ceil(count)
        };
        let lb = (gb - index) / count;
        (la <= lb).then_some((la, lb))
    }

    /// The local units of the addresses `a..=b` of span `s`.
    fn local_range(&self, s: usize, a: u128, b: u128) -> Option<(u64, u64)> {
        self.local_bounds(self.unit(s, a), self.unit(s, b))
    }

    /// The addresses of local unit `l` that lie in `a..=b` (span `s`).
    fn unit_addrs(&self, s: usize, l: u64, a: u128, b: u128) -> (u128, u128) {
        let span = &self.spans[s];
        let g = l * self.shard.count + self.shard.index;
        let hb = u32::from(unit_host_bits(span.v4));
        let block = (span.start >> hb) + u128::from(g - span.first_unit);
        let first = (block << hb).max(span.start).max(a);
        let last = (((block + 1) << hb) - 1).min(span.end).min(b);
        (first, last)
    }

    /// The first sibling runs: each span cut into CIDR blocks, each block into the
    /// nodes at the next octet (nibble) boundary at or below its length.
    fn roots(&self) -> Vec<Frame> {
        let mut frames = Vec::new();
        for (i, span) in self.spans.iter().enumerate() {
            let w = width(span.v4);
            let mut at = span.start;
            loop {
                // The largest aligned block starting at `at` that stays inside the span.
                let mut len = w - (at.trailing_zeros().min(u32::from(w)) as u8);
                while (at | host_mask(len, span.v4)) > span.end {
                    len += 1;
                }
                let node_len = len.div_ceil(step(span.v4)) * step(span.v4);
                let node_len = node_len.min(w);
                frames.push(Frame {
                    span: i,
                    net: at,
                    len: node_len,
                    next: 0,
                    count: 1u32 << (node_len - len),
                    parent: None,
                    key: None,
                });
                let last = at | host_mask(len, span.v4);
                if last >= span.end {
                    break;
                }
                at = last + 1;
            }
        }
        // Popped from the end: lowest addresses first.
        frames.reverse();
        frames
    }
}

/// What a walk found beyond its rows: counts and the nodes worth a person's attention.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WalkSummary {
    /// Node questions answered (full-depth names are address lookups, not counted).
    pub nodes: u64,
    /// Nodes that answered NXDOMAIN: their subtree is empty.
    pub pruned: u64,
    /// IPv4 rows inferred from a pruned ancestor (`attempts 0`).
    pub inferred: u64,
    /// Wildcard probes sent.
    pub probes: u64,
    /// IPv6 nodes under a wildcard: reported, not enumerated.
    pub wildcards: Vec<Prefix>,
    /// IPv4 nodes that answered data above full depth (a wildcard, most likely): walked
    /// all the same, as brute force would.
    pub v4_wildcards: Vec<Prefix>,
    /// IPv6 nodes answered by a referral (a delegation the server does not serve).
    pub referrals: Vec<Prefix>,
    /// IPv6 nodes that failed after every retry (SERVFAIL, REFUSED, timeout), with how.
    pub unexplored: Vec<(Prefix, Status)>,
    /// Nodes left by the query budget.
    pub budget: Vec<Prefix>,
    /// Nodes that exist but have nothing below them: an empty zone, or a server that
    /// answers NXDOMAIN for empty non-terminals (RFC 8020 violation).
    pub empty: Vec<Prefix>,
}

/// A run of sibling nodes: `count` nodes of length `len` from `net`.
#[derive(Debug)]
struct Frame {
    span: usize,
    net: u128,
    len: u8,
    next: u32,
    count: u32,
    /// The expansion these are the children of (node children only).
    parent: Option<usize>,
    /// The pending key registered for the next child.
    key: Option<u64>,
}

/// A node whose children are being walked: what they answered.
#[derive(Debug)]
struct Expansion {
    span: usize,
    net: u128,
    len: u8,
    /// Children asked and not yet answered, plus one while children are still coming.
    open: u32,
    asked: u32,
    nx: u32,
    /// Every child was asked (none skipped by shard, resume, budget or wildcard).
    full: bool,
    wildcard: bool,
}

/// A node question in flight.
#[derive(Debug)]
struct Node {
    span: usize,
    net: u128,
    len: u8,
    key: u64,
    parent: Option<usize>,
    /// While its wildcard probe is out: the node's own answer.
    probing: Option<Outcome>,
}

#[derive(Debug, Default)]
struct UnitRows {
    rows: Vec<Row>,
    /// IPv4 addresses inferred NXDOMAIN (first, last, resolver of the pruning answer).
    inferred: Vec<(u128, u128, Option<SocketAddr>)>,
}

/// What to ask next.
pub(crate) enum Start {
    /// A full-depth name: the PTR lookup of an address, in local unit `seq`.
    Address { seq: u64, ip: IpAddr },
    /// A node question; `id` comes back to [`Walker::node_done`].
    Node { id: usize, name: Name },
}

/// The running state of one walk.
pub(crate) struct Walker<'p> {
    plan: &'p WalkPlan,
    lens: PrefixLens,
    skip: &'p dyn Fn(u64, u64) -> bool,
    stack: Vec<Frame>,
    exps: Slab<Expansion>,
    nodes: Slab<Node>,
    /// Local units that something live (frame, node, address) may still add rows to,
    /// counted: the lowest key bounds what may be written.
    pending: BTreeMap<u64, u32>,
    buffers: BTreeMap<u64, UnitRows>,
    /// Rows of nodes left unexplored (failures, budget): written at the end of a run
    /// that completes; their units are never marked done, so a resumed scan asks again.
    held: Vec<Row>,
    holes: BTreeMap<u64, u64>,
    /// Local units below this are written and marked.
    emitted: u64,
    pub(crate) summary: WalkSummary,
}

impl<'p> Walker<'p> {
    pub(crate) fn new(
        plan: &'p WalkPlan,
        lens: PrefixLens,
        skip: &'p dyn Fn(u64, u64) -> bool,
    ) -> Self {
        let mut w = Walker {
            plan,
            lens,
            skip,
            stack: plan.roots(),
            exps: Slab::new(),
            nodes: Slab::new(),
            pending: BTreeMap::new(),
            buffers: BTreeMap::new(),
            held: Vec::new(),
            holes: BTreeMap::new(),
            emitted: 0,
            summary: WalkSummary::default(),
        };
        for i in 0..w.stack.len() {
            w.rekey(i);
        }
        w
    }

    /// Local units written so far (progress).
    pub(crate) fn done(&self) -> u64 {
        self.emitted
    }

    fn register(&mut self, key: u64) {
        *self.pending.entry(key).or_default() += 1;
    }

    fn unregister(&mut self, key: u64) {
        if let Some(n) = self.pending.get_mut(&key) {
            *n -= 1;
            if *n == 0 {
                self.pending.remove(&key);
            }
        }
    }

    /// The address range of child `i` of a frame.
    fn child(frame: &Frame, i: u32, v4: bool) -> (u128, u128) {
        let size_bits = u32::from(width(v4) - frame.len);
        let net = frame.net + (u128::from(i) << size_bits);
        (net, net | host_mask(frame.len, v4))
    }

    /// The first address of a frame's next child.
    fn next_addr(&self, f: &Frame) -> u128 {
        let v4 = self.plan.spans[f.span].v4;
        Self::child(f, f.next.min(f.count - 1), v4).0
    }

    /// Re-registers frame `at` under the lowest local unit its remaining children can
    /// touch.
    fn rekey(&mut self, at: usize) {
        let frame = &self.stack[at];
        let old = frame.key;
        let new = (frame.next < frame.count).then(|| {
            let v4 = self.plan.spans[frame.span].v4;
            let (a, _) = Self::child(frame, frame.next, v4);
            let g = self.plan.unit(frame.span, a);
            self.plan
                .local_bounds(g, u64::MAX)
                .map_or(u64::MAX, |(la, _)| la)
        });
        if old == new {
            return;
        }
        if let Some(k) = old {
            self.unregister(k);
        }
        if let Some(k) = new {
            self.register(k);
        }
        self.stack[at].key = new;
    }

    /// The next question, or `None` when nothing can start now.
    pub(crate) fn next_start(&mut self, queries: u64) -> Option<Start> {
        loop {
            if self.plan.max_queries.is_some_and(|b| queries >= b) {
                // Nodes answering after this still push their children: those are left
                // too.
                self.exhaust();
                return None;
            }
            let top = self.stack.len().checked_sub(1)?;
            let frame = &self.stack[top];
            let wildcarded = frame.parent.is_some_and(|p| self.exps[p].wildcard);
            if frame.next >= frame.count || wildcarded {
                let frame = self.stack.pop()?;
                if let Some(k) = frame.key {
                    self.unregister(k);
                }
                if let Some(p) = frame.parent {
                    if frame.next < frame.count {
                        self.exps[p].full = false;
                    }
                    self.close(p);
                }
                continue;
            }
            let i = frame.next;
            let (span, len, parent) = (frame.span, frame.len, frame.parent);
            let v4 = self.plan.spans[span].v4;
            let (a, b) = Self::child(frame, i, v4);
            self.stack[top].next += 1;
            self.rekey(top);
            let Some((la, lb)) = self.plan.local_range(span, a, b) else {
                self.not_asked(parent);
                continue;
            };
            if (self.skip)(la, lb) {
                self.not_asked(parent);
                continue;
            }
            self.register(la);
            if let Some(p) = parent {
                let e = &mut self.exps[p];
                e.open += 1;
                e.asked += 1;
            }
            if len == width(v4) {
                return Some(Start::Address {
                    seq: la,
                    ip: from_num(a, v4),
                });
            }
            let id = self.nodes.insert(Node {
                span,
                net: a,
                len,
                key: la,
                parent,
                probing: None,
            });
            return Some(Start::Node {
                id,
                name: node_name(a, len, v4),
            });
        }
    }

    fn not_asked(&mut self, parent: Option<usize>) {
        if let Some(p) = parent {
            self.exps[p].full = false;
        }
    }

    /// One child of expansion `p` answered (or the run of children ended): once every
    /// child is in, see whether they were all NXDOMAIN.
    fn child_answered(&mut self, p: Option<usize>, nxdomain: bool) {
        if let Some(p) = p {
            let e = &mut self.exps[p];
            e.nx += u32::from(nxdomain);
            self.close(p);
        }
    }

    fn close(&mut self, p: usize) {
        let e = &mut self.exps[p];
        e.open -= 1;
        if e.open > 0 {
            return;
        }
        let e = self.exps.remove(p);
        if e.full && e.asked > 0 && e.nx == e.asked && !e.wildcard {
            let v4 = self.plan.spans[e.span].v4;
            self.summary.empty.push(prefix(e.net, e.len, v4));
        }
    }

    /// The query budget is spent: every child not yet asked becomes an unexplored node.
    fn exhaust(&mut self) {
        while let Some(frame) = self.stack.pop() {
            if let Some(k) = frame.key {
                self.unregister(k);
            }
            let v4 = self.plan.spans[frame.span].v4;
            for i in frame.next..frame.count {
                let (a, b) = Self::child(&frame, i, v4);
                let Some((la, lb)) = self.plan.local_range(frame.span, a, b) else {
                    continue;
                };
                if (self.skip)(la, lb) {
                    continue;
                }
                let p = prefix(a, frame.len, v4);
                self.summary.budget.push(p);
                let row = self.node_row(a, frame.len, v4, None, FcrdnsReason::WalkBudget);
                self.hold(row, la, lb);
            }
            if let Some(p) = frame.parent {
                self.exps[p].full = false;
                self.close(p);
            }
        }
    }

    fn hold(&mut self, row: Row, la: u64, lb: u64) {
        self.held.push(row);
        let e = self.holes.entry(la).or_insert(lb);
        *e = (*e).max(lb);
    }

    /// A row for a whole node: `ip` its first address, `prefix` the node itself.
    fn node_row(
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

    /// A node answered. Returns the name of a wildcard probe to send (its reply comes
    /// back to [`Walker::probe_done`] with the same `id`).
    pub(crate) fn node_done(&mut self, id: usize, outcome: Outcome) -> Option<Name> {
        self.summary.nodes += 1;
        let node = self.nodes.get(id)?;
        let v4 = self.plan.spans[node.span].v4;
        let (net, len) = (node.net, node.len);
        if outcome.status == Status::Answer && outcome.ptr_names().next().is_some() {
            if v4 {
                self.summary.v4_wildcards.push(prefix(net, len, v4));
            } else if node.parent.is_some_and(|p| self.exps[p].wildcard) {
                // Its parent is known to be wildcarded: covered by that report.
                self.forget(id, false);
                return None;
            } else {
                // Data above full depth: a wildcard, unless a random name below disagrees.
                let probe = random_below(net, len, v4);
                self.summary.probes += 1;
                self.nodes[id].probing = Some(outcome);
                return Some(reverse_name(from_num(probe, v4)));
            }
        }
        self.settle(id, outcome);
        None
    }

    /// The wildcard probe of node `id` answered.
    pub(crate) fn probe_done(&mut self, id: usize, probe: Outcome) {
        let Some(node) = self.nodes.get_mut(id) else {
            return;
        };
        let Some(own) = node.probing.take() else {
            return;
        };
        let mut a: Vec<&Name> = own.ptr_names().collect();
        let mut b: Vec<&Name> = probe.ptr_names().collect();
        a.sort();
        b.sort();
        if probe.status == Status::Answer && a == b {
            let (span, net, len, key, parent) =
                (node.span, node.net, node.len, node.key, node.parent);
            let v4 = self.plan.spans[span].v4;
            // The node itself answers from the wildcard, so the wildcard's owner is
            // directly below its parent: that is the node reported.
            let (wnet, wlen) = match parent {
                Some(p) => (self.exps[p].net, self.exps[p].len),
                None => (net, len),
            };
            if let Some(p) = parent {
                if self.exps[p].wildcard {
                    // A sibling's probe reported it already.
                    self.forget(id, false);
                    return;
                }
                self.exps[p].wildcard = true;
            }
            self.summary.wildcards.push(prefix(wnet, wlen, v4));
            let row = self.node_row(wnet, wlen, v4, Some(&own), FcrdnsReason::WalkWildcard);
            self.buffers.entry(key).or_default().rows.push(row);
            self.forget(id, false);
        } else {
            self.settle(id, own);
        }
    }

    /// Ends node `id` without descending.
    fn forget(&mut self, id: usize, nxdomain: bool) {
        let node = self.nodes.remove(id);
        self.unregister(node.key);
        self.child_answered(node.parent, nxdomain);
    }

    /// Acts on a node's answer: prune, descend, or report.
    fn settle(&mut self, id: usize, outcome: Outcome) {
        let Some(node) = self.nodes.get(id) else {
            return;
        };
        let (span, net, len, key) = (node.span, node.net, node.len, node.key);
        let v4 = self.plan.spans[span].v4;
        let last = net | host_mask(len, v4);
        match outcome.status {
            Status::NxDomain => {
                self.summary.pruned += 1;
                if v4 {
                    self.infer(span, net, last, outcome.resolver);
                }
                self.forget(id, true);
            }
            Status::NoData if outcome.referral && !v4 => {
                self.summary.referrals.push(prefix(net, len, v4));
                let row = self.node_row(net, len, v4, Some(&outcome), FcrdnsReason::WalkReferral);
                self.buffers.entry(key).or_default().rows.push(row);
                self.forget(id, false);
            }
            Status::Answer | Status::NoData => self.descend(id),
            _ if v4 => self.descend(id),
            failed => {
                self.summary.unexplored.push((prefix(net, len, v4), failed));
                let row = self.node_row(net, len, v4, Some(&outcome), FcrdnsReason::WalkUnexplored);
                if let Some((la, lb)) = self.plan.local_range(span, net, last) {
                    self.hold(row, la, lb);
                }
                self.forget(id, false);
            }
        }
    }

    /// Node `id` exists: its children come next (depth first: on top of the stack).
    fn descend(&mut self, id: usize) {
        let node = self.nodes.remove(id);
        let v4 = self.plan.spans[node.span].v4;
        let child_len = (node.len + step(v4)).min(width(v4));
        let parent = (child_len < width(v4)).then(|| {
            self.exps.insert(Expansion {
                span: node.span,
                net: node.net,
                len: node.len,
                open: 1,
                asked: 0,
                nx: 0,
                full: true,
                wildcard: false,
            })
        });
        let frame = Frame {
            span: node.span,
            net: node.net,
            len: child_len,
            next: 0,
            count: 1u32 << (child_len - node.len),
            parent,
            key: None,
        };
        // Siblings answer in any order; the stack stays sorted (lowest address on top)
        // so units complete in order and the checkpoint stays one contiguous prefix.
        // Frames hold disjoint ranges, so the next child's address orders them.
        let at = (node.span, node.net);
        let pos = self
            .stack
            .iter()
            .rposition(|f| (f.span, self.next_addr(f)) > at)
            .map_or(0, |i| i + 1);
        self.stack.insert(pos, frame);
        // The children's key before the node's goes: nothing below it is written early.
        self.rekey(pos);
        self.unregister(node.key);
        self.child_answered(node.parent, false);
    }

    /// IPv4 addresses `a..=b` of span `s` answered NXDOMAIN through an ancestor.
    fn infer(&mut self, s: usize, a: u128, b: u128, resolver: Option<SocketAddr>) {
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

fn prefix(net: u128, len: u8, v4: bool) -> Prefix {
    Prefix::clamped(from_num(net, v4), len)
}

/// The reverse name of a node: the octets (nibbles) of its first `len` bits, reversed.
pub(crate) fn node_name(net: u128, len: u8, v4: bool) -> Name {
    let mut labels: Vec<String> = Vec::new();
    if v4 {
        for i in 0..len / 8 {
            labels.push(((net >> (24 - 8 * u32::from(i))) & 0xff).to_string());
        }
    } else {
        for i in 0..len / 4 {
            labels.push(format!("{:x}", (net >> (124 - 4 * u32::from(i))) & 0xf));
        }
    }
    labels.reverse();
    let suffix = if v4 {
        ["in-addr", "arpa"]
    } else {
        ["ip6", "arpa"]
    };
    let all = labels.iter().map(String::as_str).chain(suffix);
    // Labels of 1-3 characters, at most 34 of them: always a valid name.
    let mut name = Name::from_labels(all.map(str::as_bytes)).unwrap_or_else(|_| Name::root());
    name.set_fqdn(true);
    name
}

/// A full-depth address below a node, drawn from its bits (SplitMix64): the same node
/// always probes the same name, so runs repeat.
fn random_below(net: u128, len: u8, v4: bool) -> u128 {
    let mut x = (net as u64) ^ ((net >> 64) as u64) ^ u64::from(len).rotate_left(56);
    let mut next = || {
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let bits = (u128::from(next()) << 64) | u128::from(next());
    net | (bits & host_mask(len, v4))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(targets: &[&str], shard: Shard) -> WalkPlan {
        let mut set = TargetSet::new();
        for t in targets {
            set.add_spec(t).unwrap();
        }
        set.walk_plan(shard).unwrap()
    }

    fn roots(p: &WalkPlan) -> Vec<String> {
        let mut out = Vec::new();
        for f in p.roots().iter().rev() {
            let v4 = p.spans[f.span].v4;
            for i in 0..f.count {
                let (a, _) = Walker::child(f, i, v4);
                out.push(prefix(a, f.len, v4).to_string());
            }
        }
        out
    }

    #[test]
    fn ranges_are_covered_by_the_nodes_at_their_boundary() {
        assert_eq!(
            roots(&plan(&["198.19.0.0/16"], Shard::ALL)),
            ["198.19.0.0/16"]
        );
        let r = roots(&plan(&["198.18.0.0/20"], Shard::ALL));
        assert_eq!(r.len(), 16);
        assert_eq!(
            (r[0].as_str(), r[15].as_str()),
            ("198.18.0.0/24", "198.18.15.0/24")
        );
        assert_eq!(
            roots(&plan(&["2001:db8::/33"], Shard::ALL)),
            (0..8)
                .map(|i| {
                    let ip: std::net::Ipv6Addr =
                        format!("2001:db8:{:x}::", i << 12).parse().unwrap();
                    format!("{ip}/36")
                })
                .collect::<Vec<_>>()
        );
        // A range off every boundary: addresses at the edges, nodes in the middle.
        let r = roots(&plan(&["198.18.0.254-198.18.2.1"], Shard::ALL));
        assert_eq!(
            r,
            [
                "198.18.0.254/32",
                "198.18.0.255/32",
                "198.18.1.0/24",
                "198.18.2.0/32",
                "198.18.2.1/32"
            ]
        );
    }

    #[test]
    fn node_names_are_the_reversed_octets_or_nibbles() {
        let n = |s: &str, len, v4| {
            let ip: IpAddr = s.parse().unwrap();
            let num = match ip {
                IpAddr::V4(a) => u128::from(u32::from(a)),
                IpAddr::V6(a) => u128::from(a),
            };
            node_name(num, len, v4).to_ascii()
        };
        assert_eq!(n("198.19.0.0", 16, true), "19.198.in-addr.arpa.");
        assert_eq!(n("198.19.5.0", 24, true), "5.19.198.in-addr.arpa.");
        assert_eq!(n("2001:db8::", 32, false), "8.b.d.0.1.0.0.2.ip6.arpa.");
        assert_eq!(
            n("2001:db8:f00::", 40, false),
            "f.0.8.b.d.0.1.0.0.2.ip6.arpa."
        );
        assert_eq!(n("0.0.0.0", 0, true), "in-addr.arpa.");
    }

    #[test]
    fn shards_split_units_exactly_once() {
        let whole = plan(&["198.18.0.0/20", "2001:db8::/60"], Shard::ALL);
        assert_eq!(whole.len(), 16 + 16);
        let mut seen = vec![0u32; 32];
        for i in 0..3 {
            let p = plan(
                &["198.18.0.0/20", "2001:db8::/60"],
                Shard { index: i, count: 3 },
            );
            for l in 0..p.len() {
                seen[(l * 3 + i) as usize] += 1;
            }
            // Local bounds of the whole range are the shard's whole share.
            assert_eq!(p.local_bounds(0, 31), Some((0, p.len() - 1)));
        }
        assert!(seen.iter().all(|&n| n == 1), "{seen:?}");
        let p = plan(&["198.18.0.0/20"], Shard { index: 1, count: 4 });
        assert_eq!(p.local_bounds(2, 4), None);
        assert_eq!(p.local_bounds(5, 5), Some((1, 1)));
        assert_eq!(
            p.unit_addrs(0, 1, 0, u128::MAX).0,
            u128::from(u32::from(std::net::Ipv4Addr::new(198, 18, 5, 0)))
        );
    }

    #[test]
    fn oversized_ipv6_walks_are_refused_by_name() {
        let mut set = TargetSet::new();
        set.add_spec("::/1").unwrap();
        let e = set.walk_plan(Shard::ALL).unwrap_err();
        assert!(e.to_string().contains("::"), "{e}");
    }
}
