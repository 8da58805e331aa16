//! Names that stand for a block, not a host, and a rules file's patterns.
//!
//! Reason codes: `arpa-in-name` (+3, the reverse-zone name inside the name),
//! `provider-default:CODE` (+3, a cloud's or hoster's default reverse name),
//! `placeholder` (+3: `unknown`, `no.rdns.`, a host part of block-wide words such as
//! `dynamic.adsl.`), and `rule:CODE` (±100, a `generic`/`custom` pattern of a rules file,
//! matched by the same machinery as the provider defaults).

use super::tokens::alpha_tokens;
use super::{Verdict, add, code_of};
use crate::rules::{Effect, Rules, WordKind};

/// Weight of a `generic`/`custom` rule from the rules file: decides on its own.
const DECISIVE: i32 = 100;

/// `in-addr.arpa` or `ip6.arpa` as labels inside the name, with labels right of them.
pub(super) fn arpa_in_name(labels: &[&str], v: &mut Verdict) {
    if let Some(pos) = labels
        .windows(2)
        .position(|w| (w[0] == "in-addr" || w[0] == "ip6") && w[1] == "arpa")
        && pos + 2 < labels.len()
    {
        add(
            v,
            "arpa-in-name",
            "the reverse-zone name is part of the host name",
            3,
        );
    }
}

/// The first pattern of the rules that matches the whole lower-case name: a provider's
/// default (`provider-default:CODE`) or a rules file's verdict (`rule:CODE`).
pub(super) fn rule_pattern(rules: &Rules, lower: &str, v: &mut Verdict) {
    if let Some(rule) = rules.matching(lower) {
        let code = &rule.code;
        match rule.effect {
            Effect::Provider => add(
                v,
                code_of("provider-default:", code),
                "a cloud or hosting provider's default reverse name",
                3,
            ),
            Effect::Generic => add(
                v,
                code_of("rule:", code),
                "a rules-file pattern marks this name generic",
                DECISIVE,
            ),
            Effect::Custom => add(
                v,
                code_of("rule:", code),
                "a rules-file pattern marks this name custom",
                -DECISIVE,
            ),
        }
    }
}

/// A placeholder name for an unassigned address.
pub(super) fn placeholder(
    rules: &Rules,
    labels: &[&str],
    host: &[&str],
    host_text: &str,
    v: &mut Verdict,
) {
    // A placeholder word as a label or a prefix (`unknown`, `not-set`), a host part made of
    // block-wide words only (a hoster's `host.` for a range, `static.`, `dynamic.pool.`),
    // or a negation spelled as labels (`no.reverse.`, `not.configured.`).
    if labels.iter().any(|l| rules.has(WordKind::Placeholder, l))
        || rules
            .words(WordKind::Placeholder)
            .any(|p| host_text.starts_with(p))
        || (labels.len() > host.len() && is_block_wide(rules, host))
        || (host.len() >= 2 && matches!(host[0], "no" | "not" | "none"))
    {
        add(
            v,
            "placeholder",
            "a placeholder name for an unassigned address",
            3,
        );
    }
}

/// The host part names the whole block, not a host: no digit, and every word of it a
/// block-wide word (`static`, `host`, `none`: the `bare` list) or a hard access word, with
/// at least one of the former or a dynamic-pool word (`static.`, `dynamic.adsl.`, `pool.`).
/// A hard word alone (`wireless.`, `fiber.`) may be a device someone named.
fn is_block_wide(rules: &Rules, host: &[&str]) -> bool {
    let mut placeholder = false;
    for label in host {
        if label.is_empty() || !label.bytes().all(|b| b.is_ascii_alphabetic() || b == b'-') {
            return false;
        }
        for tok in alpha_tokens(label) {
            if rules.has(WordKind::Bare, tok) || rules.has(WordKind::Dynamic, tok) {
                placeholder = true;
            } else if !rules.has(WordKind::Hard, tok) {
                return false;
            }
        }
    }
    placeholder
}
