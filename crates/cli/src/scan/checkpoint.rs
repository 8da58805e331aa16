//! Checkpointed runs of `ptraudit scan`: rows into journals with a checkpoint file,
//! `--resume`, and a task run again with the same command line continuing its
//! checkpoint.

use std::path::Path;

use anyhow::anyhow;
use ptraudit_report::{CheckpointFile, Checkpointed, JournalError, output_format};
use ptraudit_scan::{ScanConfig, ScanJob, Shard};

use super::{Ended, ScanArgs, execute, fill_placeholders, run_scan};
use crate::{Failure, exit, runtime, usage};

/// The checkpoint `cp` of a task run again with the same command line (`argv`, resolved):
/// refused when it belongs to another scan, else resumed.
pub(super) fn rerun(cp: &Path, argv: &[String], quiet: bool) -> Result<u8, Failure> {
    let file = CheckpointFile::load(cp).map_err(journal_failure)?;
    if file.argv != argv {
        return Err(usage(anyhow!(
            "{} is the checkpoint of a different scan (`ptraudit scan {}`), not of this one \
             (`ptraudit scan {}`): remove it, or give another --checkpoint",
            cp.display(),
            file.argv.join(" "),
            argv.join(" ")
        )));
    }
    if !quiet {
        eprintln!(
            "ptraudit: {} exists and belongs to this scan: continuing it",
            cp.display()
        );
    }
    resume(cp)
}

/// `--resume FILE`: the scan recorded in the checkpoint, continued where it stopped.
pub(super) fn resume(path: &Path) -> Result<u8, Failure> {
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
pub(super) struct CheckpointRun<'a> {
    pub(super) argv: Vec<String>,
    pub(super) resumed: Option<CheckpointFile>,
    pub(super) path: &'a Path,
}

/// Rows into journals with a checkpoint file, new or resumed.
pub(super) fn scan_checkpointed(
    args: &ScanArgs,
    checkpoint: CheckpointRun<'_>,
    client: ptraudit_dns::ClientBuilder,
    config: ScanConfig,
    prepared: &ScanJob,
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
                .map(|p| {
                    Ok((
                        p.clone(),
                        output_format(p, args.format.as_deref()).map_err(usage)?,
                    ))
                })
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
                    prepared.done_in(sink.done()),
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
            prepared.done_in(sink.done()),
        );
        return Ok(Ended::Interrupted);
    }
    let summary = sink.complete_with(&metadata()).map_err(runtime)?;
    Ok(Ended::Complete(stats, Box::new(summary)))
}
