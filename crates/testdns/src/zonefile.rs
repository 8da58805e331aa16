//! A small RFC 1035 §5 master-file parser.
//!
//! hickory's text parser applies hostname (IDNA) rules to owner names, which rejects the
//! `/` of RFC 2317 classless delegation names such as `64/26.5.18.198.in-addr.arpa`; real
//! zones use them, so the server parses its own files. Supported: `$ORIGIN`, `$TTL`, `@`,
//! relative names, a blank owner repeating the previous one, TTL and class in either
//! order, `( … )` continuation, `;` comments, `\X` and `\DDD` escapes, and the types SOA,
//! NS, A, AAAA, PTR, CNAME, MX and TXT.

use std::net::{Ipv4Addr, Ipv6Addr};

use hickory_proto::rr::rdata::{A, AAAA, CNAME, MX, NS, PTR, SOA, TXT};
use hickory_proto::rr::{Name, RData, Record};

/// A parse error with its 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    /// Line of the entry in error.
    pub line: usize,
    /// What is wrong, naming the offending text.
    pub message: String,
}

struct Entry {
    line: usize,
    blank_owner: bool,
    tokens: Vec<String>,
}

/// Splits master-file text into entries (logical lines).
fn entries(text: &str) -> Result<Vec<Entry>, ParseError> {
    let mut out = Vec::new();
    let mut tokens: Vec<String> = Vec::new();
    let mut token = String::new();
    let mut in_token = false;
    let mut depth = 0u32;
    let mut line = 1usize;
    let mut entry_line = 1usize;
    let mut blank_owner = false;
    let mut at_line_start = true;
    let mut chars = text.chars().peekable();
    let err = |line, message: String| ParseError { line, message };

    macro_rules! end_token {
        () => {
            if in_token {
                tokens.push(std::mem::take(&mut token));
                in_token = false;
            }
        };
    }

    while let Some(c) = chars.next() {
        if at_line_start && depth == 0 && tokens.is_empty() && !in_token {
            entry_line = line;
            blank_owner = c == ' ' || c == '\t';
        }
        at_line_start = false;
        match c {
            '\n' => {
                end_token!();
                line += 1;
                at_line_start = true;
                if depth == 0 && !tokens.is_empty() {
                    out.push(Entry {
                        line: entry_line,
                        blank_owner,
                        tokens: std::mem::take(&mut tokens),
                    });
                }
            }
            ';' => {
                end_token!();
                while chars.peek().is_some_and(|&c| c != '\n') {
                    chars.next();
                }
            }
            '(' => {
                end_token!();
                depth += 1;
            }
            ')' => {
                end_token!();
                depth = depth
                    .checked_sub(1)
                    .ok_or_else(|| err(line, "unbalanced ')'".into()))?;
            }
            '"' => {
                // A quoted string is one token; escapes stay for the value parser.
                end_token!();
                let mut s = String::new();
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => {
                            s.push('\\');
                            if let Some(n) = chars.next() {
                                s.push(n);
                            }
                        }
                        Some('\n') | None => {
                            return Err(err(line, "unterminated quoted string".into()));
                        }
                        Some(c) => s.push(c),
                    }
                }
                tokens.push(s);
            }
            '\\' => {
                token.push('\\');
                match chars.next() {
                    Some('\n') | None => return Err(err(line, "dangling '\\'".into())),
                    Some(n) => token.push(n),
                }
                in_token = true;
            }
            c if c.is_whitespace() => end_token!(),
            c => {
                token.push(c);
                in_token = true;
            }
        }
    }
    if in_token {
        tokens.push(token);
    }
    if depth != 0 {
        return Err(err(
            entry_line,
            "unbalanced '(' opened here, never closed".into(),
        ));
    }
    if !tokens.is_empty() {
        out.push(Entry {
            line: entry_line,
            blank_owner,
            tokens,
        });
    }
    Ok(out)
}

/// Parses a domain name as written in a zone file, relative to `origin` unless it ends
/// with an unescaped dot. Any byte may appear in a label (`\DDD` decimal escapes).
pub fn parse_name(text: &str, origin: &Name) -> Result<Name, String> {
    if text == "@" {
        return Ok(origin.clone());
    }
    if text == "." {
        return Ok(Name::root());
    }
    let mut labels: Vec<Vec<u8>> = Vec::new();
    let mut label = Vec::new();
    let mut bytes = text.bytes();
    let mut absolute = false;
    while let Some(b) = bytes.next() {
        match b {
            b'.' => {
                if label.is_empty() {
                    return Err(format!("empty label in {text:?}"));
                }
                labels.push(std::mem::take(&mut label));
                absolute = true;
                continue;
            }
            b'\\' => {
                let first = bytes
                    .next()
                    .ok_or_else(|| format!("dangling escape in {text:?}"))?;
                if first.is_ascii_digit() {
                    let d2 = bytes.next().filter(u8::is_ascii_digit);
                    let d3 = bytes.next().filter(u8::is_ascii_digit);
                    let (Some(d2), Some(d3)) = (d2, d3) else {
                        return Err(format!("bad \\DDD escape in {text:?}"));
                    };
                    let v = u32::from(first - b'0') * 100
                        + u32::from(d2 - b'0') * 10
                        + u32::from(d3 - b'0');
                    label
                        .push(u8::try_from(v).map_err(|_| format!("escape over 255 in {text:?}"))?);
                } else {
                    label.push(first);
                }
            }
            b => label.push(b),
        }
        absolute = false;
    }
    if !label.is_empty() {
        labels.push(label);
    }
    if labels.iter().any(|l| l.len() > 63) {
        return Err(format!("label longer than 63 bytes in {text:?}"));
    }
    let name = Name::from_labels(labels).map_err(|e| format!("{text:?}: {e}"))?;
    let name = if absolute {
        name
    } else {
        let mut relative = name;
        relative.set_fqdn(false);
        relative
            .append_domain(origin)
            .map_err(|e| format!("{text:?} under {origin}: {e}"))?
    };
    if name.len() > 255 {
        return Err(format!("name longer than 255 bytes: {text:?}"));
    }
    Ok(name)
}

/// A TTL: seconds, or with units (`1h30m`, `2d`, `1w`).
fn parse_ttl(text: &str) -> Option<u32> {
    if let Ok(n) = text.parse::<u32>() {
        return Some(n);
    }
    let mut total: u64 = 0;
    let mut num: u64 = 0;
    let mut digits = false;
    for c in text.chars() {
        if let Some(d) = c.to_digit(10) {
            num = num.checked_mul(10)?.checked_add(u64::from(d))?;
            digits = true;
            continue;
        }
        let unit = match c.to_ascii_lowercase() {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return None,
        };
        if !digits {
            return None;
        }
        total = total.checked_add(num.checked_mul(unit)?)?;
        num = 0;
        digits = false;
    }
    if digits {
        return None; // trailing number without unit after a unit: "1h30"
    }
    u32::try_from(total).ok()
}

fn is_class(t: &str) -> bool {
    t.eq_ignore_ascii_case("IN")
}

/// Parses zone text into records. `origin` is the starting `$ORIGIN`.
pub fn parse_zone(text: &str, origin: &Name) -> Result<Vec<Record>, ParseError> {
    let mut origin = origin.clone();
    let mut default_ttl: Option<u32> = None;
    let mut last_owner: Option<Name> = None;
    let mut last_ttl: Option<u32> = None;
    let mut records = Vec::new();
    for entry in entries(text)? {
        let line = entry.line;
        let err = |message: String| ParseError { line, message };
        let mut toks = entry.tokens.iter().map(String::as_str).peekable();
        let first = *toks.peek().expect("entries are never empty");
        if first.starts_with('$') {
            toks.next();
            let arg = toks
                .next()
                .ok_or_else(|| err(format!("{first} needs an argument")))?;
            match first.to_ascii_uppercase().as_str() {
                "$ORIGIN" => origin = parse_name(arg, &origin).map_err(err)?,
                "$TTL" => {
                    default_ttl =
                        Some(parse_ttl(arg).ok_or_else(|| err(format!("bad TTL {arg:?}")))?)
                }
                other => return Err(err(format!("unsupported directive {other}"))),
            }
            continue;
        }
        let owner = if entry.blank_owner {
            last_owner
                .clone()
                .ok_or_else(|| err("blank owner with no previous record".into()))?
        } else {
            let t = toks.next().expect("peeked");
            parse_name(t, &origin).map_err(err)?
        };
        let mut ttl = None;
        let rtype = loop {
            let t = toks
                .next()
                .ok_or_else(|| err("record without a type".into()))?;
            if is_class(t) {
                continue;
            }
            if ttl.is_none() && t.starts_with(|c: char| c.is_ascii_digit()) {
                ttl = Some(parse_ttl(t).ok_or_else(|| err(format!("bad TTL {t:?}")))?);
                continue;
            }
            break t.to_ascii_uppercase();
        };
        let rest: Vec<&str> = toks.collect();
        let name_at = |i: usize| -> Result<Name, ParseError> {
            let t = rest
                .get(i)
                .ok_or_else(|| err(format!("{rtype} record is missing a field")))?;
            parse_name(t, &origin).map_err(err)
        };
        let num_at = |i: usize| -> Result<u32, ParseError> {
            let t = rest
                .get(i)
                .ok_or_else(|| err(format!("{rtype} record is missing a field")))?;
            parse_ttl(t).ok_or_else(|| err(format!("bad number {t:?} in {rtype}")))
        };
        let expect_fields = |n: usize| -> Result<(), ParseError> {
            if rest.len() == n {
                Ok(())
            } else {
                Err(err(format!(
                    "{rtype} takes {n} field(s), got {}: {:?}",
                    rest.len(),
                    rest.join(" ")
                )))
            }
        };
        let data = match rtype.as_str() {
            "A" => {
                expect_fields(1)?;
                let ip: Ipv4Addr = rest[0]
                    .parse()
                    .map_err(|_| err(format!("bad IPv4 address {:?}", rest[0])))?;
                RData::A(A(ip))
            }
            "AAAA" => {
                expect_fields(1)?;
                let ip: Ipv6Addr = rest[0]
                    .parse()
                    .map_err(|_| err(format!("bad IPv6 address {:?}", rest[0])))?;
                RData::AAAA(AAAA(ip))
            }
            "PTR" => {
                expect_fields(1)?;
                RData::PTR(PTR(name_at(0)?))
            }
            "CNAME" => {
                expect_fields(1)?;
                RData::CNAME(CNAME(name_at(0)?))
            }
            "NS" => {
                expect_fields(1)?;
                RData::NS(NS(name_at(0)?))
            }
            "MX" => {
                expect_fields(2)?;
                let pref = u16::try_from(num_at(0)?)
                    .map_err(|_| err(format!("MX preference too large: {:?}", rest[0])))?;
                RData::MX(MX::new(pref, name_at(1)?))
            }
            "TXT" => {
                if rest.is_empty() {
                    return Err(err("TXT needs at least one string".into()));
                }
                RData::TXT(TXT::new(rest.iter().map(|s| s.to_string()).collect()))
            }
            "SOA" => {
                expect_fields(7)?;
                let as_i32 = |i| -> Result<i32, ParseError> {
                    i32::try_from(num_at(i)?)
                        .map_err(|_| err(format!("SOA timer too large: {:?}", rest[i])))
                };
                RData::SOA(SOA::new(
                    name_at(0)?,
                    name_at(1)?,
                    num_at(2)?,
                    as_i32(3)?,
                    as_i32(4)?,
                    as_i32(5)?,
                    num_at(6)?,
                ))
            }
            other => return Err(err(format!("unsupported record type {other:?}"))),
        };
        let ttl = ttl.or(default_ttl).or(last_ttl).unwrap_or(3600);
        last_ttl = Some(ttl);
        last_owner = Some(owner.clone());
        records.push(Record::from_rdata(owner, ttl, data));
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::rr::RecordType;

    fn origin() -> Name {
        Name::from_ascii("5.18.198.in-addr.arpa.").unwrap()
    }

    #[test]
    fn parses_a_typical_zone() {
        let text = "$TTL 1h
@   IN SOA ns.isp.test. hostmaster.isp.test. (
        2026112601 ; serial
        3600 600 86400 300 )
    IN NS ns.isp.test.
1   PTR  host-198-18-5-1.isp.test.
65  300 IN CNAME 65.64/26
64/26 NS ns.isp.test.
$ORIGIN isp.test.
mail  A 198.18.5.2
      AAAA 2001:db8::2
txt   TXT \"hello world\" \"x\"
";
        let recs = parse_zone(text, &origin()).unwrap();
        assert_eq!(recs.len(), 8);
        assert_eq!(recs[0].record_type(), RecordType::SOA);
        assert_eq!(recs[0].ttl, 3600);
        assert_eq!(recs[1].name, origin(), "blank owner repeats @");
        assert_eq!(recs[3].ttl, 300);
        match &recs[3].data {
            RData::CNAME(c) => {
                let labels: Vec<&[u8]> = c.0.iter().collect();
                assert_eq!(labels[1], b"64/26");
                assert_eq!(c.0.num_labels(), 7);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(recs[6].name, recs[5].name);
        assert_eq!(recs[6].record_type(), RecordType::AAAA);
        assert_eq!(recs[5].name.to_ascii(), "mail.isp.test.");
    }

    #[test]
    fn escapes_in_names() {
        let n = parse_name("a\\.b.c\\047d.test.", &Name::root()).unwrap();
        let labels: Vec<&[u8]> = n.iter().collect();
        assert_eq!(labels, vec![&b"a.b"[..], b"c/d", b"test"]);
    }

    #[test]
    fn errors_name_the_line_and_the_value() {
        let cases = [
            ("@ SOA a. b. 1 2 3 4 5\nx A 300.1.1.1\n", 2, "300.1.1.1"),
            ("x A\n", 1, "takes 1"),
            ("x 60\n", 1, "without a type"),
            ("x 60 IN WKS 1\n", 1, "WKS"),
            ("x A 192.0.2.1 (\n", 1, "unbalanced"),
            ("  A 192.0.2.1\n", 1, "blank owner"),
            ("x TXT \"open\n", 1, "unterminated"),
            ("$TTL soon\n", 1, "soon"),
            (&format!("{} A 192.0.2.1\n", "a".repeat(64)), 1, "63"),
            ("x..y A 192.0.2.1\n", 1, "empty label"),
            ("x A 192.0.2.1 192.0.2.2\n", 1, "takes 1"),
            ("$INCLUDE other\n", 1, "$INCLUDE"),
        ];
        for (text, line, needle) in cases {
            let e = parse_zone(text, &origin()).unwrap_err();
            assert_eq!(e.line, line, "{text:?}: {e}");
            assert!(e.to_string().contains(needle), "{text:?}: {e}");
        }
    }

    #[test]
    fn ttl_units() {
        assert_eq!(parse_ttl("1h30m"), Some(5400));
        assert_eq!(parse_ttl("2d"), Some(172_800));
        assert_eq!(parse_ttl("1h30"), None);
        assert_eq!(parse_ttl("h"), None);
        assert_eq!(parse_ttl("99999999999w"), None);
    }
}

#[cfg(test)]
mod fuzz {
    //! Property-based fuzzing of the zone loader (`scripts/fuzz.sh` runs it longer): any
    //! text either parses or gives an error naming a line inside the text; never a panic.
    use super::*;
    use proptest::prelude::*;

    /// Zone-like text: real tokens, numbers, escapes, parentheses, quotes, junk.
    fn zoneish() -> impl Strategy<Value = String> {
        let token = prop_oneof![
            Just("$ORIGIN".to_string()),
            Just("$TTL".to_string()),
            Just("@".to_string()),
            Just("IN".to_string()),
            Just("SOA".to_string()),
            Just("A".to_string()),
            Just("AAAA".to_string()),
            Just("PTR".to_string()),
            Just("CNAME".to_string()),
            Just("MX".to_string()),
            Just("TXT".to_string()),
            Just("(".to_string()),
            Just(")".to_string()),
            Just(";c".to_string()),
            Just("\"q".to_string()),
            Just("\\".to_string()),
            Just("\\255".to_string()),
            Just("64/26".to_string()),
            Just("192.0.2.1".to_string()),
            Just("2001:db8::1".to_string()),
            "[a-z0-9.\\-]{1,70}",
            "[0-9]{1,12}[smhdw]?",
            any::<char>().prop_map(|c| c.to_string()),
        ];
        let sep = prop_oneof![Just(" "), Just("\t"), Just("\n"), Just("\n ")];
        proptest::collection::vec((token, sep), 0..60)
            .prop_map(|v| v.into_iter().map(|(t, s)| t + s).collect())
    }

    proptest! {
        #[test]
        fn fuzz_zone_text_never_panics(text in zoneish()) {
            let origin = Name::from_ascii("5.18.198.in-addr.arpa.").unwrap();
            if let Err(e) = parse_zone(&text, &origin) {
                let lines = text.lines().count().max(1) + 1;
                prop_assert!(e.line >= 1 && e.line <= lines, "line {} of {lines}: {e}", e.line);
            }
        }

        #[test]
        fn fuzz_names_never_panic(text in "\\PC{0,300}") {
            let _ = parse_name(&text, &Name::root());
        }
    }
}
