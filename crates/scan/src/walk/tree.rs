//! The shape of the reverse tree: how wide an address is, how many bits a label holds
//! (an octet of `in-addr.arpa`, a nibble of `ip6.arpa`), the size of a unit, the
//! addresses below a node, and a node's reverse name and prefix.

use ptraudit_dns::Name;

use crate::row::Prefix;
use crate::targets::from_num;

pub(super) const fn width(v4: bool) -> u8 {
    if v4 { 32 } else { 128 }
}

pub(super) const fn step(v4: bool) -> u8 {
    if v4 { 8 } else { 4 }
}

/// Host bits of a unit: a /24 of IPv4, a /64 of IPv6.
pub(super) const fn unit_host_bits(v4: bool) -> u8 {
    if v4 { 8 } else { 64 }
}

/// The addresses below a node of length `len` (all ones in the host part).
pub(super) fn host_mask(len: u8, v4: bool) -> u128 {
    let host = u32::from(width(v4) - len);
    if host >= 128 {
        u128::MAX
    } else {
        (1u128 << host) - 1
    }
}

/// The prefix of the node of length `len` at `net`.
pub(super) fn prefix(net: u128, len: u8, v4: bool) -> Prefix {
    Prefix::clamped(from_num(net, v4), len)
}

/// The reverse name of a node: the octets (nibbles) of its first `len` bits, reversed.
pub(crate) fn node_name(net: u128, len: u8, v4: bool) -> Name {
    let mut labels: Vec<String> = Vec::new();
    if v4 {
        for i in 0..len / 8 {
            labels.push(((net >> (24 - 8 * u32::from(i))) & 0xff).to_string());
        }
    } else {
        for i in 0..len / 4 {
            labels.push(format!("{:x}", (net >> (124 - 4 * u32::from(i))) & 0xf));
        }
    }
    labels.reverse();
    let suffix = if v4 {
        ["in-addr", "arpa"]
    } else {
        ["ip6", "arpa"]
    };
    let all = labels.iter().map(String::as_str).chain(suffix);
    // Labels of 1-3 characters, at most 34 of them: always a valid name.
    let mut name = Name::from_labels(all.map(str::as_bytes)).unwrap_or_else(|_| Name::root());
    name.set_fqdn(true);
    name
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::*;

    #[test]
    fn node_names_are_the_reversed_octets_or_nibbles() {
        let n = |s: &str, len, v4| {
            let ip: IpAddr = s.parse().unwrap();
            let num = match ip {
                IpAddr::V4(a) => u128::from(u32::from(a)),
                IpAddr::V6(a) => u128::from(a),
            };
            node_name(num, len, v4).to_ascii()
        };
        assert_eq!(n("198.19.0.0", 16, true), "19.198.in-addr.arpa.");
        assert_eq!(n("198.19.5.0", 24, true), "5.19.198.in-addr.arpa.");
        assert_eq!(n("2001:db8::", 32, false), "8.b.d.0.1.0.0.2.ip6.arpa.");
        assert_eq!(
            n("2001:db8:f00::", 40, false),
            "f.0.8.b.d.0.1.0.0.2.ip6.arpa."
        );
        assert_eq!(n("0.0.0.0", 0, true), "in-addr.arpa.");
    }
}
