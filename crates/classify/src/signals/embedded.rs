//! The whole address in the name, and four address-like numbers when no address is given.
//!
//! Reason codes, +3 each: the IPv4 address in the host part, or split between the host
//! part and the registered domain,
//! `ip-embedded:{dotted,dashed,split,reversed,scrambled,padded,hex,grouped}`; with octets
//! as Roman numerals, `ip-embedded:roman`; the IPv6 address, `ip-embedded:{v6,hex,nibbles}`;
//! no address given and four numbers that look like one, `ip-like`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::octets::{octets4, seps3, spelled};
use super::tokens::{Run, alpha_tokens, digit_runs};
use super::{Verdict, add};
use crate::rules::{Rules, WordKind};

/// The address in the name, whole (returns whether it is): in the host part, split
/// between the host part and the registered domain, or with octets as Roman numerals;
/// without an address, four numbers that look like one (`ip-like`).
pub(super) fn address_signal(
    rules: &Rules,
    ip: Option<IpAddr>,
    lower: &str,
    host: &[&str],
    host_text: &str,
    runs: &[Run<'_>],
    v: &mut Verdict,
) -> bool {
    let mut embedded = false;
    if let Some(ip) = ip {
        embedded = embed_signals(ip, host, host_text, runs, v);
        // The address split between the host part and the registered domain (a provider
        // that registers a domain per block: `105.ip-54-36-189.example`, `7.a-198-18-5.net`).
        if !embedded
            && let IpAddr::V4(v4) = ip
            && lower.len() > host_text.len()
            && lower.as_bytes()[host_text.len()..]
                .iter()
                .any(u8::is_ascii_digit)
        {
            embedded = embed_v4(v4, lower, &digit_runs(lower), v);
        }
        // Octets written as Roman numerals (`pei-190-128-lxiii-xxx` for 190.128.63.30).
        if !embedded && let IpAddr::V4(v4) = ip {
            embedded = embed_roman(v4, host_text, v);
        }
    } else if let Some(code) = ip_like(rules, runs, host) {
        add(
            v,
            code,
            "four numbers that look like an IPv4 address (no address given to compare)",
            3,
        );
        embedded = true;
    }
    embedded
}

fn embed_signals(
    ip: IpAddr,
    host: &[&str],
    host_text: &str,
    runs: &[Run<'_>],
    v: &mut Verdict,
) -> bool {
    match ip {
        IpAddr::V4(v4) => embed_v4(v4, host_text, runs, v),
        IpAddr::V6(v6) => embed_v6(v6, host, host_text, v),
    }
}

fn embed_v4(ip: Ipv4Addr, text: &str, runs: &[Run<'_>], v: &mut Verdict) -> bool {
    let o = ip.octets();
    let rev = [o[3], o[2], o[1], o[0]];
    for w in runs.windows(4) {
        let Some(vals) = octets4(w) else { continue };
        // Single `-`, `.` or `_` between the numbers; or short words, as in Telefonica's
        // `118.red-80-35-201` (the last octet first, then the network).
        let seps = seps3(text, w);
        if seps.is_none() && w.windows(2).any(|p| p[1].start - p[0].end > 6) {
            continue;
        }
        if vals == o {
            let code = match &seps {
                Some(s) if s.iter().all(|&c| c == b'.') => "ip-embedded:dotted",
                Some(_) => "ip-embedded:dashed",
                None => "ip-embedded:split",
            };
            add(v, code, "the address is written in the name", 3);
            return true;
        }
        if vals == rev {
            add(
                v,
                "ip-embedded:reversed",
                "the address is written in the name, octets reversed",
                3,
            );
            return true;
        }
        let (mut a, mut b) = (vals, o);
        a.sort_unstable();
        b.sort_unstable();
        if a == b {
            // d53-64-35-171 for 64.53.171.35: every octet, in the provider's own order.
            add(
                v,
                "ip-embedded:scrambled",
                "all four octets of the address are in the name, reordered",
                3,
            );
            return true;
        }
    }
    // Only a run of 8 or more digits can hold all four octets: most names have none, so
    // the candidate strings are built only when one exists.
    let long_runs = runs.iter().any(|r| r.text.len() >= 8);
    let one_number = long_runs && {
        let padded = format!("{:03}{:03}{:03}{:03}", o[0], o[1], o[2], o[3]);
        let padded_rev = format!("{:03}{:03}{:03}{:03}", o[3], o[2], o[1], o[0]);
        let plain = format!("{}{}{}{}", o[0], o[1], o[2], o[3]);
        let decimal = u32::from(ip).to_string();
        runs.iter().any(|r| {
            r.text == padded
                || r.text == padded_rev
                || (r.text == plain && plain.len() >= 8)
                || (r.text == decimal && decimal.len() >= 8)
        })
    };
    if one_number {
        add(
            v,
            "ip-embedded:padded",
            "the address is written in the name as one number (padded octets or decimal)",
            3,
        );
        return true;
    }
    let mut tokens = text
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|t| t.len() >= 8)
        .peekable();
    let hex_found = tokens.peek().is_some() && {
        let hex = format!("{:08x}", u32::from(ip));
        let hex_rev = format!("{:08x}", u32::from_be_bytes(rev));
        tokens.any(|t| t.contains(&hex) || t.contains(&hex_rev))
    };
    if hex_found {
        add(
            v,
            "ip-embedded:hex",
            "the address is written in the name in hex",
            3,
        );
        return true;
    }
    // The octets grouped unevenly: several run together, then the rest (`098228039.173`,
    // `9822839-173`), seven digits at least.
    if spelled(runs, &o, 6, 7) || spelled(runs, &rev, 6, 7) {
        add(
            v,
            "ip-embedded:grouped",
            "the address is written in the name, octets run together in groups",
            3,
        );
        return true;
    }
    false
}

fn embed_v6(ip: Ipv6Addr, host: &[&str], text: &str, v: &mut Verdict) -> bool {
    for label in host {
        let candidate = label.replace('-', ":");
        if candidate.parse::<Ipv6Addr>().is_ok_and(|a| a == ip) {
            add(
                v,
                "ip-embedded:v6",
                "the IPv6 address is written in the name",
                3,
            );
            return true;
        }
    }
    let full = format!("{:032x}", u128::from(ip));
    if text
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|t| t.contains(&full))
    {
        add(
            v,
            "ip-embedded:hex",
            "the IPv6 address is written in the name in hex",
            3,
        );
        return true;
    }
    let nibbles: String = host
        .iter()
        .filter(|l| l.len() == 1)
        .flat_map(|l| l.chars())
        .collect();
    let rev: String = full.chars().rev().collect();
    if nibbles.len() >= 32 && (nibbles.contains(&rev) || nibbles.contains(&full)) {
        add(
            v,
            "ip-embedded:nibbles",
            "the IPv6 address is written in the name as nibbles",
            3,
        );
        return true;
    }
    false
}

/// A Roman numeral for an octet (1-255) in canonical form (`lxiii`, `xxx`, `cclv`).
pub(super) fn roman(tok: &str) -> Option<u8> {
    const TABLE: [(u8, &str); 9] = [
        (100, "c"),
        (90, "xc"),
        (50, "l"),
        (40, "xl"),
        (10, "x"),
        (9, "ix"),
        (5, "v"),
        (4, "iv"),
        (1, "i"),
    ];
    if tok.is_empty() || tok.len() > 12 || !tok.bytes().all(|b| b"ivxlc".contains(&b)) {
        return None;
    }
    // Read it greedily as the canonical form would be written; anything left over (`iiii`,
    // `vx`, `ic`) is not canonical.
    let mut rest = tok;
    let mut value = 0u32;
    for (n, s) in TABLE {
        let max = if s.len() == 2 || matches!(s, "l" | "v") {
            1
        } else {
            3
        };
        let mut k = 0;
        while k < max && rest.starts_with(s) {
            rest = &rest[s.len()..];
            value += u32::from(n);
            k += 1;
        }
    }
    if !rest.is_empty() {
        return None;
    }
    let value = u8::try_from(value).ok()?;
    // Greedy reading accepts a few non-canonical orders (`xcx`): compare with the writing.
    let mut written = String::with_capacity(tok.len());
    let mut n = value;
    for (v, s) in TABLE {
        while n >= v {
            written.push_str(s);
            n -= v;
        }
    }
    (written == tok).then_some(value)
}

/// The address with some octets written as Roman numerals, as whole words between
/// separators: each numeral is read as its number and the text is searched for the
/// address again (all four octets, as [`embed_v4`] finds them).
fn embed_roman(ip: Ipv4Addr, text: &str, v: &mut Verdict) -> bool {
    let is_numeral = |t: &str| roman(t).is_some();
    if !text
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(is_numeral)
    {
        return false;
    }
    let mut decimal = String::with_capacity(text.len() + 8);
    let mut token = String::new();
    for c in text.chars().chain(std::iter::once('.')) {
        if c.is_ascii_alphanumeric() {
            token.push(c);
            continue;
        }
        match roman(&token) {
            Some(n) => decimal.push_str(&n.to_string()),
            None => decimal.push_str(&token),
        }
        token.clear();
        decimal.push(c);
    }
    decimal.pop();
    let mut scratch = Verdict::default();
    if !embed_v4(ip, &decimal, &digit_runs(&decimal), &mut scratch) {
        return false;
    }
    add(
        v,
        "ip-embedded:roman",
        "the address is written in the name, some octets as Roman numerals",
        3,
    );
    true
}

/// Without an address: four numbers 0-255 joined by single separators, not a router
/// interface name (`xe-0-0-14-1`).
pub(super) fn ip_like(rules: &Rules, runs: &[Run<'_>], host: &[&str]) -> Option<&'static str> {
    let first = host.first()?;
    if alpha_tokens(first)
        .next()
        .is_some_and(|t| rules.has(WordKind::Interface, t))
    {
        return None;
    }
    for w in runs.windows(4) {
        let Some(vals) = octets4(w) else { continue };
        let joined = w.windows(2).all(|p| p[1].start == p[0].end + 1);
        let no_leading_zero = w.iter().all(|r| r.text == "0" || !r.text.starts_with('0'));
        if joined && no_leading_zero && vals[0] >= 1 && vals.iter().filter(|&&x| x > 9).count() >= 2
        {
            return Some("ip-like");
        }
    }
    None
}
