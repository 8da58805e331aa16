//! Which resolver takes the next attempt: round robin over those with room in their
//! window, a retry moved to another one, and a resolver rested after a burst of
//! failures so its load moves to healthy ones.

use std::time::{Duration, Instant};

use super::Core;

#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Health {
    pub(super) consecutive_failures: u32,
    pub(super) penalty_until: Option<Instant>,
}

impl Core {
    /// Round robin over the resolvers whose window has room, skipping ones in a penalty
    /// period, and moving a retry to a resolver other than the last one when there is a
    /// choice. `None` when every usable resolver's window is full: the query waits for
    /// one of them to complete something, so each resolver gets work at the pace it
    /// completes it.
    pub(super) fn pick_resolver(&mut self, now: Instant, slot: u32) -> Option<u16> {
        let n = self.config.resolvers.len();
        let avoid = self.slots.get(slot as usize).and_then(|l| l.last_resolver);
        let any_healthy = (0..n).any(|r| self.healthy(now, r));
        let mut fallback = None;
        for step in 0..n {
            let r = (self.next_resolver + step) % n;
            // Resting resolvers are used only when every one rests: a query is never
            // refused for lack of resolvers.
            if any_healthy && !self.healthy(now, r) {
                continue;
            }
            if !self.has_room(r) {
                self.lanes[r].limited = true;
                continue;
            }
            if n > 1 && avoid == Some(r as u16) {
                fallback.get_or_insert(r);
                continue;
            }
            self.next_resolver = (r + 1) % n;
            return Some(r as u16);
        }
        let r = fallback?;
        self.next_resolver = (r + 1) % n;
        Some(r as u16)
    }

    fn healthy(&self, now: Instant, r: usize) -> bool {
        self.health[r]
            .penalty_until
            .is_none_or(|until| until <= now)
    }

    pub(super) fn note_failure(&mut self, now: Instant, resolver: u16) {
        let h = &mut self.health[resolver as usize];
        h.consecutive_failures += 1;
        // After a burst of failures, rest the resolver for a while that doubles with each
        // further failure (100 ms up to 10 s), so load moves to healthy ones.
        if h.consecutive_failures >= 8 {
            self.per_resolver[resolver as usize].rests += 1;
            let exp = (h.consecutive_failures - 8).min(7);
            let rest = Duration::from_millis(100 << exp).min(Duration::from_secs(10));
            h.penalty_until = Some(now + rest);
        }
    }
}
