//! The result row (one per scanned address), its typed values, and the sink that
//! receives rows. Text exists only where rows are written or read (`ptraudit-report`);
//! here every cell is a value.

use std::borrow::Cow;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::time::SystemTime;

pub use ptraudit_dns::Status;

/// A value that is not one of a typed column's spellings (`fcrdns`, `fcrdns_reason`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {column} value {value:?}")]
#[non_exhaustive]
pub struct UnknownValue {
    /// The column.
    pub column: &'static str,
    /// The text as found.
    pub value: String,
}

/// The FCrDNS verdict, in the spirit of RFC 8601's `iprev`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fcrdns {
    /// A PTR name's forward addresses contain the scanned address.
    Pass,
    /// PTR names exist but none leads back (`fcrdns_reason` says why).
    Fail,
    /// No PTR record (NXDOMAIN or NODATA).
    NoPtr,
    /// A lookup that decides the verdict ended in SERVFAIL, REFUSED or TIMEOUT.
    TempError,
}

impl Fcrdns {
    /// Every verdict.
    pub const ALL: [Fcrdns; 4] = [Fcrdns::Pass, Fcrdns::Fail, Fcrdns::NoPtr, Fcrdns::TempError];

    /// `pass`, `fail`, `no-ptr` or `temperror`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Fcrdns::Pass => "pass",
            Fcrdns::Fail => "fail",
            Fcrdns::NoPtr => "no-ptr",
            Fcrdns::TempError => "temperror",
        }
    }
}

impl FromStr for Fcrdns {
    type Err = UnknownValue;

    fn from_str(s: &str) -> Result<Self, UnknownValue> {
        Fcrdns::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnknownValue {
                column: "fcrdns",
                value: s.to_string(),
            })
    }
}

impl fmt::Display for Fcrdns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a row has its verdict: the `fcrdns_reason` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum FcrdnsReason {
    /// The reverse name does not exist.
    PtrNxdomain,
    /// The reverse name exists but holds no PTR.
    PtrNodata,
    /// The RFC 2317 CNAME chain loops or is longer than allowed.
    PtrCnameLoop,
    /// The PTR lookup ended in SERVFAIL.
    PtrServfail,
    /// The PTR lookup was REFUSED.
    PtrRefused,
    /// The PTR lookup timed out.
    PtrTimeout,
    /// The PTR lookup ended in another RCODE.
    PtrRcode,
    /// A PTR name resolves, but not to the address.
    ForwardMismatch,
    /// A PTR name exists but has no address of the family.
    ForwardNodata,
    /// A PTR name does not exist.
    ForwardNxdomain,
    /// No forward answer of the address's family was asked for.
    ForwardNone,
    /// A forward lookup ended in SERVFAIL.
    ForwardServfail,
    /// A forward lookup was REFUSED.
    ForwardRefused,
    /// A forward lookup timed out.
    ForwardTimeout,
    /// A forward lookup ended in FORMERR.
    ForwardFormerr,
    /// A forward lookup ended in NOTIMP (broken servers answer it to AAAA queries).
    ForwardNotimp,
    /// A forward lookup ended in YXDOMAIN.
    ForwardYxdomain,
    /// A forward lookup ended in YXRRSET.
    ForwardYxrrset,
    /// A forward lookup ended in NXRRSET.
    ForwardNxrrset,
    /// A forward lookup ended in NOTAUTH.
    ForwardNotauth,
    /// A forward lookup ended in NOTZONE.
    ForwardNotzone,
    /// A forward lookup ended in BADVERS.
    ForwardBadvers,
    /// A forward lookup ended in an RCODE without a mnemonic.
    ForwardRcode,
    /// A pass, but the confirmed name is an alias (RFC 1912 §2.1).
    PtrTargetCname,
    /// A pass, but another of the address's PTR names definitely does not lead back
    /// (its forward answer of the address's family lacks the address, is empty, or the
    /// name does not exist). A mail server asks `getnameinfo`, which returns one name —
    /// the first of an order resolvers rotate — so receivers see the address as
    /// "unknown" part of the time. A forward lookup of the other name that failed
    /// (SERVFAIL, timeout, …) decides nothing and raises no flag. Takes precedence over
    /// [`FcrdnsReason::PtrTargetCname`].
    MultiPtrUnconfirmed,
    /// A walk's row for a whole node (its `prefix`): a wildcard answers every name
    /// below it, so the node is reported and not enumerated.
    WalkWildcard,
    /// A walk's row for a whole node: a referral to servers that were not asked (a
    /// delegation the server does not serve; lame when nobody does).
    WalkReferral,
    /// A walk's row for a whole node that failed after every retry (`ptr_status` says
    /// how): nothing below it was explored; a resumed scan asks again.
    WalkUnexplored,
    /// A walk's row for a whole node not asked because `--max-queries` was spent.
    WalkBudget,
}

impl FcrdnsReason {
    /// Every reason.
    pub const ALL: [FcrdnsReason; 29] = [
        FcrdnsReason::PtrNxdomain,
        FcrdnsReason::PtrNodata,
        FcrdnsReason::PtrCnameLoop,
        FcrdnsReason::PtrServfail,
        FcrdnsReason::PtrRefused,
        FcrdnsReason::PtrTimeout,
        FcrdnsReason::PtrRcode,
        FcrdnsReason::ForwardMismatch,
        FcrdnsReason::ForwardNodata,
        FcrdnsReason::ForwardNxdomain,
        FcrdnsReason::ForwardNone,
        FcrdnsReason::ForwardServfail,
        FcrdnsReason::ForwardRefused,
        FcrdnsReason::ForwardTimeout,
        FcrdnsReason::ForwardFormerr,
        FcrdnsReason::ForwardNotimp,
        FcrdnsReason::ForwardYxdomain,
        FcrdnsReason::ForwardYxrrset,
        FcrdnsReason::ForwardNxrrset,
        FcrdnsReason::ForwardNotauth,
        FcrdnsReason::ForwardNotzone,
        FcrdnsReason::ForwardBadvers,
        FcrdnsReason::ForwardRcode,
        FcrdnsReason::PtrTargetCname,
        FcrdnsReason::MultiPtrUnconfirmed,
        FcrdnsReason::WalkWildcard,
        FcrdnsReason::WalkReferral,
        FcrdnsReason::WalkUnexplored,
        FcrdnsReason::WalkBudget,
    ];

    /// The column's spelling: `ptr-nxdomain`, `forward-mismatch`, …
    pub fn as_str(&self) -> &'static str {
        use FcrdnsReason::*;
        match self {
            PtrNxdomain => "ptr-nxdomain",
            PtrNodata => "ptr-nodata",
            PtrCnameLoop => "ptr-cname-loop",
            PtrServfail => "ptr-servfail",
            PtrRefused => "ptr-refused",
            PtrTimeout => "ptr-timeout",
            PtrRcode => "ptr-rcode",
            ForwardMismatch => "forward-mismatch",
            ForwardNodata => "forward-nodata",
            ForwardNxdomain => "forward-nxdomain",
            ForwardNone => "forward-none",
            ForwardServfail => "forward-servfail",
            ForwardRefused => "forward-refused",
            ForwardTimeout => "forward-timeout",
            ForwardFormerr => "forward-formerr",
            ForwardNotimp => "forward-notimp",
            ForwardYxdomain => "forward-yxdomain",
            ForwardYxrrset => "forward-yxrrset",
            ForwardNxrrset => "forward-nxrrset",
            ForwardNotauth => "forward-notauth",
            ForwardNotzone => "forward-notzone",
            ForwardBadvers => "forward-badvers",
            ForwardRcode => "forward-rcode",
            PtrTargetCname => "ptr-target-cname",
            MultiPtrUnconfirmed => "multi-ptr-unconfirmed",
            WalkWildcard => "walk-wildcard",
            WalkReferral => "walk-referral",
            WalkUnexplored => "walk-unexplored",
            WalkBudget => "walk-budget",
        }
    }

    /// The reason a PTR lookup that ended in `status` (not an answer) gives.
    pub(crate) fn of_ptr(status: Status) -> FcrdnsReason {
        match status {
            Status::NxDomain => FcrdnsReason::PtrNxdomain,
            Status::NoData => FcrdnsReason::PtrNodata,
            Status::ServFail => FcrdnsReason::PtrServfail,
            Status::Refused => FcrdnsReason::PtrRefused,
            Status::Timeout => FcrdnsReason::PtrTimeout,
            _ => FcrdnsReason::PtrRcode,
        }
    }

    /// The reason a forward lookup that failed with `status` (an error) gives:
    /// `forward-` and the status's name in lower case.
    pub(crate) fn of_forward_error(status: Status) -> FcrdnsReason {
        match status.as_str() {
            "SERVFAIL" => FcrdnsReason::ForwardServfail,
            "REFUSED" => FcrdnsReason::ForwardRefused,
            "TIMEOUT" => FcrdnsReason::ForwardTimeout,
            "FORMERR" => FcrdnsReason::ForwardFormerr,
            "NOTIMP" => FcrdnsReason::ForwardNotimp,
            "YXDOMAIN" => FcrdnsReason::ForwardYxdomain,
            "YXRRSET" => FcrdnsReason::ForwardYxrrset,
            "NXRRSET" => FcrdnsReason::ForwardNxrrset,
            "NOTAUTH" => FcrdnsReason::ForwardNotauth,
            "NOTZONE" => FcrdnsReason::ForwardNotzone,
            "BADVERS" => FcrdnsReason::ForwardBadvers,
            _ => FcrdnsReason::ForwardRcode,
        }
    }
}

impl FromStr for FcrdnsReason {
    type Err = UnknownValue;

    fn from_str(s: &str) -> Result<Self, UnknownValue> {
        FcrdnsReason::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnknownValue {
                column: "fcrdns_reason",
                value: s.to_string(),
            })
    }
}

impl fmt::Display for FcrdnsReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A prefix length out of range, or a network with host bits set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PrefixError {
    /// The length exceeds the family's bits.
    #[error("prefix length {len} is out of range for {family} (0..={max})")]
    Length {
        /// The length given.
        len: u32,
        /// `IPv4` or `IPv6`.
        family: &'static str,
        /// 32 or 128.
        max: u8,
    },
    /// Not `ADDR/LEN`.
    #[error("{0:?} is not a prefix (ADDR/LEN)")]
    Syntax(String),
    /// Host bits set.
    #[error("{value:?} has host bits set: the network is {network}")]
    HostBits {
        /// The text as given.
        value: String,
        /// The network it probably means.
        network: Prefix,
    },
}

/// A network: an address with its host bits clear, and a length (`198.18.5.0/24`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Prefix {
    network: IpAddr,
    len: u8,
}

fn max_len(ip: IpAddr) -> u8 {
    if ip.is_ipv4() { 32 } else { 128 }
}

fn family(ip: IpAddr) -> &'static str {
    if ip.is_ipv4() { "IPv4" } else { "IPv6" }
}

/// `ip` with all but its first `len` bits cleared (`len` at most the family's bits).
fn mask(ip: IpAddr, len: u8) -> IpAddr {
    match ip {
        IpAddr::V4(a) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            IpAddr::V4((u32::from(a) & mask).into())
        }
        IpAddr::V6(a) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            IpAddr::V6((u128::from(a) & mask).into())
        }
    }
}

impl Prefix {
    /// The network of `len` bits holding `ip` (host bits cleared).
    pub fn containing(ip: IpAddr, len: u8) -> Result<Prefix, PrefixError> {
        let max = max_len(ip);
        if len > max {
            return Err(PrefixError::Length {
                len: u32::from(len),
                family: family(ip),
                max,
            });
        }
        Ok(Prefix {
            network: mask(ip, len),
            len,
        })
    }

    /// Like [`Prefix::containing`], with `len` cut to the family's width.
    pub(crate) fn clamped(ip: IpAddr, len: u8) -> Prefix {
        let len = len.min(max_len(ip));
        Prefix {
            network: mask(ip, len),
            len,
        }
    }

    /// The network address.
    pub fn network(&self) -> IpAddr {
        self.network
    }

    /// The prefix length in bits.
    pub fn bits(&self) -> u8 {
        self.len
    }

    /// Whether `ip` is inside.
    pub fn contains(&self, ip: IpAddr) -> bool {
        ip.is_ipv4() == self.network.is_ipv4() && mask(ip, self.len) == self.network
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.len)
    }
}

impl FromStr for Prefix {
    type Err = PrefixError;

    /// `ADDR/LEN` with no host bits set.
    fn from_str(s: &str) -> Result<Self, PrefixError> {
        let syntax = || PrefixError::Syntax(s.to_string());
        let (addr, len) = s.trim().split_once('/').ok_or_else(syntax)?;
        let ip: IpAddr = addr.parse().map_err(|_| syntax())?;
        let len: u32 = len.parse().map_err(|_| syntax())?;
        let max = max_len(ip);
        let p = u8::try_from(len)
            .ok()
            .and_then(|l| Prefix::containing(ip, l).ok())
            .ok_or(PrefixError::Length {
                len,
                family: family(ip),
                max,
            })?;
        if p.network != ip {
            return Err(PrefixError::HostBits {
                value: s.to_string(),
                network: p,
            });
        }
        Ok(p)
    }
}

/// The summary prefix lengths (one per family) rows are grouped by: checked once, the
/// same rule for `scan` and `report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PrefixLens {
    v4: u8,
    v6: u8,
}

impl PrefixLens {
    /// /24 and /64.
    pub const DEFAULT: PrefixLens = PrefixLens { v4: 24, v6: 64 };

    /// Lengths for IPv4 (0..=32) and IPv6 (0..=128); out of range is an error naming the
    /// value.
    pub fn new(v4: u8, v6: u8) -> Result<PrefixLens, PrefixError> {
        if v4 > 32 {
            return Err(PrefixError::Length {
                len: u32::from(v4),
                family: "IPv4",
                max: 32,
            });
        }
        if v6 > 128 {
            return Err(PrefixError::Length {
                len: u32::from(v6),
                family: "IPv6",
                max: 128,
            });
        }
        Ok(PrefixLens { v4, v6 })
    }

    /// The IPv4 length.
    pub fn v4(&self) -> u8 {
        self.v4
    }

    /// The IPv6 length.
    pub fn v6(&self) -> u8 {
        self.v6
    }

    /// The prefix `ip` belongs to.
    pub fn of(&self, ip: IpAddr) -> Prefix {
        let len = if ip.is_ipv4() { self.v4 } else { self.v6 };
        // In range by construction.
        Prefix::containing(ip, len).unwrap_or(Prefix {
            network: ip,
            len: max_len(ip),
        })
    }
}

impl Default for PrefixLens {
    fn default() -> Self {
        PrefixLens::DEFAULT
    }
}

/// One scanned address. Field names are the output columns, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The address.
    pub ip: IpAddr,
    /// Its summary prefix (`198.18.5.0/24`, `2001:db8:0:1::/64`).
    pub prefix: Prefix,
    /// How the PTR lookup ended (written `NOERROR`, `NXDOMAIN`, `NODATA`, `SERVFAIL`,
    /// `REFUSED`, `TIMEOUT`, or the RCODE's name).
    pub ptr_status: Status,
    /// The first forward-confirmed name of `ptr_all`, else its first name; `None`
    /// without PTR. Independent of the order the server returned the RRset in.
    pub ptr: Option<String>,
    /// Every PTR name, sorted (byte order of the text; lowercase, no trailing dot), so
    /// that the row does not depend on the RRset order a server or resolver chose.
    pub ptr_all: Vec<String>,
    /// CNAMEs followed from the reverse name (RFC 2317), in order.
    pub cname_chain: Vec<String>,
    /// The forward addresses found for the names in `ptr_all`, ascending.
    pub forward_addrs: Vec<IpAddr>,
    /// The verdict.
    pub fcrdns: Fcrdns,
    /// Why; `None` on a plain pass.
    pub fcrdns_reason: Option<FcrdnsReason>,
    /// Whether `ptr` looks generic; `None` without PTR.
    pub generic: Option<bool>,
    /// The classifier's reason codes for `ptr` (static text for the built-in codes).
    pub generic_reasons: Vec<Cow<'static, str>>,
    /// The resolver that answered the PTR lookup.
    pub resolver: Option<SocketAddr>,
    /// UDP attempts spent on this address: its PTR lookups plus the forward lookups it
    /// started (a forward answer taken from the cache costs nothing).
    pub attempts: u32,
    /// Round-trip time of the (last) PTR lookup, in whole milliseconds.
    pub rtt_ms: Option<u64>,
    /// When the row was completed.
    pub scanned_at: SystemTime,
    /// Every DNSBL listing of the address (`--dnsbl`), by list and code.
    pub dnsbl: Vec<crate::dnsbl::Listing>,
    /// `Some(true)` when a list lists it, `Some(false)` when every list checked answered
    /// "not listed", `None` when no list was checked or one could not say (failed, or
    /// switched off after an error answer).
    pub dnsbl_listed: Option<bool>,
}

impl Row {
    /// Ready to send mail as far as reverse DNS goes: FCrDNS passes, the name is
    /// custom, and no other PTR name fails to lead back
    /// ([`FcrdnsReason::MultiPtrUnconfirmed`]: receivers would see the address as
    /// "unknown" part of the time).
    pub fn mail_ready(&self) -> bool {
        mail_ready(self.fcrdns, self.fcrdns_reason, self.generic)
    }
}

/// [`Row::mail_ready`] from the three cells it reads (for readers that do not build a
/// row).
pub fn mail_ready(fcrdns: Fcrdns, reason: Option<FcrdnsReason>, generic: Option<bool>) -> bool {
    fcrdns == Fcrdns::Pass
        && reason != Some(FcrdnsReason::MultiPtrUnconfirmed)
        && generic == Some(false)
}

/// The output column names, in order. Every writer uses this list.
pub const COLUMNS: [&str; 17] = [
    "ip",
    "prefix",
    "ptr_status",
    "ptr",
    "ptr_all",
    "cname_chain",
    "forward_addrs",
    "fcrdns",
    "fcrdns_reason",
    "generic",
    "generic_reasons",
    "resolver",
    "attempts",
    "rtt_ms",
    "scanned_at",
    "dnsbl",
    "dnsbl_listed",
];

/// Error type sinks return; the engine stops and hands it back.
pub type SinkError = Box<dyn std::error::Error + Send + Sync>;

/// Receives rows as they complete. Implemented by the report writers; the engine knows
/// nothing of files and formats. Several sinks at once: a `Vec` of them, or a pair.
pub trait Sink {
    /// One finished row.
    fn row(&mut self, row: &Row) -> Result<(), SinkError>;
    /// One finished row with the number the caller gave its target
    /// ([`crate::Scanner::run_until`]); sinks that keep checkpoints override it.
    fn row_at(&mut self, seq: u64, row: &Row) -> Result<(), SinkError> {
        let _ = seq;
        self.row(row)
    }
    /// [`Sink::row_at`] with the row given away: the engine's way in, so a sink that
    /// keeps rows (holding a prefix back) need not copy them.
    fn row_owned(&mut self, seq: u64, row: Row) -> Result<(), SinkError> {
        self.row_at(seq, &row)
    }
    /// Every row of the positions `first..=last` has been given to
    /// [`Sink::row_at`]: a sink that keeps a checkpoint marks them done here (a walk
    /// writes many rows for one position, or none for a whole pruned range of them).
    fn done(&mut self, first: u64, last: u64) -> Result<(), SinkError> {
        let _ = (first, last);
        Ok(())
    }
    /// The scan is over: flush and close.
    fn finish(&mut self) -> Result<(), SinkError> {
        Ok(())
    }
}

impl<S: Sink + ?Sized> Sink for &mut S {
    fn row(&mut self, row: &Row) -> Result<(), SinkError> {
        (**self).row(row)
    }
    fn row_at(&mut self, seq: u64, row: &Row) -> Result<(), SinkError> {
        (**self).row_at(seq, row)
    }
    fn row_owned(&mut self, seq: u64, row: Row) -> Result<(), SinkError> {
        (**self).row_owned(seq, row)
    }
    fn done(&mut self, first: u64, last: u64) -> Result<(), SinkError> {
        (**self).done(first, last)
    }
    fn finish(&mut self) -> Result<(), SinkError> {
        (**self).finish()
    }
}

impl<S: Sink + ?Sized> Sink for Box<S> {
    fn row(&mut self, row: &Row) -> Result<(), SinkError> {
        (**self).row(row)
    }
    fn row_at(&mut self, seq: u64, row: &Row) -> Result<(), SinkError> {
        (**self).row_at(seq, row)
    }
    fn row_owned(&mut self, seq: u64, row: Row) -> Result<(), SinkError> {
        (**self).row_owned(seq, row)
    }
    fn done(&mut self, first: u64, last: u64) -> Result<(), SinkError> {
        (**self).done(first, last)
    }
    fn finish(&mut self) -> Result<(), SinkError> {
        (**self).finish()
    }
}

/// Every row to each sink in turn: the one fan-out.
impl<S: Sink> Sink for Vec<S> {
    fn row(&mut self, row: &Row) -> Result<(), SinkError> {
        self.iter_mut().try_for_each(|s| s.row(row))
    }
    fn row_at(&mut self, seq: u64, row: &Row) -> Result<(), SinkError> {
        self.iter_mut().try_for_each(|s| s.row_at(seq, row))
    }
    fn done(&mut self, first: u64, last: u64) -> Result<(), SinkError> {
        self.iter_mut().try_for_each(|s| s.done(first, last))
    }
    fn finish(&mut self) -> Result<(), SinkError> {
        self.iter_mut().try_for_each(Sink::finish)
    }
}

/// Every row to both sinks (outputs and a summary, say).
impl<A: Sink, B: Sink> Sink for (A, B) {
    fn row(&mut self, row: &Row) -> Result<(), SinkError> {
        self.0.row(row)?;
        self.1.row(row)
    }
    fn row_at(&mut self, seq: u64, row: &Row) -> Result<(), SinkError> {
        self.0.row_at(seq, row)?;
        self.1.row_at(seq, row)
    }
    fn done(&mut self, first: u64, last: u64) -> Result<(), SinkError> {
        self.0.done(first, last)?;
        self.1.done(first, last)
    }
    fn finish(&mut self) -> Result<(), SinkError> {
        self.0.finish()?;
        self.1.finish()
    }
}

/// Collects rows in memory (tests, small scans).
#[derive(Debug, Default)]
pub struct VecSink(pub Vec<Row>);

impl Sink for VecSink {
    fn row(&mut self, row: &Row) -> Result<(), SinkError> {
        self.0.push(row.clone());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefix(ip: &str, len: u8) -> String {
        Prefix::containing(ip.parse().unwrap(), len)
            .unwrap()
            .to_string()
    }

    #[test]
    fn prefixes() {
        assert_eq!(prefix("198.18.5.77", 24), "198.18.5.0/24");
        assert_eq!(prefix("198.18.5.77", 20), "198.18.0.0/20");
        assert_eq!(prefix("2001:db8:0:1::15", 64), "2001:db8:0:1::/64");
        assert_eq!(prefix("2001:db8:0:1::15", 48), "2001:db8::/48");
        assert_eq!(prefix("2001:db8:0:1::15", 127), "2001:db8:0:1::14/127");
        assert_eq!(prefix("2001:db8:0:1::15", 1), "::/1");
        assert_eq!(prefix("198.18.5.77", 0), "0.0.0.0/0");
        assert_eq!(prefix("2001:db8::1", 128), "2001:db8::1/128");
        // Every IPv4 length against a mask built bit by bit (not the code's shift).
        for a in [0u32, 0x0a00_0001, 0xc612_054d, 0xffff_ffff, 0x0102_0304] {
            for len in 0..=32u8 {
                let mask = (0..u32::from(len)).fold(0u32, |m, bit| m | (1 << (31 - bit)));
                let want = format!("{}/{len}", std::net::Ipv4Addr::from(a & mask));
                let ip = std::net::Ipv4Addr::from(a).to_string();
                assert_eq!(prefix(&ip, len), want);
                let p: Prefix = want.parse().unwrap();
                assert!(p.contains(ip.parse().unwrap()));
                assert_eq!(p.to_string(), want);
            }
        }
        for len in [0u8, 1, 48, 64, 127, 128] {
            let ip = "2001:db8:0:1::15".parse::<std::net::Ipv6Addr>().unwrap();
            let mask = (0..u32::from(len)).fold(0u128, |m, bit| m | (1 << (127 - bit)));
            let want = format!("{}/{len}", std::net::Ipv6Addr::from(u128::from(ip) & mask));
            assert_eq!(prefix(&ip.to_string(), len), want);
            assert_eq!(
                PrefixLens::new(24, len).unwrap().of(ip.into()).to_string(),
                want
            );
        }
        let p: Prefix = "198.18.0.0/20".parse().unwrap();
        assert!(p.contains("198.18.15.255".parse().unwrap()));
        assert!(!p.contains("198.18.16.0".parse().unwrap()));
        assert!(!p.contains("::".parse().unwrap()));
    }

    #[test]
    fn one_rule_for_prefix_lengths() {
        assert!(PrefixLens::new(32, 128).is_ok());
        let e = PrefixLens::new(33, 64).unwrap_err();
        assert_eq!(
            e.to_string(),
            "prefix length 33 is out of range for IPv4 (0..=32)"
        );
        assert!(PrefixLens::new(24, 129).is_err());
        assert!(Prefix::containing("::1".parse().unwrap(), 129).is_err());
        assert!(matches!(
            "198.18.5.7/24".parse::<Prefix>(),
            Err(PrefixError::HostBits { network, .. }) if network.to_string() == "198.18.5.0/24"
        ));
        assert!("198.18.5.0/33".parse::<Prefix>().is_err());
        assert!("198.18.5.0".parse::<Prefix>().is_err());
    }

    #[test]
    fn typed_columns_round_trip_through_their_text() {
        for v in Fcrdns::ALL {
            assert_eq!(v.as_str().parse::<Fcrdns>(), Ok(v));
        }
        for r in FcrdnsReason::ALL {
            assert_eq!(r.as_str().parse::<FcrdnsReason>(), Ok(r));
        }
        // A forward RCODE is named by its mnemonic, as the column always wrote it.
        for (code, text) in [
            (1, "forward-formerr"),
            (4, "forward-notimp"),
            (16, "forward-badvers"),
            (12, "forward-rcode"),
        ] {
            assert_eq!(
                FcrdnsReason::of_forward_error(Status::Rcode(code)).as_str(),
                text
            );
        }
        assert_eq!(
            FcrdnsReason::of_forward_error(Status::Timeout),
            FcrdnsReason::ForwardTimeout
        );
        // Every spelling is its own: a reader that finds one knows the reason.
        let texts: std::collections::HashSet<&str> =
            FcrdnsReason::ALL.iter().map(FcrdnsReason::as_str).collect();
        assert_eq!(texts.len(), FcrdnsReason::ALL.len());
        let e = "forward-maybe".parse::<FcrdnsReason>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown fcrdns_reason value \"forward-maybe\""
        );
    }

    /// The spelling of issue 17's flag is part of the file formats; files written
    /// before it (every other reason) still read.
    #[test]
    fn multi_ptr_unconfirmed_has_a_stable_spelling() {
        let r = FcrdnsReason::MultiPtrUnconfirmed;
        assert_eq!(r.as_str(), "multi-ptr-unconfirmed");
        assert_eq!("multi-ptr-unconfirmed".parse::<FcrdnsReason>(), Ok(r));
        assert_eq!(r.to_string(), "multi-ptr-unconfirmed");
        for old in ["ptr-target-cname", "forward-mismatch", "walk-budget"] {
            assert!(old.parse::<FcrdnsReason>().is_ok(), "{old}");
        }
    }

    /// A pass with a stale second PTR is not mail-ready: Postfix calls it "unknown"
    /// whenever the stale name comes first.
    #[test]
    fn a_flagged_pass_is_not_mail_ready() {
        let custom = Some(false);
        assert!(mail_ready(Fcrdns::Pass, None, custom));
        assert!(mail_ready(
            Fcrdns::Pass,
            Some(FcrdnsReason::PtrTargetCname),
            custom
        ));
        assert!(!mail_ready(
            Fcrdns::Pass,
            Some(FcrdnsReason::MultiPtrUnconfirmed),
            custom
        ));
        assert!(!mail_ready(Fcrdns::Pass, None, Some(true)));
        assert!(!mail_ready(Fcrdns::Fail, None, custom));
    }
}
