//! The plan-position checkpoint: which positions of a scan's plan have their row
//! written, kept small (a contiguous prefix plus the few done above it).

use std::collections::BTreeSet;

/// Which plan positions are done. The engine numbers targets by plan position
/// ([`crate::Scanner::run_until`]); a sink marks each position whose row it wrote, and a
/// resumed scan skips the positions marked.
///
/// ```
/// let mut done = ptraudit_scan::Checkpoint::default();
/// for seq in [0, 2, 1, 5] {
///     done.mark(seq);
/// }
/// assert_eq!(done.done_below(), 3);
/// assert!(done.is_done(5) && !done.is_done(3));
/// assert_eq!(done.rows(), 4);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checkpoint {
    done_below: u64,
    done: BTreeSet<u64>,
    rows: u64,
}

impl Checkpoint {
    /// A checkpoint as recorded: every position below `done_below` is done, and so are
    /// those of `done_above`; `rows` rows were written.
    pub fn from_parts(
        done_below: u64,
        done_above: impl IntoIterator<Item = u64>,
        rows: u64,
    ) -> Self {
        let mut c = Checkpoint {
            done_below,
            done: done_above
                .into_iter()
                .filter(|&s| s >= done_below)
                .collect(),
            rows,
        };
        c.compact();
        c
    }

    /// True when plan position `seq` has its row written.
    pub fn is_done(&self, seq: u64) -> bool {
        seq < self.done_below || self.done.contains(&seq)
    }

    /// Records that position `seq` has its row written.
    pub fn mark(&mut self, seq: u64) {
        self.rows += 1;
        self.done.insert(seq);
        self.compact();
    }

    /// Keeps the set small: it only holds the positions above the contiguous prefix.
    fn compact(&mut self) {
        while self.done.remove(&self.done_below) {
            self.done_below += 1;
        }
    }

    /// Every position below this is done.
    pub fn done_below(&self) -> u64 {
        self.done_below
    }

    /// The positions at or above [`Checkpoint::done_below`] that are done, ascending.
    pub fn done_above(&self) -> impl Iterator<Item = u64> + '_ {
        self.done.iter().copied()
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
            c.mark(seq);
        }
        assert_eq!(c.done_below(), 4);
        assert_eq!(c.done_above().collect::<Vec<_>>(), [5]);
        assert!(c.is_done(3) && c.is_done(5) && !c.is_done(4));
        let again = Checkpoint::from_parts(c.done_below(), c.done_above(), c.rows());
        assert_eq!(again, c);
        // Parts that overlap the prefix are folded into it.
        assert_eq!(Checkpoint::from_parts(2, [1, 2, 3, 7], 5).done_below(), 4);
    }
}
