//! The loop every run goes through — brute force or walk — and its state: a bounded
//! window of queries (`concurrency` per resolver, under the optional rate limit), fed
//! with the targets' PTR questions (or a walk's node questions, then the final pass's
//! addresses), each reply dispatched by its tag to the stage that asked.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Arc;

use ptraudit_dns::{Name, Outcome, RecordType, Status, reverse_name};
use slab::Slab;

use super::check::Details;
use super::final_pass::Held;
use super::forward::{Forward, Key, PendingForward};
use super::stop::{ABORT, DRAIN};
use super::{Progress, ScanError, ScanStats, Scanner, Stop};
use crate::dnsbl::DnsblAnswer;
use crate::row::{Fcrdns, FcrdnsReason, Sink};
use crate::walk::{Start, WalkSummary, Walker};

/// Tag bit marking a forward query (otherwise the tag is a job's PTR query).
pub(super) const FORWARD: u64 = 1 << 63;
/// Tag bit marking a walk's node question.
const NODE: u64 = 1 << 62;
/// Tag bit marking a walk's wildcard probe.
const PROBE: u64 = 1 << 61;
/// Tag bit marking a DNSBL lookup: the job in bits 8.., the list in bits 0..8.
pub(super) const BL: u64 = 1 << 60;

/// One address in flight, from its PTR question to its row.
pub(super) struct Job {
    /// The caller's number for this target.
    pub(super) seq: u64,
    pub(super) ip: IpAddr,
    pub(super) chain: Vec<Name>,
    pub(super) ptr: Option<Outcome>,
    pub(super) names: Vec<Name>,
    /// `names` as text (lowercase, no trailing dot): cache keys and the row's `ptr_all`.
    pub(super) texts: Vec<String>,
    /// One slot per (name, record type), in name order.
    pub(super) forward: Vec<Option<Arc<Forward>>>,
    pub(super) waiting: usize,
    pub(super) attempts: u32,
    /// One answer per DNSBL (`None` while asked).
    pub(super) bl: Vec<Option<DnsblAnswer>>,
    pub(super) bl_waiting: usize,
    /// The PTR side's verdict, kept while DNSBL answers are still out.
    pub(super) verdict: Option<(Fcrdns, Option<FcrdnsReason>, Option<usize>)>,
    /// This is the final pass's second look at the address.
    pub(super) retried: bool,
    /// A pass, but another PTR name's forward lookup failed (see `Run::verdict`).
    pub(super) uncertain: bool,
}

/// The state of one run: the addresses in flight, the forward lookups pending, the
/// queries waiting for room in the window, and what the final pass holds.
pub(super) struct Run<'a, S: Sink> {
    pub(super) scanner: &'a Scanner,
    pub(super) sink: &'a mut S,
    /// A walk's state; `None` for a brute-force run.
    pub(super) walk: Option<Walker<'a>>,
    pub(super) jobs: Slab<Job>,
    pub(super) pending: Slab<PendingForward>,
    pub(super) pending_by_key: HashMap<Key, usize, ahash::RandomState>,
    /// Queries ready to go once the window has room, started jobs first.
    pub(super) queue: VecDeque<(Name, RecordType, u64)>,
    pub(super) stats: ScanStats,
    /// For [`Scanner::check`]: the forward answers and the classifier's verdict of the
    /// last row, kept instead of dropped.
    pub(super) details: Option<Details>,
    /// `temperror` rows of the first look, not written yet (see
    /// [`HOLD_CAP`](super::final_pass::HOLD_CAP)).
    pub(super) held: Vec<Held>,
    /// The final pass's queue: held rows whose addresses are to be looked up again.
    pub(super) retry: VecDeque<Held>,
    /// The final pass has started: replies seen since, retried rows failed again.
    pub(super) pass: Option<(u64, u64)>,
}

impl Scanner {
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn run_inner<S: Sink>(
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
    pub(super) async fn run_walk<'w, S: Sink>(
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
                if stop.state() < DRAIN && run.start_final_pass() {
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
            run.write_held()?;
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
        self.ask_lists(id, ip);
        id
    }

    fn node_done(&mut self, id: usize, outcome: Outcome) {
        if let Some(w) = &mut self.walk
            && let Some(probe) = w.node_done(id, outcome)
        {
            self.queue
                .push_front((probe, RecordType::PTR, PROBE | id as u64));
        }
    }
}
