//! The PTR stage: an address's PTR answer read into its names, the RFC 2317 CNAME
//! chase (a reverse name that is an alias is asked again at its target, loops and long
//! chains cut), and the row's verdict when there is no name to go forward with.

use ptraudit_dns::{Outcome, RecordType, Status, name_to_text};

use super::ScanError;
use super::run::Run;
use crate::row::{Fcrdns, FcrdnsReason, Sink};

impl<S: Sink> Run<'_, S> {
    pub(super) fn ptr_done(&mut self, id: usize, outcome: Outcome) -> Result<(), ScanError> {
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
}
