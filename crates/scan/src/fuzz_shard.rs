//! Property-based fuzzing of `--shard I/N` text (`scripts/fuzz.sh` runs it longer).
//!
//! The older property in `targets.rs` draws any text, which almost never is a valid
//! `I/N`: it exercises the error path only. Here the generator produces valid shards,
//! out-of-range ones and arbitrary text in about equal parts, and each has its oracle.

use proptest::prelude::*;

use crate::Shard;

/// What the text is meant to be.
#[derive(Debug, Clone)]
enum Case {
    /// `I/N` with I < N, maybe padded with spaces: parses to exactly (I, N).
    Valid(u64, u64, String),
    /// `I/N` with I >= N or N = 0: refused.
    OutOfRange(String),
    /// Anything: refused, or a shard that prints back to the same shard.
    Any(String),
}

fn valid() -> impl Strategy<Value = Case> {
    (1..=u64::MAX, any::<u64>(), 0..3usize, 0..3usize).prop_map(|(n, i, l, r)| {
        let i = i % n;
        let text = format!("{}{i}/{n}{}", " ".repeat(l), " ".repeat(r));
        Case::Valid(i, n, text)
    })
}

fn out_of_range() -> impl Strategy<Value = Case> {
    (any::<u64>(), any::<u64>()).prop_map(|(a, b)| {
        let (n, i) = (a.min(b), a.max(b));
        Case::OutOfRange(format!("{i}/{n}"))
    })
}

proptest! {
    #[test]
    fn fuzz_shard_text_parses_exactly_the_valid_shards(case in prop_oneof![
        valid(),
        out_of_range(),
        "\\PC{0,20}".prop_map(Case::Any),
        "[0-9 /+\\-]{0,12}".prop_map(Case::Any),
    ]) {
        match case {
            Case::Valid(i, n, text) => {
                let s: Shard = text.parse().unwrap();
                prop_assert_eq!((s.index, s.count), (i, n));
                prop_assert_eq!(s.to_string(), format!("{i}/{n}"));
            }
            Case::OutOfRange(text) => prop_assert!(text.parse::<Shard>().is_err(), "{}", text),
            Case::Any(text) => {
                if let Ok(s) = text.parse::<Shard>() {
                    prop_assert!(s.index < s.count);
                    prop_assert_eq!(s.to_string().parse::<Shard>().unwrap(), s);
                }
            }
        }
    }
}
