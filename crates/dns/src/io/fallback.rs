//! Sockets where no batched system calls are known: one `recv_from`/`send_to` per
//! datagram. The same methods as `io/linux.rs`.

use std::net::SocketAddr;
use std::task::Context;
use std::time::Instant;

use tokio::net::UdpSocket;

use super::{Plain, bind_udp};
use crate::core::{Core, Family};
use crate::error::Error;

/// The client's UDP sockets, one per entry of the core's `socket_families`.
pub(crate) struct Sockets {
    sockets: Vec<UdpSocket>,
    plain: Plain,
}

impl Sockets {
    /// Opens one socket per family, each asking the kernel for `recv_buffer` bytes of
    /// receive buffer. `max_datagram` and `batched` concern batched I/O, which this
    /// platform does not have.
    pub(crate) fn open(
        families: &[Family],
        recv_buffer: usize,
        max_datagram: usize,
        batched: bool,
    ) -> Result<Self, Error> {
        let _ = (max_datagram, batched);
        Ok(Sockets {
            sockets: families
                .iter()
                .map(|f| bind_udp(*f, recv_buffer))
                .collect::<Result<_, _>>()?,
            plain: Plain::new(),
        })
    }

    /// Whether datagrams move in batches: never here.
    #[cfg(test)]
    pub(crate) fn batched(&self) -> bool {
        false
    }

    /// Receives what the sockets hold, a bounded amount per wake-up, handing each
    /// datagram to `on_datagram(socket index, source, bytes)`. Receive errors (ICMP
    /// errors and the like) are skipped: nothing matches them, the attempt times out.
    /// Returns whether anything happened.
    pub(crate) fn poll_recv(
        &mut self,
        cx: &mut Context<'_>,
        on_datagram: impl FnMut(usize, SocketAddr, &[u8]),
    ) -> bool {
        self.plain.poll_recv(&self.sockets, cx, on_datagram)
    }

    /// Sends what `core` hands out (`poll_transmit`), a bounded amount per wake-up, until
    /// the core has nothing more or a socket is not writable (the datagram waits here).
    ///
    /// Send-error policy: a failed send (ENOBUFS, EPERM from a firewall, ...) is counted
    /// with `core.record_send_error()` and the datagram dropped, never returned as an
    /// error — the attempt's timer is running, so the query is retried anyway. Returns
    /// whether anything happened.
    pub(crate) fn poll_send(
        &mut self,
        cx: &mut Context<'_>,
        now: Instant,
        core: &mut Core,
    ) -> bool {
        self.plain.poll_send(&self.sockets, cx, now, core)
    }

    /// Messages handed to the kernel so far (one per datagram here).
    pub(crate) fn messages(&self) -> u64 {
        self.plain.messages
    }
}
