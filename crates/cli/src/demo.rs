//! `ptraudit demo`: the whole pipeline on the bundled fixtures, against the bundled
//! loopback DNS server. Nothing leaves the machine.

use std::path::PathBuf;

use anyhow::{Context, anyhow};
use clap::Args;
use ptraudit_report::{Format, Summary, Writer};
use ptraudit_scan::{Order, ScanConfig, Shard, TargetSet};
use ptraudit_testdns::{Server, Zones};

use crate::scan::{Outputs, Prepared, execute};
use crate::{Failure, default_fixtures, exit, runtime, usage};

/// Arguments of `ptraudit demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Fixture folder (zones.txt, zones/, truth.csv).
    #[arg(long, value_name = "DIR", default_value_os_t = default_fixtures())]
    fixtures: PathBuf,
    /// Where to write scan.csv and summary.csv.
    #[arg(long, value_name = "DIR", default_value = "target/ptraudit-demo")]
    out: PathBuf,
    /// No progress output.
    #[arg(short, long)]
    quiet: bool,
}

pub fn run(args: DemoArgs) -> Result<u8, Failure> {
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
    let truth_path = fixtures.join("truth.csv");
    let truth = std::fs::read_to_string(&truth_path)
        .with_context(|| format!("reading {}", truth_path.display()))
        .map_err(usage)?;
    let mut targets = TargetSet::new();
    for line in truth.lines().skip(1) {
        let ip = line.split(',').next().unwrap_or_default();
        targets
            .add_spec(ip)
            .with_context(|| format!("{}: bad address", truth_path.display()))
            .map_err(usage)?;
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))
        .map_err(runtime)?;
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
    let csv_path = args.out.join("scan.csv");
    let summary_path = args.out.join("summary.csv");
    let parquet_path = args.out.join("scan.parquet");
    let writers = vec![
        Writer::open(Some(&csv_path), Format::Csv, true).map_err(|e| runtime(anyhow!(e)))?,
        Writer::open(Some(&parquet_path), Format::Parquet, true)
            .map_err(|e| runtime(anyhow!(e)))?,
    ];
    let client = ptraudit_dns::ClientBuilder::new(vec![server.udp_addr()]);
    let prepared = Prepared {
        targets,
        shard: Shard::ALL,
        order: Order::Linear,
    };
    let mut outputs = Outputs {
        writers,
        summary: Summary::default(),
    };
    let stats = execute(
        client,
        ScanConfig::default(),
        &prepared,
        &mut outputs,
        args.quiet,
        &|_| false,
    )?;
    for w in outputs.writers {
        w.close().map_err(|e| runtime(anyhow!(e)))?;
    }
    let summary = outputs.summary;
    let mut file = ptraudit_report::AtomicFile::create(&summary_path, true).map_err(runtime)?;
    summary
        .write_csv(&mut file)
        .with_context(|| format!("writing {}", summary_path.display()))
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
    println!("\nTo walk through one address by hand, serve the fixtures and ask:");
    println!(
        "  cargo run --release -p ptraudit-testdns -- --zones {} --listen 127.0.0.1:5353 &",
        manifest.display()
    );
    println!("  cargo run --release -- check 198.18.5.66 --resolver 127.0.0.1:5353");
    Ok(exit::OK)
}
