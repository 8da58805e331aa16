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
#[derive(Debug, Default, Clone)]
pub struct Zones {
    /// Apex key -> SOA record.
    apexes: HashMap<String, Record>,
    /// Owner key -> records at that owner.
    records: HashMap<String, Vec<Record>>,
    /// Every owner and every ancestor up to its apex (so empty non-terminals exist).
    names: HashSet<String>,
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
                if !self.names.insert(k) || at_apex || n.is_root() {
                    break;
                }
                n = n.base_name();
            }
            if record.record_type() == RecordType::SOA && owner == apex_key {
                self.apexes.insert(apex_key.clone(), record.clone());
            }
            self.records.entry(owner).or_default().push(record);
        }
        if !self.apexes.contains_key(&apex_key) {
            return Err(ZoneError::NoSoa { origin: apex_key });
        }
        Ok(())
    }

    /// Adds every zone of `other`.
    pub fn absorb(&mut self, other: Zones) {
        self.apexes.extend(other.apexes);
        for (k, v) in other.records {
            self.records.entry(k).or_default().extend(v);
        }
        self.names.extend(other.names);
    }

    /// Number of zones loaded.
    pub fn zone_count(&self) -> usize {
        self.apexes.len()
    }

    /// The records at `name` (any case), all types.
    pub fn records_at(&self, name: &Name) -> &[Record] {
        self.records.get(&key(name)).map_or(&[], Vec::as_slice)
    }

    /// The apex of the most specific zone holding `name`.
    fn zone_of(&self, name: &Name) -> Option<&Record> {
        let mut n = name.clone();
        loop {
            if let Some(soa) = self.apexes.get(&key(&n)) {
                return Some(soa);
            }
            if n.is_root() {
                return None;
            }
            n = n.base_name();
        }
    }

    /// The authoritative response to `request`: answers (following CNAMEs inside the
    /// served data), NXDOMAIN or NODATA with the zone's SOA, REFUSED outside our zones,
    /// FORMERR/NOTIMP for what a plain authoritative server would reject. The question is
    /// echoed exactly as sent (letter case included).
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
        let Some(soa) = self.zone_of(query.name()) else {
            response.metadata.response_code = ResponseCode::Refused;
            return response;
        };
        response.metadata.authoritative = true;
        let mut soa = soa.clone();
        let mut current = query.name().clone();
        let mut owner_as_asked = Some(query.name().clone());
        for _ in 0..=MAX_CHASE {
            let here = self.records_at(&current);
            let matching: Vec<&Record> = here
                .iter()
                .filter(|r| r.record_type() == qtype || qtype == RecordType::ANY)
                .collect();
            if !matching.is_empty() {
                for r in matching {
                    let mut r = r.clone();
                    if let Some(name) = &owner_as_asked {
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
                    if let Some(name) = owner_as_asked.take() {
                        r.name = name;
                    }
                    response.add_answer(r);
                    // Follow only inside data we are authoritative for.
                    match self.zone_of(&target) {
                        Some(next_soa) => soa = next_soa.clone(),
                        None => return response,
                    }
                    current = target;
                }
                None => break,
            }
        }
        if !self.names.contains(&key(&current)) {
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

    #[test]
    fn zone_without_soa_is_an_error() {
        let err = Zones::new()
            .add_zone_text("x.test.", "$TTL 60\nfoo A 192.0.2.1\n")
            .unwrap_err();
        assert!(err.to_string().contains("x.test."), "{err}");
    }
}
