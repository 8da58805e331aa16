//! Shared helpers: zones, a client factory, and a small FCrDNS audit used to compare what
//! the client sees with the fixtures' ground truth.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::Duration;

use ptraudit_dns::{Client, ClientBuilder, Name, RecordType, Status, name_to_text, reverse_name};
use ptraudit_testdns::Server;
pub use ptraudit_testdns::fixtures_dir;

pub fn name(s: &str) -> Name {
    ptraudit_testdns::parse_name(s, &Name::root()).unwrap()
}

/// A reverse zone with a normal PTR, a 40-PTR name (too big for UDP), an RFC 2317
/// delegation, and a forward zone.
pub const REVERSE: &str = "
$TTL 300
@ SOA ns.test. host.test. 1 3600 600 86400 300
@ NS ns.test.
7.0 PTR mail.example.test.
65.5 CNAME 65.64/26.5
64/26.5 NS ns.test.
";

pub const CHILD: &str = "
$TTL 300
@ SOA ns.test. host.test. 1 3600 600 86400 300
@ NS ns.test.
65 PTR cust65.example.test.
";

pub const FORWARD: &str = "
$TTL 300
@ SOA ns.test. host.test. 1 3600 600 86400 300
@ NS ns.test.
mail A 198.18.0.7
v6only AAAA 2001:db8::7
";

/// 40 PTR records at 8.0.18.198.in-addr.arpa: about 2.5 kB, more than fits in 1232 bytes.
pub fn big_ptrs() -> String {
    let mut z = String::new();
    for i in 0..40 {
        z.push_str(&format!(
            "8.0 PTR a-rather-long-host-name-number-{i:02}.customers.example.test.\n"
        ));
    }
    z
}

pub fn small_server(b: ptraudit_testdns::ServerBuilder) -> Server {
    b.zone_text("18.198.in-addr.arpa.", &(REVERSE.to_string() + &big_ptrs()))
        .unwrap()
        .zone_text("64/26.5.18.198.in-addr.arpa.", CHILD)
        .unwrap()
        .zone_text("example.test.", FORWARD)
        .unwrap()
        .start()
        .unwrap()
}

pub fn client_for(server: &Server) -> ClientBuilder {
    ClientBuilder::new(vec![server.udp_addr()])
        .timeout(Duration::from_millis(300))
        .max_timeout(Duration::from_millis(1200))
        .attempts(3)
        .sockets(2)
}

/// What an FCrDNS audit of one address found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audit {
    pub ptr_names: BTreeSet<String>,
    pub cname_chain: Vec<String>,
    pub forward: BTreeSet<IpAddr>,
    pub fcrdns: &'static str,
    pub reason: &'static str,
}

/// PTR (following CNAMEs across queries), then A or AAAA of every PTR name.
pub async fn audit(client: &Client, ip: IpAddr) -> Audit {
    let mut qname = reverse_name(ip);
    let mut cname_chain = Vec::new();
    let mut ptr = client.query(qname.clone(), RecordType::PTR).await.unwrap();
    for _ in 0..4 {
        cname_chain.extend(ptr.cname_chain().map(name_to_text));
        match ptr.unresolved_cname() {
            Some(next) if ptr.status == Status::NoData => qname = next.clone(),
            _ => break,
        }
        ptr = client.query(qname.clone(), RecordType::PTR).await.unwrap();
    }
    let names: Vec<Name> = ptr.ptr_names().cloned().collect();
    let mut out = Audit {
        ptr_names: names.iter().map(name_to_text).collect(),
        cname_chain,
        forward: BTreeSet::new(),
        fcrdns: "",
        reason: "",
    };
    if names.is_empty() {
        // The reason is the one the lookup's status gives (formerly hard-coded as
        // `ptr-nxdomain`, so a NODATA answer where the truth says NXDOMAIN passed).
        out.fcrdns = "no-ptr";
        out.reason = match ptr.status {
            Status::NxDomain => "ptr-nxdomain",
            Status::NoData => "ptr-nodata",
            other => panic!("{ip}: PTR lookup ended in {other}"),
        };
        return out;
    }
    let rtype = if ip.is_ipv4() {
        RecordType::A
    } else {
        RecordType::AAAA
    };
    let mut reasons = Vec::new();
    let mut pass = false;
    for n in names {
        let fwd = client.query(n, rtype).await.unwrap();
        let addrs: Vec<IpAddr> = fwd.addrs().collect();
        out.forward.extend(addrs.iter().copied());
        match fwd.status {
            _ if addrs.contains(&ip) => pass = true,
            Status::Answer => reasons.push("forward-mismatch"),
            Status::NoData => reasons.push("forward-nodata"),
            Status::NxDomain => reasons.push("forward-nxdomain"),
            other => panic!("{ip}: forward lookup ended in {other}"),
        }
    }
    if pass {
        out.fcrdns = "pass";
    } else {
        out.fcrdns = "fail";
        out.reason = ["forward-mismatch", "forward-nodata", "forward-nxdomain"]
            .into_iter()
            .find(|r| reasons.contains(r))
            .unwrap();
    }
    out
}

/// One row of the fixtures' ground truth, with the audit it states.
#[derive(Debug, Clone)]
pub struct Truth {
    pub ip: IpAddr,
    pub category: String,
    pub expected: Audit,
}

/// A verdict or reason of the ground truth as the `&'static str` an [`Audit`] holds.
fn verdict(s: &str) -> &'static str {
    match s {
        "pass" => "pass",
        "fail" => "fail",
        "no-ptr" => "no-ptr",
        "forward-mismatch" => "forward-mismatch",
        "forward-nodata" => "forward-nodata",
        "forward-nxdomain" => "forward-nxdomain",
        "ptr-nxdomain" => "ptr-nxdomain",
        "ptr-nodata" => "ptr-nodata",
        "" => "",
        other => panic!("unknown truth value {other:?}"),
    }
}

/// Every row of `fixtures/net/truth.csv` (read by [`ptraudit_testdns::load_truth`]).
pub fn truth() -> Vec<Truth> {
    ptraudit_testdns::load_truth(&fixtures_dir())
        .unwrap()
        .into_iter()
        .map(|t| Truth {
            ip: t.ip,
            expected: Audit {
                ptr_names: t.ptr_names,
                cname_chain: t.cname_chain,
                forward: t.forward.into_iter().collect(),
                fcrdns: verdict(&t.fcrdns),
                reason: verdict(&t.reason),
            },
            category: t.category,
        })
        .collect()
}

/// Audits every truth row (several at a time) and returns the mismatches.
pub async fn check_truth(client: &Client, rows: &[Truth]) -> Vec<String> {
    let mut set = tokio::task::JoinSet::new();
    let mut bad = Vec::new();
    for chunk in rows.chunks(64) {
        for row in chunk.iter().cloned() {
            let client = client.clone();
            set.spawn(async move {
                let got = audit(&client, row.ip).await;
                (row, got)
            });
        }
        while let Some(done) = set.join_next().await {
            let (row, got) = done.unwrap();
            if got != row.expected {
                bad.push(format!(
                    "{} ({}): expected {:?}, got {:?}",
                    row.ip, row.category, row.expected, got
                ));
            }
        }
    }
    bad
}
