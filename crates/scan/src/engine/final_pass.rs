//! The final pass of a brute-force run: a `temperror` row — or a pass whose other PTR
//! name's forward lookup failed, so `multi-ptr-unconfirmed` is undecided — is held, not
//! written; once everything else is done its address is looked up again (DNSBL answers
//! reused) and the row written once, with the second result. This room holds the caps,
//! the held rows, and the decision to hold, write or give up.

use super::ScanError;
use super::run::Run;
use crate::dnsbl::DnsblAnswer;
use crate::row::{Fcrdns, Row, Sink};

/// `temperror` rows held for the final pass at most; beyond, they are written at once
/// (memory stays bounded when a resolver goes down in the middle of a large range).
pub(super) const HOLD_CAP: usize = 100_000;
/// Retried rows that end `temperror` again, with no reply seen during the pass, after
/// which the pass gives up (the resolvers are down: a run must still end promptly).
const ABANDON_AFTER: u64 = 32;

/// A `temperror` row kept back for the final pass, with what its retry reuses.
pub(super) struct Held {
    pub(super) seq: u64,
    pub(super) row: Row,
    /// The DNSBL answers, kept: a list is asked once per address.
    pub(super) answers: Vec<DnsblAnswer>,
}

impl<S: Sink> Run<'_, S> {
    /// A brute-force row is complete: a first look that is unsure is held for the final
    /// pass (while there is room); anything else is written, and a second look is counted
    /// (retried, recovered, or one more failure towards giving the pass up).
    pub(super) fn deliver(
        &mut self,
        seq: u64,
        row: Row,
        answers: Vec<DnsblAnswer>,
        retried: bool,
        uncertain: bool,
    ) -> Result<(), ScanError> {
        let temperror = row.fcrdns == Fcrdns::TempError;
        let unsure = temperror || uncertain;
        if retried {
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
            self.held.push(Held { seq, row, answers });
            return Ok(());
        }
        self.write(seq, row)
    }

    /// Everything else is done: the held rows are queued to be looked up again. False
    /// when none is held.
    pub(super) fn start_final_pass(&mut self) -> bool {
        if self.held.is_empty() {
            return false;
        }
        self.retry.extend(self.held.drain(..));
        self.pass.get_or_insert((0, 0));
        true
    }

    /// Writes every row still held or queued for the final pass, as it is.
    pub(super) fn write_held(&mut self) -> Result<(), ScanError> {
        let rest: Vec<Held> = self.held.drain(..).chain(self.retry.drain(..)).collect();
        for held in rest {
            self.write(held.seq, held.row)?;
        }
        Ok(())
    }
}
