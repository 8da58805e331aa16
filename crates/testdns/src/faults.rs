//! The faults and the code that applies them, shared by the zone server and the proxy:
//! both decide a reply (from zones or from an upstream), then hand it to the same
//! functions here, so a fault means the same thing in front of either.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::Name;
use hickory_proto::serialize::binary::BinEncodable;

use crate::server::ServerStats;
use crate::zones::key;

/// Faults applied to UDP traffic, each a share in `0.0..=1.0` drawn per query from a
/// generator seeded with `seed`. With one worker thread the same query sequence gets the
/// same faults on every run.
///
/// "Bogus" faults (`wrong_id`, `wrong_source`, `wrong_question`, `malformed`) send the bad
/// packet *before* the real reply, so a correct client ignores it and still completes.
///
/// In front of an upstream ([`ServerBuilder::upstream`](crate::ServerBuilder::upstream))
/// `drop` and `drop_first` drop queries before they are forwarded; every other fault
/// applies to the upstream's reply as it would to the server's own.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Faults {
    /// Seed of the fault generator.
    pub seed: u64,
    /// Share of queries never answered.
    pub drop: f64,
    /// The first this-many UDP queries are never answered (exact, for retry tests).
    pub drop_first: u64,
    /// Share of replies delayed by `delay` plus up to `jitter`.
    pub delay_share: f64,
    /// Fixed part of a delay.
    pub delay: Duration,
    /// Random extra delay, uniform in `0..jitter`.
    pub jitter: Duration,
    /// Share of replies sent twice.
    pub duplicate: f64,
    /// Share of replies preceded by a copy with another ID.
    pub wrong_id: f64,
    /// Share of replies preceded by a copy sent from another port.
    pub wrong_source: f64,
    /// Share of replies preceded by a copy answering another question.
    pub wrong_question: f64,
    /// Share of replies preceded by a malformed packet carrying the right ID.
    pub malformed: f64,
    /// Share of UDP replies truncated (TC=1, no records); TCP gives the full answer.
    pub truncate: f64,
    /// Share of queries answered SERVFAIL.
    pub servfail: f64,
    /// Share of queries answered REFUSED.
    pub refused: f64,
    /// Every query at or below this name is answered SERVFAIL.
    pub servfail_subtree: Option<Name>,
    /// Every query at or below this name is answered REFUSED.
    pub refused_subtree: Option<Name>,
}

impl Faults {
    /// True when some fault needs the reply as a parsed message (a rewritten rcode, a
    /// truncation, another question); the rest work on the encoded bytes.
    pub(crate) fn rewrites_replies(&self) -> bool {
        self.servfail > 0.0
            || self.refused > 0.0
            || self.truncate > 0.0
            || self.wrong_question > 0.0
            || self.servfail_subtree.is_some()
            || self.refused_subtree.is_some()
    }

    /// Whether to drop this query: `seen` counts queries so far, this one included.
    pub(crate) fn drops(&self, rng: &mut SplitMix, seen: u64) -> bool {
        seen <= self.drop_first || rng.chance(self.drop)
    }

    /// The rcode a fault forces on the reply to a query for `name`, if any.
    pub(crate) fn forced_rcode(
        &self,
        rng: &mut SplitMix,
        name: Option<&Name>,
    ) -> Option<ResponseCode> {
        let in_subtree = |sub: &Option<Name>| {
            sub.as_ref()
                .is_some_and(|s| name.is_some_and(|n| key(n).ends_with(&key(s))))
        };
        if in_subtree(&self.servfail_subtree) || rng.chance(self.servfail) {
            Some(ResponseCode::ServFail)
        } else if in_subtree(&self.refused_subtree) || rng.chance(self.refused) {
            Some(ResponseCode::Refused)
        } else {
            None
        }
    }
}

/// Turns a reply into an error reply with `code`, as a failing server sends it.
pub(crate) fn force_rcode(reply: &mut Message, code: ResponseCode) {
    reply.answers.clear();
    reply.authorities.clear();
    reply.metadata.authoritative = false;
    reply.metadata.response_code = code;
}

/// Encodes `reply`, truncated (TC=1, no records) by the `truncate` fault or when it
/// exceeds `limit` bytes (the client's UDP payload size).
pub(crate) fn encode_udp(
    faults: &Faults,
    rng: &mut SplitMix,
    stats: &ServerStats,
    reply: &mut Message,
    limit: usize,
) -> Vec<u8> {
    let mut bytes = encode(reply);
    if rng.chance(faults.truncate) || bytes.len() > limit {
        bump(&stats.truncated);
        reply.answers.clear();
        reply.authorities.clear();
        reply.additionals.clear();
        reply.metadata.truncation = true;
        bytes = encode(reply);
    }
    bytes
}

pub(crate) fn encode(message: &Message) -> Vec<u8> {
    // Messages built from parsed zone data or a parsed reply always encode.
    message.to_bytes().unwrap_or_default()
}

/// Where replies leave from.
pub(crate) struct Outlet<'a> {
    /// The listening socket: real replies and most bogus packets.
    pub(crate) socket: &'a UdpSocket,
    /// Another port on the same address, for the `wrong_source` copies.
    pub(crate) other: &'a UdpSocket,
    /// The delay queue ([`delay_worker`]).
    pub(crate) delay_tx: &'a mpsc::Sender<Delayed>,
    pub(crate) stats: &'a ServerStats,
}

/// Sends the reply `bytes` to `to` under the packet faults: bogus packets first, then
/// the reply (twice by `duplicate`), at once or through the delay queue. `reply` is the
/// parsed reply when the caller has it (the `wrong_question` copy needs it).
///
/// The generator is drawn in a fixed order, so a single worker repeats its faults.
pub(crate) fn deliver(
    out: &Outlet<'_>,
    f: &Faults,
    rng: &mut SplitMix,
    bytes: &[u8],
    reply: Option<&Message>,
    to: SocketAddr,
) {
    let stats = out.stats;
    if rng.chance(f.wrong_id) && bytes.len() >= 2 {
        let mut bad = bytes.to_vec();
        let delta = (rng.next() as u16) | 1;
        let id = u16::from_be_bytes([bad[0], bad[1]]).wrapping_add(delta);
        bad[..2].copy_from_slice(&id.to_be_bytes());
        send_bogus(stats, out.socket, &bad, to);
    }
    if rng.chance(f.wrong_source) {
        send_bogus(stats, out.other, bytes, to);
    }
    if let Some(reply) = reply
        && rng.chance(f.wrong_question)
    {
        let mut bad = reply.clone();
        if let Some(q) = bad.queries.first_mut() {
            let other_name = q
                .name()
                .prepend_label("bogus")
                .unwrap_or_else(|_| Name::root());
            q.set_name(other_name);
        }
        send_bogus(stats, out.socket, &encode(&bad), to);
    }
    if rng.chance(f.malformed) {
        send_bogus(stats, out.socket, &malformed(bytes, rng), to);
    }
    bump(&stats.udp_replies);
    let copies = if rng.chance(f.duplicate) {
        bump(&stats.duplicated);
        2
    } else {
        1
    };
    if rng.chance(f.delay_share) {
        bump(&stats.delayed);
        let jitter_ns = f.jitter.as_nanos() as u64;
        let extra = if jitter_ns == 0 {
            0
        } else {
            rng.next() % jitter_ns
        };
        let at = Instant::now() + f.delay + Duration::from_nanos(extra);
        for _ in 0..copies {
            let _ = out.delay_tx.send(Delayed {
                at,
                dest: to,
                bytes: bytes.to_vec(),
            });
        }
    } else {
        for _ in 0..copies {
            let _ = out.socket.send_to(bytes, to);
        }
    }
}

fn send_bogus(stats: &ServerStats, socket: &UdpSocket, bytes: &[u8], to: SocketAddr) {
    bump(&stats.bogus);
    let _ = socket.send_to(bytes, to);
}

/// A packet with the right ID that cannot be decoded: the header promises records the
/// body does not hold, or a compression pointer loops.
fn malformed(good: &[u8], rng: &mut SplitMix) -> Vec<u8> {
    let mut bad = good[..12.min(good.len())].to_vec();
    // A reply shorter than a header (an upstream's garbage) still gets a full header.
    bad.resize(12, 0);
    match rng.next() % 3 {
        0 => {
            // Question count 1, then a compression pointer to itself.
            bad[4..6].copy_from_slice(&1u16.to_be_bytes());
            bad.extend_from_slice(&[0xc0, 12, 0, 12, 0, 1]);
        }
        1 => {
            // Claims 200 answers, holds half a question.
            bad[4..6].copy_from_slice(&1u16.to_be_bytes());
            bad[6..8].copy_from_slice(&200u16.to_be_bytes());
            bad.extend_from_slice(good.get(12..good.len().min(12 + 5)).unwrap_or(&[]));
        }
        _ => {
            // A label length running past the end.
            bad[4..6].copy_from_slice(&1u16.to_be_bytes());
            bad.extend_from_slice(&[63, b'x', b'y']);
        }
    }
    bad
}

/// A reply waiting in the delay queue.
pub(crate) struct Delayed {
    at: Instant,
    dest: SocketAddr,
    bytes: Vec<u8>,
}

/// Sends delayed replies when they are due, from one thread: a delay costs a heap entry,
/// never a sleeping worker, so thousands of delayed replies a second keep their timing.
pub(crate) fn delay_worker(stop: &AtomicBool, udp: &UdpSocket, rx: mpsc::Receiver<Delayed>) {
    let mut queue: BinaryHeap<Reverse<(Instant, u64)>> = BinaryHeap::new();
    let mut items: HashMap<u64, Delayed> = HashMap::new();
    let mut seq = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        while let Some(Reverse((at, n))) = queue.peek().copied() {
            if at > now {
                break;
            }
            queue.pop();
            if let Some(d) = items.remove(&n) {
                let _ = udp.send_to(&d.bytes, d.dest);
            }
        }
        let wait = queue
            .peek()
            .map_or(Duration::from_millis(50), |Reverse((at, _))| {
                at.saturating_duration_since(now)
                    .min(Duration::from_millis(50))
            });
        match rx.recv_timeout(wait) {
            Ok(d) => {
                seq += 1;
                queue.push(Reverse((d.at, seq)));
                items.insert(seq, d);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                if queue.is_empty() {
                    // Workers are gone and nothing is pending.
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
    }
}

/// SplitMix64: tiny, seedable, good enough to draw fault decisions.
pub(crate) struct SplitMix(pub(crate) u64);

impl SplitMix {
    /// The generator of worker `n` (each worker draws its own sequence).
    pub(crate) fn for_worker(seed: u64, n: u64) -> Self {
        SplitMix(seed ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15))
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// True with probability `p`.
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
}

pub(crate) fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}
