//! The frontier of a walk: the [`Walker`], depth first over a stack of sibling runs
//! ([`Frame`]) — which question goes next, a node that exists pushing its children, the
//! expansions whose children are still answering, the query budget running out — and
//! the count of live things per local unit that bounds which units may be written.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ptraudit_dns::{Name, Outcome};
use slab::Slab;

use super::WalkSummary;
use super::plan::WalkPlan;
use super::rows::UnitRows;
use super::tree::{host_mask, node_name, prefix, step, width};
use crate::row::{FcrdnsReason, PrefixLens, Row};
use crate::targets::from_num;

/// A run of sibling nodes: `count` nodes of length `len` from `net`.
#[derive(Debug)]
pub(super) struct Frame {
    pub(super) span: usize,
    pub(super) net: u128,
    pub(super) len: u8,
    pub(super) next: u32,
    pub(super) count: u32,
    /// The expansion these are the children of (node children only).
    pub(super) parent: Option<usize>,
    /// The pending key registered for the next child.
    pub(super) key: Option<u64>,
}

/// A node whose children are being walked: what they answered.
#[derive(Debug)]
pub(super) struct Expansion {
    span: usize,
    pub(super) net: u128,
    pub(super) len: u8,
    /// Children asked and not yet answered, plus one while children are still coming.
    open: u32,
    asked: u32,
    nx: u32,
    /// Every child was asked (none skipped by shard, resume, budget or wildcard).
    full: bool,
    pub(super) wildcard: bool,
}

/// A node question in flight.
#[derive(Debug)]
pub(super) struct Node {
    pub(super) span: usize,
    pub(super) net: u128,
    pub(super) len: u8,
    pub(super) key: u64,
    pub(super) parent: Option<usize>,
    /// While its wildcard probe is out: the node's own answer.
    pub(super) probing: Option<Outcome>,
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
    pub(super) plan: &'p WalkPlan,
    pub(super) lens: PrefixLens,
    pub(super) skip: &'p dyn Fn(u64, u64) -> bool,
    stack: Vec<Frame>,
    pub(super) exps: Slab<Expansion>,
    pub(super) nodes: Slab<Node>,
    /// Local units that something live (frame, node, address) may still add rows to,
    /// counted: the lowest key bounds what may be written.
    pub(super) pending: BTreeMap<u64, u32>,
    pub(super) buffers: BTreeMap<u64, UnitRows>,
    /// Rows of nodes left unexplored (failures, budget): written at the end of a run
    /// that completes; their units are never marked done, so a resumed scan asks again.
    pub(super) held: Vec<Row>,
    pub(super) holes: BTreeMap<u64, u64>,
    /// Local units below this are written and marked.
    pub(super) emitted: u64,
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

    pub(super) fn unregister(&mut self, key: u64) {
        if let Some(n) = self.pending.get_mut(&key) {
            *n -= 1;
            if *n == 0 {
                self.pending.remove(&key);
            }
        }
    }

    /// The address range of child `i` of a frame.
    pub(super) fn child(frame: &Frame, i: u32, v4: bool) -> (u128, u128) {
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

    /// Ends node `id` without descending.
    pub(super) fn forget(&mut self, id: usize, nxdomain: bool) {
        let node = self.nodes.remove(id);
        self.unregister(node.key);
        self.child_answered(node.parent, nxdomain);
    }

    /// Node `id` exists: its children come next (depth first: on top of the stack).
    pub(super) fn descend(&mut self, id: usize) {
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
}
