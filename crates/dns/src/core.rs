//! The sans-IO protocol core: in-flight table, ID allocation, reply matching, retries,
//! timers and resolver health. No sockets and no clock: callers pass `now` and datagrams
//! in and take "send this" and "this finished" out, so tests drive it with a simulated
//! network and clock.
//!
//! The state machine is here ([`Core::poll_transmit`], [`Core::handle_datagram`],
//! [`Core::handle_timeout`], [`Core::poll_completion`]); around it, `config` holds the
//! tunables and their validation, `stats` the counters, `in_flight` the lookups and the
//! per-socket ID tables, `timers` the attempt deadlines, `retry` the retry policy and
//! attempt timeouts, `congestion` each resolver's window, `health` the choice of
//! resolver and its resting, `reply` what an accepted reply does, `wire` the encoding of
//! queries and the reading of replies.

mod config;
mod congestion;
mod health;
mod in_flight;
mod reply;
mod retry;
mod stats;
mod timers;
mod wire;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Instant;

use hickory_proto::op::Query;
use hickory_proto::rr::{Name, RecordType};
use rand::SeedableRng;
use rand::rngs::StdRng;
use slab::Slab;

pub use self::config::Config;
use self::congestion::{Lane, PendingLoss};
use self::health::Health;
use self::in_flight::{
    Attempt, FREE, Lookup, Phase, QUARANTINE_ANSWERED, QUARANTINE_GAVE_UP, QUARANTINE_SUSPECT,
};
use self::retry::RttEstimate;
pub use self::stats::{ResolverStats, Stats};
use self::timers::Timers;
use self::wire::{Reject, decode_reply, encode_query, question};
use crate::error::Error;
use crate::outcome::Outcome;

/// A datagram to send: the bytes are in the buffer passed to [`Core::poll_transmit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transmit {
    /// Index of the socket to send from (see [`Core::socket_families`]).
    pub socket: usize,
    /// Where to send it.
    pub dest: SocketAddr,
}

/// A TCP exchange the I/O layer must perform after a truncated reply: connect to `dest`,
/// send `message` with a 2-byte length prefix, read one length-prefixed reply, and hand it
/// to [`Core::handle_tcp_response`] with `token`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpRequest {
    /// Identifies the exchange to the core.
    pub token: TcpToken,
    /// The resolver that sent the truncated reply.
    pub dest: SocketAddr,
    /// The encoded query (without length prefix).
    pub message: Vec<u8>,
}

/// Opaque handle of a TCP exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpToken {
    slot: u32,
    generation: u32,
    id: u16,
}

/// A finished query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// The tag given to [`Core::submit`].
    pub tag: u64,
    /// How it ended.
    pub outcome: Outcome,
}

/// Address family of a socket the I/O layer must open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Bind `0.0.0.0:0`.
    V4,
    /// Bind `[::]:0`.
    V6,
}

/// The protocol state machine of the client. See the module documentation.
#[derive(Debug)]
pub struct Core {
    config: Config,
    families: Vec<Family>,
    /// Socket index ranges per family.
    v4_sockets: std::ops::Range<usize>,
    v6_sockets: std::ops::Range<usize>,
    ids: Vec<Vec<u32>>,
    ids_in_use: Vec<u32>,
    /// In-flight lookups; a key is a lookup's slot (freed keys are reused, last freed
    /// first).
    slots: Slab<Lookup>,
    /// Per slot, bumped whenever what is waited for changes: timers, queued sends and TCP
    /// tokens carry the generation they were made at, and a stale one is ignored.
    generations: Vec<u32>,
    timers: Timers,
    quarantine: VecDeque<(Instant, u16, u16)>,
    /// Lookups waiting to be sent, with the generation they were queued at (a lookup
    /// answered meanwhile by a late reply leaves a stale entry that is skipped).
    send_queue: VecDeque<(u32, u32)>,
    tcp_queue: VecDeque<TcpRequest>,
    completions: VecDeque<Completion>,
    health: Vec<Health>,
    rtt: Vec<RttEstimate>,
    per_resolver: Vec<ResolverStats>,
    next_resolver: usize,
    in_flight: usize,
    /// Lookups with a UDP attempt out (Phase::Udp), over all resolvers.
    udp_outstanding: usize,
    /// Congestion state per resolver.
    lanes: Vec<Lane>,
    /// When a reply was last accepted from any resolver.
    last_reply: Option<Instant>,
    /// When a reply was last accepted from each resolver.
    last_answer: Vec<Option<Instant>>,
    /// Timed-out attempts by (socket, ID), not yet counted as losses. A timeout retries
    /// the query at once, but the window is halved only if the attempt's reply has not
    /// come within a grace period (one more timeout) — a recursive resolver on a cold
    /// cache answers some queries after their timer, and those are delays, not
    /// congestion (the idea of F-RTO and Eifel for TCP, RFC 5682 and 3522). The reply
    /// may come after the query ended by its retry (the resolver answers both from one
    /// fetch, often the retry first): the ID then waits in quarantine as
    /// `QUARANTINE_SUSPECT`.
    pending_losses: std::collections::HashMap<(u16, u16), PendingLoss>,
    /// When each pending loss is settled.
    loss_deadlines: std::collections::BinaryHeap<std::cmp::Reverse<(Instant, u16, u16)>>,
    /// When the first attempt went out (silence counts from here until a first reply).
    first_sent: Option<Instant>,
    /// Attempts timed out since the last reply.
    timeouts_since_reply: u32,
    rng: StdRng,
    /// The socket of the current run and the queries left in it, per family (v4, v6).
    socket_run: [(usize, u32); 2],
    /// Emptied attempt lists of finished lookups, for new ones.
    spare_live: Vec<Vec<Attempt>>,
    /// Question buffers of finished lookups.
    spare_wire: Vec<Vec<u8>>,
    stats: Stats,
}

impl Core {
    /// A core with IDs and ports drawn from a generator seeded by the operating system's
    /// CSPRNG.
    pub fn new(config: Config) -> Result<Self, Error> {
        Self::with_rng(config, rand::make_rng())
    }

    /// A core with a fixed seed: for reproducible tests only (predictable IDs defeat RFC
    /// 5452's protection).
    pub fn with_seed(config: Config, seed: u64) -> Result<Self, Error> {
        Self::with_rng(config, StdRng::seed_from_u64(seed))
    }

    fn with_rng(config: Config, rng: StdRng) -> Result<Self, Error> {
        config.validate()?;
        let has_v4 = config.resolvers.iter().any(SocketAddr::is_ipv4);
        let has_v6 = config.resolvers.iter().any(SocketAddr::is_ipv6);
        let mut families = Vec::new();
        if has_v4 {
            families.extend(std::iter::repeat_n(Family::V4, config.sockets));
        }
        let v4_sockets = 0..families.len();
        if has_v6 {
            families.extend(std::iter::repeat_n(Family::V6, config.sockets));
        }
        let v6_sockets = v4_sockets.end..families.len();
        let n = families.len();
        let config_window = (
            config
                .initial_window
                .clamp(config.min_window, config.max_window),
            config.max_window,
        );
        Ok(Core {
            health: vec![Health::default(); config.resolvers.len()],
            rtt: vec![RttEstimate::default(); config.resolvers.len()],
            per_resolver: config
                .resolvers
                .iter()
                .map(|&addr| ResolverStats {
                    addr,
                    sent: 0,
                    answered: 0,
                    refused_or_servfail: 0,
                    timeouts: 0,
                    rests: 0,
                    window_decreases: 0,
                    spurious_timeouts: 0,
                    window: u64::from(config_window.0),
                })
                .collect(),
            lanes: vec![
                Lane::new(f64::from(config_window.0), f64::from(config_window.1));
                config.resolvers.len()
            ],
            last_reply: None,
            last_answer: vec![None; config.resolvers.len()],
            pending_losses: std::collections::HashMap::new(),
            loss_deadlines: std::collections::BinaryHeap::new(),
            first_sent: None,
            timeouts_since_reply: 0,
            config,
            families,
            v4_sockets,
            v6_sockets,
            ids: vec![vec![FREE; 65536]; n],
            ids_in_use: vec![0; n],
            slots: Slab::new(),
            generations: Vec::new(),
            timers: Timers::default(),
            quarantine: VecDeque::new(),
            send_queue: VecDeque::new(),
            tcp_queue: VecDeque::new(),
            completions: VecDeque::new(),
            next_resolver: 0,
            in_flight: 0,
            udp_outstanding: 0,
            rng,
            socket_run: [(0, 0); 2],
            spare_live: Vec::new(),
            spare_wire: Vec::new(),
            stats: Stats::default(),
        })
    }

    /// The sockets the I/O layer must open, in index order.
    pub fn socket_families(&self) -> &[Family] {
        &self.families
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Counters so far.
    pub fn stats(&self) -> Stats {
        Stats {
            window: self.lanes.iter().map(|l| l.window as u64).sum(),
            ..self.stats
        }
    }

    /// Counters per resolver, in configuration order.
    pub fn resolver_stats(&self) -> Vec<ResolverStats> {
        self.per_resolver
            .iter()
            .zip(&self.lanes)
            .map(|(s, l)| ResolverStats {
                window: l.window as u64,
                ..*s
            })
            .collect()
    }

    /// Queries submitted and not yet finished.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// UDP attempts in flight (what the congestion window limits).
    pub fn udp_in_flight(&self) -> usize {
        self.udp_outstanding
    }

    /// True when nothing is in flight and nothing waits to be sent or collected.
    pub fn is_idle(&self) -> bool {
        self.in_flight == 0 && self.completions.is_empty() && self.tcp_queue.is_empty()
    }

    /// Queues a query. Its outcome comes out of [`Core::poll_completion`] with `tag`.
    pub fn submit(&mut self, name: Name, record_type: RecordType, tag: u64) {
        let mut name = name;
        name.set_fqdn(true);
        let query = Query::query(name, record_type);
        let mut wire = self.spare_wire.pop().unwrap_or_default();
        question(&query, &mut wire);
        let lookup = Lookup {
            tag,
            query,
            wire,
            attempts: 0,
            live: self.spare_live.pop().unwrap_or_default(),
            last_resolver: None,
            last_sent: None,
            phase: Phase::Queued,
        };
        let slot = self.slots.insert(lookup);
        if slot == self.generations.len() {
            self.generations.push(0);
        }
        let slot = slot as u32;
        let generation = self.bump_generation(slot);
        self.in_flight += 1;
        self.stats.submitted += 1;
        self.send_queue.push_back((slot, generation));
    }

    /// The next datagram to send, encoded into `buf` (cleared first). Registers the attempt
    /// and starts its timer at `now`. Returns `None` when nothing is queued, or when every
    /// socket of the needed family is full.
    ///
    /// Send-error policy: if the I/O layer then fails to send, it calls
    /// [`Core::record_send_error`]; the attempt simply times out and is retried.
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut Vec<u8>) -> Option<Transmit> {
        if self.udp_outstanding > 0 && self.silent(now) {
            // The resolvers are down: one attempt (out already) tells when they are
            // back; everything waiting ends now.
            while let Some((slot, generation)) = self.send_queue.pop_front() {
                if self.generations[slot as usize] == generation {
                    self.stats.silenced += 1;
                    self.give_up(now, slot);
                }
            }
            return None;
        }
        let slot = loop {
            let Some(&(slot, generation)) = self.send_queue.front() else {
                for lane in &mut self.lanes {
                    lane.limited = false;
                }
                return None;
            };
            if self.generations[slot as usize] == generation {
                break slot;
            }
            self.send_queue.pop_front();
        };
        let resolver = self.pick_resolver(now, slot)?;
        let dest = self.config.resolvers[resolver as usize];
        let sockets = if dest.is_ipv4() {
            self.v4_sockets.clone()
        } else {
            self.v6_sockets.clone()
        };
        let socket = self.pick_socket(sockets)?;
        self.send_queue.pop_front();
        let id = self.allocate_id(socket, slot);
        let timeout = self.attempt_timeout(slot, resolver);
        let generation = self.bump_generation(slot);
        let lookup = self
            .slots
            .get_mut(slot as usize)
            .expect("queued slots hold a lookup");
        lookup.attempts += 1;
        if lookup.attempts > 1 {
            self.stats.retries += 1;
        }
        lookup.last_resolver = Some(resolver);
        lookup.last_sent = Some(now);
        lookup.phase = Phase::Udp;
        self.first_sent.get_or_insert(now);
        self.udp_outstanding += 1;
        self.lanes[resolver as usize].outstanding += 1;
        lookup.live.push(Attempt {
            socket: socket as u16,
            id,
            resolver,
            sent_at: now,
            timed_out: false,
            replied: false,
        });
        encode_query(
            buf,
            id,
            &lookup.wire,
            self.config.recursion_desired,
            self.config.edns_payload,
            self.config.padding_block,
        );
        self.timers.push(now, timeout, slot, generation);
        self.stats.sent += 1;
        self.per_resolver[resolver as usize].sent += 1;
        Some(Transmit { socket, dest })
    }

    /// Counts a failed send (see [`Core::poll_transmit`]).
    pub fn record_send_error(&mut self) {
        self.stats.send_errors += 1;
    }

    /// The next TCP exchange to perform.
    pub fn poll_tcp(&mut self) -> Option<TcpRequest> {
        self.tcp_queue.pop_front()
    }

    /// The next finished query.
    pub fn poll_completion(&mut self) -> Option<Completion> {
        self.completions.pop_front()
    }

    /// When [`Core::handle_timeout`] should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let timer = self.timers.peek().map(|(at, _, _)| at);
        let quarantine = self.quarantine.front().map(|(at, _, _)| *at);
        let loss = self.loss_deadlines.peek().map(|r| r.0.0);
        [timer, quarantine, loss].into_iter().flatten().min()
    }

    /// Fires every timer due at `now`: retries or gives up timed-out attempts, and frees
    /// quarantined IDs.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.settle_losses(now);
        while let Some((slot, generation)) = self.timers.pop_due(now) {
            if self.generations[slot as usize] != generation {
                continue; // answered or rescheduled since: a cancelled timer
            }
            if let Some(deadline) = self.patience(now, slot) {
                self.timers.push(now, deadline - now, slot, generation);
                continue;
            }
            let Some(lookup) = self.slots.get(slot as usize) else {
                continue;
            };
            let resolver = match lookup.phase {
                Phase::Udp => {
                    self.timeouts_since_reply = self.timeouts_since_reply.saturating_add(1);
                    let last = lookup.live.last().copied();
                    if let Some(a) = last {
                        self.pend_loss(now, a);
                        if let Some(attempt) = self
                            .slots
                            .get_mut(slot as usize)
                            .and_then(|l| l.live.last_mut())
                        {
                            attempt.timed_out = true;
                        }
                    }
                    // A resolver that answered something after this attempt went out is
                    // alive: the loss is the window's business (congestion, a lossy
                    // path), not a reason to rest it — resting a fast resolver for a
                    // burst of drops at its receive buffer would hand its work to a
                    // slower one.
                    last.map(|a| {
                        let alive =
                            self.last_answer[a.resolver as usize].is_some_and(|t| t > a.sent_at);
                        (a.resolver, !alive)
                    })
                }
                Phase::Tcp { resolver, .. } => {
                    self.stats.tcp_failures += 1;
                    Some((resolver, true))
                }
                Phase::Queued => None,
            };
            self.stats.attempt_timeouts += 1;
            if let Some((r, failure)) = resolver {
                self.per_resolver[r as usize].timeouts += 1;
                if failure {
                    self.note_failure(now, r);
                }
            }
            self.retry_or_finish(now, slot, None);
        }
        while let Some(&(at, socket, id)) = self.quarantine.front() {
            if at > now {
                break;
            }
            self.quarantine.pop_front();
            if self.ids[socket as usize][id as usize] == QUARANTINE_SUSPECT
                && let Some(loss) = self.pending_losses.remove(&(socket, id))
                && loss.halved.is_none()
            {
                // Its reply never came: a loss.
                self.on_loss(now, loss.resolver, loss.sent);
            }
            let entry = &mut self.ids[socket as usize][id as usize];
            if matches!(
                *entry,
                QUARANTINE_ANSWERED | QUARANTINE_GAVE_UP | QUARANTINE_SUSPECT
            ) {
                *entry = FREE;
                self.ids_in_use[socket as usize] -= 1;
            }
        }
    }

    /// Handles a datagram received on `socket` from `from`. Never fails: anything that is
    /// not an acceptable reply is counted and dropped.
    pub fn handle_datagram(&mut self, now: Instant, socket: usize, from: SocketAddr, data: &[u8]) {
        self.stats.received += 1;
        if data.len() < 12 || socket >= self.ids.len() {
            self.stats.dropped_malformed += 1;
            return;
        }
        let id = u16::from_be_bytes([data[0], data[1]]);
        let slot = match self.ids[socket][id as usize] {
            FREE => {
                self.stats.dropped_unknown_id += 1;
                return;
            }
            QUARANTINE_ANSWERED => {
                self.stats.duplicates += 1;
                return;
            }
            QUARANTINE_GAVE_UP => {
                self.stats.late += 1;
                return;
            }
            QUARANTINE_SUSPECT => {
                let key = (socket as u16, id);
                let Some(&loss) = self.pending_losses.get(&key) else {
                    self.stats.duplicates += 1;
                    return;
                };
                if loss.mark == QUARANTINE_GAVE_UP {
                    self.stats.late += 1;
                } else {
                    self.stats.duplicates += 1;
                }
                if from == self.config.resolvers[loss.resolver as usize] {
                    self.pending_losses.remove(&key);
                    self.ids[socket][id as usize] = loss.mark;
                    self.late_reply(loss);
                }
                return;
            }
            entry => entry - 1,
        };
        let lookup = self
            .slots
            .get(slot as usize)
            .expect("ID table points at live lookups");
        let Some(index) = lookup
            .live
            .iter()
            .position(|a| usize::from(a.socket) == socket && a.id == id)
        else {
            self.stats.dropped_unknown_id += 1;
            return;
        };
        let attempt = lookup.live[index];
        if from != self.config.resolvers[attempt.resolver as usize] {
            self.stats.dropped_wrong_source += 1;
            return;
        }
        let reply = match decode_reply(data, &lookup.query, &lookup.wire) {
            Ok(reply) => reply,
            Err(Reject::Malformed) => {
                self.stats.dropped_malformed += 1;
                return;
            }
            Err(Reject::WrongQuestion) => {
                self.stats.dropped_wrong_question += 1;
                return;
            }
        };
        self.stats.matched += 1;
        self.last_reply = Some(now);
        self.last_answer[attempt.resolver as usize] = Some(now);
        self.timeouts_since_reply = 0;
        if let Some(l) = self.slots.get_mut(slot as usize) {
            l.live[index].replied = true;
        }
        if attempt.timed_out
            && let Some(loss) = self.pending_losses.remove(&(attempt.socket, attempt.id))
        {
            self.late_reply(loss);
        }
        let rtt = now.saturating_duration_since(attempt.sent_at);
        // Every attempt has its own ID, so a reply times exactly one send (no ambiguity
        // about which retransmission it answers: Karn's problem does not arise).
        let first_sample = self.rtt[attempt.resolver as usize].srtt.is_none();
        self.rtt[attempt.resolver as usize].sample(rtt);
        if first_sample && self.config.adaptive_timeout {
            self.rearm_first_attempts(attempt.resolver);
        }
        if reply.truncated {
            self.start_tcp(now, slot, attempt.resolver);
            return;
        }
        self.accept(now, slot, attempt.resolver, rtt, reply, false);
    }

    /// Hands back the result of a TCP exchange requested by [`Core::poll_tcp`].
    /// A result for an exchange the core no longer waits for is ignored.
    pub fn handle_tcp_response(
        &mut self,
        now: Instant,
        token: TcpToken,
        result: Result<&[u8], std::io::Error>,
    ) {
        if self.generations.get(token.slot as usize) != Some(&token.generation) {
            return;
        }
        let Some(lookup) = self.slots.get(token.slot as usize) else {
            return;
        };
        let Phase::Tcp { resolver, started } = lookup.phase else {
            return;
        };
        let data = match result {
            Ok(data) => data,
            Err(_) => {
                self.stats.tcp_failures += 1;
                self.note_failure(now, resolver);
                self.retry_or_finish(now, token.slot, None);
                return;
            }
        };
        let accepted = data.len() >= 12
            && u16::from_be_bytes([data[0], data[1]]) == token.id
            && matches!(decode_reply(data, &lookup.query, &lookup.wire), Ok(ref r) if !r.truncated);
        if !accepted {
            // A TCP reply that does not answer our query is a failed exchange.
            self.stats.tcp_failures += 1;
            self.note_failure(now, resolver);
            self.retry_or_finish(now, token.slot, None);
            return;
        }
        let reply = decode_reply(data, &lookup.query, &lookup.wire)
            .ok()
            .expect("checked above");
        let rtt = now.saturating_duration_since(started);
        self.accept(now, token.slot, resolver, rtt, reply, true);
    }
}

#[cfg(test)]
mod tests;
