//! What a reverse-tree walk found beyond its rows, in words: the counts, and the nodes
//! it reported rather than enumerated (wildcards, referrals, failures, the budget, empty
//! nodes).

use ptraudit_scan::WalkSummary;

/// What a walk found beyond its rows, one message a line, each starting `walk: `.
/// Nodes that were not explored are always said (even when `quiet`): they are what the
/// rows cannot show by absence.
pub fn walk_notes(w: &WalkSummary, quiet: bool) -> Vec<String> {
    const LIST: usize = 10;
    fn list<T: std::fmt::Display>(items: impl Iterator<Item = T>, n: usize) -> String {
        let shown: Vec<String> = items.take(LIST).map(|p| p.to_string()).collect();
        let more = n.saturating_sub(LIST);
        if more > 0 {
            format!("{} and {more} more", shown.join(", "))
        } else {
            shown.join(", ")
        }
    }
    let mut notes = Vec::new();
    if !quiet {
        notes.push(format!(
            "walk: {} node questions, {} pruned (NXDOMAIN), {} IPv4 rows inferred from them, {} wildcard probes",
            w.nodes, w.pruned, w.inferred, w.probes
        ));
    }
    if !w.wildcards.is_empty() {
        notes.push(format!(
            "walk: {} wildcard node(s), reported and not enumerated (rows with walk-wildcard): {}",
            w.wildcards.len(),
            list(w.wildcards.iter(), w.wildcards.len())
        ));
    }
    if !w.v4_wildcards.is_empty() {
        notes.push(format!(
            "walk: {} IPv4 node(s) answer a PTR above full depth (a wildcard, most likely); walked all the same: {}",
            w.v4_wildcards.len(),
            list(w.v4_wildcards.iter(), w.v4_wildcards.len())
        ));
    }
    if !w.referrals.is_empty() {
        notes.push(format!(
            "walk: {} node(s) answered by a referral (a delegation this resolver does not follow; lame if nobody serves it), not explored: {}",
            w.referrals.len(),
            list(w.referrals.iter(), w.referrals.len())
        ));
    }
    if !w.unexplored.is_empty() {
        notes.push(format!(
            "walk: {} node(s) FAILED after every retry and were NOT explored (rows with walk-unexplored; walk their prefixes again): {}",
            w.unexplored.len(),
            list(
                w.unexplored.iter().map(|(p, s)| format!("{p} ({s})")),
                w.unexplored.len()
            )
        ));
    }
    if !w.budget.is_empty() {
        notes.push(format!(
            "walk: --max-queries reached: {} node(s) NOT explored (rows with walk-budget): {}",
            w.budget.len(),
            list(w.budget.iter(), w.budget.len())
        ));
    }
    if !w.empty.is_empty() {
        notes.push(format!(
            "walk: {} node(s) exist but every child answered NXDOMAIN: empty zones, or a server that answers NXDOMAIN for empty non-terminals (RFC 8020 violation) and hides what is below; check with --no-walk: {}",
            w.empty.len(),
            list(w.empty.iter(), w.empty.len())
        ));
    }
    notes
}
