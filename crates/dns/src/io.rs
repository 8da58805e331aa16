//! The socket layer under the driver: a pool of UDP sockets behind one type,
//! [`Sockets`], with the same methods on every platform (the quinn-udp shape).
//!
//! - `io/linux.rs` moves datagrams with `recvmmsg`/`sendmmsg` (64 per system call) and
//!   sends runs of same-sized queries to one resolver as one segmented message (UDP GSO),
//!   through `io/batch.rs`, which holds all the `unsafe` of the crate. With batching
//!   turned off ([`crate::ClientBuilder::batched_io`]) it uses the per-datagram path below.
//! - `io/fallback.rs`, everywhere else: one `recv_from`/`send_to` per datagram.
//!
//! Both receive into a callback (the core's `handle_datagram`) and send what the core's
//! `poll_transmit` hands out. Send errors are counted in the core, never returned: see
//! `Sockets::poll_send`.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::task::{Context, Poll};
use std::time::Instant;

use tokio::io::ReadBuf;
use tokio::net::UdpSocket;

use crate::core::{Core, Family, Transmit};
use crate::error::Error;

#[cfg(target_os = "linux")]
mod batch;

#[cfg(target_os = "linux")]
#[path = "io/linux.rs"]
mod imp;

#[cfg(not(target_os = "linux"))]
#[path = "io/fallback.rs"]
mod imp;

// Built on Linux too when testing, so the fallback does not rot where CI runs.
#[cfg(all(test, target_os = "linux"))]
#[path = "io/fallback.rs"]
mod fallback;

pub(crate) use self::imp::Sockets;

/// Work done per socket per wake-up before yielding to other tasks.
const BATCH: usize = 256;

/// Opens a UDP socket of `family` on a random port, non-blocking.
fn bind_udp(family: Family, recv_buffer: usize) -> Result<UdpSocket, Error> {
    // Port 0: the kernel picks a random ephemeral port for each socket (RFC 5452 §9.2).
    let addr: SocketAddr = match family {
        Family::V4 => (Ipv4Addr::UNSPECIFIED, 0).into(),
        Family::V6 => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let err = |source| Error::Bind { addr, source };
    let domain = match family {
        Family::V4 => socket2::Domain::IPV4,
        Family::V6 => socket2::Domain::IPV6,
    };
    let socket = socket2::Socket::new(domain, socket2::Type::DGRAM, Some(socket2::Protocol::UDP))
        .map_err(err)?;
    if family == Family::V6 {
        socket.set_only_v6(true).map_err(err)?;
    }
    // A deep burst of replies must not overflow the kernel queue; a failure to enlarge
    // it only costs retries, so it is not an error.
    let _ = socket.set_recv_buffer_size(recv_buffer);
    socket.set_nonblocking(true).map_err(err)?;
    socket.bind(&addr.into()).map_err(err)?;
    UdpSocket::from_std(socket.into()).map_err(err)
}

/// One `recv_from`/`send_to` per datagram: the fallback's only path, and Linux's with
/// batching turned off.
struct Plain {
    recv_buf: Vec<u8>,
    send_buf: Vec<u8>,
    /// A datagram the socket was not ready to take; `send_buf` still holds it.
    blocked: Option<Transmit>,
    /// Messages handed to the kernel.
    messages: u64,
}

impl Plain {
    fn new() -> Self {
        Plain {
            recv_buf: vec![0u8; 65535],
            send_buf: Vec::with_capacity(512),
            blocked: None,
            messages: 0,
        }
    }

    /// Receives up to [`BATCH`] datagrams per socket into `on_datagram(socket, from,
    /// bytes)`; whether anything happened.
    fn poll_recv(
        &mut self,
        sockets: &[UdpSocket],
        cx: &mut Context<'_>,
        mut on_datagram: impl FnMut(usize, SocketAddr, &[u8]),
    ) -> bool {
        let mut progress = false;
        for (i, socket) in sockets.iter().enumerate() {
            for _ in 0..BATCH {
                let mut buf = ReadBuf::new(&mut self.recv_buf);
                match socket.poll_recv_from(cx, &mut buf) {
                    Poll::Ready(Ok(from)) => {
                        on_datagram(i, from, buf.filled());
                        progress = true;
                    }
                    // ICMP errors and the like: nothing to match, the attempt times out.
                    Poll::Ready(Err(_)) => {
                        progress = true;
                        break;
                    }
                    Poll::Pending => break,
                }
            }
        }
        progress
    }

    /// Sends up to [`BATCH`] datagrams from `core`; see `Sockets::poll_send` for the
    /// error policy.
    fn poll_send(
        &mut self,
        sockets: &[UdpSocket],
        cx: &mut Context<'_>,
        now: Instant,
        core: &mut Core,
    ) -> bool {
        let mut progress = false;
        for _ in 0..BATCH {
            let transmit = match self.blocked.take() {
                Some(t) => t,
                None => match core.poll_transmit(now, &mut self.send_buf) {
                    Some(t) => t,
                    None => break,
                },
            };
            match sockets[transmit.socket].poll_send_to(cx, &self.send_buf, transmit.dest) {
                Poll::Ready(Ok(_)) => {
                    self.messages += 1;
                    progress = true;
                }
                // Transient send errors (ENOBUFS, EPERM from a firewall, ...) are counted;
                // the attempt's timer is running, so the query is retried anyway.
                Poll::Ready(Err(_)) => {
                    core.record_send_error();
                    progress = true;
                }
                Poll::Pending => {
                    self.blocked = Some(transmit);
                    break;
                }
            }
        }
        progress
    }
}

#[cfg(test)]
mod tests {
    use std::future::poll_fn;
    use std::time::Duration;

    use hickory_proto::rr::{Name, RecordType};

    use super::*;
    use crate::core::Config;
    use crate::outcome::Status;

    /// One query out through `open`'s sockets and its reply (NXDOMAIN) back into the core.
    async fn round_trip<S>(
        open: impl FnOnce(&[Family]) -> Result<S, Error>,
        poll_send: impl Fn(&mut S, &mut Context<'_>, Instant, &mut Core) -> u64,
        poll_recv: impl Fn(&mut S, &mut Context<'_>, Instant, &mut Core) -> bool,
    ) {
        let server = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        server
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut core = Core::with_seed(Config::new(vec![server.local_addr().unwrap()]), 7).unwrap();
        let mut io = open(core.socket_families()).unwrap();
        let name = Name::from_ascii("7.0.18.198.in-addr.arpa.").unwrap();
        core.submit(name, RecordType::PTR, 1);
        let now = Instant::now();
        // A new socket is writable once the runtime has seen it so: poll until it went.
        for _ in 0..5000 {
            if poll_fn(|cx| Poll::Ready(poll_send(&mut io, cx, now, &mut core))).await == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        poll_fn(|cx| Poll::Ready(poll_recv(&mut io, cx, now, &mut core))).await;
        let mut buf = [0u8; 512];
        let (n, from) = server.recv_from(&mut buf).unwrap();
        // The query itself, turned into a reply: QR set, RCODE NXDOMAIN.
        buf[2] |= 0x80;
        buf[3] = (buf[3] & 0xF0) | 3;
        server.send_to(&buf[..n], from).unwrap();
        for _ in 0..5000 {
            poll_fn(|cx| Poll::Ready(poll_recv(&mut io, cx, now, &mut core))).await;
            if let Some(done) = core.poll_completion() {
                assert_eq!(done.tag, 1);
                assert_eq!(done.outcome.status, Status::NxDomain);
                assert_eq!(core.stats().matched, 1);
                return;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        panic!("no reply came back");
    }

    macro_rules! round_trip_through {
        ($sockets:ty, $batched:expr) => {
            round_trip(
                |families| <$sockets>::open(families, 1 << 20, 4096, $batched),
                |io, cx, now, core| {
                    io.poll_send(cx, now, core);
                    io.messages()
                },
                |io, cx, now, core| {
                    io.poll_recv(cx, |socket, from, data| {
                        core.handle_datagram(now, socket, from, data)
                    })
                },
            )
            .await
        };
    }

    #[tokio::test]
    async fn a_query_goes_out_and_its_reply_comes_back_batched_or_not() {
        round_trip_through!(Sockets, true);
        round_trip_through!(Sockets, false);
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn the_fallback_carries_a_query_and_its_reply_too() {
        round_trip_through!(fallback::Sockets, true);
        assert!(
            !fallback::Sockets::open(&[Family::V4], 1 << 20, 4096, true)
                .unwrap()
                .batched()
        );
    }
}
