//! The in-flight table: each lookup in its slot with its attempts and phase, the
//! per-socket ID tables with their quarantine, the choice of socket and ID for an
//! attempt, and a lookup's end (its IDs quarantined, its completion queued).

use std::time::Instant;

use hickory_proto::op::Query;
use rand::RngExt;

use super::{Completion, Core};
use crate::outcome::Outcome;

/// One UDP attempt still listened for.
#[derive(Debug, Clone, Copy)]
pub(super) struct Attempt {
    pub(super) socket: u16,
    pub(super) id: u16,
    pub(super) resolver: u16,
    pub(super) sent_at: Instant,
    /// Its timer fired (a loss is pending for it: see `Core::pending_losses`).
    pub(super) timed_out: bool,
    /// A reply to it was accepted.
    pub(super) replied: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// Waiting in the send queue for (re)transmission.
    Queued,
    /// Sent over UDP; waiting for a reply or the timer.
    Udp,
    /// Waiting for a TCP exchange.
    Tcp { resolver: u16, started: Instant },
}

#[derive(Debug)]
pub(super) struct Lookup {
    pub(super) tag: u64,
    pub(super) query: Query,
    /// The question section as sent: the name's labels, type, class (see
    /// [`question`](super::wire::question)).
    pub(super) wire: Vec<u8>,
    pub(super) attempts: u8,
    /// Attempts whose replies are still accepted (earlier attempts stay valid: a slow
    /// reply to attempt 1 answers the query as well as one to attempt 2).
    pub(super) live: Vec<Attempt>,
    /// Resolver to use for the next attempt, when a retry wants a different one.
    pub(super) last_resolver: Option<u16>,
    /// When the latest attempt was sent: replies from anywhere since then mean the
    /// path works, and a timeout is worth another attempt (see
    /// [`Config::max_attempts`](super::Config::max_attempts)).
    pub(super) last_sent: Option<Instant>,
    pub(super) phase: Phase,
}

/// Per-socket ID table entry: 0 = free, `QUARANTINE_*` = recently finished, otherwise
/// the slot index + 1 of the in-flight lookup.
pub(super) const FREE: u32 = 0;
pub(super) const QUARANTINE_ANSWERED: u32 = u32::MAX;
pub(super) const QUARANTINE_GAVE_UP: u32 = u32::MAX - 1;
/// A timed-out attempt whose query ended without its reply while its loss is pending
/// (see `Core::pending_losses`): its late reply still forgives the loss.
pub(super) const QUARANTINE_SUSPECT: u32 = u32::MAX - 2;
/// IDs in use (in flight or quarantined) per socket above which a socket counts as full:
/// at 76% occupancy a random probe finds a free ID in about 4 tries.
const MAX_PER_SOCKET: u32 = 50_000;
/// Queries sent in a row on one socket (see `Core::pick_socket`).
const SOCKET_RUN: u32 = 16;

impl Core {
    pub(super) fn finish(&mut self, now: Instant, slot: u32, outcome: Outcome, mark: u32) {
        self.leave_udp(slot);
        self.release_ids(slot, mark, now);
        self.bump_generation(slot);
        let mut lookup = self.slots.remove(slot as usize);
        // Reused by the next lookup: two allocations less per query.
        lookup.live.clear();
        self.spare_live.push(lookup.live);
        self.spare_wire.push(lookup.wire);
        self.in_flight -= 1;
        self.stats.completed += 1;
        self.completions.push_back(Completion {
            tag: lookup.tag,
            outcome,
        });
    }

    /// Moves every live ID of `slot` into quarantine.
    pub(super) fn release_ids(&mut self, slot: u32, mark: u32, now: Instant) {
        let lookup = self.slots.get_mut(slot as usize).expect("live lookup");
        let until = now + self.config.quarantine;
        for a in lookup.live.drain(..) {
            let mut entry = mark;
            // A timed-out attempt not answered while its query was open: its reply may
            // still come during the quarantine (late, not lost); until then it stays a
            // suspect of its resolver's halving.
            if a.timed_out
                && !a.replied
                && let Some(loss) = self.pending_losses.get_mut(&(a.socket, a.id))
            {
                entry = QUARANTINE_SUSPECT;
                loss.mark = mark;
            }
            self.ids[a.socket as usize][a.id as usize] = entry;
            self.quarantine.push_back((until, a.socket, a.id));
        }
    }

    /// The lookup leaves Phase::Udp (answered, timed out, moved to TCP): one fewer
    /// attempt in the window. (Its phase is set by the caller right after.)
    pub(super) fn leave_udp(&mut self, slot: u32) {
        if let Some(l) = self.slots.get_mut(slot as usize)
            && l.phase == Phase::Udp
        {
            l.phase = Phase::Queued;
            self.udp_outstanding -= 1;
            if let Some(r) = l.last_resolver {
                self.lanes[r as usize].outstanding -= 1;
            }
        }
    }

    pub(super) fn bump_generation(&mut self, slot: u32) -> u32 {
        let g = &mut self.generations[slot as usize];
        *g = g.wrapping_add(1);
        *g
    }

    pub(super) fn pick_socket(&mut self, range: std::ops::Range<usize>) -> Option<usize> {
        if range.is_empty() {
            return None;
        }
        // A random socket for a run of queries, not one per query: the I/O layer sends
        // what one socket has queued in one system call (and, with segmentation offload,
        // same-sized queries as one message), so runs make its batches large. Each run's
        // socket is still drawn at random; the query ID stays random per query.
        let family =
            usize::from(range.start != self.v4_sockets.start || self.v4_sockets.is_empty());
        let (socket, left) = self.socket_run[family];
        if left > 0 && range.contains(&socket) && self.ids_in_use[socket] < MAX_PER_SOCKET {
            self.socket_run[family].1 -= 1;
            return Some(socket);
        }
        let start = self.rng.random_range(range.clone());
        let len = range.len();
        let socket = (0..len)
            .map(|i| range.start + (start - range.start + i) % len)
            .find(|&s| self.ids_in_use[s] < MAX_PER_SOCKET)?;
        self.socket_run[family] = (socket, SOCKET_RUN - 1);
        Some(socket)
    }

    pub(super) fn allocate_id(&mut self, socket: usize, slot: u32) -> u16 {
        // The table is at most 76% full (MAX_PER_SOCKET), so a few random probes find
        // a free ID.
        loop {
            let id: u16 = self.rng.random();
            let entry = &mut self.ids[socket][id as usize];
            if *entry == FREE {
                *entry = slot + 1;
                self.ids_in_use[socket] += 1;
                return id;
            }
        }
    }
}
