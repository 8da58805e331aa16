//! `ptraudit-scan`: the scan engine. Given target addresses it finds, for each one, the
//! PTR names (following RFC 2317 CNAMEs), the forward addresses of every name (one query
//! per distinct name, shared through a cache), the FCrDNS verdict with its reason, and
//! whether the name looks generic — and hands one [`Row`] per address to a [`Sink`] as
//! soon as it is complete.
//!
//! # Layout
//!
//! - [`TargetSet`] / [`Target`] — CIDRs, single addresses and `a-b` ranges from arguments,
//!   files and stdin; excludes; [`Shard`] `I/N` partitions; [`Order`] linear or a seeded
//!   pseudo-random permutation computed on the fly (no list of the range in memory).
//! - [`Scanner`] — the loop: a bounded window of queries (`concurrency` per resolver),
//!   an optional rate limit (governor), the PTR stage, the forward stage, the verdict.
//!   Memory is bounded by the window and the forward cache, not by the size of the
//!   range. **Final pass**: a `temperror` row of a brute-force run — or a pass whose
//!   other PTR name's forward lookup failed, so `multi-ptr-unconfirmed` is undecided — is
//!   held, not written;
//!   once everything else is done its address is looked up again (DNSBL answers
//!   reused) and the row written once, with the second result
//!   ([`ScanStats::retried`], [`ScanStats::recovered`]). At most 100,000 rows are held
//!   (more are written at once); a stopped run leaves them unwritten and not done (a
//!   resume looks them up again); a pass whose
//!   first 32 failures saw no reply at all gives up ([`ScanStats::retry_abandoned`]).
//!   A walk's rows go unit by unit and are not held.
//! - [`WalkPlan`] / [`Scanner::walk_until`] — the reverse-tree walk (RFC 8020) for IPv6
//!   allocations and sparse IPv4: NXDOMAIN prunes a subtree with one query; wildcards,
//!   referrals and failing nodes are reported as node rows ([`WalkSummary`]).
//! - [`dnsbl`] — DNS blocklists: presets and their codes, error answers that are never
//!   listings; the engine asks every list for every address ([`ScanConfig::dnsbl`]).
//! - [`Templated`] — a sink that holds each summary prefix's rows until it is complete
//!   and judges their names together (neighbourhood templates), for linear scans and
//!   walks.
//! - [`Checkpoint`] — which plan positions (addresses, or a walk's units) are done.
//! - [`Row`], [`COLUMNS`], [`Sink`] — the output contract. Writers live in
//!   `ptraudit-report`; this crate knows nothing of files.
//!
//! # Several PTR names
//!
//! The row does not depend on the order of the PTR RRset: the names are sorted (by
//! their text) before the forward stage, so `ptr_all`, the forward lookups and the
//! chosen `ptr` — the first name in that order whose forward addresses of the target's
//! family contain it, else the first name — are the same through any server. `fcrdns`
//! is `pass` when any name confirms; when another name definitely does not (an answer
//! without the address, NODATA, NXDOMAIN), the pass carries
//! [`FcrdnsReason::MultiPtrUnconfirmed`], because a mail server checks only the one
//! name `getnameinfo` returns, the first of an order resolvers rotate. A failed
//! forward lookup (SERVFAIL, REFUSED, timeout, other RCODEs) of the other name is not
//! evidence and raises no flag. Such a row is not [`Row::mail_ready`].
//!
//! # Example
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use ptraudit_scan::{Fcrdns, Order, ScanConfig, Scanner, Shard, TargetSet, VecSink};
//!
//! let server = ptraudit_testdns::Server::builder()
//!     .zone_text("0.18.198.in-addr.arpa.", "
//! $TTL 300
//! @ SOA ns.test. host.test. 1 3600 600 86400 300
//! 7 PTR mail.example.test.")?
//!     .zone_text("example.test.", "
//! $TTL 300
//! @ SOA ns.test. host.test. 1 3600 600 86400 300
//! mail A 198.18.0.7")?
//!     .start()?;
//!
//! let mut targets = TargetSet::new();
//! targets.add_spec("198.18.0.6-198.18.0.7")?;
//! let client = ptraudit_dns::ClientBuilder::new(vec![server.udp_addr()]).build()?;
//! let scanner = Scanner::new(client, ScanConfig::default());
//! let mut rows = VecSink::default();
//! let plan = targets.plan(Shard::ALL, Order::Linear);
//! let total = plan.len();
//! scanner.run(plan, total, &mut rows, &mut |_| {}).await?;
//!
//! rows.0.sort_by_key(|r| r.ip);
//! assert_eq!(rows.0[0].fcrdns, Fcrdns::NoPtr);
//! assert_eq!(rows.0[1].fcrdns, Fcrdns::Pass);
//! assert_eq!(rows.0[1].ptr.as_deref(), Some("mail.example.test"));
//! assert_eq!(rows.0[1].generic, Some(false));
//! # Ok(()) }
//! ```

#![deny(missing_docs)]
#![warn(unreachable_pub)]

mod check_facts;
mod checkpoint;
pub mod dnsbl;
mod dnsbl_lists;
mod engine;
#[cfg(test)]
mod fuzz_shard;
mod rate_policy;
mod row;
mod scan_job;
mod shard_env;
mod targets;
mod templates;
mod walk;

pub use crate::checkpoint::Checkpoint;
pub use crate::dnsbl_lists::{DnsblListsError, dnsbl_lists};
pub use crate::engine::{
    Check, ForwardAnswer, ForwardMode, ListProblem, MAX_LISTS, Progress, ScanConfig, ScanError,
    ScanStats, Scanner, Stop,
};
pub use crate::rate_policy::{DEFAULT_REMOTE_RATE, HIGH_RATE, RateLimit, ZeroRate, is_local};
pub use crate::row::{
    COLUMNS, Fcrdns, FcrdnsReason, Prefix, PrefixError, PrefixLens, Row, Sink, SinkError, Status,
    UnknownValue, VecSink, mail_ready,
};
pub use crate::scan_job::{JobError, JobRequest, ScanJob};
pub use crate::shard_env::{ShardEnvError, argv_with_shard, fill_shard, shard_from_env};
pub use crate::targets::{Order, Plan, Shard, Target, TargetError, TargetSet};
pub use crate::templates::Templated;
pub use crate::walk::{WalkPlan, WalkSummary};
