//! `ptraudit-testdns`: a loopback authoritative DNS server with injectable faults, for
//! ptraudit's tests, demos and benchmarks.
//!
//! It serves RFC 1035 zone files (see `fixtures/`) over UDP and TCP on one loopback port:
//! answers with the AA flag, CNAMEs followed inside the served data (RFC 2317 classless
//! delegation), NXDOMAIN and NODATA with the SOA, empty non-terminals as NOERROR (RFC
//! 8020; or NXDOMAIN like old servers, with [`ServerBuilder::ent_nxdomain`] or
//! `--ent-nxdomain`), referrals (AA=0, NS and glue) below an NS RRset whose child zone is
//! not loaded, wildcards (RFC 4592), case-insensitive matching that echoes the question
//! as sent, TC=1 when a reply exceeds the client's UDP payload size.
//!
//! Or, as a proxy ([`ServerBuilder::upstream`]), it forwards every query to another
//! server (Knot, a recursive resolver, another test server) and applies the same faults
//! to that server's replies: a real server behind a lossy, slow or hostile path.
//!
//! # Layout
//!
//! - [`Zones`] — loads zone text, files or a manifest (`ORIGIN FILE` per line) and
//!   computes authoritative answers (pure, no I/O).
//! - [`Server`] / [`ServerBuilder`] — the sockets: one or more UDP worker threads, a TCP
//!   acceptor, a delay queue; in proxy mode, the upstream sockets and their tables of
//!   pending queries (each query forwarded under a fresh ID, its reply returned to the
//!   client that asked with the client's ID), TCP relayed.
//! - [`Faults`] — drop, delay with jitter, duplicates, wrong ID, wrong source port, wrong
//!   question, malformed packets, truncation, SERVFAIL/REFUSED by share or by subtree;
//!   every decision drawn from a seeded generator. A [`Hook`] closure may alter any reply.
//! - [`load_truth`] / [`Truth`] — the fixture network's ground truth, read once for the
//!   demo, the tests and the benchmarks; [`fixtures_dir`] is where it lives,
//!   [`walk_fixtures_dir`] the sparse space for the tree walk (`fixtures/walk`).
//! - [`external`] — Knot DNS started from the same fixtures, and Unbound, BIND 9 and
//!   PowerDNS Recursor as recursive resolvers in front of it, for interop tests and
//!   benchmarks.
//!
//! It has its own small zone-file parser ([`parse_zone`]) because hickory's rejects the
//! `/` of RFC 2317 names.
//!
//! # Faults
//!
//! Each fault applies to a share of queries drawn from a seeded generator
//! ([`Faults::seed`]), so a single-worker server repeats them exactly: drop, delay
//! (a share, a delay and a jitter), duplicate, wrong ID, wrong source (the reply comes
//! from another port), wrong question, malformed, truncate (TC=1), SERVFAIL, REFUSED; in
//! the library also SERVFAIL or REFUSED for a whole subtree, "drop the first N", and a
//! [`Hook`] closure that may alter any reply. The bogus-packet faults send the bad packet
//! *before* the real reply, so a correct client ignores it and still completes.
//! The zone server and the proxy share the code that applies them: a fault means the
//! same in front of either (in the proxy, `drop` drops queries before they are
//! forwarded). Delays wait in a queue served by one thread, never in a sleeping worker,
//! so a delay on every reply does not lower the rate a server or proxy sustains.
//!
//! # The binary
//!
//! ```sh
//! cargo run --release -p ptraudit-testdns -- --zones fixtures/net/zones.txt --listen 127.0.0.1:5353
//! kdig @127.0.0.1 -p 5353 -x 198.18.5.66
//! ```
//!
//! The faults are flags of the same names: `--drop`, `--delay-share`/`--delay`/`--jitter`,
//! `--duplicate`, `--wrong-id`, `--wrong-source`, `--wrong-question`, `--malformed`,
//! `--truncate`, `--servfail`, `--refused`, with `--seed`; `--ent-nxdomain` answers empty
//! non-terminals NXDOMAIN.
//! `ptraudit-testdns proxy --upstream IP:PORT [--listen ADDR]` with the same fault flags
//! is the proxy (a loopback upstream only):
//!
//! ```sh
//! ptraudit-testdns proxy --upstream 127.0.0.1:5353 --delay-share 1 --delay 50   # 50 ms late
//! ptraudit-testdns proxy --upstream 127.0.0.1:5353 --drop 0.15 --seed 7         # lossy
//! ```
//!
//! `ptraudit-testdns knot --zones M` starts real Knot DNS with the same zones on a free
//! loopback port instead, and `ptraudit-testdns unbound|bind|pdns --zones M --upstream
//! IP:PORT` a cold recursive resolver sending each zone of M to that Knot (used by the
//! interop tests and `scripts/bench.sh`); each prints `listening udp=IP:PORT ... pid=N`.
//!
//! # Example
//!
//! ```
//! use std::net::UdpSocket;
//! use hickory_proto::op::{Message, Query};
//! use hickory_proto::rr::{Name, RecordType};
//!
//! let server = ptraudit_testdns::Server::builder()
//!     .zone_text("example.test.", "
//! $TTL 60
//! @    SOA ns hostmaster 1 3600 600 86400 60
//! mail A   192.0.2.25")?
//!     .start()?;
//!
//! let mut query = Message::query();
//! query.add_query(Query::query(Name::from_ascii("MAIL.example.test.")?, RecordType::A));
//! let socket = UdpSocket::bind("127.0.0.1:0")?;
//! socket.send_to(&query.to_vec()?, server.udp_addr())?;
//! let mut buf = [0u8; 512];
//! let n = socket.recv(&mut buf)?;
//! let reply = Message::from_vec(&buf[..n])?;
//! assert!(reply.metadata.authoritative);
//! assert_eq!(reply.queries[0].name().to_ascii(), "MAIL.example.test.");
//! assert_eq!(reply.answers.len(), 1);
//!
//! // The same server behind a proxy that answers every query 50 ms late.
//! let mut faults = ptraudit_testdns::Faults::default();
//! faults.delay_share = 1.0;
//! faults.delay = std::time::Duration::from_millis(50);
//! let proxy = ptraudit_testdns::Server::builder()
//!     .upstream(server.udp_addr())
//!     .faults(faults)
//!     .start()?;
//! let asked = std::time::Instant::now();
//! socket.send_to(&query.to_vec()?, proxy.udp_addr())?;
//! let n = socket.recv(&mut buf)?;
//! assert!(asked.elapsed() >= std::time::Duration::from_millis(50));
//! assert_eq!(Message::from_vec(&buf[..n])?.answers, reply.answers);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]
#![warn(unreachable_pub)]

pub mod external;
mod faults;
mod proxy;
mod server;
mod truth;
mod zonefile;
mod zones;

pub use crate::faults::Faults;
pub use crate::server::{Hook, Server, ServerBuilder, ServerError, ServerStats};
pub use crate::truth::{
    TRUTH_COLUMNS, Truth, TruthError, fixtures_dir, load_truth, walk_fixtures_dir,
};
pub use crate::zonefile::{ParseError, parse_name, parse_zone};
pub use crate::zones::{ZoneError, Zones};
