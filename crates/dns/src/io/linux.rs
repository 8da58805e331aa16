//! Sockets on Linux: `recvmmsg`/`sendmmsg` and UDP segmentation offload through
//! [`super::batch`] (where all of the crate's `unsafe` lives), or one
//! `recv_from`/`send_to` per datagram with batching turned off. The same methods as
//! `io/fallback.rs`.

use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::task::{Context, Poll};
use std::time::Instant;

use tokio::io::Interest;
use tokio::net::UdpSocket;

use super::batch::{self, RecvBatch, SendBatch};
use super::{BATCH, Plain, bind_udp};
use crate::core::{Core, Family};
use crate::error::Error;

/// The client's UDP sockets, one per entry of the core's `socket_families`.
pub(crate) struct Sockets {
    sockets: Vec<UdpSocket>,
    /// Use recvmmsg/sendmmsg; otherwise `plain`.
    batched: bool,
    plain: Plain,
    recv_batch: RecvBatch,
    /// Datagrams the core handed out, per socket, waiting for sendmmsg.
    send_batches: Vec<SendBatch>,
    send_buf: Vec<u8>,
}

impl Sockets {
    /// Opens one socket per family, each asking the kernel for `recv_buffer` bytes of
    /// receive buffer. Batched receives keep `max_datagram` bytes per datagram (a larger
    /// one is dropped whole, never half-parsed).
    pub(crate) fn open(
        families: &[Family],
        recv_buffer: usize,
        max_datagram: usize,
        batched: bool,
    ) -> Result<Self, Error> {
        let sockets: Vec<UdpSocket> = families
            .iter()
            .map(|f| bind_udp(*f, recv_buffer))
            .collect::<Result<_, _>>()?;
        let send_batches = sockets
            .iter()
            .map(|s| SendBatch::new(s.as_raw_fd()))
            .collect();
        Ok(Sockets {
            sockets,
            batched,
            plain: Plain::new(),
            recv_batch: RecvBatch::new(max_datagram),
            send_batches,
            send_buf: Vec::with_capacity(512),
        })
    }

    /// Receives what the sockets hold, a bounded amount per wake-up (a few `recvmmsg`
    /// calls per socket), handing each datagram to `on_datagram(socket index, source,
    /// bytes)`. Receive errors (ICMP errors and the like) are skipped: nothing matches
    /// them, the attempt times out. Returns whether anything happened.
    pub(crate) fn poll_recv(
        &mut self,
        cx: &mut Context<'_>,
        mut on_datagram: impl FnMut(usize, SocketAddr, &[u8]),
    ) -> bool {
        if !self.batched {
            return self.plain.poll_recv(&self.sockets, cx, on_datagram);
        }
        let mut progress = false;
        let recv_batch = &mut self.recv_batch;
        for (i, socket) in self.sockets.iter().enumerate() {
            for _ in 0..BATCH / batch::BATCH {
                match socket.poll_recv_ready(cx) {
                    Poll::Ready(Ok(())) => {}
                    Poll::Ready(Err(_)) => {
                        progress = true;
                        break;
                    }
                    Poll::Pending => break,
                }
                let fd = socket.as_raw_fd();
                let mut got = 0;
                let result = socket.try_io(Interest::READABLE, || {
                    got = recv_batch.recv(fd)?;
                    if got < batch::BATCH {
                        // A short batch emptied the queue: say so, and tokio clears the
                        // readiness now (a datagram that arrived meanwhile sets it again),
                        // instead of a further call that would only return EAGAIN.
                        return Err(io::ErrorKind::WouldBlock.into());
                    }
                    Ok(())
                });
                for k in 0..got {
                    if let Some((from, data)) = recv_batch.get(k) {
                        on_datagram(i, from, data);
                    }
                }
                progress |= got > 0;
                match result {
                    Ok(()) => {}
                    // Readiness cleared: the next poll_recv_ready registers the waker.
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    // ICMP errors and the like: nothing to match, the attempt times out.
                    Err(_) => {
                        progress = true;
                        break;
                    }
                }
            }
        }
        progress
    }

    /// Sends what `core` hands out (`poll_transmit`): takes it into per-socket batches (a
    /// bounded number, so a socket that is not writable holds the rest back in the core)
    /// and flushes them with `sendmmsg`.
    ///
    /// Send-error policy: a failed send (ENOBUFS, EPERM from a firewall, ...) concerns the
    /// first message of the call; its datagrams are counted with
    /// `core.record_send_error()` and dropped, never returned as an error — their
    /// attempts' timers are running, so the queries are retried anyway. Returns whether
    /// anything happened.
    pub(crate) fn poll_send(
        &mut self,
        cx: &mut Context<'_>,
        now: Instant,
        core: &mut Core,
    ) -> bool {
        if !self.batched {
            return self.plain.poll_send(&self.sockets, cx, now, core);
        }
        let mut progress = false;
        let mut queued: usize = self.send_batches.iter().map(|b| b.len()).sum();
        while queued < 4 * batch::BATCH {
            let Some(t) = core.poll_transmit(now, &mut self.send_buf) else {
                break;
            };
            self.send_batches[t.socket].push(&self.send_buf, t.dest);
            queued += 1;
            progress = true;
        }
        for (socket, batch) in self.sockets.iter().zip(self.send_batches.iter_mut()) {
            while !batch.is_empty() {
                match socket.poll_send_ready(cx) {
                    Poll::Ready(Ok(())) => {}
                    Poll::Ready(Err(_)) => {
                        for _ in 0..batch.skip() {
                            core.record_send_error();
                        }
                        progress = true;
                        continue;
                    }
                    Poll::Pending => break,
                }
                let fd = socket.as_raw_fd();
                match socket.try_io(Interest::WRITABLE, || batch.send(fd)) {
                    Ok(_) => progress = true,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(_) => {
                        for _ in 0..batch.skip() {
                            core.record_send_error();
                        }
                        progress = true;
                    }
                }
            }
        }
        progress
    }

    /// Messages handed to the kernel so far: fewer than the datagrams when segmentation
    /// offload sent runs of them as one.
    pub(crate) fn messages(&self) -> u64 {
        self.plain.messages + self.send_batches.iter().map(|b| b.counts().0).sum::<u64>()
    }
}
