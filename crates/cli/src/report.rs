//! `ptraudit report`: aggregate scan outputs into the hygiene report.

use std::path::PathBuf;

use anyhow::{Context, anyhow};
use clap::{Args, ValueEnum};
use ptraudit_report::{
    AtomicFile, GroupBy, Report, check_output, check_parts, dataset_files, render_html,
};
use ptraudit_scan::PrefixLens;

use crate::{Failure, exit, runtime, usage};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum By {
    /// Network prefixes (--prefix).
    Prefix,
    /// Registered domain of the PTR name: which naming scheme is broken.
    Domain,
}

/// Arguments of `ptraudit report`.
#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// Scan outputs (.csv, .parquet, .jsonl), or folders of them; shards of one scan are
    /// merged.
    #[arg(value_name = "FILE", required = true)]
    files: Vec<PathBuf>,
    /// Merge Parquet parts of one scan that carry the same shard (overlapping parts:
    /// an address in both counts once).
    #[arg(long)]
    allow_overlap: bool,
    /// Prefix length for IPv4 groups (IPv6 groups use --prefix-v6).
    #[arg(long, value_name = "LEN", default_value_t = 24)]
    prefix: u8,
    /// Prefix length for IPv6 groups.
    #[arg(long, value_name = "LEN", default_value_t = 64)]
    prefix_v6: u8,
    /// Group by prefix or by PTR domain.
    #[arg(long, value_enum, default_value = "prefix")]
    by: By,
    /// Write the groups as CSV (worst first).
    #[arg(short = 'o', long = "output", value_name = "OUT.csv")]
    output: Option<PathBuf>,
    /// Write a self-contained HTML report with a map of the address space.
    #[arg(long, value_name = "OUT.html")]
    html: Option<PathBuf>,
    /// Overwrite existing output files.
    #[arg(long)]
    force: bool,
    /// Groups shown in the table on stdout.
    #[arg(long, value_name = "N", default_value_t = 20)]
    top: usize,
}

pub(crate) fn run(args: ReportArgs) -> Result<u8, Failure> {
    let lens = PrefixLens::new(args.prefix, args.prefix_v6)
        .map_err(|e| usage(anyhow!("--prefix/--prefix-v6: {e}")))?;
    for p in args.output.iter().chain(&args.html) {
        check_output(p, args.force).map_err(usage)?;
    }
    let by = match args.by {
        By::Prefix => GroupBy::Prefix(lens),
        By::Domain => GroupBy::Domain,
    };
    let files = dataset_files(&args.files).map_err(usage)?;
    check_parts(&files, args.allow_overlap, |w| {
        eprintln!("ptraudit: warning: {w}")
    })
    .map_err(usage)?;
    let mut report = Report::new(by);
    for f in &files {
        report.add_file(f).map_err(usage)?;
    }
    print!("{}", report.table(args.top));
    if report.duplicates() > 0 {
        eprintln!(
            "ptraudit: {} rows repeated an address already seen (counted once)",
            report.duplicates()
        );
    }
    if let Some(path) = &args.output {
        let mut file = AtomicFile::create(path, true).map_err(runtime)?;
        report
            .write_csv(&mut file)
            .with_context(|| format!("writing {}", path.display()))
            .map_err(runtime)?;
        file.commit().map_err(runtime)?;
        eprintln!("ptraudit: groups written to {}", path.display());
    }
    if let Some(path) = &args.html {
        let sources: Vec<String> = args
            .files
            .iter()
            .map(|f| {
                f.file_name()
                    .map_or_else(|| f.display().to_string(), |n| n.to_string_lossy().into())
            })
            .collect();
        let page = render_html(&report, "ptraudit hygiene report", &sources);
        let mut file = AtomicFile::create(path, true).map_err(runtime)?;
        std::io::Write::write_all(&mut file, page.as_bytes())
            .with_context(|| format!("writing {}", path.display()))
            .map_err(runtime)?;
        file.commit().map_err(runtime)?;
        eprintln!("ptraudit: HTML report written to {}", path.display());
    }
    Ok(exit::OK)
}
