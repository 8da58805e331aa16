//! Access-network words: hard ones (`dyn`, `dhcp`, `pool`, `ppp`, `dsl`, …) and numbered
//! terminal-server units right of the leftmost label (`tnt3`), `keyword:WORD` +2 each,
//! two at most; soft ones (`host`, `static`, `cust`, …) next to digits or the address,
//! `keyword:WORD` +1 each; and a hard word with a per-host number in the leftmost label,
//! `host-number` +1. Dynamic-pool words also set [`Verdict::dynamic`].

use super::tokens::{alpha_tokens, digit_runs};
use super::{Verdict, add, code_of};
use crate::rules::{Rules, WordKind};

/// The keywords of the host labels; returns how many hard ones (and units) there are.
pub(super) fn keywords(rules: &Rules, host: &[&str], embedded: bool, v: &mut Verdict) -> usize {
    // Keywords, as whole alphabetic tokens of the host labels.
    let mut hard_seen = 0;
    for (i, label) in host.iter().enumerate() {
        let label_has_digits = label.bytes().any(|b| b.is_ascii_digit());
        for tok in alpha_tokens(label) {
            // A terminal server or access concentrator numbered under the leftmost label
            // (`ts12`, `tnt3`, `max4` in `a1234.tnt3.city.isp`) is an access pool too.
            let unit = i > 0 && label_has_digits && rules.has(WordKind::Unit, tok);
            if unit || rules.has(WordKind::Hard, tok) {
                if hard_seen < 2 {
                    add(v, code_of("keyword:", tok), "an access-network keyword", 2);
                }
                hard_seen += 1;
                if rules.has(WordKind::Dynamic, tok) {
                    v.dynamic = true;
                }
            } else if rules.has(WordKind::Soft, tok) && (label_has_digits || embedded) {
                add(
                    v,
                    code_of("keyword:", tok),
                    "a provisioning keyword next to numbers",
                    1,
                );
            }
        }
    }
    hard_seen
}

/// `host-number`, when the leftmost label carries a per-host number (the caller has seen
/// a hard access word).
pub(super) fn host_number(host: &[&str], v: &mut Verdict) {
    if has_host_number(host) {
        add(
            v,
            "host-number",
            "an access-network word and a per-host number in the leftmost label",
            1,
        );
    }
}

/// The leftmost label carries a per-host number: two digits at least, not zero.
fn has_host_number(host: &[&str]) -> bool {
    host.first().is_some_and(|first| {
        digit_runs(first)
            .iter()
            .any(|r| r.text.len() >= 2 && r.text.bytes().any(|b| b != b'0'))
    })
}
