//! Batched UDP system calls on Linux: `recvmmsg` and `sendmmsg` move up to [`BATCH`]
//! datagrams per call, where `recv_from`/`send_to` cost one system call per packet — most
//! of the client's CPU per query. Sockets stay unconnected, so every message carries its
//! own address (`msg_name`).
//!
//! The only `unsafe` of the crate: the two calls and the `sockaddr` conversions, over
//! buffers this module owns and rebuilds the pointers to on every call.
#![allow(unsafe_code)]

use std::io;
use std::mem::{MaybeUninit, size_of, zeroed};
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

/// Most datagrams in one GSO message: the kernel's `UDP_MAX_SEGMENTS` before Linux 6.1.
const GSO_SEGMENTS: usize = 64;
/// Payload bytes of one GSO message at most (an IP packet's limit, with headroom).
const GSO_BYTES: usize = 60_000;
/// Datagrams considered per `sendmmsg` call (the iovec array on the stack).
const MAX_IOV: usize = 4 * BATCH;

/// One queued datagram: its bytes in `SendBatch::data`, and where it goes.
#[derive(Clone, Copy)]
struct Entry {
    start: usize,
    len: usize,
    dest: SocketAddr,
}

/// Datagrams waiting for `sendmmsg`.
///
/// With UDP generic segmentation offload (`UDP_SEGMENT`, Linux 4.18+), datagrams of one
/// length to one destination leave as a single message the kernel cuts into datagrams
/// late in its path (on loopback, on the receiving socket): one route lookup, one buffer
/// and one trip through the stack for up to [`GSO_SEGMENTS`] queries instead of one each.
/// Queued datagrams are sorted by destination and length to make such runs; their order
/// on the wire does not matter (each is a query with its own timer). Where the kernel or
/// the device refuses segmentation (`EIO`: no checksum offload; `EINVAL`), the batch falls
/// back to one datagram per message for good.
pub(crate) struct SendBatch {
    data: Vec<u8>,
    entries: Vec<Entry>,
    head: usize,
    gso: bool,
    /// Datagrams of the message the last failed call could not send.
    failed: usize,
    /// Messages and datagrams handed to the kernel (for tests and the curious).
    messages: u64,
    datagrams: u64,
}

impl SendBatch {
    /// A batch for `fd`, using segmentation offload if the kernel has it.
    pub(crate) fn new(fd: RawFd) -> Self {
        let mut batch = Self::without_gso();
        batch.gso = gso_supported(fd);
        batch
    }

    /// A batch that sends one datagram per message.
    pub(crate) fn without_gso() -> Self {
        SendBatch {
            data: Vec::new(),
            entries: Vec::new(),
            head: 0,
            gso: false,
            failed: 0,
            messages: 0,
            datagrams: 0,
        }
    }

    pub(crate) fn push(&mut self, datagram: &[u8], dest: SocketAddr) {
        self.entries.push(Entry {
            start: self.data.len(),
            len: datagram.len(),
            dest,
        });
        self.data.extend_from_slice(datagram);
    }

    /// Datagrams not sent yet.
    pub(crate) fn len(&self) -> usize {
        self.entries.len() - self.head
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether segmentation offload is in use.
    #[cfg(test)]
    pub(crate) fn gso(&self) -> bool {
        self.gso
    }

    /// (messages, datagrams) handed to the kernel so far.
    pub(crate) fn counts(&self) -> (u64, u64) {
        (self.messages, self.datagrams)
    }

    /// Forgets the datagrams of the message the last call failed on (the send failed for
    /// good; their timers will retry them) and returns how many they were.
    pub(crate) fn skip(&mut self) -> usize {
        let n = self.failed.clamp(1, self.len().max(1));
        self.failed = 0;
        self.advance(n);
        n
    }

    fn advance(&mut self, n: usize) {
        self.head += n;
        if self.head >= self.entries.len() {
            self.entries.clear();
            self.data.clear();
            self.head = 0;
        }
    }

    /// Sends queued datagrams on `fd` (non-blocking), up to [`BATCH`] messages; returns
    /// how many datagrams the kernel took. An error concerns the first message: [`skip`]
    /// then drops its datagrams.
    ///
    /// [`skip`]: Self::skip
    pub(crate) fn send(&mut self, fd: RawFd) -> io::Result<usize> {
        let end = self.entries.len().min(self.head + MAX_IOV);
        if self.head == end {
            return Ok(0);
        }
        let pending = &mut self.entries[self.head..end];
        if self.gso && !pending.is_sorted_by_key(|e| (e.dest, e.len)) {
            pending.sort_unstable_by_key(|e| (e.dest, e.len));
        }
        // Left uninitialised but for the entries used (a call usually fills one or two of
        // 64 messages): zeroing them all was a few kilobytes of writes per call.
        let mut iovs = [const { MaybeUninit::<libc::iovec>::uninit() }; MAX_IOV];
        let mut msgs = [const { MaybeUninit::<libc::mmsghdr>::uninit() }; BATCH];
        let mut names = [const { MaybeUninit::<libc::sockaddr_storage>::uninit() }; BATCH];
        let mut controls = [const { MaybeUninit::<Control>::uninit() }; BATCH];
        // Datagrams in each message.
        let mut sizes = [0usize; BATCH];
        let mut count = 0;
        let mut i = self.head;
        while i < end && count < BATCH {
            let first = self.entries[i];
            let mut n = 1;
            if self.gso {
                while i + n < end
                    && n < GSO_SEGMENTS
                    && (n + 1) * first.len <= GSO_BYTES
                    && self.entries[i + n].dest == first.dest
                    && self.entries[i + n].len == first.len
                {
                    n += 1;
                }
            }
            for k in i..i + n {
                let e = self.entries[k];
                iovs[k - self.head].write(libc::iovec {
                    iov_base: self.data[e.start..e.start + e.len]
                        .as_ptr()
                        .cast_mut()
                        .cast(),
                    iov_len: e.len,
                });
            }
            // SAFETY: plain data; all zeroes is a valid value.
            let name = names[count].write(unsafe { zeroed() });
            // SAFETY: as above.
            let mut hdr: libc::msghdr = unsafe { zeroed() };
            hdr.msg_namelen = to_storage(first.dest, name);
            hdr.msg_name = std::ptr::from_mut(name).cast();
            hdr.msg_iov = iovs[i - self.head].as_mut_ptr();
            hdr.msg_iovlen = n as _;
            if n > 1 {
                let control = controls[count].write(Control([0; CONTROL_LEN]));
                set_segment_size(&mut hdr, control, first.len as u16);
            }
            msgs[count].write(libc::mmsghdr {
                msg_hdr: hdr,
                msg_len: 0,
            });
            sizes[count] = n;
            count += 1;
            i += n;
        }
        // SAFETY: the first `count` headers are initialised and point at initialised
        // iovecs (over self.data ranges), names and control buffers, all of which outlive
        // the call; the kernel reads only those `count` headers, and only reads.
        let sent = unsafe {
            libc::sendmmsg(
                fd,
                msgs.as_mut_ptr().cast::<libc::mmsghdr>(),
                count as libc::c_uint,
                libc::MSG_DONTWAIT,
            )
        };
        if sent < 0 {
            let e = io::Error::last_os_error();
            if sizes[0] > 1 && matches!(e.raw_os_error(), Some(libc::EIO | libc::EINVAL)) {
                // The path cannot segment (no checksum offload, IPsec, ...): send
                // datagram by datagram from now on; nothing was lost.
                self.gso = false;
                return Ok(0);
            }
            self.failed = sizes[0];
            return Err(e);
        }
        let sent = sent as usize;
        let datagrams: usize = sizes[..sent].iter().sum();
        self.messages += sent as u64;
        self.datagrams += datagrams as u64;
        self.advance(datagrams);
        Ok(datagrams)
    }
}

const CONTROL_LEN: usize = 32;

/// Room for one `UDP_SEGMENT` control message, aligned as `cmsghdr` requires.
#[repr(C, align(8))]
struct Control([u8; CONTROL_LEN]);

/// Attaches a `UDP_SEGMENT` control message (segment size `size`) to `hdr`.
fn set_segment_size(hdr: &mut libc::msghdr, control: &mut Control, size: u16) {
    // SAFETY: CMSG_SPACE is a pure computation.
    let space = unsafe { libc::CMSG_SPACE(size_of::<u16>() as u32) } as usize;
    debug_assert!(space <= CONTROL_LEN);
    hdr.msg_control = control.0.as_mut_ptr().cast();
    hdr.msg_controllen = space as _;
    // SAFETY: msg_control points at `space` writable, aligned bytes, so CMSG_FIRSTHDR is
    // non-null and the header and its 2 data bytes fit inside them.
    unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(hdr);
        (*cmsg).cmsg_level = libc::SOL_UDP;
        (*cmsg).cmsg_type = libc::UDP_SEGMENT;
        (*cmsg).cmsg_len = libc::CMSG_LEN(size_of::<u16>() as u32) as _;
        std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<u16>(), size);
    }
}

/// Whether the kernel knows `UDP_SEGMENT` for this socket.
fn gso_supported(fd: RawFd) -> bool {
    let mut value: libc::c_int = 0;
    let mut len = size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: value and len are valid for writes of the sizes given.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_UDP,
            libc::UDP_SEGMENT,
            (&raw mut value).cast(),
            &raw mut len,
        )
    };
    rc == 0
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
        let mut out = SendBatch::without_gso();
        for i in 0..100u8 {
            out.push(&vec![i; usize::from(i) + 1], to);
        }
        let mut sent = 0;
        while !out.is_empty() {
            sent += out.send(tx.as_raw_fd()).unwrap();
        }
        assert_eq!(sent, 100);
        assert_eq!(out.counts(), (100, 100));
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

    /// Receives until `n` datagrams have come or the socket stays empty for a second.
    fn drain(rx: &std::net::UdpSocket, n: usize) -> Vec<(SocketAddr, Vec<u8>)> {
        rx.set_nonblocking(true).unwrap();
        let mut inb = RecvBatch::new(512);
        let mut got = Vec::new();
        let mut idle = 0;
        while got.len() < n && idle < 1000 {
            match inb.recv(rx.as_raw_fd()) {
                Ok(k) => {
                    for i in 0..k {
                        let (from, data) = inb.get(i).unwrap();
                        got.push((from, data.to_vec()));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    idle += 1;
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                Err(e) => panic!("{e}"),
            }
        }
        got
    }

    #[test]
    fn segmentation_offload_sends_runs_of_one_size_as_one_message_and_each_arrives_whole() {
        let rx1 = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let rx2 = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut out = SendBatch::new(tx.as_raw_fd());
        assert!(
            out.gso(),
            "Linux 4.18+ has UDP_SEGMENT: the machines we run on do"
        );
        // 300 datagrams, interleaved over two receivers and three sizes, each unique.
        let mut want: [Vec<Vec<u8>>; 2] = Default::default();
        for i in 0..300u16 {
            let to = i % 2;
            let len = [40, 41, 64][usize::from(i % 3)];
            let mut d = vec![(i % 251) as u8; len];
            d[..2].copy_from_slice(&i.to_be_bytes());
            let dest = [&rx1, &rx2][usize::from(to)].local_addr().unwrap();
            out.push(&d, dest);
            want[usize::from(to)].push(d);
        }
        let mut sent = 0;
        while !out.is_empty() {
            sent += out.send(tx.as_raw_fd()).unwrap();
        }
        assert_eq!(sent, 300);
        let (messages, datagrams) = out.counts();
        assert_eq!(datagrams, 300);
        // Six (destination, size) runs of 50, each at most one message per 64 datagrams
        // and per call (a call takes up to 256 datagrams).
        assert!(messages <= 12, "{messages} messages");
        for (rx, want) in [&rx1, &rx2].into_iter().zip(want) {
            let got = drain(rx, want.len());
            assert!(
                got.iter()
                    .all(|(from, _)| *from == tx.local_addr().unwrap())
            );
            let mut got: Vec<Vec<u8>> = got.into_iter().map(|(_, d)| d).collect();
            let mut want = want;
            got.sort();
            want.sort();
            assert_eq!(got, want, "every datagram arrives once, whole, as sent");
        }
    }
}
