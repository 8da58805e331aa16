//! The query rate a scan gets when nobody says: unlimited when every resolver is on this
//! machine, polite to anyone else's; and which resolvers count as the operator's own.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;

/// Queries/s when `--rate` is not given and a resolver is not on this machine: polite to a
/// shared resolver and to the block owner's authoritative servers behind it.
pub const DEFAULT_REMOTE_RATE: u32 = 500;
/// Above this, a rate aimed at a public resolver earns a warning.
pub const HIGH_RATE: u32 = 2000;

/// A rate of 0 queries/s: nothing would ever be sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
#[error("--rate must be at least 1 query/s, got 0")]
pub struct ZeroRate;

/// The rate limit of a scan, and whom a high rate strains.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimit {
    /// Queries per second at most, over all resolvers; `None`: no limit.
    pub qps: Option<NonZeroU32>,
    /// The resolvers that are not local ([`is_local`]) when the rate given is above
    /// [`HIGH_RATE`], else empty: the caller warns that their operators carry the load.
    pub strained: Vec<SocketAddr>,
}

impl RateLimit {
    /// The rate limit: `given` if any (0 refused), unlimited when every resolver is on
    /// loopback, [`DEFAULT_REMOTE_RATE`] otherwise.
    pub fn choose(given: Option<u32>, resolvers: &[SocketAddr]) -> Result<RateLimit, ZeroRate> {
        let public: Vec<SocketAddr> = resolvers
            .iter()
            .filter(|r| !is_local(r.ip()))
            .copied()
            .collect();
        let limit = |qps: Option<NonZeroU32>| RateLimit {
            qps,
            strained: Vec::new(),
        };
        match given {
            Some(0) => Err(ZeroRate),
            Some(r) => Ok(RateLimit {
                qps: NonZeroU32::new(r),
                strained: if r > HIGH_RATE { public } else { Vec::new() },
            }),
            None if resolvers.iter().all(|r| r.ip().is_loopback()) => Ok(limit(None)),
            None => Ok(limit(NonZeroU32::new(DEFAULT_REMOTE_RATE))),
        }
    }
}

/// The address is on this machine or a private network (loopback, RFC 1918, link-local,
/// IPv6 unique local): a resolver there is the operator's own.
pub fn is_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => a.is_loopback() || a.is_private() || a.is_link_local(),
        IpAddr::V6(a) => {
            a.is_loopback()
                || (a.segments()[0] & 0xfe00) == 0xfc00
                || (a.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs(list: &[&str]) -> Vec<SocketAddr> {
        list.iter().map(|a| a.parse().unwrap()).collect()
    }

    #[test]
    fn default_rate_is_polite_off_the_machine_and_unlimited_on_loopback() {
        let rate_for = |given, resolvers: &[SocketAddr]| {
            RateLimit::choose(given, resolvers).map(|limit| limit.qps)
        };
        assert_eq!(
            rate_for(None, &addrs(&["127.0.0.1:53", "[::1]:53"])).unwrap(),
            None
        );
        assert_eq!(
            rate_for(None, &addrs(&["127.0.0.1:53", "192.0.2.53:53"])).unwrap(),
            NonZeroU32::new(DEFAULT_REMOTE_RATE)
        );
        assert_eq!(
            rate_for(Some(7), &addrs(&["192.0.2.53:53"])).unwrap(),
            NonZeroU32::new(7)
        );
        assert!(rate_for(Some(0), &addrs(&["127.0.0.1:53"])).is_err());
        assert!(is_local("10.1.2.3".parse().unwrap()) && is_local("fd00::1".parse().unwrap()));
        assert!(
            !is_local("192.0.2.53".parse().unwrap()) && !is_local("2001:db8::1".parse().unwrap())
        );
    }

    #[test]
    fn a_high_rate_strains_only_the_resolvers_that_are_not_local() {
        let both = addrs(&["10.0.0.53:53", "192.0.2.53:53"]);
        let limit = RateLimit::choose(Some(HIGH_RATE + 1), &both).unwrap();
        assert_eq!(limit.strained, addrs(&["192.0.2.53:53"]));
        assert!(
            RateLimit::choose(Some(HIGH_RATE), &both)
                .unwrap()
                .strained
                .is_empty()
        );
    }
}
