//! The plan of a walk ([`WalkPlan`]): the targets cut into units — the /24s of IPv4,
//! the /64s of IPv6 — numbered globally, a shard's share of them numbered locally (the
//! positions of its checkpoint), the query budget, and the first sibling runs.

use super::frontier::Frame;
use super::tree::{host_mask, step, unit_host_bits, width};
use crate::targets::{Shard, TargetError, TargetSet, from_num};

/// Most units a walk may hold (IPv6 shorter than /2 is refused).
const MAX_UNITS: u64 = 1 << 62;

/// The plan of a walk: the targets cut into units, the shard's share of them, and the
/// query budget. Built by [`TargetSet::walk_plan`], run by
/// [`crate::Scanner::walk_until`].
#[derive(Debug, Clone)]
pub struct WalkPlan {
    pub(super) spans: Vec<WalkSpan>,
    shard: Shard,
    units: u64,
    pub(super) max_queries: Option<u64>,
}

/// One span of the targets (a single family), and the global number of its first unit.
#[derive(Debug, Clone, Copy)]
pub(super) struct WalkSpan {
    start: u128,
    end: u128,
    pub(super) v4: bool,
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
    pub(super) fn unit(&self, s: usize, addr: u128) -> u64 {
        let span = &self.spans[s];
        let hb = u32::from(unit_host_bits(span.v4));
        span.first_unit + ((addr >> hb) - (span.start >> hb)) as u64
    }

    /// The shard's own (local) units among the global units `ga..=gb`, if any.
    pub(super) fn local_bounds(&self, ga: u64, gb: u64) -> Option<(u64, u64)> {
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
    pub(super) fn local_range(&self, s: usize, a: u128, b: u128) -> Option<(u64, u64)> {
        self.local_bounds(self.unit(s, a), self.unit(s, b))
    }

    /// The addresses of local unit `l` that lie in `a..=b` (span `s`).
    pub(super) fn unit_addrs(&self, s: usize, l: u64, a: u128, b: u128) -> (u128, u128) {
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
    pub(super) fn roots(&self) -> Vec<Frame> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::walk::frontier::Walker;
    use crate::walk::tree::prefix;

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
