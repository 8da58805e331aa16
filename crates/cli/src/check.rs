//! `ptraudit check IP`: the single-address walkthrough a person reads (its text:
//! [`ptraudit_report::walkthrough`]), and the exit status it ends with.

use std::net::IpAddr;

use anyhow::anyhow;
use clap::Args;
use ptraudit_report::walkthrough;
use ptraudit_scan::{Fcrdns, ScanConfig, Scanner};

use crate::{DnsArgs, Failure, exit, runtime, runtime_for_command, usage};

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
    print!("{}", walkthrough(&check, args.expect.as_deref(), &lists));
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
