//! The walk fixtures (`fixtures/walk`, written by `scripts/gen_walk_fixtures.py`): the
//! truth, the special nodes and the counts agree with what the zones answer, through
//! [`Zones`] directly, the `ptraudit-testdns` binary, Knot DNS and Unbound.
//!
//! The interop test needs `knotd` and `unbound` (Debian packages `knot`, `unbound`); it
//! is skipped loudly without them unless PTRAUDIT_REQUIRE_INTEROP=1 (`scripts/test.sh`).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::ffi::OsString;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use ptraudit_testdns::{Zones, external, load_truth, parse_zone, walk_fixtures_dir};

use crate::support::{self, Binary};

const REV6: &str = "8.b.d.0.1.0.0.2.ip6.arpa.";
const WILDCARD_PTR: &str = "dynamic.v6.isp.test.";

/// The reverse name of the node of a prefix (`len` a multiple of 8 for IPv4, of 4 for
/// IPv6; 128 is the address itself for both).
fn node_name(ip: IpAddr, len: u8) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            let n = usize::from(len.min(32) / 8);
            let mut s: String = o[..n].iter().rev().map(|b| format!("{b}.")).collect();
            s.push_str("in-addr.arpa.");
            s
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let n = u32::from(len / 4);
            let mut s = String::new();
            for i in (0..n).rev() {
                let nibble = (bits >> (124 - 4 * i)) & 0xf;
                s.push_str(&format!("{nibble:x}."));
            }
            s.push_str("ip6.arpa.");
            s
        }
    }
}

fn query(name: &str, t: RecordType, rd: bool) -> Message {
    let mut m = Message::query();
    m.metadata.recursion_desired = rd;
    m.add_query(Query::query(Name::from_ascii(name).unwrap(), t));
    m
}

fn ptrs(m: &Message) -> BTreeSet<String> {
    m.answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::PTR(p) => Some(p.0.to_ascii().trim_end_matches('.').to_string()),
            _ => None,
        })
        .collect()
}

/// `(prefix address, prefix length, kind)` of `nodes.csv`.
fn nodes() -> Vec<(IpAddr, u8, String)> {
    let text = std::fs::read_to_string(walk_fixtures_dir().join("nodes.csv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("prefix,kind,zone_note"));
    lines
        .map(|l| {
            let mut f = l.splitn(3, ',');
            let (prefix, kind) = (f.next().unwrap(), f.next().unwrap());
            let (addr, len) = prefix.split_once('/').unwrap();
            (
                addr.parse().unwrap(),
                len.parse().unwrap(),
                kind.to_string(),
            )
        })
        .collect()
}

/// The number after `label` on its line of `stats.txt`.
fn stat(stats: &str, label: &str) -> usize {
    let line = stats
        .lines()
        .find(|l| l.starts_with(label))
        .unwrap_or_else(|| panic!("no {label:?} in stats.txt"));
    line[label.len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn the_walk_truth_is_what_the_zones_answer() {
    let dir = walk_fixtures_dir();
    let zones = Zones::load_manifest(&dir.join("zones.txt")).unwrap();
    let rows = load_truth(&dir).unwrap();
    let stats = std::fs::read_to_string(dir.join("stats.txt")).unwrap();
    let v4 = rows.iter().filter(|r| r.ip.is_ipv4()).count();
    let v6 = rows.len() - v4;
    assert_eq!(v4, stat(&stats, "ipv4 hosts with PTR:"));
    assert_eq!(v6, stat(&stats, "ipv6 hosts with PTR:"));
    assert!(v4 > 200 && v6 > 30, "{v4} {v6}");

    // Every row has a PTR, answered exactly.
    for r in &rows {
        assert!(!r.ptr_names.is_empty(), "{}: truth lists only PTRs", r.ip);
        let a = zones.answer(&query(&node_name(r.ip, 128), RecordType::PTR, false));
        assert_eq!(a.metadata.response_code, ResponseCode::NoError, "{}", r.ip);
        assert!(a.metadata.authoritative, "{}", r.ip);
        assert_eq!(ptrs(&a), r.ptr_names, "{}", r.ip);
    }
    // The zone files hold no other PTR (the wildcard's aside).
    let mut owners = HashSet::new();
    for (origin, file) in external::manifest_zones(&dir.join("zones.txt")).unwrap() {
        let text = std::fs::read_to_string(file).unwrap();
        let origin = Name::from_ascii(&origin).unwrap();
        for rec in parse_zone(&text, &origin).unwrap() {
            if rec.record_type() == RecordType::PTR && !rec.name.is_wildcard() {
                owners.insert(rec.name.to_ascii().to_lowercase());
            }
        }
    }
    let truth_names: HashSet<String> = rows.iter().map(|r| node_name(r.ip, 128)).collect();
    assert_eq!(owners, truth_names);

    // Every other address of 198.19.0.0/16 is NXDOMAIN.
    let with_ptr: HashSet<IpAddr> = rows.iter().map(|r| r.ip).collect();
    for i in 0..=u16::MAX {
        let ip = IpAddr::V4(Ipv4Addr::from(0xc613_0000 | u32::from(i)));
        if with_ptr.contains(&ip) {
            continue;
        }
        let a = zones.answer(&query(&node_name(ip, 32), RecordType::PTR, false));
        assert_eq!(a.metadata.response_code, ResponseCode::NXDomain, "{ip}");
    }
    let v4_nodes = (0..=255u8)
        .filter(|c| {
            let node = format!("{c}.19.198.in-addr.arpa.");
            let a = zones.answer(&query(&node, RecordType::PTR, false));
            a.metadata.response_code == ResponseCode::NoError
        })
        .count();
    assert_eq!(v4_nodes, stat(&stats, "ipv4 /24 nodes that exist:"));

    // A reference walk of 2001:db8::/32 through the zones: it stops at the wildcard
    // (from nodes.csv) and at referrals, and must find the per-depth counts of stats.txt,
    // exactly the IPv6 hosts of the truth, and the lame node of nodes.csv.
    let special = nodes();
    let wildcards: HashSet<String> = special
        .iter()
        .filter(|(_, _, k)| k == "wildcard")
        .map(|(ip, len, _)| node_name(*ip, *len))
        .collect();
    let mut per_len: BTreeMap<u8, usize> = BTreeMap::new();
    let mut hosts = HashSet::new();
    let mut referrals = HashSet::new();
    let mut stack = vec![(REV6.to_string(), 32u8)];
    while let Some((node, len)) = stack.pop() {
        let a = zones.answer(&query(&node, RecordType::PTR, false));
        if a.metadata.response_code == ResponseCode::NXDomain {
            continue;
        }
        assert_eq!(a.metadata.response_code, ResponseCode::NoError, "{node}");
        *per_len.entry(len).or_default() += 1;
        if !a.metadata.authoritative {
            referrals.insert(node);
            continue;
        }
        if len == 128 {
            assert!(!a.answers.is_empty(), "{node}");
            hosts.insert(node);
        } else if !wildcards.contains(&node) {
            assert!(a.answers.is_empty(), "{node}: only hosts hold PTRs");
            for nibble in 0..16 {
                stack.push((format!("{nibble:x}.{node}"), len + 4));
            }
        }
    }
    for (len, count) in &per_len {
        assert_eq!(
            *count,
            stat(&stats, &format!("ipv6 names that exist at /{len}:")),
            "/{len}"
        );
    }
    let v6_truth: HashSet<String> = rows
        .iter()
        .filter(|r| r.ip.is_ipv6())
        .map(|r| node_name(r.ip, 128))
        .collect();
    assert_eq!(hosts, v6_truth);
    let internal: usize = per_len
        .iter()
        .filter(|(l, _)| **l < 128)
        .map(|(_, c)| c)
        .sum();
    assert_eq!(internal, stat(&stats, "ipv6 non-empty nodes /32../124:"));

    // The special nodes answer as nodes.csv says.
    let lame: HashSet<String> = special
        .iter()
        .filter(|(_, _, k)| k == "lame")
        .map(|(ip, len, _)| node_name(*ip, *len))
        .collect();
    assert_eq!(referrals, lame);
    for (ip, len, kind) in &special {
        let node = node_name(*ip, *len);
        let below = format!("1.2.3.{node}");
        let a = zones.answer(&query(&below, RecordType::PTR, false));
        match kind.as_str() {
            "wildcard" => {
                assert!(a.metadata.authoritative);
                assert_eq!(
                    ptrs(&a),
                    BTreeSet::from([WILDCARD_PTR.trim_end_matches('.').into()])
                );
            }
            "lame" => {
                assert!(!a.metadata.authoritative, "{node}");
                assert_eq!(a.authorities[0].record_type(), RecordType::NS);
                assert_eq!(a.authorities[0].name.to_ascii(), node);
            }
            "delegated" => {
                // Answered by the loaded child zone: its own SOA.
                assert!(a.metadata.authoritative, "{node}");
                assert_eq!(a.authorities[0].record_type(), RecordType::SOA);
                assert_eq!(a.authorities[0].name.to_ascii(), node);
            }
            other => panic!("unknown kind {other}"),
        }
    }
}

/// Sends `m` and waits for the reply with its ID.
fn ask(server: SocketAddr, name: &str, t: RecordType, rd: bool) -> Message {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut m = query(name, t, rd);
    m.metadata.id = rand_id(name);
    m.set_edns({
        let mut e = hickory_proto::op::Edns::new();
        e.set_max_payload(1232);
        e
    });
    socket.send_to(&m.to_vec().unwrap(), server).unwrap();
    let mut buf = [0u8; 4096];
    loop {
        let n = socket
            .recv(&mut buf)
            .unwrap_or_else(|e| panic!("{name} {t} via {server}: {e}"));
        let reply = Message::from_vec(&buf[..n]).unwrap();
        if reply.metadata.id == m.metadata.id {
            return reply;
        }
    }
}

fn rand_id(name: &str) -> u16 {
    name.bytes()
        .fold(0x5a5a_u16, |h, b| h.rotate_left(5) ^ u16::from(b))
}

/// What a walk sees at the interesting names, asked of one server.
struct Expect {
    truth_v4: (String, BTreeSet<String>),
    truth_v6: (String, BTreeSet<String>),
    ent: Vec<String>,
    empty: Vec<String>,
    under_wildcard: String,
    lame: String,
    below_lame: String,
}

fn expect() -> Expect {
    let rows = load_truth(&walk_fixtures_dir()).unwrap();
    let v4 = rows.iter().find(|r| r.ip.is_ipv4()).unwrap();
    let v6 = rows.iter().find(|r| r.ip.is_ipv6()).unwrap();
    let special = nodes();
    let of = |kind: &str| {
        special
            .iter()
            .find(|(_, _, k)| k == kind)
            .map(|(ip, len, _)| node_name(*ip, *len))
            .unwrap()
    };
    let lame = of("lame");
    let v6_64: Ipv6Addr = "2001:db8:0:1::".parse().unwrap();
    Expect {
        truth_v4: (node_name(v4.ip, 128), v4.ptr_names.clone()),
        truth_v6: (node_name(v6.ip, 128), v6.ptr_names.clone()),
        ent: vec![
            "5.19.198.in-addr.arpa.".into(),
            node_name(IpAddr::V6(v6_64), 64),
            of("wildcard"),
        ],
        empty: vec![
            "7.19.198.in-addr.arpa.".into(),
            node_name("2001:db8:e00::".parse().unwrap(), 40),
        ],
        under_wildcard: format!("e.e.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.{}", of("wildcard")),
        below_lame: format!("1.0.0.0.{lame}"),
        lame,
    }
}

fn common_checks(server: SocketAddr, rd: bool, who: &str) -> Expect {
    let e = expect();
    for (name, names) in [&e.truth_v4, &e.truth_v6] {
        let a = ask(server, name, RecordType::PTR, rd);
        assert_eq!(
            a.metadata.response_code,
            ResponseCode::NoError,
            "{who} {name}"
        );
        assert_eq!(&ptrs(&a), names, "{who} {name}");
    }
    for name in &e.ent {
        let a = ask(server, name, RecordType::PTR, rd);
        assert_eq!(
            a.metadata.response_code,
            ResponseCode::NoError,
            "{who} {name}"
        );
        assert!(a.answers.is_empty(), "{who} {name}");
    }
    for name in &e.empty {
        let a = ask(server, name, RecordType::PTR, rd);
        assert_eq!(
            a.metadata.response_code,
            ResponseCode::NXDomain,
            "{who} {name}"
        );
    }
    let a = ask(server, &e.under_wildcard, RecordType::PTR, rd);
    assert_eq!(a.metadata.response_code, ResponseCode::NoError, "{who}");
    assert_eq!(
        ptrs(&a),
        BTreeSet::from([WILDCARD_PTR.trim_end_matches('.').to_string()]),
        "{who}"
    );
    assert_eq!(a.answers[0].name.to_ascii(), e.under_wildcard, "{who}");
    e
}

/// An authoritative server's referral for the lame node and below.
fn check_referral(server: SocketAddr, e: &Expect, who: &str) {
    for name in [&e.lame, &e.below_lame] {
        let a = ask(server, name, RecordType::PTR, false);
        assert_eq!(
            a.metadata.response_code,
            ResponseCode::NoError,
            "{who} {name}"
        );
        assert!(!a.metadata.authoritative, "{who} {name}: AA must be 0");
        assert!(a.answers.is_empty(), "{who} {name}");
        let ns: Vec<_> = a
            .authorities
            .iter()
            .filter(|r| r.record_type() == RecordType::NS)
            .collect();
        assert_eq!(ns.len(), 1, "{who} {name}: {:?}", a.authorities);
        assert_eq!(ns[0].name.to_ascii(), e.lame, "{who}");
        let glue: Vec<String> = a
            .additionals
            .iter()
            .filter_map(|r| match &r.data {
                RData::A(ip) => Some(ip.0.to_string()),
                _ => None,
            })
            .collect();
        assert_eq!(glue, ["127.0.0.2"], "{who} {name}");
    }
}

fn binary(extra: &[&str]) -> Binary {
    let manifest = walk_fixtures_dir().join("zones.txt");
    let mut args = vec![OsString::from("--zones"), manifest.into_os_string()];
    args.extend(extra.iter().map(OsString::from));
    support::binary(&args)
}

#[test]
fn the_binary_serves_the_walk_fixtures_and_ent_nxdomain_on_request() {
    let server = binary(&[]);
    let e = common_checks(server.1, false, "ptraudit-testdns");
    check_referral(server.1, &e, "ptraudit-testdns");
    drop(server);

    // --ent-nxdomain: empty non-terminals are NXDOMAIN, hosts still answer.
    let server = binary(&["--ent-nxdomain"]);
    for name in &e.ent {
        let a = ask(server.1, name, RecordType::PTR, false);
        assert_eq!(a.metadata.response_code, ResponseCode::NXDomain, "{name}");
    }
    let a = ask(server.1, &e.truth_v6.0, RecordType::PTR, false);
    assert_eq!(ptrs(&a), e.truth_v6.1);
    let a = ask(server.1, &e.under_wildcard, RecordType::PTR, false);
    assert_eq!(a.answers.len(), 1);
}

#[test]
fn knot_and_unbound_serve_the_walk_fixtures() {
    let manifest = walk_fixtures_dir().join("zones.txt");
    let Some(knot) = external::started_or_skip(
        external::start_knot(&manifest, Some(1)),
        "walk interop test",
    ) else {
        return;
    };
    let e = common_checks(knot.addr(), false, "Knot");
    check_referral(knot.addr(), &e, "Knot");

    let Some(unbound) = external::started_or_skip(
        external::start_unbound(&manifest, knot.addr(), 1),
        "walk interop test",
    ) else {
        return;
    };
    let e = common_checks(unbound.addr(), true, "Unbound");
    // The lame delegation: Unbound follows Knot's referral to 127.0.0.2, where nothing
    // listens, and gives up with SERVFAIL (reasonably quickly: infra-cache-max-rtt).
    for name in [&e.lame, &e.below_lame] {
        let started = Instant::now();
        let a = ask(unbound.addr(), name, RecordType::PTR, true);
        assert_eq!(
            a.metadata.response_code,
            ResponseCode::ServFail,
            "Unbound {name}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "Unbound took {:?} for {name}",
            started.elapsed()
        );
    }
}
