//! `--dnsbl` on `scan` and `check`: the lists, their test entries before any work, and
//! what the run says about them at the end.

use anyhow::anyhow;
use clap::Args;
use ptraudit_scan::dnsbl::{Dnsbl, ListState, error_advice};
use ptraudit_scan::{Scanner, dnsbl_lists};

use crate::{Failure, runtime, usage};

/// The DNSBL options.
#[derive(Debug, Clone, Args)]
pub(crate) struct DnsblArgs {
    /// Look every address up in a DNS blocklist: a preset (spamhaus-zen, spamhaus-dqs:KEY,
    /// barracuda, spamcop, mailspike, psbl), any list's ZONE (its codes reported as they
    /// are), or ZONE=PRESET for a mirror serving a preset's data. Repeatable.
    #[arg(long = "dnsbl", value_name = "LIST")]
    lists: Vec<String>,
}

impl DnsblArgs {
    /// The lists, checked ([`dnsbl_lists`]): exit 2 naming a bad value, a repeated list,
    /// or too many.
    pub(crate) fn parse(&self) -> Result<Vec<Dnsbl>, Failure> {
        dnsbl_lists(&self.lists).map_err(usage)
    }
}

/// Warns when a run would go past a public list's free-use terms.
pub(crate) fn warn_volume(lists: &[Dnsbl], addresses: u64) {
    for l in lists.iter().filter(|l| l.public) {
        if let Some(limit) = l.preset.and_then(|p| p.free_queries_per_day())
            && addresses > limit
        {
            eprintln!(
                "ptraudit: warning: {addresses} lookups in {} ({}) exceed its free use \
                 (under {limit} queries a day, non-commercial): use a DQS key \
                 (--dnsbl spamhaus-dqs:KEY) or a mirror (--dnsbl ZONE={}), or spread the scan \
                 over days",
                l.name, l.zone, l.name
            );
        }
    }
}

/// Asks each list's test entries; exit 2 with what to do when one fails.
pub(crate) async fn test_entries(scanner: &Scanner) -> Result<(), Failure> {
    if scanner.lists().is_empty() {
        return Ok(());
    }
    let problems = scanner.test_lists().await.map_err(runtime)?;
    if problems.is_empty() {
        return Ok(());
    }
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    Err(usage(anyhow!(
        "{}\nNo address was looked up: a list that fails its test entries would make every answer meaningless.",
        text.join("\n")
    )))
}

/// Per-list counts at the end, and the lists an error answer switched off (loudly).
/// Returns true when one was switched off: its rows are unknown, the run failed.
pub(crate) fn report_lists(lists: &[std::sync::Arc<ListState>], quiet: bool) -> bool {
    let mut failed = false;
    for s in lists {
        if !quiet {
            eprintln!(
                "ptraudit: DNSBL {} ({}): {} queries, {} addresses listed, {} unknown",
                s.list.name,
                s.list.zone,
                s.queries(),
                s.listed(),
                s.unknown()
            );
        }
        if let Some((ip, code)) = s.error() {
            failed = true;
            eprintln!(
                "ptraudit: DNSBL {} SWITCHED OFF after it answered {code} for {ip}: an error, not a \
                 listing ({}). Every later row has dnsbl_listed empty (unknown) for it; the \
                 listings found before stand.",
                s.list.name,
                error_advice(code)
            );
        }
    }
    failed
}
