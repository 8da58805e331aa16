//! The bytes on the wire: encoding queries by hand and reading replies for what the
//! client keeps, with every count and length from the wire checked before use.

use std::net::{Ipv4Addr, Ipv6Addr};

use hickory_proto::op::{Header, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, RData, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder, Restrict};

use crate::outcome::{Answer, RecordValue};

/// Why a datagram was not accepted.
pub(super) enum Reject {
    Malformed,
    WrongQuestion,
}

/// A reply's parts the core acts on.
pub(super) struct Reply {
    pub(super) truncated: bool,
    pub(super) rcode: ResponseCode,
    pub(super) answers: Vec<Answer>,
    /// A referral: NOERROR, not authoritative, no answer, NS records (and no SOA) in
    /// the authority section — "ask elsewhere", not "this name exists".
    pub(super) referral: bool,
    /// The owner of the SOA record in the authority section of a negative reply
    /// (NXDOMAIN, or NOERROR without answer): the apex of the zone that holds the name
    /// asked (RFC 2308 §3). `Some(None)`: the owner was written as a pointer to the
    /// question, so the name asked is itself the apex.
    pub(super) zone: Option<Option<Name>>,
}

/// Decodes only what the client needs: header, the one question (which must be `asked`),
/// the answer section. Counts from the wire size nothing before the bytes behind them have
/// been read. A question that differs is [`Reject::WrongQuestion`] unless the message is
/// also malformed.
pub(super) fn decode_reply(data: &[u8], asked: &Query, wire: &[u8]) -> Result<Reply, Reject> {
    let mut decoder = BinDecoder::new(data);
    let header = Header::read(&mut decoder).map_err(|_| Reject::Malformed)?;
    if header.metadata.message_type != MessageType::Response
        || header.metadata.op_code != OpCode::Query
    {
        return Err(Reject::Malformed);
    }
    if header.counts.queries != 1 {
        return Err(Reject::WrongQuestion);
    }
    let same = match question_end(data, wire) {
        // The usual case, checked on the wire: no name to decode and compare.
        Some(end) => {
            decoder
                .read_slice(end - decoder.index())
                .map_err(|_| Reject::Malformed)?;
            true
        }
        None => {
            let question = Query::read(&mut decoder).map_err(|_| Reject::Malformed)?;
            same_question(&question, asked)
        }
    };
    let mut answers = Vec::with_capacity(usize::from(header.counts.answers).min(16));
    if !header.metadata.truncation {
        for _ in 0..header.counts.answers {
            answers.push(read_answer(&mut decoder, data).ok_or(Reject::Malformed)?);
        }
    }
    if !same {
        return Err(Reject::WrongQuestion);
    }
    // The authority section is read only for an empty NOERROR or an NXDOMAIN: where it
    // changes what the reply means (a referral from an authoritative server asked
    // directly) and where it names the zone that holds the name (the SOA of a negative
    // answer). Positive replies never pay for it.
    let rcode = header.metadata.response_code;
    let mut referral = false;
    let mut zone = None;
    if !header.metadata.truncation
        && answers.is_empty()
        && matches!(rcode, ResponseCode::NoError | ResponseCode::NXDomain)
        && header.counts.authorities > 0
    {
        let mut ns = false;
        for _ in 0..header.counts.authorities {
            let r = read_answer(&mut decoder, data).ok_or(Reject::Malformed)?;
            ns |= r.rtype == RecordType::NS;
            if r.rtype == RecordType::SOA && zone.is_none() {
                zone = Some(r.owner);
            }
        }
        referral = rcode == ResponseCode::NoError
            && !header.metadata.authoritative
            && ns
            && zone.is_none();
    }
    Ok(Reply {
        truncated: header.metadata.truncation,
        rcode: header.metadata.response_code,
        answers,
        referral,
        zone,
    })
}

/// One answer record (RFC 1035 §4.1.3), read for what the client keeps: the owner (not
/// decoded when it is a pointer to the question, offset 12: then it is the name asked),
/// type, TTL, and A, AAAA, PTR or CNAME data. Other types' data are checked by hickory's
/// decoder, as a full decode would; an empty RDATA (RFC 2136's form) carries no value.
/// `None`: malformed.
pub(super) fn read_answer(decoder: &mut BinDecoder<'_>, data: &[u8]) -> Option<Answer> {
    let at = decoder.index();
    let owner = if data.get(at..at + 2) == Some(&[0xC0, 0x0C][..]) {
        decoder.read_slice(2).ok()?;
        None
    } else {
        Some(Name::read(decoder).ok()?)
    };
    let rtype = RecordType::from(decoder.read_u16().ok()?.unverified());
    let _class = decoder.read_u16().ok()?.unverified();
    let ttl = decoder.read_u32().ok()?.unverified();
    let len = usize::from(decoder.read_u16().ok()?.unverified());
    let start = decoder.index();
    let rdata = data.get(start..start + len)?;
    if rtype == RecordType::OPT && owner.as_ref().is_none_or(|o| !o.is_root()) {
        return None; // an OPT record is owned by the root (RFC 6891 §6.1.2)
    }
    let value = match (rtype, len) {
        (_, 0) => None,
        (RecordType::A, 4) => Some(RecordValue::A(Ipv4Addr::new(
            rdata[0], rdata[1], rdata[2], rdata[3],
        ))),
        (RecordType::AAAA, 16) => Some(RecordValue::Aaaa(Ipv6Addr::from(
            <[u8; 16]>::try_from(rdata).ok()?,
        ))),
        // Compression pointers may lead anywhere before; the name must end exactly where
        // RDLENGTH says (checked below).
        (RecordType::PTR, _) => Some(RecordValue::Ptr(Name::read(decoder).ok()?)),
        (RecordType::CNAME, _) => Some(RecordValue::Cname(Name::read(decoder).ok()?)),
        _ => {
            RData::read(decoder, rtype, Restrict::new(len as u16)).ok()?;
            None
        }
    };
    // The fixed-size data was read from the slice; move past it.
    if decoder.index() == start {
        decoder.read_slice(len).ok()?;
    }
    if decoder.index() != start + len {
        return None;
    }
    Some(Answer {
        owner,
        rtype,
        ttl,
        value,
    })
}

/// Where the question section ends, if it is `wire` (ours, as [`question`] wrote it)
/// with the name's letters in any case (servers echo it; RFC 4343). `None` for anything
/// else, compression pointers included: [`Query::read`] then decides.
fn question_end(data: &[u8], wire: &[u8]) -> Option<usize> {
    let got = data.get(12..12 + wire.len())?;
    // Label lengths are below 64, so folding ASCII letters touches only the labels'
    // bytes; type and class are compared exactly.
    let name = wire.len().checked_sub(4)?;
    (got[..name].eq_ignore_ascii_case(&wire[..name]) && got[name..] == wire[name..])
        .then_some(12 + wire.len())
}

/// Writes the question section of `query` into `out` (cleared first): the name's
/// labels as they are (no compression in a one-question message), type and class.
pub(super) fn question(query: &Query, out: &mut Vec<u8>) {
    out.clear();
    for label in query.name().iter() {
        // A Name's labels are 1..=63 bytes, its length at most 255 bytes.
        out.push(label.len() as u8);
        out.extend_from_slice(label);
    }
    out.push(0);
    out.extend_from_slice(&u16::from(query.query_type()).to_be_bytes());
    out.extend_from_slice(&u16::from(query.query_class()).to_be_bytes());
}

fn same_question(got: &Query, asked: &Query) -> bool {
    // `Name` equality ignores ASCII case (RFC 4343).
    got.query_type() == asked.query_type()
        && got.query_class() == DNSClass::IN
        && got.name() == asked.name()
}

/// Encodes a standard query with one question (and an OPT record) into `buf`.
pub(super) fn encode_query(
    buf: &mut Vec<u8>,
    id: u16,
    question: &[u8],
    recursion_desired: bool,
    edns_payload: Option<u16>,
    padding_block: u16,
) {
    // Written by hand (RFC 1035 §4.1, RFC 6891 §6.1.2, RFC 7830): a fixed header, the
    // question as [`question`] wrote it and a fixed OPT record; hickory's encoder would
    // build an Edns map and a compression table per query.
    buf.clear();
    buf.extend_from_slice(&id.to_be_bytes());
    buf.extend_from_slice(&[u8::from(recursion_desired), 0, 0, 1, 0, 0, 0, 0, 0]);
    buf.push(u8::from(edns_payload.is_some()));
    buf.extend_from_slice(question);
    let Some(payload) = edns_payload else {
        return;
    };
    // Root owner, TYPE OPT, CLASS = payload size, TTL = extended RCODE 0, version 0, no
    // flags.
    buf.extend_from_slice(&[0, 0, 41]);
    buf.extend_from_slice(&payload.to_be_bytes());
    buf.extend_from_slice(&[0, 0, 0, 0]);
    if padding_block == 0 {
        buf.extend_from_slice(&[0, 0]);
        return;
    }
    // The Padding option (code 12) brings the message to a multiple of the block:
    // RDLENGTH (2) and the option's code and length (4) come before the zeros.
    let block = usize::from(padding_block);
    let pad = (block - (buf.len() + 6) % block) % block;
    buf.extend_from_slice(&((4 + pad) as u16).to_be_bytes());
    buf.extend_from_slice(&[0, 12]);
    buf.extend_from_slice(&(pad as u16).to_be_bytes());
    buf.resize(buf.len() + pad, 0);
}
