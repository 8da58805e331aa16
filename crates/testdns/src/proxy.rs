//! The proxy mode of [`Server`](crate::Server): queries forwarded to an upstream server,
//! its replies handed to the same fault code as the zone server's own
//! ([`crate::faults`]).
//!
//! UDP: client workers read the listening socket and forward each query with a fresh
//! random ID from one of [`UPSTREAM_SOCKETS`] sockets, each with its own table of
//! pending queries keyed by that ID; one reader per socket matches the upstream's reply
//! (source, ID, question) and sends it back to the client with the client's ID. TCP: one
//! upstream connection per client connection, messages relayed in turn.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, UdpSocket};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use hickory_proto::op::Message;

use crate::faults::{Delayed, Outlet, SplitMix, bump, deliver, encode, encode_udp};
use crate::server::{
    ServerStats, Shared, first_question_end, read_framed, spawn_sender, write_framed,
};

/// Sockets towards the upstream. Each has its own 16-bit ID space, so together they hold
/// 262,144 queries in flight; and the upstream sees several source ports, as from a
/// real resolver.
const UPSTREAM_SOCKETS: usize = 4;

/// A pending query whose reply has not come within this long frees its slot (the
/// upstream dropped it; no client waits this long).
const PENDING_TIMEOUT: Duration = Duration::from_secs(10);

/// Tries to find a free (socket, ID) slot before the query is given up as dropped: with
/// 262,144 slots this fails only when nearly all are taken.
const SLOT_TRIES: usize = 32;

/// A forwarded query waiting for its reply.
struct Pending {
    client: SocketAddr,
    client_id: [u8; 2],
    sent: Instant,
    index: u64,
    /// Hash of the question as asked (any letter case), to refuse a late reply to an
    /// earlier query that had the same slot.
    question: Option<u64>,
}

/// The upstream side of a proxy: its address, the sockets and their pending tables.
pub(crate) struct Forwarder {
    upstream: SocketAddr,
    sockets: Vec<UdpSocket>,
    pending: Vec<Mutex<HashMap<u16, Pending>>>,
}

/// The address the upstream sockets bind: loopback for a loopback upstream.
pub(crate) fn local_for(upstream: SocketAddr) -> SocketAddr {
    let ip = match (upstream.ip(), upstream.ip().is_loopback()) {
        (IpAddr::V4(_), true) => IpAddr::V4(Ipv4Addr::LOCALHOST),
        (IpAddr::V4(_), false) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        (IpAddr::V6(_), true) => IpAddr::V6(Ipv6Addr::LOCALHOST),
        (IpAddr::V6(_), false) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    SocketAddr::new(ip, 0)
}

impl Forwarder {
    /// Binds the upstream sockets.
    pub(crate) fn bind(upstream: SocketAddr) -> std::io::Result<Self> {
        let mut sockets = Vec::new();
        for _ in 0..UPSTREAM_SOCKETS {
            let socket = crate::server::bind_udp(local_for(upstream))?;
            // Short read timeouts let the readers notice shutdown.
            socket.set_read_timeout(Some(Duration::from_millis(50)))?;
            sockets.push(socket);
        }
        Ok(Forwarder {
            upstream,
            pending: (0..UPSTREAM_SOCKETS)
                .map(|_| Mutex::new(HashMap::new()))
                .collect(),
            sockets,
        })
    }

    /// Starts `workers` client workers on `udp` and one reader per upstream socket.
    pub(crate) fn spawn(
        self,
        shared: &Arc<Shared>,
        udp: &Arc<UdpSocket>,
        other: &Arc<UdpSocket>,
        delay_tx: &mpsc::Sender<Delayed>,
        workers: usize,
    ) -> Vec<JoinHandle<()>> {
        let this = Arc::new(self);
        let mut threads = Vec::new();
        let seed = shared.faults.seed;
        for worker in 0..workers {
            let (this, shared, udp) = (Arc::clone(&this), Arc::clone(shared), Arc::clone(udp));
            let rng = SplitMix::for_worker(seed, worker as u64);
            // IDs from their own generator, so the fault draws do not depend on them.
            let ids = SplitMix::for_worker(!seed, worker as u64);
            threads.push(std::thread::spawn(move || {
                this.forward_queries(&shared, &udp, rng, ids);
            }));
        }
        for n in 0..this.sockets.len() {
            let this = Arc::clone(&this);
            // Reply-side generators follow the client workers' in the seed's sequence.
            let rng = SplitMix::for_worker(seed, (workers + n) as u64);
            threads.push(spawn_sender(
                shared,
                udp,
                other,
                delay_tx,
                move |shared, out| {
                    this.return_replies(shared, n, out, rng);
                },
            ));
        }
        threads
    }

    /// A client worker: each query from the listening socket goes upstream under a free
    /// (socket, ID) slot, unless the drop faults take it.
    fn forward_queries(
        &self,
        shared: &Shared,
        udp: &UdpSocket,
        mut rng: SplitMix,
        mut ids: SplitMix,
    ) {
        let mut buf = vec![0u8; 65535];
        let stats = &shared.stats;
        while !shared.stop.load(Ordering::Relaxed) {
            let Ok((len, client)) = udp.recv_from(&mut buf) else {
                continue; // read timeout tick (or a transient error)
            };
            bump(&stats.udp_queries);
            let query = &mut buf[..len];
            // Shorter than a header, or a response (QR=1): never forwarded, so two
            // proxies pointed at each other cannot loop replies.
            if len < 12 || query[2] & 0x80 != 0 {
                bump(&stats.unparsable);
                continue;
            }
            if shared
                .faults
                .drops(&mut rng, ServerStats::get(&stats.udp_queries))
            {
                bump(&stats.dropped);
                continue;
            }
            let now = Instant::now();
            let mut pending = Some(Pending {
                client,
                client_id: [query[0], query[1]],
                sent: now,
                index: shared.query_index.fetch_add(1, Ordering::Relaxed),
                question: question_hash(query),
            });
            let mut slot = None;
            for _ in 0..SLOT_TRIES {
                let draw = ids.next();
                let n = (draw >> 16) as usize % self.sockets.len();
                let id = draw as u16;
                let mut table = self.pending[n].lock().unwrap_or_else(|e| e.into_inner());
                let free = table
                    .get(&id)
                    .is_none_or(|p| now.duration_since(p.sent) > PENDING_TIMEOUT);
                if free {
                    table.insert(id, pending.take().expect("inserted once"));
                    slot = Some((n, id));
                    break;
                }
            }
            let Some((n, id)) = slot else {
                // Every slot tried is busy: the query is lost, as on an overloaded path.
                bump(&stats.dropped);
                continue;
            };
            query[..2].copy_from_slice(&id.to_be_bytes());
            // A failed send is a lost query; the client's retry covers it.
            let _ = self.sockets[n].send_to(query, self.upstream);
        }
    }

    /// The reader of upstream socket `n`: a reply matching a pending query goes back to
    /// its client under the faults.
    fn return_replies(&self, shared: &Shared, n: usize, out: &Outlet<'_>, mut rng: SplitMix) {
        let mut buf = vec![0u8; 65535];
        let stats = &shared.stats;
        let alters = shared.alters();
        while !shared.stop.load(Ordering::Relaxed) {
            let Ok((len, from)) = self.sockets[n].recv_from(&mut buf) else {
                continue;
            };
            let reply = &mut buf[..len];
            if from != self.upstream || len < 12 {
                bump(&stats.upstream_unmatched);
                continue;
            }
            let id = u16::from_be_bytes([reply[0], reply[1]]);
            let pending = {
                let mut table = self.pending[n].lock().unwrap_or_else(|e| e.into_inner());
                match table.get(&id) {
                    Some(p) if answers(p, reply) => table.remove(&id),
                    _ => None,
                }
            };
            let Some(p) = pending else {
                bump(&stats.upstream_unmatched);
                continue;
            };
            reply[..2].copy_from_slice(&p.client_id);
            if alters && let Ok(mut message) = Message::from_vec(reply) {
                shared.alter(&mut rng, p.index, &mut message);
                // The upstream sized the reply for the client already: only the
                // truncate fault cuts it.
                let bytes = encode_udp(&shared.faults, &mut rng, stats, &mut message, usize::MAX);
                deliver(
                    out,
                    &shared.faults,
                    &mut rng,
                    &bytes,
                    Some(&message),
                    p.client,
                );
            } else {
                // Untouched bytes (or an upstream reply hickory cannot parse, passed on
                // as a real path would) under the faults that need no parsing.
                deliver(out, &shared.faults, &mut rng, reply, None, p.client);
            }
        }
    }
}

/// Whether `reply` can answer pending query `p`: the same question, or none (a FORMERR
/// to a query without one).
fn answers(p: &Pending, reply: &[u8]) -> bool {
    let no_question = reply.get(4..6) == Some(&[0, 0]);
    no_question || p.question.is_none() || question_hash(reply) == p.question
}

/// A hash of the first question (name in lower case, type, class); `None` when there is
/// none or it runs past the end (never panics on short or hostile bytes).
fn question_hash(msg: &[u8]) -> Option<u64> {
    let question = msg.get(12..first_question_end(msg)?)?;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for b in question {
        b.to_ascii_lowercase().hash(&mut h);
    }
    Some(h.finish())
}

/// Relays one client TCP connection over one upstream connection, message by message,
/// with the faults that rewrite replies (SERVFAIL, REFUSED, the hook) as the server
/// applies them over TCP.
pub(crate) fn tcp_relay(shared: &Shared, mut client: TcpStream, upstream: SocketAddr) {
    let _ = client.set_nonblocking(false);
    let _ = client.set_read_timeout(Some(Duration::from_secs(5)));
    let mut rng = SplitMix(shared.faults.seed ^ 0x7c9);
    let mut up: Option<TcpStream> = None;
    while let Some(query) = read_framed(&mut client) {
        bump(&shared.stats.tcp_queries);
        let index = shared.query_index.fetch_add(1, Ordering::Relaxed);
        let Some(mut reply) = exchange(&mut up, upstream, &query) else {
            return; // the client sees the connection close, as from a failing server
        };
        if shared.alters()
            && let Ok(mut message) = Message::from_vec(&reply)
        {
            shared.alter(&mut rng, index, &mut message);
            reply = encode(&message);
        }
        if !write_framed(&mut client, &reply) {
            return;
        }
    }
}

/// One query and reply over the upstream connection, opened (again) when needed: an
/// upstream may close an idle connection between two of the client's queries.
fn exchange(up: &mut Option<TcpStream>, upstream: SocketAddr, query: &[u8]) -> Option<Vec<u8>> {
    for _ in 0..2 {
        if up.is_none() {
            let stream = TcpStream::connect_timeout(&upstream, Duration::from_secs(5)).ok()?;
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            *up = Some(stream);
        }
        let stream = up.as_mut()?;
        if write_framed(stream, query)
            && let Some(reply) = read_framed(stream)
        {
            return Some(reply);
        }
        *up = None;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        // Any bytes from the network: no panic.
        #[test]
        fn question_hash_takes_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = question_hash(&bytes);
        }
    }

    #[test]
    fn the_question_matches_in_any_letter_case() {
        let mut q = vec![0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        q.extend_from_slice(b"\x04mail\x04test\x00\x00\x01\x00\x01");
        let mut upper = q.clone();
        upper[13..17].copy_from_slice(b"MAIL");
        assert_eq!(question_hash(&q), question_hash(&upper));
        let mut other = q.clone();
        other[13] = b'n';
        assert_ne!(question_hash(&q), question_hash(&other));
        // Cut inside the name, or inside type and class: no question.
        assert_eq!(question_hash(&q[..16]), None);
        assert_eq!(question_hash(&q[..q.len() - 1]), None);
    }
}
