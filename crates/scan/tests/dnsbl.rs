//! DNSBL lookups against the fixture lists (`fixtures/dnsbl`): listings equal the truth
//! for every address and list, through testdns, Knot and Unbound; lists answering error
//! codes or foreign addresses fail their test entries; an error code midway switches a
//! list off and its later rows are unknown, never listed.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{RData, Record, RecordType};
use ptraudit_dns::ClientBuilder;
use ptraudit_scan::dnsbl::{Dnsbl, DnsblAnswer};
use ptraudit_scan::{Order, Row, ScanConfig, ScanStats, Scanner, Shard, VecSink};
use ptraudit_testdns::{Server, ServerBuilder, Zones, external, fixtures_dir};

fn dir() -> PathBuf {
    fixtures_dir().join("../dnsbl")
}

fn lists() -> Vec<Dnsbl> {
    vec![
        "zen.dnsbl.test=spamhaus-zen".parse().unwrap(),
        "bl.dnsbl.test".parse().unwrap(),
    ]
}

/// `ip -> {"list=code", …}` of the fixture's truth.
fn truth() -> BTreeMap<IpAddr, BTreeSet<String>> {
    let mut out: BTreeMap<IpAddr, BTreeSet<String>> = BTreeMap::new();
    let text = std::fs::read_to_string(dir().join("truth.csv")).unwrap();
    for line in text.lines().skip(1) {
        let mut f = line.split(',');
        let (ip, list, codes) = (f.next().unwrap(), f.next().unwrap(), f.next().unwrap());
        let set = out.entry(ip.parse().unwrap()).or_default();
        for c in codes.split(';') {
            set.insert(format!("{list}={c}"));
        }
    }
    out
}

fn server(b: ServerBuilder) -> Server {
    let zones = Zones::load_manifest(&dir().join("with-net.txt")).unwrap();
    b.zones(zones).start().unwrap()
}

async fn scan(resolver: std::net::SocketAddr, lists: Vec<Dnsbl>) -> (Vec<Row>, ScanStats, Scanner) {
    let client = ClientBuilder::new(vec![resolver]).build().unwrap();
    let mut config = ScanConfig::default();
    config.dnsbl = lists;
    let scanner = Scanner::new(client, config);
    let mut targets = ptraudit_scan::TargetSet::new();
    targets.add_spec("198.18.0.0/20").unwrap();
    for t in ptraudit_testdns::load_truth(&fixtures_dir()).unwrap() {
        if t.ip.is_ipv6() {
            targets.add_spec(&t.ip.to_string()).unwrap();
        }
    }
    let plan = targets.plan(Shard::ALL, Order::Linear);
    let total = plan.len();
    let mut rows = VecSink::default();
    let stats = scanner
        .run(plan, total, &mut rows, &mut |_| {})
        .await
        .unwrap();
    (rows.0, stats, scanner)
}

fn assert_listings_match(who: &str, rows: &[Row]) {
    let truth = truth();
    assert_eq!(rows.len(), 4096 + 24, "{who}");
    let mut listed = 0;
    for r in rows {
        let got: BTreeSet<String> = r.dnsbl.iter().map(ToString::to_string).collect();
        let want = truth.get(&r.ip).cloned().unwrap_or_default();
        assert_eq!(got, want, "{who}: {}", r.ip);
        assert_eq!(r.dnsbl_listed, Some(!want.is_empty()), "{who}: {}", r.ip);
        listed += usize::from(!want.is_empty());
    }
    assert_eq!(listed, truth.len(), "{who}: every listed address scanned");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listings_equal_the_truth_through_testdns_knot_and_unbound() {
    let s = server(Server::builder());
    let (rows, stats, scanner) = scan(s.udp_addr(), lists()).await;
    assert_listings_match("testdns", &rows);
    assert_eq!(stats.dnsbl_disabled, 0);
    // One lookup per address and list, and the counters agree with the rows.
    for (i, state) in scanner.lists().iter().enumerate() {
        assert_eq!(state.queries(), rows.len() as u64, "{}", state.list.name);
        let name = &lists()[i].name;
        let listed = rows
            .iter()
            .filter(|r| r.dnsbl.iter().any(|l| &l.list == name))
            .count() as u64;
        assert_eq!(state.listed(), listed);
        assert_eq!(state.unknown(), 0);
    }
    // Several codes on one address, and IPv6 listings, are in the data.
    assert!(rows.iter().any(|r| r.dnsbl.len() >= 2));
    assert!(
        rows.iter()
            .any(|r| r.ip.is_ipv6() && r.dnsbl_listed == Some(true))
    );
    let manifest = dir().join("with-net.txt");
    let Some(knot) =
        external::started_or_skip(external::start_knot(&manifest, Some(1)), "interop dnsbl")
    else {
        return;
    };
    let (rows, _, _) = scan(knot.addr(), lists()).await;
    assert_listings_match("Knot", &rows);
    let Some(unbound) = external::started_or_skip(
        external::start_unbound(&manifest, knot.addr(), 2),
        "interop dnsbl",
    ) else {
        return;
    };
    let (rows, _, _) = scan(unbound.addr(), lists()).await;
    assert_listings_match("Unbound", &rows);
}

#[tokio::test]
async fn lists_that_answer_errors_or_foreign_addresses_fail_their_test_entries() {
    let s = server(Server::builder());
    let client = ClientBuilder::new(vec![s.udp_addr()]).build().unwrap();
    let mut config = ScanConfig::default();
    config.dnsbl = [
        "zen.dnsbl.test=spamhaus-zen",
        "public.dnsbl.test",
        "hijack.dnsbl.test",
        "isp.test",
    ]
    .iter()
    .map(|s| s.parse().unwrap())
    .collect();
    let scanner = Scanner::new(client, config);
    let problems = scanner.test_lists().await.unwrap();
    let by_list: BTreeMap<String, (String, DnsblAnswer)> = problems
        .iter()
        .map(|p| (p.list.list.name.clone(), (p.to_string(), p.answer.clone())))
        .collect();
    assert!(!by_list.contains_key("spamhaus-zen"), "{by_list:#?}");
    let (msg, answer) = &by_list["public.dnsbl.test"];
    assert_eq!(
        *answer,
        DnsblAnswer::Error("127.255.255.254".parse().unwrap())
    );
    assert!(msg.contains("your own recursive resolver"), "{msg}");
    let (msg, answer) = &by_list["hijack.dnsbl.test"];
    assert_eq!(*answer, DnsblAnswer::Error("192.0.2.66".parse().unwrap()));
    assert!(msg.contains("outside 127.0.0.0/8"), "{msg}");
    // A zone that is not a DNSBL: the test entry is not listed.
    let (msg, answer) = &by_list["isp.test"];
    assert_eq!(*answer, DnsblAnswer::NotListed);
    assert!(msg.contains("not a DNSBL zone"), "{msg}");
}

#[tokio::test]
async fn an_error_code_midway_switches_the_list_off_and_later_rows_are_unknown() {
    // After 1,000 lookups in zen.dnsbl.test, it answers 127.255.255.255 ("excessive
    // volume") to everything.
    let seen = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&seen);
    let s = server(Server::builder().hook(move |_, reply| {
        let Some(q) = reply.queries.first().cloned() else {
            return;
        };
        let name = q.name().to_ascii().to_ascii_lowercase();
        if q.query_type() == RecordType::A
            && name.ends_with(".zen.dnsbl.test.")
            && counter.fetch_add(1, Ordering::Relaxed) >= 1000
        {
            reply.metadata.response_code = ResponseCode::NoError;
            reply.answers.clear();
            reply.authorities.clear();
            reply.add_answer(Record::from_rdata(
                q.name().clone(),
                60,
                RData::A(A::new(127, 255, 255, 255)),
            ));
        }
    }));
    let (rows, stats, scanner) = scan(s.udp_addr(), lists()).await;
    assert_eq!(stats.dnsbl_disabled, 1);
    let zen = &scanner.lists()[0];
    assert!(zen.is_disabled());
    assert_eq!(
        zen.error().unwrap().1,
        "127.255.255.255".parse::<std::net::Ipv4Addr>().unwrap()
    );
    // Switched off once seen: far fewer lookups than addresses.
    assert!(zen.queries() < rows.len() as u64, "{}", zen.queries());
    let truth = truth();
    let (mut known, mut unknown) = (0, 0);
    for r in &rows {
        // No error code ever became a listing.
        assert!(
            r.dnsbl.iter().all(|l| l.code.octets()[1] != 255),
            "{}",
            r.ip
        );
        let want = truth.get(&r.ip).cloned().unwrap_or_default();
        let got: BTreeSet<String> = r.dnsbl.iter().map(ToString::to_string).collect();
        // Whatever is reported is true; what is missing is only zen's, and then the row
        // does not claim "not listed".
        assert!(got.is_subset(&want), "{}: {got:?} {want:?}", r.ip);
        if got != want {
            assert!(
                want.difference(&got)
                    .all(|l| l.starts_with("spamhaus-zen="))
            );
            assert_ne!(r.dnsbl_listed, Some(false), "{}", r.ip);
        }
        match r.dnsbl_listed {
            None => unknown += 1,
            Some(_) => known += 1,
        }
    }
    assert!(
        known >= 900 && unknown > 1000,
        "known {known}, unknown {unknown}"
    );
}
