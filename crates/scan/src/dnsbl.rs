//! DNS blocklists (DNSBLs): which lists to ask, what their answers mean, and the errors
//! that must never be read as listings.
//!
//! An address is looked up as an A query for its reversed octets (IPv4) or 32 reversed
//! nibbles (IPv6) under the list's zone: NXDOMAIN is "not listed", an address in
//! 127.0.0.0/8 is a listing whose value (the *code*) says why. Spamhaus answers
//! 127.255.255.252 (a typo in the zone), .254 (a query through a public resolver) and .255
//! (excessive volume) instead of refusing; an answer outside 127.0.0.0/8 means the zone is
//! wildcarded or hijacked. Those are [`DnsblAnswer::Error`]s: once seen, the list is
//! switched off for the rest of the run, and its rows say "unknown", never "listed".

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::str::FromStr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use ptraudit_dns::{Name, Outcome, Status};

/// A list whose codes ptraudit knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Preset {
    /// Spamhaus ZEN (`zen.spamhaus.org`): SBL, CSS, XBL, DROP, PBL.
    SpamhausZen,
    /// Spamhaus ZEN through the Data Query Service (`KEY.zen.dq.spamhaus.net`).
    SpamhausDqs,
    /// Barracuda Reputation Block List (`b.barracudacentral.org`).
    Barracuda,
    /// SpamCop Blocking List (`bl.spamcop.net`).
    Spamcop,
    /// Mailspike blacklist (`bl.mailspike.net`).
    Mailspike,
    /// PSBL, the Passive Spam Block List (`psbl.surriel.com`).
    Psbl,
}

/// What a listing code says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ListingKind {
    /// Spamhaus Block List: a spam source or spam operation.
    Sbl,
    /// Exploits Block List: a hijacked machine, open proxy, botnet.
    Xbl,
    /// Policy Block List: the address owner says it should not send mail directly.
    Pbl,
    /// Any other listing.
    Other,
}

impl ListingKind {
    /// The report's spelling: `SBL`, `XBL`, `PBL`, `other`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ListingKind::Sbl => "SBL",
            ListingKind::Xbl => "XBL",
            ListingKind::Pbl => "PBL",
            ListingKind::Other => "other",
        }
    }
}

impl Preset {
    /// Every preset.
    pub const ALL: [Preset; 6] = [
        Preset::SpamhausZen,
        Preset::SpamhausDqs,
        Preset::Barracuda,
        Preset::Spamcop,
        Preset::Mailspike,
        Preset::Psbl,
    ];

    /// The preset's name on the command line and in the `dnsbl` column.
    pub fn name(&self) -> &'static str {
        match self {
            Preset::SpamhausZen => "spamhaus-zen",
            Preset::SpamhausDqs => "spamhaus-dqs",
            Preset::Barracuda => "barracuda",
            Preset::Spamcop => "spamcop",
            Preset::Mailspike => "mailspike",
            Preset::Psbl => "psbl",
        }
    }

    /// The public zone (the DQS zone needs the key in front).
    pub fn zone(&self) -> &'static str {
        match self {
            Preset::SpamhausZen => "zen.spamhaus.org",
            Preset::SpamhausDqs => "zen.dq.spamhaus.net",
            Preset::Barracuda => "b.barracudacentral.org",
            Preset::Spamcop => "bl.spamcop.net",
            Preset::Mailspike => "bl.mailspike.net",
            Preset::Psbl => "psbl.surriel.com",
        }
    }

    fn from_name(name: &str) -> Option<Preset> {
        Preset::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The free-use limit of the public service in queries per day, where it states one.
    pub fn free_queries_per_day(&self) -> Option<u64> {
        match self {
            // Spamhaus: under 300,000 queries a day, non-commercial use.
            Preset::SpamhausZen => Some(300_000),
            _ => None,
        }
    }

    /// What `code` means on this list: its kind and a sentence for people.
    pub fn meaning(&self, code: Ipv4Addr) -> (ListingKind, &'static str) {
        use ListingKind::*;
        match self {
            Preset::SpamhausZen | Preset::SpamhausDqs => match code.octets() {
                [127, 0, 0, 2] => (
                    Sbl,
                    "SBL: a spam source or spam operation (Spamhaus Block List)",
                ),
                [127, 0, 0, 3] => (
                    Sbl,
                    "SBL CSS: low-reputation sending, often a generic or missing PTR (Spamhaus CSS)",
                ),
                [127, 0, 0, 4..=7] => (
                    Xbl,
                    "XBL: a compromised machine, proxy or botnet (Exploits Block List)",
                ),
                [127, 0, 0, 9] => (
                    Sbl,
                    "SBL DROP: a hijacked or spam-only network (Don't Route Or Peer)",
                ),
                [127, 0, 0, 10] => (
                    Pbl,
                    "PBL (ISP maintained): the address owner says this range should not send mail directly",
                ),
                [127, 0, 0, 11] => (
                    Pbl,
                    "PBL (Spamhaus maintained): a range Spamhaus judges end-user space, not for direct mail",
                ),
                _ => (Other, "listed (code not documented by Spamhaus)"),
            },
            Preset::Barracuda => (Other, "listed on the Barracuda Reputation Block List"),
            Preset::Spamcop => (Other, "listed on the SpamCop Blocking List (spam reports)"),
            Preset::Mailspike => (Other, "listed on the Mailspike blacklist"),
            Preset::Psbl => (Other, "listed on PSBL (seen sending to spam traps)"),
        }
    }

    /// What the owner of a listed address can do.
    pub fn advice(&self, kind: ListingKind) -> &'static str {
        match (self, kind) {
            (Preset::SpamhausZen | Preset::SpamhausDqs, ListingKind::Pbl) => {
                "a PBL listing is policy, not an accusation: relay through your provider's \
                 smarthost, or — for a static address of yours — ask the ISP to exclude it, \
                 or use Spamhaus's PBL removal, which expects a static address with a custom, \
                 forward-confirmed PTR name (what this audit checks)"
            }
            (Preset::SpamhausZen | Preset::SpamhausDqs, ListingKind::Xbl) => {
                "clean the machine or network (malware, open proxy, botnet traffic), then \
                 use the removal form at check.spamhaus.org"
            }
            (Preset::SpamhausZen | Preset::SpamhausDqs, _) => {
                "see the SBL record at check.spamhaus.org; the network's operator must act"
            }
            _ => "see the list's lookup page for the reason and its removal process",
        }
    }
}

/// One list to check: its name in rows, the zone asked, and the preset whose codes it
/// serves (none for a list given by zone only: its codes are reported as they are).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dnsbl {
    /// The name in the `dnsbl` column: the preset's name, or the zone.
    pub name: String,
    /// The zone the queries go under.
    pub zone: Name,
    /// The codes' meanings.
    pub preset: Option<Preset>,
    /// True for a public service (a preset's own zone, not a key or a mirror): its
    /// free-use terms apply.
    pub public: bool,
}

/// A `--dnsbl` value that is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid --dnsbl {value:?}: {reason}")]
pub struct DnsblError {
    /// The text given.
    pub value: String,
    /// What is wrong.
    pub reason: String,
}

fn zone_name(text: &str, value: &str) -> Result<Name, DnsblError> {
    let bad = |reason: String| DnsblError {
        value: value.to_string(),
        reason,
    };
    let t = text.trim_end_matches('.');
    if t.is_empty() || !t.contains('.') {
        return Err(bad(format!(
            "{text:?} is neither a preset ({}) nor a zone name",
            Preset::ALL.map(|p| p.name()).join(", ")
        )));
    }
    let mut n = Name::from_ascii(t).map_err(|e| bad(format!("{text:?}: {e}")))?;
    n.set_fqdn(true);
    // The longest reversed address (32 nibbles, 64 bytes) must fit under it.
    if n.len() + 64 > 255 {
        return Err(bad(format!(
            "{text:?} is too long to hold an address below it"
        )));
    }
    Ok(n)
}

impl FromStr for Dnsbl {
    type Err = DnsblError;

    /// `PRESET`, `spamhaus-dqs:KEY`, `ZONE`, or `ZONE=PRESET` (a mirror of a preset's data).
    fn from_str(s: &str) -> Result<Dnsbl, DnsblError> {
        let bad = |reason: &str| DnsblError {
            value: s.to_string(),
            reason: reason.to_string(),
        };
        if let Some(key) = s.strip_prefix("spamhaus-dqs:") {
            if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(bad("a DQS key is letters and digits"));
            }
            return Ok(Dnsbl {
                name: Preset::SpamhausDqs.name().to_string(),
                zone: zone_name(&format!("{key}.{}", Preset::SpamhausDqs.zone()), s)?,
                preset: Some(Preset::SpamhausDqs),
                public: false,
            });
        }
        if s == "spamhaus-dqs" {
            return Err(bad("spamhaus-dqs needs the key: spamhaus-dqs:KEY"));
        }
        if let Some(p) = Preset::from_name(s) {
            return Ok(Dnsbl {
                name: p.name().to_string(),
                zone: zone_name(p.zone(), s)?,
                preset: Some(p),
                public: true,
            });
        }
        if let Some((zone, preset)) = s.split_once('=') {
            let p = Preset::from_name(preset).ok_or_else(|| {
                bad(&format!(
                    "{preset:?} is not a preset ({})",
                    Preset::ALL.map(|p| p.name()).join(", ")
                ))
            })?;
            return Ok(Dnsbl {
                name: p.name().to_string(),
                zone: zone_name(zone, s)?,
                preset: Some(p),
                public: false,
            });
        }
        let zone = zone_name(s, s)?;
        Ok(Dnsbl {
            name: ptraudit_dns::name_to_text(&zone),
            zone,
            preset: None,
            public: false,
        })
    }
}

impl Dnsbl {
    /// The name asked for `ip`: its reversed octets or nibbles under the zone.
    pub fn query_name(&self, ip: IpAddr) -> Option<Name> {
        let rev = ptraudit_dns::reverse_name(ip);
        // Drop `in-addr.arpa.` / `ip6.arpa.` (two labels), keep the address labels.
        let labels = rev.num_labels().saturating_sub(2) as usize;
        let mut name = Name::from_labels(rev.iter().take(labels)).ok()?;
        name = name.append_name(&self.zone).ok()?;
        name.set_fqdn(true);
        Some(name)
    }

    /// How the list describes `code`.
    pub fn meaning(&self, code: Ipv4Addr) -> (ListingKind, &'static str) {
        match self.preset {
            Some(p) => p.meaning(code),
            None => (ListingKind::Other, "listed (the list's own code)"),
        }
    }
}

/// The kind of a listing written in a row (`LIST=CODE`), from the list's name.
pub fn listing_kind(list: &str, code: Ipv4Addr) -> ListingKind {
    match Preset::from_name(list) {
        Some(p) => p.meaning(code).0,
        None => ListingKind::Other,
    }
}

/// One listing of an address: `spamhaus-zen=127.0.0.10` in text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Listing {
    /// The list's name (a preset's name or the zone).
    pub list: String,
    /// The code answered.
    pub code: Ipv4Addr,
}

impl fmt::Display for Listing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.list, self.code)
    }
}

impl FromStr for Listing {
    type Err = crate::row::UnknownValue;

    fn from_str(s: &str) -> Result<Listing, Self::Err> {
        let bad = || crate::row::UnknownValue {
            column: "dnsbl",
            value: s.to_string(),
        };
        let (list, code) = s.rsplit_once('=').ok_or_else(bad)?;
        if list.is_empty() {
            return Err(bad());
        }
        Ok(Listing {
            list: list.to_string(),
            code: code.parse().map_err(|_| bad())?,
        })
    }
}

/// What one list said about one address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DnsblAnswer {
    /// NXDOMAIN.
    NotListed,
    /// Listed, with the codes (ascending).
    Listed(Vec<Ipv4Addr>),
    /// The lookup failed (SERVFAIL, timeout, …) or the answer said nothing: unknown.
    Unknown(Status),
    /// The list answered an error code or a non-127 address: not a listing; the list is
    /// switched off.
    Error(Ipv4Addr),
    /// The list was switched off before this address was asked.
    Disabled,
}

impl DnsblAnswer {
    /// Reads an A lookup's outcome.
    pub fn from_outcome(outcome: &Outcome) -> DnsblAnswer {
        match outcome.status {
            Status::NxDomain => DnsblAnswer::NotListed,
            Status::Answer => {
                let mut codes: Vec<Ipv4Addr> = outcome
                    .addrs()
                    .filter_map(|a| match a {
                        IpAddr::V4(v4) => Some(v4),
                        IpAddr::V6(_) => None,
                    })
                    .collect();
                codes.sort_unstable();
                codes.dedup();
                if let Some(&bad) = codes.iter().find(|c| is_error_code(**c)) {
                    return DnsblAnswer::Error(bad);
                }
                if codes.is_empty() {
                    DnsblAnswer::Unknown(Status::NoData)
                } else {
                    DnsblAnswer::Listed(codes)
                }
            }
            other => DnsblAnswer::Unknown(other),
        }
    }
}

/// An answer that is not a listing: outside 127.0.0.0/8 (a wildcarded or hijacked
/// zone), or one of Spamhaus's 127.255.255.x error codes.
pub fn is_error_code(code: Ipv4Addr) -> bool {
    let o = code.octets();
    o[0] != 127 || (o[1] == 255 && o[2] == 255)
}

/// What an error code means and what to do, for the message that stops a run.
pub fn error_advice(code: Ipv4Addr) -> &'static str {
    match code.octets() {
        [127, 255, 255, 252] => "the zone name is wrong (a typo): check the list's name",
        [127, 255, 255, 254] => {
            "the list refuses queries that come through a public or shared resolver: use \
             your own recursive resolver (a local Unbound), a DQS key \
             (--dnsbl spamhaus-dqs:KEY) or a mirror (--dnsbl ZONE=PRESET)"
        }
        [127, 255, 255, 255] => {
            "the list refuses this volume of queries: lower --rate, use a DQS key or a \
             mirror"
        }
        [127, ..] => "the list answered an error code: see its documentation",
        _ => {
            "the answer is outside 127.0.0.0/8: the zone is wildcarded or hijacked (or \
             your resolver rewrites NXDOMAIN); use another resolver or a mirror"
        }
    }
}

/// A list as a run uses it: the list and its counters, shared by every lookup.
#[derive(Debug)]
pub struct ListState {
    /// The list.
    pub list: Dnsbl,
    /// Switched off after an error answer: later rows are unknown for it.
    disabled: AtomicBool,
    /// The error answer that switched it off, and the address asked.
    error: Mutex<Option<(IpAddr, Ipv4Addr)>>,
    queries: AtomicU64,
    listed: AtomicU64,
    unknown: AtomicU64,
}

impl ListState {
    /// A list not asked yet.
    pub fn new(list: Dnsbl) -> Self {
        ListState {
            list,
            disabled: AtomicBool::new(false),
            error: Mutex::new(None),
            queries: AtomicU64::new(0),
            listed: AtomicU64::new(0),
            unknown: AtomicU64::new(0),
        }
    }

    /// Switched off by an error answer.
    pub fn is_disabled(&self) -> bool {
        self.disabled.load(Ordering::Relaxed)
    }

    /// The error answer that switched it off: (address asked, code).
    pub fn error(&self) -> Option<(IpAddr, Ipv4Addr)> {
        *self.error.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queries sent to it.
    pub fn queries(&self) -> u64 {
        self.queries.load(Ordering::Relaxed)
    }

    /// Addresses it listed.
    pub fn listed(&self) -> u64 {
        self.listed.load(Ordering::Relaxed)
    }

    /// Addresses it left unknown (failed lookups, or switched off).
    pub fn unknown(&self) -> u64 {
        self.unknown.load(Ordering::Relaxed)
    }

    pub(crate) fn sent(&self) {
        self.queries.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts an answer; an error switches the list off.
    pub(crate) fn record(&self, ip: IpAddr, answer: &DnsblAnswer) {
        match answer {
            DnsblAnswer::Listed(_) => {
                self.listed.fetch_add(1, Ordering::Relaxed);
            }
            DnsblAnswer::NotListed => {}
            DnsblAnswer::Error(code) => {
                self.unknown.fetch_add(1, Ordering::Relaxed);
                if !self.disabled.swap(true, Ordering::Relaxed) {
                    *self.error.lock().unwrap_or_else(|e| e.into_inner()) = Some((ip, *code));
                }
            }
            DnsblAnswer::Unknown(_) | DnsblAnswer::Disabled => {
                self.unknown.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// The `dnsbl` and `dnsbl_listed` cells of a row from each list's answer.
pub(crate) fn cells(
    lists: &[std::sync::Arc<ListState>],
    answers: &[DnsblAnswer],
) -> (Vec<Listing>, Option<bool>) {
    let mut listings = Vec::new();
    let mut unknown = false;
    for (state, answer) in lists.iter().zip(answers) {
        match answer {
            DnsblAnswer::Listed(codes) => listings.extend(codes.iter().map(|&code| Listing {
                list: state.list.name.clone(),
                code,
            })),
            DnsblAnswer::NotListed => {}
            _ => unknown = true,
        }
    }
    let listed = if lists.is_empty() {
        None
    } else if !listings.is_empty() {
        Some(true)
    } else if unknown {
        None
    } else {
        Some(false)
    };
    (listings, listed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_into_zones_and_presets() {
        let zen: Dnsbl = "spamhaus-zen".parse().unwrap();
        assert_eq!(zen.zone.to_ascii(), "zen.spamhaus.org.");
        assert!(zen.public && zen.preset == Some(Preset::SpamhausZen));
        let dqs: Dnsbl = "spamhaus-dqs:abc123".parse().unwrap();
        assert_eq!(dqs.zone.to_ascii(), "abc123.zen.dq.spamhaus.net.");
        assert!(!dqs.public);
        let mirror: Dnsbl = "zen.mirror.test=spamhaus-zen".parse().unwrap();
        assert_eq!(
            (mirror.name.as_str(), mirror.public),
            ("spamhaus-zen", false)
        );
        assert_eq!(mirror.zone.to_ascii(), "zen.mirror.test.");
        let own: Dnsbl = "bl.Example.test".parse().unwrap();
        assert_eq!((own.name.as_str(), own.preset), ("bl.example.test", None));
        for bad in [
            "spamhaus",
            "spamhaus-dqs",
            "spamhaus-dqs:",
            "x.test=nope",
            "a..b",
            "",
        ] {
            let e = bad.parse::<Dnsbl>().unwrap_err();
            assert!(e.to_string().contains(&format!("{bad:?}")), "{e}");
        }
    }

    #[test]
    fn query_names_reverse_the_address_under_the_zone() {
        let l: Dnsbl = "zen.mirror.test=spamhaus-zen".parse().unwrap();
        let q = |ip: &str| l.query_name(ip.parse().unwrap()).unwrap().to_ascii();
        assert_eq!(q("127.0.0.2"), "2.0.0.127.zen.mirror.test.");
        assert_eq!(q("198.18.5.66"), "66.5.18.198.zen.mirror.test.");
        let v6 = q("2001:db8::1");
        assert!(v6.starts_with("1.0.0.0.") && v6.ends_with(".8.b.d.0.1.0.0.2.zen.mirror.test."));
        assert_eq!(v6.split('.').count(), 32 + 4);
    }

    #[test]
    fn error_codes_are_never_listings() {
        for code in [
            "127.255.255.252",
            "127.255.255.254",
            "127.255.255.255",
            "192.0.2.66",
            "10.0.0.2",
        ] {
            assert!(is_error_code(code.parse().unwrap()), "{code}");
        }
        for code in ["127.0.0.2", "127.0.0.10", "127.0.1.2"] {
            assert!(!is_error_code(code.parse().unwrap()), "{code}");
        }
        let zen = Preset::SpamhausZen;
        assert_eq!(
            zen.meaning("127.0.0.10".parse().unwrap()).0,
            ListingKind::Pbl
        );
        assert_eq!(
            zen.meaning("127.0.0.5".parse().unwrap()).0,
            ListingKind::Xbl
        );
        assert_eq!(
            zen.meaning("127.0.0.3".parse().unwrap()).0,
            ListingKind::Sbl
        );
        assert_eq!(
            listing_kind("spamhaus-zen", "127.0.0.11".parse().unwrap()),
            ListingKind::Pbl
        );
        assert_eq!(
            listing_kind("bl.example.test", "127.0.0.10".parse().unwrap()),
            ListingKind::Other
        );
        let l: Listing = "bl.example.test=127.0.0.2".parse().unwrap();
        assert_eq!(l.to_string(), "bl.example.test=127.0.0.2");
        assert!("nolist".parse::<Listing>().is_err() && "=127.0.0.2".parse::<Listing>().is_err());
    }
}
