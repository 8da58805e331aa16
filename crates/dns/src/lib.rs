//! `ptraudit-dns`: a raw UDP DNS client for bulk reverse-DNS audits.
//!
//! [hickory-proto] encodes and decodes messages; this crate owns the sockets. It is built
//! for pushing hundreds of thousands of PTR/A/AAAA queries per second at a few resolvers
//! and getting a *definite* [`Outcome`] for every one of them: an answer, NXDOMAIN, NODATA,
//! SERVFAIL, REFUSED, another RCODE, or a timeout after the last attempt.
//!
//! # Layout
//!
//! - [`Core`] — the sans-IO protocol state: in-flight table keyed by (socket, ID), random
//!   IDs from a CSPRNG-seeded generator, reply matching (source address and port, ID and
//!   question must all match; everything else is counted in [`Stats`] and dropped),
//!   retries spread over resolvers with timeouts adapted to each resolver's measured
//!   round-trip time (RFC 6298), a congestion window (AIMD) per resolver on the attempts
//!   in flight, resolver health, TCP fallback after TC=1. It takes `now` and datagrams, and returns
//!   datagrams to send and finished queries; no task or timer per query (deadlines in
//!   FIFO lanes per timeout value). Queries are padded to 128 bytes (EDNS Padding, RFC
//!   8467's block) so that they share one size. Inside: `core/config.rs` ([`Config`] and
//!   its validation, [`ConfigError`]), `core/timers.rs` (the deadlines), `core/wire.rs`
//!   (encoding queries, reading replies), `core/tests.rs` (the core driven by a simulated
//!   network and clock).
//! - [`Client`] — one tokio task driving a [`Core`] with a pool of UDP sockets on random
//!   ports. [`Client::query`] asks one question; [`Client::pipeline`] gives a
//!   [`Submitter`]/[`Completions`] pair for many.
//! - The socket layer (`io.rs`) — one type with the same methods on every platform:
//!   `io/linux.rs` moves datagrams with `recvmmsg`/`sendmmsg` (64 per system call) and
//!   same-sized queries to one resolver as one segmented message (UDP GSO) where the
//!   kernel allows, through `io/batch.rs`, the only module with `unsafe` code;
//!   `io/fallback.rs` sends and receives one datagram per system call elsewhere.
//! - [`reverse_name`] / [`ip_from_reverse`] — `in-addr.arpa` and nibble `ip6.arpa` names.
//! - [`probe`] — which resolvers answer at all, asked before a run's work: all at once,
//!   short attempts first (0.25 s, doubling to 2 s), [`probe_patience`] (7.75 s) in all.
//!
//! # Example
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use ptraudit_dns::{ClientBuilder, RecordType, Status, reverse_name};
//!
//! // A loopback test server with one PTR record.
//! let server = ptraudit_testdns::Server::builder()
//!     .zone_text("18.198.in-addr.arpa.", "
//! $TTL 300
//! @ SOA ns.test. host.test. 1 3600 600 86400 300
//! @ NS ns.test.
//! 7.0 PTR mail.example.test.")?
//!     .start()?;
//!
//! let client = ClientBuilder::new(vec![server.udp_addr()]).build()?;
//! let outcome = client.query(reverse_name("198.18.0.7".parse()?), RecordType::PTR).await?;
//! assert_eq!(outcome.status, Status::Answer);
//! assert_eq!(outcome.ptr_names().next().unwrap().to_ascii(), "mail.example.test.");
//!
//! let missing = client.query(reverse_name("198.18.0.8".parse()?), RecordType::PTR).await?;
//! assert_eq!(missing.status, Status::NxDomain);
//!
//! // Many: submit without waiting, collect outcomes as they complete (in any order).
//! let (submitter, mut completions) = client.pipeline();
//! for (tag, ip) in ["198.18.0.7", "198.18.0.8"].into_iter().enumerate() {
//!     submitter.submit(reverse_name(ip.parse()?), RecordType::PTR, tag as u64)?;
//! }
//! drop(submitter); // `recv` ends once the submitters are gone and all is delivered
//! let mut statuses = [None, None];
//! while let Some((tag, outcome)) = completions.recv().await {
//!     statuses[tag as usize] = Some(outcome.status);
//! }
//! assert_eq!(statuses, [Some(Status::Answer), Some(Status::NxDomain)]);
//! # Ok(()) }
//! ```
//!
//! # Outcomes
//!
//! Every query ends in exactly one definite [`Outcome`]: [`Status::Answer`] (records of
//! the asked type, CNAMEs kept in chain order with TTLs), [`Status::NxDomain`],
//! [`Status::NoData`] (CNAMEs kept, so the caller can follow an RFC 2317 chain),
//! [`Status::ServFail`], [`Status::Refused`], another [`Status::Rcode`], or
//! [`Status::Timeout`] after the last attempt — with the attempt count, the resolver that
//! answered and the round-trip time.
//!
//! # Design
//!
//! - **Anti-spoofing (RFC 5452)**: random 16-bit IDs from a CSPRNG-seeded generator, a
//!   pool of UDP sockets on random OS-chosen ports (a socket drawn at random for each run
//!   of 16 queries, so they batch; the ID stays random per query). A reply counts only if
//!   source address and port, ID and question (name case-insensitively, type, class) all
//!   match. Everything else is dropped and counted by cause: unknown ID, wrong source,
//!   wrong question, malformed.
//! - **No per-query task or timer**: in-flight queries live in a per-socket 65,536-entry
//!   ID table pointing into a slab; deadlines in FIFO lanes, one per timeout value (a
//!   deadline is now + the resolver's timeout, so each lane is in order: O(1) each way), a
//!   heap for odd values, cancellation lazy.
//! - **Batched system calls** (Linux): `recvmmsg` and `sendmmsg` move up to 64 datagrams
//!   per call on unconnected sockets (each message carries its own address); datagrams
//!   larger than the buffer are dropped whole, never half-parsed.
//!   [`ClientBuilder::batched_io`]`(false)`, and other systems, use one
//!   `recv_from`/`send_to` per datagram (the same tests run both ways). A send that fails
//!   (ENOBUFS, EPERM from a firewall, ...) is counted in [`Stats::send_errors`], never
//!   fatal: the attempt's timer is running, so the query is retried anyway.
//! - **Segmentation offload** (UDP GSO, `UDP_SEGMENT`, Linux 4.18+): queries of one size
//!   to one resolver leave as a single message that the kernel cuts into datagrams late in
//!   its path (on loopback, at the receiving socket) — one route lookup, buffer and stack
//!   traversal per run instead of per query; `sendmmsg` takes several such runs per call.
//!   Queries are **padded to 128 bytes** with the EDNS(0) Padding option (RFC 7830, the
//!   block size RFC 8467 recommends), so nearly all have one size; the answers are not
//!   padded (servers pad only over encrypted transports). Where a path refuses
//!   segmentation (`EIO`: no checksum offload, IPsec), the socket falls back to one
//!   datagram per message for good. [`ClientBuilder::padding`]`(0)` sends unpadded
//!   queries. [`Stats::send_messages`] says how many messages the datagrams took.
//! - **No lingering for replies**: the driver takes what the sockets hold each time it is
//!   woken. Earlier versions, woken for a trickle of replies while many queries were out,
//!   slept 200 µs on the thread so that replies gathered (about 1 µs of CPU per query less
//!   through a slow resolver); that blocked the runtime's thread and ignored a paused
//!   clock. As a deadline of the runtime the wait is rounded up to the timer's 1 ms,
//!   stalled the pipeline through a fast server (-14% addresses/s through Knot) and saved
//!   nothing through a slow one (the kernel wakes the runtime's thread in `epoll_wait`
//!   for every arriving datagram), so there is none (docs/performance.md, 2026-11-30).
//! - **Lean reply path**: queries are encoded by hand from the question each lookup keeps
//!   in wire form; a reply's question is compared with it byte for byte (letters in any
//!   case) and decoded only when it differs; answer records are read directly — an owner
//!   written as a pointer to the question is the name asked, not decoded — and only A,
//!   AAAA, PTR and CNAME data are kept (other types still go through hickory's decoder,
//!   so malformed data is rejected as before; a property test holds the reader to
//!   hickory's).
//! - **Adaptive timeouts** (RFC 6298, [`Config::adaptive_timeout`]): per resolver,
//!   smoothed RTT + 4 × its variation, at least [`Config::min_timeout`] (100 ms);
//!   [`Config::timeout`] (1.5 s) until measured. Each reply times exactly one attempt
//!   (every attempt has its own ID), so there is no retransmission ambiguity. A resolver
//!   that answers slower and slower as its queue fills gets longer timeouts, not retries;
//!   a lost packet on a fast path is retried in 100 ms instead of 1.5 s. An attempt that
//!   would end its query (its last, or none of the resolvers replied since it went out)
//!   is waited for until `timeout` has passed, so a hiccup of a second costs a retry, not
//!   an answer; while replies come it is retried at once (decided when its timer fires,
//!   so a lossy path's tail is not stretched by a second). Attempts sent before a
//!   resolver's first reply (with `timeout`) are re-armed with the measured timeout once
//!   it arrives, so a loss in the first window costs a few round trips too.
//! - **Congestion window** (AIMD, [`Config::adaptive_window`]): UDP attempts in flight are
//!   limited by a window that starts at 64, doubles per round trip until the first loss or
//!   until answers take 4× the fastest round trip seen (a queue is building, as HyStart
//!   detects), then grows by one per round trip but no faster than one per 10 ms (losses
//!   show only when a timeout fires), is halved once per window when attempts time out,
//!   and grows only while work waits for it; 16 to 10,000 ([`Config::max_window`]).
//!   Queries beyond it wait in the core with their timers not started. Too deep a queue
//!   overflows a server's receive buffer; too shallow idles it. **One window per
//!   resolver**: a query goes to a resolver with room in its own window (round robin
//!   among them), so each resolver gets work at the pace it completes it — a resolver
//!   50 ms away holds its own window of queries, not the room a fast one needs, and a
//!   lossy one's halvings shrink its own share only.
//! - **Late is not lost** (the idea of F-RTO and Eifel for TCP, RFC 5682 and 3522): a
//!   timeout retries the query at once, but counts as a loss — halving the window —
//!   only if the attempt's own reply has not come one grace period (its resolver's
//!   timeout) later. A reply within it is counted ([`Stats::spurious_timeouts`],
//!   [`Stats::losses_forgiven`]) and halves nothing; it is recognised even after the
//!   query ended by its retry (its ID waits in the quarantine: a recursive resolver
//!   answers the retry and the original from one fetch, often the retry first). A
//!   recursive resolver whose answers are slow on a cold cache is not mistaken for a
//!   congested one; real congestion is answered one timeout later.
//! - **Retries** with doubling timeouts (8× at most), moved to another resolver when
//!   there are several. SERVFAIL and REFUSED are retried; NXDOMAIN and NODATA are final
//!   (RFC 8020). A reply to an *earlier* attempt still answers the query (a slow resolver
//!   is not a lost packet). **Attempts policy**: [`Config::attempts`] (3) when no reply
//!   came from any resolver since the last attempt went out (a dead resolver ends a
//!   query promptly); up to [`Config::max_attempts`] (8) while replies keep arriving (a
//!   lossy path: the losses are random, and each retry costs a few round trips).
//! - **Silence**: when no resolver has replied for [`Config::silence_limit`] (10 s) and
//!   a window's worth of attempts has timed out since, the resolvers are taken as down:
//!   waiting queries end at once as timeouts ([`Stats::silenced`]) and timed-out ones
//!   are not retried, while one attempt at a time still goes out — its reply ends the
//!   silence. A run whose resolvers die ends in seconds, not hours.
//! - **Late and duplicate replies**: a finished query's IDs stay reserved (quarantined)
//!   for 3 s ([`Config::quarantine`]), so a late reply is counted as [`Stats::late`] or
//!   [`Stats::duplicates`] and never meets a newer query that reused the ID — a known
//!   failure of other bulk resolvers; after that the question check still keeps it from
//!   being credited elsewhere. The ID space needed is rate × quarantine: 8 sockets ×
//!   50,000 IDs serve about 130,000 queries/s.
//! - **TC=1** → the query is repeated over TCP (2-byte framing) with its own timeout.
//!   EDNS(0) with a 1232-byte payload and the padding above.
//! - **Resolver health**: after 8 consecutive failures (timeouts, SERVFAIL, REFUSED) a
//!   resolver rests for 100 ms, doubling up to 10 s; load moves to the healthy ones.
//! - **Helpers**: [`reverse_name`] (`in-addr.arpa` / nibble `ip6.arpa`),
//!   [`ip_from_reverse`], [`name_to_text`] (lowercase, no trailing dot, RFC 2317 `/` kept
//!   readable, unsafe bytes escaped), [`parse_resolver`] (`IP[:PORT]`).
//!
//! # Counters
//!
//! [`Client::stats`] ([`Stats`]): submitted, completed, sent, send errors, received,
//! matched, dropped by cause, duplicates, late, retries, TCP fallbacks, TCP failures,
//! attempt timeouts, timeouts, the windows and their halvings, spurious timeouts and
//! forgiven losses, extra attempts, silenced queries. [`Client::resolver_stats`]
//! ([`ResolverStats`]), per resolver: sent, answered, SERVFAIL/REFUSED, timeouts, rests,
//! its window, its halvings and late replies.
//! Every received datagram lands in exactly one counter.
//!
//! [hickory-proto]: https://docs.rs/hickory-proto

#![deny(missing_docs)]

mod client;
mod core;
mod error;
mod io;
mod names;
mod outcome;
mod probe;
mod resolver;
mod reverse;

pub use crate::client::{Client, ClientBuilder, Completions, Submitter};
pub use crate::core::{
    Completion, Config, Core, Family, ResolverStats, Stats, TcpRequest, TcpToken, Transmit,
};
pub use crate::error::{ConfigError, Error};
pub use crate::names::name_to_text;
pub use crate::outcome::{Outcome, Rec, RecordValue, Status, UnknownStatus};
pub use crate::probe::{
    PROBE_ATTEMPTS, PROBE_FIRST_TIMEOUT, liveness_questions, probe, probe_patience,
};
pub use crate::resolver::{parse_resolver, resolv_conf_nameservers};
pub use crate::reverse::{ip_from_reverse, reverse_name, reverse_name_string};
pub use hickory_proto::rr::{Name, RecordType};
