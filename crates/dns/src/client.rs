//! The client's driver: one tokio task drives the [`Core`] with the pool of UDP sockets
//! of `crate::io`.
//!
//! The driver is a single task polling every socket, the command channel and one timer;
//! per query there is no task and no timer, only a table entry in the core. TCP exchanges
//! after truncated replies are the exception: each gets a short-lived task (they are rare).

use std::future::{Future, poll_fn};
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hickory_proto::rr::{Name, RecordType};
use slab::Slab;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Sleep;

use crate::core::{Config, Core, ResolverStats, Stats, TcpRequest, TcpToken};
use crate::error::Error;
use crate::io::Sockets;
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

    /// UDP attempts per query when no resolver is answering (see [`Config::attempts`]).
    pub fn attempts(mut self, attempts: u8) -> Self {
        self.config.attempts = attempts;
        self
    }

    /// UDP attempts per query at most while the resolvers answer others (see
    /// [`Config::max_attempts`]).
    pub fn max_attempts(mut self, attempts: u8) -> Self {
        self.config.max_attempts = attempts;
        self
    }

    /// How long no resolver may reply before waiting queries end as timeouts (see
    /// [`Config::silence_limit`]).
    pub fn silence_limit(mut self, limit: Duration) -> Self {
        self.config.silence_limit = limit;
        self
    }

    /// The largest congestion window of each resolver (see [`Config::max_window`]); the
    /// smallest follows it down if needed.
    pub fn max_window(mut self, max_window: u32) -> Self {
        self.config.max_window = max_window.max(1);
        self.config.min_window = self.config.min_window.min(self.config.max_window);
        self.config.initial_window = self.config.initial_window.min(self.config.max_window);
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

    /// Requested kernel receive buffer per socket, in bytes (the kernel may cap it;
    /// default 4 MiB).
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
        // Room for anything the advertised EDNS size allows, and 4 KiB at least (servers
        // that ignore it on loopback).
        let max_datagram = usize::from(core.config().edns_payload.unwrap_or(512)).max(4096);
        let io = Sockets::open(
            core.socket_families(),
            self.recv_buffer,
            max_datagram,
            self.batched_io,
        )?;
        let (tx, rx) = mpsc::unbounded_channel();
        let (tcp_tx, tcp_rx) = mpsc::unbounded_channel();
        let driver = Driver {
            tcp_timeout: core.config().tcp_timeout,
            core,
            io,
            commands: rx,
            commands_closed: false,
            waiters: Slab::new(),
            tcp_tx,
            tcp_rx,
            sleep: Box::pin(tokio::time::sleep(Duration::from_secs(3600))),
        };
        let resolvers = driver.core.config().resolvers.clone().into();
        tokio::spawn(driver.run());
        Ok(Client {
            commands: tx,
            resolvers,
        })
    }
}

/// A handle to the DNS client. Cheap to clone; the driver stops when every handle (and
/// every [`Submitter`]) is dropped and the last query has finished.
#[derive(Debug, Clone)]
pub struct Client {
    commands: mpsc::UnboundedSender<Command>,
    resolvers: std::sync::Arc<[SocketAddr]>,
}

impl Client {
    /// The resolvers queries are spread over, in configuration order.
    pub fn resolvers(&self) -> &[SocketAddr] {
        &self.resolvers
    }

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

/// Commands taken per wake-up before turning to the sockets.
const BATCH: usize = 256;

struct Driver {
    core: Core,
    io: Sockets,
    commands: mpsc::UnboundedReceiver<Command>,
    commands_closed: bool,
    /// Where each in-flight query's outcome goes; the key is the core's tag.
    waiters: Slab<ReplyTo>,
    tcp_tx: mpsc::UnboundedSender<(TcpToken, std::io::Result<Vec<u8>>)>,
    tcp_rx: mpsc::UnboundedReceiver<(TcpToken, std::io::Result<Vec<u8>>)>,
    tcp_timeout: Duration,
    /// The core's next deadline.
    sleep: Pin<Box<Sleep>>,
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
        for _ in 0..32 {
            let now = Self::now();
            let mut progress = false;
            let submitted = self.poll_commands(cx);
            progress |= submitted;
            while let Poll::Ready(Some((token, result))) = self.tcp_rx.poll_recv(cx) {
                self.core
                    .handle_tcp_response(now, token, result.as_deref().map_err(clone_io));
                progress = true;
            }
            let core = &mut self.core;
            progress |= self.io.poll_recv(cx, |socket, from, data| {
                core.handle_datagram(now, socket, from, data);
            });
            self.core.handle_timeout(now);
            progress |= self.io.poll_send(cx, now, &mut self.core);
            while let Some(request) = self.core.poll_tcp() {
                self.spawn_tcp(request);
            }
            progress |= self.deliver();
            if self.commands_closed && self.core.is_idle() {
                return Poll::Ready(());
            }
            if !progress {
                return self.arm_timer(cx);
            }
        }
        // Still busy: let other tasks run, then come back.
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    fn stats(&self) -> Stats {
        let mut stats = self.core.stats();
        stats.send_messages = self.io.messages();
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
                    let tag = self.waiters.insert(reply) as u64;
                    self.core.submit(name, record_type, tag);
                    progress = true;
                }
                Poll::Ready(Some(Command::Stats(tx))) => {
                    let _ = tx.send(self.stats());
                    progress = true;
                }
                Poll::Ready(Some(Command::ResolverStats(tx))) => {
                    let _ = tx.send(self.core.resolver_stats());
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

    fn deliver(&mut self) -> bool {
        let mut progress = false;
        while let Some(done) = self.core.poll_completion() {
            progress = true;
            let Some(reply) = self.waiters.try_remove(done.tag as usize) else {
                continue;
            };
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
