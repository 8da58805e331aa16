//! `ptraudit check IP`: the single-address walkthrough a person reads.

use std::net::IpAddr;

use anyhow::anyhow;
use clap::Args;
use ptraudit_classify::Rules;
use ptraudit_dns::{Name, RecordType, Status, reverse_name_string};
use ptraudit_scan::{Fcrdns, Row, ScanConfig, Scanner, VecSink};

use crate::{DnsArgs, Failure, exit, runtime, runtime_for_command, usage};

/// Arguments of `ptraudit check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
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
}

fn name_from_text(text: &str) -> Option<Name> {
    Name::from_labels(text.split('.').filter(|l| !l.is_empty()).map(str::as_bytes)).ok()
}

pub fn run(args: CheckArgs) -> Result<u8, Failure> {
    let ip: IpAddr = args
        .ip
        .trim()
        .parse()
        .map_err(|_| usage(anyhow!("{:?} is not an IP address", args.ip)))?;
    let rules = args.rules.load()?;
    let builder = args.dns.client()?;
    let rt = runtime_for_command()?;
    let (row, details) = rt.block_on(async {
        let client = builder.build().map_err(runtime)?;
        let mut config = ScanConfig::default();
        config.rules = rules.clone();
        let scanner = Scanner::new(client.clone(), config);
        let mut sink = VecSink::default();
        scanner
            .run(std::iter::once(ip), 1, &mut sink, &mut |_| {})
            .await
            .map_err(runtime)?;
        let row = sink
            .0
            .pop()
            .ok_or_else(|| runtime(anyhow!("the scan produced no row")))?;
        // Per-name forward answers, for the walkthrough (the verdict comes from the row).
        let rtype = if ip.is_ipv4() {
            RecordType::A
        } else {
            RecordType::AAAA
        };
        let mut details = Vec::new();
        for text in &row.ptr_all {
            let line = match name_from_text(text) {
                Some(name) => match client.query(name, rtype).await {
                    Ok(o) if o.status == Status::Answer => {
                        let addrs: Vec<String> = o.addrs().map(|a| a.to_string()).collect();
                        let alias = o.cname_chain().next().is_some();
                        let verdict = if o.addrs().any(|a| a == ip) {
                            "matches"
                        } else {
                            "does not match"
                        };
                        format!(
                            "{text} -> {}{}   {verdict}",
                            addrs.join(", "),
                            if alias { " (through a CNAME)" } else { "" }
                        )
                    }
                    Ok(o) => format!("{text} -> {} (no {rtype} record)", o.status),
                    Err(e) => format!("{text} -> lookup failed: {e}"),
                },
                None => format!("{text} -> not a valid name"),
            };
            details.push(line);
        }
        Ok::<_, Failure>((row, details))
    })?;
    print_walkthrough(&rules, ip, &row, &details, args.expect.as_deref());
    Ok(match (row.fcrdns, row.generic) {
        (Fcrdns::Pass, Some(false)) => exit::OK,
        (Fcrdns::TempError, _) => exit::RUNTIME,
        _ => exit::CHECK_FAILED,
    })
}

fn print_walkthrough(
    rules: &Rules,
    ip: IpAddr,
    row: &Row,
    details: &[String],
    expect: Option<&str>,
) {
    let rtype = if ip.is_ipv4() { "A" } else { "AAAA" };
    let resolver = row.resolver.map_or("-".to_string(), |r| r.to_string());
    println!("Checking {ip} (resolver {resolver})\n");
    println!(
        "1. PTR lookup of {}",
        reverse_name_string(ip).trim_end_matches('.')
    );
    for c in &row.cname_chain {
        println!("   -> CNAME {c} (classless delegation, RFC 2317)");
    }
    if row.ptr_all.is_empty() {
        println!("   {}: no PTR record", row.ptr_status);
    } else {
        println!("   {}: {}", row.ptr_status, row.ptr_all.join(", "));
    }
    if !row.ptr_all.is_empty() {
        println!("2. Forward lookup ({rtype}) of each name");
        for d in details {
            println!("   {d}");
        }
    }
    let ptr = row.ptr.as_deref().unwrap_or("");
    let reason = row.fcrdns_reason.as_deref().unwrap_or("");
    let verdict = match row.fcrdns {
        Fcrdns::Pass if reason == "ptr-target-cname" => format!(
            "PASS: {ptr} resolves back to {ip}, but through an alias: a PTR should name the \
             host itself, not a CNAME (RFC 1912 section 2.1)"
        ),
        Fcrdns::Pass => format!("PASS: {ptr} resolves back to {ip}"),
        Fcrdns::Fail => match reason {
            "forward-mismatch" => format!("FAIL: {ptr} resolves, but not to {ip}"),
            "forward-nodata" => format!("FAIL: {ptr} exists but has no {rtype} record"),
            "forward-nxdomain" => format!("FAIL: {ptr} does not exist (NXDOMAIN)"),
            other => format!("FAIL: {other}"),
        },
        Fcrdns::NoPtr => format!("NO PTR: {ip} has no reverse name ({reason})"),
        Fcrdns::TempError => format!("UNDECIDED: a lookup failed ({reason}); try again later"),
    };
    println!("3. FCrDNS: {verdict}");
    if let Some(generic) = row.generic {
        let v = ptraudit_classify::classify_with(rules, Some(ip), ptr);
        println!(
            "4. Name: {} ({ptr})",
            if generic {
                "GENERIC, looks generated by the address owner"
            } else {
                "custom"
            }
        );
        for r in &v.reasons {
            println!("   - {}: {}", r.code, r.message);
        }
    }
    if let Some(expected) = expect {
        let e = expected.trim().trim_end_matches('.').to_ascii_lowercase();
        let has = row.ptr_all.contains(&e);
        println!(
            "   Expected PTR {e}: {}",
            if has { "present" } else { "NOT present" }
        );
    }
    println!();
    let owner = "The PTR record is set by whoever holds the address block (your ISP or \
                 cloud provider), not in your own DNS zone.";
    let target = expect.map_or("mail.example.com".to_string(), |e| {
        e.trim_end_matches('.').to_string()
    });
    match (row.fcrdns, row.generic) {
        (Fcrdns::Pass, Some(false)) => {
            println!("Result: OK for sending mail: forward-confirmed and not generic.");
        }
        (Fcrdns::Pass, _) => {
            println!(
                "Result: FCrDNS passes, but the name is generic: blocklists (Spamhaus CSS, Barracuda) treat it as anonymous."
            );
            println!(
                "What to do: create {target} {rtype} {ip} in your zone first, then ask the address owner to set the PTR to {target}. {owner}"
            );
        }
        (Fcrdns::Fail, _) => {
            println!("Result: FCrDNS fails: mail servers will reject or distrust mail from {ip}.");
            match reason {
                "forward-mismatch" | "forward-nodata" | "forward-nxdomain" => println!(
                    "What to do: give {ptr} an {rtype} record pointing to {ip} (in the zone of {ptr}), \
                     or have the PTR changed to a name you control that has one: create {target} {rtype} {ip} first, then ask for the PTR. {owner}"
                ),
                _ => println!("What to do: check the forward records of the PTR names."),
            }
        }
        (Fcrdns::NoPtr, _) => {
            println!(
                "Result: no PTR: most mail servers reject mail from {ip} (\"does not have a valid PTR record\")."
            );
            println!(
                "What to do: create {target} {rtype} {ip} first, then ask the address owner to set the PTR of {ip} to {target}. {owner}"
            );
        }
        (Fcrdns::TempError, _) => {
            println!(
                "Result: could not decide: a DNS lookup failed. Check the resolver and try again."
            );
        }
    }
}
