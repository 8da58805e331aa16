//! The loopback server: UDP and TCP listeners, fault injection, a delay queue.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::Name;
use hickory_proto::serialize::binary::BinEncodable;

use crate::zones::{ZoneError, Zones, key};

/// Faults applied to UDP traffic, each a share in `0.0..=1.0` drawn per query from a
/// generator seeded with `seed`. With one worker thread the same query sequence gets the
/// same faults on every run.
///
/// "Bogus" faults (`wrong_id`, `wrong_source`, `wrong_question`, `malformed`) send the bad
/// packet *before* the real reply, so a correct client ignores it and still completes.
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

/// A closure that may alter each reply before it is sent: `(query index, reply)`.
pub type Hook = Arc<dyn Fn(u64, &mut Message) + Send + Sync>;

/// What the server did, for tests to assert on.
#[derive(Debug, Default)]
pub struct ServerStats {
    /// UDP queries received (parsable or not).
    pub udp_queries: AtomicU64,
    /// TCP queries received.
    pub tcp_queries: AtomicU64,
    /// Real replies sent over UDP (duplicates not counted).
    pub udp_replies: AtomicU64,
    /// Queries dropped by the `drop` fault.
    pub dropped: AtomicU64,
    /// Datagrams that did not parse as a query (no reply).
    pub unparsable: AtomicU64,
    /// Bogus packets sent (wrong ID, source, question, malformed).
    pub bogus: AtomicU64,
    /// Replies sent twice.
    pub duplicated: AtomicU64,
    /// Replies delayed.
    pub delayed: AtomicU64,
    /// Replies truncated (by fault or size).
    pub truncated: AtomicU64,
    /// Queries answered SERVFAIL or REFUSED by a fault.
    pub forced_errors: AtomicU64,
}

impl ServerStats {
    /// Reads a counter.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// Errors starting a server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// Zone data failed to load.
    #[error(transparent)]
    Zone(#[from] ZoneError),
    /// A socket could not be opened.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// Configures and starts a [`Server`].
#[derive(Clone)]
pub struct ServerBuilder {
    zones: Zones,
    faults: Faults,
    hook: Option<Hook>,
    listen: SocketAddr,
    workers: usize,
    ent_nxdomain: Option<bool>,
}

impl std::fmt::Debug for ServerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerBuilder")
            .field("zones", &self.zones.zone_count())
            .field("faults", &self.faults)
            .field("listen", &self.listen)
            .field("workers", &self.workers)
            .field("ent_nxdomain", &self.ent_nxdomain)
            .finish()
    }
}

impl ServerBuilder {
    /// Adds a zone from text.
    pub fn zone_text(mut self, origin: &str, text: &str) -> Result<Self, ServerError> {
        self.zones.add_zone_text(origin, text)?;
        Ok(self)
    }

    /// Uses already loaded zones (added to any given before).
    pub fn zones(mut self, zones: Zones) -> Self {
        if self.zones.zone_count() == 0 {
            self.zones = zones;
        } else {
            // Merging is rare (tests add text zones to a loaded set); keep it simple.
            self.zones = merge(self.zones, zones);
        }
        self
    }

    /// Sets the faults.
    pub fn faults(mut self, faults: Faults) -> Self {
        self.faults = faults;
        self
    }

    /// Sets a closure that may alter every reply.
    pub fn hook(mut self, hook: impl Fn(u64, &mut Message) + Send + Sync + 'static) -> Self {
        self.hook = Some(Arc::new(hook));
        self
    }

    /// Address for both UDP and TCP; port 0 (the default, on 127.0.0.1) picks a free port.
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// UDP worker threads sharing the socket (default 1: deterministic faults).
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = workers.max(1);
        self
    }

    /// Answers empty non-terminals NXDOMAIN instead of NOERROR/NODATA, as old tinydns
    /// and PowerDNS did (see [`Zones::set_ent_nxdomain`]); overrides the zones' own
    /// setting whichever order the calls come in.
    pub fn ent_nxdomain(mut self, on: bool) -> Self {
        self.ent_nxdomain = Some(on);
        self
    }

    /// Binds and starts serving on background threads.
    pub fn start(mut self) -> Result<Server, ServerError> {
        if let Some(on) = self.ent_nxdomain {
            self.zones.set_ent_nxdomain(on);
        }
        let bind_err = |addr| move |source| ServerError::Bind { addr, source };
        // TCP on the same port as UDP, as a real server does (clients fall back to the
        // address that sent TC=1). With port 0 the kernel picks a UDP port whose TCP twin
        // may be taken (an ephemeral port of some connection): then try another.
        let mut tries = if self.listen.port() == 0 { 50 } else { 1 };
        let (udp, udp_addr, tcp) = loop {
            let udp = bind_udp(self.listen).map_err(bind_err(self.listen))?;
            let udp_addr = udp.local_addr().map_err(bind_err(self.listen))?;
            match TcpListener::bind(udp_addr) {
                Ok(tcp) => break (udp, udp_addr, tcp),
                Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && tries > 1 => tries -= 1,
                Err(e) => return Err(bind_err(udp_addr)(e)),
            }
        };
        let wrong_source_addr = SocketAddr::new(udp_addr.ip(), 0);
        let other = UdpSocket::bind(wrong_source_addr).map_err(bind_err(wrong_source_addr))?;
        // Short read timeouts let threads notice shutdown.
        let tick = Some(Duration::from_millis(50));
        udp.set_read_timeout(tick).map_err(bind_err(udp_addr))?;
        tcp.set_nonblocking(true).map_err(bind_err(udp_addr))?;

        let shared = Arc::new(Shared {
            zones: self.zones,
            faults: self.faults,
            hook: self.hook,
            stats: Arc::new(ServerStats::default()),
            stop: AtomicBool::new(false),
            query_index: AtomicU64::new(0),
        });
        let (delay_tx, delay_rx) = mpsc::channel::<Delayed>();
        let mut threads = Vec::new();
        let udp = Arc::new(udp);
        let other = Arc::new(other);
        for worker in 0..self.workers {
            let shared = Arc::clone(&shared);
            let udp = Arc::clone(&udp);
            let other = Arc::clone(&other);
            let delay_tx = delay_tx.clone();
            let rng = Mutex::new(SplitMix(
                shared.faults.seed ^ (worker as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15),
            ));
            threads.push(std::thread::spawn(move || {
                udp_worker(&shared, &udp, &other, &delay_tx, &rng);
            }));
        }
        drop(delay_tx);
        {
            let udp = Arc::clone(&udp);
            let shared = Arc::clone(&shared);
            threads.push(std::thread::spawn(move || {
                delay_worker(&shared, &udp, delay_rx)
            }));
        }
        {
            let shared = Arc::clone(&shared);
            threads.push(std::thread::spawn(move || tcp_acceptor(&shared, &tcp)));
        }
        Ok(Server {
            udp_addr,
            shared,
            threads,
        })
    }
}

/// A UDP socket with a deep receive queue: a client bursting thousands of queries should
/// meet the server's speed, not the kernel's default 208 KiB buffer.
fn bind_udp(addr: SocketAddr) -> std::io::Result<UdpSocket> {
    let domain = socket2::Domain::for_address(addr);
    let socket = socket2::Socket::new(domain, socket2::Type::DGRAM, Some(socket2::Protocol::UDP))?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    // Capped by net.core.rmem_max; a smaller buffer only means more loss under bursts.
    let _ = socket.set_recv_buffer_size(8 << 20);
    let _ = socket.set_send_buffer_size(4 << 20);
    socket.bind(&addr.into())?;
    Ok(socket.into())
}

fn merge(mut a: Zones, b: Zones) -> Zones {
    a.absorb(b);
    a
}

/// A running server; stops when dropped.
#[derive(Debug)]
pub struct Server {
    udp_addr: SocketAddr,
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

impl Server {
    /// A builder with no zones, no faults, listening on `127.0.0.1:0`.
    pub fn builder() -> ServerBuilder {
        ServerBuilder {
            zones: Zones::new(),
            faults: Faults::default(),
            hook: None,
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            workers: 1,
            ent_nxdomain: None,
        }
    }

    /// Where UDP queries go.
    pub fn udp_addr(&self) -> SocketAddr {
        self.udp_addr
    }

    /// Where TCP queries go (the same address and port as UDP).
    pub fn tcp_addr(&self) -> SocketAddr {
        self.udp_addr
    }

    /// Counters.
    pub fn stats(&self) -> &ServerStats {
        &self.shared.stats
    }

    /// Stops every thread and waits for them.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown();
    }
}

struct Shared {
    zones: Zones,
    faults: Faults,
    hook: Option<Hook>,
    stats: Arc<ServerStats>,
    stop: AtomicBool,
    query_index: AtomicU64,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("faults", &self.faults)
            .finish()
    }
}

struct Delayed {
    at: Instant,
    dest: SocketAddr,
    bytes: Vec<u8>,
}

/// SplitMix64: tiny, seedable, good enough to draw fault decisions.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// True with probability `p`.
    fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

fn udp_worker(
    shared: &Shared,
    udp: &UdpSocket,
    other: &UdpSocket,
    delay_tx: &mpsc::Sender<Delayed>,
    rng: &Mutex<SplitMix>,
) {
    let mut buf = vec![0u8; 65535];
    let mut rng = rng.lock().expect("one worker per generator");
    let f = &shared.faults;
    // Replies depend only on the question when no fault rewrites them per query.
    let fast_path = shared.hook.is_none()
        && f.servfail == 0.0
        && f.refused == 0.0
        && f.truncate == 0.0
        && f.wrong_question == 0.0
        && f.servfail_subtree.is_none()
        && f.refused_subtree.is_none();
    let mut cache: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
    while !shared.stop.load(Ordering::Relaxed) {
        let (len, from) = match udp.recv_from(&mut buf) {
            Ok(x) => x,
            Err(_) => continue, // read timeout tick (or a transient error)
        };
        bump(&shared.stats.udp_queries);
        let f = &shared.faults;
        let query = &buf[..len];
        // Fast path: a reply cached for the same question (any letter case) and the same
        // flags and OPT record, with the ID and the question's case patched in.
        let cache_key = if fast_path { fast_key(query) } else { None };
        let cached = cache_key.as_ref().and_then(|k| cache.get(k));
        let mut reply = None;
        let bytes = match cached {
            Some(hit) => {
                let seen = ServerStats::get(&shared.stats.udp_queries);
                if seen <= f.drop_first || rng.chance(f.drop) {
                    bump(&shared.stats.dropped);
                    continue;
                }
                let _ = shared.query_index.fetch_add(1, Ordering::Relaxed);
                let mut bytes = hit.clone();
                let qend = question_end(query).unwrap_or(12);
                bytes[..2].copy_from_slice(&query[..2]);
                bytes[12..qend].copy_from_slice(&query[12..qend]);
                bytes
            }
            None => {
                let Ok(request) = Message::from_vec(query) else {
                    bump(&shared.stats.unparsable);
                    continue;
                };
                let seen = ServerStats::get(&shared.stats.udp_queries);
                if seen <= f.drop_first || rng.chance(f.drop) {
                    bump(&shared.stats.dropped);
                    continue;
                }
                let Some(mut r) = respond(shared, &request, &mut rng) else {
                    continue;
                };
                let limit = request
                    .edns
                    .as_ref()
                    .map_or(512, |e| usize::from(e.max_payload().max(512)));
                let mut bytes = encode(&r);
                if rng.chance(f.truncate) || bytes.len() > limit {
                    bump(&shared.stats.truncated);
                    r.answers.clear();
                    r.authorities.clear();
                    r.additionals.clear();
                    r.metadata.truncation = true;
                    bytes = encode(&r);
                }
                if let Some(k) = cache_key {
                    if cache.len() >= CACHE_ENTRIES {
                        cache.clear();
                    }
                    cache.insert(k, bytes.clone());
                }
                reply = Some(r);
                bytes
            }
        };
        // Bogus packets first, so the real reply still arrives after them.
        if rng.chance(f.wrong_id) {
            let mut bad = bytes.clone();
            let delta = (rng.next() as u16) | 1;
            let id = u16::from_be_bytes([bad[0], bad[1]]).wrapping_add(delta);
            bad[..2].copy_from_slice(&id.to_be_bytes());
            send_bogus(shared, udp, &bad, from);
        }
        if rng.chance(f.wrong_source) {
            send_bogus(shared, other, &bytes, from);
        }
        if let Some(reply) = &reply
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
            send_bogus(shared, udp, &encode(&bad), from);
        }
        if rng.chance(f.malformed) {
            send_bogus(shared, udp, &malformed(&bytes, &mut rng), from);
        }
        bump(&shared.stats.udp_replies);
        let copies = if rng.chance(f.duplicate) {
            bump(&shared.stats.duplicated);
            2
        } else {
            1
        };
        if rng.chance(f.delay_share) {
            bump(&shared.stats.delayed);
            let jitter_ns = f.jitter.as_nanos() as u64;
            let extra = if jitter_ns == 0 {
                0
            } else {
                rng.next() % jitter_ns
            };
            let at = Instant::now() + f.delay + Duration::from_nanos(extra);
            for _ in 0..copies {
                let _ = delay_tx.send(Delayed {
                    at,
                    dest: from,
                    bytes: bytes.clone(),
                });
            }
        } else {
            for _ in 0..copies {
                let _ = udp.send_to(&bytes, from);
            }
        }
    }
}

/// Replies kept per worker before the cache starts over.
const CACHE_ENTRIES: usize = 500_000;

/// End of the question section of a query with exactly one uncompressed question.
fn question_end(q: &[u8]) -> Option<usize> {
    if q.len() < 12 || q[4..6] != [0, 1] || q[6..10] != [0, 0, 0, 0] {
        return None;
    }
    let mut pos = 12;
    loop {
        let l = usize::from(*q.get(pos)?);
        if l == 0 {
            pos += 1;
            break;
        }
        if l & 0xc0 != 0 {
            return None;
        }
        pos += 1 + l;
    }
    let end = pos + 4;
    (end <= q.len()).then_some(end)
}

/// What the reply depends on: flags, the question (lowercased) and the OPT record.
fn fast_key(q: &[u8]) -> Option<Vec<u8>> {
    let end = question_end(q)?;
    let mut key = Vec::with_capacity(q.len());
    key.extend_from_slice(&q[2..4]);
    key.extend_from_slice(&q[10..12]);
    key.extend(q[12..end].iter().map(u8::to_ascii_lowercase));
    key.extend_from_slice(&q[end..]);
    Some(key)
}

fn send_bogus(shared: &Shared, socket: &UdpSocket, bytes: &[u8], to: SocketAddr) {
    bump(&shared.stats.bogus);
    let _ = socket.send_to(bytes, to);
}

/// A packet with the right ID that cannot be decoded: the header promises records the
/// body does not hold, or a compression pointer loops.
fn malformed(good: &[u8], rng: &mut SplitMix) -> Vec<u8> {
    let mut bad = good[..12.min(good.len())].to_vec();
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
            bad.extend_from_slice(&good[12..good.len().min(12 + 5)]);
        }
        _ => {
            // A label length running past the end.
            bad[4..6].copy_from_slice(&1u16.to_be_bytes());
            bad.extend_from_slice(&[63, b'x', b'y']);
        }
    }
    bad
}

fn encode(message: &Message) -> Vec<u8> {
    // Messages built from parsed zone data and a parsed query always encode.
    message.to_bytes().unwrap_or_default()
}

/// The reply for a query after rcode faults and the hook; `None` means no reply.
fn respond(shared: &Shared, request: &Message, rng: &mut SplitMix) -> Option<Message> {
    let f = &shared.faults;
    let index = shared.query_index.fetch_add(1, Ordering::Relaxed);
    let in_subtree = |sub: &Option<Name>| {
        sub.as_ref().is_some_and(|s| {
            request
                .queries
                .first()
                .is_some_and(|q| key(q.name()).ends_with(&key(s)))
        })
    };
    let forced = if in_subtree(&f.servfail_subtree) || rng.chance(f.servfail) {
        Some(ResponseCode::ServFail)
    } else if in_subtree(&f.refused_subtree) || rng.chance(f.refused) {
        Some(ResponseCode::Refused)
    } else {
        None
    };
    let mut reply = shared.zones.answer(request);
    if let Some(code) = forced {
        bump(&shared.stats.forced_errors);
        reply.answers.clear();
        reply.authorities.clear();
        reply.metadata.authoritative = false;
        reply.metadata.response_code = code;
    }
    if let Some(hook) = &shared.hook {
        hook(index, &mut reply);
    }
    Some(reply)
}

fn delay_worker(shared: &Shared, udp: &UdpSocket, rx: mpsc::Receiver<Delayed>) {
    let mut queue: BinaryHeap<Reverse<(Instant, u64)>> = BinaryHeap::new();
    let mut items: std::collections::HashMap<u64, Delayed> = std::collections::HashMap::new();
    let mut seq = 0u64;
    while !shared.stop.load(Ordering::Relaxed) {
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

fn tcp_acceptor(shared: &Arc<Shared>, listener: &TcpListener) {
    while !shared.stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((stream, _)) => {
                let shared = Arc::clone(shared);
                std::thread::spawn(move || tcp_connection(&shared, stream));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

fn tcp_connection(shared: &Shared, mut stream: TcpStream) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut rng = SplitMix(shared.faults.seed ^ 0x7c9);
    loop {
        let mut len = [0u8; 2];
        if stream.read_exact(&mut len).is_err() {
            return;
        }
        let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
        if stream.read_exact(&mut buf).is_err() {
            return;
        }
        bump(&shared.stats.tcp_queries);
        let Ok(request) = Message::from_vec(&buf) else {
            bump(&shared.stats.unparsable);
            return;
        };
        let Some(reply) = respond(shared, &request, &mut rng) else {
            return;
        };
        let bytes = encode(&reply);
        let Ok(n) = u16::try_from(bytes.len()) else {
            return;
        };
        let mut framed = n.to_be_bytes().to_vec();
        framed.extend_from_slice(&bytes);
        if stream.write_all(&framed).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::Query;
    use hickory_proto::rr::RecordType;

    fn ask(socket: &UdpSocket, to: SocketAddr, id: u16, name: &str) -> Message {
        let mut q = Message::query();
        q.metadata.id = id;
        q.add_query(Query::query(Name::from_ascii(name).unwrap(), RecordType::A));
        socket.send_to(&q.to_vec().unwrap(), to).unwrap();
        let mut buf = [0u8; 1500];
        let n = socket.recv(&mut buf).unwrap();
        Message::from_vec(&buf[..n]).unwrap()
    }

    #[test]
    fn cached_replies_carry_each_querys_id_and_letter_case() {
        let server = Server::builder()
            .zone_text(
                "example.test.",
                "$TTL 60\n@ SOA ns hostmaster 1 3600 600 86400 60\nmail A 192.0.2.25\n",
            )
            .unwrap()
            .start()
            .unwrap();
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let first = ask(&socket, server.udp_addr(), 0x1111, "mail.example.test.");
        // The same question in other letter case: served from the cache.
        let second = ask(&socket, server.udp_addr(), 0x2222, "MAIL.Example.TEST.");
        assert_eq!(first.metadata.id, 0x1111);
        assert_eq!(second.metadata.id, 0x2222);
        assert_eq!(second.queries[0].name().to_ascii(), "MAIL.Example.TEST.");
        assert_eq!(first.answers, second.answers);
        assert_eq!(second.answers.len(), 1);
        // A different question is not answered from the cache.
        let nx = ask(&socket, server.udp_addr(), 0x3333, "nope.example.test.");
        assert_eq!(nx.metadata.response_code, ResponseCode::NXDomain);
        assert_eq!(ServerStats::get(&server.stats().udp_replies), 3);
    }

    #[test]
    fn the_builder_turns_on_nxdomain_for_empty_non_terminals() {
        let zone = "$TTL 60\n@ SOA ns hostmaster 1 3600 600 86400 60\nmail.dc A 192.0.2.25\n";
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let zones = |ent_nxdomain| {
            let mut z = Zones::new().with_ent_nxdomain(ent_nxdomain);
            z.add_zone_text("example.test.", zone).unwrap();
            z
        };
        // (zones' own setting, the builder's, the answer for an empty non-terminal)
        for (own, on, ent_rcode) in [
            (false, None, ResponseCode::NoError),
            (false, Some(true), ResponseCode::NXDomain),
            (true, None, ResponseCode::NXDomain),
            (true, Some(false), ResponseCode::NoError),
        ] {
            let mut builder = Server::builder().zones(zones(own));
            if let Some(on) = on {
                builder = builder.ent_nxdomain(on);
            }
            let server = builder.start().unwrap();
            let ent = ask(&socket, server.udp_addr(), 1, "dc.example.test.");
            assert_eq!(ent.metadata.response_code, ent_rcode, "{own} {on:?}");
            let data = ask(&socket, server.udp_addr(), 2, "mail.dc.example.test.");
            assert_eq!(data.answers.len(), 1, "{own} {on:?}");
        }
    }
}
