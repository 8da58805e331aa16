//! The definite result of one query, and how a reply is turned into one.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RecordType};
#[cfg(test)]
use hickory_proto::rr::{RData, Record};

/// How a query ended. Every query ends in exactly one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Status {
    /// NOERROR with at least one record of the asked type (possibly behind CNAMEs).
    Answer,
    /// The name does not exist (RCODE 3). Final: never retried (RFC 8020).
    NxDomain,
    /// NOERROR, but no record of the asked type. CNAME records, if any, are kept in
    /// [`Outcome::records`] so the caller can follow them.
    NoData,
    /// SERVFAIL (RCODE 2) on the last attempt.
    ServFail,
    /// REFUSED (RCODE 5) on the last attempt.
    Refused,
    /// Any other RCODE (FORMERR, NOTIMP, ...), by number.
    Rcode(u16),
    /// No acceptable reply after the last attempt.
    Timeout,
}

impl Status {
    /// The name used in reports: `NOERROR`, `NXDOMAIN`, `NODATA`, `SERVFAIL`, `REFUSED`,
    /// `TIMEOUT`, or the RCODE's mnemonic (`FORMERR`, `NOTIMP`, ...; `RCODE` for a code
    /// with no mnemonic, which [`Display`](fmt::Display) writes with its number).
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Answer => "NOERROR",
            Status::NxDomain => "NXDOMAIN",
            Status::NoData => "NODATA",
            Status::ServFail => "SERVFAIL",
            Status::Refused => "REFUSED",
            Status::Timeout => "TIMEOUT",
            Status::Rcode(code) => match code {
                1 => "FORMERR",
                4 => "NOTIMP",
                6 => "YXDOMAIN",
                7 => "YXRRSET",
                8 => "NXRRSET",
                9 => "NOTAUTH",
                10 => "NOTZONE",
                16 => "BADVERS",
                _ => "RCODE",
            },
        }
    }

    /// True for the outcomes a different attempt might change (SERVFAIL, REFUSED, TIMEOUT).
    pub fn is_transient(&self) -> bool {
        matches!(self, Status::ServFail | Status::Refused | Status::Timeout)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Status::Rcode(code) if self.as_str() == "RCODE" => write!(f, "RCODE{code}"),
            _ => f.write_str(self.as_str()),
        }
    }
}

/// Text that is not a [`Status`] as [`Display`](fmt::Display) writes it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown status {0:?}")]
pub struct UnknownStatus(pub String);

impl std::str::FromStr for Status {
    type Err = UnknownStatus;

    /// What [`Display`](fmt::Display) writes: `NOERROR`, `NXDOMAIN`, …, `FORMERR`,
    /// `RCODE12`.
    fn from_str(s: &str) -> Result<Self, UnknownStatus> {
        let known = [
            Status::Answer,
            Status::NxDomain,
            Status::NoData,
            Status::ServFail,
            Status::Refused,
            Status::Timeout,
        ];
        if let Some(status) = known.into_iter().find(|k| k.as_str() == s) {
            return Ok(status);
        }
        if let Some(code) = s.strip_prefix("RCODE").and_then(|n| n.parse::<u16>().ok()) {
            let status = Status::Rcode(code);
            // Codes with a mnemonic are written by it, so `RCODE1` is not ours.
            if status.as_str() == "RCODE" {
                return Ok(status);
            }
        }
        (0..=16u16)
            .map(Status::Rcode)
            .find(|st| st.as_str() != "RCODE" && st.as_str() == s)
            .ok_or_else(|| UnknownStatus(s.to_string()))
    }
}

/// The data of a record the scanner cares about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RecordValue {
    /// An IPv4 address.
    A(Ipv4Addr),
    /// An IPv6 address.
    Aaaa(Ipv6Addr),
    /// A reverse-mapping target name.
    Ptr(Name),
    /// An alias target.
    Cname(Name),
}

/// One answer record: owner name, TTL and value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rec {
    /// The owner name, as the server wrote it (the name asked, as asked, when the server
    /// wrote a pointer to the question).
    pub name: Name,
    /// Time to live in seconds.
    pub ttl: u32,
    /// The value.
    pub value: RecordValue,
}

/// The definite outcome of one query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// How it ended.
    pub status: Status,
    /// The answer records on the chain from the question name: CNAMEs in chain order,
    /// then the records of the asked type. Only PTR, A, AAAA and CNAME are kept; records
    /// whose owner is not on the chain are dropped (they answer nothing we asked).
    pub records: Vec<Rec>,
    /// How many attempts were sent (UDP tries; a TCP retry of a truncated reply does not
    /// count as a new attempt).
    pub attempts: u8,
    /// The resolver whose reply decided the outcome; `None` after a timeout.
    pub resolver: Option<SocketAddr>,
    /// Round-trip time of the deciding reply; `None` after a timeout.
    pub rtt: Option<Duration>,
    /// True when the deciding reply came over TCP after a truncated UDP reply.
    pub via_tcp: bool,
    /// True when the reply was a referral (NOERROR, not authoritative, no answer, NS
    /// records in the authority section): the server does not hold the name's zone. The
    /// status is then [`Status::NoData`], which here does not mean the name exists.
    pub referral: bool,
    /// The zone that holds the name asked, when the reply said so: the owner of the SOA
    /// record in the authority section of a negative reply (NXDOMAIN or NODATA, RFC 2308
    /// §3). `None` for positive replies (resolvers send no authority section with them),
    /// failures and timeouts.
    pub zone: Option<Name>,
}

impl Outcome {
    pub(crate) fn timeout(attempts: u8) -> Self {
        Outcome {
            status: Status::Timeout,
            records: Vec::new(),
            attempts,
            resolver: None,
            rtt: None,
            via_tcp: false,
            referral: false,
            zone: None,
        }
    }

    /// The PTR target names in the answer.
    pub fn ptr_names(&self) -> impl Iterator<Item = &Name> {
        self.records.iter().filter_map(|r| match &r.value {
            RecordValue::Ptr(n) => Some(n),
            _ => None,
        })
    }

    /// The A and AAAA addresses in the answer.
    pub fn addrs(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.records.iter().filter_map(|r| match r.value {
            RecordValue::A(a) => Some(IpAddr::V4(a)),
            RecordValue::Aaaa(a) => Some(IpAddr::V6(a)),
            _ => None,
        })
    }

    /// The CNAME targets followed from the question name, in order.
    pub fn cname_chain(&self) -> impl Iterator<Item = &Name> {
        self.records.iter().filter_map(|r| match &r.value {
            RecordValue::Cname(n) => Some(n),
            _ => None,
        })
    }

    /// Where an unfinished CNAME chain ends: the last CNAME target, when the answer holds
    /// no record of the asked type (the caller asks again for this name).
    pub fn unresolved_cname(&self) -> Option<&Name> {
        if self.status == Status::NoData || self.status == Status::NxDomain {
            self.cname_chain().last()
        } else {
            None
        }
    }
}

/// Longest CNAME chain followed inside one reply.
const MAX_CHAIN: usize = 16;

/// `a == b` as `Name` has it (same FQDN flag, labels equal ignoring ASCII case, RFC
/// 4343), label by label from the front: `Name`'s own `==` orders the names from the root
/// with case folding per byte, several times slower, and this runs for every answer.
pub(crate) fn same_name(a: &Name, b: &Name) -> bool {
    a.is_fqdn() == b.is_fqdn()
        && a.num_labels() == b.num_labels()
        && a.iter()
            .zip(b.iter())
            .all(|(x, y)| x.eq_ignore_ascii_case(y))
}

/// One record of a reply's answer section, as the client reads it.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    /// `None`: the name asked (the server pointed at the question; no need to decode or
    /// compare it).
    pub(crate) owner: Option<Name>,
    pub(crate) rtype: RecordType,
    pub(crate) ttl: u32,
    /// For A, AAAA, PTR and CNAME records; `None` for the others.
    pub(crate) value: Option<RecordValue>,
}

impl Answer {
    /// The same from a record hickory decoded.
    #[cfg(test)]
    pub(crate) fn from_record(r: &Record) -> Self {
        Answer {
            owner: Some(r.name.clone()),
            rtype: r.record_type(),
            ttl: r.ttl,
            value: value_of(&r.data),
        }
    }
}

/// Turns a matched reply into a status and the records on the chain from `qname`.
pub(crate) fn interpret(
    rcode: ResponseCode,
    qname: &Name,
    qtype: RecordType,
    answers: Vec<Answer>,
) -> (Status, Vec<Rec>) {
    let status = match rcode {
        ResponseCode::NoError => None,
        ResponseCode::NXDomain => Some(Status::NxDomain),
        ResponseCode::ServFail => return (Status::ServFail, Vec::new()),
        ResponseCode::Refused => return (Status::Refused, Vec::new()),
        other => return (Status::Rcode(u16::from(other)), Vec::new()),
    };
    let mut records = Vec::new();
    let mut current = qname.clone();
    // Whether `current` is still `qname`: then an owner known to be the name asked needs
    // no comparison.
    let mut at_qname = true;
    let owned_by = |a: &Answer, current: &Name, at_qname: bool| match &a.owner {
        None => at_qname || same_name(qname, current),
        Some(owner) => same_name(owner, current),
    };
    // Walk the chain: records of the asked type at the current owner end it; a CNAME
    // moves it on. `Name` compares case-insensitively, as DNS does.
    for _ in 0..=MAX_CHAIN {
        let mut found = false;
        for a in answers.iter().filter(|a| owned_by(a, &current, at_qname)) {
            if a.rtype == qtype
                && let Some(value) = &a.value
            {
                records.push(Rec {
                    name: a.owner.as_ref().unwrap_or(qname).clone(),
                    ttl: a.ttl,
                    value: value.clone(),
                });
                found = true;
            }
        }
        if found {
            return (status.unwrap_or(Status::Answer), records);
        }
        let next = answers.iter().find_map(|a| match &a.value {
            Some(RecordValue::Cname(target))
                if qtype != RecordType::CNAME && owned_by(a, &current, at_qname) =>
            {
                Some((a.ttl, target.clone()))
            }
            _ => None,
        });
        match next {
            Some((ttl, target)) => {
                // A loop inside one reply ends the walk; the chain so far is kept.
                if records
                    .iter()
                    .any(|r| matches!(&r.value, RecordValue::Cname(n) if same_name(n, &target)))
                {
                    break;
                }
                records.push(Rec {
                    name: current.clone(),
                    ttl,
                    value: RecordValue::Cname(target.clone()),
                });
                current = target;
                at_qname = false;
            }
            None => break,
        }
    }
    (status.unwrap_or(Status::NoData), records)
}

#[cfg(test)]
fn value_of(data: &RData) -> Option<RecordValue> {
    Some(match data {
        RData::A(a) => RecordValue::A(a.0),
        RData::AAAA(a) => RecordValue::Aaaa(a.0),
        RData::PTR(p) => RecordValue::Ptr(p.0.clone()),
        RData::CNAME(c) => RecordValue::Cname(c.0.clone()),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::rr::rdata::{A, CNAME, PTR};

    fn n(s: &str) -> Name {
        Name::from_ascii(s).unwrap()
    }

    #[test]
    fn cname_chain_then_answer_is_kept_in_order() {
        let answers = [
            Record::from_rdata(n("x.test."), 60, RData::A(A::new(192, 0, 2, 9))),
            Record::from_rdata(n("A.test."), 30, RData::CNAME(CNAME(n("x.test.")))),
            Record::from_rdata(n("other.test."), 30, RData::A(A::new(192, 0, 2, 66))),
        ];
        let (status, recs) = interpret(
            ResponseCode::NoError,
            &n("a.test."),
            RecordType::A,
            answers.iter().map(Answer::from_record).collect(),
        );
        assert_eq!(status, Status::Answer);
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0].value, RecordValue::Cname(n("x.test.")));
        assert_eq!(recs[1].value, RecordValue::A(Ipv4Addr::new(192, 0, 2, 9)));
        assert_eq!(recs[1].ttl, 60);
    }

    #[test]
    fn cname_without_target_data_is_nodata_with_the_chain() {
        let answers = [Record::from_rdata(
            n("1.0.2.192.in-addr.arpa."),
            30,
            // '/' is not a hostname character, so build the RFC 2317 name from labels.
            RData::CNAME(CNAME(
                Name::from_labels("1.0/25.0.2.192.in-addr.arpa".split('.').map(str::as_bytes))
                    .unwrap(),
            )),
        )];
        let o = Outcome {
            status: Status::NoData,
            records: interpret(
                ResponseCode::NoError,
                &n("1.0.2.192.in-addr.arpa."),
                RecordType::PTR,
                answers.iter().map(Answer::from_record).collect(),
            )
            .1,
            ..Outcome::timeout(1)
        };
        let target = o.unresolved_cname().unwrap();
        assert_eq!(target.iter().nth(1), Some(&b"0/25"[..]));
    }

    #[test]
    fn cname_loop_inside_a_reply_terminates() {
        let answers = [
            Record::from_rdata(n("a.test."), 30, RData::CNAME(CNAME(n("b.test.")))),
            Record::from_rdata(n("b.test."), 30, RData::CNAME(CNAME(n("a.test.")))),
        ];
        let (status, recs) = interpret(
            ResponseCode::NoError,
            &n("a.test."),
            RecordType::PTR,
            answers.iter().map(Answer::from_record).collect(),
        );
        assert_eq!(status, Status::NoData);
        assert_eq!(recs.len(), 2);
    }

    #[test]
    fn records_of_other_owners_are_dropped() {
        let answers = [Record::from_rdata(
            n("evil.test."),
            30,
            RData::PTR(PTR(n("mail.evil.test."))),
        )];
        let (status, recs) = interpret(
            ResponseCode::NoError,
            &n("a.test."),
            RecordType::PTR,
            answers.iter().map(Answer::from_record).collect(),
        );
        assert_eq!(status, Status::NoData);
        assert!(recs.is_empty());
    }

    #[test]
    fn rcodes_map_to_statuses() {
        let q = n("a.test.");
        assert_eq!(
            interpret(ResponseCode::NXDomain, &q, RecordType::A, vec![]).0,
            Status::NxDomain
        );
        assert_eq!(
            interpret(ResponseCode::ServFail, &q, RecordType::A, vec![]).0,
            Status::ServFail
        );
        assert_eq!(
            interpret(ResponseCode::Refused, &q, RecordType::A, vec![]).0,
            Status::Refused
        );
        assert_eq!(
            interpret(ResponseCode::FormErr, &q, RecordType::A, vec![]).0,
            Status::Rcode(1)
        );
        assert_eq!(Status::Rcode(1).as_str(), "FORMERR");
        assert_eq!(Status::Rcode(12).to_string(), "RCODE12");
        for st in [
            Status::Answer,
            Status::NxDomain,
            Status::NoData,
            Status::ServFail,
            Status::Refused,
            Status::Timeout,
            Status::Rcode(1),
            Status::Rcode(4),
            Status::Rcode(12),
            Status::Rcode(16),
            Status::Rcode(4095),
        ] {
            assert_eq!(st.to_string().parse::<Status>(), Ok(st));
        }
        assert!("RCODE1".parse::<Status>().is_err());
        assert!("noerror".parse::<Status>().is_err());
    }

    #[test]
    fn same_name_agrees_with_name_equality() {
        let labels: [&[&[u8]]; 10] = [
            &[b"a", b"test"],
            &[b"A", b"TEST"],
            &[b"b", b"test"],
            &[b"a", b"b", b"test"],
            &[b"ab", b"test"],
            &[b"a.b", b"test"],
            &[b"\xff", b"test"],
            &[b"\xdf", b"test"],
            &[b"\xff\xff", b"test"],
            &[],
        ];
        let mut names = Vec::new();
        for l in labels {
            let fqdn = Name::from_labels(l.iter().copied()).unwrap();
            let mut relative = fqdn.clone();
            relative.set_fqdn(false);
            names.extend([fqdn, relative]);
        }
        for a in &names {
            for b in &names {
                assert_eq!(same_name(a, b), a == b, "{a:?} vs {b:?}");
            }
        }
    }
}
