//! How an octet may be spelled in a name's digit runs: one run as an octet ([`octet`],
//! [`octets4`]), the separators between runs ([`seps3`], [`sep`]), and octets written
//! one after the other, plain or zero-padded, one per run or several run together
//! ([`spelled`]). Shared by the whole-address signals (`super::embedded`) and the
//! partial ones (`super::partial`); no reason of its own.

use super::tokens::Run;

pub(super) fn octet(run: &Run<'_>) -> Option<u8> {
    if run.text.len() > 3 {
        return None;
    }
    run.text.parse().ok()
}

/// Four runs as octets, when each is one.
pub(super) fn octets4(w: &[Run<'_>]) -> Option<[u8; 4]> {
    Some([octet(&w[0])?, octet(&w[1])?, octet(&w[2])?, octet(&w[3])?])
}

/// The three single-character separators between four runs, when each is one.
pub(super) fn seps3(text: &str, w: &[Run<'_>]) -> Option<[u8; 3]> {
    Some([
        sep(text, &w[0], &w[1])?,
        sep(text, &w[1], &w[2])?,
        sep(text, &w[2], &w[3])?,
    ])
}

/// The separator between two runs when it is exactly one of `-`, `.`, `_`.
fn sep(text: &str, a: &Run<'_>, b: &Run<'_>) -> Option<u8> {
    (b.start == a.end + 1)
        .then(|| text.as_bytes()[a.end])
        .filter(|c| matches!(c, b'-' | b'.' | b'_'))
}

/// The decimal forms of an octet: plain (`7`), and zero-padded to two and three digits.
fn octet_forms(x: u8) -> ([[u8; 3]; 3], [usize; 3], usize) {
    let d = [x / 100 + b'0', (x / 10) % 10 + b'0', x % 10 + b'0'];
    let plain_len = if x >= 100 {
        3
    } else if x >= 10 {
        2
    } else {
        1
    };
    let mut forms = [[0u8; 3]; 3];
    let mut lens = [0usize; 3];
    let mut n = 0;
    for len in [plain_len, 2, 3] {
        if len < plain_len || lens[..n].contains(&len) {
            continue;
        }
        forms[n][..len].copy_from_slice(&d[3 - len..]);
        lens[n] = len;
        n += 1;
    }
    (forms, lens, n)
}

/// Bit `k - 1` is set when `s` is exactly the first `k` octets of `octs` written one after
/// the other, each plain or zero-padded.
fn covers(s: &[u8], octs: &[u8]) -> u8 {
    let Some((&x, rest)) = octs.split_first() else {
        return 0;
    };
    let (forms, lens, n) = octet_forms(x);
    let mut mask = 0;
    for i in 0..n {
        let f = &forms[i][..lens[i]];
        if let Some(tail) = s.strip_prefix(f) {
            if tail.is_empty() {
                mask |= 1;
            } else {
                mask |= covers(tail, rest) << 1;
            }
        }
    }
    mask
}

/// Consecutive digit runs, at most `max_gap` characters apart, spell `octs` in order —
/// one octet per run or several run together (`098228039` then `173`) — with at least
/// `min_digits` digits in all.
pub(super) fn spelled(runs: &[Run<'_>], octs: &[u8], max_gap: usize, min_digits: usize) -> bool {
    fn from(runs: &[Run<'_>], octs: &[u8], max_gap: usize, prev: Option<usize>) -> Option<usize> {
        if octs.is_empty() {
            return Some(0);
        }
        let (r, rest) = runs.split_first()?;
        if prev.is_some_and(|e| r.start - e > max_gap) {
            return None;
        }
        let mask = covers(r.text.as_bytes(), octs);
        (1..=octs.len())
            .filter(|k| mask & (1 << (k - 1)) != 0)
            .find_map(|k| from(rest, &octs[k..], max_gap, Some(r.end)).map(|d| d + r.text.len()))
    }
    (0..runs.len())
        .any(|i| from(&runs[i..], octs, max_gap, None).is_some_and(|digits| digits >= min_digits))
}
