//! The scan loop: a bounded window of queries, the PTR stage (with CNAME chase), the
//! forward stage (one query per distinct name, shared through a cache), and the verdict.
//!
//! This room holds the [`Scanner`] itself, its public ways in (`run`, `run_until`,
//! `walk_until`) and the error that stops a scan; the stages live in rooms of their own:
//!
//! - `config` — [`ScanConfig`], [`ForwardMode`], [`MAX_LISTS`]: the tunables.
//! - `run` — the loop every run goes through: the window of queries, feeding it targets
//!   (or a walk's questions), dispatching replies by tag; the per-address `Job` state.
//! - `ptr` — the PTR stage, with the RFC 2317 CNAME chase.
//! - `forward` — the forward stage: one query per distinct name, shared through the
//!   forward cache and the pending lookups.
//! - `verdict` — FCrDNS over every PTR name, and the row built once every DNSBL answered.
//! - `lists` — the DNSBL side: the test entries checked before a run, every list asked for
//!   every address.
//! - `final_pass` — `temperror` (and undecided) rows held, looked up again at the end,
//!   and written once.
//! - `progress` — [`Progress`] and [`ScanStats`], and the row writer that counts them.
//! - `stop` — [`Stop`]: draining or aborting a run from another task.
//! - `check` — [`Scanner::check`]: one address, with its forward answers and reasons.

mod check;
mod config;
mod final_pass;
mod forward;
mod lists;
mod progress;
mod ptr;
mod run;
mod stop;
mod verdict;

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use ptraudit_dns::Client;

pub use self::check::{Check, ForwardAnswer};
pub use self::config::{ForwardMode, MAX_LISTS, ScanConfig};
use self::forward::ForwardCache;
pub use self::lists::ListProblem;
pub use self::progress::{Progress, ScanStats};
pub use self::stop::Stop;
use crate::dnsbl::ListState;
use crate::row::{Sink, SinkError};
use crate::walk::{WalkPlan, WalkSummary, Walker};
/// Errors that stop a scan.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScanError {
    /// A sink failed (disk full, broken pipe, …).
    #[error("writing results failed")]
    Sink(#[source] SinkError),
    /// The DNS client stopped.
    #[error(transparent)]
    Dns(#[from] ptraudit_dns::Error),
    /// [`Scanner::check`] ended without the address's row (cannot happen while the
    /// engine finishes every address it starts; an error rather than a panic).
    #[error("the scan ended before the address was done")]
    Incomplete,
}

/// The scan engine. See the crate documentation.
#[derive(Debug)]
pub struct Scanner {
    client: Client,
    config: ScanConfig,
    limiter: Option<DefaultDirectRateLimiter>,
    cache: ForwardCache,
    lists: Vec<Arc<ListState>>,
}

impl Scanner {
    /// A scanner sending through `client`.
    pub fn new(client: Client, config: ScanConfig) -> Self {
        // A burst of at most 20 ms worth of queries, so `--rate` holds over short runs too
        // (governor's default burst is a whole second's worth).
        let limiter = config.rate.map(|r| {
            let burst = NonZeroU32::new((r.get() / 50).max(1)).unwrap_or(NonZeroU32::MIN);
            RateLimiter::direct(Quota::per_second(r).allow_burst(burst))
        });
        let lists = config
            .dnsbl
            .iter()
            .take(MAX_LISTS)
            .map(|l| Arc::new(ListState::new(l.clone())))
            .collect();
        Scanner {
            client,
            config,
            limiter,
            cache: ForwardCache::default(),
            lists,
        }
    }

    /// The DNSBLs of this scanner, with their counters (queries, listings, whether an
    /// error answer switched one off).
    pub fn lists(&self) -> &[Arc<ListState>] {
        &self.lists
    }

    /// The DNS client (for its counters).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The configuration.
    pub fn config(&self) -> &ScanConfig {
        &self.config
    }

    /// Scans every address of `targets` (`total` of them, for progress), writing one row
    /// per address to `sink` as it completes, then calls [`Sink::finish`].
    pub async fn run<S: Sink>(
        &self,
        targets: impl Iterator<Item = IpAddr>,
        total: u64,
        sink: &mut S,
        progress: &mut dyn FnMut(&Progress),
    ) -> Result<ScanStats, ScanError> {
        let numbered = targets.enumerate().map(|(i, ip)| (i as u64, ip));
        self.run_until(numbered, total, sink, progress, &Stop::default())
            .await
    }

    /// Like [`Scanner::run`], with each target numbered by the caller (the number reaches
    /// the sink through [`Sink::row_at`], for checkpoints), and with `stop`, which can end
    /// the scan early: after
    /// [`Stop::drain`] no new address is started and the ones in flight are finished
    /// (their rows written, but for `temperror` rows held for the final pass, which are
    /// left for a resume); after [`Stop::abort`] the scan ends at once, writing no
    /// further row. Either way the sink is finished, and [`ScanStats::interrupted`] is set.
    pub async fn run_until<S: Sink>(
        &self,
        targets: impl Iterator<Item = (u64, IpAddr)>,
        total: u64,
        sink: &mut S,
        progress: &mut dyn FnMut(&Progress),
        stop: &Stop,
    ) -> Result<ScanStats, ScanError> {
        let (stats, _) = self
            .run_inner(targets, total, sink, progress, stop, false, None)
            .await?;
        Ok(stats)
    }

    /// Walks the reverse tree of `plan` (RFC 8020; see [`WalkPlan`]), writing a row per
    /// address found — every address for IPv4, inferred where an ancestor answered
    /// NXDOMAIN — and a row per node reported (wildcard, referral, unexplored). Rows
    /// reach the sink unit by unit with [`Sink::row_at`], each unit's rows together,
    /// followed by [`Sink::done`]; units for which `skip(first, last)` is true (done
    /// before a resume) are not walked. Progress counts units. `stop` works as in
    /// [`Scanner::run_until`].
    pub async fn walk_until<S: Sink>(
        &self,
        plan: &WalkPlan,
        skip: &dyn Fn(u64, u64) -> bool,
        sink: &mut S,
        progress: &mut dyn FnMut(&Progress),
        stop: &Stop,
    ) -> Result<(ScanStats, WalkSummary), ScanError> {
        let walker = Walker::new(plan, self.config.prefix, skip);
        let total = plan.len();
        let (stats, _, summary) = self
            .run_walk(
                std::iter::empty(),
                total,
                sink,
                progress,
                stop,
                false,
                Some(walker),
            )
            .await?;
        Ok((stats, summary.unwrap_or_default()))
    }
}
