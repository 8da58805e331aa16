//! Property-based fuzzing (`scripts/fuzz.sh` runs it longer): any name, any address.
//! The oracles do not restate the scoring code (formerly they checked
//! `generic == (score >= THRESHOLD)` and `score == sum of weights`, which the code
//! computes that way by construction): a name built around its own address is
//! generic whatever else it holds; case, a trailing dot and the address do not change
//! the verdict of a name in which no address can be written.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::*;
use proptest::prelude::*;

proptest! {
    #[test]
    fn fuzz_classify_never_panics_and_is_deterministic(
        name in prop_oneof!["\\PC{0,300}", "[a-z0-9.\\-]{0,80}", "([0-9]{1,3}[.\\-_]){3,5}[a-z]{1,8}\\.test"],
        raw in any::<u128>(),
        v4 in any::<bool>(),
    ) {
        let ip = if v4 { IpAddr::V4(Ipv4Addr::from(raw as u32)) } else { IpAddr::V6(Ipv6Addr::from(raw)) };
        for ip in [Some(ip), None] {
            let (a, b) = (classify(ip, &name), classify(ip, &name));
            prop_assert_eq!(a.generic, b.generic);
            prop_assert_eq!(a.codes().collect::<Vec<_>>(), b.codes().collect::<Vec<_>>());
        }
    }

    #[test]
    fn fuzz_a_name_built_on_its_own_address_is_generic(
        raw in any::<u32>(),
        style in 0..4u8,
        words in "[g-z]{2,10}(\\.[g-z]{2,10}){1,3}",
    ) {
        let ip = Ipv4Addr::from(raw);
        let [a, b, c, d] = ip.octets();
        let label = match style {
            0 => format!("{a}-{b}-{c}-{d}"),
            1 => format!("{d}-{c}-{b}-{a}"),
            2 => format!("{a}.{b}.{c}.{d}"),
            _ => format!("ip-{a}-{b}-{c}-{d}"),
        };
        let name = format!("{label}.{words}");
        let v = classify(Some(IpAddr::V4(ip)), &name);
        prop_assert!(v.generic, "{} not generic: {}", name, v);
        prop_assert!(v.codes().any(|c| c.starts_with("ip-")), "{} has no address signal: {}", name, v);
    }

    #[test]
    fn fuzz_case_dot_and_address_do_not_change_a_name_without_digits(
        name in "[g-zG-Z]{1,12}([.\\-][g-zG-Z]{1,12}){0,4}",
        raw1 in any::<u32>(),
        raw2 in any::<u128>(),
    ) {
        // No digit and no hex letter: no address can be written in the name.
        let base = classify(None, &name.to_ascii_lowercase());
        for (ip, text) in [
            (Some(IpAddr::V4(Ipv4Addr::from(raw1))), name.clone()),
            (Some(IpAddr::V6(Ipv6Addr::from(raw2))), name.to_ascii_uppercase()),
            (None, format!("{name}.")),
        ] {
            let v = classify(ip, &text);
            prop_assert_eq!(v.generic, base.generic, "{}", text);
            prop_assert_eq!(v.codes().collect::<Vec<_>>(), base.codes().collect::<Vec<_>>(), "{}", text);
        }
    }
}
