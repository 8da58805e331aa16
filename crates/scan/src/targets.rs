//! Target address sets: parsing CIDRs, addresses and ranges; excludes; shards; the visiting
//! order (linear, or a pseudo-random permutation computed on the fly).

use std::fmt;
use std::io::BufRead;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::str::FromStr;

/// Errors in target specifications. Each names the offending value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TargetError {
    /// Not an address, CIDR or range.
    #[error("{origin}invalid target {value:?}: {reason}")]
    Syntax {
        /// The text as given.
        value: String,
        /// What is wrong.
        reason: String,
        /// `FILE:LINE: ` when read from a file.
        origin: String,
    },
    /// A CIDR with host bits set.
    #[error("{origin}{value:?} has host bits set: the network is {network}")]
    HostBits {
        /// The text as given.
        value: String,
        /// The network it probably means.
        network: String,
        /// `FILE:LINE: ` when read from a file.
        origin: String,
    },
    /// A file could not be read.
    #[error("cannot read target list {path}: {source}")]
    Io {
        /// The file (`-` for stdin).
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A walk over more IPv6 space than it can number (wider than a /2).
    #[error("the range {0} is too large to walk: split it (IPv6 walks go up to a /2)")]
    TooLarge(String),
    /// A bad `--shard` value.
    #[error("invalid shard {0:?}: expected I/N with 0 <= I < N, e.g. 0/4")]
    Shard(String),
}

/// An inclusive range of addresses of one family, as 128-bit numbers (IPv4 in the low 32
/// bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Span {
    pub(crate) start: u128,
    pub(crate) end: u128,
}

/// One parsed target: an inclusive address range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// First address.
    pub first: IpAddr,
    /// Last address (same family as `first`).
    pub last: IpAddr,
}

impl Target {
    /// Number of addresses.
    pub fn len(&self) -> u128 {
        (num(self.last) - num(self.first)).saturating_add(1)
    }

    /// Never empty; here for clippy's `len_without_is_empty`.
    pub fn is_empty(&self) -> bool {
        false
    }
}

fn num(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

impl FromStr for Target {
    type Err = TargetError;

    /// `192.0.2.0/24`, `192.0.2.7`, `192.0.2.10-192.0.2.20`, `2001:db8::/120`, …
    fn from_str(s: &str) -> Result<Self, TargetError> {
        parse_target(s, "")
    }
}

fn syntax(value: &str, reason: impl Into<String>, origin: &str) -> TargetError {
    TargetError::Syntax {
        value: value.to_string(),
        reason: reason.into(),
        origin: origin.to_string(),
    }
}

fn parse_target(text: &str, origin: &str) -> Result<Target, TargetError> {
    let s = text.trim();
    if s.is_empty() {
        return Err(syntax(text, "empty", origin));
    }
    if let Some((addr, len)) = s.split_once('/') {
        let ip: IpAddr = addr
            .parse()
            .map_err(|_| syntax(text, format!("{addr:?} is not an IP address"), origin))?;
        let max = if ip.is_ipv4() { 32 } else { 128 };
        let len: u32 = len
            .parse()
            .ok()
            .filter(|l| *l <= max)
            .ok_or_else(|| syntax(text, format!("prefix length must be 0..={max}"), origin))?;
        let host_bits = max - len;
        let mask: u128 = if host_bits == 128 {
            u128::MAX
        } else {
            (1u128 << host_bits) - 1
        };
        let n = num(ip);
        if n & mask != 0 {
            let network = from_num(n & !mask, ip.is_ipv4());
            return Err(TargetError::HostBits {
                value: text.to_string(),
                network: format!("{network}/{len}"),
                origin: origin.to_string(),
            });
        }
        return Ok(Target {
            first: ip,
            last: from_num(n | mask, ip.is_ipv4()),
        });
    }
    if let Some((a, b)) = s.split_once('-') {
        let first: IpAddr = a
            .trim()
            .parse()
            .map_err(|_| syntax(text, format!("{:?} is not an IP address", a.trim()), origin))?;
        let last: IpAddr = b
            .trim()
            .parse()
            .map_err(|_| syntax(text, format!("{:?} is not an IP address", b.trim()), origin))?;
        if first.is_ipv4() != last.is_ipv4() {
            return Err(syntax(text, "a range cannot mix IPv4 and IPv6", origin));
        }
        if num(first) > num(last) {
            return Err(syntax(text, "the range ends before it starts", origin));
        }
        return Ok(Target { first, last });
    }
    let ip: IpAddr = s.parse().map_err(|_| {
        syntax(
            text,
            "expected an address, a CIDR (ADDR/LEN) or a range (ADDR-ADDR)",
            origin,
        )
    })?;
    Ok(Target {
        first: ip,
        last: ip,
    })
}

pub(crate) fn from_num(n: u128, v4: bool) -> IpAddr {
    if v4 {
        IpAddr::V4(Ipv4Addr::from(n as u32))
    } else {
        IpAddr::V6(Ipv6Addr::from(n))
    }
}

/// A set of addresses: IPv4 and IPv6 ranges, merged (overlaps count once).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetSet {
    v4: Vec<Span>,
    v6: Vec<Span>,
}

impl TargetSet {
    /// The empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one range.
    pub fn add(&mut self, t: Target) {
        let span = Span {
            start: num(t.first),
            end: num(t.last),
        };
        let list = if t.first.is_ipv4() {
            &mut self.v4
        } else {
            &mut self.v6
        };
        list.push(span);
        normalize(list);
    }

    /// Parses and adds one target given on the command line.
    pub fn add_spec(&mut self, spec: &str) -> Result<(), TargetError> {
        self.add(parse_target(spec, "")?);
        Ok(())
    }

    /// Reads one target per line (blank lines and `#` comments ignored); `name` is used in
    /// errors (`FILE:LINE`).
    pub fn read_list(&mut self, reader: impl BufRead, name: &str) -> Result<(), TargetError> {
        for (i, line) in reader.lines().enumerate() {
            let line = line.map_err(|source| TargetError::Io {
                path: name.to_string(),
                source,
            })?;
            let spec = line.split('#').next().unwrap_or("").trim();
            if spec.is_empty() {
                continue;
            }
            let origin = format!("{name}:{}: ", i + 1);
            self.add(parse_target(spec, &origin)?);
        }
        Ok(())
    }

    /// Reads a list from a file, or from stdin when `path` is `-`.
    pub fn read_file(&mut self, path: &Path) -> Result<(), TargetError> {
        let name = path.display().to_string();
        if name == "-" {
            return self.read_list(std::io::stdin().lock(), "<stdin>");
        }
        let file = std::fs::File::open(path).map_err(|source| TargetError::Io {
            path: name.clone(),
            source,
        })?;
        self.read_list(std::io::BufReader::new(file), &name)
    }

    /// Removes every address of `other`.
    pub fn subtract(&mut self, other: &TargetSet) {
        self.v4 = subtract(&self.v4, &other.v4);
        self.v6 = subtract(&self.v6, &other.v6);
    }

    /// Number of addresses.
    pub fn len(&self) -> u128 {
        self.v4
            .iter()
            .chain(&self.v6)
            .map(|s| (s.end - s.start).saturating_add(1))
            .fold(0u128, u128::saturating_add)
    }

    /// True when there is no address.
    pub fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }

    /// Number of IPv6 addresses.
    pub fn len_v6(&self) -> u128 {
        self.v6
            .iter()
            .map(|s| (s.end - s.start).saturating_add(1))
            .fold(0u128, u128::saturating_add)
    }

    /// The set as inclusive ranges `(first, last)`, IPv4 then IPv6, ascending.
    pub fn ranges(&self) -> impl Iterator<Item = (IpAddr, IpAddr)> + '_ {
        self.spans()
            .map(|(s, v4)| (from_num(s.start, v4), from_num(s.end, v4)))
    }

    /// The ranges, IPv4 then IPv6, each ascending (`true` for IPv4).
    pub(crate) fn spans(&self) -> impl Iterator<Item = (Span, bool)> + '_ {
        self.v4
            .iter()
            .map(|s| (*s, true))
            .chain(self.v6.iter().map(|s| (*s, false)))
    }

    /// True when `ip` is in the set.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let list = if ip.is_ipv4() { &self.v4 } else { &self.v6 };
        let n = num(ip);
        let i = list.partition_point(|s| s.end < n);
        list.get(i).is_some_and(|s| s.start <= n)
    }

    /// The addresses to visit: the `shard` share of the set, in `order`. The set must hold
    /// fewer than 2^64 addresses (the caller limits IPv6 ranges long before that).
    pub fn plan(&self, shard: Shard, order: Order) -> Plan {
        let mut starts = Vec::with_capacity(self.v4.len() + self.v6.len());
        let mut spans = Vec::with_capacity(starts.capacity());
        let mut total: u64 = 0;
        for (s, v4) in self
            .v4
            .iter()
            .map(|s| (s, true))
            .chain(self.v6.iter().map(|s| (s, false)))
        {
            starts.push(total);
            spans.push((*s, v4));
            let len = u64::try_from((s.end - s.start).saturating_add(1)).unwrap_or(u64::MAX);
            total = total.saturating_add(len);
        }
        let perm = match order {
            Order::Linear => None,
            Order::Random { seed } => Some(Permutation::new(total, seed)),
        };
        // Positions k with k % count == index: the first is `index`.
        Plan {
            starts,
            spans,
            total,
            perm,
            next: shard.index,
            step: shard.count,
        }
    }
}

fn normalize(list: &mut Vec<Span>) {
    list.sort_unstable();
    let mut out: Vec<Span> = Vec::with_capacity(list.len());
    for s in list.drain(..) {
        match out.last_mut() {
            Some(last) if s.start <= last.end.saturating_add(1) => last.end = last.end.max(s.end),
            _ => out.push(s),
        }
    }
    *list = out;
}

fn subtract(a: &[Span], b: &[Span]) -> Vec<Span> {
    let mut out = Vec::new();
    for s in a {
        let mut start = s.start;
        let mut done = false;
        for x in b.iter().filter(|x| x.end >= s.start && x.start <= s.end) {
            if x.start > start {
                out.push(Span {
                    start,
                    end: x.start - 1,
                });
            }
            if x.end >= s.end {
                done = true;
                break;
            }
            start = x.end + 1;
        }
        if !done {
            out.push(Span { start, end: s.end });
        }
    }
    out
}

/// One part of a deterministic partition: `I/N` visits every N-th position from I.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// I, from 0.
    pub index: u64,
    /// N, at least 1.
    pub count: u64,
}

impl Shard {
    /// The whole set.
    pub const ALL: Shard = Shard { index: 0, count: 1 };
}

impl FromStr for Shard {
    type Err = TargetError;

    fn from_str(s: &str) -> Result<Self, TargetError> {
        let bad = || TargetError::Shard(s.to_string());
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u64 = i.trim().parse().map_err(|_| bad())?;
        let count: u64 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Visiting order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Ascending addresses (IPv4 first).
    Linear,
    /// A pseudo-random permutation from `seed`, computed on the fly: spreads load over a
    /// provider's servers; the same seed gives the same order (so shards agree).
    Random {
        /// The permutation's seed.
        seed: u64,
    },
}

/// An iterator over the addresses of a [`TargetSet::plan`].
#[derive(Debug, Clone)]
pub struct Plan {
    starts: Vec<u64>,
    spans: Vec<(Span, bool)>,
    total: u64,
    perm: Option<Permutation>,
    next: u64,
    step: u64,
}

impl Plan {
    /// How many addresses this plan visits.
    pub fn len(&self) -> u64 {
        if self.next >= self.total {
            0
        } else {
            (self.total - self.next).div_ceil(self.step)
        }
    }

    /// True when the plan visits nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn at(&self, pos: u64) -> IpAddr {
        let i = self.starts.partition_point(|&s| s <= pos) - 1;
        let (span, v4) = self.spans[i];
        from_num(span.start + u128::from(pos - self.starts[i]), v4)
    }
}

impl Iterator for Plan {
    type Item = IpAddr;

    fn next(&mut self) -> Option<IpAddr> {
        if self.next >= self.total {
            return None;
        }
        let k = self.next;
        self.next = self.next.saturating_add(self.step);
        let pos = match &self.perm {
            Some(p) => p.apply(k),
            None => k,
        };
        Some(self.at(pos))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = usize::try_from(self.len()).unwrap_or(usize::MAX);
        (n, Some(n))
    }
}

/// A bijection on `0..n`: a 4-round Feistel network on the smallest even-width power of
/// two holding `n`, with cycle walking (values >= n are mapped again until they fall in
/// range). No table: memory is constant for any `n`.
#[derive(Debug, Clone)]
struct Permutation {
    n: u64,
    half_bits: u32,
    keys: [u64; 4],
}

impl Permutation {
    fn new(n: u64, seed: u64) -> Self {
        let bits = 64 - n.saturating_sub(1).leading_zeros();
        let half_bits = bits.div_ceil(2).max(1);
        let mut s = seed;
        let keys = [(); 4].map(|_| {
            s = splitmix(s);
            s
        });
        Permutation { n, half_bits, keys }
    }

    fn round(&self, x: u64) -> u64 {
        let mask = (1u64 << self.half_bits) - 1;
        let mut left = x >> self.half_bits;
        let mut right = x & mask;
        for k in self.keys {
            let f = splitmix(right ^ k) & mask;
            (left, right) = (right, left ^ f);
        }
        (left << self.half_bits) | right
    }

    fn apply(&self, mut x: u64) -> u64 {
        // The domain is at most 4n (two more bits than n rounded up to even), so the walk
        // is short on average.
        loop {
            x = self.round(x);
            if x < self.n {
                return x;
            }
        }
    }
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn set(specs: &[&str]) -> TargetSet {
        let mut s = TargetSet::new();
        for x in specs {
            s.add_spec(x).unwrap();
        }
        s
    }

    #[test]
    fn every_form_parses() {
        let t: Target = "192.0.2.0/24".parse().unwrap();
        assert_eq!(
            (t.first.to_string(), t.last.to_string()),
            ("192.0.2.0".into(), "192.0.2.255".into())
        );
        assert_eq!("192.0.2.7".parse::<Target>().unwrap().len(), 1);
        assert_eq!("192.0.2.10-192.0.2.20".parse::<Target>().unwrap().len(), 11);
        assert_eq!(
            "192.0.2.10 - 192.0.2.20".parse::<Target>().unwrap().len(),
            11
        );
        assert_eq!("2001:db8::/120".parse::<Target>().unwrap().len(), 256);
        assert_eq!("2001:db8::1".parse::<Target>().unwrap().len(), 1);
        assert_eq!(
            "2001:db8::1-2001:db8::10".parse::<Target>().unwrap().len(),
            16
        );
        assert_eq!("0.0.0.0/0".parse::<Target>().unwrap().len(), 1 << 32);
        assert_eq!("::/0".parse::<Target>().unwrap().len(), u128::MAX);
        assert_eq!("198.18.0.0/32".parse::<Target>().unwrap().len(), 1);
    }

    #[test]
    fn bad_forms_name_the_value() {
        let cases = [
            ("192.0.2.7/24", "host bits set: the network is 192.0.2.0/24"),
            ("2001:db8::1/64", "the network is 2001:db8::/64"),
            ("192.0.2.0/33", "prefix length must be 0..=32"),
            ("192.0.2.0/x", "prefix length"),
            ("192.0.2/24", "is not an IP address"),
            ("300.1.1.1", "expected an address"),
            ("mail.example.com", "expected an address"),
            ("192.0.2.20-192.0.2.10", "ends before it starts"),
            ("192.0.2.1-2001:db8::1", "mix IPv4 and IPv6"),
            ("", "empty"),
        ];
        for (input, needle) in cases {
            let e = input.parse::<Target>().unwrap_err().to_string();
            assert!(e.contains(needle), "{input}: {e}");
            if !input.is_empty() {
                assert!(
                    e.contains(input),
                    "{input}: error does not name the value: {e}"
                );
            }
        }
        for bad in ["4/4", "1", "a/b", "0/0", "5/2"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        assert_eq!(
            "3/4".parse::<Shard>().unwrap(),
            Shard { index: 3, count: 4 }
        );
    }

    #[test]
    fn lists_with_comments_and_errors_with_line_numbers() {
        let mut s = TargetSet::new();
        s.read_list(
            "# ranges\n198.18.0.0/30\n\n198.18.0.2-198.18.0.5 # overlap\n".as_bytes(),
            "list.txt",
        )
        .unwrap();
        assert_eq!(s.len(), 6, "overlaps count once");
        let e = s
            .read_list("198.18.0.0/30\n198.18.1.1/24\n".as_bytes(), "list.txt")
            .unwrap_err();
        assert!(e.to_string().starts_with("list.txt:2: "), "{e}");
    }

    #[test]
    fn excludes_and_membership() {
        let mut s = set(&["198.18.0.0/24", "2001:db8::/126"]);
        s.subtract(&set(&[
            "198.18.0.0/26",
            "198.18.0.100",
            "198.18.0.250-198.18.1.10",
            "2001:db8::2",
        ]));
        assert_eq!(s.len(), 256 - 64 - 1 - 6 + 3);
        assert!(!s.contains("198.18.0.63".parse().unwrap()));
        assert!(s.contains("198.18.0.64".parse().unwrap()));
        assert!(!s.contains("198.18.0.100".parse().unwrap()));
        assert!(s.contains("198.18.0.249".parse().unwrap()));
        assert!(!s.contains("2001:db8::2".parse().unwrap()));
        let mut all = set(&["198.18.0.0/24"]);
        all.subtract(&set(&["198.18.0.0/16"]));
        assert!(all.is_empty());
    }

    #[test]
    fn shards_cover_every_address_exactly_once_in_both_orders() {
        // zmap-style coverage check over a space with several ranges and excludes.
        let mut s = set(&["198.18.0.0/18", "198.19.0.7", "2001:db8::/118"]);
        s.subtract(&set(&["198.18.16.0/20", "198.18.63.255"]));
        let total = s.len() as usize;
        for order in [Order::Linear, Order::Random { seed: 42 }] {
            let mut seen = HashSet::with_capacity(total);
            for i in 0..4 {
                let plan = s.plan(Shard { index: i, count: 4 }, order);
                let expected = plan.len() as usize;
                let mut n = 0;
                for ip in plan {
                    assert!(s.contains(ip), "{ip} is not a target");
                    assert!(seen.insert(ip), "{ip} visited twice");
                    n += 1;
                }
                assert_eq!(n, expected);
            }
            assert_eq!(seen.len(), total, "{order:?}");
        }
    }

    #[test]
    fn random_order_is_a_seeded_permutation() {
        let s = set(&["198.18.0.0/22"]);
        let a: Vec<IpAddr> = s.plan(Shard::ALL, Order::Random { seed: 1 }).collect();
        let b: Vec<IpAddr> = s.plan(Shard::ALL, Order::Random { seed: 1 }).collect();
        let c: Vec<IpAddr> = s.plan(Shard::ALL, Order::Random { seed: 2 }).collect();
        let linear: Vec<IpAddr> = s.plan(Shard::ALL, Order::Linear).collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, linear);
        // Consecutive addresses are spread: few neighbours stay neighbours.
        let adjacent = a
            .windows(2)
            .filter(|w| num(w[1]).abs_diff(num(w[0])) == 1)
            .count();
        assert!(adjacent < 50, "{adjacent}");
        for n in [1u64, 2, 3, 5, 1000, 4097] {
            let p = Permutation::new(n, 9);
            let mut out: Vec<u64> = (0..n).map(|k| p.apply(k)).collect();
            out.sort_unstable();
            assert_eq!(out, (0..n).collect::<Vec<_>>());
        }
    }
}

#[cfg(test)]
mod fuzz {
    //! Property-based fuzzing of the target parser (`scripts/fuzz.sh` runs it longer).
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn fuzz_target_text_never_panics(text in prop_oneof![
            "\\PC{0,80}",
            "[0-9./\\-:a-f]{0,60}",
            "([0-9]{1,4}\\.){3}[0-9]{1,4}(/[0-9]{1,3})?",
        ]) {
            if let Ok(t) = text.parse::<Target>() {
                // A parsed target is a non-empty range of one family.
                prop_assert_eq!(t.first.is_ipv4(), t.last.is_ipv4());
                prop_assert!(num(t.first) <= num(t.last));
                let again: Target = format!("{}-{}", t.first, t.last).parse().unwrap();
                prop_assert_eq!(again, t);
            }
        }
        // Shard text: `fuzz_shard.rs` (valid, out-of-range and arbitrary `I/N`).
    }
}
