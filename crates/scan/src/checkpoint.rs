//! The plan-position checkpoint: which positions of a scan's plan are done, kept small
//! (a contiguous prefix plus the ranges done above it).

use std::collections::BTreeMap;

/// Which plan positions are done. The engine numbers its work by plan position (an
/// address of a brute-force plan, a unit of a walk: [`crate::Scanner::run_until`],
/// [`crate::Scanner::walk_until`]); after the rows of a position are written, the
/// sink is told it is done ([`crate::Sink::done`]) and marks it here; a resumed scan
/// skips the positions marked. A walk marks whole ranges at once (a pruned subtree).
///
/// ```
/// let mut done = ptraudit_scan::Checkpoint::default();
/// for seq in [0, 2, 1, 5] {
///     done.mark(seq, seq);
/// }
/// done.mark(10, 1_000_000);
/// assert_eq!(done.done_below(), 3);
/// assert!(done.is_done(5) && !done.is_done(3) && done.is_done(500));
/// assert!(done.all_done(10, 99) && !done.all_done(4, 6));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checkpoint {
    done_below: u64,
    /// Done ranges above `done_below`: first -> last (inclusive), disjoint, not touching.
    done: BTreeMap<u64, u64>,
    rows: u64,
}

impl Checkpoint {
    /// A checkpoint as recorded: every position below `done_below` is done, and so are
    /// the ranges `(first, last)` of `done_above`; `rows` rows were written.
    pub fn from_parts(
        done_below: u64,
        done_above: impl IntoIterator<Item = (u64, u64)>,
        rows: u64,
    ) -> Self {
        let mut c = Checkpoint {
            done_below,
            done: BTreeMap::new(),
            rows,
        };
        for (first, last) in done_above {
            c.mark(first, last);
        }
        c
    }

    /// True when plan position `seq` is done.
    pub fn is_done(&self, seq: u64) -> bool {
        self.all_done(seq, seq)
    }

    /// True when every position of `first..=last` is done.
    pub fn all_done(&self, first: u64, last: u64) -> bool {
        if last < self.done_below {
            return true;
        }
        let first = first.max(self.done_below);
        self.done
            .range(..=first)
            .next_back()
            .is_some_and(|(_, &end)| end >= last)
    }

    /// Records that every position of `first..=last` is done.
    pub fn mark(&mut self, first: u64, last: u64) {
        if last < first || last < self.done_below {
            return;
        }
        let mut first = first.max(self.done_below);
        let mut last = last;
        // Merge with every range that overlaps or touches.
        if let Some((&s, &e)) = self.done.range(..=first).next_back()
            && e.saturating_add(1) >= first
        {
            first = s;
            last = last.max(e);
        }
        let absorbed: Vec<u64> = self
            .done
            .range(first..=last.saturating_add(1))
            .map(|(&s, _)| s)
            .collect();
        for s in absorbed {
            if let Some(e) = self.done.remove(&s) {
                last = last.max(e);
            }
        }
        if first <= self.done_below {
            self.done_below = last.saturating_add(1);
        } else {
            self.done.insert(first, last);
        }
        // The contiguous prefix may now reach the next range.
        if let Some(e) = self.done.remove(&self.done_below) {
            self.done_below = e.saturating_add(1);
        }
    }

    /// Counts `n` more rows written.
    pub fn add_rows(&mut self, n: u64) {
        self.rows += n;
    }

    /// Every position below this is done.
    pub fn done_below(&self) -> u64 {
        self.done_below
    }

    /// The ranges `(first, last)` above [`Checkpoint::done_below`] that are done,
    /// ascending.
    pub fn done_above(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.done.iter().map(|(&s, &e)| (s, e))
    }

    /// Rows written.
    pub fn rows(&self) -> u64 {
        self.rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn done_set_stays_small_and_rebuilds_from_its_parts() {
        let mut c = Checkpoint::default();
        for seq in [0, 2, 1, 5, 3] {
            c.mark(seq, seq);
        }
        c.add_rows(5);
        assert_eq!(c.done_below(), 4);
        assert_eq!(c.done_above().collect::<Vec<_>>(), [(5, 5)]);
        assert!(c.is_done(3) && c.is_done(5) && !c.is_done(4));
        let again = Checkpoint::from_parts(c.done_below(), c.done_above(), c.rows());
        assert_eq!(again, c);
        // Parts that overlap the prefix are folded into it.
        let folded = Checkpoint::from_parts(2, [(1, 1), (2, 3), (7, 7)], 5);
        assert_eq!(folded.done_below(), 4);
        assert_eq!(folded.done_above().collect::<Vec<_>>(), [(7, 7)]);
    }

    #[test]
    fn ranges_merge_and_answer_like_a_set_of_positions() {
        // A reference set over a small universe: every mark and query agrees with it.
        let mut c = Checkpoint::default();
        let mut set = std::collections::BTreeSet::new();
        let marks = [
            (10, 20),
            (30, 30),
            (21, 29),
            (40, 50),
            (0, 3),
            (45, 60),
            (5, 8),
        ];
        for (a, b) in marks {
            c.mark(a, b);
            set.extend(a..=b);
            for first in 0..70 {
                for last in first..70 {
                    let want = (first..=last).all(|s| set.contains(&s));
                    assert_eq!(
                        c.all_done(first, last),
                        want,
                        "{first}..={last} after {a}..={b}"
                    );
                }
            }
        }
        assert_eq!(c.done_below(), 4);
        assert_eq!(
            c.done_above().collect::<Vec<_>>(),
            [(5, 8), (10, 30), (40, 60)]
        );
        c.mark(4, 9);
        assert_eq!(c.done_below(), 31);
        // A huge range (a pruned subtree) is one entry.
        c.mark(1 << 40, (1 << 41) - 1);
        assert_eq!(c.done_above().count(), 2);
        assert!(c.all_done(1 << 40, (1 << 41) - 1) && !c.all_done(1 << 40, 1 << 41));
    }
}
