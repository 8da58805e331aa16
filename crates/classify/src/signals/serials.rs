//! Serial numbers and device IDs in the host part.
//!
//! Reason codes: `mac-address` (+3, a MAC address with separators), `hex-id` (+2, a long
//! hex ID), `hosting-serial` (+3, a hoster's serial next to a hosting word),
//! `hosting-serial:domain` (+1, a serial of 5+ digits directly under the provider's
//! domain), `long-number` (+2, a serial of 5+ digits in the leftmost label) and
//! `digit-heavy-label` (+1, a leftmost label of mostly digits).

use super::tokens::alpha_tokens;
use super::{THRESHOLD, Verdict, add};
use crate::rules::{Rules, WordKind};

/// A MAC address with separators (`mac-address`), else a long hex ID (`hex-id`).
pub(super) fn device_id(host_text: &str, v: &mut Verdict) {
    if has_separated_mac(host_text) {
        add(
            v,
            "mac-address",
            "a MAC address written with separators (a cable modem or CPE name)",
            3,
        );
    } else if has_hex_id(host_text) {
        add(
            v,
            "hex-id",
            "a long hex identifier (a MAC address or device ID) in the name",
            2,
        );
    }
}

/// `hosting-serial` or `hosting-serial:domain`, by [`hosting_serial`].
pub(super) fn hosting_serial_signal(
    rules: &Rules,
    labels: &[&str],
    host: &[&str],
    v: &mut Verdict,
) {
    match hosting_serial(rules, labels, host) {
        Some(Serial::Hosting) => add(
            v,
            "hosting-serial",
            "a hoster's serial: a short prefix and a number of 3+ digits next to a hosting word",
            3,
        ),
        Some(Serial::Provider) => add(
            v,
            "hosting-serial:domain",
            "a short prefix and a serial of 5+ digits directly under the provider's domain",
            1,
        ),
        None => {}
    }
}

/// A long serial number (`long-number`) or mostly digits (`digit-heavy-label`) in the
/// leftmost label `first`, whose longest run of digits is `longest` long.
pub(super) fn long_number(first: &str, longest: Option<usize>, v: &mut Verdict) {
    if longest.is_some_and(|l| l >= 5) && v.score < THRESHOLD {
        // A person numbers hosts 1, 02, 2019; a provisioning system numbers lines and
        // customers 160000, 04024417.
        add(
            v,
            "long-number",
            "a long serial number in the leftmost label (a line or customer ID)",
            2,
        );
    }
    let digits = first.bytes().filter(u8::is_ascii_digit).count();
    if digits >= 6 && digits * 2 > first.len() && v.score < THRESHOLD {
        add(
            v,
            "digit-heavy-label",
            "the leftmost label is mostly digits",
            1,
        );
    }
}

/// A run of 12 or more hex characters mixing letters and at least four digits: a MAC
/// address (`h0002a5d76857`, `cpe00e0184f0eba`) or another device identifier.
fn has_hex_id(text: &str) -> bool {
    text.split(|c: char| !c.is_ascii_hexdigit()).any(|run| {
        run.len() >= 12
            && run.bytes().filter(u8::is_ascii_digit).count() >= 4
            && run.bytes().any(|b| b.is_ascii_alphabetic())
    })
}

/// Six hex pairs (`00-04-bd-d2-e0-a3`) or three hex quads (`0004-bdd2-e0a3`) joined by
/// one separator, `-` or `.`, with at least one hex letter: a MAC address spelled the way
/// cable and DSL provisioning systems write it into a modem's name.
pub(super) fn has_separated_mac(text: &str) -> bool {
    let b = text.as_bytes();
    let is_group = |start: usize, len: usize| {
        b.get(start..start + len)
            .is_some_and(|g| g.iter().all(u8::is_ascii_hexdigit))
    };
    for (groups, len) in [(6, 2), (3, 4)] {
        let span = groups * (len + 1) - 1;
        if b.len() < span {
            continue;
        }
        for start in 0..=b.len() - span {
            // Whole groups only: not inside a longer run of hex characters.
            if start > 0 && b[start - 1].is_ascii_alphanumeric() {
                continue;
            }
            if b.get(start + span).is_some_and(u8::is_ascii_alphanumeric) {
                continue;
            }
            let sep = b[start + len];
            if sep != b'-' && sep != b'.' {
                continue;
            }
            let ok = (0..groups).all(|g| {
                let at = start + g * (len + 1);
                is_group(at, len) && (g + 1 == groups || b[at + len] == sep)
            });
            if ok && b[start..start + span].iter().any(u8::is_ascii_alphabetic) {
                return true;
            }
        }
    }
    false
}

/// Which hoster's-serial shape a name has (see [`hosting_serial`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Serial {
    /// Next to a hosting word: the prefix is one (`vps863`) or a label right of it holds
    /// one (`a4711.dedicated.`).
    Hosting,
    /// Directly under the registered domain with a serial of five digits or more
    /// (`lh31139.provider.example`): the provider numbers its machines in its own zone.
    Provider,
}

/// A hoster's serial as the leftmost label: one to six letters (not a server-role word),
/// an optional `-`, then three digits or more and nothing else.
fn hosting_serial(rules: &Rules, labels: &[&str], host: &[&str]) -> Option<Serial> {
    let first = *host.first()?;
    let letters = first.bytes().take_while(u8::is_ascii_alphabetic).count();
    let rest = &first[letters..];
    let digits = rest.strip_prefix('-').unwrap_or(rest);
    if !(1..=6).contains(&letters)
        || digits.len() < 3
        || !digits.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let prefix = &first[..letters];
    if rules.has(WordKind::Role, prefix) {
        return None;
    }
    if rules.has(WordKind::Hosting, prefix) {
        return Some(Serial::Hosting);
    }
    if letters <= 4
        && labels[1..]
            .iter()
            .flat_map(|l| alpha_tokens(l))
            .any(|t| rules.has(WordKind::Hosting, t))
    {
        return Some(Serial::Hosting);
    }
    (host.len() == 1 && letters <= 3 && digits.len() >= 5).then_some(Serial::Provider)
}
