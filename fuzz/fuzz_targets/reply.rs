//! Any bytes as the reply to an outstanding PTR query. Oracle: no panic, the datagram
//! lands in exactly one counter, and a completion comes only from a response that
//! carries the query's own question.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use ptraudit_dns::{Config, Core, RecordType, Status, reverse_name};

fuzz_target!(|data: &[u8]| {
    let resolver = "127.0.0.1:53".parse().unwrap();
    let mut config = Config::new(vec![resolver]);
    config.sockets = 1;
    config.timeout = Duration::from_secs(1);
    let mut core = Core::with_seed(config, 7).unwrap();
    let qname = reverse_name("198.18.0.7".parse().unwrap());
    core.submit(qname, RecordType::PTR, 1);
    let now = Instant::now();
    let mut query = Vec::new();
    let t = core.poll_transmit(now, &mut query).unwrap();
    let mut reply = data.to_vec();
    // The right ID (and, half the time, the query's own header and question) so that the
    // bytes reach the reader rather than the ID check.
    if reply.len() >= 2 {
        reply[..2].copy_from_slice(&query[..2]);
    }
    if reply.first().is_some_and(|b| b & 1 == 1) && reply.len() >= query.len() {
        reply[2..query.len()].copy_from_slice(&query[2..]);
        reply[2] |= 0x80; // QR: a response
    }
    core.handle_datagram(now, t.socket, t.dest, &reply);
    let st = core.stats();
    assert_eq!(st.received, 1);
    let counted = st.matched
        + st.dropped_unknown_id
        + st.dropped_wrong_source
        + st.dropped_wrong_question
        + st.dropped_malformed
        + st.duplicates
        + st.late;
    assert_eq!(counted, 1, "{st:?}");
    if let Some(done) = core.poll_completion() {
        assert_ne!(done.outcome.status, Status::Timeout);
        assert!(
            reply.len() >= 12 && reply[2] & 0x80 != 0,
            "completed by a non-response"
        );
        for name in done.outcome.ptr_names() {
            // Every name renders as printable ASCII.
            let text = ptraudit_dns::name_to_text(name);
            assert!(text.bytes().all(|b| (0x21..0x7f).contains(&b)), "{text:?}");
        }
    }
});
