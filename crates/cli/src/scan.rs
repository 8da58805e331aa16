//! `ptraudit scan`: the arguments, the engine's configuration from them, the output
//! writers, and the run. Checkpointed runs are in [`checkpoint`]; the engine run shared
//! with `demo` is in [`mod@execute`].

mod checkpoint;
mod execute;

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use clap::{Args, ValueEnum};
use ptraudit_report::{
    AtomicFile, CheckpointFile, Format, Summary, Writer, check_output, dataset_metadata,
    output_format,
};
use ptraudit_scan::{
    ForwardMode, JobRequest, Order, PrefixLens, RateLimit, ScanConfig, ScanJob, ScanStats, Shard,
    argv_with_shard, fill_shard, shard_from_env,
};

use self::checkpoint::{CheckpointRun, scan_checkpointed};
pub(crate) use self::execute::execute;
use crate::{DnsArgs, Failure, exit, runtime, usage};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum OrderArg {
    /// Ascending addresses.
    Linear,
    /// A seeded pseudo-random permutation (spreads load over a provider's servers).
    Random,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ForwardArg {
    /// A for IPv4 addresses, AAAA for IPv6.
    Matching,
    /// Both A and AAAA for every name.
    Both,
}

/// Arguments of `ptraudit scan`.
#[derive(Debug, Args)]
pub(crate) struct ScanArgs {
    /// Targets: CIDRs (198.18.0.0/24, 2001:db8::/120), addresses, ranges (A-B).
    #[arg(value_name = "TARGET")]
    targets: Vec<String>,
    /// Read targets from FILE, one per line, # comments; `-` for stdin. Repeatable.
    #[arg(short = 'i', long = "input", value_name = "FILE")]
    inputs: Vec<PathBuf>,
    /// Skip the targets listed in FILE (same syntax). Repeatable.
    #[arg(long, value_name = "FILE")]
    exclude: Vec<PathBuf>,
    #[command(flatten)]
    dns: DnsArgs,
    #[command(flatten)]
    rules: crate::classify::RulesArg,
    #[command(flatten)]
    dnsbl: crate::dnsbl::DnsblArgs,
    /// Queries per second at most, over all resolvers. Default: no limit when every
    /// resolver is on loopback, 500 otherwise (polite to a shared resolver).
    #[arg(long, value_name = "QPS")]
    rate: Option<u32>,
    /// Queries in flight at most, per resolver. Below it, each resolver's congestion
    /// window finds the depth that resolver takes without dropping (halved on loss,
    /// grown while answers come back), so a slow one holds only its own share; raise it
    /// for distant resolvers (high RTT).
    #[arg(long, value_name = "N", default_value_t = 200)]
    concurrency: usize,
    /// Scan only part I of N (0 <= I < N): N runs with I = 0..N-1 cover every address once.
    /// `auto`: from the environment (a Slurm array task, a Kubernetes Indexed Job with
    /// PTRAUDIT_SHARDS, or PTRAUDIT_SHARD=I/N). `{shard}` and `{shards}` in -o,
    /// --checkpoint and --summary paths become I and N.
    #[arg(long, value_name = "I/N|auto")]
    shard: Option<String>,
    /// Visiting order.
    #[arg(long, value_enum, default_value = "linear")]
    order: OrderArg,
    /// Seed of the random order (shards of one scan must use the same seed).
    #[arg(long, value_name = "N", default_value_t = 1)]
    seed: u64,
    /// Forward records to ask for each PTR name.
    #[arg(long, value_enum, default_value = "matching")]
    forward: ForwardArg,
    /// Write rows to FILE instead of stdout (CSV); the format follows the extension
    /// (.csv, .parquet, .jsonl/.ndjson). Repeatable: several formats from one scan. Each
    /// file appears only when complete.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    outputs: Vec<PathBuf>,
    /// Format for stdout, or for -o files whose extension says nothing.
    #[arg(long, value_name = "csv|parquet|jsonl")]
    format: Option<String>,
    /// Write the per-prefix summary to FILE (CSV).
    #[arg(long, value_name = "FILE")]
    summary: Option<PathBuf>,
    /// Overwrite existing output files.
    #[arg(long)]
    force: bool,
    /// Record progress in FILE (every 2 s and at the end), so an interrupted scan can be
    /// continued with --resume FILE. Needs -o.
    #[arg(long, value_name = "FILE")]
    checkpoint: Option<PathBuf>,
    /// Continue the scan recorded in FILE: same targets, options and output files.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with_all = ["targets", "inputs", "exclude", "outputs", "checkpoint", "summary"]
    )]
    resume: Option<PathBuf>,
    /// Summary prefix length for IPv4.
    #[arg(long, value_name = "LEN", default_value_t = 24)]
    prefix_v4: u8,
    /// Summary prefix length for IPv6.
    #[arg(long, value_name = "LEN", default_value_t = 64)]
    prefix_v6: u8,
    /// IPv6 targets holding more addresses than this are walked (RFC 8020: the ip6.arpa
    /// tree, pruned at every NXDOMAIN) instead of brute-forced.
    #[arg(long, value_name = "N", default_value_t = 1 << 20)]
    max_v6: u64,
    /// Walk the reverse tree for every target, IPv4 too (sparse space): NXDOMAIN at a
    /// node prunes everything below it. IPv4 rows are still written for every address.
    #[arg(long, conflicts_with = "no_walk")]
    walk: bool,
    /// Never walk: brute force only (IPv6 above --max-v6 is then refused).
    #[arg(long)]
    no_walk: bool,
    /// A walk stops descending after this many queries; the nodes left are reported
    /// (rows with fcrdns_reason walk-budget).
    #[arg(long, value_name = "N")]
    max_queries: Option<u64>,
    /// Forward answers kept for names shared by several addresses (oldest dropped first):
    /// the scan's memory beyond its window. Lower it on small machines.
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    cache_names: usize,
    /// Judge each name alone: no neighbourhood templates (by default the names of each
    /// summary prefix are also judged together, in linear scans and walks).
    #[arg(long)]
    no_templates: bool,
    /// No progress, no summary table on stderr.
    #[arg(short, long)]
    quiet: bool,
}

/// Opens the writers for `-o` paths (stdout when there is none).
fn open_writers(
    outputs: &[PathBuf],
    format: Option<&str>,
    force: bool,
) -> Result<Vec<Writer>, Failure> {
    if outputs.is_empty() {
        let f = match format {
            Some(name) => output_format(Path::new(""), Some(name)).map_err(usage)?,
            None => Format::Csv,
        };
        let w = Writer::open(None, f, force).map_err(|e| runtime(anyhow!(e)))?;
        return Ok(vec![w]);
    }
    let mut writers = Vec::new();
    for p in outputs {
        let f = output_format(p, format).map_err(usage)?;
        check_output(p, force).map_err(usage)?;
        writers.push(Writer::open(Some(p), f, force).map_err(|e| usage(anyhow!(e)))?);
    }
    Ok(writers)
}

/// The scan the arguments ask for ([`ScanJob::prepare`]).
fn prepare(args: &ScanArgs) -> Result<ScanJob, Failure> {
    let request = JobRequest {
        targets: &args.targets,
        inputs: &args.inputs,
        exclude: &args.exclude,
        shard: match &args.shard {
            Some(s) => s.parse().map_err(usage)?,
            None => Shard::ALL,
        },
        order: match args.order {
            OrderArg::Linear => Order::Linear,
            OrderArg::Random => Order::Random { seed: args.seed },
        },
        max_v6: args.max_v6,
        walk: args.walk,
        no_walk: args.no_walk,
        max_queries: args.max_queries,
        templates: !args.no_templates,
    };
    ScanJob::prepare(&request, |v6| {
        if !args.quiet {
            eprintln!(
                "ptraudit: the IPv6 targets hold {v6} addresses (more than --max-v6 {}): \
                 walking the ip6.arpa tree (RFC 8020) instead of brute force",
                args.max_v6
            );
        }
    })
    .map_err(usage)
}

pub(crate) fn run(mut args: ScanArgs) -> Result<u8, Failure> {
    if let Some(path) = &args.resume {
        return checkpoint::resume(path);
    }
    // The arguments after `ptraudit scan`, kept in a checkpoint to repeat the same scan:
    // with the shard resolved and the paths' placeholders filled in, so a resume needs
    // neither the batch engine's environment nor the placeholders.
    let raw: Vec<String> = std::env::args().skip(2).collect();
    let shard = match args.shard.as_deref() {
        Some("auto") => shard_from_env(|k| std::env::var(k).ok()).map_err(usage)?,
        _ => Shard::ALL,
    };
    let argv = if args.shard.as_deref() == Some("auto") {
        argv_with_shard(raw, shard)
    } else {
        raw
    };
    fill_placeholders(&mut args, shard)?;
    // A task run again with the same command line (Slurm requeues a failed array task,
    // Kubernetes replaces a failed pod with the same index) continues its checkpoint.
    if let Some(cp) = args.checkpoint.clone()
        && cp.exists()
    {
        return checkpoint::rerun(&cp, &argv, args.quiet);
    }
    run_scan(args, argv, None)
}

/// Fills `{shard}`/`{shards}` in the output, checkpoint and summary paths, and records
/// the resolved shard; placeholders without `--shard` are an error (every task would
/// write the same file).
fn fill_placeholders(args: &mut ScanArgs, shard: Shard) -> Result<(), Failure> {
    let has = |p: &Path| p.to_string_lossy().contains("{shard");
    let mut paths = args
        .outputs
        .iter()
        .chain(&args.checkpoint)
        .chain(&args.summary);
    if let Some(p) = paths.find(|p| has(p))
        && args.shard.is_none()
    {
        return Err(usage(anyhow!(
            "{}: {{shard}} in a path needs --shard (I/N or auto)",
            p.display()
        )));
    }
    if args.shard.as_deref() == Some("auto") {
        args.shard = Some(shard.to_string());
    }
    let shard: Shard = match &args.shard {
        Some(s) => s.parse().map_err(usage)?,
        None => return Ok(()),
    };
    let fix = |p: &mut PathBuf| *p = PathBuf::from(fill_shard(&p.to_string_lossy(), shard));
    args.outputs.iter_mut().for_each(fix);
    args.checkpoint.iter_mut().for_each(fix);
    args.summary.iter_mut().for_each(fix);
    Ok(())
}

/// The rate limit ([`RateLimit::choose`]); warns when a high rate goes to a resolver that
/// is not local.
fn rate_for(
    given: Option<u32>,
    resolvers: &[std::net::SocketAddr],
) -> Result<Option<NonZeroU32>, Failure> {
    let limit = RateLimit::choose(given, resolvers).map_err(usage)?;
    if let (Some(r), false) = (limit.qps, limit.strained.is_empty()) {
        let public: Vec<String> = limit.strained.iter().map(ToString::to_string).collect();
        eprintln!(
            "ptraudit: warning: {r} queries/s to {} — a resolver that is not yours; its \
             operator and the address owners' DNS servers carry this load",
            public.join(", ")
        );
    }
    Ok(limit.qps)
}

/// The engine's configuration from the arguments, checked.
fn scan_config(args: &ScanArgs, rate: Option<NonZeroU32>) -> Result<ScanConfig, Failure> {
    if args.concurrency == 0 {
        return Err(usage(anyhow!("--concurrency must be at least 1, got 0")));
    }
    let mut config = ScanConfig::default();
    config.rules = args.rules.load()?;
    config.concurrency = args.concurrency;
    config.rate = rate;
    config.forward = match args.forward {
        ForwardArg::Matching => ForwardMode::Matching,
        ForwardArg::Both => ForwardMode::Both,
    };
    config.prefix = PrefixLens::new(args.prefix_v4, args.prefix_v6)
        .map_err(|e| usage(anyhow!("--prefix-v4/--prefix-v6: {e}")))?;
    config.dnsbl = args.dnsbl.parse()?;
    config.cache_capacity = args.cache_names;
    Ok(config)
}

/// How a scan into its outputs ended.
enum Ended {
    /// Every address done: the outputs are in place.
    Complete(ScanStats, Box<Summary>),
    /// Stopped by a signal; the exit status says so.
    Interrupted,
}

fn run_scan(
    args: ScanArgs,
    argv: Vec<String>,
    resumed: Option<CheckpointFile>,
) -> Result<u8, Failure> {
    let prepared = prepare(&args)?;
    let resolvers = args.dns.resolvers()?;
    let rate = rate_for(args.rate, &resolvers)?;
    let config = scan_config(&args, rate)?;
    let started = std::time::SystemTime::now();
    // Evaluated when the outputs are closed (it holds the end time).
    let metadata = {
        let (config, resolvers) = (config.clone(), resolvers.clone());
        let rules = args.rules.path().map(Path::to_path_buf);
        let prepared = &prepared;
        move || {
            let rules = rules
                .as_deref()
                .and_then(|p| std::fs::read_to_string(p).ok());
            dataset_metadata(prepared, &config, &resolvers, rules.as_deref(), started)
        }
    };
    let mut seen = std::collections::HashSet::new();
    if let Some(p) = args.outputs.iter().find(|p| !seen.insert(*p)) {
        return Err(usage(anyhow!("{} is given twice with -o", p.display())));
    }
    if args.checkpoint.is_some() && args.outputs.is_empty() {
        return Err(usage(anyhow!(
            "--checkpoint needs -o FILE: rows written to stdout cannot be resumed"
        )));
    }
    if resumed.is_none() {
        for p in args.outputs.iter().chain(&args.summary) {
            check_output(p, args.force).map_err(usage)?;
        }
    }
    // The probe asks what the scan will: the first target's PTR.
    let first = prepared
        .targets
        .ranges()
        .next()
        .map(|(a, _)| a)
        .ok_or_else(|| usage(anyhow!("no targets")))?;
    let client = args.dns.client(resolvers, first)?;
    let total = prepared.total();
    let what = prepared.what();
    crate::dnsbl::warn_volume(
        &config.dnsbl,
        u64::try_from(prepared.targets.len()).unwrap_or(u64::MAX),
    );
    let ended = match &args.checkpoint {
        None => scan_to_files(&args, client, config, &prepared, &metadata)?,
        Some(cp_path) => {
            let checkpoint = CheckpointRun {
                argv,
                resumed,
                path: cp_path,
            };
            scan_checkpointed(&args, checkpoint, client, config, &prepared, &metadata)?
        }
    };
    let Ended::Complete(stats, summary) = ended else {
        return Ok(exit::INTERRUPTED);
    };
    if let Some(path) = &args.summary {
        write_summary(&summary, path)?;
    }
    if !args.quiet {
        eprint!("{}", summary.table(10));
        eprintln!(
            "ptraudit: {} addresses, {} queries ({} forward answers from cache)",
            stats.addresses, stats.queries, stats.cache_hits
        );
        eprintln!(
            "ptraudit: {} multi-ptr-unconfirmed (pass, but another PTR name does not lead back: \
             mail servers see them as unknown part of the time; `ptraudit check ADDR` explains)",
            summary.totals().multi_ptr_unconfirmed
        );
        for p in &args.outputs {
            eprintln!("ptraudit: rows written to {}", p.display());
        }
        if stats.retried > 0 {
            eprintln!(
                "ptraudit: final pass: {} temperror or undecided rows looked up again, {} resolved",
                stats.retried, stats.recovered
            );
        }
    }
    if stats.retry_abandoned {
        eprintln!(
            "ptraudit: WARNING: the resolvers stopped answering (the final pass got no reply \
             at all); {} rows are temperror — scan again when the resolvers are back",
            stats.temperror
        );
    }
    if stats.dnsbl_disabled > 0 {
        eprintln!(
            "ptraudit: the files are complete, but {} DNSBL(s) were switched off midway (see above): exit 3",
            stats.dnsbl_disabled
        );
        return Ok(exit::RUNTIME);
    }
    if stats.interrupted {
        eprintln!(
            "ptraudit: INTERRUPTED after {} rows ({total} {what} planned): the files are valid and hold those rows only \
             (scan with --checkpoint FILE to be able to resume)",
            stats.addresses,
        );
        return Ok(exit::INTERRUPTED);
    }
    Ok(exit::OK)
}

/// Writes the per-prefix summary CSV, complete or not at all.
pub(crate) fn write_summary(summary: &Summary, path: &Path) -> Result<(), Failure> {
    let mut file = AtomicFile::create(path, true).map_err(runtime)?;
    summary
        .write_csv(&mut file)
        .with_context(|| format!("writing {}", path.display()))
        .map_err(runtime)?;
    file.commit()
        .with_context(|| format!("finishing {}", path.display()))
        .map_err(runtime)?;
    Ok(())
}

/// Rows straight into the output files (or stdout); each file appears when complete.
/// An interrupted scan still closes its files valid (reported as complete with
/// `stats.interrupted`).
fn scan_to_files(
    args: &ScanArgs,
    client: ptraudit_dns::ClientBuilder,
    config: ScanConfig,
    prepared: &ScanJob,
    metadata: &dyn Fn() -> Vec<(String, String)>,
) -> Result<Ended, Failure> {
    let writers = open_writers(&args.outputs, args.format.as_deref(), args.force)?;
    let mut outputs = (writers, Summary::default());
    let stats = match execute(
        client,
        config,
        prepared,
        &mut outputs,
        args.quiet,
        &|_, _| false,
    ) {
        Ok(stats) => stats,
        Err(f) => {
            for partial in outputs.0.iter().filter_map(Writer::partial_path) {
                eprintln!(
                    "ptraudit: the scan did not complete; {} holds the rows written so \
                     far and is NOT a complete result",
                    partial.display()
                );
            }
            return Err(f);
        }
    };
    let (writers, summary) = outputs;
    close_writers(writers, &metadata())?;
    Ok(Ended::Complete(stats, Box::new(summary)))
}

/// Completes each writer: Parquet footer (with `metadata`), flush, rename into place.
pub(crate) fn close_writers(
    writers: Vec<Writer>,
    metadata: &[(String, String)],
) -> Result<(), Failure> {
    for w in writers {
        let partial = w.partial_path();
        w.close_with(metadata)
            .map_err(|e| anyhow!(e))
            .with_context(|| match &partial {
                Some(p) => format!("finishing {}", p.display()),
                None => "writing rows".to_string(),
            })
            .map_err(runtime)?;
    }
    Ok(())
}
