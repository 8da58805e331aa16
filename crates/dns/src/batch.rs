//! Batched UDP system calls on Linux: `recvmmsg` and `sendmmsg` move up to [`BATCH`]
//! datagrams per call, where `recv_from`/`send_to` cost one system call per packet — most
//! of the client's CPU per query. Sockets stay unconnected, so every message carries its
//! own address (`msg_name`).
//!
//! The only `unsafe` of the crate: the two calls and the `sockaddr` conversions, over
//! buffers this module owns and rebuilds the pointers to on every call.
#![allow(unsafe_code)]

use std::io;
use std::mem::{size_of, zeroed};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::RawFd;

/// Datagrams per system call.
pub(crate) const BATCH: usize = 64;

/// Receive buffers for one `recvmmsg` call.
pub(crate) struct RecvBatch {
    slot: usize,
    bufs: Vec<u8>,
    addrs: Vec<libc::sockaddr_storage>,
    lens: [usize; BATCH],
    truncated: [bool; BATCH],
    count: usize,
}

impl RecvBatch {
    /// Buffers of `slot` bytes per datagram.
    pub(crate) fn new(slot: usize) -> Self {
        RecvBatch {
            slot,
            bufs: vec![0; slot * BATCH],
            // SAFETY: sockaddr_storage is plain data; all zeroes is a valid value.
            addrs: vec![unsafe { zeroed() }; BATCH],
            lens: [0; BATCH],
            truncated: [false; BATCH],
            count: 0,
        }
    }

    /// Receives what is queued on `fd` (non-blocking), up to [`BATCH`] datagrams.
    pub(crate) fn recv(&mut self, fd: RawFd) -> io::Result<usize> {
        // SAFETY: iovec and mmsghdr are plain data; zeroed is valid and every pointer is
        // set below before use.
        let mut iovs: [libc::iovec; BATCH] = unsafe { zeroed() };
        let mut msgs: [libc::mmsghdr; BATCH] = unsafe { zeroed() };
        for (i, (iov, msg)) in iovs.iter_mut().zip(msgs.iter_mut()).enumerate() {
            iov.iov_base = self.bufs[i * self.slot..].as_mut_ptr().cast();
            iov.iov_len = self.slot;
            msg.msg_hdr.msg_name = (&raw mut self.addrs[i]).cast();
            msg.msg_hdr.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            msg.msg_hdr.msg_iov = iov;
            msg.msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: msgs holds BATCH valid headers whose iovecs point into self.bufs (slot
        // bytes each, inside the vector) and whose names point at self.addrs entries; all
        // outlive the call. MSG_DONTWAIT: never blocks the runtime thread.
        let n = unsafe {
            libc::recvmmsg(
                fd,
                msgs.as_mut_ptr(),
                BATCH as libc::c_uint,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            self.count = 0;
            return Err(io::Error::last_os_error());
        }
        self.count = n as usize;
        for (i, msg) in msgs.iter().take(self.count).enumerate() {
            self.lens[i] = (msg.msg_len as usize).min(self.slot);
            self.truncated[i] = msg.msg_hdr.msg_flags & libc::MSG_TRUNC != 0;
        }
        Ok(self.count)
    }

    /// Datagram `i` of the last call: its source and bytes. A datagram cut short by the
    /// buffer is returned empty (so it is counted as malformed, never half-parsed); an
    /// unknown address family gives `None`.
    pub(crate) fn get(&self, i: usize) -> Option<(SocketAddr, &[u8])> {
        if i >= self.count {
            return None;
        }
        let from = from_storage(&self.addrs[i])?;
        let data = if self.truncated[i] {
            &[][..]
        } else {
            &self.bufs[i * self.slot..i * self.slot + self.lens[i]]
        };
        Some((from, data))
    }
}

/// Datagrams waiting for one `sendmmsg` call, in order.
#[derive(Default)]
pub(crate) struct SendBatch {
    data: Vec<u8>,
    /// (start in data, length, destination)
    entries: Vec<(usize, usize, SocketAddr)>,
    head: usize,
}

impl SendBatch {
    pub(crate) fn push(&mut self, datagram: &[u8], dest: SocketAddr) {
        self.entries.push((self.data.len(), datagram.len(), dest));
        self.data.extend_from_slice(datagram);
    }

    /// Datagrams not sent yet.
    pub(crate) fn len(&self) -> usize {
        self.entries.len() - self.head
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets the next datagram (its send failed for good; its timer will retry it).
    pub(crate) fn skip(&mut self) {
        self.advance(1);
    }

    fn advance(&mut self, n: usize) {
        self.head += n;
        if self.head >= self.entries.len() {
            self.entries.clear();
            self.data.clear();
            self.head = 0;
        }
    }

    /// Sends up to [`BATCH`] queued datagrams on `fd` (non-blocking); returns how many
    /// the kernel took. An error concerns the first of them.
    pub(crate) fn send(&mut self, fd: RawFd) -> io::Result<usize> {
        let todo = self.len().min(BATCH);
        if todo == 0 {
            return Ok(0);
        }
        // SAFETY: plain data, every used pointer is set below.
        let mut iovs: [libc::iovec; BATCH] = unsafe { zeroed() };
        let mut msgs: [libc::mmsghdr; BATCH] = unsafe { zeroed() };
        let mut names: [libc::sockaddr_storage; BATCH] = unsafe { zeroed() };
        for i in 0..todo {
            let (start, len, dest) = self.entries[self.head + i];
            iovs[i].iov_base = self.data[start..start + len].as_ptr().cast_mut().cast();
            iovs[i].iov_len = len;
            let name_len = to_storage(dest, &mut names[i]);
            msgs[i].msg_hdr.msg_name = (&raw mut names[i]).cast();
            msgs[i].msg_hdr.msg_namelen = name_len;
            msgs[i].msg_hdr.msg_iov = &raw mut iovs[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: `todo` valid headers pointing at self.data ranges and the local names,
        // which outlive the call; the kernel only reads the datagrams.
        let n = unsafe {
            libc::sendmmsg(
                fd,
                msgs.as_mut_ptr(),
                todo as libc::c_uint,
                libc::MSG_DONTWAIT,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        self.advance(n as usize);
        Ok(n as usize)
    }
}

fn from_storage(s: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match i32::from(s.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says the storage holds a sockaddr_in, which it is large
            // and aligned enough for.
            let a = unsafe { &*(std::ptr::from_ref(s).cast::<libc::sockaddr_in>()) };
            Some(SocketAddr::V4(SocketAddrV4::new(
                Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr)),
                u16::from_be(a.sin_port),
            )))
        }
        libc::AF_INET6 => {
            // SAFETY: as above, for sockaddr_in6.
            let a = unsafe { &*(std::ptr::from_ref(s).cast::<libc::sockaddr_in6>()) };
            Some(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(a.sin6_addr.s6_addr),
                u16::from_be(a.sin6_port),
                a.sin6_flowinfo,
                a.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

fn to_storage(addr: SocketAddr, s: &mut libc::sockaddr_storage) -> libc::socklen_t {
    match addr {
        SocketAddr::V4(a) => {
            // SAFETY: sockaddr_storage is large and aligned enough for a sockaddr_in.
            let out = unsafe { &mut *(std::ptr::from_mut(s).cast::<libc::sockaddr_in>()) };
            out.sin_family = libc::AF_INET as libc::sa_family_t;
            out.sin_port = a.port().to_be();
            out.sin_addr = libc::in_addr {
                s_addr: u32::from(*a.ip()).to_be(),
            };
            size_of::<libc::sockaddr_in>() as libc::socklen_t
        }
        SocketAddr::V6(a) => {
            // SAFETY: as above, for sockaddr_in6.
            let out = unsafe { &mut *(std::ptr::from_mut(s).cast::<libc::sockaddr_in6>()) };
            out.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            out.sin6_port = a.port().to_be();
            out.sin6_flowinfo = a.flowinfo();
            out.sin6_addr = libc::in6_addr {
                s6_addr: a.ip().octets(),
            };
            out.sin6_scope_id = a.scope_id();
            size_of::<libc::sockaddr_in6>() as libc::socklen_t
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn addresses_round_trip_through_sockaddr_storage() {
        for a in [
            "127.0.0.1:53",
            "198.18.0.7:65535",
            "[::1]:5353",
            "[2001:db8::1%3]:1",
        ] {
            let addr: SocketAddr = a.parse().unwrap();
            // SAFETY: plain data.
            let mut s: libc::sockaddr_storage = unsafe { zeroed() };
            to_storage(addr, &mut s);
            assert_eq!(from_storage(&s), Some(addr));
        }
    }

    #[test]
    fn a_batch_of_datagrams_goes_out_and_comes_back_in_order() {
        let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = rx.local_addr().unwrap();
        let mut out = SendBatch::default();
        for i in 0..100u8 {
            out.push(&vec![i; usize::from(i) + 1], to);
        }
        let mut sent = 0;
        while !out.is_empty() {
            sent += out.send(tx.as_raw_fd()).unwrap();
        }
        assert_eq!(sent, 100);
        // One datagram larger than the slot: returned empty, not cut.
        tx.send_to(&[7u8; 600], to).unwrap();
        let mut inb = RecvBatch::new(512);
        let mut got = Vec::new();
        while got.len() < 101 {
            let n = inb.recv(rx.as_raw_fd()).unwrap();
            assert!(n <= BATCH);
            for i in 0..n {
                let (from, data) = inb.get(i).unwrap();
                assert_eq!(from, tx.local_addr().unwrap());
                got.push(data.to_vec());
            }
        }
        for (i, d) in got.iter().take(100).enumerate() {
            assert_eq!(d, &vec![i as u8; i + 1]);
        }
        assert!(
            got[100].is_empty(),
            "a truncated datagram is not half-delivered"
        );
        let e = inb.recv(rx.as_raw_fd()).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
    }
}
