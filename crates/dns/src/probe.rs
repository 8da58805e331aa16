//! Which resolvers answer at all, asked before a run's work starts.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::rr::{Name, RecordType};

use crate::client::ClientBuilder;
use crate::error::Error;
use crate::outcome::Status;

/// The first probe attempt's timeout; each retry doubles it, up to 8× (2 s).
pub const PROBE_FIRST_TIMEOUT: Duration = Duration::from_millis(250);
/// Probe attempts per resolver: 0.25 + 0.5 + 1 + 2 + 2 + 2 = 7.75 s in all.
pub const PROBE_ATTEMPTS: u8 = 6;

/// How long [`probe`] waits at most for a resolver's first reply.
pub fn probe_patience() -> Duration {
    (0..PROBE_ATTEMPTS)
        .map(|a| PROBE_FIRST_TIMEOUT * (1u32 << a.min(3)))
        .sum()
}

/// The questions that tell whether a resolver is there, whatever the state of the zones
/// a scan will ask about: `1.0.0.127.in-addr.arpa PTR` and `localhost. A`, which
/// recursive resolvers answer from themselves (RFC 6303 local zones in Unbound, BIND's
/// built-in empty zones, PowerDNS Recursor's own), then `extra` (the scan's first
/// question) for a server that answers only its own zones. A server that holds none of
/// them still replies (REFUSED or NXDOMAIN), and any reply counts.
pub fn liveness_questions(extra: Option<(Name, RecordType)>) -> Vec<(Name, RecordType)> {
    let fixed = [
        ("1.0.0.127.in-addr.arpa.", RecordType::PTR),
        ("localhost.", RecordType::A),
    ];
    fixed
        .into_iter()
        .filter_map(|(n, t)| Name::from_ascii(n).ok().map(|n| (n, t)))
        .chain(extra)
        .collect()
}

/// Asks every resolver all of `questions` at once and says, in order, which ones replied
/// to any of them (any RCODE counts: NXDOMAIN, SERVFAIL and REFUSED show the server is
/// there).
///
/// Several questions, because one question can be one a broken zone alone can answer:
/// a scan whose first target sits in a lame zone must not take a healthy resolver for a
/// dead one (see [`liveness_questions`]).
///
/// Short attempts first, patience overall: an attempt goes out after 0.25, 0.5, 1, 2 and
/// 2 s, and a reply to any earlier attempt still counts, so a lost datagram costs a
/// quarter of a second while a resolver doing real recursion (cold cache, priming its
/// root hints) has [`probe_patience`] (7.75 s) to answer. Resolvers are asked in
/// parallel, so a dead one costs that once, not once per dead resolver.
pub async fn probe(
    resolvers: &[SocketAddr],
    questions: &[(Name, RecordType)],
) -> Result<Vec<bool>, Error> {
    let mut pending = Vec::with_capacity(resolvers.len());
    for r in resolvers {
        let client = ClientBuilder::new(vec![*r])
            .timeout(PROBE_FIRST_TIMEOUT)
            .max_timeout(PROBE_FIRST_TIMEOUT * 8)
            .attempts(PROBE_ATTEMPTS)
            .max_attempts(PROBE_ATTEMPTS)
            .sockets(1)
            .build()?;
        let (submitter, completions) = client.pipeline();
        // Submitted now, awaited below: all probes are in flight together.
        for (tag, (name, record_type)) in questions.iter().enumerate() {
            submitter.submit(name.clone(), *record_type, tag as u64)?;
        }
        pending.push((client, completions));
    }
    let mut alive = Vec::with_capacity(pending.len());
    for (_client, mut completions) in pending {
        // The first reply decides; a timeout of every question means silence.
        let mut replied = false;
        for _ in questions {
            let outcome = completions.recv().await.ok_or(Error::Closed)?;
            if outcome.1.status != Status::Timeout {
                replied = true;
                break;
            }
        }
        alive.push(replied);
    }
    Ok(alive)
}
