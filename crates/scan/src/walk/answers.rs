//! How a node's answer is read (RFC 8020): NXDOMAIN prunes the subtree, an answer or
//! NODATA descends, data above full depth is probed with a random name below to tell a
//! wildcard, and referrals and failures are reported as node rows.

use ptraudit_dns::{Name, Outcome, Status, reverse_name};

use super::frontier::Walker;
use super::tree::{host_mask, prefix};
use crate::row::FcrdnsReason;
use crate::targets::from_num;

impl Walker<'_> {
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
