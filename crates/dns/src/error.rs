//! Errors of the client. Note what is *not* here: timeouts, SERVFAIL, bad replies and the
//! like are normal outcomes of a scan ([`crate::Status`]) or counters ([`crate::Stats`]).

use std::io;

/// What can go wrong setting up or using the client.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A resolver address could not be parsed.
    #[error("invalid resolver address {value:?}: expected IP or IP:PORT (IPv6 as [IP]:PORT)")]
    BadResolver {
        /// The text as given.
        value: String,
    },
    /// A configuration value is out of range.
    #[error("invalid client configuration: {0}")]
    Config(#[from] ConfigError),
    /// Binding a UDP socket failed.
    #[error("cannot open a UDP socket on {addr}: {source}")]
    Bind {
        /// The local address tried.
        addr: std::net::SocketAddr,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The client's driver has stopped (its runtime shut down).
    #[error("the DNS client has shut down")]
    Closed,
}

/// A value of [`crate::Config`] (or [`crate::ClientBuilder`]) out of range, named with the
/// value given.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The resolver list is empty.
    #[error("no resolver given")]
    NoResolvers,
    /// More resolvers than the core can number (65,535).
    #[error("too many resolvers: {count} (at most 65535)")]
    TooManyResolvers {
        /// Resolvers given.
        count: usize,
    },
    /// `attempts` is 0: a query must be sent at least once.
    #[error("attempts must be at least 1, got 0")]
    ZeroAttempts,
    /// `sockets` is 0 or above 1024.
    #[error("sockets must be between 1 and 1024, got {sockets}")]
    Sockets {
        /// Sockets per address family given.
        sockets: usize,
    },
    /// The congestion window's bounds are not `1 <= min_window <= max_window`.
    #[error(
        "windows must satisfy 1 <= min_window <= max_window, got min_window {min_window} and max_window {max_window}"
    )]
    Window {
        /// Smallest window given.
        min_window: u32,
        /// Largest window given.
        max_window: u32,
    },
    /// `timeout` is zero.
    #[error("timeout must be greater than zero")]
    ZeroTimeout,
    /// The padding block is larger than 512 bytes.
    #[error("padding block must be at most 512 bytes, got {block}")]
    PaddingBlock {
        /// Block size given.
        block: u16,
    },
    /// The EDNS(0) payload size is below 512 bytes.
    #[error("EDNS payload must be at least 512 bytes, got {payload}")]
    EdnsPayload {
        /// Payload size given.
        payload: u16,
    },
}
