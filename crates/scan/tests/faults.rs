//! Nothing lost, nothing twice: a scan of the fixture network through a misbehaving test
//! server gives exactly the rows of the ground truth, fault by fault and all at once.

use std::time::Duration;

use ptraudit_dns::ClientBuilder;
use ptraudit_scan::{Order, Shard};
use ptraudit_testdns::{Faults, Server, ServerStats, Zones};

use crate::fixture::{assert_matches_truth, fixtures_dir, scan_with};

fn faulty(f: Faults) -> Server {
    let zones = Zones::load_manifest(&fixtures_dir().join("zones.txt")).unwrap();
    Server::builder().zones(zones).faults(f).start().unwrap()
}

/// Short timeouts and many attempts: 30% loss must not turn into errors (a query fails
/// only if 16 attempts in a row are lost: 0.3^16, about 4e-9). The congestion window stays
/// on, with a floor of 100: random loss this heavy would otherwise hold it at a handful
/// in flight (correct, but minutes per test).
fn client(servers: &[&Server]) -> ClientBuilder {
    ClientBuilder::new(servers.iter().map(|s| s.udp_addr()).collect())
        .timeout(Duration::from_millis(150))
        .max_timeout(Duration::from_millis(300))
        .attempts(16)
        .adaptive_window(true, 100)
}

fn with(seed: u64, set: impl FnOnce(&mut Faults)) -> Faults {
    let mut f = Faults::default();
    f.seed = seed;
    set(&mut f);
    f
}

/// The server counter that shows a fault fired.
type Fired = fn(&ServerStats) -> u64;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_fault_alone_leaves_the_rows_unchanged() {
    // Each case names the server counter its fault moves: a scan that matched the truth
    // because the fault never fired (a setting not applied, a share read as zero) fails.
    let cases: Vec<(&str, Faults, Fired)> = vec![
        ("30% dropped", with(1, |f| f.drop = 0.3), |s| {
            ServerStats::get(&s.dropped)
        }),
        (
            "5% delayed up to 3x the timeout",
            with(2, |f| {
                f.delay_share = 0.05;
                f.delay = Duration::from_millis(150);
                f.jitter = Duration::from_millis(300);
            }),
            |s| ServerStats::get(&s.delayed),
        ),
        ("duplicates", with(3, |f| f.duplicate = 0.2), |s| {
            ServerStats::get(&s.duplicated)
        }),
        ("wrong IDs", with(4, |f| f.wrong_id = 0.2), |s| {
            ServerStats::get(&s.bogus)
        }),
        (
            "wrong source port",
            with(5, |f| f.wrong_source = 0.2),
            |s| ServerStats::get(&s.bogus),
        ),
        ("wrong question", with(6, |f| f.wrong_question = 0.2), |s| {
            ServerStats::get(&s.bogus)
        }),
        ("malformed", with(7, |f| f.malformed = 0.2), |s| {
            ServerStats::get(&s.bogus)
        }),
        // Truncated over UDP, then asked again over TCP: both counters move.
        ("truncation", with(8, |f| f.truncate = 0.1), |s| {
            ServerStats::get(&s.truncated).min(ServerStats::get(&s.tcp_queries))
        }),
    ];
    for (what, f, fired) in cases {
        let server = faulty(f);
        let rows = scan_with(client(&[&server]), Shard::ALL, Order::Linear).await;
        assert_matches_truth(what, &rows);
        // ~6,000 queries: a share of 5% or more fires a few hundred times.
        let n = fired(server.stats());
        assert!(n > 100, "{what}: the fault fired only {n} times");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_faults_at_once_leave_the_rows_unchanged() {
    let server = faulty(with(9, |f| {
        f.drop = 0.3;
        f.delay_share = 0.05;
        f.delay = Duration::from_millis(150);
        f.jitter = Duration::from_millis(300);
        f.duplicate = 0.1;
        f.wrong_id = 0.1;
        f.wrong_source = 0.1;
        f.wrong_question = 0.1;
        f.malformed = 0.1;
        f.truncate = 0.05;
    }));
    let rows = scan_with(client(&[&server]), Shard::ALL, Order::Random { seed: 5 }).await;
    assert_matches_truth("all faults", &rows);
    let st = server.stats();
    assert!(ServerStats::get(&st.dropped) > 1000 && ServerStats::get(&st.bogus) > 1000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resolver_answering_servfail_or_refused_is_avoided_and_the_rows_stay_right() {
    let cases: Vec<(&str, Faults, bool)> = vec![
        ("SERVFAIL", with(10, |f| f.servfail = 1.0), true),
        (
            "REFUSED (rate limiting)",
            with(11, |f| f.refused = 1.0),
            true,
        ),
        ("SERVFAIL bursts", with(12, |f| f.servfail = 0.5), false),
    ];
    for (what, f, rested) in cases {
        let sick = faulty(f);
        let healthy = faulty(Faults::default());
        let rows = scan_with(client(&[&sick, &healthy]), Shard::ALL, Order::Linear).await;
        assert_matches_truth(what, &rows);
        let to_sick = ServerStats::get(&sick.stats().udp_queries);
        let to_healthy = ServerStats::get(&healthy.stats().udp_queries);
        if rested {
            // Round robin would split evenly; resting the failing resolver moves load away.
            assert!(
                to_sick * 4 < to_healthy,
                "{what}: sick {to_sick}, healthy {to_healthy}"
            );
        }
    }
}
