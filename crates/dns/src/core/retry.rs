//! Retry policy and attempt timeouts: each resolver's round-trip estimate and the
//! timeout derived from it, the patience before a query's last attempt ends it, whether
//! a failed attempt is retried or its query ends, and the silence that takes the
//! resolvers as down.

use std::time::{Duration, Instant};

use super::Core;
use super::in_flight::{Phase, QUARANTINE_ANSWERED, QUARANTINE_GAVE_UP};
use crate::outcome::Outcome;

/// Attempts timed out with no reply in between, at least, before the resolvers count as
/// silent (see [`Config::silence_limit`](super::Config::silence_limit)).
const SILENT_TIMEOUTS: u32 = 16;

/// Round-trip time estimate of one resolver (RFC 6298 section 2).
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct RttEstimate {
    pub(super) srtt: Option<Duration>,
    pub(super) rttvar: Duration,
}

impl RttEstimate {
    pub(super) fn sample(&mut self, r: Duration) {
        match self.srtt {
            None => {
                self.srtt = Some(r);
                self.rttvar = r / 2;
            }
            Some(srtt) => {
                let delta = srtt.abs_diff(r);
                self.rttvar = (self.rttvar * 3 + delta) / 4;
                self.srtt = Some((srtt * 7 + r) / 8);
            }
        }
    }

    /// The retransmission timeout: SRTT + max(G, 4 × RTTVAR), G = 1 ms.
    pub(super) fn rto(&self) -> Option<Duration> {
        let srtt = self.srtt?;
        Some(srtt + (self.rttvar * 4).max(Duration::from_millis(1)))
    }
}

impl Core {
    /// The first round trip of `resolver` is known: attempts sent to it before, with the
    /// configured timeout (1.5 s), get the adaptive one as well, so a loss among a
    /// resolver's first window is retried in a few round trips rather than seconds (on
    /// a lossy path that second and a half would be the run's tail). Once per resolver;
    /// the old timer stays and is ignored if this one fires first.
    pub(super) fn rearm_first_attempts(&mut self, resolver: u16) {
        let Some(rto) = self.rtt[resolver as usize].rto() else {
            return;
        };
        let max = self.config.max_timeout.max(self.config.timeout);
        let rto = rto.clamp(self.config.min_timeout.min(max), max);
        if rto >= self.config.timeout {
            return;
        }
        for (slot, lookup) in &self.slots {
            let Some(a) = lookup.live.last() else {
                continue;
            };
            if lookup.phase == Phase::Udp
                && lookup.attempts == 1
                && a.resolver == resolver
                && !a.timed_out
            {
                let generation = self.generations[slot];
                self.timers.push(a.sent_at, rto, slot as u32, generation);
            }
        }
    }

    /// After a failed attempt: queue another one, or end the query with `last` (the
    /// failed attempt's own outcome) or a timeout.
    pub(super) fn retry_or_finish(&mut self, now: Instant, slot: u32, last: Option<Outcome>) {
        self.leave_udp(slot);
        let silent = last.is_none() && self.silent(now);
        let lookup = self.slots.get_mut(slot as usize).expect("live lookup");
        // A timeout while other replies arrived since the attempt went out: the path
        // works and this was a random loss, so try again, up to `max_attempts`. When no
        // reply came from anywhere, the resolvers are down: stop at `attempts`.
        let extra = last.is_none()
            && lookup.attempts >= self.config.attempts
            && lookup.attempts < self.config.max_attempts
            && lookup
                .last_sent
                .zip(self.last_reply)
                .is_some_and(|(sent, reply)| reply > sent);
        if (lookup.attempts < self.config.attempts || extra) && !silent {
            if extra {
                self.stats.extra_attempts += 1;
            }
            lookup.phase = Phase::Queued;
            let generation = self.bump_generation(slot);
            self.send_queue.push_back((slot, generation));
            return;
        }
        if silent && lookup.attempts < self.config.max_attempts.max(self.config.attempts) {
            self.stats.silenced += 1;
        }
        match last {
            Some(outcome) => self.finish(now, slot, outcome, QUARANTINE_ANSWERED),
            None => self.give_up(now, slot),
        }
    }

    /// Ends a query as a timeout.
    pub(super) fn give_up(&mut self, now: Instant, slot: u32) {
        let attempts = self.slots.get(slot as usize).map_or(0, |l| l.attempts);
        self.stats.timeouts += 1;
        self.finish(now, slot, Outcome::timeout(attempts), QUARANTINE_GAVE_UP);
    }

    /// No reply from any resolver for [`Config::silence_limit`](super::Config::silence_limit),
    /// and a window's worth of attempts timed out since the last one (a long idle pause of
    /// the caller, or one lost packet after it, is not silence).
    pub(super) fn silent(&self, now: Instant) -> bool {
        let Some(since) = self.last_reply.or(self.first_sent) else {
            return false;
        };
        self.timeouts_since_reply >= SILENT_TIMEOUTS
            && now.saturating_duration_since(since) > self.config.silence_limit
    }

    pub(super) fn attempt_timeout(&self, slot: u32, resolver: u16) -> Duration {
        let attempts = self.slots.get(slot as usize).map_or(0, |l| l.attempts);
        // Doubling per retry, but not beyond 8×: attempts beyond `attempts` happen only
        // while replies keep coming (random loss, not a resolver in trouble), and backing
        // off further would only stretch the run's tail.
        let factor = 1u32 << u32::from(attempts.min(3));
        let max = self.config.max_timeout.max(self.config.timeout);
        let base = match self.rtt[resolver as usize].rto() {
            // min() first: a configuration whose floor exceeds its ceiling must not panic.
            Some(rto) if self.config.adaptive_timeout => {
                rto.clamp(self.config.min_timeout.min(max), max)
            }
            _ => self.config.timeout,
        };
        base.saturating_mul(factor).min(max)
    }

    /// Quick retries first, patience last: when an attempt's timer fires and the query
    /// would end with it (its last attempt, or no reply from anywhere since it went out),
    /// it is waited for until the configured timeout has passed since it was sent, so a
    /// resolver's hiccup of a second or so costs a retry, not an answer. The deadline to
    /// wait for, if any. Decided when the timer fires, not when the attempt is sent: on a
    /// lossy path replies keep coming, the attempt is not the last, and its retry goes
    /// out at once (a third attempt held for the full timeout stretched a run's tail by
    /// a second).
    pub(super) fn patience(&self, now: Instant, slot: u32) -> Option<Instant> {
        if !self.config.adaptive_timeout {
            return None;
        }
        let lookup = self.slots.get(slot as usize)?;
        if lookup.phase != Phase::Udp {
            return None;
        }
        let sent = lookup.last_sent?;
        let replied_since = self.last_reply.is_some_and(|r| r > sent);
        let ends = lookup.attempts >= self.config.max_attempts.max(self.config.attempts)
            || (lookup.attempts >= self.config.attempts && !replied_since);
        let max = self.config.max_timeout.max(self.config.timeout);
        let deadline = sent + self.config.timeout.min(max);
        (ends && deadline > now).then_some(deadline)
    }
}
