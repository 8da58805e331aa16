//! The forward stage: each PTR name's A (and AAAA) lookups, one query per distinct name
//! — shared through the forward cache across scans and through the pending lookups
//! across the addresses of one run — and the answers handed to every address waiting.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::Arc;

use dashmap::DashMap;
use ptraudit_dns::{Name, Outcome, RecordType, Status};

use super::run::{FORWARD, Run};
use super::{ForwardMode, ScanError, Scanner};
use crate::row::Sink;

/// The result of one forward lookup, shared by every address whose PTR names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Forward {
    pub(super) status: Status,
    pub(super) addrs: Vec<IpAddr>,
    pub(super) via_cname: bool,
}

/// (name, record type); the name shared (not copied) by the cache, its eviction order
/// and the pending lookups.
pub(super) type Key = (Arc<str>, u16);

/// Forward answers by (lowercase name, record type), shared across scans of one
/// [`Scanner`]. Only definite answers are cached (a timeout is not a fact about the name).
#[derive(Debug, Default)]
pub(super) struct ForwardCache {
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

pub(super) struct PendingForward {
    key: Key,
    /// (job, slot) pairs waiting for this answer.
    waiters: Vec<(usize, usize)>,
}

impl Scanner {
    /// The forward record types asked for `ip`'s PTR names, in slot order.
    pub(super) fn rtypes(&self, ip: IpAddr) -> &'static [RecordType] {
        match (self.config.forward, ip) {
            (ForwardMode::Both, _) => &[RecordType::A, RecordType::AAAA],
            (ForwardMode::Matching, IpAddr::V4(_)) => &[RecordType::A],
            (ForwardMode::Matching, IpAddr::V6(_)) => &[RecordType::AAAA],
        }
    }
}

impl<S: Sink> Run<'_, S> {
    pub(super) fn start_forward(&mut self, id: usize) -> Result<(), ScanError> {
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

    pub(super) fn forward_done(&mut self, pid: usize, outcome: Outcome) -> Result<(), ScanError> {
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
}
