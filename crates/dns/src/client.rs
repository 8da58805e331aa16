//! The socket layer: one tokio task drives the [`Core`] with a pool of UDP sockets.
//!
//! The driver is a single task polling every socket, the command channel and one timer;
//! per query there is no task and no timer, only a table entry in the core. TCP exchanges
//! after truncated replies are the exception: each gets a short-lived task (they are rare).

use std::future::{Future, poll_fn};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hickory_proto::rr::{Name, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Sleep;

use crate::core::{Config, Core, Family, ResolverStats, Stats, TcpRequest, TcpToken, Transmit};
use crate::error::Error;
use crate::outcome::Outcome;

/// Builds a [`Client`].
///
/// ```no_run
/// # async fn demo() -> Result<(), ptraudit_dns::Error> {
/// use std::time::Duration;
/// let client = ptraudit_dns::ClientBuilder::new(vec!["127.0.0.1:5353".parse().unwrap()])
///     .timeout(Duration::from_millis(500))
///     .attempts(2)
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    config: Config,
    seed: Option<u64>,
    recv_buffer: usize,
    batched_io: bool,
}

impl ClientBuilder {
    /// Starts from [`Config::new`] defaults for these resolvers.
    pub fn new(resolvers: Vec<SocketAddr>) -> Self {
        ClientBuilder {
            config: Config::new(resolvers),
            seed: None,
            recv_buffer: 4 << 20,
            batched_io: true,
        }
    }

    /// Starts from a full configuration.
    pub fn from_config(config: Config) -> Self {
        ClientBuilder {
            config,
            seed: None,
            recv_buffer: 4 << 20,
            batched_io: true,
        }
    }

    /// Timeout of the first attempt (doubling per retry up to [`Self::max_timeout`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.config.timeout = timeout;
        self
    }

    /// Upper bound of the per-attempt timeout.
    pub fn max_timeout(mut self, timeout: Duration) -> Self {
        self.config.max_timeout = timeout;
        self
    }

    /// UDP attempts per query.
    pub fn attempts(mut self, attempts: u8) -> Self {
        self.config.attempts = attempts;
        self
    }

    /// UDP sockets per address family.
    pub fn sockets(mut self, sockets: usize) -> Self {
        self.config.sockets = sockets;
        self
    }

    /// EDNS(0) payload size; `None` to send queries without OPT.
    pub fn edns_payload(mut self, payload: Option<u16>) -> Self {
        self.config.edns_payload = payload;
        self
    }

    /// Whether queries ask for recursion.
    pub fn recursion_desired(mut self, rd: bool) -> Self {
        self.config.recursion_desired = rd;
        self
    }

    /// Whether SERVFAIL and REFUSED are retried.
    pub fn retry_servfail(mut self, retry: bool) -> Self {
        self.config.retry_servfail = retry;
        self
    }

    /// Timeout of a TCP retry after a truncated reply.
    pub fn tcp_timeout(mut self, timeout: Duration) -> Self {
        self.config.tcp_timeout = timeout;
        self
    }

    /// Requested kernel receive buffer per socket, in bytes (the kernel may cap it).
    /// The congestion window (see [`Config::adaptive_window`]): on or off, and its
    /// smallest size (a path with random, not congestive, loss keeps this much in flight).
    pub fn adaptive_window(mut self, on: bool, min_window: u32) -> Self {
        self.config.adaptive_window = on;
        self.config.min_window = min_window.max(1);
        self.config.max_window = self.config.max_window.max(self.config.min_window);
        self
    }

    /// Batched system calls (`recvmmsg`/`sendmmsg`, Linux; default on). Off, or on other
    /// systems: one `recv_from`/`send_to` per datagram.
    pub fn batched_io(mut self, on: bool) -> Self {
        self.batched_io = on;
        self
    }

    /// Socket receive buffer size asked of the kernel.
    pub fn recv_buffer(mut self, bytes: usize) -> Self {
        self.recv_buffer = bytes;
        self
    }

    /// Pads queries to a multiple of `block` bytes with the EDNS(0) Padding option
    /// (default 128, RFC 8467; 0: no padding). See [`Config::padding_block`].
    pub fn padding(mut self, block: u16) -> Self {
        self.config.padding_block = block;
        self
    }

    /// Fixes the ID/port generator's seed. For reproducible tests only.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Opens the sockets and spawns the driver task on the current tokio runtime.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn build(self) -> Result<Client, Error> {
        let core = match self.seed {
            Some(seed) => Core::with_seed(self.config, seed)?,
            None => Core::new(self.config)?,
        };
        let sockets = core
            .socket_families()
            .iter()
            .map(|f| bind_udp(*f, self.recv_buffer))
            .collect::<Result<Vec<_>, _>>()?;
        let (tx, rx) = mpsc::unbounded_channel();
        let (tcp_tx, tcp_rx) = mpsc::unbounded_channel();
        // Room for anything the advertised EDNS size allows, and 4 KiB at least (servers
        // that ignore it on loopback).
        #[cfg(target_os = "linux")]
        let recv_slot = usize::from(core.config().edns_payload.unwrap_or(512)).max(4096);
        #[cfg(target_os = "linux")]
        let send_batches = sockets
            .iter()
            .map(|s| crate::batch::SendBatch::new(std::os::fd::AsRawFd::as_raw_fd(s)))
            .collect();
        let driver = Driver {
            tcp_timeout: core.config().tcp_timeout,
            core,
            sockets,
            commands: rx,
            commands_closed: false,
            waiters: Vec::new(),
            free_waiters: Vec::new(),
            tcp_tx,
            tcp_rx,
            sleep: Box::pin(tokio::time::sleep(Duration::from_secs(3600))),
            #[cfg(target_os = "linux")]
            recv_batch: crate::batch::RecvBatch::new(recv_slot),
            #[cfg(target_os = "linux")]
            send_batches,
            messages: 0,
            idle: false,
            batched: self.batched_io && cfg!(target_os = "linux"),
            recv_buf: vec![0u8; 65535],
            send_buf: Vec::with_capacity(512),
            blocked: None,
        };
        tokio::spawn(driver.run());
        Ok(Client { commands: tx })
    }
}

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

/// A handle to the DNS client. Cheap to clone; the driver stops when every handle (and
/// every [`Submitter`]) is dropped and the last query has finished.
#[derive(Debug, Clone)]
pub struct Client {
    commands: mpsc::UnboundedSender<Command>,
}

impl Client {
    /// Asks one question and waits for its definite outcome.
    pub async fn query(&self, name: Name, record_type: RecordType) -> Result<Outcome, Error> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Command::Submit {
                name,
                record_type,
                reply: ReplyTo::Once(tx),
            })
            .map_err(|_| Error::Closed)?;
        rx.await.map_err(|_| Error::Closed)
    }

    /// The high-throughput interface: submit many queries without waiting, receive
    /// `(tag, outcome)` pairs as they complete (in completion order). The caller bounds
    /// how many it keeps in flight.
    pub fn pipeline(&self) -> (Submitter, Completions) {
        let (tx, rx) = mpsc::unbounded_channel();
        (
            Submitter {
                commands: self.commands.clone(),
                completions: tx,
            },
            Completions { rx },
        )
    }

    /// A snapshot of the counters per resolver.
    pub async fn resolver_stats(&self) -> Result<Vec<ResolverStats>, Error> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Command::ResolverStats(tx))
            .map_err(|_| Error::Closed)?;
        rx.await.map_err(|_| Error::Closed)
    }

    /// A snapshot of the counters.
    pub async fn stats(&self) -> Result<Stats, Error> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(Command::Stats(tx))
            .map_err(|_| Error::Closed)?;
        rx.await.map_err(|_| Error::Closed)
    }
}

/// Sending half of a [`Client::pipeline`].
#[derive(Debug, Clone)]
pub struct Submitter {
    commands: mpsc::UnboundedSender<Command>,
    completions: mpsc::UnboundedSender<(u64, Outcome)>,
}

impl Submitter {
    /// Queues a query; its outcome arrives on the paired [`Completions`] with `tag`.
    pub fn submit(&self, name: Name, record_type: RecordType, tag: u64) -> Result<(), Error> {
        self.commands
            .send(Command::Submit {
                name,
                record_type,
                reply: ReplyTo::Stream(self.completions.clone(), tag),
            })
            .map_err(|_| Error::Closed)
    }
}

/// Receiving half of a [`Client::pipeline`].
#[derive(Debug)]
pub struct Completions {
    rx: mpsc::UnboundedReceiver<(u64, Outcome)>,
}

impl Completions {
    /// The next finished query; `None` once every [`Submitter`] is gone and all of their
    /// queries have been delivered.
    pub async fn recv(&mut self) -> Option<(u64, Outcome)> {
        self.rx.recv().await
    }

    /// Up to `limit` finished queries appended to `out`; waits for at least one. Returns
    /// how many were added (0 means the stream has ended).
    pub async fn recv_many(&mut self, out: &mut Vec<(u64, Outcome)>, limit: usize) -> usize {
        self.rx.recv_many(out, limit).await
    }
}

#[derive(Debug)]
enum ReplyTo {
    Once(oneshot::Sender<Outcome>),
    Stream(mpsc::UnboundedSender<(u64, Outcome)>, u64),
}

#[derive(Debug)]
enum Command {
    Submit {
        name: Name,
        record_type: RecordType,
        reply: ReplyTo,
    },
    Stats(oneshot::Sender<Stats>),
    ResolverStats(oneshot::Sender<Vec<ResolverStats>>),
}

/// Work done per wake-up before yielding to other tasks.
const BATCH: usize = 256;

/// See `Driver::poll`: a wake-up from idle that brings fewer than `LINGER_BELOW` replies
/// while at least `LINGER_IN_FLIGHT` queries are out waits `LINGER` for more.
const LINGER_BELOW: u64 = 8;
const LINGER_IN_FLIGHT: usize = 64;
const LINGER: Duration = Duration::from_micros(200);

struct Driver {
    core: Core,
    sockets: Vec<UdpSocket>,
    commands: mpsc::UnboundedReceiver<Command>,
    commands_closed: bool,
    /// Where each in-flight query's outcome goes, indexed by the core's tag.
    waiters: Vec<Option<ReplyTo>>,
    free_waiters: Vec<u64>,
    tcp_tx: mpsc::UnboundedSender<(TcpToken, std::io::Result<Vec<u8>>)>,
    tcp_rx: mpsc::UnboundedReceiver<(TcpToken, std::io::Result<Vec<u8>>)>,
    tcp_timeout: Duration,
    sleep: Pin<Box<Sleep>>,
    recv_buf: Vec<u8>,
    send_buf: Vec<u8>,
    /// A datagram the socket was not ready to take; `send_buf` still holds it.
    blocked: Option<Transmit>,
    /// Use recvmmsg/sendmmsg.
    batched: bool,
    #[cfg(target_os = "linux")]
    recv_batch: crate::batch::RecvBatch,
    /// Datagrams the core handed out, per socket, waiting for sendmmsg.
    #[cfg(target_os = "linux")]
    send_batches: Vec<crate::batch::SendBatch>,
    /// Messages handed to the kernel by the per-datagram path.
    messages: u64,
    /// The last poll ended with nothing to do (the task went to sleep).
    idle: bool,
}

impl Driver {
    async fn run(mut self) {
        poll_fn(|cx| self.poll(cx)).await;
    }

    fn now() -> Instant {
        // tokio's clock, so tests with a paused runtime control the core's time too.
        tokio::time::Instant::now().into_std()
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let woke_idle = std::mem::take(&mut self.idle);
        for round in 0..32 {
            let now = Self::now();
            let mut progress = false;
            let submitted = self.poll_commands(cx);
            progress |= submitted;
            while let Poll::Ready(Some((token, result))) = self.tcp_rx.poll_recv(cx) {
                self.core
                    .handle_tcp_response(now, token, result.as_deref().map_err(clone_io));
                progress = true;
            }
            let before = self.core.stats().received;
            progress |= self.poll_receive(cx, now);
            if round == 0
                && woke_idle
                && !submitted
                && self.batched
                && self.core.stats().received - before < LINGER_BELOW
                && self.core.udp_in_flight() >= LINGER_IN_FLIGHT
            {
                // Woken from idle for a trickle of replies while many queries are out (a
                // resolver slower than we are): every wake-up costs more than the replies
                // it brings, so let the replies gather for a moment and take them together.
                // Never when new queries came in: those go out at once.
                std::thread::sleep(LINGER);
                progress = true;
            }
            self.core.handle_timeout(now);
            progress |= self.poll_send(cx, now);
            while let Some(request) = self.core.poll_tcp() {
                self.spawn_tcp(request);
            }
            progress |= self.deliver();
            if self.commands_closed && self.core.is_idle() {
                return Poll::Ready(());
            }
            if !progress {
                self.idle = true;
                return self.arm_timer(cx);
            }
        }
        // Still busy: let other tasks run, then come back.
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    fn stats(&self) -> Stats {
        let mut stats = self.core.stats();
        stats.send_messages = self.messages;
        #[cfg(target_os = "linux")]
        for b in &self.send_batches {
            stats.send_messages += b.counts().0;
        }
        stats
    }

    fn poll_commands(&mut self, cx: &mut Context<'_>) -> bool {
        let mut progress = false;
        for _ in 0..BATCH {
            match self.commands.poll_recv(cx) {
                Poll::Ready(Some(Command::Submit {
                    name,
                    record_type,
                    reply,
                })) => {
                    let tag = match self.free_waiters.pop() {
                        Some(tag) => {
                            self.waiters[tag as usize] = Some(reply);
                            tag
                        }
                        None => {
                            self.waiters.push(Some(reply));
                            (self.waiters.len() - 1) as u64
                        }
                    };
                    self.core.submit(name, record_type, tag);
                    progress = true;
                }
                Poll::Ready(Some(Command::Stats(tx))) => {
                    let _ = tx.send(self.stats());
                    progress = true;
                }
                Poll::Ready(Some(Command::ResolverStats(tx))) => {
                    let _ = tx.send(self.core.resolver_stats().to_vec());
                    progress = true;
                }
                Poll::Ready(None) => {
                    self.commands_closed = true;
                    break;
                }
                Poll::Pending => break,
            }
        }
        progress
    }

    fn poll_receive(&mut self, cx: &mut Context<'_>, now: Instant) -> bool {
        #[cfg(target_os = "linux")]
        if self.batched {
            return self.poll_receive_batched(cx, now);
        }
        let mut progress = false;
        for (i, socket) in self.sockets.iter().enumerate() {
            for _ in 0..BATCH {
                let mut buf = ReadBuf::new(&mut self.recv_buf);
                match socket.poll_recv_from(cx, &mut buf) {
                    Poll::Ready(Ok(from)) => {
                        self.core.handle_datagram(now, i, from, buf.filled());
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

    fn poll_send(&mut self, cx: &mut Context<'_>, now: Instant) -> bool {
        #[cfg(target_os = "linux")]
        if self.batched {
            return self.poll_send_batched(cx, now);
        }
        let mut progress = false;
        for _ in 0..BATCH {
            let transmit = match self.blocked.take() {
                Some(t) => t,
                None => match self.core.poll_transmit(now, &mut self.send_buf) {
                    Some(t) => t,
                    None => break,
                },
            };
            match self.sockets[transmit.socket].poll_send_to(cx, &self.send_buf, transmit.dest) {
                Poll::Ready(Ok(_)) => {
                    self.messages += 1;
                    progress = true;
                }
                // Transient send errors (ENOBUFS, EPERM from a firewall, ...) are counted;
                // the attempt's timer is running, so the query is retried anyway.
                Poll::Ready(Err(_)) => {
                    self.core.record_send_error();
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

    /// Up to a few `recvmmsg` calls per socket per wake-up.
    #[cfg(target_os = "linux")]
    fn poll_receive_batched(&mut self, cx: &mut Context<'_>, now: Instant) -> bool {
        use std::os::fd::AsRawFd;
        let mut progress = false;
        let Driver {
            sockets,
            recv_batch,
            core,
            ..
        } = self;
        for (i, socket) in sockets.iter().enumerate() {
            for _ in 0..BATCH / crate::batch::BATCH {
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
                let result = socket.try_io(tokio::io::Interest::READABLE, || {
                    got = recv_batch.recv(fd)?;
                    if got < crate::batch::BATCH {
                        // A short batch emptied the queue: say so, and tokio clears the
                        // readiness now (a datagram that arrived meanwhile sets it again),
                        // instead of a further call that would only return EAGAIN.
                        return Err(std::io::ErrorKind::WouldBlock.into());
                    }
                    Ok(())
                });
                for k in 0..got {
                    if let Some((from, data)) = recv_batch.get(k) {
                        core.handle_datagram(now, i, from, data);
                    }
                }
                progress |= got > 0;
                match result {
                    Ok(()) => {}
                    // Readiness cleared: the next poll_recv_ready registers the waker.
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
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

    /// Takes what the core has to send into per-socket batches (a bounded number, so a
    /// socket that is not writable holds the rest back in the core) and flushes them with
    /// `sendmmsg`.
    #[cfg(target_os = "linux")]
    fn poll_send_batched(&mut self, cx: &mut Context<'_>, now: Instant) -> bool {
        use std::os::fd::AsRawFd;
        let mut progress = false;
        let mut queued: usize = self.send_batches.iter().map(|b| b.len()).sum();
        while queued < 4 * crate::batch::BATCH {
            let Some(t) = self.core.poll_transmit(now, &mut self.send_buf) else {
                break;
            };
            self.send_batches[t.socket].push(&self.send_buf, t.dest);
            queued += 1;
            progress = true;
        }
        let Driver {
            sockets,
            send_batches,
            core,
            ..
        } = self;
        for (socket, batch) in sockets.iter().zip(send_batches.iter_mut()) {
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
                match socket.try_io(tokio::io::Interest::WRITABLE, || batch.send(fd)) {
                    Ok(_) => progress = true,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    // Transient send errors (ENOBUFS, EPERM from a firewall, ...) concern
                    // the first message: its datagrams are counted and dropped; their
                    // timers retry them.
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

    fn deliver(&mut self) -> bool {
        let mut progress = false;
        while let Some(done) = self.core.poll_completion() {
            progress = true;
            let Some(reply) = self
                .waiters
                .get_mut(done.tag as usize)
                .and_then(Option::take)
            else {
                continue;
            };
            self.free_waiters.push(done.tag);
            // A receiver that went away no longer wants the outcome: not an error.
            match reply {
                ReplyTo::Once(tx) => {
                    let _ = tx.send(done.outcome);
                }
                ReplyTo::Stream(tx, tag) => {
                    let _ = tx.send((tag, done.outcome));
                }
            }
        }
        progress
    }

    fn spawn_tcp(&self, request: TcpRequest) {
        let tx = self.tcp_tx.clone();
        let timeout = self.tcp_timeout;
        tokio::spawn(async move {
            let result =
                tokio::time::timeout(timeout, tcp_exchange(request.dest, &request.message))
                    .await
                    .unwrap_or_else(|_| Err(std::io::ErrorKind::TimedOut.into()));
            let _ = tx.send((request.token, result));
        });
    }

    fn arm_timer(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if let Some(deadline) = self.core.poll_timeout() {
            self.sleep
                .as_mut()
                .reset(tokio::time::Instant::from_std(deadline));
            if self.sleep.as_mut().poll(cx).is_ready() {
                cx.waker().wake_by_ref();
            }
        }
        Poll::Pending
    }
}

fn clone_io(e: &std::io::Error) -> std::io::Error {
    std::io::Error::new(e.kind(), e.to_string())
}

/// One query over TCP with RFC 1035 §4.2.2 length framing.
async fn tcp_exchange(dest: SocketAddr, message: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut stream = TcpStream::connect(dest).await?;
    let len = u16::try_from(message.len())
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "query too long"))?;
    let mut framed = Vec::with_capacity(message.len() + 2);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(message);
    stream.write_all(&framed).await?;
    let len = stream.read_u16().await?;
    let mut reply = vec![0u8; usize::from(len)];
    stream.read_exact(&mut reply).await?;
    Ok(reply)
}
