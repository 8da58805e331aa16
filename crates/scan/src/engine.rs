//! The scan loop: a bounded window of queries, the PTR stage (with CNAME chase), the
//! forward stage (one query per distinct name, shared through a cache), and the verdict.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use dashmap::DashMap;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use ptraudit_classify::Rules;
use ptraudit_dns::{Client, Name, Outcome, RecordType, Status, name_to_text, reverse_name};
use slab::Slab;

use crate::dnsbl::{Dnsbl, DnsblAnswer, ListState};
use crate::row::{Fcrdns, FcrdnsReason, PrefixLens, Row, Sink, SinkError};
use crate::walk::{Start, WalkPlan, WalkSummary, Walker};

/// Which forward records to ask for each PTR name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ForwardMode {
    /// A for IPv4 targets, AAAA for IPv6 targets.
    #[default]
    Matching,
    /// Both A and AAAA (both end up in `forward_addrs`; the verdict uses the matching one).
    Both,
}

/// Tunables of a scan.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ScanConfig {
    /// Queries in flight at most, per resolver (each resolver's congestion window finds
    /// the depth it takes below this; a slow resolver holds only its own share).
    pub concurrency: usize,
    /// Queries per second at most, over all resolvers; `None` for no limit.
    pub rate: Option<NonZeroU32>,
    /// Forward record types.
    pub forward: ForwardMode,
    /// Summary prefix lengths of the rows.
    pub prefix: PrefixLens,
    /// CNAMEs followed from a reverse name across queries.
    pub max_cname: usize,
    /// Forward answers kept in the cache (oldest evicted first).
    pub cache_capacity: usize,
    /// The generic-name rules (the built-in ones, extended by `--rules FILE`).
    pub rules: Arc<Rules>,
    /// DNS blocklists to look every address up in (at most [`MAX_LISTS`]).
    pub dnsbl: Vec<Dnsbl>,
}

/// Most DNSBLs one scan checks.
pub const MAX_LISTS: usize = 16;

impl Default for ScanConfig {
    fn default() -> Self {
        ScanConfig {
            concurrency: 200,
            rate: None,
            forward: ForwardMode::Matching,
            prefix: PrefixLens::DEFAULT,
            max_cname: 8,
            cache_capacity: 100_000,
            rules: Arc::new(Rules::builtin().clone()),
            dnsbl: Vec::new(),
        }
    }
}

/// A DNSBL that failed its test entries before the run (see [`Scanner::test_lists`]).
#[derive(Debug, Clone)]
pub struct ListProblem {
    /// The list.
    pub list: Arc<ListState>,
    /// The test entry that went wrong: 127.0.0.2 (must be listed) or 127.0.0.1 (must not).
    pub test_address: std::net::Ipv4Addr,
    /// What the list answered for it.
    pub answer: DnsblAnswer,
}

impl std::fmt::Display for ListProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let l = &self.list.list;
        write!(
            f,
            "DNSBL {} ({}): test entry {} ",
            l.name, l.zone, self.test_address
        )?;
        match &self.answer {
            DnsblAnswer::Error(code) => write!(
                f,
                "answered {code}, an error, not a listing: {}",
                crate::dnsbl::error_advice(*code)
            ),
            DnsblAnswer::Listed(codes) => write!(
                f,
                "is listed ({}) but must not be: the zone answers every name (wildcarded, or \
                 your resolver rewrites NXDOMAIN); use another resolver or a mirror",
                codes
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            DnsblAnswer::NotListed => write!(
                f,
                "is not listed but must be: this is not a DNSBL zone (or not the one meant); \
                 check its name"
            ),
            DnsblAnswer::Unknown(status) => write!(
                f,
                "could not be looked up ({status}): the list or the path to it is down, or \
                 your resolver cannot reach it"
            ),
            DnsblAnswer::Disabled => write!(f, "was not asked"),
        }
    }
}

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

/// Where a scan stands, handed to the progress callback after each batch of replies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// Addresses finished.
    pub done: u64,
    /// Addresses planned.
    pub total: u64,
    /// Queries submitted so far.
    pub queries: u64,
    /// Rows with `temperror`.
    pub errors: u64,
    /// Forward answers taken from the cache.
    pub cache_hits: u64,
}

/// Totals of a finished scan.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScanStats {
    /// Rows written.
    pub addresses: u64,
    /// Rows per verdict.
    pub pass: u64,
    /// Rows per verdict.
    pub fail: u64,
    /// Rows per verdict.
    pub no_ptr: u64,
    /// Rows per verdict.
    pub temperror: u64,
    /// Queries submitted (PTR, CNAME chase, forward).
    pub queries: u64,
    /// Forward answers taken from the cache instead of asked.
    pub cache_hits: u64,
    /// The scan was stopped before every address was done.
    pub interrupted: bool,
    /// DNSBLs switched off by an error answer (their later rows are unknown).
    pub dnsbl_disabled: u64,
    /// Rows looked up again at the end of the run (the final pass), each written once,
    /// with the second result: `temperror` rows, and passes whose other PTR name's
    /// forward lookup failed (whether `multi-ptr-unconfirmed` applies was unknown).
    pub retried: u64,
    /// Of those, rows the final pass settled (neither of the above any more). A pass
    /// still unsettled is written as a pass without the flag.
    pub recovered: u64,
    /// The final pass stopped early: its lookups got no reply at all (the resolvers are
    /// down), and the rest of its rows were written as they were.
    pub retry_abandoned: bool,
}

/// `temperror` rows held for the final pass at most; beyond, they are written at once
/// (memory stays bounded when a resolver goes down in the middle of a large range).
const HOLD_CAP: usize = 100_000;
/// Retried rows that end `temperror` again, with no reply seen during the pass, after
/// which the pass gives up (the resolvers are down: a run must still end promptly).
const ABANDON_AFTER: u64 = 32;

/// One forward lookup of a PTR name, as [`Scanner::check`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ForwardAnswer {
    /// The PTR name asked (as in `ptr_all`).
    pub name: String,
    /// A or AAAA.
    pub rtype: RecordType,
    /// How the lookup ended.
    pub status: Status,
    /// The addresses found.
    pub addrs: Vec<IpAddr>,
    /// The name is an alias (the addresses came through a CNAME).
    pub via_cname: bool,
}

/// One address checked by [`Scanner::check`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Check {
    /// The row, as a scan writes it.
    pub row: Row,
    /// Each PTR name's forward lookups, in name order.
    pub forward: Vec<ForwardAnswer>,
    /// The classifier's verdict on `row.ptr`, with the message of every reason.
    pub classified: Option<ptraudit_classify::Verdict>,
    /// Each list's answer, in the order of [`Scanner::lists`].
    pub dnsbl: Vec<DnsblAnswer>,
}

/// The result of one forward lookup, shared by every address whose PTR names it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Forward {
    status: Status,
    addrs: Vec<IpAddr>,
    via_cname: bool,
}

/// (name, record type); the name shared (not copied) by the cache, its eviction order
/// and the pending lookups.
type Key = (Arc<str>, u16);

/// Forward answers by (lowercase name, record type), shared across scans of one
/// [`Scanner`]. Only definite answers are cached (a timeout is not a fact about the name).
#[derive(Debug, Default)]
struct ForwardCache {
    /// aHash: names come from the network, so the hash stays keyed per process (no
    /// crafted collisions), at a fraction of SipHash's cost.
    map: DashMap<Key, Arc<Forward>, ahash::RandomState>,
    order: std::sync::Mutex<VecDeque<Key>>,
}

impl ForwardCache {
    fn get(&self, key: &Key) -> Option<Arc<Forward>> {
        self.map.get(key).map(|e| Arc::clone(e.value()))
    }

    fn insert(&self, key: Key, value: Arc<Forward>, capacity: usize) {
        let mut order = self.order.lock().unwrap_or_else(|e| e.into_inner());
        if self.map.insert(key.clone(), value).is_none() {
            order.push_back(key);
        }
        while order.len() > capacity {
            if let Some(old) = order.pop_front() {
                self.map.remove(&old);
            }
        }
    }
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

/// Tag bit marking a forward query (otherwise the tag is a job's PTR query).
const FORWARD: u64 = 1 << 63;
/// Tag bit marking a walk's node question.
const NODE: u64 = 1 << 62;
/// Tag bit marking a walk's wildcard probe.
const PROBE: u64 = 1 << 61;
/// Tag bit marking a DNSBL lookup: the job in bits 8.., the list in bits 0..8.
const BL: u64 = 1 << 60;

struct Job {
    /// The caller's number for this target.
    seq: u64,
    ip: IpAddr,
    chain: Vec<Name>,
    ptr: Option<Outcome>,
    names: Vec<Name>,
    /// `names` as text (lowercase, no trailing dot): cache keys and the row's `ptr_all`.
    texts: Vec<String>,
    /// One slot per (name, record type), in name order.
    forward: Vec<Option<Arc<Forward>>>,
    waiting: usize,
    attempts: u32,
    /// One answer per DNSBL (`None` while asked).
    bl: Vec<Option<DnsblAnswer>>,
    bl_waiting: usize,
    /// The PTR side's verdict, kept while DNSBL answers are still out.
    verdict: Option<(Fcrdns, Option<FcrdnsReason>, Option<usize>)>,
    /// This is the final pass's second look at the address.
    retried: bool,
    /// A pass, but another PTR name's forward lookup failed (see `Run::verdict`).
    uncertain: bool,
}

/// A `temperror` row kept back for the final pass, with what its retry reuses.
struct Held {
    seq: u64,
    row: Row,
    /// The DNSBL answers, kept: a list is asked once per address.
    answers: Vec<DnsblAnswer>,
}

struct PendingForward {
    key: Key,
    /// (job, slot) pairs waiting for this answer.
    waiters: Vec<(usize, usize)>,
}

struct Run<'a, S: Sink> {
    scanner: &'a Scanner,
    sink: &'a mut S,
    /// A walk's state; `None` for a brute-force run.
    walk: Option<Walker<'a>>,
    jobs: Slab<Job>,
    pending: Slab<PendingForward>,
    pending_by_key: HashMap<Key, usize, ahash::RandomState>,
    /// Queries ready to go once the window has room, started jobs first.
    queue: VecDeque<(Name, RecordType, u64)>,
    stats: ScanStats,
    /// For [`Scanner::check`]: the forward answers and the classifier's verdict of the
    /// last row, kept instead of dropped.
    details: Option<Details>,
    /// `temperror` rows of the first look, not written yet (see [`HOLD_CAP`]).
    held: Vec<Held>,
    /// The final pass's queue: held rows whose addresses are to be looked up again.
    retry: VecDeque<Held>,
    /// The final pass has started: replies seen since, retried rows failed again.
    pass: Option<(u64, u64)>,
}

/// What [`Scanner::check`] keeps beyond the row.
#[derive(Debug, Default)]
struct Details {
    forward: Vec<ForwardAnswer>,
    verdict: Option<ptraudit_classify::Verdict>,
    dnsbl: Vec<DnsblAnswer>,
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

    /// Checks each DNSBL's test entries before any work: 127.0.0.2 must be listed and
    /// 127.0.0.1 must not be. Returns the lists that fail, with why.
    pub async fn test_lists(&self) -> Result<Vec<ListProblem>, ScanError> {
        let (tx, mut rx) = self.client.pipeline();
        let probes: [(std::net::Ipv4Addr, bool); 2] = [
            ([127, 0, 0, 2].into(), true),
            ([127, 0, 0, 1].into(), false),
        ];
        let mut sent = 0usize;
        for (i, state) in self.lists.iter().enumerate() {
            for (k, (ip, _)) in probes.iter().enumerate() {
                if let Some(name) = state.list.query_name(IpAddr::V4(*ip)) {
                    tx.submit(name, RecordType::A, (i * 2 + k) as u64)?;
                    state.sent();
                    sent += 1;
                }
            }
        }
        let mut answers = vec![None; self.lists.len() * 2];
        let mut batch = Vec::new();
        while sent > 0 {
            batch.clear();
            if rx.recv_many(&mut batch, 64).await == 0 {
                return Err(ScanError::Dns(ptraudit_dns::Error::Closed));
            }
            for (tag, outcome) in batch.drain(..) {
                sent -= 1;
                if let Some(slot) = answers.get_mut(tag as usize) {
                    *slot = Some(DnsblAnswer::from_outcome(&outcome));
                }
            }
        }
        let mut problems = Vec::new();
        for (i, state) in self.lists.iter().enumerate() {
            for (k, (ip, must_list)) in probes.iter().enumerate() {
                let answer = answers[i * 2 + k]
                    .clone()
                    .unwrap_or(DnsblAnswer::Unknown(Status::Timeout));
                let ok = matches!(
                    (&answer, must_list),
                    (DnsblAnswer::Listed(_), true) | (DnsblAnswer::NotListed, false)
                );
                if !ok {
                    problems.push(ListProblem {
                        list: Arc::clone(state),
                        test_address: *ip,
                        answer,
                    });
                    break;
                }
            }
        }
        Ok(problems)
    }

    /// The forward record types asked for `ip`'s PTR names, in slot order.
    fn rtypes(&self, ip: IpAddr) -> &'static [RecordType] {
        match (self.config.forward, ip) {
            (ForwardMode::Both, _) => &[RecordType::A, RecordType::AAAA],
            (ForwardMode::Matching, IpAddr::V4(_)) => &[RecordType::A],
            (ForwardMode::Matching, IpAddr::V6(_)) => &[RecordType::AAAA],
        }
    }

    /// One address, with what a person checking it wants to see beyond the row: the
    /// answer of each forward lookup and the classifier's reasons with their messages.
    /// The same stages, cache and verdict as [`Scanner::run`].
    pub async fn check(&self, ip: IpAddr) -> Result<Check, ScanError> {
        let mut rows = crate::VecSink::default();
        let (_, details) = self
            .run_inner(
                std::iter::once((0, ip)),
                1,
                &mut rows,
                &mut |_| {},
                &Stop::default(),
                true,
                None,
            )
            .await?;
        let row = rows.0.pop().ok_or(ScanError::Incomplete)?;
        let details = details.unwrap_or_default();
        Ok(Check {
            row,
            forward: details.forward,
            classified: details.verdict,
            dnsbl: details.dnsbl,
        })
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

    #[allow(clippy::too_many_arguments)]
    async fn run_inner<S: Sink>(
        &self,
        targets: impl Iterator<Item = (u64, IpAddr)>,
        total: u64,
        sink: &mut S,
        progress: &mut dyn FnMut(&Progress),
        stop: &Stop,
        details: bool,
        walk: Option<Walker<'_>>,
    ) -> Result<(ScanStats, Option<Details>), ScanError> {
        let (stats, details, _) = self
            .run_walk(targets, total, sink, progress, stop, details, walk)
            .await?;
        Ok((stats, details))
    }

    /// The loop of every run: brute force from `targets`, or the walk of `walk`.
    #[allow(clippy::too_many_arguments)]
    async fn run_walk<'w, S: Sink>(
        &'w self,
        targets: impl Iterator<Item = (u64, IpAddr)>,
        total: u64,
        sink: &'w mut S,
        progress: &mut dyn FnMut(&Progress),
        stop: &Stop,
        details: bool,
        walk: Option<Walker<'w>>,
    ) -> Result<(ScanStats, Option<Details>, Option<WalkSummary>), ScanError> {
        let (tx, mut rx) = self.client.pipeline();
        let mut run = Run {
            scanner: self,
            sink,
            walk,
            jobs: Slab::new(),
            pending: Slab::new(),
            pending_by_key: HashMap::default(),
            queue: VecDeque::new(),
            stats: ScanStats::default(),
            details: details.then(Details::default),
            held: Vec::new(),
            retry: VecDeque::new(),
            pass: None,
        };
        let mut targets = targets.fuse();
        let window = self.config.concurrency.max(1) * self.client.resolvers().len().max(1);
        let mut in_flight = 0usize;
        let mut batch = Vec::with_capacity(512);
        loop {
            if stop.state() >= ABORT {
                break;
            }
            while in_flight < window {
                let (name, rtype, tag) = match run.queue.pop_front() {
                    Some(q) => q,
                    // Draining: started addresses finish, no new one starts.
                    None if stop.state() >= DRAIN => break,
                    None => {
                        let next = match &mut run.walk {
                            Some(w) => w.next_start(run.stats.queries),
                            None => targets.next().map(|(seq, ip)| Start::Address { seq, ip }),
                        };
                        match next {
                            Some(Start::Address { seq, ip }) => {
                                let job = run.new_job(seq, ip, None);
                                (reverse_name(ip), RecordType::PTR, job as u64)
                            }
                            Some(Start::Node { id, name }) => {
                                (name, RecordType::PTR, NODE | id as u64)
                            }
                            None => match run.retry.pop_front() {
                                Some(held) => {
                                    let ip = held.row.ip;
                                    let job = run.new_job(held.seq, ip, Some(held));
                                    (reverse_name(ip), RecordType::PTR, job as u64)
                                }
                                None => break,
                            },
                        }
                    }
                };
                if let Some(limiter) = &self.limiter {
                    limiter.until_ready().await;
                }
                tx.submit(name, rtype, tag)?;
                in_flight += 1;
                run.stats.queries += 1;
            }
            if in_flight == 0 {
                // Everything else is done: the final pass looks up the `temperror` rows
                // again (a drained run writes them as they are).
                if !run.held.is_empty() && stop.state() < DRAIN {
                    run.retry.extend(run.held.drain(..));
                    run.pass.get_or_insert((0, 0));
                    continue;
                }
                break;
            }
            batch.clear();
            tokio::select! {
                n = rx.recv_many(&mut batch, 512) => if n == 0 {
                    return Err(ScanError::Dns(ptraudit_dns::Error::Closed));
                },
                () = stop.changed() => continue,
            }
            for (tag, outcome) in batch.drain(..) {
                in_flight -= 1;
                if let Some((replies, _)) = &mut run.pass
                    && outcome.status != Status::Timeout
                {
                    *replies += 1;
                }
                if tag & FORWARD != 0 {
                    run.forward_done((tag & !FORWARD) as usize, outcome)?;
                } else if tag & NODE != 0 {
                    run.node_done((tag & !NODE) as usize, outcome);
                } else if tag & BL != 0 {
                    let tag = tag & !BL;
                    run.bl_done((tag >> 8) as usize, (tag & 0xff) as usize, outcome)?;
                } else if tag & PROBE != 0 {
                    if let Some(w) = &mut run.walk {
                        w.probe_done((tag & !PROBE) as usize, outcome);
                    }
                } else {
                    run.ptr_done(tag as usize, outcome)?;
                }
            }
            if let Some(w) = &mut run.walk {
                w.emit(run.sink, &mut run.stats, false)
                    .map_err(ScanError::Sink)?;
            }
            progress(&Progress {
                done: run.walk.as_ref().map_or(run.stats.addresses, Walker::done),
                total,
                queries: run.stats.queries,
                errors: run.stats.temperror,
                cache_hits: run.stats.cache_hits,
            });
        }
        if stop.state() < DRAIN {
            // Nothing is left here after a completed pass; kept so that no row can be
            // lost if that ever changes. A stopped run leaves its held rows unwritten and
            // their positions not done: `--resume` looks them up again.
            let rest: Vec<Held> = run.held.drain(..).chain(run.retry.drain(..)).collect();
            for held in rest {
                run.write(held.seq, held.row)?;
            }
        }
        run.stats.interrupted = stop.state() >= DRAIN;
        run.stats.dnsbl_disabled = self.lists.iter().filter(|l| l.is_disabled()).count() as u64;
        let summary = match run.walk.take() {
            Some(mut w) => {
                // Interrupted: only complete units are written (a resume redoes the rest).
                let end = !run.stats.interrupted;
                w.emit(run.sink, &mut run.stats, end)
                    .map_err(ScanError::Sink)?;
                Some(w.summary)
            }
            None => None,
        };
        run.sink.finish().map_err(ScanError::Sink)?;
        Ok((run.stats, run.details, summary))
    }
}

const DRAIN: u8 = 1;
const ABORT: u8 = 2;

/// Stops a running scan from another task (a signal handler): see
/// [`Scanner::run_until`].
#[derive(Debug, Default)]
pub struct Stop {
    state: std::sync::atomic::AtomicU8,
    notify: tokio::sync::Notify,
}

impl Stop {
    /// Start no new address; finish those in flight.
    pub fn drain(&self) {
        self.raise(DRAIN);
    }

    /// End now; rows not yet complete are not written.
    pub fn abort(&self) {
        self.raise(ABORT);
    }

    /// Drain on the first call, abort on the second (what a second Ctrl-C means).
    pub fn escalate(&self) {
        let next = if self.state() == 0 { DRAIN } else { ABORT };
        self.raise(next);
    }

    fn raise(&self, to: u8) {
        self.state
            .fetch_max(to, std::sync::atomic::Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    fn state(&self) -> u8 {
        self.state.load(std::sync::atomic::Ordering::SeqCst)
    }

    async fn changed(&self) {
        self.notify.notified().await;
    }
}

impl<S: Sink> Run<'_, S> {
    /// Starts an address; `retry` is its held row when this is the final pass.
    fn new_job(&mut self, seq: u64, ip: IpAddr, retry: Option<Held>) -> usize {
        let lists = &self.scanner.lists;
        let retried = retry.is_some();
        let (answers, attempts) = match retry {
            Some(h) => (Some(h.answers), h.row.attempts),
            None => (None, 0),
        };
        let id = self.jobs.insert(Job {
            seq,
            ip,
            chain: Vec::new(),
            ptr: None,
            names: Vec::new(),
            texts: Vec::new(),
            forward: Vec::new(),
            waiting: 0,
            attempts,
            bl: vec![None; lists.len()],
            bl_waiting: 0,
            verdict: None,
            retried,
            uncertain: false,
        });
        if let Some(answers) = answers {
            // The lists answered the first time (or timed out: a list is asked once).
            self.jobs[id].bl = answers.into_iter().map(Some).collect();
            return id;
        }
        for (i, state) in lists.iter().enumerate() {
            let name = state.list.query_name(ip);
            match name {
                Some(name) if !state.is_disabled() => {
                    state.sent();
                    self.jobs[id].bl_waiting += 1;
                    self.queue
                        .push_back((name, RecordType::A, BL | (id as u64) << 8 | i as u64));
                }
                _ => {
                    state.record(ip, &DnsblAnswer::Disabled);
                    self.jobs[id].bl[i] = Some(DnsblAnswer::Disabled);
                }
            }
        }
        id
    }

    fn bl_done(&mut self, id: usize, list: usize, outcome: Outcome) -> Result<(), ScanError> {
        let Some(job) = self.jobs.get_mut(id) else {
            return Ok(());
        };
        let (Some(slot), Some(state)) = (job.bl.get_mut(list), self.scanner.lists.get(list)) else {
            return Ok(());
        };
        let answer = DnsblAnswer::from_outcome(&outcome);
        state.record(job.ip, &answer);
        *slot = Some(answer);
        job.attempts += u32::from(outcome.attempts);
        job.bl_waiting -= 1;
        if job.bl_waiting == 0 && job.verdict.is_some() {
            return self.complete(id);
        }
        Ok(())
    }

    fn node_done(&mut self, id: usize, outcome: Outcome) {
        if let Some(w) = &mut self.walk
            && let Some(probe) = w.node_done(id, outcome)
        {
            self.queue
                .push_front((probe, RecordType::PTR, PROBE | id as u64));
        }
    }

    fn ptr_done(&mut self, id: usize, outcome: Outcome) -> Result<(), ScanError> {
        let max_cname = self.scanner.config.max_cname;
        let Some(job) = self.jobs.get_mut(id) else {
            return Ok(());
        };
        job.attempts += u32::from(outcome.attempts);
        let mut looped = false;
        for target in outcome.cname_chain() {
            if job.chain.contains(target) || job.chain.len() >= max_cname {
                looped = true;
                break;
            }
            job.chain.push(target.clone());
        }
        let next = match outcome.status {
            Status::NoData if !looped => outcome.unresolved_cname().cloned(),
            _ => None,
        };
        let status = outcome.status;
        if status == Status::Answer {
            for n in outcome.ptr_names() {
                let text = name_to_text(n);
                if !job.texts.contains(&text) {
                    job.texts.push(text);
                    job.names.push(n.clone());
                }
            }
        }
        job.ptr = Some(outcome);
        if let Some(target) = next {
            // RFC 2317: the reverse name is an alias; ask for the PTR at its target.
            self.queue.push_front((target, RecordType::PTR, id as u64));
            return Ok(());
        }
        let reason = match status {
            Status::Answer => return self.start_forward(id),
            _ if looped => FcrdnsReason::PtrCnameLoop,
            other => FcrdnsReason::of_ptr(other),
        };
        let verdict = if status.is_transient() || matches!(status, Status::Rcode(_)) {
            Fcrdns::TempError
        } else {
            Fcrdns::NoPtr
        };
        self.finish(id, verdict, Some(reason), None)
    }

    fn start_forward(&mut self, id: usize) -> Result<(), ScanError> {
        let ip = self.jobs[id].ip;
        let rtypes = self.scanner.rtypes(ip);
        let job = &mut self.jobs[id];
        // Taken out for the loop (which borrows self) and put back after it.
        let mut names = std::mem::take(&mut job.names);
        let mut texts = std::mem::take(&mut job.texts);
        if texts.len() > 1 {
            // Sorted by text, so `ptr_all`, the forward slots and the chosen `ptr` do
            // not depend on the RRset order the server (or a rotating resolver) chose.
            // The texts are distinct (`ptr_done` dedups them).
            let mut pairs: Vec<(String, Name)> = texts.into_iter().zip(names).collect();
            pairs.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            (texts, names) = pairs.into_iter().unzip();
        }
        let mut slots = vec![None; names.len() * rtypes.len()];
        let mut waiting = 0;
        for (i, (name, text)) in names.iter().zip(&texts).enumerate() {
            let text: Arc<str> = Arc::from(text.as_str());
            for (k, &rtype) in rtypes.iter().enumerate() {
                let slot = i * rtypes.len() + k;
                let key: Key = (Arc::clone(&text), u16::from(rtype));
                if let Some(hit) = self.scanner.cache.get(&key) {
                    slots[slot] = Some(hit);
                    self.stats.cache_hits += 1;
                    continue;
                }
                waiting += 1;
                if let Some(&pid) = self.pending_by_key.get(&key) {
                    // Another address asked already: wait for the same answer.
                    if let Some(p) = self.pending.get_mut(pid) {
                        p.waiters.push((id, slot));
                    }
                    continue;
                }
                let pid = self.pending.insert(PendingForward {
                    key: key.clone(),
                    waiters: vec![(id, slot)],
                });
                self.pending_by_key.insert(key, pid);
                self.queue
                    .push_front((name.clone(), rtype, FORWARD | pid as u64));
            }
        }
        let job = &mut self.jobs[id];
        job.names = names;
        job.texts = texts;
        job.forward = slots;
        job.waiting = waiting;
        if waiting == 0 {
            return self.verdict(id);
        }
        Ok(())
    }

    fn forward_done(&mut self, pid: usize, outcome: Outcome) -> Result<(), ScanError> {
        let Some(p) = self.pending.try_remove(pid) else {
            return Ok(());
        };
        self.pending_by_key.remove(&p.key);
        let answer = Arc::new(Forward {
            status: outcome.status,
            addrs: outcome.addrs().collect(),
            via_cname: outcome.cname_chain().next().is_some(),
        });
        if !outcome.status.is_transient() && !matches!(outcome.status, Status::Rcode(_)) {
            self.scanner.cache.insert(
                p.key,
                Arc::clone(&answer),
                self.scanner.config.cache_capacity,
            );
        }
        let mut charged = false;
        for (job_id, slot) in p.waiters {
            let Some(job) = self.jobs.get_mut(job_id) else {
                continue;
            };
            if !charged {
                // The attempts are spent once, by the address that asked first.
                job.attempts += u32::from(outcome.attempts);
                charged = true;
            }
            job.forward[slot] = Some(Arc::clone(&answer));
            job.waiting -= 1;
            if job.waiting == 0 {
                self.verdict(job_id)?;
            }
        }
        Ok(())
    }

    /// FCrDNS over every PTR name: pass if any name's addresses of the target's family
    /// contain it. The chosen name is the first confirmed one in `names` order (sorted
    /// in `start_forward`), else the first name. A pass is flagged
    /// `multi-ptr-unconfirmed` when another name's answer definitely lacks the address
    /// (an answer without it, NODATA, NXDOMAIN) — what a mail server that got that name
    /// first from `getnameinfo` sees as "unknown"; a failed lookup (SERVFAIL, timeout,
    /// other RCODEs) of the other name is no evidence and raises no flag. The flag
    /// outranks `ptr-target-cname` (a row has one reason; the stale name is the worse
    /// problem, and the one that makes receivers refuse the address).
    fn verdict(&mut self, id: usize) -> Result<(), ScanError> {
        let job = &self.jobs[id];
        let rtypes = self.scanner.rtypes(job.ip);
        let matching = match job.ip {
            IpAddr::V4(_) => RecordType::A,
            IpAddr::V6(_) => RecordType::AAAA,
        };
        let mut confirmed: Option<(usize, bool)> = None;
        let mut transient: Option<Status> = None;
        let (mut mismatch, mut nodata, mut nxdomain) = (false, false, false);
        // Some name definitely does not lead back.
        let mut refuted = false;
        for i in 0..job.names.len() {
            for (k, &rtype) in rtypes.iter().enumerate() {
                let Some(f) = &job.forward[i * rtypes.len() + k] else {
                    continue;
                };
                if rtype != matching {
                    continue;
                }
                let contains = f.addrs.contains(&job.ip);
                if contains {
                    confirmed = confirmed.or(Some((i, f.via_cname)));
                }
                match f.status {
                    Status::Answer => mismatch = true,
                    Status::NoData => nodata = true,
                    Status::NxDomain => nxdomain = true,
                    other => transient = transient.or(Some(other)),
                }
                refuted |= !contains
                    && matches!(f.status, Status::Answer | Status::NoData | Status::NxDomain);
            }
        }
        let (verdict, reason) = match (confirmed, transient) {
            (Some(_), _) if refuted => (Fcrdns::Pass, Some(FcrdnsReason::MultiPtrUnconfirmed)),
            (Some((_, via_cname)), _) => (
                Fcrdns::Pass,
                via_cname.then_some(FcrdnsReason::PtrTargetCname),
            ),
            (None, Some(status)) => (
                Fcrdns::TempError,
                Some(FcrdnsReason::of_forward_error(status)),
            ),
            (None, None) => {
                let r = if mismatch {
                    FcrdnsReason::ForwardMismatch
                } else if nodata {
                    FcrdnsReason::ForwardNodata
                } else if nxdomain {
                    FcrdnsReason::ForwardNxdomain
                } else {
                    FcrdnsReason::ForwardNone
                };
                (Fcrdns::Fail, Some(r))
            }
        };
        let chosen = confirmed.map_or(0, |(i, _)| i);
        // A pass whose other name's forward lookup failed: whether that name leads back
        // (and so whether the flag applies) is unknown — the final pass asks again.
        self.jobs[id].uncertain = confirmed.is_some() && !refuted && transient.is_some();
        self.finish(id, verdict, reason, Some(chosen))
    }

    /// The PTR side is decided; the row follows once every DNSBL has answered.
    fn finish(
        &mut self,
        id: usize,
        fcrdns: Fcrdns,
        fcrdns_reason: Option<FcrdnsReason>,
        chosen: Option<usize>,
    ) -> Result<(), ScanError> {
        let job = &mut self.jobs[id];
        job.verdict = Some((fcrdns, fcrdns_reason, chosen));
        if job.bl_waiting == 0 {
            return self.complete(id);
        }
        Ok(())
    }

    fn complete(&mut self, id: usize) -> Result<(), ScanError> {
        let job = self.jobs.remove(id);
        let Some((fcrdns, fcrdns_reason, chosen)) = job.verdict else {
            return Ok(());
        };
        let answers: Vec<DnsblAnswer> = job
            .bl
            .into_iter()
            .map(|a| a.unwrap_or(DnsblAnswer::Disabled))
            .collect();
        let (dnsbl, dnsbl_listed) = crate::dnsbl::cells(&self.scanner.lists, &answers);
        let config = &self.scanner.config;
        let ptr_all = job.texts;
        let ptr = chosen.and_then(|i| ptr_all.get(i).cloned());
        let mut forward_addrs: Vec<IpAddr> = job
            .forward
            .iter()
            .flatten()
            .flat_map(|f| f.addrs.iter().copied())
            .collect();
        forward_addrs.sort_unstable();
        forward_addrs.dedup();
        let verdict = ptr
            .as_ref()
            .map(|name| ptraudit_classify::classify_with(&config.rules, Some(job.ip), name));
        let generic = verdict.as_ref().map(|v| v.generic);
        let generic_reasons = match (verdict, &mut self.details) {
            // Kept for `check`, which shows each reason's message too.
            (Some(v), Some(details)) => {
                let codes = v.reasons.iter().map(|r| r.code.clone()).collect();
                details.verdict = Some(v);
                codes
            }
            // The codes move into the row: built-in ones are static, so most rows
            // allocate nothing for them.
            (Some(v), None) => v.reasons.into_iter().map(|r| r.code).collect(),
            (None, _) => Vec::new(),
        };
        let ptr_outcome = job.ptr.as_ref();
        if let Some(details) = &mut self.details {
            let rtypes = self.scanner.rtypes(job.ip);
            details.forward = job
                .forward
                .iter()
                .enumerate()
                .filter_map(|(slot, f)| {
                    let f = f.as_ref()?;
                    Some(ForwardAnswer {
                        name: ptr_all[slot / rtypes.len()].clone(),
                        rtype: rtypes[slot % rtypes.len()],
                        status: f.status,
                        addrs: f.addrs.clone(),
                        via_cname: f.via_cname,
                    })
                })
                .collect();
        }
        let row = Row {
            ip: job.ip,
            prefix: config.prefix.of(job.ip),
            ptr_status: ptr_outcome.map_or(Status::Timeout, |o| o.status),
            ptr,
            ptr_all,
            cname_chain: job.chain.iter().map(name_to_text).collect(),
            forward_addrs,
            fcrdns,
            fcrdns_reason,
            generic,
            generic_reasons,
            resolver: ptr_outcome.and_then(|o| o.resolver),
            attempts: job.attempts,
            rtt_ms: ptr_outcome
                .and_then(|o| o.rtt)
                .map(|d| (d + Duration::from_micros(500)).as_millis() as u64),
            scanned_at: SystemTime::now(),
            dnsbl,
            dnsbl_listed,
        };
        let answers_kept = match &mut self.details {
            Some(details) => {
                details.dnsbl = answers.clone();
                answers
            }
            None => answers,
        };
        if let Some(w) = &mut self.walk {
            // A walk writes rows unit by unit (and counts them then).
            w.address_done(job.seq, row);
            return Ok(());
        }
        let temperror = fcrdns == Fcrdns::TempError;
        let unsure = temperror || job.uncertain;
        if job.retried {
            self.stats.retried += 1;
            if !unsure {
                self.stats.recovered += 1;
            } else if let Some((replies, failed)) = &mut self.pass {
                *failed += 1;
                if *replies == 0 && *failed >= ABANDON_AFTER {
                    // Nothing answers any more: write the rest as they are.
                    self.stats.retry_abandoned = true;
                    let rest: Vec<Held> = self.retry.drain(..).collect();
                    for held in rest {
                        self.write(held.seq, held.row)?;
                    }
                }
            }
        } else if unsure && self.held.len() < HOLD_CAP && !self.stats.retry_abandoned {
            // Held, not written: the final pass replaces it (never a second row).
            self.held.push(Held {
                seq: job.seq,
                row,
                answers: answers_kept,
            });
            return Ok(());
        }
        self.write(job.seq, row)
    }

    /// Writes a finished row and marks its position done.
    fn write(&mut self, seq: u64, row: Row) -> Result<(), ScanError> {
        self.stats.addresses += 1;
        match row.fcrdns {
            Fcrdns::Pass => self.stats.pass += 1,
            Fcrdns::Fail => self.stats.fail += 1,
            Fcrdns::NoPtr => self.stats.no_ptr += 1,
            Fcrdns::TempError => self.stats.temperror += 1,
        }
        self.sink.row_owned(seq, row).map_err(ScanError::Sink)?;
        self.sink.done(seq, seq).map_err(ScanError::Sink)
    }
}
