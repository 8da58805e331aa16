//! The rule data: word lists and name patterns, parsed from the built-in
//! `rules/default.rules` and from user files (`--rules FILE`). See that file for the
//! syntax.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::OnceLock;

/// The built-in rules text, compiled into the binary.
pub const DEFAULT_RULES: &str = include_str!("../rules/default.rules");

/// A rules file could not be parsed.
#[derive(Debug, thiserror::Error)]
#[error("rules line {line}: {message}: {text:?}")]
pub struct RulesError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
    /// The line as written.
    pub text: String,
}

/// Word lists by role in the score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WordKind {
    Hard,
    Soft,
    Dynamic,
    Role,
    Placeholder,
    Interface,
    Suffix2,
    Bare,
    Unit,
    Hosting,
}

const WORD_KINDS: [(&str, WordKind); 10] = [
    ("hard", WordKind::Hard),
    ("soft", WordKind::Soft),
    ("dynamic", WordKind::Dynamic),
    ("role", WordKind::Role),
    ("placeholder", WordKind::Placeholder),
    ("interface", WordKind::Interface),
    ("suffix2", WordKind::Suffix2),
    ("bare", WordKind::Bare),
    ("unit", WordKind::Unit),
    ("hosting", WordKind::Hosting),
];

/// What a matching pattern does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// A provider's default reverse name: +3, `provider-default:CODE`.
    Provider,
    /// Generic whatever else the name says: `rule:CODE`, decisive.
    Generic,
    /// Custom whatever else the name says: `rule:CODE`, decisive.
    Custom,
}

/// One pattern rule.
#[derive(Debug, Clone)]
pub(crate) struct PatternRule {
    pub(crate) code: Box<str>,
    pub(crate) effect: Effect,
    glob: Glob,
}

/// The rule set [`crate::classify_with`] applies.
///
/// ```
/// use ptraudit_classify::{Rules, classify_with};
///
/// // An ISP that gives its static business customers proper names marks them.
/// let mut rules = Rules::builtin().clone();
/// rules.extend("custom isp-biz *.biz.isp.test").unwrap();
/// let v = classify_with(&rules, None, "acme-hq.biz.isp.test");
/// assert!(!v.generic);
/// assert!(v.codes().any(|c| c == "rule:isp-biz"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct Rules {
    words: [Vec<Box<str>>; 10],
    pub(crate) patterns: Vec<PatternRule>,
    // Derived after each `extend`, for one lookup per token and per name:
    /// word -> bit set of its kinds.
    index: HashMap<Box<str>, u16, Fnv>,
    /// last label of a pattern's literal tail -> pattern positions (ascending).
    by_last_label: HashMap<Box<str>, Vec<usize>, Fnv>,
    /// patterns without a literal last label.
    unindexed: Vec<usize>,
}

/// FNV-1a: words are short and not attacker-chosen keys of a long-lived table that
/// grows, so a simple fast hash beats SipHash here.
#[derive(Default, Clone, Copy)]
struct FnvHasher(u64);

impl Hasher for FnvHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

type Fnv = BuildHasherDefault<FnvHasher>;

impl Rules {
    /// The built-in rules (parsed once).
    pub fn builtin() -> &'static Rules {
        static BUILTIN: OnceLock<Rules> = OnceLock::new();
        BUILTIN.get_or_init(|| {
            Rules::parse(DEFAULT_RULES)
                .expect("the built-in rules file parses (a unit test checks)")
        })
    }

    /// Parses a rules text on its own (without the built-in rules).
    pub fn parse(text: &str) -> Result<Rules, RulesError> {
        let mut rules = Rules::default();
        rules.extend(text)?;
        Ok(rules)
    }

    /// Adds (or removes, with `remove`) the rules of `text` to these. Later pattern rules
    /// win over earlier ones, so a user file overrides the built-in patterns.
    pub fn extend(&mut self, text: &str) -> Result<(), RulesError> {
        for (i, raw) in text.lines().enumerate() {
            // `#` is also the digit wildcard: only a `#` at the start of a line or after
            // whitespace starts a comment.
            let line = strip_comment(raw);
            let mut fields = line.split_whitespace();
            let Some(kind) = fields.next() else { continue };
            let err = |message: String| RulesError {
                line: i + 1,
                message,
                text: raw.to_string(),
            };
            let args: Vec<String> = fields.map(str::to_ascii_lowercase).collect();
            if kind == "remove" {
                let (what, items) = args
                    .split_first()
                    .ok_or_else(|| err("`remove` needs a kind and words".into()))?;
                if let Some(k) = word_kind(what) {
                    self.words[k as usize].retain(|w| !items.iter().any(|i| **i == **w));
                } else if effect(what).is_some() {
                    self.patterns
                        .retain(|p| !items.iter().any(|i| **i == *p.code));
                } else {
                    return Err(err(format!("unknown kind {what:?}")));
                }
                continue;
            }
            if let Some(k) = word_kind(kind) {
                if args.is_empty() {
                    return Err(err(format!("`{kind}` needs at least one word")));
                }
                for w in args {
                    if !w
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
                    {
                        return Err(err(format!("{w:?} is not a word (letters, digits, -, .)")));
                    }
                    let list = &mut self.words[k as usize];
                    if let Err(at) = list.binary_search_by(|x| (**x).cmp(&w)) {
                        list.insert(at, w.into_boxed_str());
                    }
                }
                continue;
            }
            let Some(effect) = effect(kind) else {
                return Err(err(format!(
                    "unknown kind {kind:?} (hard, soft, dynamic, role, placeholder, interface, \
                     suffix2, bare, unit, hosting, provider, generic, custom, remove)"
                )));
            };
            let (code, globs) = args
                .split_first()
                .filter(|(_, g)| !g.is_empty())
                .ok_or_else(|| err(format!("`{kind}` needs a CODE and at least one pattern")))?;
            if !code
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(err(format!(
                    "{code:?} is not a code (letters, digits, -, _)"
                )));
            }
            for g in globs {
                let glob = Glob::new(g).map_err(|m| err(format!("pattern {g:?}: {m}")))?;
                // Later rules first: a user's override is tried before the built-in one.
                self.patterns.insert(
                    0,
                    PatternRule {
                        code: code.clone().into_boxed_str(),
                        effect,
                        glob,
                    },
                );
            }
        }
        self.reindex();
        Ok(())
    }

    fn reindex(&mut self) {
        self.index.clear();
        for (kind, list) in self.words.iter().enumerate() {
            for w in list {
                *self.index.entry(w.clone()).or_default() |= 1 << kind;
            }
        }
        self.by_last_label.clear();
        self.unindexed.clear();
        for (i, p) in self.patterns.iter().enumerate() {
            match p.glob.last_label() {
                Some(l) => self.by_last_label.entry(l.into()).or_default().push(i),
                None => self.unindexed.push(i),
            }
        }
    }

    pub(crate) fn has(&self, kind: WordKind, word: &str) -> bool {
        self.index
            .get(word)
            .is_some_and(|kinds| kinds & (1 << kind as u16) != 0)
    }

    /// How many trailing labels of `name` (lower case, no trailing dot; `labels` its
    /// labels) form its registered domain: two, or three under a two-label public suffix
    /// of the rules (`suffix2`, such as `co.uk`).
    pub(crate) fn domain_labels(&self, name: &str, labels: &[&str]) -> usize {
        let n = labels.len();
        let suffix2 = n >= 3 && {
            let len = labels[n - 2].len() + labels[n - 1].len() + 1;
            name.get(name.len() - len..)
                .is_some_and(|s| self.has(WordKind::Suffix2, s))
        };
        if suffix2 { 3 } else { 2 }
    }

    /// The registered domain of a PTR name (lower case): its last two labels, or three
    /// under a two-label public suffix of the rules (`co.uk`, `com.au`, `ne.jp`, …). The
    /// classifier's notion of "the host part" is everything left of it.
    ///
    /// ```
    /// let rules = ptraudit_classify::Rules::builtin();
    /// assert_eq!(rules.registered_domain("c-1-2-3-4.hsd1.ca.comcast.net."), "comcast.net");
    /// assert_eq!(rules.registered_domain("host86-1.range86-1.bt.co.uk"), "bt.co.uk");
    /// assert_eq!(rules.registered_domain("localhost"), "localhost");
    /// ```
    pub fn registered_domain<'a>(&self, name: &'a str) -> &'a str {
        let name = name.trim_end_matches('.');
        let labels: Vec<&str> = name.split('.').collect();
        let take = self.domain_labels(name, &labels).min(labels.len());
        let skip: usize = labels[..labels.len() - take]
            .iter()
            .map(|l| l.len() + 1)
            .sum();
        &name[skip..]
    }

    pub(crate) fn words(&self, kind: WordKind) -> impl Iterator<Item = &str> {
        self.words[kind as usize].iter().map(|w| &**w)
    }

    /// The first pattern rule matching `name` (lower case, no trailing dot).
    pub(crate) fn matching(&self, name: &str) -> Option<&PatternRule> {
        let last = name.rsplit('.').next().unwrap_or(name);
        let indexed = self.by_last_label.get(last).and_then(|l| {
            l.iter()
                .copied()
                .find(|&i| self.patterns[i].glob.matches(name))
        });
        // The first match in file order wins: an unindexed pattern counts only before it.
        let limit = indexed.unwrap_or(usize::MAX);
        let other = self
            .unindexed
            .iter()
            .copied()
            .take_while(|&i| i < limit)
            .find(|&i| self.patterns[i].glob.matches(name));
        other.or(indexed).map(|i| &self.patterns[i])
    }

    /// Number of word entries and pattern rules (for `--rules` feedback).
    pub fn len(&self) -> usize {
        self.words.iter().map(Vec::len).sum::<usize>() + self.patterns.len()
    }

    /// No rules at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// `raw` without a comment: `#` at the start or after whitespace.
fn strip_comment(raw: &str) -> &str {
    let b = raw.as_bytes();
    (0..b.len())
        .find(|&i| b[i] == b'#' && (i == 0 || b[i - 1].is_ascii_whitespace()))
        .map_or(raw, |i| &raw[..i])
}

fn word_kind(s: &str) -> Option<WordKind> {
    WORD_KINDS.iter().find(|(k, _)| *k == s).map(|(_, k)| *k)
}

fn effect(s: &str) -> Option<Effect> {
    match s {
        "provider" => Some(Effect::Provider),
        "generic" => Some(Effect::Generic),
        "custom" => Some(Effect::Custom),
        _ => None,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tok {
    Lit(u8),
    Any,
    Digits,
}

/// A name pattern: `*` any run, `#` one or more digits, the rest literal. Matched without
/// allocation: the literal tail rejects almost every name before the set simulation runs.
#[derive(Clone)]
struct Glob {
    text: Box<str>,
    toks: Vec<Tok>,
    head: Box<[u8]>,
    tail: Box<[u8]>,
}

impl fmt::Debug for Glob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Longest name a pattern is tried on (RFC 1035 names are at most 253 bytes as text).
const MAX_NAME: usize = 255;

impl Glob {
    fn new(text: &str) -> Result<Glob, String> {
        if text.is_empty() || text.len() > MAX_NAME {
            return Err("empty or longer than 255 characters".into());
        }
        let mut toks = Vec::new();
        for b in text.bytes() {
            toks.push(match b {
                b'*' => Tok::Any,
                b'#' => Tok::Digits,
                b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => Tok::Lit(b),
                _ => return Err(format!("{:?} is not allowed", b as char)),
            });
        }
        // The literal text before the first and after the last wildcard: cheap rejections.
        let is_lit = |t: &Tok| matches!(t, Tok::Lit(_));
        let head_len = toks.iter().take_while(|t| is_lit(t)).count();
        let tail_len = toks.iter().rev().take_while(|t| is_lit(t)).count();
        let bytes = text.as_bytes();
        let (head, tail) = (&bytes[..head_len], &bytes[bytes.len() - tail_len..]);
        Ok(Glob {
            text: text.into(),
            toks,
            head: head.into(),
            tail: tail.into(),
        })
    }

    /// The last label when the pattern ends in a literal one (`….amazonaws.com` → `com`).
    fn last_label(&self) -> Option<&str> {
        let dot = self.tail.iter().rposition(|&b| b == b'.')?;
        std::str::from_utf8(&self.tail[dot + 1..])
            .ok()
            .filter(|l| !l.is_empty())
    }

    fn matches(&self, name: &str) -> bool {
        let s = name.as_bytes();
        if s.len() > MAX_NAME || !s.ends_with(&self.tail) || !s.starts_with(&self.head) {
            return false;
        }
        // The set of name positions the pattern prefix can end at, one token at a time.
        let mut cur = [false; MAX_NAME + 1];
        let mut next = [false; MAX_NAME + 1];
        cur[0] = true;
        let n = s.len();
        for tok in &self.toks {
            next[..=n].fill(false);
            let mut any = false;
            match *tok {
                Tok::Lit(c) => {
                    for i in 0..n {
                        if cur[i] && s[i] == c {
                            next[i + 1] = true;
                            any = true;
                        }
                    }
                }
                Tok::Any => {
                    if let Some(first) = cur[..=n].iter().position(|&x| x) {
                        next[first..=n].fill(true);
                        any = true;
                    }
                }
                Tok::Digits => {
                    for (i, _) in cur[..n].iter().enumerate().filter(|(_, on)| **on) {
                        let mut j = i;
                        while j < n && s[j].is_ascii_digit() {
                            j += 1;
                            next[j] = true;
                            any = true;
                        }
                    }
                }
            }
            if !any {
                return false;
            }
            std::mem::swap(&mut cur, &mut next);
        }
        cur[n]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_rules_parse_and_hold_each_kind() {
        let r = Rules::parse(DEFAULT_RULES).unwrap();
        for (name, kind) in WORD_KINDS {
            assert!(r.words(kind).count() > 3, "{name} is nearly empty");
        }
        assert!(r.has(WordKind::Hard, "dyn"));
        assert!(r.has(WordKind::Role, "mail"));
        assert!(!r.has(WordKind::Hard, "mail"));
        assert!(r.patterns.iter().any(|p| &*p.code == "aws-ec2"));
    }

    #[test]
    fn globs_match_whole_names() {
        let g = Glob::new("ec2-*.compute-1.amazonaws.com").unwrap();
        assert!(g.matches("ec2-54-1-2-3.compute-1.amazonaws.com"));
        assert!(!g.matches("ec2-54-1-2-3.compute-1.amazonaws.com.evil.test"));
        assert!(!g.matches("xec2-54.compute-1.amazonaws.com"));
        let g = Glob::new("li#-#.members.linode.com").unwrap();
        assert!(g.matches("li123-45.members.linode.com"));
        assert!(!g.matches("li-45.members.linode.com"));
        assert!(!g.matches("lix1-45.members.linode.com"));
        let g = Glob::new("#.#.#.#.vultr.com").unwrap();
        assert!(g.matches("1.22.3.44.vultr.com"));
        assert!(!g.matches("www.vultr.com"));
        let g = Glob::new("*a*a*a*a*a*a*b").unwrap();
        assert!(!g.matches(&"a".repeat(250)), "no blow-up on hostile names");
        assert!(!Glob::new("a").unwrap().matches(&"a".repeat(300)));
    }

    #[test]
    fn user_rules_add_remove_and_override() {
        let mut r = Rules::builtin().clone();
        let before = r.len();
        r.extend("hard foo  # a comment\nremove hard dyn\nremove provider aws-ec2\n")
            .unwrap();
        assert!(r.has(WordKind::Hard, "foo"));
        assert!(!r.has(WordKind::Hard, "dyn"));
        assert!(r.matching("ec2-1-2-3-4.compute-1.amazonaws.com").is_none());
        assert!(r.len() < before);
        r.extend("custom mine *.compute-1.amazonaws.com").unwrap();
        let p = r.matching("ec2-1-2-3-4.compute-1.amazonaws.com").unwrap();
        assert_eq!((&*p.code, p.effect), ("mine", Effect::Custom));
    }

    #[test]
    fn bad_rules_name_the_line() {
        for (text, needle) in [
            ("hard\n", "needs at least one word"),
            ("frobnicate x\n", "unknown kind"),
            ("provider aws\n", "needs a CODE"),
            ("\n\nprovider x a^b\n", "not allowed"),
            ("remove\n", "needs a kind"),
            ("hard a/b\n", "not a word"),
        ] {
            let e = Rules::parse(text).unwrap_err();
            assert!(e.to_string().contains(needle), "{text:?}: {e}");
        }
        assert_eq!(Rules::parse("\n\nprovider x a^b\n").unwrap_err().line, 3);
    }
}
