//! `ptraudit demo`: the whole pipeline on the bundled fixtures, against the bundled
//! loopback DNS server. Nothing leaves the machine.

use std::path::PathBuf;

use anyhow::{Context, anyhow};
use clap::Args;
use ptraudit_report::{AtomicFile, Format, GroupBy, Report, Summary, Writer, render_html};
use ptraudit_scan::{Order, PrefixLens, ScanConfig, ScanJob, Shard, TargetSet};
use ptraudit_testdns::{Server, Zones, fixtures_dir, load_truth};

use crate::scan::{close_writers, execute, write_summary};
use crate::{Failure, exit, runtime, usage};

/// Arguments of `ptraudit demo`.
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Fixture folder (zones.txt, zones/, truth.csv).
    #[arg(long, value_name = "DIR", default_value_os_t = fixtures_dir())]
    fixtures: PathBuf,
    /// Where to write scan.csv, scan.parquet, summary.csv and report.html.
    #[arg(long, value_name = "DIR", default_value = "target/ptraudit-demo")]
    out: PathBuf,
    /// No progress output.
    #[arg(short, long)]
    quiet: bool,
}

pub(crate) fn run(args: DemoArgs) -> Result<u8, Failure> {
    // Canonical, so the paths printed below are readable.
    let fixtures = args
        .fixtures
        .canonicalize()
        .unwrap_or_else(|_| args.fixtures.clone());
    let manifest = fixtures.join("zones.txt");
    let zones = Zones::load_manifest(&manifest)
        .with_context(|| format!("loading the fixture zones from {}", manifest.display()))
        .map_err(usage)?;
    // The fixture's address ranges: every address its ground truth describes.
    let mut targets = TargetSet::new();
    for t in load_truth(&fixtures).map_err(usage)? {
        targets.add_spec(&t.ip.to_string()).map_err(usage)?;
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))
        .map_err(runtime)?;
    let out = args.out.canonicalize().unwrap_or_else(|_| args.out.clone());
    let server = Server::builder()
        .zones(zones)
        .start()
        .context("starting the bundled DNS server")
        .map_err(runtime)?;
    eprintln!(
        "ptraudit demo: bundled DNS server on {} serving {}",
        server.udp_addr(),
        manifest.display()
    );
    eprintln!(
        "ptraudit demo: scanning {} addresses (198.18.0.0/20 and IPv6 hosts in 2001:db8::/32)",
        targets.len()
    );
    let csv_path = out.join("scan.csv");
    let parquet_path = out.join("scan.parquet");
    let summary_path = out.join("summary.csv");
    let html_path = out.join("report.html");
    let writers = vec![
        Writer::open(Some(&csv_path), Format::Csv, true).map_err(|e| runtime(anyhow!(e)))?,
        Writer::open(Some(&parquet_path), Format::Parquet, true)
            .map_err(|e| runtime(anyhow!(e)))?,
    ];
    let client = ptraudit_dns::ClientBuilder::new(vec![server.udp_addr()]);
    let prepared = ScanJob {
        targets,
        shard: Shard::ALL,
        order: Order::Linear,
        walk: None,
        templates: true,
    };
    let report = Report::new(GroupBy::Prefix(PrefixLens::DEFAULT));
    let mut outputs = (writers, (Summary::default(), report));
    let stats = execute(
        client,
        ScanConfig::default(),
        &prepared,
        &mut outputs,
        args.quiet,
        &|_, _| false,
    )?;
    let (writers, (summary, report)) = outputs;
    close_writers(writers, &[])?;
    write_summary(&summary, &summary_path)?;
    let page = render_html(
        &report,
        "ptraudit demo: the fixture network",
        &["scan.parquet".to_string()],
    );
    let mut file = AtomicFile::create(&html_path, true).map_err(runtime)?;
    std::io::Write::write_all(&mut file, page.as_bytes())
        .with_context(|| format!("writing {}", html_path.display()))
        .map_err(runtime)?;
    file.commit().map_err(runtime)?;
    if stats.interrupted {
        eprintln!("ptraudit demo: interrupted; the files hold the rows completed so far");
        return Ok(exit::INTERRUPTED);
    }
    if stats.addresses != prepared.targets.len() as u64 {
        return Err(runtime(anyhow!(
            "the scan wrote {} rows for {} addresses",
            stats.addresses,
            prepared.targets.len()
        )));
    }
    println!("{}", summary.table(8));
    println!(
        "{} addresses: {} FCrDNS pass, {} fail, {} without PTR, {} errors; {} queries",
        stats.addresses, stats.pass, stats.fail, stats.no_ptr, stats.temperror, stats.queries
    );
    println!("rows:    {}", csv_path.display());
    println!("         {}", parquet_path.display());
    println!("summary: {}", summary_path.display());
    println!("report:  {} (open it in a browser)", html_path.display());
    println!("\nTo walk through one address by hand, serve the fixtures and ask:");
    println!(
        "  cargo run --release -p ptraudit-testdns -- --zones {} --listen 127.0.0.1:5353 &",
        manifest.display()
    );
    println!("  cargo run --release -- check 198.18.5.66 --resolver 127.0.0.1:5353");
    Ok(exit::OK)
}
