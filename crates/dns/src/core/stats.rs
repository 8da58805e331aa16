//! What the core counts: [`Stats`] over the whole run and [`ResolverStats`] per
//! resolver. Every received datagram lands in exactly one counter.

use std::net::SocketAddr;

/// Counters of everything the core saw. Every received datagram lands in exactly one of
/// `matched`, `dropped_*`, `duplicates` or `late`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Queries submitted.
    pub submitted: u64,
    /// Queries finished (with any outcome).
    pub completed: u64,
    /// UDP datagrams handed out for sending (first attempts and retries).
    pub sent: u64,
    /// Messages the I/O layer handed the kernel for those datagrams: fewer than `sent`
    /// when segmentation offload sends a run of same-sized queries as one.
    pub send_messages: u64,
    /// UDP sends the I/O layer reported as failed (the query then times out and retries).
    pub send_errors: u64,
    /// UDP datagrams received.
    pub received: u64,
    /// Replies accepted for an in-flight query.
    pub matched: u64,
    /// Dropped: the ID is not in flight on that socket.
    pub dropped_unknown_id: u64,
    /// Dropped: the ID is in flight, but the reply came from another address or port.
    pub dropped_wrong_source: u64,
    /// Dropped: the question section differs from the query's (name, type or class).
    pub dropped_wrong_question: u64,
    /// Dropped: could not be decoded, or is not a response to a standard query.
    pub dropped_malformed: u64,
    /// Replies to a query that had already been answered (duplicates).
    pub duplicates: u64,
    /// Replies to a query that had already given up (timed out for good).
    pub late: u64,
    /// Attempts after the first (timeouts and retried SERVFAIL/REFUSED).
    pub retries: u64,
    /// Truncated UDP replies retried over TCP.
    pub tcp_fallbacks: u64,
    /// TCP exchanges that failed or timed out.
    pub tcp_failures: u64,
    /// Attempts that timed out (not queries: a query can time out once and then succeed).
    pub attempt_timeouts: u64,
    /// Queries that ended in [`Status::Timeout`](crate::outcome::Status::Timeout).
    pub timeouts: u64,
    /// Times a congestion window was halved after a timeout.
    pub window_decreases: u64,
    /// Replies to an attempt that had already timed out (and been retried) while the
    /// query was still open: late, not lost.
    pub spurious_timeouts: u64,
    /// Timeouts that halved no window because the attempt's reply came within the
    /// grace period after all (late, not lost).
    pub losses_forgiven: u64,
    /// Halvings undone (doubled back) because the reply of the attempt whose timeout
    /// caused them came after all, later than the grace period.
    pub window_undos: u64,
    /// Attempts beyond [`Config::attempts`](super::Config::attempts), made because
    /// replies kept arriving (a lossy path, not a dead resolver).
    pub extra_attempts: u64,
    /// Queries ended as timeouts without a further attempt because no resolver had
    /// replied for [`Config::silence_limit`](super::Config::silence_limit).
    pub silenced: u64,
    /// The congestion windows now, summed over resolvers (UDP attempts in flight at most).
    pub window: u64,
}

/// What one resolver did, for reports ("moved load away from the sick one").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResolverStats {
    /// The resolver.
    pub addr: SocketAddr,
    /// Datagrams sent to it.
    pub sent: u64,
    /// Replies accepted from it that were not SERVFAIL/REFUSED.
    pub answered: u64,
    /// SERVFAIL or REFUSED replies.
    pub refused_or_servfail: u64,
    /// Attempts to it that timed out.
    pub timeouts: u64,
    /// Times it was rested after a burst of failures.
    pub rests: u64,
    /// Times its window was halved after a timeout.
    pub window_decreases: u64,
    /// Replies from it to attempts that had already timed out: late, not lost.
    pub spurious_timeouts: u64,
    /// Its congestion window now.
    pub window: u64,
}
