//! The sans-IO protocol core: in-flight table, ID allocation, reply matching, retries,
//! timers and resolver health. No sockets and no clock: callers pass `now` and datagrams
//! in and take "send this" and "this finished" out, so tests drive it with a simulated
//! network and clock.
//!
//! The state machine is here ([`Core::poll_transmit`], [`Core::handle_datagram`],
//! [`Core::handle_timeout`], [`Core::poll_completion`]); around it, `config` holds the
//! tunables and their validation, `timers` the attempt deadlines, `wire` the encoding of
//! queries and the reading of replies.

mod config;
mod timers;
mod wire;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hickory_proto::op::Query;
use hickory_proto::rr::{Name, RecordType};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use slab::Slab;

pub use self::config::Config;
use self::timers::Timers;
use self::wire::{Reject, Reply, decode_reply, encode_query, question};
use crate::error::Error;
use crate::outcome::{Outcome, Status, interpret};

/// Counters of everything the core saw. Every received datagram lands in exactly one of
/// `matched`, `dropped_*`, `duplicates` or `late`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Queries submitted.
    pub submitted: u64,
    /// Queries finished (with any outcome).
    pub completed: u64,
    /// UDP datagrams handed out for sending (first attempts and retries).
    pub sent: u64,
    /// Messages the I/O layer handed the kernel for those datagrams: fewer than `sent`
    /// when segmentation offload sends a run of same-sized queries as one.
    pub send_messages: u64,
    /// UDP sends the I/O layer reported as failed (the query then times out and retries).
    pub send_errors: u64,
    /// UDP datagrams received.
    pub received: u64,
    /// Replies accepted for an in-flight query.
    pub matched: u64,
    /// Dropped: the ID is not in flight on that socket.
    pub dropped_unknown_id: u64,
    /// Dropped: the ID is in flight, but the reply came from another address or port.
    pub dropped_wrong_source: u64,
    /// Dropped: the question section differs from the query's (name, type or class).
    pub dropped_wrong_question: u64,
    /// Dropped: could not be decoded, or is not a response to a standard query.
    pub dropped_malformed: u64,
    /// Replies to a query that had already been answered (duplicates).
    pub duplicates: u64,
    /// Replies to a query that had already given up (timed out for good).
    pub late: u64,
    /// Attempts after the first (timeouts and retried SERVFAIL/REFUSED).
    pub retries: u64,
    /// Truncated UDP replies retried over TCP.
    pub tcp_fallbacks: u64,
    /// TCP exchanges that failed or timed out.
    pub tcp_failures: u64,
    /// Attempts that timed out (not queries: a query can time out once and then succeed).
    pub attempt_timeouts: u64,
    /// Queries that ended in [`Status::Timeout`].
    pub timeouts: u64,
    /// Times a congestion window was halved after a timeout.
    pub window_decreases: u64,
    /// Replies to an attempt that had already timed out (and been retried) while the
    /// query was still open: late, not lost.
    pub spurious_timeouts: u64,
    /// Timeouts that halved no window because the attempt's reply came within the
    /// grace period after all (late, not lost).
    pub losses_forgiven: u64,
    /// Halvings undone (doubled back) because the reply of the attempt whose timeout
    /// caused them came after all, later than the grace period.
    pub window_undos: u64,
    /// Attempts beyond [`Config::attempts`], made because replies kept arriving (a
    /// lossy path, not a dead resolver).
    pub extra_attempts: u64,
    /// Queries ended as timeouts without a further attempt because no resolver had
    /// replied for [`Config::silence_limit`].
    pub silenced: u64,
    /// The congestion windows now, summed over resolvers (UDP attempts in flight at most).
    pub window: u64,
}

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

/// One UDP attempt still listened for.
#[derive(Debug, Clone, Copy)]
struct Attempt {
    socket: u16,
    id: u16,
    resolver: u16,
    sent_at: Instant,
    /// Its timer fired (a loss is pending for it: see `Core::pending_losses`).
    timed_out: bool,
    /// A reply to it was accepted.
    replied: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting in the send queue for (re)transmission.
    Queued,
    /// Sent over UDP; waiting for a reply or the timer.
    Udp,
    /// Waiting for a TCP exchange.
    Tcp { resolver: u16, started: Instant },
}

#[derive(Debug)]
struct Lookup {
    tag: u64,
    query: Query,
    /// The question section as sent: the name's labels, type, class (see [`question`]).
    wire: Vec<u8>,
    attempts: u8,
    /// Attempts whose replies are still accepted (earlier attempts stay valid: a slow
    /// reply to attempt 1 answers the query as well as one to attempt 2).
    live: Vec<Attempt>,
    /// Resolver to use for the next attempt, when a retry wants a different one.
    last_resolver: Option<u16>,
    /// When the latest attempt was sent: replies from anywhere since then mean the
    /// path works, and a timeout is worth another attempt (see [`Config::max_attempts`]).
    last_sent: Option<Instant>,
    phase: Phase,
}

/// Per-socket ID table entry: 0 = free, `QUARANTINE_*` = recently finished, otherwise
/// the slot index + 1 of the in-flight lookup.
const FREE: u32 = 0;
const QUARANTINE_ANSWERED: u32 = u32::MAX;
const QUARANTINE_GAVE_UP: u32 = u32::MAX - 1;
/// A timed-out attempt whose query ended without its reply while its loss is pending
/// (see `Core::pending_losses`): its late reply still forgives the loss.
const QUARANTINE_SUSPECT: u32 = u32::MAX - 2;
/// IDs in use (in flight or quarantined) per socket above which a socket counts as full:
/// at 76% occupancy a random probe finds a free ID in about 4 tries.
const MAX_PER_SOCKET: u32 = 50_000;
/// Attempts timed out with no reply in between, at least, before the resolvers count as
/// silent (see [`Config::silence_limit`]).
const SILENT_TIMEOUTS: u32 = 16;
/// Queries sent in a row on one socket (see `Core::pick_socket`).
const SOCKET_RUN: u32 = 16;

/// Round-trip time estimate of one resolver (RFC 6298 section 2).
#[derive(Debug, Default, Clone, Copy)]
struct RttEstimate {
    srtt: Option<Duration>,
    rttvar: Duration,
}

impl RttEstimate {
    fn sample(&mut self, r: Duration) {
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
    fn rto(&self) -> Option<Duration> {
        let srtt = self.srtt?;
        Some(srtt + (self.rttvar * 4).max(Duration::from_millis(1)))
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Health {
    consecutive_failures: u32,
    penalty_until: Option<Instant>,
}

/// The congestion state of one resolver. Each resolver has its own window, so load
/// follows each one's speed: a resolver gets a new query when one of its own completes
/// (or times out), and a slow or lossy resolver holds only its own window, never the
/// room a fast one needs.
#[derive(Debug, Clone, Copy)]
struct Lane {
    window: f64,
    ssthresh: f64,
    /// When the current round (of slow start's delay check) began, the smallest round
    /// trip in it and in the one before, and the samples in it (HyStart++, RFC 9406).
    round_start: Option<Instant>,
    round_min: Option<Duration>,
    last_round_min: Option<Duration>,
    round_samples: u32,
    /// The last time the sender looked, work was waiting and this window was full.
    limited: bool,
    /// Attempts sent before this instant belong to a loss already answered by a halving.
    epoch: Option<Instant>,
    /// UDP attempts out to this resolver.
    outstanding: usize,
}

/// A timed-out attempt whose reply would still say something: its resolver, when it
/// was sent, the mark its ID takes in quarantine once nothing more is expected, and —
/// once its grace period ended and its loss halved the window — the window and
/// threshold before that halving (a reply then undoes one halving, as Eifel does).
#[derive(Debug, Clone, Copy)]
struct PendingLoss {
    resolver: u16,
    sent: Instant,
    mark: u32,
    halved: Option<(f64, f64)>,
}

impl Lane {
    fn new(window: f64, ssthresh: f64) -> Self {
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

/// What one resolver did, for reports ("moved load away from the sick one").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResolverStats {
    /// The resolver.
    pub addr: SocketAddr,
    /// Datagrams sent to it.
    pub sent: u64,
    /// Replies accepted from it that were not SERVFAIL/REFUSED.
    pub answered: u64,
    /// SERVFAIL or REFUSED replies.
    pub refused_or_servfail: u64,
    /// Attempts to it that timed out.
    pub timeouts: u64,
    /// Times it was rested after a burst of failures.
    pub rests: u64,
    /// Times its window was halved after a timeout.
    pub window_decreases: u64,
    /// Replies from it to attempts that had already timed out: late, not lost.
    pub spurious_timeouts: u64,
    /// Its congestion window now.
    pub window: u64,
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

    /// The first round trip of `resolver` is known: attempts sent to it before, with the
    /// configured timeout (1.5 s), get the adaptive one as well, so a loss among a
    /// resolver's first window is retried in a few round trips rather than seconds (on
    /// a lossy path that second and a half would be the run's tail). Once per resolver;
    /// the old timer stays and is ignored if this one fires first.
    fn rearm_first_attempts(&mut self, resolver: u16) {
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

    fn start_tcp(&mut self, now: Instant, slot: u32, resolver: u16) {
        self.stats.tcp_fallbacks += 1;
        self.release_ids(slot, QUARANTINE_ANSWERED, now);
        let generation = self.bump_generation(slot);
        let id: u16 = self.rng.random();
        self.leave_udp(slot);
        let lookup = self.slots.get_mut(slot as usize).expect("live lookup");
        lookup.phase = Phase::Tcp {
            resolver,
            started: now,
        };
        let mut message = Vec::with_capacity(64);
        // Over TCP the payload limit does not apply, but keep EDNS so the server treats
        // the query the same way.
        encode_query(
            &mut message,
            id,
            &lookup.wire,
            self.config.recursion_desired,
            self.config.edns_payload,
            self.config.padding_block,
        );
        self.tcp_queue.push_back(TcpRequest {
            token: TcpToken {
                slot,
                generation,
                id,
            },
            dest: self.config.resolvers[resolver as usize],
            message,
        });
        self.timers
            .push(now, self.config.tcp_timeout, slot, generation);
    }

    fn accept(
        &mut self,
        now: Instant,
        slot: u32,
        resolver: u16,
        rtt: Duration,
        reply: Reply,
        via_tcp: bool,
    ) {
        let lookup = self.slots.get(slot as usize).expect("live lookup");
        let (status, records) = interpret(
            reply.rcode,
            lookup.query.name(),
            lookup.query.query_type(),
            reply.answers,
        );
        let attempts = lookup.attempts;
        if !via_tcp {
            self.on_answer(now, resolver, rtt);
        }
        let transient = matches!(status, Status::ServFail | Status::Refused);
        if transient {
            self.per_resolver[resolver as usize].refused_or_servfail += 1;
            self.note_failure(now, resolver);
        } else {
            self.health[resolver as usize] = Health::default();
            self.per_resolver[resolver as usize].answered += 1;
        }
        let outcome = Outcome {
            status,
            records,
            attempts,
            resolver: Some(self.config.resolvers[resolver as usize]),
            rtt: Some(rtt),
            via_tcp,
            referral: reply.referral,
        };
        if transient && self.config.retry_servfail && attempts < self.config.attempts {
            // The failed exchange is over: its IDs go to quarantine, the retry gets new ones.
            self.release_ids(slot, QUARANTINE_ANSWERED, now);
            self.retry_or_finish(now, slot, Some(outcome));
        } else {
            self.finish(now, slot, outcome, QUARANTINE_ANSWERED);
        }
    }

    /// After a failed attempt: queue another one, or end the query with `last` (the
    /// failed attempt's own outcome) or a timeout.
    fn retry_or_finish(&mut self, now: Instant, slot: u32, last: Option<Outcome>) {
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
    fn give_up(&mut self, now: Instant, slot: u32) {
        let attempts = self.slots.get(slot as usize).map_or(0, |l| l.attempts);
        self.stats.timeouts += 1;
        self.finish(now, slot, Outcome::timeout(attempts), QUARANTINE_GAVE_UP);
    }

    /// No reply from any resolver for [`Config::silence_limit`], and a window's worth of
    /// attempts timed out since the last one (a long idle pause of the caller, or one
    /// lost packet after it, is not silence).
    fn silent(&self, now: Instant) -> bool {
        let Some(since) = self.last_reply.or(self.first_sent) else {
            return false;
        };
        self.timeouts_since_reply >= SILENT_TIMEOUTS
            && now.saturating_duration_since(since) > self.config.silence_limit
    }

    fn finish(&mut self, now: Instant, slot: u32, outcome: Outcome, mark: u32) {
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
    fn release_ids(&mut self, slot: u32, mark: u32, now: Instant) {
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
    fn leave_udp(&mut self, slot: u32) {
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

    /// An answer over UDP from `resolver`: its window grows (doubling per round trip
    /// below `ssthresh`, one per round trip above). Slow start ends early when the
    /// smallest round trip of a round grows clearly beyond the last round's (a queue is
    /// building at the server: HyStart++, RFC 9406) — doubling until the first loss
    /// would overshoot a small receive buffer many times over before the first timeout
    /// even fires. Per-round minimums, not single samples: a recursive resolver answers
    /// cached names in microseconds and others after a recursion of milliseconds, and
    /// that spread is not a queue.
    fn on_answer(&mut self, now: Instant, resolver: u16, rtt: Duration) {
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
    fn pend_loss(&mut self, now: Instant, a: Attempt) {
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
    fn settle_losses(&mut self, now: Instant) {
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
    fn late_reply(&mut self, loss: PendingLoss) {
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
    fn on_loss(&mut self, now: Instant, resolver: u16, sent: Instant) -> bool {
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

    fn bump_generation(&mut self, slot: u32) -> u32 {
        let g = &mut self.generations[slot as usize];
        *g = g.wrapping_add(1);
        *g
    }

    fn attempt_timeout(&self, slot: u32, resolver: u16) -> Duration {
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
    fn patience(&self, now: Instant, slot: u32) -> Option<Instant> {
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

    /// Round robin over the resolvers whose window has room, skipping ones in a penalty
    /// period, and moving a retry to a resolver other than the last one when there is a
    /// choice. `None` when every usable resolver's window is full: the query waits for
    /// one of them to complete something, so each resolver gets work at the pace it
    /// completes it.
    fn pick_resolver(&mut self, now: Instant, slot: u32) -> Option<u16> {
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

    fn has_room(&self, r: usize) -> bool {
        let lane = &self.lanes[r];
        !self.config.adaptive_window || (lane.outstanding as f64) < lane.window.floor()
    }

    fn note_failure(&mut self, now: Instant, resolver: u16) {
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

    fn pick_socket(&mut self, range: std::ops::Range<usize>) -> Option<usize> {
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

    fn allocate_id(&mut self, socket: usize, slot: u32) -> u16 {
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

#[cfg(test)]
mod tests;
