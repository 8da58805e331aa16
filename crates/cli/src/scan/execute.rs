//! Running a prepared scan in the engine: the async runtime, signals, progress and
//! neighbourhood templates, then the DNS counters and what a walk found, on stderr.

use ptraudit_report::walk_notes;
use ptraudit_scan::{ScanConfig, ScanJob, ScanStats, Scanner, Sink, Stop, Templated};

use crate::progress::Reporter;
use crate::{Failure, runtime, runtime_for_command};

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
    prepared: &ScanJob,
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
        for note in walk_notes(summary, quiet) {
            eprintln!("ptraudit: {note}");
        }
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
