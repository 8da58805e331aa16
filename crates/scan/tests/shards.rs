//! Shards 0..3 of 4 together equal the unsharded scan: same rows, none twice.

use std::collections::HashMap;
use std::net::IpAddr;

use ptraudit_scan::{Order, Shard};
use ptraudit_testdns::{Server, Zones};

use crate::fixture::{fixtures_dir, scan, targets};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_shards_equal_the_whole_scan() {
    let zones = Zones::load_manifest(&fixtures_dir().join("zones.txt")).unwrap();
    let server = Server::builder().zones(zones).start().unwrap();
    let order = Order::Random { seed: 3 };
    let whole = scan(server.udp_addr(), true, Shard::ALL, order).await;
    let mut merged: HashMap<IpAddr, _> = HashMap::new();
    for i in 0..4 {
        let part = scan(server.udp_addr(), true, Shard { index: i, count: 4 }, order).await;
        assert!(!part.is_empty());
        for row in part {
            assert!(
                merged.insert(row.ip, row).is_none(),
                "an address in two shards"
            );
        }
    }
    assert_eq!(merged.len() as u128, targets().len());
    assert_eq!(merged.len(), whole.len());
    for row in &whole {
        let other = &merged[&row.ip];
        // Everything but the timing columns is identical.
        assert_eq!(
            (
                &other.ptr_all,
                &other.ptr,
                &other.forward_addrs,
                other.fcrdns,
                &other.fcrdns_reason,
                other.generic,
                &other.cname_chain
            ),
            (
                &row.ptr_all,
                &row.ptr,
                &row.forward_addrs,
                row.fcrdns,
                &row.fcrdns_reason,
                row.generic,
                &row.cname_chain
            ),
            "{}",
            row.ip
        );
    }
}
