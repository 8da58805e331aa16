//! The reverse-tree walk (RFC 8020) through the test server: pruning, every IPv4 row
//! equal to brute force, IPv6 hosts found with the fewest questions a walk can ask, and
//! servers that break the rules (wildcards, referrals, failures, NXDOMAIN for empty
//! non-terminals) reported, never silently pruned.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::rdata::{NS, PTR};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use ptraudit_dns::{ClientBuilder, reverse_name_string};
use ptraudit_scan::{
    Fcrdns, FcrdnsReason, Order, Row, ScanConfig, Scanner, Shard, Status, Stop, TargetSet, VecSink,
    WalkSummary,
};
use ptraudit_testdns::{Server, ServerBuilder};

const SOA: &str = "$TTL 60\n@ SOA ns.test. host.test. 1 3600 600 86400 60\n@ NS ns.test.\n";

/// IPv4 hosts of the sparse /16 (name, and whether its A matches).
const V4: &[(&str, &str, bool)] = &[
    ("198.19.5.1", "mail.shop.test", true),
    ("198.19.5.2", "198-19-5-2.dyn.isp.test", true),
    ("198.19.5.3", "smtp.shop.test", false),
    ("198.19.5.255", "bcast.shop.test", true),
    ("198.19.77.9", "c-198-19-77-9.isp.test", true),
    ("198.19.200.1", "gw.shop.test", true),
];

/// IPv6 hosts: a cluster in one /64, one host in another, and one in a separate /48.
const V6: &[&str] = &[
    "2001:db8:0:1::1",
    "2001:db8:0:1::2",
    "2001:db8:0:1::53",
    "2001:db8:0:2::10",
    "2001:db8:100:4200:21a:2bff:fe3c:4d5e",
];

fn relative(ip: &str, origin: &str) -> String {
    let full = reverse_name_string(ip.parse().unwrap());
    full.strip_suffix(&format!(".{origin}"))
        .unwrap()
        .to_string()
}

fn zones(b: ServerBuilder) -> ServerBuilder {
    let origin4 = "19.198.in-addr.arpa.";
    let mut rev4 = String::from(SOA);
    let mut fwd = String::from(SOA);
    for (ip, name, matches) in V4 {
        rev4.push_str(&format!("{} PTR {name}.\n", relative(ip, origin4)));
        let a = if *matches { *ip } else { "192.0.2.1" };
        let label = name.strip_suffix(".test").unwrap();
        fwd.push_str(&format!("{label} A {a}\n"));
    }
    let origin6 = "8.b.d.0.1.0.0.2.ip6.arpa.";
    let mut rev6 = String::from(SOA);
    for (i, ip) in V6.iter().enumerate() {
        rev6.push_str(&format!("{} PTR host{i}.v6.test.\n", relative(ip, origin6)));
        fwd.push_str(&format!("host{i}.v6 AAAA {ip}\n"));
    }
    b.zone_text(origin4, &rev4)
        .unwrap()
        .zone_text(origin6, &rev6)
        .unwrap()
        .zone_text("test.", &fwd)
        .unwrap()
}

fn scanner(server: &Server) -> Scanner {
    let client = ClientBuilder::new(vec![server.udp_addr()])
        .timeout(Duration::from_millis(200))
        .attempts(2)
        .build()
        .unwrap();
    Scanner::new(client, ScanConfig::default())
}

fn targets(spec: &str) -> TargetSet {
    let mut t = TargetSet::new();
    t.add_spec(spec).unwrap();
    t
}

async fn walk_with(
    server: &Server,
    spec: &str,
    shard: Shard,
    max_queries: Option<u64>,
    skip: &dyn Fn(u64, u64) -> bool,
) -> (Vec<Row>, WalkSummary, u64) {
    let scanner = scanner(server);
    let plan = targets(spec)
        .walk_plan(shard)
        .unwrap()
        .max_queries(max_queries);
    let mut rows = VecSink::default();
    let (stats, summary) = scanner
        .walk_until(&plan, skip, &mut rows, &mut |_| {}, &Stop::default())
        .await
        .unwrap();
    assert_eq!(stats.addresses, rows.0.len() as u64);
    (rows.0, summary, stats.queries)
}

async fn walk(server: &Server, spec: &str) -> (Vec<Row>, WalkSummary, u64) {
    walk_with(server, spec, Shard::ALL, None, &|_, _| false).await
}

async fn brute(server: &Server, spec: &str) -> (Vec<Row>, u64) {
    let scanner = scanner(server);
    let plan = targets(spec).plan(Shard::ALL, Order::Linear);
    let total = plan.len();
    let mut rows = VecSink::default();
    let stats = scanner
        .run(plan, total, &mut rows, &mut |_| {})
        .await
        .unwrap();
    (rows.0, stats.queries)
}

/// What a row says, without attempts, RTT, resolver and time.
fn essence(r: &Row) -> String {
    format!(
        "{} {} {} {:?} {:?} {} {:?} {:?}",
        r.ip, r.prefix, r.ptr_status, r.ptr, r.ptr_all, r.fcrdns, r.fcrdns_reason, r.generic
    )
}

fn sorted(rows: &[Row]) -> Vec<String> {
    let mut v: Vec<String> = rows.iter().map(essence).collect();
    v.sort();
    v
}

#[tokio::test]
async fn ipv4_walk_writes_every_row_brute_force_would_with_far_fewer_queries() {
    let server = zones(Server::builder()).start().unwrap();
    let (walked, summary, walk_queries) = walk(&server, "198.19.0.0/16").await;
    let (brute, brute_queries) = brute(&server, "198.19.0.0/16").await;
    assert_eq!(walked.len(), 65536);
    assert_eq!(sorted(&walked), sorted(&brute));
    // Every address once.
    let unique: BTreeSet<IpAddr> = walked.iter().map(|r| r.ip).collect();
    assert_eq!(unique.len(), 65536);
    // Inferred rows say so: no attempt of their own.
    let inferred = walked.iter().filter(|r| r.attempts == 0).count() as u64;
    assert_eq!(inferred, summary.inferred);
    assert_eq!(inferred, 65536 - 3 * 256, "three /24s hold data");
    // 1 for the /16, 256 for its /24s, 256 addresses in each of the three with data,
    // plus one forward question per PTR name.
    assert_eq!(walk_queries, 1 + 256 + 3 * 256 + V4.len() as u64);
    assert!(brute_queries >= 65536);
    assert_eq!(summary.pruned, 256 - 3);
    assert!(summary.empty.is_empty() && summary.unexplored.is_empty());
    for (ip, name, matches) in V4 {
        let row = walked.iter().find(|r| r.ip.to_string() == *ip).unwrap();
        assert_eq!(row.ptr.as_deref(), Some(*name));
        let want = if *matches { Fcrdns::Pass } else { Fcrdns::Fail };
        assert_eq!(row.fcrdns, want, "{ip}");
    }
}

/// Node questions the walk must ask for `hosts` under `root`: the root, then the 16
/// children of every name that exists above full depth.
fn least_questions(hosts: &[&str], root_len: u32) -> u64 {
    let mut nodes = BTreeSet::new();
    for h in hosts {
        let n = u128::from(h.parse::<std::net::Ipv6Addr>().unwrap());
        for len in (root_len..128).step_by(4) {
            nodes.insert((len, n >> (128 - len)));
        }
    }
    1 + 16 * nodes.len() as u64
}

#[tokio::test]
async fn ipv6_walk_finds_every_host_with_the_least_questions() {
    let server = zones(Server::builder()).start().unwrap();
    let (rows, summary, queries) = walk(&server, "2001:db8::/32").await;
    let found: BTreeSet<String> = rows.iter().map(|r| r.ip.to_string()).collect();
    let want: BTreeSet<String> = V6
        .iter()
        .map(|h| h.parse::<IpAddr>().unwrap().to_string())
        .collect();
    assert_eq!(found, want);
    assert!(rows.iter().all(|r| r.fcrdns == Fcrdns::Pass), "{rows:#?}");
    // Exactly the least a walk can ask, plus one AAAA per host.
    assert_eq!(queries, least_questions(V6, 32) + V6.len() as u64);
    assert!(summary.wildcards.is_empty() && summary.empty.is_empty());
    assert_eq!(summary.probes, 0);
    // An IPv6 range below --max-v6 still walks when asked to, and finds the same.
    let (rows, _, _) = walk(&server, "2001:db8:0:1::/64").await;
    assert_eq!(rows.len(), 3);
}

#[tokio::test]
async fn shards_of_a_walk_cover_it_exactly_once() {
    let server = zones(Server::builder()).start().unwrap();
    let (whole, _, _) = walk(&server, "198.19.0.0/16").await;
    let (whole6, _, _) = walk(&server, "2001:db8::/32").await;
    let mut parts = Vec::new();
    for index in 0..3 {
        let shard = Shard { index, count: 3 };
        let (r4, _, _) = walk_with(&server, "198.19.0.0/16", shard, None, &|_, _| false).await;
        let (r6, _, _) = walk_with(&server, "2001:db8::/32", shard, None, &|_, _| false).await;
        assert!(!r4.is_empty());
        parts.extend(r4);
        parts.extend(r6);
    }
    let mut all = whole;
    all.extend(whole6);
    assert_eq!(sorted(&parts), sorted(&all));
}

#[tokio::test]
async fn units_marked_done_are_skipped_and_the_rest_complete() {
    let server = zones(Server::builder()).start().unwrap();
    // Units are /24s here: skip the first 100 (done before a resume).
    let (rows, _, _) = walk_with(&server, "198.19.0.0/16", Shard::ALL, None, &|a, b| {
        a <= b && b < 100
    })
    .await;
    assert_eq!(rows.len(), (256 - 100) * 256);
    assert!(rows.iter().all(|r| match r.ip {
        IpAddr::V4(a) => a.octets()[2] >= 100,
        IpAddr::V6(_) => false,
    }));
    assert!(
        rows.iter()
            .any(|r| r.ptr.as_deref() == Some("gw.shop.test"))
    );
    assert!(
        !rows
            .iter()
            .any(|r| r.ptr.as_deref() == Some("mail.shop.test"))
    );
}

/// A reply rewritten for names under `node` (reverse-name text).
fn under(reply: &Message, node: &str) -> bool {
    reply.queries.first().is_some_and(|q| {
        let name = q.name().to_ascii().to_ascii_lowercase();
        name.len() > node.len() && name.ends_with(&format!(".{node}"))
    })
}

const WILD: &str = "0.f.8.b.d.0.1.0.0.2.ip6.arpa."; // 2001:db8:f000::/40

#[tokio::test]
async fn an_ipv6_wildcard_is_reported_once_and_not_enumerated() {
    // `*.0.f.8.b.d…`: every name below 2001:db8:f000::/40 answers one PTR, and the node
    // and its parent exist.
    let asked_below = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&asked_below);
    let server = zones(Server::builder())
        .hook(move |_, reply| {
            let name = reply.queries[0].name().to_ascii().to_ascii_lowercase();
            if name == WILD || name == WILD[2..] {
                reply.metadata.response_code = ResponseCode::NoError;
            } else if under(reply, WILD) {
                counter.fetch_add(1, Ordering::Relaxed);
                let q = reply.queries[0].clone();
                reply.metadata.response_code = ResponseCode::NoError;
                reply.answers.clear();
                reply.authorities.clear();
                reply.add_answer(Record::from_rdata(
                    q.name().clone(),
                    60,
                    RData::PTR(PTR(Name::from_ascii("dynamic.v6.test.").unwrap())),
                ));
            }
        })
        .start()
        .unwrap();
    let (rows, summary, _) = walk(&server, "2001:db8::/32").await;
    let wild: Vec<&Row> = rows
        .iter()
        .filter(|r| r.fcrdns_reason == Some(FcrdnsReason::WalkWildcard))
        .collect();
    assert_eq!(wild.len(), 1, "{summary:#?} {}", rows.len());
    assert_eq!(wild[0].prefix.to_string(), "2001:db8:f000::/40");
    assert_eq!(wild[0].ptr.as_deref(), Some("dynamic.v6.test"));
    assert_eq!(summary.wildcards.len(), 1);
    // Not enumerated: a handful of questions below the node, not 16 per level.
    assert!(
        asked_below.load(Ordering::Relaxed) <= 40,
        "{}",
        asked_below.load(Ordering::Relaxed)
    );
    // The real hosts are all still found.
    for h in V6 {
        let ip: IpAddr = h.parse().unwrap();
        assert!(
            rows.iter().any(|r| r.ip == ip && r.fcrdns == Fcrdns::Pass),
            "{h}"
        );
    }
}

#[tokio::test]
async fn referrals_and_failing_nodes_are_reported_with_their_prefix() {
    const REFERRAL: &str = "1.0.8.b.d.0.1.0.0.2.ip6.arpa."; // 2001:db8:100::/40
    const FAILING: &str = "0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa."; // 2001:db8::/48
    let server = zones(Server::builder())
        .hook(|_, reply| {
            let name = reply.queries[0].name().to_ascii().to_ascii_lowercase();
            if name == REFERRAL || under(reply, REFERRAL) {
                let apex = Name::from_ascii(REFERRAL).unwrap();
                reply.metadata.response_code = ResponseCode::NoError;
                reply.metadata.authoritative = false;
                reply.answers.clear();
                reply.authorities.clear();
                reply.add_authority(Record::from_rdata(
                    apex,
                    60,
                    RData::NS(NS(Name::from_ascii("ns.lame.test.").unwrap())),
                ));
            } else if name == FAILING || under(reply, FAILING) {
                reply.metadata.response_code = ResponseCode::ServFail;
                reply.answers.clear();
                reply.authorities.clear();
            }
        })
        .start()
        .unwrap();
    let (rows, summary, _) = walk(&server, "2001:db8::/32").await;
    let by_reason: BTreeMap<String, Vec<String>> = rows.iter().fold(BTreeMap::new(), |mut m, r| {
        let k = r.fcrdns_reason.map_or("-".to_string(), |x| x.to_string());
        m.entry(k)
            .or_default()
            .push(format!("{} {}", r.prefix, r.ptr_status));
        m
    });
    assert_eq!(
        by_reason.get("walk-referral"),
        Some(&vec!["2001:db8:100::/40 NODATA".to_string()]),
        "{by_reason:#?}"
    );
    assert_eq!(
        by_reason.get("walk-unexplored"),
        Some(&vec!["2001:db8::/48 SERVFAIL".to_string()]),
        "{by_reason:#?}"
    );
    assert_eq!(summary.unexplored.len(), 1);
    assert_eq!(summary.unexplored[0].1, Status::ServFail);
    assert_eq!(summary.referrals.len(), 1);
    // Nothing below either was asked or found.
    assert!(!rows.iter().any(|r| r.fcrdns == Fcrdns::Pass));
}

#[tokio::test]
async fn nxdomain_for_empty_non_terminals_is_noticed() {
    // An old server: names without records answer NXDOMAIN, even when names exist below.
    let server = zones(Server::builder())
        .hook(|_, reply| {
            let name = reply.queries[0].name().to_ascii().to_ascii_lowercase();
            if reply.metadata.response_code == ResponseCode::NoError
                && reply.answers.is_empty()
                && name != "8.b.d.0.1.0.0.2.ip6.arpa."
                && name.ends_with("ip6.arpa.")
                && reply.queries[0].query_type() == RecordType::PTR
            {
                reply.metadata.response_code = ResponseCode::NXDomain;
            }
        })
        .start()
        .unwrap();
    let (rows, summary, _) = walk(&server, "2001:db8::/32").await;
    assert!(rows.is_empty(), "the tree looks empty: {rows:#?}");
    assert_eq!(
        summary
            .empty
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["2001:db8::/32"]
    );
}

#[tokio::test]
async fn a_query_budget_stops_the_walk_and_reports_what_is_left() {
    let server = zones(Server::builder()).start().unwrap();
    let (rows, summary, queries) =
        walk_with(&server, "2001:db8::/32", Shard::ALL, Some(40), &|_, _| {
            false
        })
        .await;
    assert!(queries < 40 + 200, "{queries}");
    assert!(!summary.budget.is_empty());
    let budget_rows = rows
        .iter()
        .filter(|r| r.fcrdns_reason == Some(FcrdnsReason::WalkBudget))
        .count();
    assert_eq!(budget_rows, summary.budget.len());
    // Every host is either found or under a node left by the budget.
    for h in V6 {
        let ip: IpAddr = h.parse().unwrap();
        let found = rows.iter().any(|r| r.ip == ip && r.fcrdns == Fcrdns::Pass);
        let left = summary.budget.iter().any(|p| p.contains(ip));
        assert!(found ^ left, "{h}: found {found}, left {left}");
    }
}

/// Walks the sparse fixtures (`fixtures/walk`) through `resolver` and checks them
/// against their truth: every IPv4 address of 198.19.0.0/16 once, the IPv6 hosts found
/// with their verdicts, the wildcard reported, the lame delegation reported as
/// `lame_reason` (a referral from an authoritative server, SERVFAIL through a resolver).
async fn walk_fixtures_match_truth(
    who: &str,
    resolver: std::net::SocketAddr,
    lame_reason: FcrdnsReason,
) {
    use ptraudit_testdns::{load_truth, walk_fixtures_dir};
    let truth: BTreeMap<IpAddr, (String, String)> = load_truth(&walk_fixtures_dir())
        .unwrap()
        .into_iter()
        .map(|t| (t.ip, (t.fcrdns, t.ptr)))
        .collect();
    let client = ClientBuilder::new(vec![resolver])
        .timeout(Duration::from_millis(800))
        .build()
        .unwrap();
    let scanner = Scanner::new(client, ScanConfig::default());
    let mut set = targets("198.19.0.0/16");
    set.add_spec("2001:db8::/32").unwrap();
    let plan = set.walk_plan(Shard::ALL).unwrap();
    let mut sink = VecSink::default();
    let (_, summary) = scanner
        .walk_until(
            &plan,
            &|_, _| false,
            &mut sink,
            &mut |_| {},
            &Stop::default(),
        )
        .await
        .unwrap();
    let (nodes, rows): (Vec<Row>, Vec<Row>) = sink.0.into_iter().partition(|r| {
        r.fcrdns_reason
            .is_some_and(|x| x.as_str().starts_with("walk-"))
    });
    let mut seen = BTreeSet::new();
    let mut v4 = 0;
    for r in &rows {
        assert!(seen.insert(r.ip), "{who}: {} twice", r.ip);
        let (fcrdns, ptr) = match truth.get(&r.ip) {
            Some((f, p)) => (f.as_str(), p.as_str()),
            None => {
                assert!(r.ip.is_ipv4(), "{who}: {} found but not in the truth", r.ip);
                ("no-ptr", "")
            }
        };
        assert_eq!(r.fcrdns.as_str(), fcrdns, "{who}: {}", r.ip);
        assert_eq!(r.ptr.as_deref().unwrap_or(""), ptr, "{who}: {}", r.ip);
        v4 += usize::from(r.ip.is_ipv4());
    }
    assert_eq!(v4, 65536, "{who}");
    let v6_truth = truth.keys().filter(|ip| ip.is_ipv6()).count();
    assert_eq!(rows.len() - v4, v6_truth, "{who}: every IPv6 host found");
    let nodes: BTreeSet<String> = nodes
        .iter()
        .map(|r| format!("{} {}", r.prefix, r.fcrdns_reason.unwrap()))
        .collect();
    let want: BTreeSet<String> = [
        "2001:db8:f00::/48 walk-wildcard".to_string(),
        format!("2001:db8:bad::/48 {lame_reason}"),
    ]
    .into();
    assert_eq!(nodes, want, "{who}: {summary:#?}");
    assert!(summary.empty.is_empty(), "{who}: {:?}", summary.empty);
    assert!(summary.pruned >= 250, "{who}: {}", summary.pruned);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sparse_fixtures_walked_through_testdns_knot_and_unbound_match_their_truth() {
    use ptraudit_testdns::{Zones, external, walk_fixtures_dir};
    let manifest = walk_fixtures_dir().join("zones.txt");
    let zones = Zones::load_manifest(&manifest).unwrap();
    let server = Server::builder().zones(zones).start().unwrap();
    walk_fixtures_match_truth("testdns", server.udp_addr(), FcrdnsReason::WalkReferral).await;
    let Some(knot) =
        external::started_or_skip(external::start_knot(&manifest, Some(1)), "interop walk")
    else {
        return;
    };
    walk_fixtures_match_truth("Knot", knot.addr(), FcrdnsReason::WalkReferral).await;
    let Some(unbound) = external::started_or_skip(
        external::start_unbound(&manifest, knot.addr(), 2),
        "interop walk",
    ) else {
        return;
    };
    walk_fixtures_match_truth("Unbound", unbound.addr(), FcrdnsReason::WalkUnexplored).await;
}

#[tokio::test]
async fn a_server_answering_nxdomain_for_empty_non_terminals_hides_the_tree_and_is_named() {
    use ptraudit_testdns::{Zones, walk_fixtures_dir};
    let zones = Zones::load_manifest(&walk_fixtures_dir().join("zones.txt")).unwrap();
    let server = Server::builder()
        .zones(zones)
        .ent_nxdomain(true)
        .start()
        .unwrap();
    let (rows, summary, _) = walk(&server, "2001:db8::/32").await;
    // The apex has records; everything between it and the hosts is an empty
    // non-terminal, answered NXDOMAIN: nothing is found, and the apex is named.
    assert!(rows.is_empty(), "{rows:#?}");
    assert!(
        summary
            .empty
            .iter()
            .any(|p| p.to_string() == "2001:db8::/32"),
        "{:?}",
        summary.empty
    );
}
