//! A scan of the fixture /20 (plus the IPv6 hosts) matches the ground truth for every
//! address and every column the ground truth states.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};

use ptraudit_dns::ClientBuilder;
use ptraudit_scan::{Order, Row, ScanConfig, Scanner, Shard, TargetSet, VecSink};
pub use ptraudit_testdns::fixtures_dir;
use ptraudit_testdns::{Server, Truth, Zones, external};

/// Every row of the ground truth.
pub fn truth() -> Vec<Truth> {
    ptraudit_testdns::load_truth(&fixtures_dir()).unwrap()
}

/// The /20 and every IPv6 host of the ground truth.
pub fn targets() -> TargetSet {
    let mut t = TargetSet::new();
    t.add_spec("198.18.0.0/20").unwrap();
    for row in truth().iter().filter(|r| r.ip.is_ipv6()) {
        t.add_spec(&row.ip.to_string()).unwrap();
    }
    t
}

pub async fn scan(resolver: SocketAddr, rd: bool, shard: Shard, order: Order) -> Vec<Row> {
    scan_with(
        ClientBuilder::new(vec![resolver]).recursion_desired(rd),
        shard,
        order,
    )
    .await
}

pub async fn scan_with(client: ClientBuilder, shard: Shard, order: Order) -> Vec<Row> {
    scan_full(client, shard, order, &mut |_| {}).await.0
}

/// A scan with its totals; `progress` sees each step (a test can act on the server
/// midway).
pub async fn scan_full(
    client: ClientBuilder,
    shard: Shard,
    order: Order,
    progress: &mut dyn FnMut(&ptraudit_scan::Progress),
) -> (Vec<Row>, ptraudit_scan::ScanStats) {
    let client = client.build().unwrap();
    let scanner = Scanner::new(client, ScanConfig::default());
    let plan = targets().plan(shard, order);
    let total = plan.len();
    let mut sink = VecSink::default();
    let stats = scanner.run(plan, total, &mut sink, progress).await.unwrap();
    assert_eq!(stats.addresses, total);
    (sink.0, stats)
}

/// Compares rows with the ground truth, column by column; returns the differences.
pub fn compare(rows: &[Row]) -> Vec<String> {
    let truth = truth();
    let mut bad = Vec::new();
    assert_eq!(rows.len(), truth.len(), "one row per address");
    let by_ip: std::collections::HashMap<IpAddr, &Row> = rows.iter().map(|r| (r.ip, r)).collect();
    assert_eq!(by_ip.len(), rows.len(), "no address twice");
    for t in &truth {
        let r = by_ip[&t.ip];
        let mut diff = Vec::new();
        let ptr_all: BTreeSet<String> = r.ptr_all.iter().cloned().collect();
        if ptr_all != t.ptr_names {
            diff.push(format!("ptr_all {:?} != {:?}", r.ptr_all, t.ptr_names));
        }
        if r.ptr.as_deref().unwrap_or("") != t.ptr {
            diff.push(format!("ptr {:?} != {:?}", r.ptr, t.ptr));
        }
        if r.forward_addrs != t.forward {
            diff.push(format!(
                "forward_addrs {:?} != {:?}",
                r.forward_addrs, t.forward
            ));
        }
        if r.fcrdns.as_str() != t.fcrdns {
            diff.push(format!("fcrdns {} != {}", r.fcrdns, t.fcrdns));
        }
        let expected_reason = if t.fcrdns == "pass" {
            &t.flags
        } else {
            &t.reason
        };
        if r.fcrdns_reason.map_or("", |x| x.as_str()) != expected_reason {
            diff.push(format!(
                "fcrdns_reason {:?} != {expected_reason:?}",
                r.fcrdns_reason
            ));
        }
        let generic = r.generic.map_or(String::new(), |g| g.to_string());
        if generic != t.generic {
            diff.push(format!(
                "generic {generic} != {} ({:?})",
                t.generic, r.generic_reasons
            ));
        }
        if r.cname_chain != t.cname_chain {
            diff.push(format!(
                "cname_chain {:?} != {:?}",
                r.cname_chain, t.cname_chain
            ));
        }
        let expected_status = if t.fcrdns == "no-ptr" {
            "NXDOMAIN"
        } else {
            "NOERROR"
        };
        if r.ptr_status.as_str() != expected_status {
            diff.push(format!("ptr_status {} != {expected_status}", r.ptr_status));
        }
        if !r.prefix.contains(r.ip) || r.attempts == 0 || r.resolver.is_none() {
            diff.push(format!("bookkeeping columns missing: {r:?}"));
        }
        if !diff.is_empty() {
            bad.push(format!("{} ({}): {}", t.ip, t.category, diff.join("; ")));
        }
    }
    bad
}

#[track_caller]
pub fn assert_matches_truth(server: &str, rows: &[Row]) {
    let bad = compare(rows);
    assert!(
        bad.is_empty(),
        "{server}: {} addresses differ from the ground truth:\n{}",
        bad.len(),
        bad.iter().take(10).cloned().collect::<Vec<_>>().join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixture_scan_through_testdns_matches_ground_truth() {
    let zones = Zones::load_manifest(&fixtures_dir().join("zones.txt")).unwrap();
    let server = Server::builder().zones(zones).start().unwrap();
    let rows = scan(server.udp_addr(), true, Shard::ALL, Order::Linear).await;
    assert_matches_truth("testdns", &rows);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixture_scan_through_knot_and_unbound_matches_ground_truth() {
    let manifest = fixtures_dir().join("zones.txt");
    let Some(knot) =
        external::started_or_skip(external::start_knot(&manifest, Some(1)), "interop scan")
    else {
        return;
    };
    let rows = scan(knot.addr(), false, Shard::ALL, Order::Random { seed: 7 }).await;
    assert_matches_truth("Knot", &rows);
    let Some(unbound) = external::started_or_skip(
        external::start_unbound(&manifest, knot.addr(), 2),
        "interop scan",
    ) else {
        return;
    };
    let rows = scan(unbound.addr(), true, Shard::ALL, Order::Linear).await;
    assert_matches_truth("Unbound", &rows);
}
