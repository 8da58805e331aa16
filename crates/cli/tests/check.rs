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
