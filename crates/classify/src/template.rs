//! Neighbourhood templates: the names of one prefix, taken together.
//!
//! A single name like `cpe-4711.area9.example.net` says nothing about the address; a /24
//! where most names read `cpe-<n>.area9.example.net` and `<n>` climbs with the address is
//! a provider's generator at work. [`templates`] finds such groups in the rows of one
//! prefix; [`Verdict::apply_template`] records one on a row's verdict.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::signals::{Reason, THRESHOLD, Verdict};

/// Fewest names that make a template.
pub const MIN_MEMBERS: usize = 8;
/// Least share of the prefix's names a template must hold.
pub const MIN_SHARE: f64 = 0.5;

/// Names of one prefix that share a template whose digits track the address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// The shared form, varying numbers written `#` and constant ones kept
    /// (`cpe-#.area9.example.net`).
    pub pattern: String,
    /// Positions in the input slice of the names that follow it, in input order.
    pub members: Vec<usize>,
}

impl Template {
    /// The reason code, `template:<pattern>`.
    pub fn code(&self) -> String {
        format!("template:{}", self.pattern)
    }
}

impl Verdict {
    /// Records `template` on this verdict (+3: generic), once.
    pub fn apply_template(&mut self, template: &Template) {
        let code = template.code();
        if self.reasons.iter().any(|r| r.code == code) {
            return;
        }
        self.score += THRESHOLD;
        self.reasons.insert(
            0,
            Reason {
                code: code.into(),
                message: "most names of the prefix follow one template whose number tracks the address",
                weight: THRESHOLD,
            },
        );
        self.generic = self.score >= THRESHOLD;
    }
}

/// One name split at its digit runs: the text between them and the numbers.
struct Split<'a> {
    idx: usize,
    host: u128,
    name: &'a str,
    /// Byte ranges of the digit runs.
    runs: Vec<(usize, usize)>,
}

/// Finds the templates among the rows of one prefix (a /24 or a /64, say).
///
/// A template is a form shared by names that differ only in their digits, with at
/// least [`MIN_MEMBERS`] members and [`MIN_SHARE`] of the rows, where one number
/// tracks the address: strictly monotone in it over the members, and equal to the
/// address's host part plus a constant (consecutive names on consecutive addresses,
/// gaps allowed) for at least half of them. A customer's own `mail1`..`mail3` are too
/// few; names with a server-role word (`mail`, `mx`, `smtp`, …) on the leftmost label are
/// never a template; the same number everywhere (`area9`) is not tracking.
///
/// Pure and bounded by the input: the caller holds one prefix's rows at a time.
///
/// ```
/// use ptraudit_classify::templates;
/// let rows: Vec<(std::net::IpAddr, String)> = (10..30u8)
///     .map(|i| (format!("198.18.7.{i}").parse().unwrap(), format!("cpe-{}.area9.example.test", 4700 + u32::from(i))))
///     .collect();
/// let refs: Vec<_> = rows.iter().map(|(ip, n)| (*ip, n.as_str())).collect();
/// let found = templates(&refs);
/// assert_eq!(found.len(), 1);
/// assert_eq!(found[0].pattern, "cpe-#.area9.example.test");
/// assert_eq!(found[0].members.len(), 20);
/// ```
pub fn templates(rows: &[(IpAddr, &str)]) -> Vec<Template> {
    if rows.len() < MIN_MEMBERS {
        return Vec::new();
    }
    let rules = crate::Rules::builtin();
    // Group by skeleton: the lower-case name with every digit run replaced by `#`.
    let mut groups: HashMap<String, Vec<Split<'_>>> = HashMap::new();
    for (idx, &(ip, name)) in rows.iter().enumerate() {
        let name = name.trim_end_matches('.');
        if name.is_empty() || !name.is_ascii() {
            continue;
        }
        let mut skeleton = String::with_capacity(name.len());
        let mut runs = Vec::new();
        let b = name.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i].is_ascii_digit() {
                let start = i;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                runs.push((start, i));
                skeleton.push('#');
            } else {
                skeleton.push(char::from(b[i].to_ascii_lowercase()));
                i += 1;
            }
        }
        if runs.is_empty() {
            continue;
        }
        let host = match ip {
            IpAddr::V4(a) => u128::from(u32::from(a) & 0xff),
            IpAddr::V6(a) => u128::from(a) & 0xffff_ffff_ffff_ffff,
        };
        groups.entry(skeleton).or_default().push(Split {
            idx,
            host,
            name,
            runs,
        });
    }
    let min_members = MIN_MEMBERS.max((rows.len() as f64 * MIN_SHARE).ceil() as usize);
    let mut out = Vec::new();
    for (skeleton, mut members) in groups {
        if members.len() < min_members {
            continue;
        }
        let first_label = skeleton.split('.').next().unwrap_or("");
        if first_label
            .split(|c: char| !c.is_ascii_alphabetic())
            .any(|t| rules.has(crate::rules::WordKind::Role, t))
        {
            continue;
        }
        members.sort_by_key(|m| m.host);
        if members.windows(2).any(|w| w[0].host == w[1].host) {
            continue;
        }
        let positions = members[0].runs.len();
        let value = |m: &Split<'_>, k: usize| -> Option<u128> {
            let (s, e) = m.runs[k];
            m.name[s..e].parse().ok()
        };
        let varying: Vec<bool> = (0..positions)
            .map(|k| {
                let v0 = value(&members[0], k);
                members.iter().any(|m| value(m, k) != v0)
            })
            .collect();
        let tracks = (0..positions).filter(|&k| varying[k]).any(|k| {
            let vals: Option<Vec<u128>> = members.iter().map(|m| value(m, k)).collect();
            let Some(vals) = vals else { return false };
            let up = vals.windows(2).all(|w| w[0] < w[1]);
            let down = vals.windows(2).all(|w| w[0] > w[1]);
            if !(up || down) {
                return false;
            }
            // The offset between number and host part (or their sum, counting down).
            let mut offsets: HashMap<i128, usize> = HashMap::new();
            for (m, &v) in members.iter().zip(&vals) {
                let (v, h) = (v as i128, m.host as i128);
                *offsets.entry(if up { v - h } else { v + h }).or_default() += 1;
            }
            offsets
                .values()
                .max()
                .is_some_and(|&n| n * 2 >= members.len())
        });
        if !tracks {
            continue;
        }
        // The pattern: the first member's name, varying numbers as `#`.
        let m0 = &members[0];
        let mut pattern = String::with_capacity(m0.name.len());
        let mut at = 0;
        for (k, &(s, e)) in m0.runs.iter().enumerate() {
            pattern.push_str(&m0.name[at..s].to_ascii_lowercase());
            if varying[k] {
                pattern.push('#');
            } else {
                pattern.push_str(&m0.name[s..e]);
            }
            at = e;
        }
        pattern.push_str(&m0.name[at..].to_ascii_lowercase());
        let mut idx: Vec<usize> = members.iter().map(|m| m.idx).collect();
        idx.sort_unstable();
        out.push(Template {
            pattern,
            members: idx,
        });
    }
    out.sort_by(|a, b| a.members.first().cmp(&b.members.first()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(f: impl Fn(u8) -> Option<String>, hosts: std::ops::Range<u8>) -> Vec<(IpAddr, String)> {
        hosts
            .filter_map(|h| f(h).map(|n| (IpAddr::from([198, 18, 9, h]), n)))
            .collect()
    }

    fn find(rows: &[(IpAddr, String)]) -> Vec<Template> {
        let refs: Vec<_> = rows.iter().map(|(ip, n)| (*ip, n.as_str())).collect();
        templates(&refs)
    }

    #[test]
    fn consecutive_numbers_on_consecutive_addresses_are_a_template() {
        let r = rows(
            |h| Some(format!("cpe-{}.area9.example.test", 4000 + u32::from(h))),
            0..40,
        );
        let t = find(&r);
        assert_eq!(t.len(), 1, "{t:?}");
        assert_eq!(t[0].pattern, "cpe-#.area9.example.test");
        assert_eq!(t[0].members, (0..40).collect::<Vec<_>>());
        // Counting down, with gaps (addresses without a name) and a few custom names.
        let r = rows(
            |h| match h % 7 {
                0 => None,
                1 if h < 20 => Some(format!("shop{h}.customer.test")),
                _ => Some(format!("k{}-b.net9.example.test", 900 - u32::from(h))),
            },
            0..64,
        );
        let t = find(&r);
        assert_eq!(t.len(), 1, "{t:?}");
        assert_eq!(t[0].pattern, "k#-b.net9.example.test");
        let mut v = crate::classify(Some(r[t[0].members[0]].0), &r[t[0].members[0]].1);
        assert!(!v.generic);
        v.apply_template(&t[0]);
        v.apply_template(&t[0]);
        assert!(v.generic && v.score == 3, "{v:?}");
        assert!(v.codes().any(|c| c == "template:k#-b.net9.example.test"));
    }

    #[test]
    fn a_customers_numbered_hosts_are_not_a_template() {
        // Three of them: too few.
        let r = rows(|h| Some(format!("mail{h}.shop.test")), 1..4);
        assert!(find(&r).is_empty());
        // Many, but named for a service.
        let r = rows(|h| Some(format!("mx{h}.bigmail.test")), 1..20);
        assert!(find(&r).is_empty());
        // Many numbered hosts whose numbers do not follow the address.
        let r = rows(
            |h| Some(format!("node{}.cluster.test", (u32::from(h) * 37) % 101)),
            0..30,
        );
        assert!(find(&r).is_empty());
        // The same number on every name is no tracking.
        let r = rows(|_| Some("vm7.lab.test".to_string()), 0..30);
        assert!(find(&r).is_empty());
        // A template, but under half of the prefix's names.
        let r = rows(
            |h| {
                Some(if h < 12 {
                    format!("c{}.area.test", 100 + u32::from(h))
                } else {
                    format!("site{}.other.test", (u32::from(h) * 37) % 101)
                })
            },
            0..40,
        );
        assert!(find(&r).is_empty(), "{:?}", find(&r));
        // Monotone but not following the address (squares): no constant offset.
        let r = rows(
            |h| Some(format!("h{}.isp.test", u32::from(h) * u32::from(h))),
            0..30,
        );
        assert!(find(&r).is_empty());
    }
}
