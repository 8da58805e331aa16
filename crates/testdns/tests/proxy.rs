//! The proxy mode (`Server::builder().upstream(..)`, `ptraudit-testdns proxy`): a test
//! server behind it answers as it would directly, and each fault alters the datagrams as
//! the server's own fault does.

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::process::Command;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, Query, ResponseCode};
use hickory_proto::rr::{Name, RecordType};
use ptraudit_testdns::{Faults, Server, ServerError, ServerStats};

use crate::support;

/// Every name below wild.test has an A record (a wildcard, so each query can ask its own
/// name and the reply shows which query it answers), plus a name too big for 512 bytes.
const ZONE: &str = "\
$TTL 60
@       SOA ns hostmaster 1 3600 600 86400 60
@       NS  ns
ns      A   192.0.2.53
*       A   192.0.2.1
big     TXT \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"
big     TXT \"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"
big     TXT \"cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc\"
big     TXT \"dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd\"
big     TXT \"eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee\"
big     TXT \"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\"
";

fn upstream_with(faults: Faults) -> Server {
    Server::builder()
        .zone_text("wild.test.", ZONE)
        .unwrap()
        .faults(faults)
        .start()
        .unwrap()
}

fn upstream() -> Server {
    upstream_with(Faults::default())
}

fn proxy(upstream: &Server, faults: Faults) -> Server {
    Server::builder()
        .upstream(upstream.udp_addr())
        .faults(faults)
        .start()
        .unwrap()
}

fn faults(set: impl FnOnce(&mut Faults)) -> Faults {
    let mut f = Faults::default();
    f.seed = 17;
    set(&mut f);
    f
}

fn query_bytes(id: u16, name: &str, t: RecordType) -> Vec<u8> {
    let mut q = Message::query();
    q.metadata.id = id;
    q.metadata.recursion_desired = true;
    q.add_query(Query::query(Name::from_ascii(name).unwrap(), t));
    q.to_vec().unwrap()
}

/// A client socket with a deep receive buffer (thousands of replies may queue).
fn client() -> UdpSocket {
    let socket = socket2::Socket::new(
        socket2::Domain::IPV4,
        socket2::Type::DGRAM,
        Some(socket2::Protocol::UDP),
    )
    .unwrap();
    let _ = socket.set_recv_buffer_size(4 << 20);
    socket
        .bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())
        .unwrap();
    let socket: UdpSocket = socket.into();
    socket
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    socket
}

/// Every datagram arriving within `quiet` of the last one: (bytes, sender).
fn receive_all(socket: &UdpSocket, quiet: Duration) -> Vec<(Vec<u8>, SocketAddr)> {
    socket.set_read_timeout(Some(quiet)).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok((n, from)) = socket.recv_from(&mut buf) {
        out.push((buf[..n].to_vec(), from));
    }
    out
}

/// What a client can tell of a datagram, to compare a proxy's with a server's.
#[derive(Debug, PartialEq, Eq)]
enum Shape {
    Unparsable,
    Reply {
        from_server_port: bool,
        id_matches: bool,
        name: String,
        rcode: ResponseCode,
        truncated: bool,
        answers: usize,
    },
}

fn shapes(datagrams: &[(Vec<u8>, SocketAddr)], server: SocketAddr, id: u16) -> Vec<Shape> {
    datagrams
        .iter()
        .map(|(bytes, from)| match Message::from_vec(bytes) {
            Err(_) => Shape::Unparsable,
            Ok(m) => Shape::Reply {
                from_server_port: *from == server,
                id_matches: m.metadata.id == id,
                name: m.queries[0].name().to_ascii().to_lowercase(),
                rcode: m.metadata.response_code,
                truncated: m.metadata.truncation,
                answers: m.answers.len(),
            },
        })
        .collect()
}

#[test]
fn without_faults_the_proxy_passes_the_upstreams_replies_unchanged() {
    let up = upstream();
    let proxy = proxy(&up, Faults::default());
    let socket = client();
    for (i, (name, t)) in [
        ("host1.wild.test.", RecordType::A),
        ("HoSt2.WILD.test.", RecordType::A),
        ("wild.test.", RecordType::SOA),
        ("nothing.here.test.", RecordType::A), // REFUSED: not the upstream's zone
        ("x.wild.test.", RecordType::AAAA),    // NODATA
    ]
    .into_iter()
    .enumerate()
    {
        let q = query_bytes(0x4000 + i as u16, name, t);
        let mut direct = [0u8; 4096];
        socket.send_to(&q, up.udp_addr()).unwrap();
        let n = socket.recv(&mut direct).unwrap();
        socket.send_to(&q, proxy.udp_addr()).unwrap();
        let got = receive_all(&socket, Duration::from_millis(200));
        assert_eq!(got.len(), 1, "{name}");
        assert_eq!(got[0].1, proxy.udp_addr(), "{name}: from the proxy's port");
        assert_eq!(got[0].0, direct[..n], "{name}: the same bytes, ID included");
    }
    assert_eq!(ServerStats::get(&proxy.stats().udp_replies), 5);
    assert_eq!(ServerStats::get(&up.stats().udp_queries), 10);
}

#[test]
fn a_reply_returns_to_the_client_that_asked_with_its_id() {
    // Three clients use the same IDs at the same time, each for its own names.
    let up = upstream();
    let proxy = proxy(&up, Faults::default());
    let clients: Vec<UdpSocket> = (0..3).map(|_| client()).collect();
    for id in 0..500u16 {
        for (c, socket) in clients.iter().enumerate() {
            let q = query_bytes(id, &format!("c{c}-q{id}.wild.test."), RecordType::A);
            socket.send_to(&q, proxy.udp_addr()).unwrap();
        }
    }
    for (c, socket) in clients.iter().enumerate() {
        let mut seen = HashSet::new();
        for (bytes, _) in receive_all(socket, Duration::from_millis(500)) {
            let m = Message::from_vec(&bytes).unwrap();
            let id = m.metadata.id;
            assert_eq!(
                m.queries[0].name().to_ascii(),
                format!("c{c}-q{id}.wild.test."),
                "client {c} got another's reply"
            );
            assert!(seen.insert(id), "client {c}: ID {id} twice");
        }
        assert_eq!(seen.len(), 500, "client {c}");
    }
}

#[test]
fn twenty_thousand_queries_in_flight_all_come_back() {
    // The upstream holds every reply for 1.5 s, so all of them are pending in the proxy at
    // once: more than a 16-bit ID space's worth per client would be if IDs were kept.
    const N: usize = 20_000;
    let up = upstream_with(faults(|f| {
        f.delay_share = 1.0;
        f.delay = Duration::from_millis(1500);
    }));
    let proxy = proxy(&up, Faults::default());
    let sockets = [client(), client()];
    let start = Instant::now();
    for i in 0..N {
        let q = query_bytes(i as u16, &format!("n{i}.wild.test."), RecordType::A);
        sockets[i % 2].send_to(&q, proxy.udp_addr()).unwrap();
        if i % 1000 == 999 {
            // Paced a little, so no kernel buffer on the way overflows.
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    assert!(
        start.elapsed() < Duration::from_millis(1500),
        "sent before any reply"
    );
    let mut names = HashSet::new();
    for (k, socket) in sockets.iter().enumerate() {
        for (bytes, _) in receive_all(socket, Duration::from_millis(2500)) {
            let m = Message::from_vec(&bytes).unwrap();
            let name = m.queries[0].name().to_ascii();
            let i: usize = name[1..name.find('.').unwrap()].parse().unwrap();
            assert_eq!(i % 2, k, "{name} came back to the other client");
            assert_eq!(usize::from(m.metadata.id), i % 65536, "{name}");
            names.insert(i);
        }
    }
    assert_eq!(names.len(), N);
    assert_eq!(ServerStats::get(&proxy.stats().dropped), 0);
}

#[test]
fn a_delay_on_every_reply_delays_each_one_and_not_the_rate() {
    const N: usize = 2000;
    let delay = Duration::from_millis(50);
    let up = upstream();
    let proxy = proxy(
        &up,
        faults(|f| {
            f.delay_share = 1.0;
            f.delay = delay;
            f.jitter = Duration::from_millis(10);
        }),
    );
    let socket = client();
    let start = Instant::now();
    let mut sent = Vec::with_capacity(N);
    for i in 0..N {
        let q = query_bytes(i as u16, &format!("d{i}.wild.test."), RecordType::A);
        sent.push(Instant::now());
        socket.send_to(&q, proxy.udp_addr()).unwrap();
    }
    let mut buf = [0u8; 4096];
    let mut got = 0;
    socket
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    while let Ok(n) = socket.recv(&mut buf) {
        let id = u16::from_be_bytes([buf[0], buf[1]]);
        let waited = sent[usize::from(id)].elapsed();
        assert!(waited >= delay, "reply {id} after {waited:?}");
        got += 1;
        if got == N {
            break;
        }
        let _ = n;
    }
    assert_eq!(got, N);
    // Slept per reply, 2000 replies would take 100 s; scheduled, about the delay.
    let took = start.elapsed();
    assert!(
        took < Duration::from_secs(3),
        "{N} delayed replies took {took:?}"
    );
    assert_eq!(ServerStats::get(&proxy.stats().delayed), N as u64);
}

#[test]
fn drop_everything_and_nothing_arrives_nor_reaches_the_upstream() {
    let up = upstream();
    let proxy = proxy(&up, faults(|f| f.drop = 1.0));
    let socket = client();
    for i in 0..100u16 {
        let q = query_bytes(i, "a.wild.test.", RecordType::A);
        socket.send_to(&q, proxy.udp_addr()).unwrap();
    }
    assert!(receive_all(&socket, Duration::from_millis(300)).is_empty());
    assert_eq!(ServerStats::get(&proxy.stats().dropped), 100);
    assert_eq!(ServerStats::get(&up.stats().udp_queries), 0);
}

#[test]
fn drop_first_drops_exactly_the_first_queries() {
    let up = upstream();
    let proxy = proxy(&up, faults(|f| f.drop_first = 2));
    let socket = client();
    for i in 0..5u16 {
        let q = query_bytes(i, "a.wild.test.", RecordType::A);
        socket.send_to(&q, proxy.udp_addr()).unwrap();
        let got = receive_all(&socket, Duration::from_millis(100));
        assert_eq!(got.len(), usize::from(i >= 2), "query {i}");
    }
}

#[test]
fn each_fault_alters_the_datagrams_as_the_server_does() {
    // The same query to a faulty server and to a proxy with the same fault in front of a
    // healthy one: the client sees the same datagrams (bogus packets first, then the
    // reply; duplicates; TC=1; forced rcodes).
    type Set = fn(&mut Faults);
    let cases: [(&str, Set); 10] = [
        ("none", |_| {}),
        ("wrong-id", |f| f.wrong_id = 1.0),
        ("wrong-source", |f| f.wrong_source = 1.0),
        ("wrong-question", |f| f.wrong_question = 1.0),
        ("malformed", |f| f.malformed = 1.0),
        ("duplicate", |f| f.duplicate = 1.0),
        ("truncate", |f| f.truncate = 1.0),
        ("servfail", |f| f.servfail = 1.0),
        ("refused", |f| f.refused = 1.0),
        ("all at once", |f| {
            f.wrong_id = 1.0;
            f.wrong_source = 1.0;
            f.wrong_question = 1.0;
            f.malformed = 1.0;
            f.duplicate = 1.0;
        }),
    ];
    let healthy = upstream();
    let socket = client();
    for (case, set) in cases {
        let server = upstream_with(faults(set));
        let proxy = proxy(&healthy, faults(set));
        let mut seen = Vec::new();
        for to in [server.udp_addr(), proxy.udp_addr()] {
            let q = query_bytes(0x1234, "some.wild.test.", RecordType::A);
            socket.send_to(&q, to).unwrap();
            let got = receive_all(&socket, Duration::from_millis(200));
            seen.push(shapes(&got, to, 0x1234));
        }
        assert_eq!(seen[0], seen[1], "{case}: server, then proxy");
        // A correct client still finds its answer among them (or the forced error).
        assert!(
            seen[1].iter().any(|s| matches!(s, Shape::Reply {
                from_server_port: true,
                id_matches: true,
                name,
                ..
            } if name == "some.wild.test.")),
            "{case}: {:?}",
            seen[1]
        );
        if case != "none" {
            assert_ne!(seen[1].len(), 0);
        }
    }
}

#[test]
fn a_reply_too_big_for_udp_comes_whole_over_tcp_through_the_proxy() {
    let up = upstream();
    let proxy = proxy(&up, Faults::default());
    let socket = client();
    // Without EDNS the upstream truncates at 512 bytes; the proxy passes TC=1 on.
    let mut q = Message::query();
    q.metadata.id = 7;
    q.add_query(Query::query(
        Name::from_ascii("big.wild.test.").unwrap(),
        RecordType::TXT,
    ));
    let q = q.to_vec().unwrap();
    socket.send_to(&q, proxy.udp_addr()).unwrap();
    let got = receive_all(&socket, Duration::from_millis(200));
    assert_eq!(got.len(), 1);
    let udp_reply = Message::from_vec(&got[0].0).unwrap();
    assert!(udp_reply.metadata.truncation);
    // Over TCP, twice on one connection: the whole answer, with the query's ID.
    let mut tcp = TcpStream::connect(proxy.tcp_addr()).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    for _ in 0..2 {
        let mut framed = u16::try_from(q.len()).unwrap().to_be_bytes().to_vec();
        framed.extend_from_slice(&q);
        tcp.write_all(&framed).unwrap();
        let mut len = [0u8; 2];
        tcp.read_exact(&mut len).unwrap();
        let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
        tcp.read_exact(&mut buf).unwrap();
        let reply = Message::from_vec(&buf).unwrap();
        assert_eq!(reply.metadata.id, 7);
        assert!(!reply.metadata.truncation);
        assert_eq!(reply.answers.len(), 6);
    }
    assert_eq!(ServerStats::get(&proxy.stats().tcp_queries), 2);
    assert_eq!(ServerStats::get(&up.stats().tcp_queries), 2);
}

#[test]
fn garbage_from_either_side_is_counted_and_never_answered() {
    // A hostile upstream: for every query, a short packet, a reply with another ID, a
    // reply to another question, then the right reply (the query echoed with QR=1).
    let hostile = UdpSocket::bind("127.0.0.1:0").unwrap();
    let hostile_addr = hostile.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok((n, from)) = hostile.recv_from(&mut buf) {
            let mut reply = buf[..n].to_vec();
            reply[2] |= 0x80;
            let _ = hostile.send_to(&reply[..5], from);
            let mut other_id = reply.clone();
            other_id[1] ^= 0x55;
            let _ = hostile.send_to(&other_id, from);
            let mut other_question = reply.clone();
            other_question[13] ^= 0x01;
            let _ = hostile.send_to(&other_question, from);
            let _ = hostile.send_to(&reply, from);
        }
    });
    let proxy = Server::builder().upstream(hostile_addr).start().unwrap();
    let socket = client();
    // Garbage from a client: nothing forwarded, nothing answered.
    for junk in [
        &[][..],
        &[1, 2, 3],
        &[0xff; 11],
        &[0x12, 0x34, 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0],
    ] {
        socket.send_to(junk, proxy.udp_addr()).unwrap();
    }
    assert!(receive_all(&socket, Duration::from_millis(200)).is_empty());
    assert_eq!(ServerStats::get(&proxy.stats().unparsable), 4);
    // A real query: exactly one reply, the right one.
    let q = query_bytes(0x0bad, "q.wild.test.", RecordType::A);
    socket.send_to(&q, proxy.udp_addr()).unwrap();
    let got = receive_all(&socket, Duration::from_millis(300));
    assert_eq!(got.len(), 1);
    let mut expected = q.clone();
    expected[2] |= 0x80;
    assert_eq!(got[0].0, expected);
    assert_eq!(ServerStats::get(&proxy.stats().upstream_unmatched), 3);
}

#[test]
fn zones_and_an_upstream_together_are_refused() {
    let up = upstream();
    let err = Server::builder()
        .zone_text("wild.test.", ZONE)
        .unwrap()
        .upstream(up.udp_addr())
        .start()
        .unwrap_err();
    assert!(matches!(err, ServerError::ZonesAndUpstream(a) if a == up.udp_addr()));
}

#[test]
fn the_binary_proxies_with_faults() {
    let up = upstream();
    let child = support::binary(
        &["proxy", "--upstream", &up.udp_addr().to_string()]
            .into_iter()
            .chain(["--wrong-id", "1", "--seed", "3"])
            .collect::<Vec<_>>(),
    );
    let addr = child.1;
    let socket = client();
    socket
        .send_to(&query_bytes(99, "b.wild.test.", RecordType::A), addr)
        .unwrap();
    let got = receive_all(&socket, Duration::from_millis(300));
    drop(child);
    let shapes = shapes(&got, addr, 99);
    assert_eq!(shapes.len(), 2, "{shapes:?}");
    assert!(matches!(
        shapes[0],
        Shape::Reply {
            id_matches: false,
            ..
        }
    ));
    assert!(matches!(
        shapes[1],
        Shape::Reply {
            id_matches: true,
            answers: 1,
            ..
        }
    ));
    // A non-loopback upstream is refused.
    let out = Command::new(env!("CARGO_BIN_EXE_ptraudit-testdns"))
        .args(["proxy", "--upstream", "192.0.2.1:53"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a loopback address"));
}
