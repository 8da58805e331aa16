//! `ptraudit check`: one address explained.

use crate::util::{address, ptraudit, server, text};

#[test]
fn check_verdicts_and_exit_statuses() {
    let s = server();
    let resolver = s.udp_addr().to_string();
    let cases = [
        ("custom-pass", "pass", 0, "Result: OK for sending mail"),
        ("generic-pass", "pass", 1, "GENERIC"),
        ("custom-mismatch", "fail", 1, "resolves, but not to"),
        ("generic-no-forward", "fail", 1, "does not exist (NXDOMAIN)"),
        ("no-ptr", "no-ptr", 1, "NO PTR"),
    ];
    for (category, verdict, code, needle) in cases {
        let ip = address(category, verdict);
        let o = ptraudit(&["check", &ip, "--resolver", &resolver]);
        let (out, err) = text(&o);
        assert_eq!(
            o.status.code(),
            Some(code),
            "{category} {ip}:\n{out}\n{err}"
        );
        assert!(
            out.contains(needle),
            "{category} {ip}: no {needle:?} in\n{out}"
        );
        assert!(out.contains("1. PTR lookup of"), "{out}");
        assert!(out.contains("What to do") || code == 0, "{out}");
    }
    // --expect says whether the PTR already names the host.
    let ip = address("custom-pass", "pass");
    let o = ptraudit(&[
        "check",
        &ip,
        "--resolver",
        &resolver,
        "--expect",
        "nope.example.test",
    ]);
    assert!(
        text(&o)
            .0
            .contains("Expected PTR nope.example.test: NOT present")
    );
}

/// Issue 17: an address with a stale second PTR passes FCrDNS for one name, but a mail
/// server that gets the other name first calls it unknown. `check` says so, names the
/// stale record and the remedy, and does not call the address mail-ready (exit 1).
#[test]
fn check_explains_a_stale_second_ptr() {
    let s = server();
    let resolver = s.udp_addr().to_string();
    let t = crate::util::truth()
        .into_iter()
        .find(|t| t.flags == "multi-ptr-unconfirmed" && t.cname_chain.is_empty())
        .unwrap();
    let ip = t.ip.to_string();
    let stale: Vec<&String> = t.ptr_names.iter().filter(|n| **n != t.ptr).collect();
    assert_eq!(stale.len(), 1, "{t:?}");
    let o = ptraudit(&["check", &ip, "--resolver", &resolver]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}\n{err}");
    for needle in [
        "multi-ptr-unconfirmed",
        "Result: NOT mail-ready",
        "getnameinfo",
        &format!("unknown[{ip}]"),
        &format!("What to do: remove the stale PTR record(s) ({})", stale[0]),
        "RFC 1912 section 2.1",
        &format!("{ip} has one PTR, {}", t.ptr),
    ] {
        assert!(out.contains(needle), "no {needle:?} in\n{out}");
    }
    assert!(!out.contains("OK for sending mail"), "{out}");
}
