//! The DNSBL side of the engine: each list's test entries checked before a run
//! ([`ListProblem`]), every list asked about every address as it starts, and the answers
//! gathered into the address's job.

use std::net::IpAddr;
use std::sync::Arc;

use ptraudit_dns::{Outcome, RecordType, Status};

use super::run::{BL, Run};
use super::{ScanError, Scanner};
use crate::dnsbl::{DnsblAnswer, ListState};
use crate::row::Sink;

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

impl Scanner {
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
}

impl<S: Sink> Run<'_, S> {
    /// Asks every list about job `id`'s address; a list switched off (or without a name
    /// for the address) answers `Disabled` at once.
    pub(super) fn ask_lists(&mut self, id: usize, ip: IpAddr) {
        let lists = &self.scanner.lists;
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
    }

    pub(super) fn bl_done(
        &mut self,
        id: usize,
        list: usize,
        outcome: Outcome,
    ) -> Result<(), ScanError> {
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
}
