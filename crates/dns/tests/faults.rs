//! The client against the loopback test server, one behaviour per test.

use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::time::Duration;

use ptraudit_dns::{ClientBuilder, RecordType, Stats, Status, name_to_text, reverse_name};
use ptraudit_testdns::{Faults, Server, ServerStats};

use crate::support::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Waits (bounded) until the client's counters satisfy `ok`: bogus packets may arrive a
/// moment after the outcome that was decided by the real reply.
async fn stats_when(client: &ptraudit_dns::Client, ok: impl Fn(&Stats) -> bool) -> Stats {
    for _ in 0..200 {
        let st = client.stats().await.unwrap();
        if ok(&st) {
            return st;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    client.stats().await.unwrap()
}

fn faults(f: impl FnOnce(&mut Faults)) -> Faults {
    let mut x = Faults::default();
    f(&mut x);
    x
}

#[tokio::test]
async fn answer_with_ttl_resolver_and_rtt() {
    let server = small_server(Server::builder());
    let client = client_for(&server).build().unwrap();
    let o = client
        .query(reverse_name(ip("198.18.0.7")), RecordType::PTR)
        .await
        .unwrap();
    assert_eq!(o.status, Status::Answer);
    assert_eq!(o.records.len(), 1);
    assert_eq!(o.records[0].ttl, 300);
    assert_eq!(
        name_to_text(o.ptr_names().next().unwrap()),
        "mail.example.test"
    );
    assert_eq!(o.resolver, Some(server.udp_addr()));
    assert!(o.rtt.is_some());
    assert_eq!(o.attempts, 1);
}

/// Starts the small test server with one fault and asks for the PTR of 198.18.0.7, whose
/// real answer is `mail.example.test`. Returns the server (kept alive), the client and
/// the outcome.
async fn ask_with(
    set: impl FnOnce(&mut Faults),
) -> (Server, ptraudit_dns::Client, ptraudit_dns::Outcome) {
    let server = small_server(Server::builder().faults(faults(set)));
    let client = client_for(&server).build().unwrap();
    let o = client
        .query(reverse_name(ip("198.18.0.7")), RecordType::PTR)
        .await
        .unwrap();
    (server, client, o)
}

#[tokio::test]
async fn wrong_id_is_ignored_and_counted() {
    let (_server, client, o) = ask_with(|f| f.wrong_id = 1.0).await;
    assert_eq!(o.status, Status::Answer);
    assert_eq!(o.attempts, 1, "the bogus packet did not cost a retry");
    let st = stats_when(&client, |s| s.dropped_unknown_id == 1).await;
    assert_eq!((st.dropped_unknown_id, st.matched), (1, 1));
}

#[tokio::test]
async fn reply_from_a_wrong_source_port_is_ignored() {
    let (_server, client, o) = ask_with(|f| f.wrong_source = 1.0).await;
    assert_eq!(o.status, Status::Answer);
    let st = stats_when(&client, |s| s.dropped_wrong_source == 1).await;
    assert_eq!((st.dropped_wrong_source, st.matched), (1, 1));
}

#[tokio::test]
async fn reply_with_a_different_question_is_ignored() {
    let (_server, client, o) = ask_with(|f| f.wrong_question = 1.0).await;
    assert_eq!(o.status, Status::Answer);
    assert_eq!(
        name_to_text(o.ptr_names().next().unwrap()),
        "mail.example.test"
    );
    let st = stats_when(&client, |s| s.dropped_wrong_question == 1).await;
    assert_eq!((st.dropped_wrong_question, st.matched), (1, 1));
}

#[tokio::test]
async fn duplicate_replies_give_one_outcome_each() {
    let server = small_server(Server::builder().faults(faults(|f| f.duplicate = 1.0)));
    let client = client_for(&server).build().unwrap();
    let (tx, mut rx) = client.pipeline();
    for tag in 0..20u64 {
        tx.submit(reverse_name(ip("198.18.0.7")), RecordType::PTR, tag)
            .unwrap();
    }
    drop(tx);
    let mut tags = Vec::new();
    while let Some((tag, o)) = rx.recv().await {
        assert_eq!(o.status, Status::Answer);
        tags.push(tag);
    }
    tags.sort_unstable();
    assert_eq!(
        tags,
        (0..20).collect::<Vec<_>>(),
        "each query completes exactly once"
    );
    let st = stats_when(&client, |s| s.duplicates == 20).await;
    assert_eq!((st.matched, st.duplicates), (20, 20));
}

#[tokio::test]
async fn truncated_reply_is_retried_over_tcp_and_gives_the_full_answer() {
    let server = small_server(Server::builder());
    let client = client_for(&server).build().unwrap();
    let o = client
        .query(reverse_name(ip("198.18.0.8")), RecordType::PTR)
        .await
        .unwrap();
    assert_eq!(o.status, Status::Answer);
    assert!(o.via_tcp);
    assert_eq!(o.ptr_names().count(), 40);
    assert_eq!(client.stats().await.unwrap().tcp_fallbacks, 1);
    assert_eq!(ServerStats::get(&server.stats().tcp_queries), 1);
    assert_eq!(ServerStats::get(&server.stats().truncated), 1);
}

#[tokio::test]
async fn truncation_fault_falls_back_to_tcp_too() {
    let (_server, _client, o) = ask_with(|f| f.truncate = 1.0).await;
    assert_eq!(o.status, Status::Answer);
    assert!(o.via_tcp);
    assert_eq!(o.ptr_names().count(), 1);
}

#[tokio::test]
async fn dropped_query_is_retried_and_answered() {
    let (server, client, o) = ask_with(|f| f.drop_first = 1).await;
    assert_eq!(o.status, Status::Answer);
    assert_eq!(o.attempts, 2);
    assert_eq!(ServerStats::get(&server.stats().udp_queries), 2);
    let st = client.stats().await.unwrap();
    assert_eq!((st.sent, st.retries, st.attempt_timeouts), (2, 1, 1));
}

#[tokio::test]
async fn dead_server_ends_in_timeout_after_exactly_the_configured_attempts() {
    // A socket that receives and never answers.
    let sink = UdpSocket::bind("127.0.0.1:0").unwrap();
    sink.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let client = ClientBuilder::new(vec![sink.local_addr().unwrap()])
        .timeout(Duration::from_millis(50))
        .max_timeout(Duration::from_millis(100))
        .attempts(4)
        .build()
        .unwrap();
    let o = client
        .query(reverse_name(ip("198.18.0.7")), RecordType::PTR)
        .await
        .unwrap();
    assert_eq!(o.status, Status::Timeout);
    assert_eq!(o.attempts, 4);
    assert_eq!(o.resolver, None);
    let mut buf = [0u8; 512];
    let mut received = 0;
    while sink.recv(&mut buf).is_ok() {
        received += 1;
    }
    assert_eq!(
        received, 4,
        "exactly the configured attempts reached the server"
    );
    let st = client.stats().await.unwrap();
    assert_eq!((st.sent, st.timeouts), (4, 1));
}

#[tokio::test]
async fn servfail_refused_nxdomain_and_nodata_are_reported_as_such() {
    let mut f = Faults::default();
    f.servfail_subtree = Some(name("sf.example.test."));
    f.refused_subtree = Some(name("rf.example.test."));
    let server = small_server(Server::builder().faults(f));
    let client = client_for(&server).build().unwrap();
    let sf = client
        .query(name("x.sf.example.test."), RecordType::A)
        .await
        .unwrap();
    assert_eq!(sf.status, Status::ServFail);
    assert_eq!(sf.attempts, 3, "SERVFAIL is retried, then reported");
    let rf = client
        .query(name("x.rf.example.test."), RecordType::A)
        .await
        .unwrap();
    assert_eq!(rf.status, Status::Refused);
    let nx = client
        .query(name("nope.example.test."), RecordType::A)
        .await
        .unwrap();
    assert_eq!(nx.status, Status::NxDomain);
    assert_eq!(nx.attempts, 1, "NXDOMAIN is final");
    let nodata = client
        .query(name("v6only.example.test."), RecordType::A)
        .await
        .unwrap();
    assert_eq!(nodata.status, Status::NoData);
    assert_eq!(nodata.attempts, 1);
    let aaaa = client
        .query(name("v6only.example.test."), RecordType::AAAA)
        .await
        .unwrap();
    assert_eq!(aaaa.addrs().collect::<Vec<_>>(), vec![ip("2001:db8::7")]);
    // Outside every served zone the test server refuses, like an authoritative server.
    let out = client
        .query(name("example.org."), RecordType::A)
        .await
        .unwrap();
    assert_eq!(out.status, Status::Refused);
}

#[tokio::test]
async fn rfc2317_cname_is_kept_with_the_ptr() {
    let server = small_server(Server::builder());
    let client = client_for(&server).build().unwrap();
    let o = client
        .query(reverse_name(ip("198.18.5.65")), RecordType::PTR)
        .await
        .unwrap();
    assert_eq!(o.status, Status::Answer);
    let chain: Vec<String> = o.cname_chain().map(name_to_text).collect();
    assert_eq!(chain, ["65.64/26.5.18.198.in-addr.arpa"]);
    assert_eq!(
        name_to_text(o.ptr_names().next().unwrap()),
        "cust65.example.test"
    );
}

#[tokio::test]
async fn malformed_reply_is_counted_and_the_real_reply_still_completes() {
    let server = small_server(Server::builder().faults(faults(|f| f.malformed = 1.0)));
    let client = client_for(&server).build().unwrap();
    for _ in 0..6 {
        // Six queries cover the server's three kinds of malformed packet.
        let o = client
            .query(reverse_name(ip("198.18.0.7")), RecordType::PTR)
            .await
            .unwrap();
        assert_eq!(o.status, Status::Answer);
        assert_eq!(o.attempts, 1);
    }
    let st = stats_when(&client, |s| s.dropped_malformed == 6).await;
    assert_eq!((st.dropped_malformed, st.matched), (6, 6));
}

#[tokio::test]
async fn hook_altered_reply_with_wrong_type_is_rejected() {
    // The hook changes the echoed question's type: the client must not accept it, and
    // retries end in TIMEOUT.
    let server = small_server(Server::builder().hook(|_, reply| {
        if let Some(q) = reply.queries.first_mut() {
            q.set_query_type(RecordType::TXT);
        }
    }));
    let client = client_for(&server)
        .timeout(Duration::from_millis(50))
        .max_timeout(Duration::from_millis(50))
        .attempts(2)
        .build()
        .unwrap();
    let o = client
        .query(reverse_name(ip("198.18.0.7")), RecordType::PTR)
        .await
        .unwrap();
    assert_eq!(o.status, Status::Timeout);
    assert_eq!(client.stats().await.unwrap().dropped_wrong_question, 2);
}

/// A zone with one PTR per address of 198.18.64.0/18 (16384 names), each naming its own
/// address, so a misattributed reply is visible.
fn numbered_server(faults: Faults) -> Server {
    let mut z = String::from("$TTL 300\n@ SOA ns.test. host.test. 1 3600 600 86400 300\n");
    for i in 0..16384u32 {
        let ip = Ipv4Addr::from(0xc612_4000 + i);
        let o = ip.octets();
        z.push_str(&format!(
            "{}.{} PTR h-{}-{}.example.test.\n",
            o[3], o[2], o[2], o[3]
        ));
    }
    Server::builder()
        .zone_text("18.198.in-addr.arpa.", &z)
        .unwrap()
        .faults(faults)
        .start()
        .unwrap()
}

fn expected_name(i: u32) -> String {
    let o = Ipv4Addr::from(0xc612_4000 + i).octets();
    format!("h-{}-{}.example.test", o[2], o[3])
}

/// Submits the PTR queries of the first `n` numbered addresses at once and collects every
/// outcome, asserting that each query completes exactly once and that every answer names
/// the query's own address. Returns the statuses by tag.
async fn numbered_queries(client: &ptraudit_dns::Client, n: u32) -> Vec<Status> {
    let (tx, mut rx) = client.pipeline();
    for i in 0..n {
        let ip = Ipv4Addr::from(0xc612_4000 + i);
        tx.submit(reverse_name(ip.into()), RecordType::PTR, u64::from(i))
            .unwrap();
    }
    drop(tx);
    let mut statuses: Vec<Option<Status>> = vec![None; n as usize];
    while let Some((tag, o)) = rx.recv().await {
        let slot = &mut statuses[tag as usize];
        assert!(slot.is_none(), "tag {tag} completed twice");
        *slot = Some(o.status);
        if o.status == Status::Answer {
            let got = name_to_text(o.ptr_names().next().unwrap());
            assert_eq!(
                got,
                expected_name(tag as u32),
                "reply credited to the wrong query"
            );
        }
    }
    statuses
        .into_iter()
        .enumerate()
        .map(|(i, s)| s.unwrap_or_else(|| panic!("tag {i} never completed")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_replies_are_never_credited_to_another_query() {
    // Half of the replies arrive after one to three timeouts; attempts are retried and the
    // late replies land while other queries are in flight on the same socket.
    let server = numbered_server(faults(|f| {
        f.seed = 5;
        f.delay_share = 0.5;
        f.delay = Duration::from_millis(60);
        f.jitter = Duration::from_millis(120);
    }));
    let client = ClientBuilder::new(vec![server.udp_addr()])
        .timeout(Duration::from_millis(40))
        .max_timeout(Duration::from_millis(80))
        .attempts(2)
        .sockets(1)
        .build()
        .unwrap();
    let statuses = numbered_queries(&client, 3000).await;
    assert!(
        statuses
            .iter()
            .all(|s| matches!(s, Status::Answer | Status::Timeout))
    );
    let timeouts = statuses.iter().filter(|s| **s == Status::Timeout).count();
    let st = stats_when(&client, |s| s.late > 0).await;
    assert!(st.retries > 0 && (st.late + st.duplicates) > 0, "{st:?}");
    assert!(timeouts < statuses.len(), "{st:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_in_flight_with_five_percent_loss_all_end_correctly() {
    ten_thousand_with_loss(true).await;
}

/// The same through the portable path: one recv_from/send_to per datagram.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_with_loss_without_batched_syscalls() {
    ten_thousand_with_loss(false).await;
}

async fn ten_thousand_with_loss(batched: bool) {
    let server = numbered_server(faults(|f| {
        f.seed = 9;
        f.drop = 0.05;
    }));
    let client = ClientBuilder::new(vec![server.udp_addr()])
        .timeout(Duration::from_millis(500))
        .max_timeout(Duration::from_secs(2))
        .attempts(6)
        .sockets(4)
        .batched_io(batched)
        .build()
        .unwrap();
    let n = 10_000u32;
    let statuses = numbered_queries(&client, n).await;
    let failed = statuses.iter().filter(|s| **s != Status::Answer).count();
    assert_eq!(failed, 0, "server {:?}", server.stats());
    let st = client.stats().await.unwrap();
    let dropped = ServerStats::get(&server.stats().dropped);
    assert!(dropped >= 300, "loss happened: {dropped}");
    assert!(st.retries >= dropped, "{st:?}");
    assert_eq!(st.completed, u64::from(n));
    if batched {
        // Padded queries of one size, sent in runs per socket: segmentation offload
        // puts several datagrams in one message (how many depends on the load).
        assert!(st.send_messages < st.sent, "{st:?}");
    } else {
        assert_eq!(st.send_messages + st.send_errors, st.sent, "{st:?}");
    }
}

#[tokio::test]
async fn ipv6_loopback_resolver_works() {
    let server = small_server(Server::builder().listen("[::1]:0".parse().unwrap()));
    let client = client_for(&server).build().unwrap();
    let o = client
        .query(reverse_name(ip("198.18.0.7")), RecordType::PTR)
        .await
        .unwrap();
    assert_eq!(o.status, Status::Answer);
    assert_eq!(o.resolver, Some(server.udp_addr()));
    assert!(server.udp_addr().is_ipv6());
}

#[tokio::test]
async fn a_probe_lost_once_is_asked_again_and_the_resolver_kept() {
    // The first datagram is dropped: the probe's second attempt (after 250 ms) answers.
    let server = small_server(Server::builder().faults(faults(|f| f.drop_first = 1)));
    let alive = ptraudit_dns::probe(
        &[server.udp_addr()],
        &[(reverse_name(ip("198.18.0.7")), RecordType::PTR)],
    )
    .await
    .unwrap();
    assert_eq!(alive, [true]);
    let st = server.stats();
    assert_eq!(st.dropped.load(std::sync::atomic::Ordering::Relaxed), 1);
    assert_eq!(st.udp_queries.load(std::sync::atomic::Ordering::Relaxed), 2);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn silent_resolvers_are_probed_together_so_the_patience_is_spent_once() {
    // Three resolvers that never reply, on the runtime's paused clock: the probe ends
    // after one patience (7.75 s), not three of them one after another.
    let silent: Vec<UdpSocket> = (0..3)
        .map(|_| UdpSocket::bind("127.0.0.1:0").unwrap())
        .collect();
    let resolvers: Vec<_> = silent.iter().map(|s| s.local_addr().unwrap()).collect();
    let start = tokio::time::Instant::now();
    let questions =
        ptraudit_dns::liveness_questions(Some((reverse_name(ip("198.18.0.7")), RecordType::PTR)));
    let alive = ptraudit_dns::probe(&resolvers, &questions).await.unwrap();
    let spent = start.elapsed();
    assert_eq!(alive, [false, false, false]);
    assert!(
        spent >= ptraudit_dns::probe_patience()
            && spent < ptraudit_dns::probe_patience() + Duration::from_millis(500),
        "{spent:?}"
    );
}

/// Formerly a scan whose first target sat in a lame zone was refused ("no resolver
/// answers … did not reply to a probe query (the PTR of …)"): the probe asked only that
/// target's PTR. Now a resolver that never answers the target's question but answers the
/// liveness questions (here REFUSED, as a server holding no such zone does) is alive.
#[tokio::test]
async fn a_resolver_silent_only_for_the_first_target_passes_the_probe() {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = socket.local_addr().unwrap();
    let lame = reverse_name(ip("198.18.0.7"));
    let lame_wire: Vec<u8> = lame
        .iter()
        .flat_map(|l| [&[l.len() as u8][..], l].concat())
        .collect();
    let seen = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let counter = seen.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 1500];
        while let Ok((n, from)) = socket.recv_from(&mut buf) {
            counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let q = &mut buf[..n];
            if q.len() < 12 || q[12..].starts_with(&lame_wire) {
                continue; // the lame zone's question: never answered
            }
            q[2] |= 0x80; // QR: a response
            q[3] = (q[3] & 0xf0) | 5; // REFUSED
            let _ = socket.send_to(q, from);
        }
    });
    let alive = ptraudit_dns::probe(
        &[addr],
        &ptraudit_dns::liveness_questions(Some((lame.clone(), RecordType::PTR))),
    )
    .await
    .unwrap();
    assert_eq!(alive, [true]);
    // Only the target's question alone is not enough: the same server fails it.
    let alone = ptraudit_dns::probe(&[addr], &[(lame, RecordType::PTR)])
        .await
        .unwrap();
    assert_eq!(alone, [false]);
    assert!(seen.load(std::sync::atomic::Ordering::Relaxed) >= 3);
}
