//! The result row (one per scanned address) and the sink that receives rows.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::SystemTime;

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

impl std::str::FromStr for Fcrdns {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "pass" => Fcrdns::Pass,
            "fail" => Fcrdns::Fail,
            "no-ptr" => Fcrdns::NoPtr,
            "temperror" => Fcrdns::TempError,
            other => return Err(format!("unknown fcrdns value {other:?}")),
        })
    }
}

impl fmt::Display for Fcrdns {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One scanned address. Field names are the output columns, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The address.
    pub ip: IpAddr,
    /// Its summary prefix (`198.18.5.0/24`, `2001:db8:0:1::/64`).
    pub prefix: String,
    /// How the PTR lookup ended: `NOERROR`, `NXDOMAIN`, `NODATA`, `SERVFAIL`, `REFUSED`,
    /// `TIMEOUT`, or the RCODE's name.
    pub ptr_status: String,
    /// The forward-confirmed PTR name if any, else the first; `None` without PTR.
    pub ptr: Option<String>,
    /// Every PTR name, in answer order (lowercase, no trailing dot).
    pub ptr_all: Vec<String>,
    /// CNAMEs followed from the reverse name (RFC 2317), in order.
    pub cname_chain: Vec<String>,
    /// The forward addresses found for the names in `ptr_all`, ascending.
    pub forward_addrs: Vec<IpAddr>,
    /// The verdict.
    pub fcrdns: Fcrdns,
    /// Why: `forward-mismatch`, `forward-nxdomain`, `forward-nodata`, `ptr-nxdomain`,
    /// `ptr-nodata`, `ptr-cname-loop`, `ptr-timeout`, `forward-servfail`, …; on a pass,
    /// `ptr-target-cname` when the confirmed name is an alias (RFC 1912 §2.1).
    pub fcrdns_reason: Option<String>,
    /// Whether `ptr` looks generic; `None` without PTR.
    pub generic: Option<bool>,
    /// The classifier's reason codes for `ptr`.
    pub generic_reasons: Vec<String>,
    /// The resolver that answered the PTR lookup.
    pub resolver: Option<SocketAddr>,
    /// UDP attempts spent on this address: its PTR lookups plus the forward lookups it
    /// started (a forward answer taken from the cache costs nothing).
    pub attempts: u32,
    /// Round-trip time of the (last) PTR lookup, in whole milliseconds.
    pub rtt_ms: Option<u64>,
    /// When the row was completed.
    pub scanned_at: SystemTime,
}

/// The output column names, in order. Every writer uses this list.
pub const COLUMNS: [&str; 15] = [
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
];

/// Error type sinks return; the engine stops and hands it back.
pub type SinkError = Box<dyn std::error::Error + Send + Sync>;

/// Receives rows as they complete. Implemented by the report writers; the engine knows
/// nothing of files and formats.
pub trait Sink {
    /// One finished row.
    fn row(&mut self, row: &Row) -> Result<(), SinkError>;
    /// One finished row with the number the caller gave its target
    /// ([`crate::Scanner::run_until`]); sinks that keep checkpoints override it.
    fn row_at(&mut self, seq: u64, row: &Row) -> Result<(), SinkError> {
        let _ = seq;
        self.row(row)
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
    fn finish(&mut self) -> Result<(), SinkError> {
        (**self).finish()
    }
}

/// Every row to each sink in turn.
impl<S: Sink> Sink for Vec<S> {
    fn row(&mut self, row: &Row) -> Result<(), SinkError> {
        self.iter_mut().try_for_each(|s| s.row(row))
    }
    fn finish(&mut self) -> Result<(), SinkError> {
        self.iter_mut().try_for_each(Sink::finish)
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

/// The network address of `ip`'s summary prefix (the address part of [`prefix_of`]).
pub fn prefix_network(ip: IpAddr, len_v4: u8, len_v6: u8) -> IpAddr {
    match ip {
        IpAddr::V4(a) => {
            let len = u32::from(len_v4.min(32));
            let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
            IpAddr::V4((u32::from(a) & mask).into())
        }
        IpAddr::V6(a) => {
            let len = u32::from(len_v6.min(128));
            let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
            IpAddr::V6((u128::from(a) & mask).into())
        }
    }
}

/// The network of `ip` with `len` bits, as `ADDR/LEN`.
pub fn prefix_of(ip: IpAddr, len_v4: u8, len_v6: u8) -> String {
    // Rendered once per prefix, not per row: the engine keeps the last one.
    let len = match ip {
        IpAddr::V4(_) => len_v4.min(32),
        IpAddr::V6(_) => len_v6.min(128),
    };
    format!("{}/{len}", prefix_network(ip, len_v4, len_v6))
}

/// A UTC time split into its calendar fields (milliseconds kept): what [`rfc3339`]
/// prints, for writers that render it without `format!`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UtcParts {
    /// Year (proleptic Gregorian).
    pub year: i64,
    /// 1..=12.
    pub month: u8,
    /// 1..=31.
    pub day: u8,
    /// 0..=23.
    pub hour: u8,
    /// 0..=59.
    pub minute: u8,
    /// 0..=59.
    pub second: u8,
    /// 0..=999.
    pub millis: u16,
}

impl UtcParts {
    /// The fields of `t` (times before 1970 count as 1970-01-01T00:00:00.000Z).
    pub fn of(t: SystemTime) -> Self {
        let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
        let secs = d.as_secs();
        let (days, rem) = (secs / 86_400, secs % 86_400);
        // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
        let z = days as i64 + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        UtcParts {
            year: yoe + era * 400 + i64::from(month <= 2),
            month: month as u8,
            day: day as u8,
            hour: (rem / 3600) as u8,
            minute: (rem / 60 % 60) as u8,
            second: (rem % 60) as u8,
            millis: d.subsec_millis() as u16,
        }
    }
}

/// RFC 3339 UTC with milliseconds: `2026-11-26T10:31:49.123Z`.
pub fn rfc3339(t: SystemTime) -> String {
    let p = UtcParts::of(t);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        p.year, p.month, p.day, p.hour, p.minute, p.second, p.millis
    )
}

/// Parses what [`rfc3339`] writes (`YYYY-MM-DDTHH:MM:SS[.mmm]Z`).
pub fn parse_rfc3339(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || !s.ends_with('Z') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let millis = match s.get(19..s.len() - 1)? {
        "" => 0,
        frac => {
            let digits = frac.strip_prefix('.')?;
            if digits.is_empty() || digits.len() > 9 || !digits.bytes().all(|c| c.is_ascii_digit())
            {
                return None;
            }
            let padded = format!("{digits:0<9}");
            padded[..3].parse::<u64>().ok()?
        }
    };
    // Days from civil (Howard Hinnant), the inverse of `rfc3339`.
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = u64::try_from(days * 86_400 + h * 3600 + mi * 60 + se).ok()?;
    Some(SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(secs * 1000 + millis))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps_round_trip() {
        for ms in [0u64, 951_782_400_000, 1_795_689_109_123, 4_102_444_799_999] {
            let t = SystemTime::UNIX_EPOCH + Duration::from_millis(ms);
            assert_eq!(parse_rfc3339(&rfc3339(t)), Some(t));
        }
        assert_eq!(parse_rfc3339("2026-13-01T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("yesterday"), None);
    }

    #[test]
    fn prefixes() {
        assert_eq!(
            prefix_of("198.18.5.77".parse().unwrap(), 24, 64),
            "198.18.5.0/24"
        );
        assert_eq!(
            prefix_of("198.18.5.77".parse().unwrap(), 20, 64),
            "198.18.0.0/20"
        );
        assert_eq!(
            prefix_of("2001:db8:0:1::15".parse().unwrap(), 24, 64),
            "2001:db8:0:1::/64"
        );
        assert_eq!(prefix_of("198.18.5.77".parse().unwrap(), 0, 0), "0.0.0.0/0");
        for len in [0, 1, 48, 64, 127, 128] {
            let ip = "2001:db8:0:1::15".parse().unwrap();
            assert_eq!(
                format!("{}/{len}", prefix_network(ip, 24, len)),
                prefix_of(ip, 24, len)
            );
        }
    }

    #[test]
    fn ipv4_prefixes_at_every_length() {
        // Octets of one, two and three digits, every prefix length.
        for a in [
            0u32,
            0x0a00_0001,
            0xc612_054d,
            0xffff_ffff,
            0x6463_0909,
            0x0102_0304,
        ] {
            for len in 0..=32u8 {
                let mask = if len == 0 {
                    0
                } else {
                    u32::MAX << (32 - u32::from(len))
                };
                let want = format!("{}/{len}", std::net::Ipv4Addr::from(a & mask));
                let ip = std::net::Ipv4Addr::from(a).into();
                assert_eq!(prefix_of(ip, len, 64), want);
                assert_eq!(format!("{}/{len}", prefix_network(ip, len, 64)), want);
            }
        }
    }

    #[test]
    fn timestamps() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_millis(1_795_689_109_123);
        assert_eq!(rfc3339(t), "2026-11-26T10:31:49.123Z");
        assert_eq!(rfc3339(SystemTime::UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let leap = SystemTime::UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(rfc3339(leap), "2000-02-29T00:00:00.000Z");
    }
}
