//! `ptraudit scan` walking the reverse tree: IPv6 above `--max-v6` is walked instead of
//! refused, `--walk` gives IPv4 the rows brute force gives, and a walk stopped by
//! SIGKILL resumes to every address exactly once.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};

use crate::util::{ptraudit, send_signal, server, tempdir, text, truth, wait_for_checkpoint};

/// `ip -> (fcrdns, fcrdns_reason, ptr)` of a file of rows.
fn verdicts_of(path: &std::path::Path) -> BTreeMap<String, (String, String, String)> {
    let mut out = BTreeMap::new();
    for r in ptraudit_report::read_rows(path).unwrap() {
        let v = (
            r.fcrdns.to_string(),
            r.fcrdns_reason.map(|x| x.to_string()).unwrap_or_default(),
            r.ptr.unwrap_or_default(),
        );
        assert!(out.insert(r.ip.to_string(), v).is_none(), "{} twice", r.ip);
    }
    out
}

#[test]
fn a_large_ipv6_range_is_walked_and_every_host_with_a_ptr_is_found() {
    let s = server();
    let dir = tempdir("walk6");
    let out = dir.join("w.csv");
    let o = ptraudit(&[
        "scan",
        "2001:db8::/32",
        "--resolver",
        &s.udp_addr().to_string(),
        "-o",
        out.to_str().unwrap(),
    ]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("walking the ip6.arpa tree"), "{err}");
    assert!(err.contains("node questions"), "{err}");
    let got = verdicts_of(&out);
    let want: BTreeMap<String, String> = truth()
        .into_iter()
        .filter(|t| t.ip.is_ipv6() && !t.ptr_names.is_empty())
        .map(|t| (t.ip.to_string(), t.fcrdns))
        .collect();
    assert!(!want.is_empty());
    assert_eq!(
        got.iter()
            .map(|(ip, v)| (ip.clone(), v.0.clone()))
            .collect::<BTreeMap<_, _>>(),
        want
    );
    // Brute force is still refused when asked for.
    let o = ptraudit(&[
        "scan",
        "2001:db8::/32",
        "--no-walk",
        "--resolver",
        &s.udp_addr().to_string(),
    ]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--max-v6") && err.contains("--no-walk"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_ipv4_walk_writes_the_rows_brute_force_writes() {
    let s = server();
    let dir = tempdir("walk4");
    let resolver = s.udp_addr().to_string();
    let (walked, brute) = (dir.join("walk.csv"), dir.join("brute.csv"));
    for (path, walk) in [(&walked, true), (&brute, false)] {
        let mut args = vec![
            "scan",
            "198.18.0.0/20",
            "--resolver",
            &resolver,
            "-o",
            path.to_str().unwrap(),
        ];
        if walk {
            args.push("--walk");
        }
        let o = ptraudit(&args);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o).1);
    }
    let (w, b) = (verdicts_of(&walked), verdicts_of(&brute));
    assert_eq!(w.len(), 4096);
    assert_eq!(w, b);
}

#[test]
fn walk_options_that_do_not_fit_are_refused_by_name() {
    let s = server();
    let resolver = s.udp_addr().to_string();
    for (args, needle) in [
        (
            vec!["198.18.0.0/24", "--walk", "--order", "random"],
            "--order random",
        ),
        (
            vec!["198.18.0.0/24", "--max-queries", "10"],
            "--max-queries",
        ),
        (vec!["::/1"], "too large to walk"),
    ] {
        let mut all = vec!["scan", "--resolver", &resolver];
        all.extend(args.iter().copied());
        let o = ptraudit(&all);
        let (_, err) = text(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

#[test]
fn a_walk_killed_midway_resumes_to_every_address_exactly_once() {
    let s = server();
    let dir = tempdir("walkresume");
    let resolver = s.udp_addr().to_string();
    let child = Command::new(env!("CARGO_BIN_EXE_ptraudit"))
        .current_dir(&dir)
        .args([
            "scan",
            "198.18.0.0/20",
            "2001:db8::/32",
            "--walk",
            "--resolver",
            &resolver,
            "--rate",
            "1500",
            "-o",
            "out.csv",
            "-o",
            "out.parquet",
            "--checkpoint",
            "cp.json",
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait (bounded) until the checkpoint records units done, then kill without warning:
    // rows written after the checkpoint must be redone, not duplicated.
    wait_for_checkpoint(&dir.join("cp.json"), true);
    send_signal("-KILL", child.id());
    let _ = child.wait_with_output().unwrap();
    assert!(!dir.join("out.csv").exists());
    let o = Command::new(env!("CARGO_BIN_EXE_ptraudit"))
        .current_dir(&dir)
        .args(["scan", "--resume", "cp.json"])
        .output()
        .unwrap();
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("resuming cp.json:"), "{err}");
    let csv = verdicts_of(&dir.join("out.csv"));
    let pq = verdicts_of(&dir.join("out.parquet"));
    assert_eq!(csv, pq);
    let want: BTreeMap<String, String> = truth()
        .into_iter()
        .filter(|t| t.ip.is_ipv4() || !t.ptr_names.is_empty())
        .map(|t| (t.ip.to_string(), t.fcrdns))
        .collect();
    assert_eq!(
        csv.iter()
            .map(|(ip, v)| (ip.clone(), v.0.clone()))
            .collect::<BTreeMap<_, _>>(),
        want
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
