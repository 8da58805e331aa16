//! The client's tunables ([`Config`]) and their validation.

use std::net::SocketAddr;
use std::time::Duration;

use crate::error::ConfigError;

/// Tunables of the client. Build with [`Config::new`] and adjust the public fields.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// Resolvers to spread queries over (IPv4 and IPv6 may be mixed).
    pub resolvers: Vec<SocketAddr>,
    /// Timeout of a first attempt until the resolver's round-trip time is known (with
    /// `adaptive_timeout`), or always (without); each retry doubles it up to
    /// `max_timeout`.
    pub timeout: Duration,
    /// Derive each resolver's timeout from its measured round-trip times, as TCP does
    /// (RFC 6298: smoothed RTT + 4 × its variation), between `min_timeout` and
    /// `max_timeout`. A resolver that answers slowly, or slower and slower as its queue
    /// fills, gets a longer timeout instead of spurious retries; a fast one gets lost
    /// packets retried in a fraction of `timeout`.
    pub adaptive_timeout: bool,
    /// Lower bound of an adaptive timeout.
    pub min_timeout: Duration,
    /// Limit the UDP attempts in flight with a congestion window, as TCP does: it grows
    /// by one per answer up to the first loss (slow start), then by one per window of
    /// answers, and halves when an attempt times out (at most once per window). Too
    /// deep a queue overflows the server's receive buffer; this finds the depth that
    /// does not. Queries beyond the window wait in the core, their timers not started.
    pub adaptive_window: bool,
    /// The window at the start.
    pub initial_window: u32,
    /// The window never grows beyond this, nor shrinks below `min_window`. Each resolver
    /// has its own window (a slow or lossy one holds only what it completes, so it does
    /// not hold back the others), so this is a bound per resolver.
    pub max_window: u32,
    /// Smallest window.
    pub min_window: u32,
    /// Upper bound for the per-attempt timeout.
    pub max_timeout: Duration,
    /// UDP attempts per query, at least 1, when the resolvers are not answering: a query
    /// whose attempts all timed out while no reply came from any resolver ends as a
    /// timeout after this many (a dead resolver or path ends a run promptly).
    pub attempts: u8,
    /// UDP attempts per query at most while the resolvers answer other queries (at least
    /// `attempts`). On a lossy path a lookup is retried as long as replies keep arriving:
    /// its losses are random, not a dead resolver, and adaptive timeouts make a retry
    /// cost a few round trips. SERVFAIL and REFUSED count against `attempts` only.
    pub max_attempts: u8,
    /// When no reply has come from any resolver for this long while attempts were out,
    /// the resolvers are taken as down: queries waiting to be sent end at once as
    /// timeouts and timed-out ones are not retried, so a run whose resolvers died ends
    /// promptly instead of spending every attempt of every query. One attempt at a time
    /// still goes out, so the first reply (the resolvers are back) ends this.
    pub silence_limit: Duration,
    /// UDP sockets per address family, each on its own random OS-chosen port (RFC 5452).
    pub sockets: usize,
    /// EDNS(0) UDP payload size advertised in queries; `None` sends no OPT record.
    pub edns_payload: Option<u16>,
    /// Pad queries with EDNS(0) Padding (RFC 7830) to a multiple of this many bytes
    /// (RFC 8467's block strategy; 0: no padding; needs `edns_payload`). Queries of one
    /// size are what the I/O layer can hand the kernel as one segmented message, so the
    /// default of 128 makes nearly every query the same size and sending cheap; the
    /// answers are not padded (servers pad only over encrypted transports).
    pub padding_block: u16,
    /// Set RD (recursion desired); needed when talking to a recursive resolver.
    pub recursion_desired: bool,
    /// Retry SERVFAIL and REFUSED on the next attempt (another resolver when there are
    /// several). NXDOMAIN and NODATA are final and never retried (RFC 8020).
    pub retry_servfail: bool,
    /// Timeout of a TCP retry after a truncated (TC=1) UDP reply.
    pub tcp_timeout: Duration,
    /// How long a finished query's IDs stay reserved, so a late or duplicate reply is
    /// recognised as such and never meets a newer query that reused the ID. (Even after
    /// it, a stray reply cannot be credited to another query: the question must match.)
    /// The ID space needed is rate × quarantine: 8 sockets hold 400,000 IDs, enough for
    /// 130,000 queries/s at the default 3 s.
    pub quarantine: Duration,
}

impl Config {
    /// Defaults for scanning: adaptive timeouts (1.5 s until the RTT is known, never under
    /// 100 ms) doubling to at most 6 s, 3 attempts (up to 8 while replies keep coming),
    /// 8 sockets per family, EDNS(0) payload 1232, RD set, SERVFAIL/REFUSED retried,
    /// 3 s ID quarantine.
    pub fn new(resolvers: Vec<SocketAddr>) -> Self {
        Config {
            resolvers,
            timeout: Duration::from_millis(1500),
            adaptive_timeout: true,
            min_timeout: Duration::from_millis(100),
            adaptive_window: true,
            initial_window: 64,
            max_window: 10_000,
            min_window: 16,
            max_timeout: Duration::from_secs(6),
            attempts: 3,
            max_attempts: 8,
            silence_limit: Duration::from_secs(10),
            sockets: 8,
            edns_payload: Some(1232),
            padding_block: 128,
            recursion_desired: true,
            retry_servfail: true,
            tcp_timeout: Duration::from_secs(5),
            quarantine: Duration::from_secs(3),
        }
    }

    /// Checks every value before the core sizes anything by it.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.resolvers.is_empty() {
            return Err(ConfigError::NoResolvers);
        }
        if self.resolvers.len() > usize::from(u16::MAX) {
            return Err(ConfigError::TooManyResolvers {
                count: self.resolvers.len(),
            });
        }
        if self.attempts == 0 {
            return Err(ConfigError::ZeroAttempts);
        }
        if self.sockets == 0 || self.sockets > 1024 {
            return Err(ConfigError::Sockets {
                sockets: self.sockets,
            });
        }
        if self.min_window == 0 || self.min_window > self.max_window {
            return Err(ConfigError::Window {
                min_window: self.min_window,
                max_window: self.max_window,
            });
        }
        if self.timeout.is_zero() {
            return Err(ConfigError::ZeroTimeout);
        }
        if self.padding_block > 512 {
            return Err(ConfigError::PaddingBlock {
                block: self.padding_block,
            });
        }
        if let Some(payload) = self.edns_payload
            && payload < 512
        {
            return Err(ConfigError::EdnsPayload { payload });
        }
        Ok(())
    }
}
