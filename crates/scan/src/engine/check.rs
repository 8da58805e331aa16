//! [`Scanner::check`]: one address through the same stages, cache and verdict as a
//! run, with what a person checking it wants beyond the row — each forward answer, the
//! classifier's reasons with their messages, each list's answer.

use std::net::IpAddr;

use ptraudit_dns::{RecordType, Status};

use super::{ScanError, Scanner, Stop};
use crate::dnsbl::DnsblAnswer;
use crate::row::Row;

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

/// What [`Scanner::check`] keeps beyond the row.
#[derive(Debug, Default)]
pub(super) struct Details {
    pub(super) forward: Vec<ForwardAnswer>,
    pub(super) verdict: Option<ptraudit_classify::Verdict>,
    pub(super) dnsbl: Vec<DnsblAnswer>,
}

impl Scanner {
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
}
