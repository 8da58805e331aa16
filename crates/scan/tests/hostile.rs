//! PTR answers that are not host names: kept as data (escaped), flagged, never trusted.

use ptraudit_dns::ClientBuilder;
use ptraudit_scan::{Fcrdns, FcrdnsReason, Order, ScanConfig, Scanner, Shard, TargetSet, VecSink};
use ptraudit_testdns::Server;

#[tokio::test]
async fn ptr_names_that_are_not_host_names_are_escaped_and_flagged() {
    let server = Server::builder()
        .zone_text(
            "0.18.198.in-addr.arpa.",
            r"$TTL 60
@ SOA ns.test. host.test. 1 3600 600 86400 60
7 PTR bad\032name\059rm\032-rf.example.test.
8 PTR \.\.\/etc\/passwd.example.test.
9 PTR quote\034and\044comma.example.test.
",
        )
        .unwrap()
        .zone_text(
            "example.test.",
            "$TTL 60\n@ SOA ns.test. host.test. 1 3600 600 86400 60\n",
        )
        .unwrap()
        .start()
        .unwrap();
    let client = ClientBuilder::new(vec![server.udp_addr()]).build().unwrap();
    let scanner = Scanner::new(client, ScanConfig::default());
    let mut targets = TargetSet::new();
    targets.add_spec("198.18.0.7-198.18.0.9").unwrap();
    let plan = targets.plan(Shard::ALL, Order::Linear);
    let mut rows = VecSink::default();
    scanner.run(plan, 3, &mut rows, &mut |_| {}).await.unwrap();
    let mut rows = rows.0;
    rows.sort_by_key(|r| r.ip);
    let ptrs: Vec<&str> = rows.iter().map(|r| r.ptr.as_deref().unwrap()).collect();
    assert_eq!(
        ptrs,
        [
            r"bad\032name\059rm\032-rf.example.test",
            r"\046\046/etc/passwd.example.test",
            r"quote\034and\044comma.example.test",
        ]
    );
    for r in &rows {
        // No shell metacharacter or separator survives unescaped, and the name is flagged.
        let p = r.ptr.as_deref().unwrap();
        assert!(!p.contains([' ', ';', ',', '"']), "{p}");
        assert!(
            r.generic_reasons.iter().any(|c| c == "invalid-hostname"),
            "{r:?}"
        );
        // The forward lookup of such a name finds nothing here: a plain FCrDNS fail.
        assert_eq!(r.fcrdns, Fcrdns::Fail, "{r:?}");
        assert_eq!(r.fcrdns_reason, Some(FcrdnsReason::ForwardNxdomain));
    }
}
