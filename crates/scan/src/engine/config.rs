//! The tunables of a scan: [`ScanConfig`], which forward records to ask
//! ([`ForwardMode`]), and how many DNSBLs one scan checks ([`MAX_LISTS`]).

use std::num::NonZeroU32;
use std::sync::Arc;

use ptraudit_classify::Rules;

use crate::dnsbl::Dnsbl;
use crate::row::PrefixLens;

/// Which forward records to ask for each PTR name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ForwardMode {
    /// A for IPv4 targets, AAAA for IPv6 targets.
    #[default]
    Matching,
    /// Both A and AAAA (both end up in `forward_addrs`; the verdict uses the matching one).
    Both,
}

/// Tunables of a scan.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ScanConfig {
    /// Queries in flight at most, per resolver (each resolver's congestion window finds
    /// the depth it takes below this; a slow resolver holds only its own share).
    pub concurrency: usize,
    /// Queries per second at most, over all resolvers; `None` for no limit.
    pub rate: Option<NonZeroU32>,
    /// Forward record types.
    pub forward: ForwardMode,
    /// Summary prefix lengths of the rows.
    pub prefix: PrefixLens,
    /// CNAMEs followed from a reverse name across queries.
    pub max_cname: usize,
    /// Forward answers kept in the cache (oldest evicted first).
    pub cache_capacity: usize,
    /// The generic-name rules (the built-in ones, extended by `--rules FILE`).
    pub rules: Arc<Rules>,
    /// DNS blocklists to look every address up in (at most [`MAX_LISTS`]).
    pub dnsbl: Vec<Dnsbl>,
}

/// Most DNSBLs one scan checks.
pub const MAX_LISTS: usize = 16;

impl Default for ScanConfig {
    fn default() -> Self {
        ScanConfig {
            concurrency: 200,
            rate: None,
            forward: ForwardMode::Matching,
            prefix: PrefixLens::DEFAULT,
            max_cname: 8,
            cache_capacity: 100_000,
            rules: Arc::new(Rules::builtin().clone()),
            dnsbl: Vec::new(),
        }
    }
}
