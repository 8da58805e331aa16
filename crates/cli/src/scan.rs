//! `ptraudit scan`.

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use clap::{Args, ValueEnum};
use ptraudit_report::{
    AtomicFile, CheckpointFile, Checkpointed, Format, JournalError, Summary, Writer,
};
use ptraudit_scan::{
    ForwardMode, Order, PrefixLens, ScanConfig, ScanStats, Scanner, Shard, Sink, Stop, TargetSet,
    Templated, WalkPlan, WalkSummary,
};

use crate::progress::Reporter;
use crate::{DnsArgs, Failure, exit, runtime, runtime_for_command, usage};

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs(list: &[&str]) -> Vec<std::net::SocketAddr> {
        list.iter().map(|a| a.parse().unwrap()).collect()
    }

    #[test]
    fn shard_auto_reads_slurm_kubernetes_or_ptraudit_shard_and_they_must_agree() {
        let env = |pairs: &[(&str, &str)]| {
            let map: std::collections::HashMap<String, String> = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            shard_from_env(move |k| map.get(k).cloned())
        };
        let s = |i, n| Shard { index: i, count: n };
        let slurm = [
            ("SLURM_ARRAY_TASK_ID", "7"),
            ("SLURM_ARRAY_TASK_MIN", "5"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ];
        assert_eq!(env(&slurm), Ok(s(2, 4)));
        // An array 10-16:2 has tasks 10, 12, 14, 16: task 14 is part 2 of 4.
        assert_eq!(
            env(&[
                ("SLURM_ARRAY_TASK_ID", "14"),
                ("SLURM_ARRAY_TASK_MIN", "10"),
                ("SLURM_ARRAY_TASK_STEP", "2"),
                ("SLURM_ARRAY_TASK_COUNT", "4"),
            ]),
            Ok(s(2, 4))
        );
        assert_eq!(
            env(&[("JOB_COMPLETION_INDEX", "3"), ("PTRAUDIT_SHARDS", "8")]),
            Ok(s(3, 8))
        );
        assert_eq!(env(&[("PTRAUDIT_SHARD", "0/2")]), Ok(s(0, 2)));
        let mut both = slurm.to_vec();
        both.push(("PTRAUDIT_SHARD", "2/4"));
        assert_eq!(env(&both), Ok(s(2, 4)));
        both.pop();
        both.push(("PTRAUDIT_SHARD", "1/4"));
        assert!(
            env(&both)
                .unwrap_err()
                .contains("says 2/4 but PTRAUDIT_SHARD says 1/4")
        );
        assert!(
            env(&[])
                .unwrap_err()
                .contains("no shard in the environment")
        );
        assert!(
            env(&[("JOB_COMPLETION_INDEX", "3")])
                .unwrap_err()
                .contains("PTRAUDIT_SHARDS")
        );
        assert!(env(&[("JOB_COMPLETION_INDEX", "8"), ("PTRAUDIT_SHARDS", "8")]).is_err());
        assert!(
            env(&[
                ("SLURM_ARRAY_TASK_ID", "x"),
                ("SLURM_ARRAY_TASK_COUNT", "2")
            ])
            .unwrap_err()
            .contains("SLURM_ARRAY_TASK_ID=\"x\"")
        );
        assert_eq!(
            resolved_argv(
                [
                    "--shard",
                    "auto",
                    "-o",
                    "p-{shard}-of-{shards}.csv",
                    "--shard=auto"
                ]
                .map(String::from)
                .to_vec(),
                s(2, 4)
            ),
            ["--shard", "2/4", "-o", "p-2-of-4.csv", "--shard=2/4"]
        );
    }

    #[test]
    fn default_rate_is_polite_off_the_machine_and_unlimited_on_loopback() {
        assert_eq!(
            rate_for(None, &addrs(&["127.0.0.1:53", "[::1]:53"])).unwrap(),
            None
        );
        assert_eq!(
            rate_for(None, &addrs(&["127.0.0.1:53", "192.0.2.53:53"])).unwrap(),
            NonZeroU32::new(DEFAULT_REMOTE_RATE)
        );
        assert_eq!(
            rate_for(Some(7), &addrs(&["192.0.2.53:53"])).unwrap(),
            NonZeroU32::new(7)
        );
        assert!(rate_for(Some(0), &addrs(&["127.0.0.1:53"])).is_err());
        assert!(is_local("10.1.2.3".parse().unwrap()) && is_local("fd00::1".parse().unwrap()));
        assert!(
            !is_local("192.0.2.53".parse().unwrap()) && !is_local("2001:db8::1".parse().unwrap())
        );
    }
}

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

/// The format of an output: its extension, else `--format`.
fn output_format(p: &Path, named: Option<&str>) -> Result<Format, Failure> {
    let named = match named {
        Some(f) => Some(Format::from_name(f).ok_or_else(|| {
            usage(anyhow!(
                "unknown --format {f:?}: expected csv, parquet or jsonl"
            ))
        })?),
        None => None,
    };
    Format::from_path(p).or(named).ok_or_else(|| {
        usage(anyhow!(
            "{}: cannot tell the format from the extension; use .csv, .parquet, .jsonl or --format",
            p.display()
        ))
    })
}

/// Opens the writers for `-o` paths (stdout when there is none).
fn open_writers(
    outputs: &[PathBuf],
    format: Option<&str>,
    force: bool,
) -> Result<Vec<Writer>, Failure> {
    if outputs.is_empty() {
        let f = match format {
            Some(name) => output_format(Path::new(""), Some(name))?,
            None => Format::Csv,
        };
        let w = Writer::open(None, f, force).map_err(|e| runtime(anyhow!(e)))?;
        return Ok(vec![w]);
    }
    let mut writers = Vec::new();
    for p in outputs {
        let f = output_format(p, format)?;
        check_output(p, force)?;
        writers.push(Writer::open(Some(p), f, force).map_err(|e| usage(anyhow!(e)))?);
    }
    Ok(writers)
}

/// Checks an output path before any work: its folder exists, and it does not exist unless
/// `--force`.
pub(crate) fn check_output(path: &Path, force: bool) -> Result<(), Failure> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.is_dir() {
        return Err(usage(anyhow!(
            "cannot write {}: folder {} does not exist",
            path.display(),
            dir.display()
        )));
    }
    if path.exists() && !force {
        return Err(usage(anyhow!(
            "{} exists (use --force to overwrite)",
            path.display()
        )));
    }
    Ok(())
}

/// Queries/s when `--rate` is not given and a resolver is not on this machine: polite to a
/// shared resolver and to the block owner's authoritative servers behind it.
const DEFAULT_REMOTE_RATE: u32 = 500;
/// Above this, a rate aimed at a public resolver earns a warning.
const HIGH_RATE: u32 = 2000;

fn is_local(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(a) => a.is_loopback() || a.is_private() || a.is_link_local(),
        std::net::IpAddr::V6(a) => {
            a.is_loopback()
                || (a.segments()[0] & 0xfe00) == 0xfc00
                || (a.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

/// The rate limit: `--rate` if given (0 refused), unlimited when every resolver is on
/// loopback, [`DEFAULT_REMOTE_RATE`] otherwise. Warns when a high rate goes to a public
/// resolver.
fn rate_for(
    given: Option<u32>,
    resolvers: &[std::net::SocketAddr],
) -> Result<Option<NonZeroU32>, Failure> {
    let public: Vec<String> = resolvers
        .iter()
        .filter(|r| !is_local(r.ip()))
        .map(|r| r.to_string())
        .collect();
    match given {
        Some(0) => Err(usage(anyhow!("--rate must be at least 1 query/s, got 0"))),
        Some(r) => {
            if r > HIGH_RATE && !public.is_empty() {
                eprintln!(
                    "ptraudit: warning: {r} queries/s to {} — a resolver that is not yours; its \
                     operator and the address owners' DNS servers carry this load",
                    public.join(", ")
                );
            }
            Ok(NonZeroU32::new(r))
        }
        None if resolvers.iter().all(|r| r.ip().is_loopback()) => Ok(None),
        None => Ok(NonZeroU32::new(DEFAULT_REMOTE_RATE)),
    }
}

/// FNV-1a, 64 bits: a stable digest of the scan's definition (no cryptographic claim:
/// it tells parts of different scans apart).
fn digest(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// The dataset metadata of every Parquet part (key-value metadata, `ptraudit.*`): what
/// scan the part belongs to and how it was made. `scan_id` is the same for every shard of
/// one scan (targets and the options that change results) and differs otherwise.
pub(crate) fn dataset_metadata(
    prepared: &Prepared,
    config: &ScanConfig,
    resolvers: &[std::net::SocketAddr],
    rules_file: Option<&Path>,
    started: std::time::SystemTime,
) -> Vec<(String, String)> {
    let targets: Vec<String> = prepared
        .targets
        .ranges()
        .map(|(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            }
        })
        .collect();
    let targets = targets.join(",");
    let rules = rules_file
        .and_then(|p| std::fs::read_to_string(p).ok())
        .map_or_else(|| "built-in".to_string(), |t| digest(&t));
    let options = format!(
        "forward={:?};prefix_v4={};prefix_v6={};walk={};max_queries={};dnsbl={};rules={rules};templates={}",
        config.forward,
        config.prefix.v4(),
        config.prefix.v6(),
        prepared.walk.is_some(),
        prepared
            .walk
            .as_ref()
            .and_then(WalkPlan::budget)
            .map_or("-".to_string(), |n| n.to_string()),
        config
            .dnsbl
            .iter()
            .map(|l| format!("{}@{}", l.name, l.zone))
            .collect::<Vec<_>>()
            .join(","),
        prepared.templates,
    );
    let scan_id = digest(&format!("{targets}|{options}"));
    let shown = if targets.len() <= 4096 {
        targets.clone()
    } else {
        format!(
            "{} ranges (digest {})",
            prepared.targets.ranges().count(),
            digest(&targets)
        )
    };
    let ended = ptraudit_report::rfc3339(std::time::SystemTime::now());
    vec![
        ("ptraudit.version".into(), env!("CARGO_PKG_VERSION").into()),
        ("ptraudit.schema".into(), ptraudit_scan::COLUMNS.join(",")),
        ("ptraudit.scan_id".into(), scan_id),
        ("ptraudit.targets".into(), shown),
        ("ptraudit.targets_digest".into(), digest(&targets)),
        ("ptraudit.shard".into(), prepared.shard.to_string()),
        ("ptraudit.options".into(), options),
        (
            "ptraudit.resolvers".into(),
            resolvers
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(","),
        ),
        (
            "ptraudit.started_at".into(),
            ptraudit_report::rfc3339(started),
        ),
        ("ptraudit.ended_at".into(), ended),
    ]
}

/// Everything a scan needs, checked before any query is sent.
pub(crate) struct Prepared {
    /// Addresses.
    pub(crate) targets: TargetSet,
    /// Shard.
    pub(crate) shard: Shard,
    /// Order.
    pub(crate) order: Order,
    /// The walk, when the targets are walked rather than brute-forced.
    pub(crate) walk: Option<WalkPlan>,
    /// Judge the names of each summary prefix together (linear order and walks only:
    /// rows are held until their prefix is complete, which only an ordered scan knows).
    pub(crate) templates: bool,
}

impl Prepared {
    /// Plan positions: addresses, or a walk's units (/24s and /64s).
    fn total(&self) -> u64 {
        match &self.walk {
            Some(w) => w.len(),
            None => self.targets.plan(self.shard, self.order).len(),
        }
    }

    /// What [`Prepared::total`] counts, for messages.
    fn what(&self) -> &'static str {
        if self.walk.is_some() {
            "blocks (/24s, /64s)"
        } else {
            "addresses"
        }
    }
}

fn prepare(args: &ScanArgs) -> Result<Prepared, Failure> {
    let mut targets = TargetSet::new();
    for t in &args.targets {
        targets.add_spec(t).map_err(usage)?;
    }
    for file in &args.inputs {
        targets.read_file(file).map_err(usage)?;
    }
    if targets.is_empty() {
        return Err(usage(anyhow!(
            "no targets: give CIDRs, addresses or ranges as arguments, or -i FILE"
        )));
    }
    let before = targets.len();
    let mut excluded = TargetSet::new();
    for file in &args.exclude {
        excluded.read_file(file).map_err(usage)?;
    }
    targets.subtract(&excluded);
    if targets.is_empty() {
        return Err(usage(anyhow!(
            "the exclude list covers every target ({before} addresses): nothing to scan"
        )));
    }
    let v6 = targets.len_v6();
    let large_v6 = v6 > u128::from(args.max_v6);
    if large_v6 && args.no_walk {
        return Err(usage(anyhow!(
            "the IPv6 targets hold {v6} addresses, more than --max-v6 {}: brute force over \
             IPv6 space is pointless; drop --no-walk to walk the ip6.arpa tree, or narrow \
             the range",
            args.max_v6
        )));
    }
    let shard = match &args.shard {
        Some(s) => s.parse().map_err(usage)?,
        None => Shard::ALL,
    };
    let order = match args.order {
        OrderArg::Linear => Order::Linear,
        OrderArg::Random => Order::Random { seed: args.seed },
    };
    let walking = args.walk || large_v6;
    if !walking && args.max_queries.is_some() {
        return Err(usage(anyhow!(
            "--max-queries applies to a walk: add --walk (or give IPv6 ranges above --max-v6)"
        )));
    }
    let walk = if walking {
        if matches!(order, Order::Random { .. }) {
            return Err(usage(anyhow!(
                "--order random does not apply to a walk (it follows the tree); drop it or \
                 add --no-walk"
            )));
        }
        if !args.quiet && !args.walk {
            eprintln!(
                "ptraudit: the IPv6 targets hold {v6} addresses (more than --max-v6 {}): \
                 walking the ip6.arpa tree (RFC 8020) instead of brute force",
                args.max_v6
            );
        }
        Some(
            targets
                .walk_plan(shard)
                .map_err(usage)?
                .max_queries(args.max_queries),
        )
    } else {
        None
    };
    let templates = !args.no_templates && matches!(order, Order::Linear);
    Ok(Prepared {
        targets,
        shard,
        order,
        walk,
        templates,
    })
}

pub(crate) fn run(mut args: ScanArgs) -> Result<u8, Failure> {
    if let Some(path) = &args.resume {
        return resume(path);
    }
    // The arguments after `ptraudit scan`, kept in a checkpoint to repeat the same scan:
    // with the shard resolved and the paths' placeholders filled in, so a resume needs
    // neither the batch engine's environment nor the placeholders.
    let raw: Vec<String> = std::env::args().skip(2).collect();
    let shard = match args.shard.as_deref() {
        Some("auto") => shard_from_env(|k| std::env::var(k).ok()).map_err(|e| usage(anyhow!(e)))?,
        _ => Shard::ALL,
    };
    let argv = if args.shard.as_deref() == Some("auto") {
        resolved_argv(raw, shard)
    } else {
        raw
    };
    fill_placeholders(&mut args, shard)?;
    // A task run again with the same command line (Slurm requeues a failed array task,
    // Kubernetes replaces a failed pod with the same index) continues its checkpoint.
    if let Some(cp) = args.checkpoint.clone()
        && cp.exists()
    {
        let file = CheckpointFile::load(&cp).map_err(journal_failure)?;
        if file.argv != argv {
            return Err(usage(anyhow!(
                "{} is the checkpoint of a different scan (`ptraudit scan {}`), not of this one \
                 (`ptraudit scan {}`): remove it, or give another --checkpoint",
                cp.display(),
                file.argv.join(" "),
                argv.join(" ")
            )));
        }
        if !args.quiet {
            eprintln!(
                "ptraudit: {} exists and belongs to this scan: continuing it",
                cp.display()
            );
        }
        return resume(&cp);
    }
    run_scan(args, argv, None)
}

/// The shard of this task from the batch engine's environment: a Slurm array task
/// (`SLURM_ARRAY_TASK_ID` from `SLURM_ARRAY_TASK_MIN` in steps of
/// `SLURM_ARRAY_TASK_STEP`, `SLURM_ARRAY_TASK_COUNT` tasks), a Kubernetes Indexed Job
/// (`JOB_COMPLETION_INDEX`, with the count in `PTRAUDIT_SHARDS`: the manifest sets it), or
/// `PTRAUDIT_SHARD=I/N`. Sources that are set must agree.
pub(crate) fn shard_from_env(get: impl Fn(&str) -> Option<String>) -> Result<Shard, String> {
    let num = |k: &str| -> Result<Option<u64>, String> {
        match get(k) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| format!("--shard auto: {k}={v:?} is not a number")),
        }
    };
    let mut found: Vec<(&str, Shard)> = Vec::new();
    let check = |index: u64, count: u64, from: &str| -> Result<Shard, String> {
        if count == 0 || index >= count {
            return Err(format!(
                "--shard auto: {from} gives part {index} of {count}, which is not a shard"
            ));
        }
        Ok(Shard { index, count })
    };
    if let Some(id) = num("SLURM_ARRAY_TASK_ID")? {
        let min = num("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
        let step = num("SLURM_ARRAY_TASK_STEP")?.unwrap_or(1).max(1);
        let count = num("SLURM_ARRAY_TASK_COUNT")?
            .ok_or("--shard auto: SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not")?;
        let offset = id.checked_sub(min).ok_or_else(|| {
            format!("--shard auto: SLURM_ARRAY_TASK_ID {id} is below SLURM_ARRAY_TASK_MIN {min}")
        })?;
        found.push((
            "the Slurm array",
            check(offset / step, count, "the Slurm array")?,
        ));
    }
    if let Some(index) = num("JOB_COMPLETION_INDEX")? {
        let count = num("PTRAUDIT_SHARDS")?.ok_or(
            "--shard auto: JOB_COMPLETION_INDEX is set (a Kubernetes Indexed Job) but \
             PTRAUDIT_SHARDS is not: set it to the Job's completions in the manifest",
        )?;
        found.push((
            "the Kubernetes Indexed Job",
            check(index, count, "the Indexed Job")?,
        ));
    }
    if let Some(v) = get("PTRAUDIT_SHARD") {
        let s: Shard = v
            .parse()
            .map_err(|e| format!("--shard auto: PTRAUDIT_SHARD: {e}"))?;
        found.push(("PTRAUDIT_SHARD", s));
    }
    match found.as_slice() {
        [] => Err(
            "--shard auto: no shard in the environment: run as a Slurm array task or a \
                   Kubernetes Indexed Job, or set PTRAUDIT_SHARD=I/N"
                .to_string(),
        ),
        [(_, s), rest @ ..] => match rest.iter().find(|(_, o)| o != s) {
            Some((other, o)) => Err(format!(
                "--shard auto: {} says {s} but {other} says {o}",
                found[0].0
            )),
            None => Ok(*s),
        },
    }
}

/// `argv` with `--shard auto` replaced by the shard and `{shard}`/`{shards}` filled in.
fn resolved_argv(argv: Vec<String>, shard: Shard) -> Vec<String> {
    let mut out = Vec::with_capacity(argv.len());
    let mut after_shard = false;
    for a in argv {
        let a = if after_shard && a == "auto" {
            shard.to_string()
        } else if a == "--shard=auto" {
            format!("--shard={shard}")
        } else {
            fill(&a, shard)
        };
        after_shard = a == "--shard";
        out.push(a);
    }
    out
}

fn fill(text: &str, shard: Shard) -> String {
    text.replace("{shards}", &shard.count.to_string())
        .replace("{shard}", &shard.index.to_string())
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
    let fix = |p: &mut PathBuf| *p = PathBuf::from(fill(&p.to_string_lossy(), shard));
    args.outputs.iter_mut().for_each(fix);
    args.checkpoint.iter_mut().for_each(fix);
    args.summary.iter_mut().for_each(fix);
    Ok(())
}

fn resume(path: &Path) -> Result<u8, Failure> {
    // Resume from anywhere: the checkpoint's relative paths (outputs, journals, inputs,
    // excludes, rules, the checkpoint itself) are relative to the folder the scan started
    // in, which it records; the resumed scan runs there. `path` is taken as given first.
    let path = &std::path::absolute(path).map_err(|e| usage(anyhow!("{}: {e}", path.display())))?;
    let checkpoint = CheckpointFile::load(path).map_err(journal_failure)?;
    if let Some(cwd) = &checkpoint.cwd {
        std::env::set_current_dir(cwd).map_err(|e| {
            usage(anyhow!(
                "{}: cannot enter the scan's working folder {}: {e}",
                path.display(),
                cwd.display()
            ))
        })?;
    }
    if checkpoint.complete {
        eprintln!(
            "ptraudit: {} records a complete scan: nothing to resume",
            path.display()
        );
        return Ok(exit::OK);
    }
    let mut argv = vec!["ptraudit".to_string(), "scan".to_string()];
    argv.extend(checkpoint.argv.iter().cloned());
    let cli = <crate::Cli as clap::Parser>::try_parse_from(&argv).map_err(|e| {
        usage(anyhow!(
            "{}: the recorded arguments no longer parse: {e}",
            path.display()
        ))
    })?;
    let crate::Command::Scan(mut args) = cli.command else {
        return Err(usage(anyhow!("{}: not a scan checkpoint", path.display())));
    };
    if args.shard.as_deref() == Some("auto") {
        return Err(usage(anyhow!(
            "{}: recorded with --shard auto unresolved; run the task's command line again instead",
            path.display()
        )));
    }
    fill_placeholders(&mut args, Shard::ALL)?;
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    };
    if !args.checkpoint.as_deref().is_some_and(|c| same(c, path)) {
        return Err(usage(anyhow!(
            "{}: the checkpoint was written as {:?}; resume it under that name",
            path.display(),
            args.checkpoint
        )));
    }
    let argv = checkpoint.argv.clone();
    run_scan(args, argv, Some(checkpoint))
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
        move || dataset_metadata(prepared, &config, &resolvers, rules.as_deref(), started)
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
            check_output(p, args.force)?;
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
    prepared: &Prepared,
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

/// A checkpoint or journal error: exit 2 when it is in what the user gave, 3 when the
/// run failed.
fn journal_failure(e: JournalError) -> Failure {
    if e.is_bad_input() {
        usage(e)
    } else {
        runtime(e)
    }
}

/// A checkpointed run: the arguments recorded, the checkpoint resumed (if any), its path.
struct CheckpointRun<'a> {
    argv: Vec<String>,
    resumed: Option<CheckpointFile>,
    path: &'a Path,
}

/// Rows into journals with a checkpoint file, new or resumed.
fn scan_checkpointed(
    args: &ScanArgs,
    checkpoint: CheckpointRun<'_>,
    client: ptraudit_dns::ClientBuilder,
    config: ScanConfig,
    prepared: &Prepared,
    metadata: &dyn Fn() -> Vec<(String, String)>,
) -> Result<Ended, Failure> {
    let CheckpointRun {
        argv,
        resumed,
        path: cp_path,
    } = checkpoint;
    let total = prepared.total();
    let what = prepared.what();
    let mut sink = match resumed {
        None => {
            let outputs = args
                .outputs
                .iter()
                .map(|p| Ok((p.clone(), output_format(p, args.format.as_deref())?)))
                .collect::<Result<Vec<_>, Failure>>()?;
            // Everything here is what the user gave: the outputs and the checkpoint path.
            Checkpointed::start(argv, &outputs, cp_path).map_err(usage)?
        }
        Some(file) => {
            let sink = Checkpointed::resume(file, cp_path).map_err(journal_failure)?;
            if !args.quiet {
                eprintln!(
                    "ptraudit: resuming {}: {} rows written, {} of {total} {what} done",
                    cp_path.display(),
                    sink.done().rows(),
                    done_count(sink.done(), total),
                );
            }
            sink
        }
    };
    let done = sink.done().clone();
    let result = execute(client, config, prepared, &mut sink, args.quiet, &|a, b| {
        done.all_done(a, b)
    });
    let continue_with = format!("ptraudit scan --resume {}", cp_path.display());
    let stats = match result {
        Ok(stats) => stats,
        Err(f) => {
            let _ = sink.save();
            eprintln!("ptraudit: the scan did not complete; continue it with: {continue_with}");
            return Err(f);
        }
    };
    if stats.interrupted {
        sink.save().map_err(runtime)?;
        eprintln!(
            "ptraudit: INTERRUPTED with {} rows written, {} of {total} {what} done; continue with: {continue_with}",
            sink.done().rows(),
            done_count(sink.done(), total),
        );
        return Ok(Ended::Interrupted);
    }
    let summary = sink.complete_with(&metadata()).map_err(runtime)?;
    Ok(Ended::Complete(stats, Box::new(summary)))
}

/// What a walk found beyond its rows, on stderr. Nodes that were not explored are
/// always said (even with `--quiet`): they are what the rows cannot show by absence.
fn print_walk(w: &WalkSummary, quiet: bool) {
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
    if !quiet {
        eprintln!(
            "ptraudit: walk: {} node questions, {} pruned (NXDOMAIN), {} IPv4 rows inferred from them, {} wildcard probes",
            w.nodes, w.pruned, w.inferred, w.probes
        );
    }
    if !w.wildcards.is_empty() {
        eprintln!(
            "ptraudit: walk: {} wildcard node(s), reported and not enumerated (rows with walk-wildcard): {}",
            w.wildcards.len(),
            list(w.wildcards.iter(), w.wildcards.len())
        );
    }
    if !w.v4_wildcards.is_empty() {
        eprintln!(
            "ptraudit: walk: {} IPv4 node(s) answer a PTR above full depth (a wildcard, most likely); walked all the same: {}",
            w.v4_wildcards.len(),
            list(w.v4_wildcards.iter(), w.v4_wildcards.len())
        );
    }
    if !w.referrals.is_empty() {
        eprintln!(
            "ptraudit: walk: {} node(s) answered by a referral (a delegation this resolver does not follow; lame if nobody serves it), not explored: {}",
            w.referrals.len(),
            list(w.referrals.iter(), w.referrals.len())
        );
    }
    if !w.unexplored.is_empty() {
        eprintln!(
            "ptraudit: walk: {} node(s) FAILED after every retry and were NOT explored (rows with walk-unexplored; walk their prefixes again): {}",
            w.unexplored.len(),
            list(
                w.unexplored.iter().map(|(p, s)| format!("{p} ({s})")),
                w.unexplored.len()
            )
        );
    }
    if !w.budget.is_empty() {
        eprintln!(
            "ptraudit: walk: --max-queries reached: {} node(s) NOT explored (rows with walk-budget): {}",
            w.budget.len(),
            list(w.budget.iter(), w.budget.len())
        );
    }
    if !w.empty.is_empty() {
        eprintln!(
            "ptraudit: walk: {} node(s) exist but every child answered NXDOMAIN: empty zones, or a server that answers NXDOMAIN for empty non-terminals (RFC 8020 violation) and hides what is below; check with --no-walk: {}",
            w.empty.len(),
            list(w.empty.iter(), w.empty.len())
        );
    }
}

/// How many of the `total` plan positions a checkpoint holds as done.
fn done_count(done: &ptraudit_scan::Checkpoint, total: u64) -> u64 {
    let below = done.done_below().min(total);
    below
        + done
            .done_above()
            .filter(|&(a, _)| a < total)
            .map(|(a, b)| b.min(total - 1) - a + 1)
            .sum::<u64>()
}

/// SIGINT or SIGTERM: stop starting addresses and finish those in flight; a second one:
/// stop at once. Either way the files are completed and stay valid.
fn watch_signals(stop: std::sync::Arc<Stop>) {
    tokio::spawn(async move {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        let mut first = true;
        loop {
            let got = match term.as_mut() {
                Some(t) => tokio::select! {
                    r = tokio::signal::ctrl_c() => r.is_ok(),
                    r = t.recv() => r.is_some(),
                },
                None => tokio::signal::ctrl_c().await.is_ok(),
            };
            if !got {
                return;
            }
            if first {
                eprintln!(
                    "\nptraudit: interrupted: finishing the addresses in flight, then closing the files (again to stop at once)"
                );
            } else {
                eprintln!("ptraudit: stopping now; the files keep every row completed so far");
            }
            first = false;
            stop.escalate();
        }
    });
}

/// Runs a prepared scan into `sink`, skipping the plan positions `first..=last` for
/// which `skip` is true (done before a resume). Prints the DNS counters and what a walk
/// found. Shared by `scan` and `demo`; the callers finish their outputs.
pub(crate) fn execute<S: Sink>(
    client: ptraudit_dns::ClientBuilder,
    config: ScanConfig,
    prepared: &Prepared,
    sink: &mut S,
    quiet: bool,
    skip: &dyn Fn(u64, u64) -> bool,
) -> Result<ScanStats, Failure> {
    let plan = prepared.targets.plan(prepared.shard, prepared.order);
    let total = prepared.total();
    let rt = runtime_for_command()?;
    let mut reporter = Reporter::new(total, quiet, prepared.what());
    let stop = std::sync::Arc::new(Stop::default());
    let targets = plan
        .enumerate()
        .map(|(i, ip)| (i as u64, ip))
        .filter(|(i, _)| !skip(*i, *i));
    let rules = std::sync::Arc::clone(&config.rules);
    let result = rt.block_on(async {
        watch_signals(std::sync::Arc::clone(&stop));
        let window = u32::try_from(config.concurrency).unwrap_or(u32::MAX);
        let client = client.max_window(window).build().map_err(runtime)?;
        let scanner = Scanner::new(client, config);
        crate::dnsbl::test_entries(&scanner).await?;
        // Neighbourhood templates: rows held per summary prefix until it is complete.
        let mut templated = Templated::new(&mut *sink, rules);
        let mut sink: &mut dyn Sink = if prepared.templates {
            &mut templated
        } else {
            templated.into_inner_mut()
        };
        let (stats, walked) = match &prepared.walk {
            Some(walk) => {
                let (stats, summary) = scanner
                    .walk_until(walk, skip, &mut sink, &mut |p| reporter.update(p), &stop)
                    .await
                    .map_err(runtime)?;
                (stats, Some(summary))
            }
            None => {
                let stats = scanner
                    .run_until(targets, total, &mut sink, &mut |p| reporter.update(p), &stop)
                    .await
                    .map_err(runtime)?;
                (stats, None)
            }
        };
        if prepared.templates && !quiet && templated.revised() > 0 {
            eprintln!(
                "ptraudit: neighbourhood templates: {} names judged generic with their prefix (reason template:…)",
                templated.revised()
            );
        }
        let dns = scanner.client().stats().await.map_err(runtime)?;
        let per = scanner.client().resolver_stats().await.map_err(runtime)?;
        crate::dnsbl::report_lists(scanner.lists(), quiet);
        Ok::<_, Failure>((stats, walked, (dns, per)))
    });
    reporter.finish();
    let (stats, walked, (dns, per_resolver)) = result?;
    if let Some(summary) = &walked {
        print_walk(summary, quiet);
    }
    if !quiet && (per_resolver.len() > 1 || per_resolver.iter().any(|r| r.rests > 0)) {
        for r in &per_resolver {
            eprintln!(
                "ptraudit: resolver {}: {} sent, {} answered, {} SERVFAIL/REFUSED, {} timeouts, rested {} times",
                r.addr, r.sent, r.answered, r.refused_or_servfail, r.timeouts, r.rests
            );
        }
    }
    if !quiet {
        eprintln!(
            "ptraudit: DNS: {} sent, {} retries, {} timeouts, {} TCP fallbacks, {} replies dropped (bad ID, source, question or format), {} late or duplicate",
            dns.sent,
            dns.retries,
            dns.timeouts,
            dns.tcp_fallbacks,
            dns.dropped_unknown_id
                + dns.dropped_wrong_source
                + dns.dropped_wrong_question
                + dns.dropped_malformed,
            dns.late + dns.duplicates
        );
        eprintln!(
            "ptraudit: DNS: congestion window {} at the end, halved {} times after losses ({} replies came after their retry timer: late, not lost; {} halvings undone); {} extra attempts while replies came; {} queries ended unsent (no resolver answering); {} datagrams sent as {} messages",
            dns.window,
            dns.window_decreases,
            dns.spurious_timeouts,
            dns.window_undos,
            dns.extra_attempts,
            dns.silenced,
            dns.sent,
            dns.send_messages
        );
    }
    Ok(stats)
}
