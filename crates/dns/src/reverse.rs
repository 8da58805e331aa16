//! Reverse-lookup names: IPv4 -> `in-addr.arpa`, IPv6 -> nibble `ip6.arpa`, and back.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hickory_proto::rr::Name;
use hickory_proto::serialize::binary::BinDecodable;

/// The reverse name of `ip` as text, lowercase, with the trailing dot:
/// `203.0.113.7` -> `7.113.0.203.in-addr.arpa.`,
/// `2001:db8::1` -> `1.0.0.0. … .8.b.d.0.1.0.0.2.ip6.arpa.`
///
/// ```
/// use std::net::IpAddr;
/// let ip: IpAddr = "203.0.113.7".parse().unwrap();
/// assert_eq!(ptraudit_dns::reverse_name_string(ip), "7.113.0.203.in-addr.arpa.");
/// ```
pub fn reverse_name_string(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.{}.in-addr.arpa.", o[3], o[2], o[1], o[0])
        }
        IpAddr::V6(v6) => {
            // 32 nibbles, each "x." = 64 bytes, plus "ip6.arpa." = 9.
            let mut s = String::with_capacity(73);
            for byte in v6.octets().iter().rev() {
                // Writing to a String cannot fail.
                let _ = write!(s, "{:x}.{:x}.", byte & 0x0f, byte >> 4);
            }
            s.push_str("ip6.arpa.");
            s
        }
    }
}

/// The reverse name of `ip` as a fully qualified [`Name`].
pub fn reverse_name(ip: IpAddr) -> Name {
    // Written in wire form (length-prefixed labels) and read back: hickory's reader appends
    // labels in place, where `Name::from_labels` collects and partitions vectors first —
    // this runs once per scanned address. Labels of 1-7 characters, at most 73 bytes:
    // the read cannot fail.
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut wire = [0u8; 80];
    let mut n = 0;
    let mut push = |bytes: &[u8]| {
        wire[n..n + bytes.len()].copy_from_slice(bytes);
        n += bytes.len();
    };
    match ip {
        IpAddr::V4(v4) => {
            for o in v4.octets().into_iter().rev() {
                match o {
                    0..=9 => push(&[1, b'0' + o]),
                    10..=99 => push(&[2, b'0' + o / 10, b'0' + o % 10]),
                    _ => push(&[3, b'0' + o / 100, b'0' + o / 10 % 10, b'0' + o % 10]),
                }
            }
            push(b"\x07in-addr\x04arpa\x00");
        }
        IpAddr::V6(v6) => {
            for b in v6.octets().into_iter().rev() {
                push(&[1, HEX[usize::from(b & 0x0f)], 1, HEX[usize::from(b >> 4)]]);
            }
            push(b"\x03ip6\x04arpa\x00");
        }
    }
    Name::from_bytes(&wire[..n]).expect("reverse names are always valid")
}

/// The address a complete reverse name stands for: the inverse of [`reverse_name`].
///
/// Accepts the name with or without the trailing dot, in any letter case. Returns `None`
/// for anything that is not exactly four decimal octets under `in-addr.arpa` or exactly 32
/// hex nibbles under `ip6.arpa` (a partial name such as `113.0.203.in-addr.arpa` names a
/// network, not an address).
///
/// ```
/// use std::net::IpAddr;
/// let ip = ptraudit_dns::ip_from_reverse("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
/// assert_eq!(ip, Some("2001:db8::1".parse::<IpAddr>().unwrap()));
/// ```
pub fn ip_from_reverse(name: &str) -> Option<IpAddr> {
    let name = name.strip_suffix('.').unwrap_or(name);
    let lower = name.to_ascii_lowercase();
    if let Some(rest) = lower.strip_suffix(".in-addr.arpa") {
        let mut octets = [0u8; 4];
        let mut n = 0;
        for label in rest.split('.') {
            if n == 4 || label.is_empty() || label.len() > 3 {
                return None;
            }
            if !label.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            // Reject "01": it is not how any resolver writes an octet, so it is not a
            // reverse name of an address.
            if label.len() > 1 && label.starts_with('0') {
                return None;
            }
            octets[3 - n] = label.parse().ok()?;
            n += 1;
        }
        (n == 4).then(|| IpAddr::V4(Ipv4Addr::from(octets)))
    } else if let Some(rest) = lower.strip_suffix(".ip6.arpa") {
        let mut bytes = [0u8; 16];
        let mut n = 0;
        for label in rest.split('.') {
            if n == 32 || label.len() != 1 {
                return None;
            }
            let nibble = char::from(label.as_bytes()[0]).to_digit(16)? as u8;
            // Labels run from the least significant nibble upwards.
            let pos = 31 - n;
            if pos % 2 == 0 {
                bytes[pos / 2] |= nibble << 4;
            } else {
                bytes[pos / 2] |= nibble;
            }
            n += 1;
        }
        (n == 32).then(|| IpAddr::V6(Ipv6Addr::from(bytes)))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ipv4_examples() {
        let ip: IpAddr = "198.18.3.17".parse().unwrap();
        assert_eq!(reverse_name_string(ip), "17.3.18.198.in-addr.arpa.");
        assert_eq!(ip_from_reverse("17.3.18.198.IN-ADDR.ARPA."), Some(ip));
    }

    #[test]
    fn ipv6_example() {
        let ip: IpAddr = "2001:db8:0:1::abcd".parse().unwrap();
        assert_eq!(
            reverse_name_string(ip),
            "d.c.b.a.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa."
        );
    }

    #[test]
    fn partial_and_bogus_names_are_rejected() {
        for bad in [
            "3.18.198.in-addr.arpa",
            "1.17.3.18.198.in-addr.arpa",
            "256.3.18.198.in-addr.arpa",
            "01.3.18.198.in-addr.arpa",
            "a.3.18.198.in-addr.arpa",
            "..18.198.in-addr.arpa",
            "1.0.ip6.arpa",
            "mail.example.test",
            "",
            "in-addr.arpa",
        ] {
            assert_eq!(ip_from_reverse(bad), None, "{bad}");
        }
    }

    proptest! {
        #[test]
        fn ipv4_round_trip(raw in any::<u32>()) {
            let ip = IpAddr::V4(Ipv4Addr::from(raw));
            let text = reverse_name_string(ip);
            prop_assert_eq!(ip_from_reverse(&text), Some(ip));
            // The hickory Name agrees with our text, and parses back the same way.
            let name = reverse_name(ip);
            prop_assert_eq!(name.to_ascii(), text.clone());
            prop_assert!(name.is_fqdn());
            prop_assert_eq!(name.parse_arpa_name().unwrap().addr(), ip);
        }

        #[test]
        fn ipv6_round_trip(raw in any::<u128>()) {
            let ip = IpAddr::V6(Ipv6Addr::from(raw));
            let text = reverse_name_string(ip);
            prop_assert_eq!(ip_from_reverse(&text), Some(ip));
            prop_assert_eq!(ip_from_reverse(&text.to_ascii_uppercase()), Some(ip));
            let name = reverse_name(ip);
            prop_assert_eq!(name.to_ascii(), text);
            prop_assert!(name.is_fqdn());
            prop_assert_eq!(name.parse_arpa_name().unwrap().addr(), ip);
        }
    }
}
