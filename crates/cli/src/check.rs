//! `ptraudit check IP`: the single-address walkthrough a person reads.

use std::net::IpAddr;

use anyhow::anyhow;
use clap::Args;
use ptraudit_dns::reverse_name_string;
use ptraudit_scan::{Check, Fcrdns, FcrdnsReason, ForwardAnswer, ScanConfig, Scanner, Status};

use crate::{DnsArgs, Failure, exit, runtime, runtime_for_command, usage};

/// `println!` for the walkthrough, each line with its control characters shown visibly
/// (`\\DDD`): PTR and CNAME names come from strangers' zones. Names from DNS are already
/// escaped by the DNS client; this also holds for whatever else reaches the text.
macro_rules! say {
    () => {
        println!()
    };
    ($($arg:tt)*) => {
        for line in format!($($arg)*).split('\n') {
            println!("{}", ptraudit_report::printable(line));
        }
    };
}

/// Arguments of `ptraudit check`.
#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// The address to check (IPv4 or IPv6).
    #[arg(value_name = "IP")]
    ip: String,
    /// The PTR name you want this address to have; says whether it already has it.
    #[arg(long, value_name = "NAME")]
    expect: Option<String>,
    #[command(flatten)]
    dns: DnsArgs,
    #[command(flatten)]
    rules: crate::classify::RulesArg,
    #[command(flatten)]
    dnsbl: crate::dnsbl::DnsblArgs,
}

pub(crate) fn run(args: CheckArgs) -> Result<u8, Failure> {
    let ip: IpAddr = args
        .ip
        .trim()
        .parse()
        .map_err(|_| usage(anyhow!("{:?} is not an IP address", args.ip)))?;
    let mut config = ScanConfig::default();
    config.rules = args.rules.load()?;
    config.dnsbl = args.dnsbl.parse()?;
    let builder = args.dns.client(args.dns.resolvers()?, ip)?;
    let rt = runtime_for_command()?;
    let (check, lists) = rt.block_on(async {
        let client = builder.build().map_err(runtime)?;
        let scanner = Scanner::new(client, config);
        crate::dnsbl::test_entries(&scanner).await?;
        let check = scanner.check(ip).await.map_err(runtime)?;
        Ok::<_, Failure>((check, scanner.lists().to_vec()))
    })?;
    print_walkthrough(ip, &check, args.expect.as_deref());
    print_lists(&check, &lists);
    let row = &check.row;
    // Mail-ready: forward-confirmed, a custom name, and (when lists were checked) not
    // listed. A list that could not say leaves it undecided.
    Ok(match row.fcrdns {
        _ if row.dnsbl_listed == Some(true) => exit::CHECK_FAILED,
        _ if row.mail_ready() && !lists.is_empty() && row.dnsbl_listed.is_none() => exit::RUNTIME,
        _ if row.mail_ready() => exit::OK,
        Fcrdns::TempError => exit::RUNTIME,
        _ => exit::CHECK_FAILED,
    })
}

/// Step 5: each list's answer, what a listing means and what to do.
fn print_lists(check: &Check, lists: &[std::sync::Arc<ptraudit_scan::dnsbl::ListState>]) {
    use ptraudit_scan::dnsbl::{DnsblAnswer, error_advice};
    if lists.is_empty() {
        return;
    }
    say!("\n5. Blocklists");
    for (state, answer) in lists.iter().zip(&check.dnsbl) {
        let l = &state.list;
        match answer {
            DnsblAnswer::NotListed => say!("   {} ({}): not listed", l.name, l.zone),
            DnsblAnswer::Listed(codes) => {
                say!("   {} ({}): LISTED", l.name, l.zone);
                let mut advice = Vec::new();
                for &code in codes {
                    let (kind, text) = l.meaning(code);
                    say!("     {code}: {text}");
                    if let Some(p) = l.preset {
                        let a = p.advice(kind);
                        if !advice.contains(&a) {
                            advice.push(a);
                        }
                    }
                }
                for a in advice {
                    say!("     What to do: {a}");
                }
            }
            DnsblAnswer::Error(code) => say!(
                "   {} ({}): UNKNOWN: answered {code}, an error, not a listing: {}",
                l.name,
                l.zone,
                error_advice(*code)
            ),
            DnsblAnswer::Unknown(status) => say!(
                "   {} ({}): UNKNOWN: the lookup ended {status}; try again later",
                l.name,
                l.zone
            ),
            DnsblAnswer::Disabled => say!("   {} ({}): not asked", l.name, l.zone),
        }
    }
    let row = &check.row;
    match row.dnsbl_listed {
        Some(true) => say!("Mail-ready: NO: listed (see above), whatever the PTR says."),
        Some(false) if row.mail_ready() => say!(
            "Mail-ready: yes: forward-confirmed, a custom name, and on none of the lists checked."
        ),
        Some(false) => say!("Mail-ready: NO: not listed, but the PTR needs the fix above first."),
        None => say!("Mail-ready: undecided: a list could not answer."),
    }
}

/// The PTR names whose forward lookup of the address's family definitely does not
/// lead back (what makes a row `multi-ptr-unconfirmed`), in `ptr_all` order.
fn stale_names(ip: IpAddr, check: &Check) -> Vec<&str> {
    let matching = if ip.is_ipv4() {
        ptraudit_dns::RecordType::A
    } else {
        ptraudit_dns::RecordType::AAAA
    };
    check
        .forward
        .iter()
        .filter(|f| {
            f.rtype == matching
                && !f.addrs.contains(&ip)
                && matches!(f.status, Status::Answer | Status::NoData | Status::NxDomain)
        })
        .map(|f| f.name.as_str())
        .collect()
}

/// One line per forward lookup: the name, what it resolved to, whether that matches.
fn forward_line(ip: IpAddr, f: &ForwardAnswer) -> String {
    if f.status != Status::Answer {
        return format!("{} -> {} (no {} record)", f.name, f.status, f.rtype);
    }
    let addrs: Vec<String> = f.addrs.iter().map(ToString::to_string).collect();
    let verdict = if f.addrs.contains(&ip) {
        "matches"
    } else {
        "does not match"
    };
    let alias = if f.via_cname {
        " (through a CNAME)"
    } else {
        ""
    };
    format!("{} -> {}{alias}   {verdict}", f.name, addrs.join(", "))
}

fn print_walkthrough(ip: IpAddr, check: &Check, expect: Option<&str>) {
    let row = &check.row;
    let rtype = if ip.is_ipv4() { "A" } else { "AAAA" };
    let resolver = row.resolver.map_or("-".to_string(), |r| r.to_string());
    say!("Checking {ip} (resolver {resolver})\n");
    say!(
        "1. PTR lookup of {}",
        reverse_name_string(ip).trim_end_matches('.')
    );
    for c in &row.cname_chain {
        say!("   -> CNAME {c} (classless delegation, RFC 2317)");
    }
    if row.ptr_all.is_empty() {
        say!("   {}: no PTR record", row.ptr_status);
    } else {
        say!("   {}: {}", row.ptr_status, row.ptr_all.join(", "));
    }
    if !row.ptr_all.is_empty() {
        say!("2. Forward lookup ({rtype}) of each name");
        for f in &check.forward {
            say!("   {}", forward_line(ip, f));
        }
    }
    let ptr = row.ptr.as_deref().unwrap_or("");
    let reason = row.fcrdns_reason;
    let reason_text = reason.map_or("", |r| r.as_str());
    let stale = stale_names(ip, check).join(", ");
    let verdict = match row.fcrdns {
        Fcrdns::Pass if reason == Some(FcrdnsReason::MultiPtrUnconfirmed) => format!(
            "PASS for {ptr}, but flagged multi-ptr-unconfirmed: {ip} has {} PTR names and \
             {stale} does not resolve back to it",
            row.ptr_all.len()
        ),
        Fcrdns::Pass if reason == Some(FcrdnsReason::PtrTargetCname) => format!(
            "PASS: {ptr} resolves back to {ip}, but through an alias: a PTR should name the \
             host itself, not a CNAME (RFC 1912 section 2.1)"
        ),
        Fcrdns::Pass => format!("PASS: {ptr} resolves back to {ip}"),
        Fcrdns::Fail => match reason {
            Some(FcrdnsReason::ForwardMismatch) => format!("FAIL: {ptr} resolves, but not to {ip}"),
            Some(FcrdnsReason::ForwardNodata) => {
                format!("FAIL: {ptr} exists but has no {rtype} record")
            }
            Some(FcrdnsReason::ForwardNxdomain) => {
                format!("FAIL: {ptr} does not exist (NXDOMAIN)")
            }
            _ => format!("FAIL: {reason_text}"),
        },
        Fcrdns::NoPtr => format!("NO PTR: {ip} has no reverse name ({reason_text})"),
        Fcrdns::TempError => {
            format!("UNDECIDED: a lookup failed ({reason_text}); try again later")
        }
    };
    say!("3. FCrDNS: {verdict}");
    if let (Some(generic), Some(v)) = (row.generic, &check.classified) {
        say!(
            "4. Name: {} ({ptr})",
            if generic {
                "GENERIC, looks generated by the address owner"
            } else {
                "custom"
            }
        );
        for r in &v.reasons {
            say!("   - {}: {}", r.code, r.message);
        }
    }
    if let Some(expected) = expect {
        let e = expected.trim().trim_end_matches('.').to_ascii_lowercase();
        let has = row.ptr_all.contains(&e);
        say!(
            "   Expected PTR {e}: {}",
            if has { "present" } else { "NOT present" }
        );
    }
    say!();
    let owner = "The PTR record is set by whoever holds the address block (your ISP or \
                 cloud provider), not in your own DNS zone.";
    let target = expect.map_or("mail.example.com".to_string(), |e| {
        e.trim_end_matches('.').to_string()
    });
    match (row.fcrdns, row.generic) {
        // Before the plain pass: the flag makes an address with a custom name not
        // mail-ready (exit 1), since receivers refuse it part of the time.
        (Fcrdns::Pass, _) if reason == Some(FcrdnsReason::MultiPtrUnconfirmed) => {
            say!(
                "Result: NOT mail-ready: {ip} has several PTR names and a mail server sees only one. \
                 It asks getnameinfo, which returns one name, the first of an order resolvers rotate; \
                 whenever that is {stale}, its forward check fails and it calls the address unknown \
                 (Postfix logs \"connect from unknown[{ip}]\"; reject_unknown_client_hostname and \
                 similar checks refuse or defer the mail), part of the time."
            );
            say!(
                "What to do: remove the stale PTR record(s) ({stale}) so that {ip} has one PTR, {ptr} \
                 (RFC 1912 section 2.1: one PTR per address). {owner}"
            );
            if row.generic == Some(true) {
                say!(
                    "Then: {ptr} is generic as well; create {target} {rtype} {ip} in your zone and ask for the PTR {target}."
                );
            }
        }
        (Fcrdns::Pass, Some(false)) => {
            say!("Result: OK for sending mail: forward-confirmed and not generic.");
        }
        (Fcrdns::Pass, _) => {
            say!(
                "Result: FCrDNS passes, but the name is generic: blocklists (Spamhaus CSS, Barracuda) treat it as anonymous."
            );
            say!(
                "What to do: create {target} {rtype} {ip} in your zone first, then ask the address owner to set the PTR to {target}. {owner}"
            );
        }
        (Fcrdns::Fail, _) => {
            say!("Result: FCrDNS fails: mail servers will reject or distrust mail from {ip}.");
            match reason {
                Some(
                    FcrdnsReason::ForwardMismatch
                    | FcrdnsReason::ForwardNodata
                    | FcrdnsReason::ForwardNxdomain,
                ) => say!(
                    "What to do: give {ptr} an {rtype} record pointing to {ip} (in the zone of {ptr}), \
                     or have the PTR changed to a name you control that has one: create {target} {rtype} {ip} first, then ask for the PTR. {owner}"
                ),
                _ => say!("What to do: check the forward records of the PTR names."),
            }
        }
        (Fcrdns::NoPtr, _) => {
            say!(
                "Result: no PTR: most mail servers reject mail from {ip} (\"does not have a valid PTR record\")."
            );
            say!(
                "What to do: create {target} {rtype} {ip} first, then ask the address owner to set the PTR of {ip} to {target}. {owner}"
            );
        }
        (Fcrdns::TempError, _) => {
            say!(
                "Result: could not decide: a DNS lookup failed. Check the resolver and try again."
            );
        }
    }
}
