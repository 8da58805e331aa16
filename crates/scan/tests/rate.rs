//! `ScanConfig::rate`, counted rather than timed.
//!
//! The engine waits on governor's direct limiter before every query it submits, with a
//! quota of `rate` per second and a burst of `rate / 50` (at least 1). Governor's GCRA
//! admits, in any span of its clock from `a` to `b`, at most `burst + (b - a) / T` cells,
//! `T` being the replenish interval (1 s / rate, in whole nanoseconds): each admission
//! pushes the theoretical arrival time on by at least `T`, and a cell is admitted only
//! when the clock is within `(burst - 1) * T` of it. The test reads that same clock
//! ([`limiter_clock`]: `std::time::Instant`, as long as governor's `quanta` feature is
//! off; if it is ever turned on, this file stops compiling rather than checking against
//! another clock).
//!
//! So the test takes observations `(instant, queries submitted so far)`: one before the
//! scanner exists, one in every progress callback, one after the scan. Between two
//! observations `i < j`, the queries numbered `q_i + 1 ..= q_j` were all admitted inside
//! `[t_i, t_j]` (admission comes before the submission that counts a query, and the scan
//! loop admits nothing while the callback runs), so `q_j - q_i <= burst + (t_j - t_i) / T`
//! must hold for every pair. A loaded machine only widens the spans, which loosens the
//! bound: it cannot fail spuriously. A scan without a limiter breaks it at once (hundreds
//! of loopback queries in a few milliseconds), unless the machine is so slow that an
//! unlimited scan is itself slower than the rate: then the test passes without proving
//! much, but it never flakes.

use std::num::NonZeroU32;
use std::time::Instant;

use ptraudit_dns::ClientBuilder;
use ptraudit_scan::{Order, ScanConfig, Scanner, Shard, TargetSet, VecSink};
use ptraudit_testdns::{Server, Zones, fixtures_dir};

/// Now, on the clock of the engine's limiter (`governor::DefaultDirectRateLimiter`).
fn limiter_clock() -> Instant {
    governor::clock::Clock::now(&governor::clock::DefaultClock::default())
}

/// Scans `spec` at `rate` queries per second, checking the limiter's bound between every
/// two observations; returns the number of queries.
async fn scan_counted(server: &Server, spec: &str, rate: u32) -> u64 {
    // As Scanner::new configures the limiter.
    let burst = u64::from((rate / 50).max(1));
    let interval_ns = 1_000_000_000u128 / u128::from(rate);

    let client = ClientBuilder::new(vec![server.udp_addr()]).build().unwrap();
    let mut config = ScanConfig::default();
    config.rate = NonZeroU32::new(rate);
    // A small window: the loop comes back to the progress callback every few queries,
    // so there are many observations.
    config.concurrency = 4;
    let mut targets = TargetSet::new();
    targets.add_spec(spec).unwrap();
    let plan = targets.plan(Shard::ALL, Order::Linear);
    let total = plan.len();

    let mut seen: Vec<(Instant, u64)> = vec![(limiter_clock(), 0)];
    let scanner = Scanner::new(client, config);
    let mut rows = VecSink::default();
    let stats = scanner
        .run(plan, total, &mut rows, &mut |p| {
            seen.push((limiter_clock(), p.queries))
        })
        .await
        .unwrap();
    seen.push((limiter_clock(), stats.queries));

    // Every address got its row: the limiter delays queries, it does not drop them.
    assert_eq!(rows.0.len() as u64, total);
    assert_eq!(stats.addresses, total);

    for (i, &(t_i, q_i)) in seen.iter().enumerate() {
        for &(t_j, q_j) in &seen[i + 1..] {
            let admitted = q_j - q_i;
            let span_ns = (t_j - t_i).as_nanos();
            assert!(
                u128::from(admitted.saturating_sub(burst)) * interval_ns <= span_ns,
                "rate {rate}/s, burst {burst}: {admitted} queries in {span_ns} ns \
                 (queries {q_i}..{q_j})"
            );
        }
    }
    stats.queries
}

#[tokio::test]
async fn rate_bounds_the_queries_in_every_span_of_the_scan() {
    let zones = Zones::load_manifest(&fixtures_dir().join("zones.txt")).unwrap();
    let server = Server::builder().zones(zones).start().unwrap();
    // A burst of 20 and a 1 ms interval. The bound is checked inside `scan_counted`;
    // these only make sure the scan sent many bursts' worth, so the bound was exercised.
    let queries = scan_counted(&server, "198.18.0.0/24", 1000).await;
    assert!(queries > 10 * 20, "{queries} queries");
    // Below 100 per second the burst is 1: one query per 20 ms interval, none ahead.
    let queries = scan_counted(&server, "198.18.0.0/29", 50).await;
    assert!(queries > 4, "{queries} queries");
}
