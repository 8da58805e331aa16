//! Parsing resolver addresses as users write them.

use std::net::{IpAddr, SocketAddr};

use crate::error::Error;

/// Parses `IP`, `IP:PORT` or `[IPv6]:PORT`; a bare address gets port 53.
///
/// ```
/// let a = ptraudit_dns::parse_resolver("127.0.0.1:5353").unwrap();
/// assert_eq!(a.port(), 5353);
/// assert_eq!(ptraudit_dns::parse_resolver("::1").unwrap().port(), 53);
/// assert!(ptraudit_dns::parse_resolver("resolver.example").is_err());
/// ```
pub fn parse_resolver(text: &str) -> Result<SocketAddr, Error> {
    let t = text.trim();
    if let Ok(sa) = t.parse::<SocketAddr>() {
        return Ok(sa);
    }
    if let Ok(ip) = t.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, 53));
    }
    // "[::1]" without a port.
    if let Some(inner) = t.strip_prefix('[').and_then(|r| r.strip_suffix(']'))
        && let Ok(ip) = inner.parse::<IpAddr>()
    {
        return Ok(SocketAddr::new(ip, 53));
    }
    Err(Error::BadResolver {
        value: text.to_string(),
    })
}

/// The nameservers a `resolv.conf` text lists (lines `nameserver ADDR`; comments,
/// other options and addresses that do not parse are skipped).
///
/// ```
/// let text = "# local\nnameserver 127.0.0.53\noptions edns0\nnameserver ::1\n";
/// let found = ptraudit_dns::resolv_conf_nameservers(text);
/// assert_eq!(found, ["127.0.0.53:53".parse().unwrap(), "[::1]:53".parse().unwrap()]);
/// ```
pub fn resolv_conf_nameservers(text: &str) -> Vec<SocketAddr> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .filter_map(|a| parse_resolver(a.trim()).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        assert_eq!(
            parse_resolver("127.0.0.1").unwrap(),
            "127.0.0.1:53".parse().unwrap()
        );
        assert_eq!(
            parse_resolver("[::1]").unwrap(),
            "[::1]:53".parse().unwrap()
        );
        assert_eq!(
            parse_resolver("[::1]:5300").unwrap(),
            "[::1]:5300".parse().unwrap()
        );
        for bad in ["", "127.0.0.1:99999", "1.2.3", "::1:53:x", "localhost"] {
            let err = parse_resolver(bad).unwrap_err();
            assert!(err.to_string().contains(&format!("{bad:?}")), "{err}");
        }
    }
}
