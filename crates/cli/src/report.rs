//! `ptraudit report`: aggregate scan outputs into the hygiene report.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use clap::{Args, ValueEnum};
use ptraudit_report::{AtomicFile, Format, GroupBy, Report, parquet_metadata, render_html};
use ptraudit_scan::PrefixLens;

use crate::scan::check_output;
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
        check_output(p, args.force)?;
    }
    let by = match args.by {
        By::Prefix => GroupBy::Prefix(lens),
        By::Domain => GroupBy::Domain,
    };
    let files = expand(&args.files).map_err(usage)?;
    check_parts(&files, args.allow_overlap)?;
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

/// The files given, each folder replaced by the scan outputs in it (by name).
fn expand(given: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for f in given {
        if !f.is_dir() {
            files.push(f.clone());
            continue;
        }
        let mut inside: Vec<PathBuf> = std::fs::read_dir(f)
            .with_context(|| format!("cannot read the folder {}", f.display()))?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()
            .with_context(|| format!("cannot read the folder {}", f.display()))?;
        inside.retain(|p| p.is_file() && Format::from_path(p).is_some());
        if inside.is_empty() {
            return Err(anyhow!(
                "{}: no scan outputs (.csv, .parquet, .jsonl) in the folder",
                f.display()
            ));
        }
        inside.sort();
        files.extend(inside);
    }
    Ok(files)
}

/// Where a Parquet part comes from, by its dataset metadata.
#[derive(Debug)]
struct Origin {
    scan_id: String,
    shard: String,
}

/// A part's origin; `None` for files without ptraudit's metadata (CSV, JSON lines, older
/// files, other tools' files) and for files whose footer cannot be read (the read that
/// follows says why).
fn origin(path: &Path) -> Option<Origin> {
    if Format::from_path(path) != Some(Format::Parquet) {
        return None;
    }
    let meta: HashMap<String, String> = parquet_metadata(path).ok()?.into_iter().collect();
    Some(Origin {
        scan_id: meta.get("ptraudit.scan_id")?.clone(),
        shard: meta.get("ptraudit.shard").cloned().unwrap_or_default(),
    })
}

/// Parts of different scans are merged with a warning; two parts of one scan with the
/// same shard (overlapping) are refused unless `allow_overlap`. The same file given
/// twice is neither: its rows count once, as any address seen twice.
fn check_parts(files: &[PathBuf], allow_overlap: bool) -> Result<(), Failure> {
    let mut scans: Vec<(String, &Path)> = Vec::new();
    let mut shards: HashMap<(String, String), (&Path, PathBuf)> = HashMap::new();
    for f in files {
        let Some(o) = origin(f) else { continue };
        if !scans.iter().any(|(id, _)| *id == o.scan_id) {
            if let Some((id, first)) = scans.first() {
                eprintln!(
                    "ptraudit: warning: merging parts of different scans: {} (scan {}) and {} (scan {})",
                    first.display(),
                    id,
                    f.display(),
                    o.scan_id
                );
            }
            scans.push((o.scan_id.clone(), f));
        }
        let same = f.canonicalize().unwrap_or_else(|_| f.clone());
        match shards.get(&(o.scan_id.clone(), o.shard.clone())) {
            Some((other, other_same)) if *other_same != same && !allow_overlap => {
                return Err(usage(anyhow!(
                    "{} and {} are the same shard ({}) of one scan ({}): overlapping parts \
                     (--allow-overlap merges them, an address in both counting once)",
                    other.display(),
                    f.display(),
                    o.shard,
                    o.scan_id
                )));
            }
            Some(_) => {}
            None => {
                shards.insert((o.scan_id, o.shard), (f, same));
            }
        }
    }
    Ok(())
}
