//! The congestion window of each resolver: how it grows with answers (slow start,
//! ended early by HyStart++), how a timed-out attempt becomes a loss that halves it
//! only after a grace period, and how a late reply forgives or undoes that halving.

use std::time::{Duration, Instant};

use super::Core;
use super::in_flight::{Attempt, FREE, QUARANTINE_SUSPECT};

/// The congestion state of one resolver. Each resolver has its own window, so load
/// follows each one's speed: a resolver gets a new query when one of its own completes
/// (or times out), and a slow or lossy resolver holds only its own window, never the
/// room a fast one needs.
#[derive(Debug, Clone, Copy)]
pub(super) struct Lane {
    pub(super) window: f64,
    pub(super) ssthresh: f64,
    /// When the current round (of slow start's delay check) began, the smallest round
    /// trip in it and in the one before, and the samples in it (HyStart++, RFC 9406).
    pub(super) round_start: Option<Instant>,
    pub(super) round_min: Option<Duration>,
    pub(super) last_round_min: Option<Duration>,
    pub(super) round_samples: u32,
    /// The last time the sender looked, work was waiting and this window was full.
    pub(super) limited: bool,
    /// Attempts sent before this instant belong to a loss already answered by a halving.
    pub(super) epoch: Option<Instant>,
    /// UDP attempts out to this resolver.
    pub(super) outstanding: usize,
}

/// A timed-out attempt whose reply would still say something: its resolver, when it
/// was sent, the mark its ID takes in quarantine once nothing more is expected, and —
/// once its grace period ended and its loss halved the window — the window and
/// threshold before that halving (a reply then undoes one halving, as Eifel does).
#[derive(Debug, Clone, Copy)]
pub(super) struct PendingLoss {
    pub(super) resolver: u16,
    pub(super) sent: Instant,
    pub(super) mark: u32,
    pub(super) halved: Option<(f64, f64)>,
}

impl Lane {
    pub(super) fn new(window: f64, ssthresh: f64) -> Self {
        Lane {
            window,
            ssthresh,
            round_start: None,
            round_min: None,
            last_round_min: None,
            round_samples: 0,
            limited: false,
            epoch: None,
            outstanding: 0,
        }
    }
}

impl Core {
    /// An answer over UDP from `resolver`: its window grows (doubling per round trip
    /// below `ssthresh`, one per round trip above). Slow start ends early when the
    /// smallest round trip of a round grows clearly beyond the last round's (a queue is
    /// building at the server: HyStart++, RFC 9406) — doubling until the first loss
    /// would overshoot a small receive buffer many times over before the first timeout
    /// even fires. Per-round minimums, not single samples: a recursive resolver answers
    /// cached names in microseconds and others after a recursion of milliseconds, and
    /// that spread is not a queue.
    pub(super) fn on_answer(&mut self, now: Instant, resolver: u16, rtt: Duration) {
        let max = f64::from(self.config.max_window);
        let lane = &mut self.lanes[resolver as usize];
        let sent = now.checked_sub(rtt).unwrap_or(now);
        if lane.round_start.is_none_or(|start| sent >= start) {
            // An answer to an attempt sent in this round: the round is over.
            if lane.round_min.is_some() {
                lane.last_round_min = lane.round_min;
            }
            lane.round_min = None;
            lane.round_samples = 0;
            lane.round_start = Some(now);
        }
        lane.round_min = Some(lane.round_min.map_or(rtt, |m| m.min(rtt)));
        lane.round_samples += 1;
        if lane.window < lane.ssthresh
            && lane.round_samples >= 8
            && let (Some(current), Some(last)) = (lane.round_min, lane.last_round_min)
        {
            let eta = (last / 8).clamp(Duration::from_millis(4), Duration::from_millis(16));
            if current >= last + eta {
                lane.ssthresh = lane.window;
            }
        }
        // Grow only a window in use: a scan that keeps fewer queries in flight (its own
        // concurrency limit, or the tail of its work) proves nothing about a larger one
        // (RFC 7661's reasoning for TCP).
        if !lane.limited {
            return;
        }
        lane.window = if lane.window < lane.ssthresh {
            lane.window + 1.0
        } else {
            // One more per round trip, but no faster than one per 10 ms: losses show only
            // when a timeout fires (100 ms at least), and on a sub-millisecond path growing
            // per round trip would overshoot by hundreds before the first one does.
            let pace = (rtt.as_secs_f64() / 0.010).min(1.0);
            lane.window + pace / lane.window
        }
        .min(max);
    }

    /// Attempt `a` timed out: its loss is settled one grace period later — its
    /// resolver's current timeout, and at least the configured one (1.5 s) — unless its
    /// reply comes first. A recursive resolver whose own upstream query was lost
    /// answers about a second late (BIND retries its upstream after ~0.8–1.2 s); real
    /// congestion is still answered, a timeout later.
    pub(super) fn pend_loss(&mut self, now: Instant, a: Attempt) {
        let max = self.config.max_timeout.max(self.config.timeout);
        let grace = match self.rtt[a.resolver as usize].rto() {
            Some(rto) if self.config.adaptive_timeout => {
                rto.clamp(self.config.min_timeout.min(max), max)
            }
            _ => self.config.timeout,
        }
        .max(self.config.timeout.min(max));
        self.pending_losses.insert(
            (a.socket, a.id),
            PendingLoss {
                resolver: a.resolver,
                sent: a.sent_at,
                mark: FREE,
                halved: None,
            },
        );
        self.loss_deadlines
            .push(std::cmp::Reverse((now + grace, a.socket, a.id)));
    }

    /// Settles the pending losses due at `now`: the window of each one's resolver halves
    /// (once per window). One that halved it stays known until its ID leaves the
    /// quarantine, so that a reply after all can undo that halving.
    pub(super) fn settle_losses(&mut self, now: Instant) {
        while let Some(&std::cmp::Reverse((at, socket, id))) = self.loss_deadlines.peek() {
            if at > now {
                break;
            }
            self.loss_deadlines.pop();
            let key = (socket, id);
            let Some(loss) = self.pending_losses.get(&key).copied() else {
                continue; // forgiven
            };
            let lane = &self.lanes[loss.resolver as usize];
            let before = (lane.window, lane.ssthresh);
            if self.on_loss(now, loss.resolver, loss.sent) {
                if let Some(l) = self.pending_losses.get_mut(&key) {
                    l.halved = Some(before);
                }
                continue;
            }
            self.pending_losses.remove(&key);
            let entry = &mut self.ids[socket as usize][id as usize];
            if *entry == QUARANTINE_SUSPECT {
                *entry = loss.mark;
            }
        }
    }

    /// The reply to a timed-out attempt came after all: late, not lost. Within the grace
    /// period no window halves for it; after it, the halving it caused is undone — the
    /// window doubles back, up to what it was before (a recursive resolver that retries
    /// its own upstream answers a second later, and that is not congestion here).
    pub(super) fn late_reply(&mut self, loss: PendingLoss) {
        let resolver = loss.resolver as usize;
        self.stats.spurious_timeouts += 1;
        self.per_resolver[resolver].spurious_timeouts += 1;
        match loss.halved {
            None => self.stats.losses_forgiven += 1,
            Some((window, ssthresh)) => {
                let lane = &mut self.lanes[resolver];
                lane.window = lane.window.max((lane.window * 2.0).min(window));
                lane.ssthresh = lane.ssthresh.max((lane.ssthresh * 2.0).min(ssthresh));
                self.stats.window_undos += 1;
            }
        }
    }

    /// An attempt to `resolver` sent at `sent` was lost: halve its window, once per
    /// window of attempts (those sent before the last halving were already answered
    /// for). Whether it halved.
    pub(super) fn on_loss(&mut self, now: Instant, resolver: u16, sent: Instant) -> bool {
        let min = f64::from(self.config.min_window);
        let lane = &mut self.lanes[resolver as usize];
        if lane.epoch.is_some_and(|epoch| sent < epoch) {
            return false;
        }
        lane.ssthresh = (lane.window / 2.0).max(min);
        lane.window = lane.ssthresh;
        lane.epoch = Some(now);
        self.stats.window_decreases += 1;
        self.per_resolver[resolver as usize].window_decreases += 1;
        true
    }

    pub(super) fn has_room(&self, r: usize) -> bool {
        let lane = &self.lanes[r];
        !self.config.adaptive_window || (lane.outstanding as f64) < lane.window.floor()
    }
}
