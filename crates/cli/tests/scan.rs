//! `ptraudit scan`: targets in, rows and summaries out, errors before any query.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::util::{
    ptraudit, ptraudit_with_stdin, scan_rows, server, server_with_faults, tempdir, text,
    zone_server,
};

#[test]
fn scan_writes_csv_and_summary_files() {
    let s = server();
    let dir = tempdir("scan");
    let csv = dir.join("out.csv");
    let summary = dir.join("summary.csv");
    let o = ptraudit(&[
        "scan",
        "198.18.0.0/23",
        "--resolver",
        &s.udp_addr().to_string(),
        "-o",
        csv.to_str().unwrap(),
        "--summary",
        summary.to_str().unwrap(),
    ]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let rows = std::fs::read_to_string(&csv).unwrap();
    let mut lines = rows.lines();
    assert_eq!(
        lines.next().unwrap(),
        "ip,prefix,ptr_status,ptr,ptr_all,cname_chain,forward_addrs,fcrdns,fcrdns_reason,generic,generic_reasons,resolver,attempts,rtt_ms,scanned_at,dnsbl,dnsbl_listed"
    );
    assert_eq!(lines.count(), 512);
    assert!(!dir.join("out.csv.partial").exists());
    let sum = std::fs::read_to_string(&summary).unwrap();
    assert!(sum.starts_with(
        "prefix,addresses,with_ptr,fcrdns_pass,fcrdns_fail,generic,mail_ready,errors,multi_ptr_unconfirmed\n"
    ));
    assert!(sum.contains("\n198.18.0.0/24,256,"), "{sum}");
    assert!(sum.contains("\n198.18.1.0/24,256,"), "{sum}");
    assert!(err.contains("total"), "summary table on stderr: {err}");
    // Issue 17: the flagged passes are counted, in the file and on stderr.
    let range: ptraudit_scan::Prefix = "198.18.0.0/23".parse().unwrap();
    let flagged = crate::util::truth()
        .iter()
        .filter(|t| range.contains(t.ip) && t.flags == "multi-ptr-unconfirmed")
        .count();
    assert!(flagged > 0, "the fixture /23 has multi-PTR addresses");
    let in_file: usize = sum
        .lines()
        .skip(1)
        .map(|l| l.rsplit(',').next().unwrap().parse::<usize>().unwrap())
        .sum();
    assert_eq!(in_file, flagged, "{sum}");
    assert!(
        err.contains(&format!("ptraudit: {flagged} multi-ptr-unconfirmed (")),
        "{err}"
    );
    // An existing file is not overwritten without --force.
    let o = ptraudit(&[
        "scan",
        "198.18.0.0/30",
        "--resolver",
        &s.udp_addr().to_string(),
        "-o",
        csv.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("exists (use --force to overwrite)"));
    let o = ptraudit(&[
        "scan",
        "198.18.0.0/30",
        "--resolver",
        &s.udp_addr().to_string(),
        "-o",
        csv.to_str().unwrap(),
        "--force",
        "-q",
    ]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(std::fs::read_to_string(&csv).unwrap().lines().count(), 5);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn targets_from_stdin_with_excludes_to_stdout() {
    let s = server();
    let dir = tempdir("stdin");
    let exclude = dir.join("exclude.txt");
    std::fs::write(&exclude, "# skip two\n198.18.0.1\n198.18.0.2\n").unwrap();
    let resolver = s.udp_addr().to_string();
    let o = ptraudit_with_stdin(
        &[
            "scan",
            "-i",
            "-",
            "--exclude",
            exclude.to_str().unwrap(),
            "--resolver",
            &resolver,
            "-q",
        ],
        b"198.18.0.0/29\n# comment\n198.18.0.4-198.18.0.9\n",
    );
    assert_eq!(o.status.code(), Some(0));
    let out = String::from_utf8(o.stdout).unwrap();
    let ips: Vec<&str> = out
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(ips.len(), 10 - 2, "0..=9 minus two excluded: {ips:?}");
    assert!(!ips.contains(&"198.18.0.1") && !ips.contains(&"198.18.0.2"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_input_gives_a_clear_error_and_exit_2() {
    let dir = tempdir("bad");
    let all = dir.join("all.txt");
    std::fs::write(&all, "198.18.0.0/16\n").unwrap();
    let missing_dir = dir.join("nope/out.csv");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["scan", "192.0.2.7/24", "--resolver", "127.0.0.1"],
            "the network is 192.0.2.0/24",
        ),
        (
            vec!["scan", "192.0.2.300", "--resolver", "127.0.0.1"],
            "\"192.0.2.300\"",
        ),
        (vec!["scan", "--resolver", "127.0.0.1"], "no targets"),
        // One rule for prefix lengths: scan refuses what report refuses (it used to
        // clamp 33 to 32 silently).
        (
            vec![
                "scan",
                "198.18.0.0/24",
                "--prefix-v4",
                "33",
                "--resolver",
                "127.0.0.1",
            ],
            "prefix length 33 is out of range for IPv4 (0..=32)",
        ),
        (
            vec!["report", "x.csv", "--prefix", "33"],
            "prefix length 33 is out of range for IPv4 (0..=32)",
        ),
        (
            vec![
                "scan",
                "198.18.0.0/24",
                "--prefix-v6",
                "129",
                "--resolver",
                "127.0.0.1",
            ],
            "prefix length 129 is out of range for IPv6 (0..=128)",
        ),
        (
            vec![
                "scan",
                "198.18.0.0/24",
                "--exclude",
                all.to_str().unwrap(),
                "--resolver",
                "127.0.0.1",
            ],
            "covers every target",
        ),
        (
            vec![
                "scan",
                "-i",
                "/nonexistent/list.txt",
                "--resolver",
                "127.0.0.1",
            ],
            "/nonexistent/list.txt",
        ),
        (
            vec!["scan", "198.18.0.0/24", "--resolver", "dns.example"],
            "\"dns.example\"",
        ),
        (
            vec![
                "scan",
                "198.18.0.0/24",
                "--resolver",
                "127.0.0.1",
                "--rate",
                "0",
            ],
            "--rate must be at least 1",
        ),
        (
            vec![
                "scan",
                "198.18.0.0/24",
                "--resolver",
                "127.0.0.1",
                "--shard",
                "4/4",
            ],
            "\"4/4\"",
        ),
        (
            vec!["scan", "2001:db8::/64", "--resolver", "127.0.0.1"],
            "--max-v6",
        ),
        (
            vec![
                "scan",
                "198.18.0.0/24",
                "--resolver",
                "127.0.0.1",
                "-o",
                missing_dir.to_str().unwrap(),
            ],
            "does not exist",
        ),
        (
            vec!["check", "mail.example.test", "--resolver", "127.0.0.1"],
            "\"mail.example.test\" is not an IP address",
        ),
    ];
    for (args, needle) in cases {
        let o = ptraudit(&args);
        let (out, err) = text(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: no {needle:?} in {err:?}");
        assert!(out.is_empty(), "{args:?} wrote to stdout: {out}");
    }
    assert!(!missing_dir.exists());
    // A folder that cannot be written (even by root): /proc.
    let s = server();
    let o = ptraudit(&[
        "scan",
        "198.18.0.0/30",
        "--resolver",
        &s.udp_addr().to_string(),
        "-o",
        "/proc/ptraudit-out.csv",
    ]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("/proc/ptraudit-out.csv.partial"), "{err}");
    assert!(out.is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn closing_the_pipe_early_is_not_an_error() {
    let s = server();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ptraudit"))
        .args([
            "scan",
            "198.18.0.0/20",
            "--resolver",
            &s.udp_addr().to_string(),
            "-q",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    reader.read_line(&mut first).unwrap();
    assert!(first.starts_with("ip,prefix,"));
    drop(reader); // like `| head -1`
    let o = child.wait_with_output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn csv_parquet_and_jsonl_from_one_scan_hold_the_same_rows() {
    let s = server();
    let dir = tempdir("formats");
    let (csv, pq, jl) = (
        dir.join("scan.csv"),
        dir.join("scan.parquet"),
        dir.join("scan.jsonl"),
    );
    let o = ptraudit(&[
        "scan",
        "198.18.0.0/20",
        "2001:db8:0:1::/120",
        "--resolver",
        &s.udp_addr().to_string(),
        "-q",
        "-o",
        csv.to_str().unwrap(),
        "-o",
        pq.to_str().unwrap(),
        "-o",
        jl.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o).1);
    let mut sets = Vec::new();
    for path in [&csv, &pq, &jl] {
        let mut rows = ptraudit_report::read_rows(path).unwrap();
        rows.sort_by_key(|r| r.ip);
        sets.push(rows);
    }
    assert_eq!(sets[0].len(), 4096 + 256);
    assert_eq!(sets[0], sets[1], "CSV and Parquet differ");
    assert_eq!(sets[0], sets[2], "CSV and JSON lines differ");
    // Something of every kind is in there (the comparison is not between empty columns).
    assert!(sets[0].iter().any(|r| !r.cname_chain.is_empty()));
    assert!(
        sets[0]
            .iter()
            .any(|r| r.ip.is_ipv6() && r.fcrdns == ptraudit_scan::Fcrdns::Pass)
    );
    assert!(sets[0].iter().any(|r| r.generic == Some(true)));
    assert!(sets[0].iter().any(|r| r.generic.is_none()));
    // JSON lines: null where empty, lists as arrays.
    let first = std::fs::read_to_string(&jl).unwrap();
    let no_ptr = first
        .lines()
        .find(|l| l.contains("\"fcrdns\":\"no-ptr\""))
        .unwrap();
    assert!(
        no_ptr.contains("\"ptr\":null") && no_ptr.contains("\"ptr_all\":[]"),
        "{no_ptr}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_resolver_that_does_not_answer_is_caught_before_the_scan() {
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap().to_string();
    let dir = tempdir("silent");
    let out = dir.join("out.csv");
    let o = ptraudit(&[
        "scan",
        "198.18.0.0/16",
        "--resolver",
        &addr,
        "-o",
        out.to_str().unwrap(),
    ]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("no resolver answers: {addr}")),
        "{err}"
    );
    // Nothing was written, not even a partial file.
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    // With a live resolver next to it, the silent one is dropped with a warning.
    let s = server();
    let o = ptraudit(&[
        "scan",
        "198.18.0.0/30",
        "--resolver",
        &addr,
        "--resolver",
        &s.udp_addr().to_string(),
        "-q",
    ]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains(&format!("not using {addr}")), "{err}");
    assert_eq!(out.lines().count(), 5);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_sick_resolver_is_rested_and_reported() {
    let healthy = server();
    let mut f = ptraudit_testdns::Faults::default();
    f.servfail = 1.0;
    let sick = server_with_faults(f);
    let o = ptraudit(&[
        "scan",
        "198.18.0.0/22",
        "--resolver",
        &sick.udp_addr().to_string(),
        "--resolver",
        &healthy.udp_addr().to_string(),
        "--timeout",
        "200",
    ]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert_eq!(out.lines().count(), 1025);
    assert!(!out.contains("temperror"), "every address decided");
    let line = err
        .lines()
        .find(|l| l.starts_with(&format!("ptraudit: resolver {}:", sick.udp_addr())))
        .unwrap_or_else(|| panic!("no report for the sick resolver:\n{err}"));
    assert!(
        line.contains(" 0 answered") && !line.contains("rested 0 times"),
        "{line}"
    );
}

#[test]
fn names_that_follow_one_template_across_a_prefix_are_generic_together() {
    // 198.18.7.0/24: box<4700 + host>.area9.example.test, a generator no single name
    // gives away; each name resolves back.
    let (mut rev, mut fwd) = (String::new(), String::new());
    for h in 1..=60 {
        rev.push_str(&format!("{h} PTR box{}.area9.example.test.\n", 4700 + h));
        fwd.push_str(&format!("box{}.area9 A 198.18.7.{h}\n", 4700 + h));
    }
    let s = zone_server("7.18.198.in-addr.arpa.", &rev, &fwd);
    let dir = tempdir("templates");
    let resolver = s.udp_addr().to_string();
    let generic = |extra: &[&str], name: &str| {
        let mut args = vec!["198.18.7.1-198.18.7.60", "--resolver", &resolver];
        args.extend(extra);
        let (rows, err) = scan_rows(&dir.join(name), &args);
        assert_eq!(rows.len(), 60);
        let templated = rows
            .iter()
            .filter(|r| r.generic_reasons.iter().any(|c| c.starts_with("template:")))
            .count();
        let generic = rows.iter().filter(|r| r.generic == Some(true)).count();
        (generic, templated, err)
    };
    let (g, t, err) = generic(&[], "linear.csv");
    assert_eq!((g, t), (60, 60), "{err}");
    assert!(err.contains("neighbourhood templates: 60 names"), "{err}");
    assert_eq!(generic(&["--no-templates"], "alone.csv").0, 0);
    // A random order cannot know when a prefix is complete: no templates.
    assert_eq!(generic(&["--order", "random"], "random.csv").1, 0);
    // A walk writes whole blocks: templates apply.
    assert_eq!(generic(&["--walk"], "walk.csv").1, 60);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_tiny_forward_cache_changes_the_queries_not_the_verdicts() {
    // 40 addresses named a.example.test and b.example.test in turn, one at a time
    // (--concurrency 1): the default cache answers all but the first two forward
    // lookups; a cache of one name (the last) answers none.
    let mut rev = String::new();
    for h in 1..=40 {
        let n = if h % 2 == 0 { "a" } else { "b" };
        rev.push_str(&format!("{h} PTR {n}.example.test.\n"));
    }
    let s = zone_server(
        "8.18.198.in-addr.arpa.",
        &rev,
        "a A 198.18.8.2\nb A 198.18.8.1\n",
    );
    let dir = tempdir("cache");
    let resolver = s.udp_addr().to_string();
    let run = |extra: &[&str], name: &str| {
        let mut args = vec![
            "198.18.8.1-198.18.8.40",
            "--resolver",
            &resolver,
            "--concurrency",
            "1",
        ];
        args.extend(extra);
        let (rows, err) = scan_rows(&dir.join(name), &args);
        let mut rows: Vec<(String, String)> = rows
            .into_iter()
            .map(|r| (r.ip.to_string(), r.fcrdns.to_string()))
            .collect();
        rows.sort();
        let hits: u64 = err
            .lines()
            .find_map(|l| l.split(" queries (").nth(1))
            .and_then(|t| t.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap();
        (rows, hits)
    };
    let (normal, normal_hits) = run(&[], "normal.csv");
    let (tiny, tiny_hits) = run(&["--cache-names", "1"], "tiny.csv");
    assert_eq!(normal, tiny);
    assert_eq!(normal.iter().filter(|(_, v)| v == "pass").count(), 2);
    assert_eq!((normal_hits, tiny_hits), (38, 0));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_resolver_that_never_answers_for_the_root_is_not_refused() {
    // A relay in front of the test server that drops every question about the root (an
    // internal resolver in a closed network, or one still priming its root hints): the
    // probe asks what the scan will ask, so the scan goes on.
    let s = server();
    let upstream = s.udp_addr();
    let relay = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = relay.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        let up = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        up.set_read_timeout(Some(std::time::Duration::from_secs(2)))
            .unwrap();
        let mut buf = [0u8; 4096];
        let mut reply = [0u8; 4096];
        while let Ok((n, from)) = relay.recv_from(&mut buf) {
            let Ok(m) = hickory_proto::op::Message::from_vec(&buf[..n]) else {
                continue;
            };
            if m.queries.first().is_some_and(|q| q.name().is_root()) {
                continue;
            }
            if up.send_to(&buf[..n], upstream).is_ok()
                && let Ok(k) = up.recv(&mut reply)
            {
                let _ = relay.send_to(&reply[..k], from);
            }
        }
    });
    let dir = tempdir("rootless");
    let out = dir.join("out.csv");
    let o = ptraudit(&[
        "scan",
        "198.18.0.0/28",
        "--resolver",
        &addr,
        "--concurrency",
        "1",
        "-o",
        out.to_str().unwrap(),
    ]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let rows = ptraudit_report::read_rows(&out).unwrap();
    assert_eq!(rows.len(), 16);
    assert!(
        rows.iter().all(|r| r.fcrdns.as_str() != "temperror"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_final_pass_is_reported_and_its_rows_are_written_once() {
    // One attempt per query through a path losing 30%: hundreds of rows fail the first
    // look; the run looks them up again and says how many it resolved.
    let mut f = ptraudit_testdns::Faults::default();
    f.drop = 0.3;
    f.seed = 21;
    let lossy = server_with_faults(f);
    let o = ptraudit(&[
        "scan",
        "198.18.0.0/22",
        "--resolver",
        &lossy.udp_addr().to_string(),
        "--timeout",
        "200",
        "--attempts",
        "1",
        "--max-attempts",
        "1",
    ]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let line = err
        .lines()
        .find(|l| l.starts_with("ptraudit: final pass: "))
        .unwrap_or_else(|| panic!("no final pass reported:\n{err}"));
    let numbers: Vec<u64> = line.split(' ').filter_map(|w| w.parse().ok()).collect();
    let (retried, resolved) = (numbers[0], numbers[1]);
    assert!(retried > 50 && resolved * 3 > retried, "{line}");
    // Every address once, and as many temperror rows as the pass left.
    let ips: std::collections::HashSet<&str> = out
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!((out.lines().count(), ips.len()), (1025, 1024));
    let temperror = out.lines().filter(|l| l.contains(",temperror,")).count() as u64;
    // What the pass did not settle: temperror rows, and the odd pass whose second name
    // stayed unchecked (written as a pass).
    let unsettled = retried - resolved;
    assert!(
        temperror <= unsettled && unsettled - temperror < 20,
        "{line}: {temperror}"
    );
}
