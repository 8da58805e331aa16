//! Part of this address in the name, when the whole of it is not: the last three octets
//! (`ip-partial:host`, +3), the network's three octets (`ip-partial`, +2), the last two
//! (`ip-partial:pair`, +3; next to an access word, `ip-partial`, +2), the last one as the
//! leftmost label or numbering a word in it (`ip-partial:last`, +3); and a different
//! host's address in the name (`ip-other`, 0).

use std::net::IpAddr;

use super::embedded::ip_like;
use super::octets::{octet, spelled};
use super::tokens::Run;
use super::{Verdict, add};
use crate::rules::Rules;

/// Part of the address in the name: the last three octets, the last two, or the last one
/// fused to a word — decimal (plain or zero-padded, separated, run together or inside a
/// longer serial) or hex pairs. The octets are this address's, so a number that merely
/// looks like one (`mail2`, `smtp01`) does not count unless it is the address's.
pub(super) fn partial_signal(
    rules: &Rules,
    ip: Option<IpAddr>,
    (runs, host, text): (&[Run<'_>], &[&str], &str),
    has_keyword: bool,
    v: &mut Verdict,
) {
    let Some(IpAddr::V4(ip)) = ip else { return };
    let o = ip.octets();
    let four_numbers = runs.windows(4).any(|w| {
        w.iter().all(|r| octet(r).is_some()) && w.windows(2).all(|p| p[1].start == p[0].end + 1)
    });
    if four_numbers {
        // An address, but not this one: a name copied from another host, or a different
        // numbering. Its three-octet prefix match proves nothing.
        if ip_like(rules, runs, host).is_some() {
            add(
                v,
                "ip-other",
                "the name holds an address, but a different one",
                0,
            );
        }
        return;
    }
    // The last three octets, either order, however joined (`228039173`, `228-39.173`):
    // the host's own number, not the network's.
    if octets_in(runs, text, &[o[1], o[2], o[3]], 5, 7, false) {
        add(
            v,
            "ip-partial:host",
            "the last three octets of the address are in the name",
            3,
        );
        return;
    }
    // The network's three octets (OVH's `ip-198-18-5`): the block, not the host.
    let three = runs.windows(3).any(|w| {
        let adjacent = w.windows(2).all(|p| p[1].start == p[0].end + 1);
        let vals = [octet(&w[0]), octet(&w[1]), octet(&w[2])];
        adjacent
            && [[o[0], o[1], o[2]], [o[2], o[1], o[0]]]
                .iter()
                .any(|t| vals == t.map(Some))
    });
    if three {
        add(
            v,
            "ip-partial",
            "three octets of the address are in the name",
            2,
        );
        return;
    }
    // The last two octets, either order, separated by at most three characters or run
    // together (`ab-39-173`, `173.x39`, `q39z173`, `039173`), with three digits at least.
    if octets_in(runs, text, &[o[2], o[3]], 3, 6, true) {
        add(
            v,
            "ip-partial:pair",
            "the last two octets of the address are in the name",
            3,
        );
        return;
    }
    // `cust5-68` (forward) or `fia83-8` (reversed) for x.x.5.68 / x.x.8.83.
    let last_two = runs.windows(2).any(|w| {
        let pair = (octet(&w[0]), octet(&w[1]));
        (pair == (Some(o[2]), Some(o[3])) || pair == (Some(o[3]), Some(o[2])))
            && w[1].start <= w[0].end + 1
    });
    if has_keyword && last_two {
        add(
            v,
            "ip-partial",
            "the last octets of the address are in the name, next to an access keyword",
            2,
        );
        return;
    }
    // The leftmost label is the last octet alone (`173.sta.isp.example`): a host numbered
    // by its address. Two digits at least, or zero-padded to three.
    if let Some(first) = host.first()
        && (2..=3).contains(&first.len())
        && first.bytes().all(|b| b.is_ascii_digit())
        && first.parse::<u8>().ok() == Some(o[3])
        && (o[3] >= 10 || first.len() == 3)
    {
        add(
            v,
            "ip-partial:last",
            "the leftmost label is the last octet of the address",
            3,
        );
        return;
    }
    // The last octet as the number of a word in the leftmost label (`host173`,
    // `dsl-x-173`, `pc007`): two digits at least, or zero-padded to three.
    if let Some(first) = host.first()
        && let Some(r) = runs.iter().rev().find(|r| r.end <= first.len())
        && r.start > 0
        && first.bytes().any(|b| b.is_ascii_alphabetic())
        && (r.text.len() >= 2 && octet(r) == Some(o[3]))
        && (o[3] >= 10 || r.text.len() == 3)
    {
        add(
            v,
            "ip-partial:last",
            "the last octet of the address numbers the host",
            3,
        );
    }
}

/// `octs` in the name in either order: spelled in decimal with at most three characters
/// between them (`min_digits` digits at least), zero-padded inside a serial
/// (`serial_len` digits at least, forward only), or as hex pairs (`short`: see
/// [`hex_pairs_in`]).
fn octets_in(
    runs: &[Run<'_>],
    text: &str,
    octs: &[u8],
    min_digits: usize,
    serial_len: usize,
    short: bool,
) -> bool {
    let mut rev = [0u8; 4];
    let rev = &mut rev[..octs.len()];
    rev.copy_from_slice(octs);
    rev.reverse();
    spelled(runs, octs, 3, min_digits)
        || spelled(runs, rev, 3, min_digits)
        || inside_serial(runs, octs, serial_len)
        || hex_pairs_in(text, octs, short)
        || hex_pairs_in(text, rev, short)
}

/// The octets zero-padded to three digits inside a longer run of digits (a serial that
/// carries them: `10228039173` holds `228039173`), `min_len` digits of pattern at least.
fn inside_serial(runs: &[Run<'_>], octs: &[u8], min_len: usize) -> bool {
    let mut pat = [0u8; 12];
    let n = octs.len() * 3;
    for (i, &x) in octs.iter().enumerate() {
        pat[i * 3..i * 3 + 3].copy_from_slice(&[
            x / 100 + b'0',
            (x / 10) % 10 + b'0',
            x % 10 + b'0',
        ]);
    }
    n >= min_len
        && runs
            .iter()
            .any(|r| r.text.len() > n && r.text.as_bytes().windows(n).any(|w| w == &pat[..n]))
}

/// The octets as hex pairs in the name. Three octets (six hex digits) are searched in the
/// host text with dots and dashes removed; two (four hex digits, `short`) only inside one
/// run of hex characters that holds a digit, so `cafe` is not an address.
fn hex_pairs_in(text: &str, octs: &[u8], short: bool) -> bool {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut pat = [0u8; 8];
    let n = octs.len() * 2;
    for (i, &x) in octs.iter().enumerate() {
        pat[i * 2] = HEX[usize::from(x >> 4)];
        pat[i * 2 + 1] = HEX[usize::from(x & 15)];
    }
    let pat = &pat[..n];
    // Four decimal digits are an ordinary number, not hex: a pair must hold a letter.
    if short && !pat.iter().any(u8::is_ascii_alphabetic) {
        return false;
    }
    if short {
        return text
            .split(|c: char| !c.is_ascii_hexdigit())
            .filter(|t| t.len() >= n)
            .filter(|t| t.bytes().any(|b| b.is_ascii_digit()))
            .any(|t| t.as_bytes().windows(n).any(|w| w == pat));
    }
    let mut compact = [0u8; 256];
    let mut len = 0;
    for b in text
        .bytes()
        .filter(u8::is_ascii_alphanumeric)
        .take(compact.len())
    {
        compact[len] = b;
        len += 1;
    }
    compact[..len].windows(n).any(|w| w == pat)
}
