//! Attempt deadlines: FIFO lanes per timeout value, a heap for the odd ones.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::time::{Duration, Instant};

/// Attempt deadlines `(at, slot, generation)`, cancelled lazily (a stale generation is
/// skipped when it comes due). A deadline is `now` plus a timeout, and timeouts take few
/// values (the adaptive floor, the first-attempt timeout, their doublings, TCP's), so
/// each value gets a FIFO lane whose deadlines come in order: O(1) each way. Timeouts
/// beyond [`LANES`] distinct values (an adaptive timeout above its floor varies with every
/// sample) go to a heap.
#[derive(Debug, Default)]
pub(super) struct Timers {
    // Seen by the core's tests, which check that both paths are exercised.
    pub(super) lanes: Vec<(Duration, VecDeque<Timer>)>,
    pub(super) heap: BinaryHeap<Reverse<Timer>>,
}

/// A deadline, the slot it is for and the slot's generation when it was set.
pub(super) type Timer = (Instant, u32, u32);

/// FIFO lanes of [`Timers`].
const LANES: usize = 8;

impl Timers {
    pub(super) fn push(&mut self, now: Instant, timeout: Duration, slot: u32, generation: u32) {
        let timer = (now + timeout, slot, generation);
        let lane = match self.lanes.iter().position(|(d, _)| *d == timeout) {
            Some(i) => Some(i),
            None if self.lanes.len() < LANES => {
                self.lanes.push((timeout, VecDeque::new()));
                Some(self.lanes.len() - 1)
            }
            // An idle lane takes the new value.
            None => self
                .lanes
                .iter()
                .position(|(_, q)| q.is_empty())
                .inspect(|&i| {
                    self.lanes[i].0 = timeout;
                }),
        };
        match lane {
            Some(i) if self.lanes[i].1.back().is_none_or(|last| last.0 <= timer.0) => {
                self.lanes[i].1.push_back(timer);
            }
            _ => self.heap.push(Reverse(timer)),
        }
    }

    /// The earliest timer, and the lane it is at the front of (`None`: the heap).
    fn earliest(&self) -> Option<(Timer, Option<usize>)> {
        let mut best = self.heap.peek().map(|Reverse(t)| (*t, None));
        for (i, (_, q)) in self.lanes.iter().enumerate() {
            if let Some(t) = q.front()
                && best.is_none_or(|(b, _)| t.0 < b.0)
            {
                best = Some((*t, Some(i)));
            }
        }
        best
    }

    /// The earliest deadline's timer.
    pub(super) fn peek(&self) -> Option<Timer> {
        self.earliest().map(|(t, _)| t)
    }

    /// Removes and returns the earliest timer if it is due at `now`.
    pub(super) fn pop_due(&mut self, now: Instant) -> Option<(u32, u32)> {
        let ((at, slot, generation), lane) = self.earliest()?;
        if at > now {
            return None;
        }
        match lane {
            Some(i) => self.lanes[i].1.pop_front(),
            None => self.heap.pop().map(|Reverse(t)| t),
        };
        Some((slot, generation))
    }
}
