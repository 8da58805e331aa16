//! Errors of the client. Note what is *not* here: timeouts, SERVFAIL, bad replies and the
//! like are normal outcomes of a scan ([`crate::Status`]) or counters ([`crate::Stats`]).

use std::io;

/// What can go wrong setting up or using the client.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The resolver list is empty.
    #[error("no resolver given")]
    NoResolvers,
    /// A resolver address could not be parsed.
    #[error("invalid resolver address {value:?}: expected IP or IP:PORT (IPv6 as [IP]:PORT)")]
    BadResolver {
        /// The text as given.
        value: String,
    },
    /// A configuration value is out of range.
    #[error("invalid client configuration: {0}")]
    Config(String),
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
