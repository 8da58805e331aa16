//! Target and shard text. Oracle: no panic; a parsed target is a non-empty range of one
//! family that prints and parses back to itself; a parsed shard has I < N and prints
//! back to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ptraudit_scan::{Shard, Target, TargetSet};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(t) = text.parse::<Target>() {
        assert_eq!(t.first.is_ipv4(), t.last.is_ipv4());
        assert!(t.first <= t.last);
        let again: Target = format!("{}-{}", t.first, t.last).parse().unwrap();
        assert_eq!(again, t);
    }
    if let Ok(s) = text.parse::<Shard>() {
        assert!(s.index < s.count);
        assert_eq!(s.to_string().parse::<Shard>().unwrap(), s);
    }
    let mut set = TargetSet::new();
    for line in text.lines() {
        let _ = set.add_spec(line);
    }
});
