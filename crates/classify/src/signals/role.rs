//! What the leftmost label says the host is: a router or exchange interface
//! (`interface-name`, 0: its numbers are ports, bundles, VLANs or AS numbers, so no number
//! signal applies), or a server named for its role (`service-label:WORD`, −2; with the
//! address in the name too, `ambiguous`, 0).

use super::tokens::alpha_tokens;
use super::{Verdict, add, code_of};
use crate::rules::{Rules, WordKind};

/// `interface-name` when the leftmost label is a router or exchange interface; returns
/// whether it is.
pub(super) fn interface_name(rules: &Rules, host: &[&str], v: &mut Verdict) -> bool {
    let interface = host.first().is_some_and(|f| is_interface_label(rules, f));
    if interface {
        add(
            v,
            "interface-name",
            "a router or exchange interface name: its numbers are ports, bundles, VLANs or AS numbers",
            0,
        );
    }
    interface
}

/// `service-label:WORD` for a role word on the leftmost label `first`, unless it prefixes
/// a long instance ID (its longest run of digits, `longest`, is over four); `ambiguous`
/// too when the name also holds the address (`embedded`).
pub(super) fn service_label(
    rules: &Rules,
    first: &str,
    longest: Option<usize>,
    embedded: bool,
    v: &mut Verdict,
) {
    // `ns6359867` is an instance ID with a prefix, not a name server a person numbered.
    let role = alpha_tokens(first)
        .find(|t| rules.has(WordKind::Role, t))
        .filter(|_| longest.is_none_or(|l| l <= 4));
    if let Some(role) = role {
        add(
            v,
            code_of("service-label:", role),
            "the host is named for a service",
            -2,
        );
        if embedded {
            add(
                v,
                "ambiguous",
                "named for a service, yet it encodes the address",
                0,
            );
        }
    }
}

/// A router or exchange interface: the leftmost label starts with an interface prefix
/// followed by its number (`be-12345-cr01`, `xe-0-1-2`, `ae12`), or is an AS number
/// (`as64500-10g-ix`).
fn is_interface_label(rules: &Rules, first: &str) -> bool {
    let Some(tok) = alpha_tokens(first).next() else {
        return false;
    };
    let after = first.get(tok.len()..).unwrap_or("");
    let numbered = after.starts_with(|c: char| c.is_ascii_digit())
        || after
            .strip_prefix('-')
            .is_some_and(|a| a.starts_with(|c: char| c.is_ascii_digit()));
    if !first.starts_with(tok) || !numbered {
        return false;
    }
    if tok == "as" {
        return after.bytes().take_while(u8::is_ascii_digit).count() >= 3;
    }
    rules.has(WordKind::Interface, tok)
}
