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

/// Asks every resolver the same question at once and says, in order, which ones replied
/// (any RCODE counts: NXDOMAIN, SERVFAIL and REFUSED show the server is there).
///
/// Short attempts first, patience overall: an attempt goes out after 0.25, 0.5, 1, 2 and
/// 2 s, and a reply to any earlier attempt still counts, so a lost datagram costs a
/// quarter of a second while a resolver doing real recursion (cold cache, priming its
/// root hints) has [`probe_patience`] (7.75 s) to answer. Resolvers are asked in
/// parallel, so a dead one costs that once, not once per dead resolver.
pub async fn probe(
    resolvers: &[SocketAddr],
    name: &Name,
    record_type: RecordType,
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
        submitter.submit(name.clone(), record_type, 0)?;
        pending.push((client, completions));
    }
    let mut alive = Vec::with_capacity(pending.len());
    for (_client, mut completions) in pending {
        let outcome = completions.recv().await.ok_or(Error::Closed)?;
        alive.push(outcome.1.status != Status::Timeout);
    }
    Ok(alive)
}
