//! What a run counts: [`Progress`] for the callback while it goes, [`ScanStats`] when it
//! ends, and the writer of brute-force rows, which counts each row as it goes out.

use super::ScanError;
use super::run::Run;
use crate::row::{Fcrdns, Row, Sink};

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

impl<S: Sink> Run<'_, S> {
    /// Writes a finished row and marks its position done.
    pub(super) fn write(&mut self, seq: u64, row: Row) -> Result<(), ScanError> {
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
