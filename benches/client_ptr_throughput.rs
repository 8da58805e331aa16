//! PTR throughput of the DNS client against the loopback test server, every reply checked
//! against the fixtures' ground truth.
//!
//! `scripts/bench-client.sh` runs it for real (server in its own process, a /16 fixture,
//! medians of several runs). Under `cargo test --benches` (no `--bench` argument) it does
//! a short smoke run against an in-process server on the committed /20, so it cannot rot.
//!
//! ```text
//! client_ptr_throughput [--bench] [--server ADDR] [--fixtures DIR] [--queries N]
//!                       [--window N] [--sockets N]
//! ```
//!
//! The client runs on a current-thread tokio runtime on the main thread, so the main
//! thread's CPU time is the client's CPU time (the in-process server, when used, runs on
//! threads of its own).

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use ptraudit_dns::{ClientBuilder, RecordType, Status, name_to_text, reverse_name};

struct Args {
    bench: bool,
    server: Option<SocketAddr>,
    fixtures: PathBuf,
    queries: usize,
    window: usize,
    sockets: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        bench: false,
        server: None,
        fixtures: ptraudit_testdns::fixtures_dir(),
        queries: 0,
        window: 2000,
        sockets: 8,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--bench" => a.bench = true,
            "--server" => {
                let v = value()?;
                a.server = Some(
                    v.parse()
                        .map_err(|_| format!("--server: bad address {v:?}"))?,
                );
            }
            "--fixtures" => a.fixtures = PathBuf::from(value()?),
            "--queries" => a.queries = value()?.parse().map_err(|e| format!("--queries: {e}"))?,
            "--window" => a.window = value()?.parse().map_err(|e| format!("--window: {e}"))?,
            "--sockets" => a.sockets = value()?.parse().map_err(|e| format!("--sockets: {e}"))?,
            // Flags cargo's harness protocol may pass; nothing to filter here.
            "--nocapture" | "--quiet" | "-q" | "--color" | "--format" => {}
            other if other.starts_with("--") => return Err(format!("unknown flag {other}")),
            _ => {}
        }
    }
    if a.queries == 0 {
        a.queries = if a.bench { 500_000 } else { 4096 };
    }
    Ok(a)
}

/// Expected PTR names per IPv4 address (empty: NXDOMAIN), from the ground truth.
fn load_truth(dir: &std::path::Path) -> Vec<(IpAddr, BTreeSet<String>)> {
    ptraudit_testdns::load_truth(dir)
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .filter(|t| t.ip.is_ipv4())
        .map(|t| (t.ip, t.ptr_names))
        .collect()
}

/// CPU time of the calling thread (ns), from the scheduler's own accounting.
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("client_ptr_throughput: {e}");
            std::process::exit(2);
        }
    };
    let truth = load_truth(&args.fixtures);
    assert!(
        !truth.is_empty(),
        "no IPv4 rows in {}",
        args.fixtures.display()
    );

    // In-process server for the smoke run; the real benchmark passes --server.
    let _server;
    let server_addr = match args.server {
        Some(a) => a,
        None => {
            let zones = ptraudit_testdns::Zones::load_manifest(&args.fixtures.join("zones.txt"))
                .expect("fixture zones load");
            let s = ptraudit_testdns::Server::builder()
                .zones(zones)
                .start()
                .expect("server starts");
            let a = s.udp_addr();
            _server = s;
            a
        }
    };

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let result = rt.block_on(run(&args, server_addr, &truth));
    let (elapsed, cpu_ns, stats) = result;
    let qps = args.queries as f64 / elapsed.as_secs_f64();
    let cpu_per_100k = cpu_ns as f64 / 1e9 / args.queries as f64 * 100_000.0;
    println!(
        "client_ptr_throughput queries={} window={} sockets={} elapsed_s={:.3} qps={:.0} \
         client_cpu_s_per_100k={:.3} client_cpu_us_per_query={:.2} peak_rss_kib={} \
         retries={} timeouts={} dropped={}",
        args.queries,
        args.window,
        args.sockets,
        elapsed.as_secs_f64(),
        qps,
        cpu_per_100k,
        cpu_ns as f64 / 1e3 / args.queries as f64,
        peak_rss_kib(),
        stats.retries,
        stats.timeouts,
        stats.dropped_unknown_id
            + stats.dropped_wrong_source
            + stats.dropped_wrong_question
            + stats.dropped_malformed,
    );
}

async fn run(
    args: &Args,
    server: SocketAddr,
    truth: &[(IpAddr, BTreeSet<String>)],
) -> (Duration, u64, ptraudit_dns::Stats) {
    let client = ClientBuilder::new(vec![server])
        .sockets(args.sockets)
        .timeout(Duration::from_millis(800))
        .attempts(4)
        .build()
        .expect("client");
    let (tx, mut rx) = client.pipeline();
    let cpu0 = thread_cpu_ns();
    let t0 = Instant::now();
    let mut next = 0usize;
    let mut done = 0usize;
    let mut wrong = 0usize;
    let mut batch = Vec::with_capacity(1024);
    while done < args.queries {
        while next < args.queries && next - done < args.window {
            let (ip, _) = &truth[next % truth.len()];
            tx.submit(reverse_name(*ip), RecordType::PTR, next as u64)
                .expect("client running");
            next += 1;
        }
        batch.clear();
        if rx.recv_many(&mut batch, 1024).await == 0 {
            break;
        }
        for (tag, outcome) in batch.drain(..) {
            done += 1;
            let (ip, expected) = &truth[tag as usize % truth.len()];
            let ok = match outcome.status {
                Status::Answer => {
                    let got: BTreeSet<String> = outcome.ptr_names().map(name_to_text).collect();
                    &got == expected
                }
                Status::NxDomain => expected.is_empty(),
                _ => false,
            };
            if !ok {
                wrong += 1;
                if wrong <= 5 {
                    eprintln!("wrong outcome for {ip}: {outcome:?}, expected {expected:?}");
                }
            }
        }
    }
    let elapsed = t0.elapsed();
    let cpu = thread_cpu_ns().saturating_sub(cpu0);
    let stats = client.stats().await.expect("client running");
    assert_eq!(done, args.queries, "every query completed");
    assert_eq!(wrong, 0, "every reply matched the ground truth");
    (elapsed, cpu, stats)
}
