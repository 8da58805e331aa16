//! The core driven by a simulated network and clock: no sockets, no sleeps.

use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::{A, PTR};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use hickory_proto::op::Header;
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};

use super::wire::read_answer;
use super::*;
use crate::outcome::{Answer, RecordValue, Status};

const R1: &str = "127.0.0.1:5301";
const R2: &str = "127.0.0.1:5302";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn name(s: &str) -> Name {
    Name::from_ascii(s).unwrap()
}

fn core(resolvers: &[&str], sockets: usize) -> Core {
    let mut config = Config::new(resolvers.iter().map(|r| addr(r)).collect());
    config.sockets = sockets;
    config.timeout = Duration::from_secs(1);
    config.max_timeout = Duration::from_secs(4);
    Core::with_seed(config, 7).unwrap()
}

/// A datagram on the simulated wire.
struct Sent {
    socket: usize,
    dest: SocketAddr,
    query: Message,
    bytes: Vec<u8>,
}

fn transmit(core: &mut Core, now: Instant) -> Option<Sent> {
    let mut buf = Vec::new();
    let t = core.poll_transmit(now, &mut buf)?;
    Some(Sent {
        socket: t.socket,
        dest: t.dest,
        query: Message::from_vec(&buf).expect("core sends valid queries"),
        bytes: buf,
    })
}

/// The reply a server would send, with `records` as answers.
fn reply(sent: &Sent, rcode: ResponseCode, records: Vec<Record>) -> Vec<u8> {
    let mut m = Message::response(sent.query.metadata.id, sent.query.metadata.op_code);
    m.metadata.response_code = rcode;
    m.add_queries(sent.query.queries.clone());
    for r in records {
        m.add_answer(r);
    }
    m.to_vec().unwrap()
}

fn ptr(owner: &str, target: &str) -> Record {
    Record::from_rdata(name(owner), 300, RData::PTR(PTR(name(target))))
}

const Q: &str = "7.0.18.198.in-addr.arpa.";

#[test]
fn query_is_well_formed_with_edns_and_rd() {
    let mut c = core(&[R1], 2);
    c.submit(name(Q), RecordType::PTR, 1);
    let s = transmit(&mut c, Instant::now()).unwrap();
    assert_eq!(s.dest, addr(R1));
    assert_eq!(s.query.metadata.message_type, MessageType::Query);
    assert!(s.query.metadata.recursion_desired);
    assert_eq!(s.query.queries.len(), 1);
    assert_eq!(s.query.queries[0].name(), &name(Q));
    assert_eq!(s.query.edns.as_ref().map(|e| e.max_payload()), Some(1232));
    assert!(transmit(&mut c, Instant::now()).is_none());
}

#[test]
fn queries_are_padded_to_the_block_and_otherwise_identical() {
    // Names of every length from 1 to 63 characters in one label: without padding the
    // queries have as many sizes, with it one (RFC 8467 block of 128).
    let mut sizes = std::collections::BTreeSet::new();
    for len in 1..=63 {
        let q = format!("{}.test.", "a".repeat(len));
        let mut padded = core(&[R1], 1);
        padded.submit(name(&q), RecordType::A, 1);
        let p = transmit(&mut padded, Instant::now()).unwrap();
        let mut config = padded.config().clone();
        config.padding_block = 0;
        let mut plain = Core::with_seed(config, 7).unwrap();
        plain.submit(name(&q), RecordType::A, 1);
        let u = transmit(&mut plain, Instant::now()).unwrap();
        assert_eq!(p.bytes.len() % 128, 0, "{len}: {} bytes", p.bytes.len());
        assert!(p.bytes.len() >= u.bytes.len() + 4, "{len}");
        sizes.insert(p.bytes.len());
        // The same question and EDNS payload; the padding is an option of zeros, code 12.
        assert_eq!(p.query.queries, u.query.queries);
        assert_eq!(p.query.queries[0].name(), &name(&q));
        assert_eq!(p.query.queries[0].query_type(), RecordType::A);
        let (pe, ue) = (p.query.edns.unwrap(), u.query.edns.unwrap());
        assert_eq!(pe.max_payload(), ue.max_payload());
        assert_eq!(ue.options().as_ref().len(), 0);
        // The last option of the padded query: code 12, its length, zeros to the end.
        let pad = p.bytes.len() - u.bytes.len() - 4;
        let tail = &p.bytes[u.bytes.len()..];
        assert_eq!(&tail[..2], &[0, 12]);
        assert_eq!(usize::from(u16::from_be_bytes([tail[2], tail[3]])), pad);
        assert!(tail[4..].iter().all(|b| *b == 0));
        // And the rest is byte for byte the unpadded query, but for RDLENGTH.
        let rdlen = u.bytes.len() - 2;
        assert_eq!(p.bytes[..rdlen], u.bytes[..rdlen]);
        assert_eq!(
            usize::from(u16::from_be_bytes([p.bytes[rdlen], p.bytes[rdlen + 1]])),
            4 + pad
        );
    }
    assert_eq!(sizes.len(), 1, "{sizes:?}");
}

#[test]
fn queries_without_edns_carry_no_opt_and_no_padding() {
    let mut config = core(&[R1], 1).config().clone();
    config.edns_payload = None;
    config.recursion_desired = false;
    let mut c = Core::with_seed(config, 7).unwrap();
    c.submit(name(Q), RecordType::PTR, 1);
    let s = transmit(&mut c, Instant::now()).unwrap();
    assert!(s.query.edns.is_none());
    assert!(!s.query.metadata.recursion_desired);
    assert_eq!(s.query.queries[0].name(), &name(Q));
    // Header, the name (24 bytes encoded), type and class: nothing else.
    assert_eq!(s.bytes.len(), 12 + Q.len() + 1 + 4);
}

#[test]
fn answer_completes_with_rtt_resolver_and_records() {
    let t0 = Instant::now();
    let mut c = core(&[R1], 2);
    c.submit(name(Q), RecordType::PTR, 42);
    let s = transmit(&mut c, t0).unwrap();
    let r = reply(
        &s,
        ResponseCode::NoError,
        vec![ptr(Q, "mail.example.test.")],
    );
    c.handle_datagram(t0 + Duration::from_millis(3), s.socket, s.dest, &r);
    let done = c.poll_completion().unwrap();
    assert_eq!(done.tag, 42);
    assert_eq!(done.outcome.status, Status::Answer);
    assert_eq!(done.outcome.attempts, 1);
    assert_eq!(done.outcome.resolver, Some(addr(R1)));
    assert_eq!(done.outcome.rtt, Some(Duration::from_millis(3)));
    assert_eq!(
        done.outcome.records[0].value,
        RecordValue::Ptr(name("mail.example.test."))
    );
    assert!(c.is_idle());
    assert_eq!(c.stats().matched, 1);
}

#[test]
fn dead_server_times_out_after_exactly_the_configured_attempts_with_backoff() {
    let t0 = Instant::now();
    let mut c = core(&[R1], 1);
    c.submit(name(Q), RecordType::PTR, 1);
    let mut ids = HashSet::new();
    let mut now = t0;
    let mut waits = Vec::new();
    for _ in 0..3 {
        let s = transmit(&mut c, now).expect("an attempt is due");
        ids.insert(s.query.metadata.id);
        // The attempt's deadline (poll_timeout may first name a pending loss's).
        let deadline = loop {
            let d = c.poll_timeout().unwrap();
            // Just before a deadline nothing goes out.
            c.handle_timeout(d - Duration::from_millis(1));
            assert!(transmit(&mut c, d - Duration::from_millis(1)).is_none());
            c.handle_timeout(d);
            if c.udp_in_flight() == 0 {
                break d;
            }
        };
        waits.push(deadline - now);
        now = deadline;
    }
    assert_eq!(waits, [1, 2, 4].map(Duration::from_secs));
    let done = c
        .poll_completion()
        .expect("finished after the last attempt");
    assert_eq!(done.outcome.status, Status::Timeout);
    assert_eq!(done.outcome.attempts, 3);
    assert_eq!(ids.len(), 3, "each attempt gets a fresh ID");
    let st = c.stats();
    assert_eq!(
        (st.sent, st.retries, st.timeouts, st.attempt_timeouts),
        (3, 2, 1, 3)
    );
    assert!(transmit(&mut c, now + Duration::from_secs(60)).is_none());
}

#[test]
fn slow_reply_to_an_earlier_attempt_still_answers() {
    let t0 = Instant::now();
    let mut c = core(&[R1], 1);
    c.submit(name(Q), RecordType::PTR, 1);
    let first = transmit(&mut c, t0).unwrap();
    c.handle_timeout(t0 + Duration::from_secs(1));
    let second = transmit(&mut c, t0 + Duration::from_secs(1)).unwrap();
    assert_ne!(first.query.metadata.id, second.query.metadata.id);
    let late = reply(&first, ResponseCode::NoError, vec![ptr(Q, "a.test.")]);
    c.handle_datagram(
        t0 + Duration::from_millis(1200),
        first.socket,
        first.dest,
        &late,
    );
    let done = c.poll_completion().unwrap();
    assert_eq!(done.outcome.status, Status::Answer);
    assert_eq!(done.outcome.rtt, Some(Duration::from_millis(1200)));
    // The reply to the second attempt is now a duplicate, not a new result.
    let dup = reply(&second, ResponseCode::NoError, vec![ptr(Q, "a.test.")]);
    c.handle_datagram(
        t0 + Duration::from_millis(1300),
        second.socket,
        second.dest,
        &dup,
    );
    assert!(c.poll_completion().is_none());
    assert_eq!(c.stats().duplicates, 1);
}

#[test]
fn late_reply_after_giving_up_is_counted_and_never_credited_elsewhere() {
    // Regression guard for a classic scanner bug: a reply to a query that already timed
    // out was matched by ID alone to a newer query that reused the ID.
    let t0 = Instant::now();
    let mut config = Config::new(vec![addr(R1)]);
    config.sockets = 1;
    config.attempts = 1;
    config.timeout = Duration::from_secs(1);
    // 30,000 in flight at once: no congestion window here.
    config.adaptive_window = false;
    let mut c = Core::with_seed(config, 3).unwrap();
    c.submit(name(Q), RecordType::PTR, 1);
    let gone = transmit(&mut c, t0).unwrap();
    c.handle_timeout(t0 + Duration::from_secs(1));
    assert_eq!(c.poll_completion().unwrap().outcome.status, Status::Timeout);
    // Fill the socket's ID space with new queries: none may get the quarantined ID.
    let now = t0 + Duration::from_secs(1);
    for i in 0..30_000u64 {
        c.submit(name("1.0.18.198.in-addr.arpa."), RecordType::PTR, 100 + i);
        let s = transmit(&mut c, now).unwrap();
        assert_ne!(
            s.query.metadata.id, gone.query.metadata.id,
            "quarantined ID reused"
        );
    }
    let late = reply(&gone, ResponseCode::NoError, vec![ptr(Q, "a.test.")]);
    c.handle_datagram(now, gone.socket, gone.dest, &late);
    assert!(c.poll_completion().is_none());
    assert_eq!(c.stats().late, 1);
    assert_eq!(c.stats().matched, 0);
}

#[test]
fn quarantine_ends_and_the_id_becomes_unknown() {
    let t0 = Instant::now();
    let mut c = core(&[R1], 1);
    c.submit(name(Q), RecordType::PTR, 1);
    let s = transmit(&mut c, t0).unwrap();
    let r = reply(&s, ResponseCode::NoError, vec![ptr(Q, "a.test.")]);
    c.handle_datagram(t0, s.socket, s.dest, &r);
    c.poll_completion().unwrap();
    c.handle_timeout(t0 + Duration::from_secs(3));
    assert_eq!(c.poll_timeout(), None, "nothing left to wake up for");
    c.handle_datagram(t0 + Duration::from_secs(11), s.socket, s.dest, &r);
    assert_eq!(c.stats().dropped_unknown_id, 1);
}

#[test]
fn replies_failing_a_check_are_dropped_by_cause_and_the_real_one_still_counts() {
    let t0 = Instant::now();
    let mut c = core(&[R1], 2);
    c.submit(name(Q), RecordType::PTR, 9);
    let s = transmit(&mut c, t0).unwrap();
    let good = reply(&s, ResponseCode::NoError, vec![ptr(Q, "a.test.")]);

    // Unknown ID.
    let mut bad = good.clone();
    let id = s.query.metadata.id.wrapping_add(1);
    bad[..2].copy_from_slice(&id.to_be_bytes());
    c.handle_datagram(t0, s.socket, s.dest, &bad);
    // Right ID on the other socket is also unknown there.
    c.handle_datagram(t0, 1 - s.socket, s.dest, &good);
    // Wrong source port, wrong source address.
    c.handle_datagram(t0, s.socket, addr("127.0.0.1:9"), &good);
    c.handle_datagram(t0, s.socket, addr("127.0.0.2:5301"), &good);
    // Another question (name, then type).
    let mut other = s.query.clone();
    other.queries[0].set_name(name("8.0.18.198.in-addr.arpa."));
    let other = Sent {
        query: other,
        ..s.clone_sent()
    };
    c.handle_datagram(
        t0,
        s.socket,
        s.dest,
        &reply(&other, ResponseCode::NoError, vec![]),
    );
    let mut other = s.query.clone();
    other.queries[0].set_query_type(RecordType::A);
    let other = Sent {
        query: other,
        ..s.clone_sent()
    };
    c.handle_datagram(
        t0,
        s.socket,
        s.dest,
        &reply(&other, ResponseCode::NoError, vec![]),
    );
    // Malformed: too short, cut in the middle, a query instead of a response.
    c.handle_datagram(t0, s.socket, s.dest, &good[..5]);
    c.handle_datagram(t0, s.socket, s.dest, &good[..good.len() - 3]);
    c.handle_datagram(t0, s.socket, s.dest, &s.bytes);
    assert!(
        c.poll_completion().is_none(),
        "nothing bogus completes the query"
    );

    // Same name in other letter case is the same question (RFC 4343).
    let mut upper = s.query.clone();
    upper.queries[0].set_name(name(&Q.to_uppercase()));
    let upper = Sent {
        query: upper,
        ..s.clone_sent()
    };
    c.handle_datagram(
        t0,
        s.socket,
        s.dest,
        &reply(&upper, ResponseCode::NoError, vec![ptr(Q, "a.test.")]),
    );
    assert_eq!(c.poll_completion().unwrap().outcome.status, Status::Answer);
    c.handle_datagram(t0, s.socket, s.dest, &good);

    let st = c.stats();
    assert_eq!(st.dropped_unknown_id, 2);
    assert_eq!(st.dropped_wrong_source, 2);
    assert_eq!(st.dropped_wrong_question, 2);
    assert_eq!(st.dropped_malformed, 3);
    assert_eq!(st.matched, 1);
    assert_eq!(st.duplicates, 1);
    assert_eq!(st.received, 11);
}

impl Sent {
    fn clone_sent(&self) -> Sent {
        Sent {
            socket: self.socket,
            dest: self.dest,
            query: self.query.clone(),
            bytes: self.bytes.clone(),
        }
    }
}

#[test]
fn servfail_moves_to_the_other_resolver_and_nxdomain_is_final() {
    let t0 = Instant::now();
    let mut c = core(&[R1, R2], 1);
    c.submit(name(Q), RecordType::PTR, 1);
    let s1 = transmit(&mut c, t0).unwrap();
    c.handle_datagram(
        t0,
        s1.socket,
        s1.dest,
        &reply(&s1, ResponseCode::ServFail, vec![]),
    );
    assert!(c.poll_completion().is_none(), "SERVFAIL is retried");
    let s2 = transmit(&mut c, t0).unwrap();
    assert_ne!(s2.dest, s1.dest, "the retry goes to the other resolver");
    c.handle_datagram(
        t0,
        s2.socket,
        s2.dest,
        &reply(&s2, ResponseCode::NXDomain, vec![]),
    );
    let done = c.poll_completion().unwrap();
    assert_eq!(done.outcome.status, Status::NxDomain);
    assert_eq!(done.outcome.attempts, 2);
    assert_eq!(done.outcome.resolver, Some(s2.dest));

    // NXDOMAIN on the first attempt is never retried.
    c.submit(name(Q), RecordType::PTR, 2);
    let s = transmit(&mut c, t0).unwrap();
    c.handle_datagram(
        t0,
        s.socket,
        s.dest,
        &reply(&s, ResponseCode::NXDomain, vec![]),
    );
    assert_eq!(c.poll_completion().unwrap().outcome.attempts, 1);
    assert!(transmit(&mut c, t0).is_none());
}

#[test]
fn persistent_refused_ends_as_refused_after_all_attempts() {
    let t0 = Instant::now();
    let mut c = core(&[R1], 1);
    c.submit(name(Q), RecordType::PTR, 1);
    for _ in 0..3 {
        let s = transmit(&mut c, t0).unwrap();
        c.handle_datagram(
            t0,
            s.socket,
            s.dest,
            &reply(&s, ResponseCode::Refused, vec![]),
        );
    }
    let done = c.poll_completion().unwrap();
    assert_eq!(done.outcome.status, Status::Refused);
    assert_eq!(done.outcome.attempts, 3);
}

#[test]
fn truncated_reply_is_retried_over_tcp() {
    let t0 = Instant::now();
    let mut c = core(&[R1], 1);
    c.submit(name(Q), RecordType::PTR, 5);
    let s = transmit(&mut c, t0).unwrap();
    let mut tc = Message::from_vec(&reply(&s, ResponseCode::NoError, vec![])).unwrap();
    tc.metadata.truncation = true;
    c.handle_datagram(t0, s.socket, s.dest, &tc.to_vec().unwrap());
    assert!(c.poll_completion().is_none());
    let req = c.poll_tcp().expect("a TCP exchange is requested");
    assert_eq!(req.dest, addr(R1));
    let tcp_query = Message::from_vec(&req.message).unwrap();
    assert_eq!(tcp_query.queries[0].name(), &name(Q));
    let tcp_sent = Sent {
        socket: 0,
        dest: req.dest,
        query: tcp_query,
        bytes: req.message.clone(),
    };
    let full = reply(
        &tcp_sent,
        ResponseCode::NoError,
        (0..40)
            .map(|i| ptr(Q, &format!("name{i}.example.test.")))
            .collect(),
    );
    c.handle_tcp_response(t0 + Duration::from_millis(2), req.token, Ok(&full));
    let done = c.poll_completion().unwrap();
    assert!(done.outcome.via_tcp);
    assert_eq!(done.outcome.ptr_names().count(), 40);
    assert_eq!(c.stats().tcp_fallbacks, 1);
    // A second result for the same token is ignored.
    c.handle_tcp_response(t0, req.token, Ok(&full));
    assert!(c.poll_completion().is_none());
}

#[test]
fn failed_tcp_exchange_falls_back_to_a_new_attempt() {
    let t0 = Instant::now();
    let mut c = core(&[R1], 1);
    c.submit(name(Q), RecordType::PTR, 5);
    let s = transmit(&mut c, t0).unwrap();
    let mut tc = Message::from_vec(&reply(&s, ResponseCode::NoError, vec![])).unwrap();
    tc.metadata.truncation = true;
    c.handle_datagram(t0, s.socket, s.dest, &tc.to_vec().unwrap());
    let req = c.poll_tcp().unwrap();
    c.handle_tcp_response(
        t0,
        req.token,
        Err(std::io::ErrorKind::ConnectionRefused.into()),
    );
    assert_eq!(c.stats().tcp_failures, 1);
    let retry = transmit(&mut c, t0).expect("retried over UDP");
    let ans = reply(&retry, ResponseCode::NoError, vec![ptr(Q, "a.test.")]);
    c.handle_datagram(t0, retry.socket, retry.dest, &ans);
    assert_eq!(c.poll_completion().unwrap().outcome.attempts, 2);
}

#[test]
fn a_failing_resolver_is_rested_and_load_moves_to_the_healthy_one() {
    let t0 = Instant::now();
    let mut c = core(&[R1, R2], 1);
    // Every reply from R1 is SERVFAIL; R2 answers.
    let mut r1_after = 0;
    for i in 0..40u64 {
        c.submit(name(Q), RecordType::PTR, i);
        while let Some(s) = transmit(&mut c, t0) {
            if s.dest == addr(R1) {
                if i >= 20 {
                    r1_after += 1;
                }
                c.handle_datagram(
                    t0,
                    s.socket,
                    s.dest,
                    &reply(&s, ResponseCode::ServFail, vec![]),
                );
            } else {
                let ans = reply(&s, ResponseCode::NoError, vec![ptr(Q, "a.test.")]);
                c.handle_datagram(t0, s.socket, s.dest, &ans);
            }
        }
        assert_eq!(c.poll_completion().unwrap().outcome.status, Status::Answer);
    }
    assert_eq!(r1_after, 0, "R1 rests after a burst of failures");
    let per = c.resolver_stats();
    assert_eq!(per[0].addr, addr(R1));
    assert!(per[0].rests >= 1, "{per:?}");
    assert_eq!(per[0].refused_or_servfail, per[0].sent);
    assert_eq!(per[1].answered, 40);
}

#[test]
fn ipv4_and_ipv6_resolvers_get_sockets_of_their_family() {
    let mut c = core(&["127.0.0.1:53", "[::1]:53"], 3);
    assert_eq!(
        c.socket_families(),
        &[
            Family::V4,
            Family::V4,
            Family::V4,
            Family::V6,
            Family::V6,
            Family::V6
        ]
    );
    let t0 = Instant::now();
    for i in 0..20 {
        c.submit(name(Q), RecordType::PTR, i);
        let s = transmit(&mut c, t0).unwrap();
        let fam = c.socket_families()[s.socket];
        assert_eq!(fam == Family::V4, s.dest.is_ipv4());
    }
}

#[test]
fn ten_thousand_in_flight_with_loss_all_end_correctly() {
    // Simulated: 5% of datagrams lost in each direction, every query must end with the
    // answer that belongs to its own question.
    let t0 = Instant::now();
    let mut config = Config::new(vec![addr(R1), addr(R2)]);
    config.attempts = 5;
    let mut c = Core::with_seed(config, 11).unwrap();
    let mut lcg = 12345u64;
    let mut lose = move || {
        lcg = lcg
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (lcg >> 33) % 100 < 5
    };
    let n = 10_000u32;
    for i in 0..n {
        let ip = Ipv4Addr::from(0xc612_0000 + i);
        c.submit(crate::reverse_name(ip.into()), RecordType::A, u64::from(i));
    }
    let mut now = t0;
    let mut done = 0;
    while done < n {
        let mut wire = Vec::new();
        while let Some(s) = transmit(&mut c, now) {
            wire.push(s);
        }
        assert!(c.in_flight() <= n as usize);
        for s in &wire {
            if lose() {
                continue;
            }
            // The "server" answers each name with the address it stands for.
            let q = s.query.queries[0].name().to_ascii();
            let ip = match crate::ip_from_reverse(&q).unwrap() {
                std::net::IpAddr::V4(v4) => v4,
                _ => unreachable!(),
            };
            let rec = Record::from_rdata(name(&q), 60, RData::A(A(ip)));
            let bytes = reply(s, ResponseCode::NoError, vec![rec]);
            if lose() {
                continue;
            }
            c.handle_datagram(now, s.socket, s.dest, &bytes);
        }
        while let Some(fin) = c.poll_completion() {
            let expect = Ipv4Addr::from(0xc612_0000 + fin.tag as u32);
            assert_eq!(fin.outcome.status, Status::Answer, "tag {}", fin.tag);
            assert_eq!(
                fin.outcome.addrs().collect::<Vec<_>>(),
                vec![std::net::IpAddr::V4(expect)]
            );
            done += 1;
        }
        if let Some(t) = c.poll_timeout() {
            now = now.max(t);
        }
        c.handle_timeout(now);
    }
    assert!(c.is_idle());
    assert!(
        c.stats().retries > 500,
        "loss caused retries: {:?}",
        c.stats()
    );
}

#[test]
fn late_reply_while_a_retry_is_queued_completes_once_and_leaves_no_stale_send() {
    // Regression: this used to panic in poll_transmit ("queued slots hold a lookup"): the
    // retry stayed in the send queue after a late reply to attempt 1 finished the query.
    let t0 = Instant::now();
    let mut c = core(&[R1], 1);
    c.submit(name(Q), RecordType::PTR, 1);
    let first = transmit(&mut c, t0).unwrap();
    c.handle_timeout(t0 + Duration::from_secs(1)); // retry queued, not yet sent
    let late = reply(&first, ResponseCode::NoError, vec![ptr(Q, "a.test.")]);
    c.handle_datagram(t0 + Duration::from_secs(1), first.socket, first.dest, &late);
    assert_eq!(c.poll_completion().unwrap().outcome.attempts, 1);
    assert!(transmit(&mut c, t0 + Duration::from_secs(1)).is_none());
    // The slot is reused by the next query, which is sent exactly once.
    c.submit(name(Q), RecordType::PTR, 2);
    assert!(transmit(&mut c, t0 + Duration::from_secs(1)).is_some());
    assert!(transmit(&mut c, t0 + Duration::from_secs(1)).is_none());
    assert_eq!(c.stats().sent, 2);
}

#[test]
fn full_id_space_pauses_sending_until_the_quarantine_frees_ids() {
    // One socket, answered queries keep their IDs for the quarantine: the 50,001st query
    // waits instead of failing, and goes out once the quarantine ends.
    let t0 = Instant::now();
    let mut c = core(&[R1], 1);
    for i in 0..50_000u64 {
        c.submit(name(Q), RecordType::PTR, i);
        let s = transmit(&mut c, t0).unwrap();
        let r = reply(&s, ResponseCode::NoError, vec![ptr(Q, "a.test.")]);
        c.handle_datagram(t0, s.socket, s.dest, &r);
        c.poll_completion().unwrap();
    }
    c.submit(name(Q), RecordType::PTR, 99);
    assert!(
        transmit(&mut c, t0).is_none(),
        "socket full of quarantined IDs"
    );
    // Follow the timers (some are stale attempt deadlines, cancelled lazily).
    let mut now = t0;
    while transmit(&mut c, now).is_none() {
        now = c.poll_timeout().expect("a timer frees IDs");
        c.handle_timeout(now);
    }
    assert_eq!(
        now,
        t0 + Duration::from_secs(3),
        "sent exactly when the quarantine ended"
    );
}

/// Untrusted bytes: hand-made hostile replies with the right ID, source and question.
/// Each must be counted as malformed (never panic, never complete the query), and the
/// real reply that follows must still be accepted.
#[test]
fn hostile_replies_are_counted_and_the_real_reply_still_completes() {
    let t0 = Instant::now();
    let mut c = core(&[R1], 1);
    c.submit(name(Q), RecordType::PTR, 1);
    let s = transmit(&mut c, t0).unwrap();
    let good = reply(&s, ResponseCode::NoError, vec![ptr(Q, "a.test.")]);
    // Header (ID, QR|RD, RA, counts) + the question exactly as asked.
    let qlen = Q.len() + 1 + 4; // the name (a length byte per label, the root), type, class
    let question = &s.bytes[12..12 + qlen];
    let head = |an: u16| {
        let mut h = good[..4].to_vec();
        h.extend_from_slice(&[0, 1]);
        h.extend_from_slice(&an.to_be_bytes());
        h.extend_from_slice(&[0, 0, 0, 0]);
        h.extend_from_slice(question);
        h
    };
    let mut hostile: Vec<(&str, Vec<u8>)> = Vec::new();
    hostile.push(("one byte", vec![good[0]]));
    hostile.push(("header only, question promised", good[..12].to_vec()));
    // An answer whose owner is a compression pointer to itself.
    let mut p = head(1);
    let at = p.len() as u16;
    p.extend_from_slice(&(0xc000 | at).to_be_bytes());
    p.extend_from_slice(&[0, 12, 0, 1, 0, 0, 0, 60, 0, 2, 0xc0, 12]);
    hostile.push(("compression-pointer loop", p));
    // Two pointers pointing at each other.
    let mut p = head(1);
    let at = p.len() as u16;
    p.extend_from_slice(&[0, 12, 0, 1, 0, 0, 0, 60, 0, 4]);
    p.extend_from_slice(&(0xc000 | (at + 12)).to_be_bytes());
    p.extend_from_slice(&(0xc000 | (at + 10)).to_be_bytes());
    let mut q = p.clone();
    q.splice(at as usize..at as usize, (0xc000 | (at + 12)).to_be_bytes());
    hostile.push(("pointer ping-pong", q));
    // A label longer than 63 bytes (0x40 is an extended label type, invalid).
    let mut p = head(1);
    p.push(64);
    p.extend(std::iter::repeat_n(b'a', 64));
    p.extend_from_slice(&[0, 0, 12, 0, 1, 0, 0, 0, 60, 0, 0]);
    hostile.push(("label over 63 bytes", p));
    // A name over 255 bytes: five labels of 63.
    let mut p = head(1);
    for _ in 0..5 {
        p.push(63);
        p.extend(std::iter::repeat_n(b'b', 63));
    }
    p.extend_from_slice(&[0, 0, 12, 0, 1, 0, 0, 0, 60, 0, 0]);
    hostile.push(("name over 255 bytes", p));
    // Counts that lie: 65,535 answers promised, one present.
    let mut p = head(u16::MAX);
    p.extend_from_slice(&good[12 + qlen..]);
    hostile.push(("answer count lies", p));
    // RDATA length running past the end.
    let mut p = head(1);
    p.extend_from_slice(&[0xc0, 12, 0, 12, 0, 1, 0, 0, 0, 60, 0xff, 0xff, 1, b'x']);
    hostile.push(("rdlength past the end", p));
    for (what, bytes) in &hostile {
        c.handle_datagram(t0, s.socket, s.dest, bytes);
        assert!(c.poll_completion().is_none(), "{what} completed the query");
    }
    let st = c.stats();
    assert_eq!(
        st.dropped_malformed + st.dropped_wrong_question,
        hostile.len() as u64,
        "{st:?}"
    );
    c.handle_datagram(t0, s.socket, s.dest, &good);
    assert_eq!(c.poll_completion().unwrap().outcome.status, Status::Answer);
}

#[test]
fn a_65535_byte_tcp_reply_is_read_whole() {
    let t0 = Instant::now();
    let mut c = core(&[R1], 1);
    c.submit(name(Q), RecordType::PTR, 5);
    let s = transmit(&mut c, t0).unwrap();
    let mut tc = Message::from_vec(&reply(&s, ResponseCode::NoError, vec![])).unwrap();
    tc.metadata.truncation = true;
    c.handle_datagram(t0, s.socket, s.dest, &tc.to_vec().unwrap());
    let req = c.poll_tcp().unwrap();
    let q = Message::from_vec(&req.message).unwrap();
    let sent = Sent {
        socket: 0,
        dest: req.dest,
        query: q,
        bytes: req.message.clone(),
    };
    // As many PTR records as fit under 65,535 bytes, then pad with one TXT-free record
    // count so the message is exactly at the limit.
    let long = format!(
        "{}.{}.{}.test.",
        "x".repeat(60),
        "y".repeat(60),
        "z".repeat(60)
    );
    let mut records = Vec::new();
    let mut bytes = reply(&sent, ResponseCode::NoError, records.clone());
    while bytes.len() < 65_535 - 300 {
        records.push(ptr(Q, &format!("n{}.{long}", records.len())));
        bytes = reply(&sent, ResponseCode::NoError, records.clone());
    }
    assert!(
        bytes.len() > 65_000 && bytes.len() <= 65_535,
        "{}",
        bytes.len()
    );
    c.handle_tcp_response(t0, req.token, Ok(&bytes));
    let done = c.poll_completion().unwrap();
    assert!(done.outcome.via_tcp);
    assert_eq!(done.outcome.ptr_names().count(), records.len());
}

mod fuzz {
    //! Property-based fuzzing of reply handling (`scripts/fuzz.sh` runs it longer). The
    //! oracle: no panic, every datagram lands in exactly one counter, and a query is only
    //! ever completed by bytes that decode to a reply to its own question.
    use super::*;
    use proptest::prelude::*;

    fn setup() -> (Core, Sent, Vec<u8>) {
        let t0 = Instant::now();
        let mut c = core(&[R1], 1);
        c.submit(name(Q), RecordType::PTR, 1);
        let s = transmit(&mut c, t0).unwrap();
        let good = reply(&s, ResponseCode::NoError, vec![ptr(Q, "a.test.")]);
        (c, s, good)
    }

    fn counted(st: &Stats) -> u64 {
        st.matched
            + st.dropped_unknown_id
            + st.dropped_wrong_source
            + st.dropped_wrong_question
            + st.dropped_malformed
            + st.duplicates
            + st.late
    }

    fn check(bytes: &[u8]) -> Result<(), TestCaseError> {
        let (mut c, s, _) = setup();
        let mut data = bytes.to_vec();
        // Give it the right ID so it reaches the parser.
        if data.len() >= 2 {
            data[..2].copy_from_slice(&s.query.metadata.id.to_be_bytes());
        }
        differential(&data)?;
        c.handle_datagram(Instant::now(), s.socket, s.dest, &data);
        let st = c.stats();
        prop_assert_eq!(st.received, 1);
        prop_assert_eq!(counted(&st), 1, "{:?}", st);
        if let Some(done) = c.poll_completion() {
            // Only a response whose header and question decode, and whose question is
            // ours, may complete it. (Sections after the answers are not needed and not
            // decoded: a reply damaged only there is still a reply.)
            let mut d = BinDecoder::new(&data);
            let header = Header::read(&mut d).expect("a completing reply has a header");
            prop_assert_eq!(header.metadata.message_type, MessageType::Response);
            prop_assert_eq!(header.counts.queries, 1);
            let q = Query::read(&mut d).expect("a completing reply has a question");
            prop_assert_eq!(q.name(), &name(Q));
            prop_assert_eq!(q.query_type(), RecordType::PTR);
            prop_assert!(done.outcome.status != Status::Timeout);
        }
        Ok(())
    }

    /// The answer reader against hickory's full record decoder, record by record: both
    /// accept or both reject, with the same owner, type, TTL, value and end.
    fn differential(data: &[u8]) -> Result<(), TestCaseError> {
        let mut d = BinDecoder::new(data);
        let Ok(header) = Header::read(&mut d) else {
            return Ok(());
        };
        let Ok(q) = Query::read(&mut d) else {
            return Ok(());
        };
        if q.name() != &name(Q) {
            return Ok(()); // owners pointing at a root question are not our case
        }
        let mut theirs = d.clone(d.index() as u16);
        for _ in 0..header.counts.answers {
            match (read_answer(&mut d, data), Record::read(&mut theirs)) {
                (None, Err(_)) => return Ok(()),
                (Some(a), Ok(r)) => {
                    let b = Answer::from_record(&r);
                    let owner = a.owner.clone().unwrap_or_else(|| q.name().clone());
                    prop_assert!(crate::outcome::same_name(&owner, &r.name));
                    prop_assert_eq!(a.rtype, b.rtype);
                    prop_assert_eq!(a.ttl, b.ttl);
                    prop_assert_eq!(&a.value, &b.value);
                    prop_assert_eq!(d.index(), theirs.index());
                }
                (a, r) => prop_assert!(false, "the decoders differ: {:?} vs {:?}", a, r),
            }
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn fuzz_arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..700)) {
            check(&bytes)?;
        }

        #[test]
        fn fuzz_answer_records_decode_as_hickory_decodes_them(
            records in proptest::collection::vec(
                (0u8..3, proptest::sample::select(vec![1u16, 28, 12, 5, 15, 16, 41, 6, 99]),
                 any::<u32>(), 0u8..4, proptest::collection::vec(any::<u8>(), 0..24)),
                1..5,
            ),
        ) {
            let (_, _, good) = setup();
            // The header and question of a real reply, then hand-made answers.
            let qend = 12 + Q.len() + 1 + 4;
            let mut m = good[..qend].to_vec();
            m[6..8].copy_from_slice(&(records.len() as u16).to_be_bytes());
            m[8..12].copy_from_slice(&[0, 0, 0, 0]);
            for (owner, rtype, ttl, shape, bytes) in &records {
                match owner {
                    0 => m.extend_from_slice(&[0xC0, 0x0C]),
                    1 => m.extend_from_slice(&wire_name(&Q.to_uppercase())),
                    _ => m.extend_from_slice(&wire_name("other.test.")),
                }
                m.extend_from_slice(&rtype.to_be_bytes());
                m.extend_from_slice(&[0, 1]);
                m.extend_from_slice(&ttl.to_be_bytes());
                let rdata = match shape {
                    0 => bytes.clone(),
                    1 => wire_name("a.b.test."),
                    2 => [&wire_name("x.")[..], &[0xC0, 0x0C]].concat()[1..].to_vec(),
                    _ => bytes.iter().take(usize::from(*rtype % 17)).copied().collect(),
                };
                m.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
                m.extend_from_slice(&rdata);
            }
            differential(&m)?;
            check(&m)?;
        }

        #[test]
        fn fuzz_mutated_replies_never_panic(
            edits in proptest::collection::vec((any::<u16>(), any::<u8>()), 1..8),
            cut in any::<u16>(),
        ) {
            let (_, _, good) = setup();
            let mut bytes = good.clone();
            for (at, v) in edits {
                let i = usize::from(at) % bytes.len();
                bytes[i] = v;
            }
            let keep = usize::from(cut) % (bytes.len() + 1);
            bytes.truncate(keep.max(bytes.len() / 2));
            check(&bytes)?;
        }
    }
}

/// Answers `n` queries, each after `rtt`, so the core learns the resolver's RTT.
fn warm_up(c: &mut Core, now: &mut Instant, n: u64, rtt: Duration) {
    for tag in 0..n {
        c.submit(name(Q), RecordType::PTR, 1000 + tag);
        let s = transmit(c, *now).unwrap();
        *now += rtt;
        c.handle_datagram(
            *now,
            s.socket,
            s.dest,
            &reply(&s, ResponseCode::NoError, vec![]),
        );
        assert!(c.poll_completion().is_some());
    }
}

/// When the next attempt of the only outstanding query goes out, probing in 1 ms steps
/// (poll_timeout may name a cancelled timer; this asks the core what it does).
fn retry_after(c: &mut Core, from: Instant) -> Duration {
    for ms in 1..10_000 {
        let at = from + Duration::from_millis(ms);
        c.handle_timeout(at);
        if transmit(c, at).is_some() {
            return Duration::from_millis(ms);
        }
    }
    panic!("no retry within 10 s");
}

#[test]
fn adaptive_timeout_retries_a_lost_packet_after_a_few_rtts_not_seconds() {
    let mut now = Instant::now();
    // Before any answer: the configured first timeout.
    let mut cold = core(&[R1], 1);
    cold.submit(name(Q), RecordType::PTR, 1);
    transmit(&mut cold, now).unwrap();
    assert_eq!(retry_after(&mut cold, now), Duration::from_secs(1));
    let mut c = core(&[R1], 1);
    warm_up(&mut c, &mut now, 30, Duration::from_millis(10));
    // 10 ms RTT: SRTT + 4 RTTVAR is below the floor, so the floor (100 ms) applies, and
    // the retry doubles it.
    c.submit(name(Q), RecordType::PTR, 2);
    transmit(&mut c, now).unwrap();
    assert_eq!(retry_after(&mut c, now), Duration::from_millis(100));
    now += Duration::from_millis(100);
    assert_eq!(retry_after(&mut c, now), Duration::from_millis(200));
    // The last of the 3 attempts waits at least the configured timeout (1 s), not 400 ms.
    now += Duration::from_millis(200);
    c.handle_timeout(now + Duration::from_millis(999));
    assert!(
        c.poll_completion().is_none(),
        "still waiting for the last attempt"
    );
    c.handle_timeout(now + Duration::from_secs(1));
    assert_eq!(c.poll_completion().unwrap().outcome.status, Status::Timeout);
    // Without adaptive timeouts the same history changes nothing.
    let mut fixed = core(&[R1], 1);
    fixed.config.adaptive_timeout = false;
    let mut now = Instant::now();
    warm_up(&mut fixed, &mut now, 30, Duration::from_millis(10));
    fixed.submit(name(Q), RecordType::PTR, 2);
    transmit(&mut fixed, now).unwrap();
    assert_eq!(retry_after(&mut fixed, now), Duration::from_secs(1));
}

#[test]
fn the_third_attempt_is_retried_at_once_while_replies_come_and_waited_for_when_none_do() {
    // 100 ms RTO (the floor): attempts go out 100 and 200 ms apart, and the third times
    // out after 400 ms. While other queries are answered (a lossy path, not a dead one)
    // the third is not the last, so the fourth follows at once; with no reply from
    // anywhere it is waited for until the configured timeout (1 s) before giving up.
    let third_to_next = |replies: bool| {
        let mut now = Instant::now();
        let mut c = core(&[R1], 1);
        warm_up(&mut c, &mut now, 30, Duration::from_millis(10));
        c.submit(name(Q), RecordType::PTR, 1);
        transmit(&mut c, now).unwrap();
        let mut sent_at = now;
        for _ in 0..2 {
            now = sent_at + retry_after(&mut c, sent_at);
            sent_at = now;
            if replies {
                now += Duration::from_millis(5);
                warm_up(&mut c, &mut now, 1, Duration::from_millis(1));
            }
        }
        // The third attempt went out at `sent_at`: step 1 ms at a time until the fourth
        // goes out or the query ends.
        for ms in 1..5_000 {
            let at = sent_at + Duration::from_millis(ms);
            c.handle_timeout(at);
            if transmit(&mut c, at).is_some() {
                return (Duration::from_millis(ms), None);
            }
            if let Some(fin) = c.poll_completion() {
                return (Duration::from_millis(ms), Some(fin.outcome.status));
            }
        }
        panic!("neither a retry nor an end within 5 s");
    };
    assert_eq!(
        third_to_next(true),
        (Duration::from_millis(400), None),
        "a lossy path: retried once the 400 ms timer fires"
    );
    assert_eq!(
        third_to_next(false),
        (Duration::from_secs(1), Some(Status::Timeout)),
        "a dead path: the last attempt waits the configured timeout"
    );
}

/// A resolver whose queue fills (each answer 4% slower than the last, from 20 ms up to
/// 2.5 s) is waited for, not retried; with fixed timeouts the same resolver causes
/// retries once it is slower than the timeout.
#[test]
fn a_resolver_that_slows_down_gets_longer_timeouts_instead_of_spurious_retries() {
    let run = |adaptive: bool| -> u64 {
        let mut c = core(&[R1], 1);
        c.config.adaptive_timeout = adaptive;
        c.config.attempts = 1;
        let mut now = Instant::now();
        let mut rtt = Duration::from_millis(20);
        for tag in 0..130 {
            c.submit(name(Q), RecordType::PTR, tag);
            let s = transmit(&mut c, now).unwrap();
            // Timers due by the time the answer arrives fire first.
            now += rtt;
            c.handle_timeout(now);
            if c.poll_completion().is_none() {
                c.handle_datagram(
                    now,
                    s.socket,
                    s.dest,
                    &reply(&s, ResponseCode::NoError, vec![]),
                );
                assert!(c.poll_completion().is_some());
            }
            rtt = (rtt * 104 / 100).min(Duration::from_millis(2500));
        }
        c.stats().attempt_timeouts
    };
    assert_eq!(
        run(true),
        0,
        "adaptive timeouts followed the slowing resolver"
    );
    assert!(
        run(false) > 0,
        "fixed 1 s timeouts give up on answers slower than 1 s"
    );
}

#[test]
fn a_ceiling_under_the_adaptive_floor_wins_without_panicking() {
    let mut c = core(&[R1], 1);
    c.config.timeout = Duration::from_millis(20);
    c.config.max_timeout = Duration::from_millis(40);
    let mut now = Instant::now();
    warm_up(&mut c, &mut now, 5, Duration::from_millis(1));
    c.submit(name(Q), RecordType::PTR, 1);
    transmit(&mut c, now).unwrap();
    assert_eq!(retry_after(&mut c, now), Duration::from_millis(40));
}

fn sent_now(c: &mut Core, now: Instant) -> Vec<Sent> {
    std::iter::from_fn(|| transmit(c, now)).collect()
}

#[test]
fn the_window_limits_attempts_in_flight_and_grows_with_answers() {
    let now = Instant::now();
    let mut c = core(&[R1], 2);
    for tag in 0..500 {
        c.submit(name(Q), RecordType::PTR, tag);
    }
    let first = sent_now(&mut c, now);
    assert_eq!(first.len(), 64, "the initial window");
    assert_eq!(c.in_flight(), 500, "the rest wait in the core, not refused");
    // Slow start: each answer frees its place and adds one.
    for s in &first[..10] {
        c.handle_datagram(
            now,
            s.socket,
            s.dest,
            &reply(s, ResponseCode::NoError, vec![]),
        );
    }
    assert_eq!(sent_now(&mut c, now).len(), 20);
    assert_eq!(c.stats().window, 74);
    // Never beyond max_window.
    let mut capped = core(&[R1], 2);
    capped.config.max_window = 70;
    for tag in 0..500 {
        capped.submit(name(Q), RecordType::PTR, tag);
    }
    let mut now = now;
    for _ in 0..20 {
        let out = sent_now(&mut capped, now);
        assert!(capped.stats().window <= 70 && out.len() <= 70);
        now += Duration::from_millis(1);
        for s in &out {
            capped.handle_datagram(
                now,
                s.socket,
                s.dest,
                &reply(s, ResponseCode::NoError, vec![]),
            );
        }
    }
    assert_eq!(capped.stats().window, 70);
}

#[test]
fn a_burst_of_timeouts_halves_the_window_once() {
    let t0 = Instant::now();
    let mut c = core(&[R1], 2);
    for tag in 0..500 {
        c.submit(name(Q), RecordType::PTR, tag);
    }
    assert_eq!(sent_now(&mut c, t0).len(), 64);
    // All 64 are lost: retried at once, and one congestion event, not 64, once the
    // grace period (one more timeout) has passed without their replies.
    let t1 = t0 + Duration::from_secs(1);
    c.handle_timeout(t1);
    assert_eq!(c.stats().attempt_timeouts, 64);
    assert_eq!(
        c.stats().window_decreases,
        0,
        "not yet: a reply may still come"
    );
    assert_eq!(sent_now(&mut c, t1).len(), 64, "the retries");
    let t2 = t1 + Duration::from_secs(1);
    c.handle_timeout(t2);
    assert_eq!(c.stats().window_decreases, 1);
    assert_eq!(c.stats().window, 32);
    // Those sent after the halving are a new window: losing them halves again.
    assert_eq!(sent_now(&mut c, t2).len(), 32);
    // (The first call fires the timers, the second settles their losses.)
    c.handle_timeout(t2 + Duration::from_secs(20));
    c.handle_timeout(t2 + Duration::from_secs(30));
    assert_eq!(c.stats().window_decreases, 2);
    assert_eq!(c.stats().window, 16);
    // Not below min_window.
    let mut t = t2 + Duration::from_secs(30);
    for _ in 0..8 {
        sent_now(&mut c, t);
        c.handle_timeout(t + Duration::from_secs(20));
        t += Duration::from_secs(30);
        c.handle_timeout(t);
    }
    assert_eq!(c.stats().window, 16);
}

#[test]
fn timers_come_due_in_deadline_order_whatever_the_push_order() {
    let t0 = Instant::now();
    let ms = |m: u64| Duration::from_millis(m);
    let mut t = Timers::default();
    // (pushed at, timeout): more distinct timeouts than lanes, pushes out of order
    // within a lane, ties.
    let pushes: Vec<(u64, u64)> = (0..60u64)
        .map(|i| {
            (
                (i * 7) % 23,
                [100, 1500, 200, 100, 3, 5, 7, 9, 11, 13, 400][(i % 11) as usize] + i % 3,
            )
        })
        .collect();
    for (i, &(at, d)) in pushes.iter().enumerate() {
        t.push(t0 + ms(at), ms(d), i as u32, 0);
    }
    assert!(
        !t.heap.is_empty() && !t.lanes.is_empty(),
        "both paths are exercised"
    );
    let first = pushes.iter().map(|(a, d)| a + d).min().unwrap();
    assert_eq!(t.peek().map(|p| p.0), Some(t0 + ms(first)));
    assert_eq!(
        t.pop_due(t0 + ms(first - 1)),
        None,
        "nothing is due before the earliest"
    );
    let mut popped = Vec::new();
    while let Some((at, ..)) = t.peek() {
        let (slot, _) = t.pop_due(at).unwrap();
        let (a, d) = pushes[slot as usize];
        popped.push(a + d);
    }
    let mut sorted: Vec<u64> = pushes.iter().map(|(a, d)| a + d).collect();
    sorted.sort();
    assert_eq!(popped, sorted, "each timer once, in deadline order");
    assert!(t.pop_due(t0 + ms(100_000)).is_none());
}

#[test]
fn a_question_of_another_class_or_a_longer_name_is_not_ours() {
    let t0 = Instant::now();
    let mut c = core(&[R1], 1);
    c.submit(name(Q), RecordType::PTR, 1);
    let s = transmit(&mut c, t0).unwrap();
    let good = reply(&s, ResponseCode::NoError, vec![ptr(Q, "a.test.")]);
    // Class CH instead of IN: the class is the last two bytes of the question.
    let qend = 12 + Q.len() + 1 + 4;
    let mut chaos = good.clone();
    chaos[qend - 2..qend].copy_from_slice(&3u16.to_be_bytes());
    c.handle_datagram(t0, s.socket, s.dest, &chaos);
    // Our name as the prefix of a longer one (an extra label before the root).
    let mut longer = s.query.clone();
    longer.queries[0].set_name(name(&format!("{Q}x.")));
    let longer = Sent {
        query: longer,
        ..s.clone_sent()
    };
    c.handle_datagram(
        t0,
        s.socket,
        s.dest,
        &reply(&longer, ResponseCode::NoError, vec![]),
    );
    assert!(c.poll_completion().is_none());
    assert_eq!(c.stats().dropped_wrong_question, 2);
    c.handle_datagram(t0, s.socket, s.dest, &good);
    assert_eq!(c.poll_completion().unwrap().outcome.status, Status::Answer);
}

/// The question's name in wire form.
fn wire_name(name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for label in name.trim_end_matches('.').split('.') {
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    out
}

#[test]
fn answer_owners_are_matched_whether_compressed_or_written_out() {
    // One PTR answer whose owner is `owner` written out (no compression pointer).
    let reply_with_owner = |s: &Sent, owner: &str| {
        let mut m = Vec::new();
        m.extend_from_slice(&s.query.metadata.id.to_be_bytes());
        m.extend_from_slice(&[0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0]);
        m.extend_from_slice(&wire_name(Q));
        m.extend_from_slice(&[0, 12, 0, 1]);
        m.extend_from_slice(&wire_name(owner));
        m.extend_from_slice(&[0, 12, 0, 1, 0, 0, 1, 44]);
        let target = wire_name("a.test.");
        m.extend_from_slice(&(target.len() as u16).to_be_bytes());
        m.extend_from_slice(&target);
        m
    };
    let t0 = Instant::now();
    for (owner, answered) in [(Q.to_uppercase(), true), (format!("9.{Q}"), false)] {
        let mut c = core(&[R1], 1);
        c.submit(name(Q), RecordType::PTR, 1);
        let s = transmit(&mut c, t0).unwrap();
        c.handle_datagram(t0, s.socket, s.dest, &reply_with_owner(&s, &owner));
        let done = c.poll_completion().unwrap();
        let want = if answered {
            Status::Answer
        } else {
            Status::NoData
        };
        assert_eq!(done.outcome.status, want, "owner {owner}");
        assert_eq!(done.outcome.ptr_names().count(), usize::from(answered));
    }
    // And the usual compressed form (hickory writes the owner as a pointer to the
    // question): answered.
    let mut c = core(&[R1], 1);
    c.submit(name(Q), RecordType::PTR, 1);
    let s = transmit(&mut c, t0).unwrap();
    let good = reply(&s, ResponseCode::NoError, vec![ptr(Q, "a.test.")]);
    let qend = 12 + Q.len() + 1 + 4;
    assert_eq!(
        &good[qend..qend + 2],
        &[0xC0, 0x0C],
        "the owner is a pointer"
    );
    c.handle_datagram(t0, s.socket, s.dest, &good);
    assert_eq!(c.poll_completion().unwrap().outcome.status, Status::Answer);
}

#[test]
fn referral_is_flagged_and_nodata_with_soa_is_not() {
    use hickory_proto::rr::rdata::{NS, SOA};
    let t0 = Instant::now();
    let mut c = core(&[R1], 2);
    let node = "0.0.f.0.8.b.d.0.1.0.0.2.ip6.arpa.";
    let ns = Record::from_rdata(name(node), 300, RData::NS(NS(name("ns.lame.test."))));
    let soa = Record::from_rdata(
        name("8.b.d.0.1.0.0.2.ip6.arpa."),
        300,
        RData::SOA(SOA::new(
            name("ns.isp.test."),
            name("hostmaster.isp.test."),
            1,
            3600,
            600,
            86400,
            300,
        )),
    );
    // (authoritative, authority records, expected referral)
    let cases = [
        (false, vec![ns.clone()], true),
        (true, vec![ns.clone()], false),
        (false, vec![soa.clone()], false),
        (false, vec![ns, soa], false),
        (false, vec![], false),
    ];
    for (i, (aa, authority, referral)) in cases.into_iter().enumerate() {
        c.submit(name(node), RecordType::PTR, i as u64);
        let s = transmit(&mut c, t0).unwrap();
        let mut m = Message::response(s.query.metadata.id, s.query.metadata.op_code);
        m.metadata.authoritative = aa;
        m.add_queries(s.query.queries.clone());
        for r in authority {
            m.add_authority(r);
        }
        c.handle_datagram(t0, s.socket, s.dest, &m.to_vec().unwrap());
        let done = c.poll_completion().unwrap();
        assert_eq!(done.tag, i as u64);
        assert_eq!(done.outcome.status, Status::NoData, "case {i}");
        assert_eq!(done.outcome.referral, referral, "case {i}");
    }
}

/// Issue 24: the zone that holds a name is learned from the SOA owner in a negative
/// reply's authority section (NXDOMAIN and NODATA), including an owner compressed to
/// the question (the name asked is the apex); positive replies name none.
#[test]
fn negative_replies_name_the_zone_by_their_soa() {
    use hickory_proto::rr::rdata::SOA;
    let t0 = Instant::now();
    let mut c = core(&[R1], 2);
    let soa = |owner: &str| {
        Record::from_rdata(
            name(owner),
            300,
            RData::SOA(SOA::new(
                name("ns.isp.test."),
                name("hostmaster.isp.test."),
                1,
                3600,
                600,
                86400,
                300,
            )),
        )
    };
    let apex = "18.198.in-addr.arpa.";
    let node = "0.18.198.in-addr.arpa.";
    // (question, rcode, answers, authority, expected zone)
    let cases = [
        (
            Q,
            ResponseCode::NXDomain,
            vec![],
            vec![soa(apex)],
            Some(apex),
        ),
        (
            Q,
            ResponseCode::NoError,
            vec![],
            vec![soa(apex)],
            Some(apex),
        ),
        (
            node,
            ResponseCode::NoError,
            vec![],
            vec![soa(node)],
            Some(node),
        ),
        (
            Q,
            ResponseCode::NoError,
            vec![ptr(Q, "h.test.")],
            vec![soa(apex)],
            None,
        ),
        (Q, ResponseCode::NXDomain, vec![], vec![], None),
    ];
    for (i, (q, rcode, answers, authority, zone)) in cases.into_iter().enumerate() {
        c.submit(name(q), RecordType::PTR, i as u64);
        let s = transmit(&mut c, t0).unwrap();
        let mut m = Message::response(s.query.metadata.id, s.query.metadata.op_code);
        m.metadata.response_code = rcode;
        m.metadata.authoritative = true;
        m.add_queries(s.query.queries.clone());
        for r in answers {
            m.add_answer(r);
        }
        for r in authority {
            m.add_authority(r);
        }
        c.handle_datagram(t0, s.socket, s.dest, &m.to_vec().unwrap());
        let done = c.poll_completion().unwrap();
        assert_eq!(done.tag, i as u64);
        assert_eq!(done.outcome.zone, zone.map(name), "case {i}");
    }
}

/// A simulated server for the scheduling tests: it takes up to `per_ms` queries a
/// millisecond from a receive buffer of `buffer` datagrams (more are dropped, as a
/// socket's buffer overflows), drops every `lose_every`-th query, and answers each
/// after `delay`.
struct SimServer {
    addr: SocketAddr,
    delay: Duration,
    per_ms: usize,
    buffer: usize,
    lose_every: Option<u64>,
    seen: u64,
    queue: std::collections::VecDeque<Sent>,
    replies: Vec<(Instant, usize, SocketAddr, Vec<u8>)>,
    answered: u64,
}

impl SimServer {
    fn new(addr: &str, delay_ms: u64, per_ms: usize) -> Self {
        SimServer {
            addr: self::addr(addr),
            delay: Duration::from_millis(delay_ms),
            per_ms,
            buffer: 2_000,
            lose_every: None,
            seen: 0,
            queue: Default::default(),
            replies: Vec::new(),
            answered: 0,
        }
    }
}

/// Runs `n` queries through the core against `servers` in 1 ms steps; returns the
/// simulated time until the last completed and checks every one answered.
fn simulate(c: &mut Core, servers: &mut [SimServer], n: u64) -> Duration {
    let t0 = Instant::now();
    for tag in 0..n {
        c.submit(name(Q), RecordType::PTR, tag);
    }
    let mut now = t0;
    let mut done = 0;
    while done < n {
        assert!(
            now - t0 < Duration::from_secs(600),
            "stuck: {:?}",
            c.stats()
        );
        for s in sent_now(c, now) {
            let server = servers.iter_mut().find(|v| v.addr == s.dest).unwrap();
            server.seen += 1;
            let lost = server.lose_every.is_some_and(|k| server.seen % k == 0);
            if !lost && server.queue.len() < server.buffer {
                server.queue.push_back(s);
            }
        }
        now += Duration::from_millis(1);
        for server in servers.iter_mut() {
            for _ in 0..server.per_ms {
                let Some(s) = server.queue.pop_front() else {
                    break;
                };
                let bytes = reply(&s, ResponseCode::NoError, vec![ptr(Q, "a.test.")]);
                server
                    .replies
                    .push((now + server.delay, s.socket, s.dest, bytes));
            }
            let (due, later): (Vec<_>, Vec<_>) = server.replies.drain(..).partition(|r| r.0 <= now);
            server.replies = later;
            for (_, socket, from, bytes) in due {
                c.handle_datagram(now, socket, from, &bytes);
            }
        }
        c.handle_timeout(now);
        while let Some(fin) = c.poll_completion() {
            assert_eq!(fin.outcome.status, Status::Answer, "tag {}", fin.tag);
            servers
                .iter_mut()
                .find(|v| Some(v.addr) == fin.outcome.resolver)
                .unwrap()
                .answered += 1;
            done += 1;
        }
    }
    now - t0
}

#[test]
fn load_follows_each_resolvers_speed() {
    // A fast resolver (100 queries/ms, 1 ms away) alone, then with a second one that
    // answers everything but 50 ms late, then with one that loses every 7th query.
    let n = 40_000;
    let alone = simulate(&mut core(&[R1], 2), &mut [SimServer::new(R1, 1, 100)], n);
    let mut slow = [SimServer::new(R1, 1, 100), SimServer::new(R2, 50, 100)];
    let with_slow = simulate(&mut core(&[R1, R2], 2), &mut slow, n);
    let mut lossy = [SimServer::new(R1, 1, 100), SimServer::new(R2, 1, 100)];
    lossy[1].lose_every = Some(7);
    let mut c = core(&[R1, R2], 2);
    // A shorter configured timeout: it is also the grace before a loss halves a window,
    // and the simulated run lasts a few hundred milliseconds.
    c.config.timeout = Duration::from_millis(100);
    let with_lossy = simulate(&mut c, &mut lossy, n);
    // Each resolver holds only its own window: the slow or lossy one never makes the
    // scan slower than the fast one alone by more than half.
    assert!(with_slow * 2 <= alone * 3, "{with_slow:?} vs {alone:?}");
    assert!(with_lossy * 2 <= alone * 3, "{with_lossy:?} vs {alone:?}");
    // And the second one still gets its share of what it completes.
    assert!(slow[1].answered > 0 && lossy[1].answered > 0);
    assert!(
        slow[0].answered > slow[1].answered,
        "the fast one does most"
    );
    let per = c.resolver_stats();
    assert!(
        per[1].window_decreases > 0 && per[0].window_decreases == 0,
        "{per:?}"
    );
}

#[test]
fn a_timeout_halves_only_its_own_resolvers_window() {
    let t0 = Instant::now();
    let mut c = core(&[R1, R2], 2);
    for tag in 0..500 {
        c.submit(name(Q), RecordType::PTR, tag);
    }
    let sent = sent_now(&mut c, t0);
    assert_eq!(sent.len(), 128, "two initial windows of 64");
    for s in sent.iter().filter(|s| s.dest == addr(R1)) {
        let bytes = reply(s, ResponseCode::NoError, vec![]);
        c.handle_datagram(t0 + Duration::from_millis(1), s.socket, s.dest, &bytes);
    }
    // R2 lost all of its 64: its window halves (after the grace period), R1's does not.
    c.handle_timeout(t0 + Duration::from_secs(1));
    c.handle_timeout(t0 + Duration::from_secs(2));
    let per = c.resolver_stats();
    assert_eq!(per[1].window, 32);
    assert!(per[0].window >= 64, "{per:?}");
    assert_eq!(c.stats().window_decreases, 1);
}

#[test]
fn a_timeout_answered_late_halves_no_window_or_is_undone_and_a_lost_one_halves() {
    // Answers that come after the retry timer (a recursive resolver on a cold cache)
    // are delays, not losses: the retries go out at once, but the window halves only
    // for attempts still unanswered one grace period (at least the configured timeout)
    // later.
    // 0: the originals never answer; 1: they answer before the retries; 2: after the
    // retries (a recursive resolver answering both from one fetch, the retry first);
    // 3: a second later.
    let run = |late: u8| {
        let mut now = Instant::now();
        let mut c = core(&[R1], 2);
        warm_up(&mut c, &mut now, 30, Duration::from_millis(10));
        for tag in 0..100 {
            c.submit(name(Q), RecordType::PTR, tag);
        }
        let first = sent_now(&mut c, now);
        let before = c.stats().window;
        assert_eq!(first.len() as u64, before);
        // The RTO is 100 ms: at 100 ms every attempt times out and is retried at once.
        now += Duration::from_millis(100);
        c.handle_timeout(now);
        let retries = sent_now(&mut c, now);
        assert!(!retries.is_empty());
        assert_eq!(c.stats().window, before, "no halving yet");
        // At 150 ms (within the grace period) the originals' answers arrive, or not.
        now += Duration::from_millis(50);
        let answer = |c: &mut Core, sent: &[Sent], now: Instant| {
            for s in sent {
                let bytes = reply(s, ResponseCode::NoError, vec![]);
                c.handle_datagram(now, s.socket, s.dest, &bytes);
            }
        };
        if late == 1 {
            answer(&mut c, &first, now);
        }
        answer(&mut c, &retries, now);
        if late == 2 {
            answer(&mut c, &first, now);
        }
        if late == 3 {
            // Later than the grace period (a resolver retrying its own upstream): the
            // halving happened, and the replies undo it.
            now += Duration::from_millis(1500);
            c.handle_timeout(now);
            assert_eq!(c.stats().window_decreases, 1);
            answer(&mut c, &first, now);
        }
        // Past the grace period and the quarantine.
        c.handle_timeout(now + Duration::from_secs(10));
        (before, c.stats())
    };
    for order in [1, 2] {
        let (before, late) = run(order);
        assert_eq!(late.window_decreases, 0, "{order}: {late:?}");
        assert!(late.window >= before, "{order}: {} < {before}", late.window);
        assert_eq!(late.spurious_timeouts, before, "{order}");
        assert_eq!(late.losses_forgiven, before, "{order}");
    }
    let (before, undone) = run(3);
    assert_eq!(undone.window_undos, 1, "{undone:?}");
    assert!(undone.window >= before, "{} < {before}", undone.window);
    let (before, lost) = run(0);
    assert_eq!(lost.window_decreases, 1, "one loss event: {lost:?}");
    assert!(lost.window < before, "real losses halve: {lost:?}");
    assert_eq!(lost.losses_forgiven, 0);
}

#[test]
fn a_lossy_path_gets_more_attempts_while_replies_come_and_a_dead_one_does_not() {
    // Query 1's attempts are all lost; between its attempts another query is answered
    // (the path works): it is retried up to max_attempts, then times out.
    let mut now = Instant::now();
    let mut c = core(&[R1], 1);
    c.submit(name(Q), RecordType::PTR, 1);
    let mut attempts = 0;
    let mut other = 100;
    loop {
        c.handle_timeout(now);
        if let Some(fin) = c.poll_completion() {
            assert_eq!(fin.tag, 1);
            assert_eq!(fin.outcome.status, Status::Timeout);
            assert_eq!(fin.outcome.attempts, 8);
            break;
        }
        if transmit(&mut c, now).is_some() {
            attempts += 1;
        }
        now += Duration::from_millis(5);
        c.submit(name(Q), RecordType::PTR, other);
        other += 1;
        let s = transmit(&mut c, now).unwrap();
        let bytes = reply(&s, ResponseCode::NoError, vec![]);
        c.handle_datagram(now, s.socket, s.dest, &bytes);
        assert_eq!(c.poll_completion().unwrap().tag, other - 1);
        now = c.poll_timeout().unwrap_or(now).max(now);
    }
    assert_eq!(attempts, 8);
    assert_eq!(c.stats().extra_attempts, 5);
    // Lost four times, answered on the fifth: an answer, not a temporary error.
    let mut now = Instant::now();
    let mut c = core(&[R1], 1);
    warm_up(&mut c, &mut now, 1, Duration::from_millis(1));
    c.submit(name(Q), RecordType::PTR, 1);
    let mut attempt = transmit(&mut c, now).unwrap();
    for _ in 0..4 {
        // Another query is answered meanwhile; query 1's attempt is lost.
        now += Duration::from_millis(1);
        warm_up(&mut c, &mut now, 1, Duration::from_millis(1));
        attempt = loop {
            now += Duration::from_millis(1);
            c.handle_timeout(now);
            if let Some(s) = transmit(&mut c, now) {
                break s;
            }
        };
    }
    let bytes = reply(&attempt, ResponseCode::NoError, vec![ptr(Q, "a.test.")]);
    c.handle_datagram(now, attempt.socket, attempt.dest, &bytes);
    let fin = c.poll_completion().unwrap();
    assert_eq!(
        (fin.outcome.status, fin.outcome.attempts),
        (Status::Answer, 5)
    );
    // The dead resolver of dead_server_times_out_after_exactly_the_configured_attempts…
    // stops at 3 (no reply from anywhere); so does a query whose resolver answered once,
    // long before.
    let mut now = Instant::now();
    let mut c = core(&[R1], 1);
    warm_up(&mut c, &mut now, 1, Duration::from_millis(1));
    c.submit(name(Q), RecordType::PTR, 1);
    let mut sent = 0;
    while c.poll_completion().is_none() {
        if transmit(&mut c, now).is_some() {
            sent += 1;
        }
        now = c.poll_timeout().unwrap();
        c.handle_timeout(now);
    }
    assert_eq!(sent, 3);
}

#[test]
fn resolvers_that_go_silent_end_the_waiting_queries_promptly_and_a_reply_ends_the_silence() {
    // Replies stop after a warm-up; 2,000 queries are waiting. Without the silence limit
    // every one spends its attempts, 16 or so at a time (the window's floor).
    let run = |limit: Duration| {
        let mut now = Instant::now();
        let mut c = core(&[R1], 2);
        c.config.silence_limit = limit;
        warm_up(&mut c, &mut now, 20, Duration::from_millis(2));
        let start = now;
        for tag in 0..2_000 {
            c.submit(name(Q), RecordType::PTR, tag);
        }
        let mut done = 0;
        while done < 2_000 {
            while transmit(&mut c, now).is_some() {}
            while let Some(fin) = c.poll_completion() {
                assert_eq!(fin.outcome.status, Status::Timeout);
                done += 1;
            }
            now += Duration::from_millis(10);
            c.handle_timeout(now);
        }
        (now - start, c, now)
    };
    let (fast, mut c, now) = run(Duration::from_secs(2));
    let (slow, ..) = run(Duration::from_secs(3600));
    assert!(fast < Duration::from_secs(5), "{fast:?}");
    assert!(slow > fast * 10, "{slow:?} vs {fast:?}");
    assert!(c.stats().silenced > 1_500, "{:?}", c.stats());
    // The resolver is back: one attempt at a time still goes out, and its reply ends
    // the silence.
    c.submit(name(Q), RecordType::PTR, 9_999);
    let s = transmit(&mut c, now).expect("one attempt goes out while silent");
    c.handle_datagram(
        now,
        s.socket,
        s.dest,
        &reply(&s, ResponseCode::NoError, vec![]),
    );
    let fin = c.poll_completion().unwrap();
    assert_eq!((fin.tag, fin.outcome.status), (9_999, Status::NoData));
    for tag in 0..50 {
        c.submit(name(Q), RecordType::PTR, 10_000 + tag);
    }
    // No longer silent: a window's worth goes out, and nothing ends unsent.
    let window = c.stats().window as usize;
    assert!(window >= 16);
    assert_eq!(sent_now(&mut c, now).len(), window);
    assert!(c.poll_completion().is_none());
}

#[test]
fn drops_at_a_fast_resolvers_buffer_do_not_rest_it() {
    // A small receive buffer at the fast resolver: slow start overshoots it and bursts
    // of queries are dropped while the rest are answered. That is congestion (the
    // window halves), not a dead resolver: resting it would hand its work to the slow
    // one.
    let mut servers = [SimServer::new(R1, 1, 100), SimServer::new(R2, 50, 100)];
    servers[0].buffer = 150;
    let mut c = core(&[R1, R2], 2);
    simulate(&mut c, &mut servers, 40_000);
    let per = c.resolver_stats();
    assert!(per[0].timeouts > 8, "the buffer overflowed: {per:?}");
    assert_eq!(per[0].rests, 0, "{per:?}");
    assert!(servers[0].answered > servers[1].answered, "{per:?}");
}
