//! Zone data: RFC 1035 zone files loaded into a lookup table, and authoritative answers.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use hickory_proto::op::{Edns, Message, OpCode, ResponseCode};
use hickory_proto::rr::{Name, RData, Record, RecordType};

/// Errors loading zone data.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ZoneError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Zone text did not parse.
    #[error("zone {origin}: {message}")]
    Parse {
        /// The zone's origin (or the file it came from).
        origin: String,
        /// The parser's message.
        message: String,
    },
    /// A manifest line is not `ORIGIN FILE`.
    #[error("{path}:{line}: expected `ORIGIN FILE`, got {text:?}")]
    Manifest {
        /// The manifest.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The line.
        text: String,
    },
    /// A zone has no SOA record at its apex.
    #[error("zone {origin} has no SOA record at its apex")]
    NoSoa {
        /// The zone.
        origin: String,
    },
}

/// Lowercase text of a name with the trailing dot: the key of every table here.
pub(crate) fn key(name: &Name) -> String {
    let mut k = name.to_lowercase().to_ascii();
    if !k.ends_with('.') {
        k.push('.');
    }
    k
}

/// Authoritative data of one or more zones.
///
/// Beyond plain answers it serves what a reverse-tree walk (RFC 8020) must cope with:
/// referrals at zone cuts whose child zone is not loaded (an NS RRset below an apex),
/// wildcards (RFC 4592), and, with [`Zones::set_ent_nxdomain`], the old servers that
/// answer NXDOMAIN for empty non-terminals.
#[derive(Debug, Default, Clone)]
pub struct Zones {
    /// Apex key -> SOA record.
    apexes: HashMap<String, Record>,
    /// Owner key -> records at that owner.
    records: HashMap<String, Vec<Record>>,
    /// Every owner and every ancestor up to its apex (so empty non-terminals exist).
    names: HashSet<String>,
    /// Owners of NS records below their zone's apex: zone cuts (delegations).
    cuts: HashSet<String>,
    /// Parents of wildcard owners: `x.test.` when `*.x.test.` holds records.
    wildcards: HashSet<String>,
    /// Answer NXDOMAIN (not NOERROR/NODATA) for names that exist without records.
    ent_nxdomain: bool,
}

/// Longest CNAME chain the server follows inside its own data.
const MAX_CHASE: usize = 8;

impl Zones {
    /// No zones.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a zone from RFC 1035 text. `origin` applies to relative names unless the text
    /// sets `$ORIGIN` itself.
    pub fn add_zone_text(&mut self, origin: &str, text: &str) -> Result<(), ZoneError> {
        self.add_zone(origin, text, None)
    }

    /// Adds a zone file.
    pub fn add_zone_file(&mut self, origin: &str, path: &Path) -> Result<(), ZoneError> {
        let text = std::fs::read_to_string(path).map_err(|source| ZoneError::Read {
            path: path.to_owned(),
            source,
        })?;
        self.add_zone(origin, &text, Some(path.to_owned()))
    }

    /// Loads every zone listed in a manifest: one `ORIGIN FILE` per line, `#` comments,
    /// files relative to the manifest's folder.
    pub fn load_manifest(path: &Path) -> Result<Self, ZoneError> {
        let text = std::fs::read_to_string(path).map_err(|source| ZoneError::Read {
            path: path.to_owned(),
            source,
        })?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut zones = Zones::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let mut parts = line.split_whitespace();
            let (Some(origin), Some(file), None) = (parts.next(), parts.next(), parts.next())
            else {
                return Err(ZoneError::Manifest {
                    path: path.to_owned(),
                    line: i + 1,
                    text: line.to_string(),
                });
            };
            zones.add_zone_file(origin, &dir.join(file))?;
        }
        Ok(zones)
    }

    fn add_zone(
        &mut self,
        origin: &str,
        text: &str,
        path: Option<PathBuf>,
    ) -> Result<(), ZoneError> {
        let parse_err = |message: String| ZoneError::Parse {
            origin: match &path {
                Some(p) => format!("{origin} ({})", p.display()),
                None => origin.to_string(),
            },
            message,
        };
        let mut apex = crate::zonefile::parse_name(origin, &Name::root()).map_err(parse_err)?;
        apex.set_fqdn(true);
        let records =
            crate::zonefile::parse_zone(text, &apex).map_err(|e| parse_err(e.to_string()))?;
        let apex_key = key(&apex);
        for record in records {
            let owner = key(&record.name);
            // Register the owner and its ancestors down to the apex: a name between
            // them exists (empty non-terminal, NOERROR/NODATA, RFC 8020).
            let mut n = record.name.clone();
            loop {
                let k = key(&n);
                let at_apex = k == apex_key;
                // A name already known has its ancestors registered, unless it is the
                // apex of a child zone loaded before this one (that zone stopped there).
                let fresh = self.names.insert(k.clone());
                if at_apex || n.is_root() || (!fresh && !self.apexes.contains_key(&k)) {
                    break;
                }
                n = n.base_name();
            }
            if record.record_type() == RecordType::SOA && owner == apex_key {
                self.apexes.insert(apex_key.clone(), record.clone());
            }
            if record.record_type() == RecordType::NS && owner != apex_key {
                self.cuts.insert(owner.clone());
            }
            if let Some(parent) = owner.strip_prefix("*.") {
                self.wildcards.insert(parent.to_string());
            }
            let here = self.records.entry(owner).or_default();
            // A parent's delegation NS and the loaded child's apex NS are the same record:
            // keep one.
            if !here.contains(&record) {
                here.push(record);
            }
        }
        if !self.apexes.contains_key(&apex_key) {
            return Err(ZoneError::NoSoa { origin: apex_key });
        }
        Ok(())
    }

    /// Adds every zone of `other` (its [`ent_nxdomain`](Self::set_ent_nxdomain) setting
    /// is ignored: `self` keeps its own).
    pub fn absorb(&mut self, other: Zones) {
        self.apexes.extend(other.apexes);
        for (k, v) in other.records {
            let here = self.records.entry(k).or_default();
            for r in v {
                if !here.contains(&r) {
                    here.push(r);
                }
            }
        }
        self.names.extend(other.names);
        self.cuts.extend(other.cuts);
        self.wildcards.extend(other.wildcards);
    }

    /// With `on`, names that exist without records of their own (empty non-terminals,
    /// such as `0.0.f.0.8.b.d.0.1.0.0.2.ip6.arpa.` above a host) are answered NXDOMAIN
    /// instead of NOERROR/NODATA, as old tinydns and PowerDNS did (the RFC 8020
    /// violation a tree walk must detect). Names holding records are answered as usual.
    pub fn set_ent_nxdomain(&mut self, on: bool) {
        self.ent_nxdomain = on;
    }

    /// Builder form of [`set_ent_nxdomain`](Self::set_ent_nxdomain).
    pub fn with_ent_nxdomain(mut self, on: bool) -> Self {
        self.ent_nxdomain = on;
        self
    }

    /// Whether empty non-terminals are answered NXDOMAIN.
    pub fn ent_nxdomain(&self) -> bool {
        self.ent_nxdomain
    }

    /// Number of zones loaded.
    pub fn zone_count(&self) -> usize {
        self.apexes.len()
    }

    /// The records at `name` (any case), all types.
    pub fn records_at(&self, name: &Name) -> &[Record] {
        self.records.get(&key(name)).map_or(&[], Vec::as_slice)
    }

    /// Where `name` falls: the SOA of the most specific zone holding it, and the highest
    /// zone cut between that apex (excluded) and `name` (included), if any: a
    /// delegation to a child zone that is not loaded.
    fn locate(&self, name: &Name) -> Option<(&Record, Option<String>)> {
        let mut n = name.clone();
        let mut cut = None;
        loop {
            let k = key(&n);
            if let Some(soa) = self.apexes.get(&k) {
                return Some((soa, cut));
            }
            if !self.cuts.is_empty() && self.cuts.contains(&k) {
                cut = Some(k);
            }
            if n.is_root() {
                return None;
            }
            n = n.base_name();
        }
    }

    /// The records of the wildcard that covers `name` (a name that does not exist): the
    /// wildcard `*.<closest encloser>` (RFC 4592 section 3.3.1), if it is loaded.
    fn wildcard_for(&self, name: &Name) -> Option<&[Record]> {
        if self.wildcards.is_empty() || name.is_root() {
            return None;
        }
        let mut n = name.base_name();
        loop {
            let k = key(&n);
            if self.names.contains(&k) {
                // The closest encloser: the wildcard below it applies, or none does.
                if !self.wildcards.contains(&k) {
                    return None;
                }
                return self.records.get(&format!("*.{k}")).map(Vec::as_slice);
            }
            if n.is_root() {
                return None;
            }
            n = n.base_name();
        }
    }

    /// Adds the referral for the zone cut `cut` of the zone with apex `apex`: its NS
    /// RRset in the authority section, the glue (A/AAAA of NS names inside the zone) in
    /// the additional section.
    fn add_referral(&self, response: &mut Message, cut: &str, apex: &Name) {
        let ns: Vec<&Record> = self
            .records
            .get(cut)
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .filter(|r| r.record_type() == RecordType::NS)
            .collect();
        for r in &ns {
            response.add_authority((*r).clone());
        }
        for r in &ns {
            let RData::NS(target) = &r.data else { continue };
            if !apex.zone_of(&target.0) {
                continue;
            }
            for glue in self.records_at(&target.0) {
                if matches!(glue.record_type(), RecordType::A | RecordType::AAAA) {
                    response.add_additional(glue.clone());
                }
            }
        }
    }

    /// The authoritative response to `request`: answers (following CNAMEs inside the
    /// served data), NXDOMAIN or NODATA with the zone's SOA, REFUSED outside our zones,
    /// FORMERR/NOTIMP for what a plain authoritative server would reject. The question is
    /// echoed exactly as sent (letter case included).
    ///
    /// At or below a zone cut whose child zone is not loaded the answer is a referral:
    /// NOERROR, AA=0, no answer, the cut's NS RRset in the authority section and its glue
    /// in the additional section. A name that does not exist below a wildcard's parent
    /// gets the wildcard's records with the name asked as owner (RFC 4592: the wildcard
    /// `*.<closest encloser>` applies, so an existing name between them blocks it). With
    /// [`set_ent_nxdomain`](Self::set_ent_nxdomain) an empty non-terminal is NXDOMAIN.
    pub fn answer(&self, request: &Message) -> Message {
        let mut response = Message::response(request.metadata.id, request.metadata.op_code);
        response.metadata.recursion_desired = request.metadata.recursion_desired;
        response.metadata.checking_disabled = request.metadata.checking_disabled;
        response.add_queries(request.queries.iter().cloned());
        if request.edns.is_some() {
            let mut edns = Edns::new();
            edns.set_max_payload(1232);
            response.set_edns(edns);
        }
        if request.metadata.op_code != OpCode::Query {
            response.metadata.response_code = ResponseCode::NotImp;
            return response;
        }
        let [query] = request.queries.as_slice() else {
            response.metadata.response_code = ResponseCode::FormErr;
            return response;
        };
        let qtype = query.query_type();
        let Some((soa, mut cut)) = self.locate(query.name()) else {
            response.metadata.response_code = ResponseCode::Refused;
            return response;
        };
        response.metadata.authoritative = true;
        let mut soa = soa.clone();
        let mut current = query.name().clone();
        let mut owner_as_asked = Some(query.name().clone());
        // Whether `current` exists, and whether it holds records (not an empty
        // non-terminal); a name covered by a wildcard holds the wildcard's.
        let mut exists = false;
        let mut has_records = false;
        for _ in 0..=MAX_CHASE {
            if let Some(cut) = &cut {
                // A delegation (possibly reached through a CNAME, which stays in the
                // answer, authoritative).
                self.add_referral(&mut response, cut, &soa.name);
                if response.answers.is_empty() {
                    response.metadata.authoritative = false;
                }
                return response;
            }
            let k = key(&current);
            let (here, synthesized) = match self.records.get(&k) {
                Some(v) => (v.as_slice(), false),
                None if self.names.contains(&k) => (&[][..], false),
                None => match self.wildcard_for(&current) {
                    Some(v) => (v, true),
                    None => (&[][..], false),
                },
            };
            exists = synthesized || self.names.contains(&k);
            has_records = !here.is_empty();
            // The owner written in the answer: the name as asked for the first, the
            // name being answered for records synthesized from a wildcard.
            let owner = |asked: &Option<Name>| {
                asked
                    .clone()
                    .or_else(|| synthesized.then(|| current.clone()))
            };
            let matching: Vec<&Record> = here
                .iter()
                .filter(|r| r.record_type() == qtype || qtype == RecordType::ANY)
                .collect();
            if !matching.is_empty() {
                let owner = owner(&owner_as_asked);
                for r in matching {
                    let mut r = r.clone();
                    if let Some(name) = &owner {
                        r.name = name.clone();
                    }
                    response.add_answer(r);
                }
                return response;
            }
            let cname = here.iter().find_map(|r| match &r.data {
                RData::CNAME(c) => Some((r, c.0.clone())),
                _ => None,
            });
            match cname {
                Some((record, target)) => {
                    let mut r = record.clone();
                    if let Some(name) = owner(&owner_as_asked.take()) {
                        r.name = name;
                    }
                    response.add_answer(r);
                    // Follow only inside data we are authoritative for.
                    match self.locate(&target) {
                        Some((next_soa, next_cut)) => {
                            soa = next_soa.clone();
                            cut = next_cut;
                        }
                        None => return response,
                    }
                    current = target;
                }
                None => break,
            }
        }
        if !exists || (self.ent_nxdomain && !has_records) {
            response.metadata.response_code = ResponseCode::NXDomain;
        }
        response.add_authority(soa);
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::Query;

    const ZONE: &str = "
$TTL 300
@ SOA ns.isp.test. hostmaster.isp.test. 1 3600 600 86400 300
@ NS ns.isp.test.
7.0 PTR mail.example.test.
7.0 PTR alias.example.test.
65.5 CNAME 65.64/26.5
64/26.5 NS ns.isp.test.
";
    const CHILD: &str = "
$TTL 300
@ SOA ns.isp.test. hostmaster.isp.test. 1 3600 600 86400 300
@ NS ns.isp.test.
65 PTR cust65.example.test.
";

    fn zones() -> Zones {
        let mut z = Zones::new();
        z.add_zone_text("18.198.in-addr.arpa.", ZONE).unwrap();
        z.add_zone_text("64/26.5.18.198.in-addr.arpa.", CHILD)
            .unwrap();
        z
    }

    fn ask(z: &Zones, name: &str, t: RecordType) -> Message {
        let mut m = Message::query();
        m.add_query(Query::query(Name::from_ascii(name).unwrap(), t));
        z.answer(&m)
    }

    #[test]
    fn answers_all_records_and_echoes_case() {
        let r = ask(&zones(), "7.0.18.198.IN-ADDR.arpa.", RecordType::PTR);
        assert_eq!(r.metadata.response_code, ResponseCode::NoError);
        assert!(r.metadata.authoritative);
        assert_eq!(r.answers.len(), 2);
        assert_eq!(r.queries[0].name().to_ascii(), "7.0.18.198.IN-ADDR.arpa.");
        assert_eq!(r.answers[0].name.to_ascii(), "7.0.18.198.IN-ADDR.arpa.");
    }

    #[test]
    fn rfc2317_cname_is_followed_into_the_child_zone() {
        let r = ask(&zones(), "65.5.18.198.in-addr.arpa.", RecordType::PTR);
        assert_eq!(r.answers.len(), 2);
        assert_eq!(r.answers[0].record_type(), RecordType::CNAME);
        match &r.answers[1].data {
            RData::PTR(p) => assert_eq!(p.0.to_ascii(), "cust65.example.test."),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn nxdomain_nodata_empty_non_terminal_and_refused() {
        let z = zones();
        let nx = ask(&z, "8.0.18.198.in-addr.arpa.", RecordType::PTR);
        assert_eq!(nx.metadata.response_code, ResponseCode::NXDomain);
        assert_eq!(nx.authorities[0].record_type(), RecordType::SOA);
        let nodata = ask(&z, "7.0.18.198.in-addr.arpa.", RecordType::A);
        assert_eq!(nodata.metadata.response_code, ResponseCode::NoError);
        assert!(nodata.answers.is_empty());
        // "0.18.198.in-addr.arpa." has no records but names below it exist.
        let ent = ask(&z, "0.18.198.in-addr.arpa.", RecordType::PTR);
        assert_eq!(ent.metadata.response_code, ResponseCode::NoError);
        let refused = ask(&z, "mail.example.test.", RecordType::A);
        assert_eq!(refused.metadata.response_code, ResponseCode::Refused);
        assert!(!refused.metadata.authoritative);
    }

    /// A parent with a lame-style delegation (glue inside the zone), a delegation to a
    /// name elsewhere, a delegation whose child is loaded, and a wildcard.
    const PARENT: &str = "
$TTL 300
@ SOA ns.isp.test. hostmaster.isp.test. 1 3600 600 86400 300
@ NS ns.isp.test.
d.a.b NS ns1.d.a.b
ns1.d.a.b A 127.0.0.2
ns1.d.a.b AAAA 2001:db8::53
e.e.e NS ns.elsewhere.test.
0.0.d NS ns.isp.test.
1.0.0.0.c CNAME 1.0.0.0.0.0.0.d
2.0.0.0.c CNAME 2.0.0.0.d.a.b
*.0.0.f PTR dynamic.v6.isp.test.
1.0.0.0.9.0.f PTR static.v6.isp.test.
";
    const LOADED_CHILD: &str = "
$TTL 300
@ SOA ns.isp.test. hostmaster.isp.test. 1 3600 600 86400 300
@ NS ns.isp.test.
1.0.0.0.0 PTR child.v6.isp.test.
";
    const V6: &str = "8.b.d.0.1.0.0.2.ip6.arpa.";

    fn v6_zones() -> Zones {
        let mut z = Zones::new();
        z.add_zone_text(V6, PARENT).unwrap();
        z.add_zone_text(&format!("0.0.d.{V6}"), LOADED_CHILD)
            .unwrap();
        z
    }

    fn v6(name: &str) -> String {
        format!("{name}.{V6}")
    }

    fn ptr_names(m: &Message) -> Vec<String> {
        m.answers
            .iter()
            .filter_map(|r| match &r.data {
                RData::PTR(p) => Some(p.0.to_ascii()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_delegation_to_a_zone_not_loaded_is_answered_with_a_referral() {
        let z = v6_zones();
        // The cut itself, a name below it, the glue's own name, any type.
        for (name, t) in [
            (v6("d.a.b"), RecordType::PTR),
            (v6("d.a.b"), RecordType::NS),
            (v6("1.0.0.0.d.a.b"), RecordType::PTR),
            (v6("ns1.d.a.b"), RecordType::A),
        ] {
            let r = ask(&z, &name, t);
            assert_eq!(r.metadata.response_code, ResponseCode::NoError, "{name}");
            assert!(!r.metadata.authoritative, "{name}: AA must be 0");
            assert!(r.answers.is_empty(), "{name}");
            assert_eq!(r.authorities.len(), 1, "{name}");
            assert_eq!(r.authorities[0].record_type(), RecordType::NS);
            assert_eq!(r.authorities[0].name.to_ascii(), v6("d.a.b"));
            let glue: Vec<RecordType> = r.additionals.iter().map(Record::record_type).collect();
            assert_eq!(glue, [RecordType::A, RecordType::AAAA], "{name}");
        }
        // An NS name outside the zone has no glue here.
        let r = ask(&z, &v6("1.e.e.e"), RecordType::PTR);
        assert!(!r.metadata.authoritative);
        assert_eq!(r.authorities.len(), 1);
        assert!(r.additionals.is_empty());
        // Above the cut the parent still answers for itself (an empty non-terminal).
        let r = ask(&z, &v6("a.b"), RecordType::PTR);
        assert!(r.metadata.authoritative);
        assert_eq!(r.metadata.response_code, ResponseCode::NoError);
        assert_eq!(r.authorities[0].record_type(), RecordType::SOA);
    }

    #[test]
    fn a_delegation_to_a_loaded_zone_is_answered_by_that_zone() {
        let z = v6_zones();
        let r = ask(&z, &v6("1.0.0.0.0.0.0.d"), RecordType::PTR);
        assert!(r.metadata.authoritative);
        assert_eq!(ptr_names(&r), ["child.v6.isp.test."]);
        let nx = ask(&z, &v6("2.0.0.0.0.0.0.d"), RecordType::PTR);
        assert_eq!(nx.metadata.response_code, ResponseCode::NXDomain);
        assert!(nx.metadata.authoritative);
        assert_eq!(nx.authorities[0].name.to_ascii(), v6("0.0.d"));
        // The child's apex NS and the parent's delegation NS are one record.
        let ns = ask(&z, &v6("0.0.d"), RecordType::NS);
        assert!(ns.metadata.authoritative);
        assert_eq!(ns.answers.len(), 1);
        // A CNAME into the loaded child is followed; into the lame one it ends in a
        // referral after the (authoritative) CNAME.
        let r = ask(&z, &v6("1.0.0.0.c"), RecordType::PTR);
        assert_eq!(ptr_names(&r), ["child.v6.isp.test."]);
        let r = ask(&z, &v6("2.0.0.0.c"), RecordType::PTR);
        assert_eq!(r.answers.len(), 1);
        assert_eq!(r.answers[0].record_type(), RecordType::CNAME);
        assert_eq!(r.authorities[0].record_type(), RecordType::NS);
        assert!(r.metadata.authoritative);
    }

    #[test]
    fn wildcards_synthesize_below_their_parent_with_the_name_asked() {
        let z = v6_zones();
        for name in [
            v6("0.0.0.0.0.f"),
            v6("E.d.C.b.A.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.3.0.0.f"),
            v6("7.0.0.f"),
            v6("x.y.0.0.f"),
        ] {
            let r = ask(&z, &name, RecordType::PTR);
            assert_eq!(r.metadata.response_code, ResponseCode::NoError, "{name}");
            assert!(r.metadata.authoritative, "{name}");
            assert_eq!(ptr_names(&r), ["dynamic.v6.isp.test."], "{name}");
            assert_eq!(
                r.answers[0].name.to_ascii(),
                name,
                "owner is the name asked"
            );
            // Another type: NODATA, never NXDOMAIN.
            let r = ask(&z, &name, RecordType::A);
            assert_eq!(r.metadata.response_code, ResponseCode::NoError, "{name}");
            assert!(r.answers.is_empty(), "{name}");
        }
        // The wildcard's parent is an empty non-terminal, the wildcard itself answers.
        let r = ask(&z, &v6("0.0.f"), RecordType::PTR);
        assert_eq!(r.metadata.response_code, ResponseCode::NoError);
        assert!(r.answers.is_empty());
        assert_eq!(
            ptr_names(&ask(&z, &v6("*.0.0.f"), RecordType::PTR)).len(),
            1
        );
        // Existing names keep their own data; below them the wildcard does not reach
        // (their closest encloser has no wildcard child), and outside it neither.
        let r = ask(&z, &v6("1.0.0.0.9.0.f"), RecordType::PTR);
        assert_eq!(ptr_names(&r), ["static.v6.isp.test."]);
        let r = ask(&z, &v6("9.0.f"), RecordType::PTR);
        assert_eq!(r.metadata.response_code, ResponseCode::NoError);
        assert!(r.answers.is_empty());
        for name in [v6("2.0.0.0.9.0.f"), v6("1.0.f"), v6("0.0.e")] {
            let r = ask(&z, &name, RecordType::PTR);
            assert_eq!(r.metadata.response_code, ResponseCode::NXDomain, "{name}");
        }
    }

    #[test]
    fn ent_nxdomain_answers_empty_non_terminals_nxdomain_and_data_as_usual() {
        let z = zones().with_ent_nxdomain(true);
        assert!(z.ent_nxdomain());
        let ent = ask(&z, "0.18.198.in-addr.arpa.", RecordType::PTR);
        assert_eq!(ent.metadata.response_code, ResponseCode::NXDomain);
        assert!(ent.metadata.authoritative);
        assert_eq!(ent.authorities[0].record_type(), RecordType::SOA);
        let r = ask(&z, "7.0.18.198.in-addr.arpa.", RecordType::PTR);
        assert_eq!(r.answers.len(), 2);
        let nodata = ask(&z, "7.0.18.198.in-addr.arpa.", RecordType::A);
        assert_eq!(nodata.metadata.response_code, ResponseCode::NoError);
        let apex = ask(&z, "18.198.in-addr.arpa.", RecordType::PTR);
        assert_eq!(apex.metadata.response_code, ResponseCode::NoError);
        // The RFC 2317 chain still ends in the child's PTR.
        let r = ask(&z, "65.5.18.198.in-addr.arpa.", RecordType::PTR);
        assert_eq!(ptr_names(&r), ["cust65.example.test."]);
        // Off (the default), the same name is NOERROR/NODATA.
        let mut z = z;
        z.set_ent_nxdomain(false);
        let ent = ask(&z, "0.18.198.in-addr.arpa.", RecordType::PTR);
        assert_eq!(ent.metadata.response_code, ResponseCode::NoError);
    }

    /// Formerly the names between a parent's apex and a child zone's apex did not exist
    /// (NXDOMAIN) when the child was loaded first, as fixtures/walk's manifest does
    /// (`0.0.d.0.8.b.d…` sorts before `8.b.d…`): the parent's NS at the child apex found
    /// that name known and stopped registering its ancestors.
    #[test]
    fn names_above_a_child_zone_loaded_before_its_parent_exist() {
        let mut z = Zones::new();
        z.add_zone_text(&format!("0.0.d.{V6}"), LOADED_CHILD)
            .unwrap();
        z.add_zone_text(V6, PARENT).unwrap();
        for name in [v6("0.d"), v6("d")] {
            let r = ask(&z, &name, RecordType::PTR);
            assert_eq!(r.metadata.response_code, ResponseCode::NoError, "{name}");
        }
        let r = ask(&z, &v6("1.0.0.0.0.0.0.d"), RecordType::PTR);
        assert_eq!(ptr_names(&r), ["child.v6.isp.test."]);
    }

    #[test]
    fn zone_without_soa_is_an_error() {
        let err = Zones::new()
            .add_zone_text("x.test.", "$TTL 60\nfoo A 192.0.2.1\n")
            .unwrap_err();
        assert!(err.to_string().contains("x.test."), "{err}");
    }
}
