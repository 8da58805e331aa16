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
//!
//! This room holds what a walk found ([`WalkSummary`]); the rest lives in rooms of its own:
//! - `plan` — [`WalkPlan`]: the targets cut into units, a shard's share of them, the
//!   first sibling runs.
//! - `tree` — the shape of the reverse tree: widths, steps, masks, node names, prefixes.
//! - `frontier` — the `Walker`: the stack of sibling runs, which question goes next,
//!   descending into a node, the units something live may still add rows to.
//! - `answers` — how a node's answer is read (the list above): prune, descend, probe for
//!   a wildcard, report; a node whose children all answer NXDOMAIN.
//! - `rows` — the walk's rows: node rows, inferred rows, rows held for unexplored
//!   nodes, and the units written in order.

mod answers;
mod frontier;
mod plan;
mod rows;
mod tree;

use ptraudit_dns::Status;

use crate::row::Prefix;

pub(crate) use self::frontier::{Start, Walker};
pub use self::plan::WalkPlan;

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
