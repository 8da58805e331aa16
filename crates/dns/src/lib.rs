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
//!   round-trip time (RFC 6298), a congestion window (AIMD) on the attempts in flight,
//!   resolver health, TCP fallback after TC=1. It takes `now` and datagrams, and returns
//!   datagrams to send and finished queries; no task or timer per query (deadlines in
//!   FIFO lanes per timeout value). Queries are padded to 128 bytes (EDNS Padding, RFC
//!   8467's block) so that they share one size.
//! - [`Client`] — one tokio task driving a [`Core`] with a pool of UDP sockets on random
//!   ports, moving datagrams with `recvmmsg`/`sendmmsg` on Linux (64 per system call), and
//!   same-sized queries to one resolver as one segmented message (UDP GSO) where the
//!   kernel allows. [`Client::query`] asks one question; [`Client::pipeline`] gives a
//!   [`Submitter`]/[`Completions`] pair for many.
//! - [`reverse_name`] / [`ip_from_reverse`] — `in-addr.arpa` and nibble `ip6.arpa` names.
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
//! # Ok(()) }
//! ```
//!
//! [hickory-proto]: https://docs.rs/hickory-proto

#![deny(missing_docs)]

#[cfg(target_os = "linux")]
mod batch;
mod client;
mod core;
mod error;
mod names;
mod outcome;
mod resolver;
mod reverse;

pub use crate::client::{Client, ClientBuilder, Completions, Submitter};
pub use crate::core::{
    Completion, Config, Core, Family, ResolverStats, Stats, TcpRequest, TcpToken, Transmit,
};
pub use crate::error::Error;
pub use crate::names::name_to_text;
pub use crate::outcome::{Outcome, Rec, RecordValue, Status, UnknownStatus};
pub use crate::resolver::{parse_resolver, resolv_conf_nameservers};
pub use crate::reverse::{ip_from_reverse, reverse_name, reverse_name_string};
pub use hickory_proto::rr::{Name, RecordType};
