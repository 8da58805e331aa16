//! Verdict rules that the fixture network does not exercise on its own.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ptraudit_dns::{ClientBuilder, RecordType};
use ptraudit_scan::{
    Fcrdns, FcrdnsReason, ForwardMode, Order, Row, ScanConfig, Scanner, Shard, Status, TargetSet,
    VecSink,
};
use ptraudit_testdns::{Faults, Server, ServerBuilder};

const SOA: &str = "$TTL 60\n@ SOA ns.test. host.test. 1 3600 600 86400 60\n";

fn zones(b: ServerBuilder) -> ServerBuilder {
    let mut rev = String::from(SOA);
    // .1-.20 share one name; .30/.31 form a CNAME loop; .40 names a host whose zone fails.
    for i in 1..=20 {
        rev.push_str(&format!("{i} PTR shared.example.test.\n"));
    }
    rev.push_str("30 CNAME 31.0.18.198.in-addr.arpa.\n31 CNAME 30.0.18.198.in-addr.arpa.\n");
    rev.push_str("40 PTR host.broken.example.test.\n");
    rev.push_str("50 PTR dual.example.test.\n");
    let fwd = format!("{SOA}shared A 198.18.0.1\ndual A 198.18.0.50\ndual AAAA 2001:db8::50\n");
    b.zone_text("0.18.198.in-addr.arpa.", &rev)
        .unwrap()
        .zone_text("example.test.", &fwd)
        .unwrap()
}

async fn scan(server: &Server, spec: &str, forward: ForwardMode) -> Vec<Row> {
    let client = ClientBuilder::new(vec![server.udp_addr()])
        .timeout(Duration::from_millis(200))
        .attempts(2)
        .build()
        .unwrap();
    let mut config = ScanConfig::default();
    config.forward = forward;
    let scanner = Scanner::new(client, config);
    let mut t = TargetSet::new();
    t.add_spec(spec).unwrap();
    let plan = t.plan(Shard::ALL, Order::Linear);
    let total = plan.len();
    let mut rows = VecSink::default();
    scanner
        .run(plan, total, &mut rows, &mut |_| {})
        .await
        .unwrap();
    let mut rows = rows.0;
    rows.sort_by_key(|r| r.ip);
    rows
}

#[tokio::test]
async fn a_name_shared_by_many_addresses_is_asked_once() {
    let asked = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&asked);
    let server = zones(Server::builder())
        .hook(move |_, reply| {
            if let Some(q) = reply.queries.first()
                && q.query_type() == RecordType::A
                && q.name().to_ascii() == "shared.example.test."
            {
                counter.fetch_add(1, Ordering::Relaxed);
            }
        })
        .start()
        .unwrap();
    let rows = scan(&server, "198.18.0.1-198.18.0.20", ForwardMode::Matching).await;
    assert_eq!(rows.len(), 20);
    assert_eq!(
        asked.load(Ordering::Relaxed),
        1,
        "one A query for 20 addresses"
    );
    assert_eq!(rows[0].fcrdns, Fcrdns::Pass);
    assert!(rows[1..].iter().all(
        |r| r.fcrdns == Fcrdns::Fail && r.fcrdns_reason == Some(FcrdnsReason::ForwardMismatch)
    ));
    // The query's attempts are charged once, to the address that asked first.
    assert_eq!(rows.iter().map(|r| r.attempts).sum::<u32>(), 20 + 1);
}

#[tokio::test]
async fn a_cname_loop_in_the_reverse_tree_ends_as_no_ptr_with_its_reason() {
    let server = zones(Server::builder()).start().unwrap();
    let rows = scan(&server, "198.18.0.30", ForwardMode::Matching).await;
    assert_eq!(rows[0].fcrdns, Fcrdns::NoPtr);
    assert_eq!(rows[0].fcrdns_reason, Some(FcrdnsReason::PtrCnameLoop));
    assert!(!rows[0].cname_chain.is_empty());
}

#[tokio::test]
async fn a_failing_forward_lookup_is_a_temperror_that_says_where() {
    let mut f = Faults::default();
    f.servfail_subtree = Some(
        ptraudit_testdns::parse_name("broken.example.test.", &ptraudit_dns::Name::root()).unwrap(),
    );
    let server = zones(Server::builder()).faults(f).start().unwrap();
    let rows = scan(&server, "198.18.0.40", ForwardMode::Matching).await;
    assert_eq!(rows[0].fcrdns, Fcrdns::TempError);
    assert_eq!(rows[0].fcrdns_reason, Some(FcrdnsReason::ForwardServfail));
    assert_eq!(rows[0].ptr_status, Status::Answer);
    // A PTR lookup that fails is a temperror at the PTR stage.
    let mut f = Faults::default();
    f.servfail_subtree =
        Some(ptraudit_testdns::parse_name("in-addr.arpa.", &ptraudit_dns::Name::root()).unwrap());
    let server = zones(Server::builder()).faults(f).start().unwrap();
    let rows = scan(&server, "198.18.0.1", ForwardMode::Matching).await;
    assert_eq!(rows[0].fcrdns, Fcrdns::TempError);
    assert_eq!(rows[0].fcrdns_reason, Some(FcrdnsReason::PtrServfail));
    assert_eq!(rows[0].ptr_status, Status::ServFail);
}

#[tokio::test]
async fn forward_both_collects_a_and_aaaa_but_judges_by_the_family() {
    let server = zones(Server::builder()).start().unwrap();
    let rows = scan(&server, "198.18.0.50", ForwardMode::Both).await;
    let addrs: Vec<String> = rows[0]
        .forward_addrs
        .iter()
        .map(|a| a.to_string())
        .collect();
    assert_eq!(addrs, ["198.18.0.50", "2001:db8::50"]);
    assert_eq!(rows[0].fcrdns, Fcrdns::Pass);
    let rows = scan(&server, "198.18.0.50", ForwardMode::Matching).await;
    assert_eq!(rows[0].forward_addrs.len(), 1);
}

#[tokio::test]
async fn check_returns_the_row_with_each_forward_answer_and_the_reasons() {
    let server = zones(Server::builder()).start().unwrap();
    let client = ClientBuilder::new(vec![server.udp_addr()]).build().unwrap();
    let mut config = ScanConfig::default();
    config.forward = ForwardMode::Both;
    let scanner = Scanner::new(client, config);
    let check = scanner.check("198.18.0.50".parse().unwrap()).await.unwrap();
    // The row is the one a scan writes.
    let mut scanned = scan(&server, "198.18.0.50", ForwardMode::Both)
        .await
        .remove(0);
    scanned.scanned_at = check.row.scanned_at;
    scanned.rtt_ms = check.row.rtt_ms;
    assert_eq!(check.row, scanned);
    assert_eq!(check.row.fcrdns, Fcrdns::Pass);
    // Both forward lookups of the one name, in slot order, with what they found.
    let got: Vec<(String, RecordType, Vec<String>)> = check
        .forward
        .iter()
        .map(|f| {
            (
                f.name.clone(),
                f.rtype,
                f.addrs.iter().map(ToString::to_string).collect(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "dual.example.test".into(),
                RecordType::A,
                vec!["198.18.0.50".into()]
            ),
            (
                "dual.example.test".into(),
                RecordType::AAAA,
                vec!["2001:db8::50".into()]
            ),
        ]
    );
    assert!(
        check
            .forward
            .iter()
            .all(|f| f.status == Status::Answer && !f.via_cname)
    );
    // The classifier's verdict, with messages for people, agrees with the row's codes.
    let v = check.classified.expect("a PTR name was classified");
    assert_eq!(Some(v.generic), check.row.generic);
    let codes: Vec<&str> = v.codes().collect();
    assert_eq!(codes, check.row.generic_reasons);
    assert!(v.reasons.iter().all(|r| !r.message.is_empty()));
    // No PTR: no forward answers, no classification.
    let none = scanner.check("198.18.0.99".parse().unwrap()).await.unwrap();
    assert_eq!(none.row.fcrdns, Fcrdns::NoPtr);
    assert!(none.forward.is_empty() && none.classified.is_none());
}

/// Formerly (before the typed reason) a NOTIMP answer to the forward query was written
/// `forward-notimp`; the first typed version wrote `forward-rcode`. The mnemonic is kept.
#[tokio::test]
async fn a_forward_rcode_is_named_by_its_mnemonic() {
    let server = zones(Server::builder())
        .hook(|_, reply| {
            if reply
                .queries
                .first()
                .is_some_and(|q| q.query_type() == RecordType::A)
            {
                reply.answers.clear();
                reply.metadata.response_code = hickory_proto::op::ResponseCode::NotImp;
            }
        })
        .start()
        .unwrap();
    let rows = scan(&server, "198.18.0.50", ForwardMode::Matching).await;
    assert_eq!(rows[0].fcrdns, Fcrdns::TempError);
    assert_eq!(rows[0].fcrdns_reason, Some(FcrdnsReason::ForwardNotimp));
    assert_eq!(rows[0].fcrdns_reason.unwrap().as_str(), "forward-notimp");
}

/// Issue 17's addresses with several PTR names. In each pair the zone lists the
/// confirming name first, so reversing the RRset puts the other one first.
fn multi_zones(b: ServerBuilder) -> ServerBuilder {
    let rev = format!(
        "{SOA}\
60 PTR mail60.example.test.\n60 PTR stale60.example.test.\n\
61 PTR smtp61.example.test.\n61 PTR mail61.example.test.\n\
62 PTR mail62.example.test.\n62 PTR old62.example.test.\n\
63 PTR mail63.example.test.\n63 PTR v6only63.example.test.\n\
64 PTR mail64.example.test.\n64 PTR host64.broken.example.test.\n\
65 PTR alias65.example.test.\n65 PTR stale65.example.test.\n\
70 PTR mail70.example.test.\n70 PTR 198-18-0-70.dyn.example.test.\n\
71 PTR mx71.example.test.\n71 PTR 198-18-0-71.dyn.example.test.\n"
    );
    let fwd = format!(
        "{SOA}\
mail60 A 198.18.0.60\n\
mail61 A 198.18.0.61\nsmtp61 A 198.18.0.61\n\
mail62 A 198.18.0.62\nold62 A 192.0.2.62\n\
mail63 A 198.18.0.63\nv6only63 AAAA 2001:db8::63\n\
mail64 A 198.18.0.64\n\
alias65 CNAME host65.example.test.\nhost65 A 198.18.0.65\n\
mail70 A 192.0.2.70\n\
mx71 A 198.18.0.71\n198-18-0-71.dyn A 198.18.0.71\n"
    );
    let mut f = Faults::default();
    f.servfail_subtree = Some(
        ptraudit_testdns::parse_name("broken.example.test.", &ptraudit_dns::Name::root()).unwrap(),
    );
    b.zone_text("0.18.198.in-addr.arpa.", &rev)
        .unwrap()
        .zone_text("example.test.", &fwd)
        .unwrap()
        .faults(f)
}

/// Reverses the answer section of every PTR reply (a resolver rotating the RRset) and
/// counts the replies that had more than one record to reverse.
fn reversing(b: ServerBuilder, reversed: Arc<AtomicU64>) -> ServerBuilder {
    b.hook(move |_, reply| {
        if reply
            .queries
            .first()
            .is_some_and(|q| q.query_type() == RecordType::PTR)
            && reply.answers.len() > 1
        {
            reply.answers.reverse();
            reversed.fetch_add(1, Ordering::Relaxed);
        }
    })
}

/// Issue 17: Postfix (any MTA using `getnameinfo`) checks only the first name the
/// resolver returns. Formerly a second name that does not lead back went unnoticed:
/// the row was a clean pass while receivers saw the address as "unknown" whenever
/// the stale name came first.
#[tokio::test]
async fn a_pass_with_a_second_name_that_does_not_lead_back_is_flagged() {
    let server = multi_zones(Server::builder()).start().unwrap();
    let rows = scan(&server, "198.18.0.60-198.18.0.65", ForwardMode::Matching).await;
    let got: Vec<(&str, Fcrdns, Option<FcrdnsReason>, bool)> = rows
        .iter()
        .map(|r| {
            (
                r.ptr.as_deref().unwrap_or(""),
                r.fcrdns,
                r.fcrdns_reason,
                r.mail_ready(),
            )
        })
        .collect();
    let flag = Some(FcrdnsReason::MultiPtrUnconfirmed);
    assert_eq!(
        got,
        [
            // The other name does not exist.
            ("mail60.example.test", Fcrdns::Pass, flag, false),
            // Both names lead back: a clean pass, the first name in sorted order.
            ("mail61.example.test", Fcrdns::Pass, None, true),
            // The other name's A is elsewhere.
            ("mail62.example.test", Fcrdns::Pass, flag, false),
            // The other name has no A (only an AAAA).
            ("mail63.example.test", Fcrdns::Pass, flag, false),
            // The other name's lookup failed (SERVFAIL): no evidence, no flag.
            ("mail64.example.test", Fcrdns::Pass, None, true),
            // The flag outranks ptr-target-cname.
            ("alias65.example.test", Fcrdns::Pass, flag, false),
        ]
    );
}

/// Issue 17: the same /16 through four servers gave four counts of `generic = true`,
/// because `ptr` (and `ptr_all`) followed the RRset order. The row is now the same
/// whatever order the names come in.
#[tokio::test]
async fn the_row_does_not_depend_on_the_rrset_order() {
    let plain = multi_zones(Server::builder()).start().unwrap();
    let reversed = Arc::new(AtomicU64::new(0));
    let flipped = reversing(multi_zones(Server::builder()), Arc::clone(&reversed))
        .start()
        .unwrap();
    let spec = "198.18.0.60-198.18.0.71";
    let a = scan(&plain, spec, ForwardMode::Matching).await;
    let b = scan(&flipped, spec, ForwardMode::Matching).await;
    assert!(
        reversed.load(Ordering::Relaxed) >= 8,
        "the hook reversed every multi-name RRset"
    );
    let key = |r: &Row| {
        (
            r.ip,
            r.ptr.clone(),
            r.ptr_all.clone(),
            r.forward_addrs.clone(),
            r.fcrdns,
            r.fcrdns_reason,
            r.generic,
            r.generic_reasons.clone(),
        )
    };
    assert_eq!(a.len(), 12);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(key(x), key(y));
    }
    let by_ip = |ip: &str| a.iter().find(|r| r.ip.to_string() == ip).unwrap();
    // ptr_all is sorted.
    assert_eq!(
        by_ip("198.18.0.61").ptr_all,
        ["mail61.example.test", "smtp61.example.test"]
    );
    // No name confirms: `ptr` is the first name in sorted order (here the generic one).
    let none = by_ip("198.18.0.70");
    assert_eq!(none.fcrdns, Fcrdns::Fail);
    assert_eq!(none.ptr.as_deref(), Some("198-18-0-70.dyn.example.test"));
    assert_eq!(none.generic, Some(true));
    // Both confirm: the first confirmed name in sorted order.
    let both = by_ip("198.18.0.71");
    assert_eq!(both.fcrdns, Fcrdns::Pass);
    assert_eq!(both.fcrdns_reason, None);
    assert_eq!(both.ptr.as_deref(), Some("198-18-0-71.dyn.example.test"));
}
