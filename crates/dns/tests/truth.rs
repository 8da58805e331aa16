//! The fixture network through the test server: the client sees what the ground truth says.

use crate::support::*;
use ptraudit_dns::ClientBuilder;
use ptraudit_testdns::{Server, Zones};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixture_network_matches_ground_truth_through_testdns() {
    let zones = Zones::load_manifest(&fixtures_dir().join("zones.txt")).unwrap();
    let server = Server::builder().zones(zones).start().unwrap();
    let client = ClientBuilder::new(vec![server.udp_addr()]).build().unwrap();
    let rows = truth();
    assert!(rows.len() > 4096, "the /20 plus IPv6 hosts");
    // Every category of the generator is present.
    for cat in [
        "generic-pass",
        "generic-no-forward",
        "generic-mismatch",
        "no-ptr",
        "custom-pass",
        "custom-mismatch",
        "aaaa-only",
        "multi-ptr",
        "ptr-to-cname",
        "shared-name",
    ] {
        assert!(rows.iter().any(|r| r.category == cat), "no {cat} in truth");
    }
    assert!(
        rows.iter().any(|r| !r.expected.cname_chain.is_empty()),
        "RFC 2317 rows"
    );
    let bad = check_truth(&client, &rows).await;
    assert!(
        bad.is_empty(),
        "{} mismatches, first: {:#?}",
        bad.len(),
        &bad[..bad.len().min(5)]
    );
    let st = client.stats().await.unwrap();
    assert_eq!(st.timeouts, 0);
    assert_eq!(
        st.dropped_malformed + st.dropped_unknown_id + st.dropped_wrong_question,
        0
    );
}
