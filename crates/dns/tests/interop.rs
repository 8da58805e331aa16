//! The same fixture zones served by real Knot DNS (authoritative) and Unbound (recursive,
//! stub zones pointing at Knot): the client gets the answers the ground truth states.
//!
//! Needs `knotd` and `unbound` (Debian packages `knot`, `unbound`); `scripts/test.sh`
//! installs them and sets PTRAUDIT_REQUIRE_INTEROP=1 so a missing server fails the run
//! instead of skipping.

use std::net::IpAddr;

use ptraudit_dns::{ClientBuilder, RecordType, Status, name_to_text, reverse_name};
use ptraudit_testdns::external;

use crate::support::*;

fn sample(rows: &[Truth]) -> Vec<Truth> {
    // All IPv6 rows, every RFC 2317 row, and every 3rd IPv4 row: each category is covered
    // and the run stays short.
    rows.iter()
        .enumerate()
        .filter(|(i, r)| r.ip.is_ipv6() || !r.expected.cname_chain.is_empty() || i % 3 == 0)
        .map(|(_, r)| r.clone())
        .collect()
}

async fn spot_checks(client: &ptraudit_dns::Client) {
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    // NXDOMAIN for a hole, and the RFC 2317 CNAME kept in the PTR answer.
    let rows = truth();
    let hole = rows
        .iter()
        .find(|r| r.expected.fcrdns == "no-ptr" && r.expected.cname_chain.is_empty())
        .unwrap();
    let o = client
        .query(reverse_name(hole.ip), RecordType::PTR)
        .await
        .unwrap();
    assert_eq!(o.status, Status::NxDomain, "{}", hole.ip);
    let delegated = rows
        .iter()
        .find(|r| r.expected.fcrdns == "pass" && !r.expected.cname_chain.is_empty())
        .unwrap();
    let o = client
        .query(reverse_name(delegated.ip), RecordType::PTR)
        .await
        .unwrap();
    let chain: Vec<String> = o.cname_chain().map(name_to_text).collect();
    assert_eq!(chain, delegated.expected.cname_chain);
    let _ = ip;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn knot_and_unbound_serve_the_ground_truth() {
    let manifest = fixtures_dir().join("zones.txt");
    let Some(knot) =
        external::started_or_skip(external::start_knot(&manifest, Some(1)), "interop test")
    else {
        return;
    };
    let rows = sample(&truth());

    let client = ClientBuilder::new(vec![knot.addr()])
        .recursion_desired(false)
        .build()
        .unwrap();
    let bad = check_truth(&client, &rows).await;
    assert!(
        bad.is_empty(),
        "Knot: {} mismatches: {:#?}",
        bad.len(),
        &bad[..bad.len().min(5)]
    );
    spot_checks(&client).await;
    // AAAA straight from the authoritative server.
    let v6 = rows
        .iter()
        .find(|r| r.ip.is_ipv6() && r.expected.fcrdns == "pass")
        .unwrap();
    let o = client
        .query(
            name(&format!(
                "{}.",
                v6.expected.ptr_names.iter().next().unwrap()
            )),
            RecordType::AAAA,
        )
        .await
        .unwrap();
    assert_eq!(o.addrs().collect::<Vec<_>>(), vec![v6.ip]);

    let Some(unbound) = external::started_or_skip(
        external::start_unbound(&manifest, knot.addr(), 2),
        "interop test",
    ) else {
        return;
    };
    let client = ClientBuilder::new(vec![unbound.addr()]).build().unwrap();
    let bad = check_truth(&client, &rows).await;
    assert!(
        bad.is_empty(),
        "Unbound: {} mismatches: {:#?}",
        bad.len(),
        &bad[..bad.len().min(5)]
    );
    spot_checks(&client).await;
    let st = client.stats().await.unwrap();
    assert_eq!(st.timeouts, 0, "{st:?}");
}
