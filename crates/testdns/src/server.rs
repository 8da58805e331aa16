//! The loopback server: UDP and TCP listeners, fault injection, a delay queue.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use hickory_proto::op::Message;

use crate::faults::{
    Delayed, Faults, Outlet, SplitMix, bump, delay_worker, deliver, encode, encode_udp, force_rcode,
};
use crate::zones::{ZoneError, Zones};

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
    /// Proxy only: upstream datagrams that matched no forwarded query (late, duplicated,
    /// from another address, or shorter than a header).
    pub upstream_unmatched: AtomicU64,
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
    /// Both zones and an upstream were given: a server answers from one or the other.
    #[error("zones and an upstream given: serve zones or forward to {0}, not both")]
    ZonesAndUpstream(SocketAddr),
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
    upstream: Option<SocketAddr>,
}

impl std::fmt::Debug for ServerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerBuilder")
            .field("zones", &self.zones.zone_count())
            .field("faults", &self.faults)
            .field("listen", &self.listen)
            .field("workers", &self.workers)
            .field("ent_nxdomain", &self.ent_nxdomain)
            .field("upstream", &self.upstream)
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

    /// Forwards every query to `upstream` instead of answering from zones (a proxy):
    /// the faults apply to the upstream's replies as they would to the server's own, so a
    /// real server (Knot, a recursive resolver) can sit behind a lossy, slow or hostile
    /// path. Each query goes on with a fresh ID from one of a few sockets, and its reply
    /// returns to the client that asked, with the client's ID; TCP is relayed over one
    /// upstream connection per client connection. Replies delayed by the faults wait in a
    /// queue, not in a sleeping thread, so a delay on every reply costs no throughput.
    ///
    /// `drop` and `drop_first` drop queries before they are forwarded. With more than one
    /// reply in flight the fault sequence depends on the order replies arrive in, so a
    /// seed repeats the shares, not the exact queries hit. Giving zones as well is an
    /// error ([`ServerError::ZonesAndUpstream`]).
    pub fn upstream(mut self, upstream: SocketAddr) -> Self {
        self.upstream = Some(upstream);
        self
    }

    /// Binds and starts serving on background threads.
    pub fn start(mut self) -> Result<Server, ServerError> {
        if let Some(upstream) = self.upstream
            && self.zones.zone_count() > 0
        {
            return Err(ServerError::ZonesAndUpstream(upstream));
        }
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
            upstream: self.upstream,
        });
        let (delay_tx, delay_rx) = mpsc::channel::<Delayed>();
        let mut threads = Vec::new();
        let udp = Arc::new(udp);
        let other = Arc::new(other);
        if let Some(upstream) = self.upstream {
            let proxy = crate::proxy::Forwarder::bind(upstream)
                .map_err(bind_err(crate::proxy::local_for(upstream)))?;
            threads.extend(proxy.spawn(&shared, &udp, &other, &delay_tx, self.workers));
        } else {
            for worker in 0..self.workers {
                let rng = SplitMix::for_worker(shared.faults.seed, worker as u64);
                threads.push(spawn_sender(
                    &shared,
                    &udp,
                    &other,
                    &delay_tx,
                    move |shared, out| udp_worker(shared, out, rng),
                ));
            }
        }
        drop(delay_tx);
        {
            let udp = Arc::clone(&udp);
            let shared = Arc::clone(&shared);
            threads.push(std::thread::spawn(move || {
                delay_worker(&shared.stop, &udp, delay_rx)
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

/// A thread sending replies through this server's sockets and delay queue.
pub(crate) fn spawn_sender(
    shared: &Arc<Shared>,
    udp: &Arc<UdpSocket>,
    other: &Arc<UdpSocket>,
    delay_tx: &mpsc::Sender<Delayed>,
    run: impl FnOnce(&Shared, &Outlet<'_>) + Send + 'static,
) -> JoinHandle<()> {
    let (shared, udp, other) = (Arc::clone(shared), Arc::clone(udp), Arc::clone(other));
    let delay_tx = delay_tx.clone();
    std::thread::spawn(move || {
        let out = Outlet {
            socket: &udp,
            other: &other,
            delay_tx: &delay_tx,
            stats: &shared.stats,
        };
        run(&shared, &out);
    })
}

/// A UDP socket with a deep receive queue: a client bursting thousands of queries should
/// meet the server's speed, not the kernel's default 208 KiB buffer.
pub(crate) fn bind_udp(addr: SocketAddr) -> std::io::Result<UdpSocket> {
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
            upstream: None,
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

/// What every thread of a server reads.
pub(crate) struct Shared {
    zones: Zones,
    pub(crate) faults: Faults,
    pub(crate) hook: Option<Hook>,
    pub(crate) stats: Arc<ServerStats>,
    pub(crate) stop: AtomicBool,
    pub(crate) query_index: AtomicU64,
    upstream: Option<SocketAddr>,
}

impl Shared {
    /// The faults that rewrite a reply (a forced SERVFAIL or REFUSED), then the hook;
    /// `index` numbers the query.
    pub(crate) fn alter(&self, rng: &mut SplitMix, index: u64, reply: &mut Message) {
        let name = reply.queries.first().map(|q| q.name());
        if let Some(code) = self.faults.forced_rcode(rng, name) {
            bump(&self.stats.forced_errors);
            force_rcode(reply, code);
        }
        if let Some(hook) = &self.hook {
            hook(index, reply);
        }
    }

    /// Whether replies must be parsed for [`Shared::alter`] to act on them.
    pub(crate) fn alters(&self) -> bool {
        self.hook.is_some() || self.faults.rewrites_replies()
    }
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("faults", &self.faults)
            .finish()
    }
}

fn udp_worker(shared: &Shared, out: &Outlet<'_>, mut rng: SplitMix) {
    let mut buf = vec![0u8; 65535];
    let f = &shared.faults;
    // Replies depend only on the question when no fault rewrites them per query.
    let fast_path = !shared.alters();
    let mut cache: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
    while !shared.stop.load(Ordering::Relaxed) {
        let (len, from) = match out.socket.recv_from(&mut buf) {
            Ok(x) => x,
            Err(_) => continue, // read timeout tick (or a transient error)
        };
        bump(&shared.stats.udp_queries);
        let query = &buf[..len];
        // Fast path: a reply cached for the same question (any letter case) and the same
        // flags and OPT record, with the ID and the question's case patched in.
        let cache_key = if fast_path { fast_key(query) } else { None };
        let cached = cache_key.as_ref().and_then(|k| cache.get(k));
        let mut reply = None;
        let bytes = match cached {
            Some(hit) => {
                if f.drops(&mut rng, ServerStats::get(&shared.stats.udp_queries)) {
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
                if f.drops(&mut rng, ServerStats::get(&shared.stats.udp_queries)) {
                    bump(&shared.stats.dropped);
                    continue;
                }
                let mut r = respond(shared, &request, &mut rng);
                let limit = request
                    .edns
                    .as_ref()
                    .map_or(512, |e| usize::from(e.max_payload().max(512)));
                let bytes = encode_udp(f, &mut rng, &shared.stats, &mut r, limit);
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
        deliver(out, f, &mut rng, &bytes, reply.as_ref(), from);
    }
}

/// Replies kept per worker before the cache starts over.
const CACHE_ENTRIES: usize = 500_000;

/// End of the question section of a query with exactly one uncompressed question.
fn question_end(q: &[u8]) -> Option<usize> {
    if q.len() < 12 || q[4..6] != [0, 1] || q[6..10] != [0, 0, 0, 0] {
        return None;
    }
    first_question_end(q)
}

/// End of the first question of a message (its name uncompressed, then type and class);
/// `None` when there is none or it runs past the end (never panics on hostile bytes).
pub(crate) fn first_question_end(msg: &[u8]) -> Option<usize> {
    if msg.get(4..6)? == [0, 0] {
        return None;
    }
    let mut pos = 12;
    loop {
        let l = usize::from(*msg.get(pos)?);
        if l == 0 {
            pos += 1;
            break;
        }
        if l & 0xc0 != 0 {
            return None; // a pointer: questions are never compressed in practice
        }
        pos += 1 + l;
    }
    let end = pos + 4;
    (end <= msg.len()).then_some(end)
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

/// The reply for a query from the zones, after the rcode faults and the hook.
fn respond(shared: &Shared, request: &Message, rng: &mut SplitMix) -> Message {
    let index = shared.query_index.fetch_add(1, Ordering::Relaxed);
    let mut reply = shared.zones.answer(request);
    shared.alter(rng, index, &mut reply);
    reply
}

fn tcp_acceptor(shared: &Arc<Shared>, listener: &TcpListener) {
    while !shared.stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((stream, _)) => {
                let shared = Arc::clone(shared);
                std::thread::spawn(move || match shared.upstream {
                    Some(upstream) => crate::proxy::tcp_relay(&shared, stream, upstream),
                    None => tcp_connection(&shared, stream),
                });
            }
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

fn tcp_connection(shared: &Shared, mut stream: TcpStream) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut rng = SplitMix(shared.faults.seed ^ 0x7c9);
    while let Some(buf) = read_framed(&mut stream) {
        bump(&shared.stats.tcp_queries);
        let Ok(request) = Message::from_vec(&buf) else {
            bump(&shared.stats.unparsable);
            return;
        };
        let reply = respond(shared, &request, &mut rng);
        if !write_framed(&mut stream, &encode(&reply)) {
            return;
        }
    }
}

/// One length-prefixed DNS message from a TCP stream (RFC 1035 4.2.2); `None` at the end
/// of the stream or on an error.
pub(crate) fn read_framed(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut len = [0u8; 2];
    stream.read_exact(&mut len).ok()?;
    let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
    stream.read_exact(&mut buf).ok()?;
    Some(buf)
}

/// Writes one length-prefixed message; false if it is too long or the write failed.
pub(crate) fn write_framed(stream: &mut TcpStream, bytes: &[u8]) -> bool {
    let Ok(n) = u16::try_from(bytes.len()) else {
        return false;
    };
    let mut framed = n.to_be_bytes().to_vec();
    framed.extend_from_slice(bytes);
    stream.write_all(&framed).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::{Query, ResponseCode};
    use hickory_proto::rr::{Name, RecordType};

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
