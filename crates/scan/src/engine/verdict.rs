//! The verdict: FCrDNS over every PTR name once the forward answers are in, then — once
//! every DNSBL has answered too — the row itself (the chosen name, the forward
//! addresses, the generic-name verdict, the DNSBL cells), handed to the walk or to the
//! final pass's delivery.

use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use ptraudit_dns::{RecordType, Status, name_to_text};

use super::ForwardAnswer;
use super::ScanError;
use super::run::Run;
use crate::dnsbl::DnsblAnswer;
use crate::row::{Fcrdns, FcrdnsReason, Row, Sink};

impl<S: Sink> Run<'_, S> {
    /// FCrDNS over every PTR name: pass if any name's addresses of the target's family
    /// contain it. The chosen name is the first confirmed one in `names` order (sorted
    /// in `start_forward`), else the first name. A pass is flagged
    /// `multi-ptr-unconfirmed` when another name's answer definitely lacks the address
    /// (an answer without it, NODATA, NXDOMAIN) — what a mail server that got that name
    /// first from `getnameinfo` sees as "unknown"; a failed lookup (SERVFAIL, timeout,
    /// other RCODEs) of the other name is no evidence and raises no flag. The flag
    /// outranks `ptr-target-cname` (a row has one reason; the stale name is the worse
    /// problem, and the one that makes receivers refuse the address).
    pub(super) fn verdict(&mut self, id: usize) -> Result<(), ScanError> {
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
    pub(super) fn finish(
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

    /// Every answer of job `id` is in: its row, built and delivered.
    pub(super) fn complete(&mut self, id: usize) -> Result<(), ScanError> {
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
        self.deliver(job.seq, row, answers_kept, job.retried, job.uncertain)
    }
}
