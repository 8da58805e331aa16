//! The `ptraudit` binary end to end, against the bundled test server.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use ptraudit_testdns::{Server, Truth, Zones, fixtures_dir};

fn server() -> Server {
    let zones = Zones::load_manifest(&fixtures_dir().join("zones.txt")).unwrap();
    Server::builder().zones(zones).start().unwrap()
}

fn ptraudit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ptraudit"))
        .args(args)
        .output()
        .unwrap()
}

/// Sends a signal (`-INT`, `-TERM`, `-KILL`) with the shell's `kill` builtin, so no
/// procps package is needed.
fn send_signal(signal: &str, pid: u32) {
    let ok = Command::new("sh")
        .args(["-c", &format!("kill {signal} {pid}")])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {signal} {pid} failed");
}

/// Runs the binary with `input` on its stdin.
fn ptraudit_with_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ptraudit"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A command that fails before reading its input (bad arguments) closes the pipe:
    // that is its answer, not a test failure.
    if let Err(e) = child.stdin.take().unwrap().write_all(input) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    child.wait_with_output().unwrap()
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into(),
        String::from_utf8_lossy(&o.stderr).into(),
    )
}

/// Every row of the fixtures' ground truth.
fn truth() -> Vec<Truth> {
    ptraudit_testdns::load_truth(&fixtures_dir()).unwrap()
}

/// The ground truth's FCrDNS verdict (`fcrdns` column) of every address.
fn verdicts() -> HashMap<IpAddr, String> {
    truth().into_iter().map(|t| (t.ip, t.fcrdns)).collect()
}

/// The first truth row of a category with the given verdict (and no RFC 2317 CNAME).
fn address(category: &str, fcrdns: &str) -> String {
    truth()
        .into_iter()
        .find(|t| t.category == category && t.fcrdns == fcrdns && t.cname_chain.is_empty())
        .map(|t| t.ip.to_string())
        .unwrap()
}

fn tempdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ptraudit-cli-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

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
        "ip,prefix,ptr_status,ptr,ptr_all,cname_chain,forward_addrs,fcrdns,fcrdns_reason,generic,generic_reasons,resolver,attempts,rtt_ms,scanned_at"
    );
    assert_eq!(lines.count(), 512);
    assert!(!dir.join("out.csv.partial").exists());
    let sum = std::fs::read_to_string(&summary).unwrap();
    assert!(sum.starts_with(
        "prefix,addresses,with_ptr,fcrdns_pass,fcrdns_fail,generic,mail_ready,errors\n"
    ));
    assert!(sum.contains("\n198.18.0.0/24,256,"), "{sum}");
    assert!(sum.contains("\n198.18.1.0/24,256,"), "{sum}");
    assert!(err.contains("total"), "summary table on stderr: {err}");
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
fn demo_scans_the_fixtures_and_says_where_the_files_are() {
    let dir = tempdir("demo");
    let o = ptraudit(&["demo", "--out", dir.to_str().unwrap(), "-q"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let truth_rows = truth().len();
    let rows = std::fs::read_to_string(dir.join("scan.csv"))
        .unwrap()
        .lines()
        .count()
        - 1;
    assert_eq!(rows, truth_rows);
    assert!(dir.join("summary.csv").exists());
    assert!(
        out.contains(&dir.join("scan.csv").display().to_string()),
        "{out}"
    );
    assert!(out.contains("FCrDNS pass"), "{out}");
    std::fs::remove_dir_all(&dir).unwrap();
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
fn report_totals_equal_the_ground_truth_and_html_is_self_contained() {
    let dir = tempdir("report");
    let o = ptraudit(&["demo", "--out", dir.to_str().unwrap(), "-q"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o).1);
    // The demo writes its own HTML report and says where.
    let demo_html = dir.join("report.html").canonicalize().unwrap();
    let page = std::fs::read_to_string(&demo_html).unwrap();
    assert!(
        page.contains("<canvas") && page.contains("198.18.0.0/24"),
        "{page:.300}"
    );
    assert!(
        text(&o)
            .0
            .contains(&format!("report:  {}", demo_html.display())),
        "{}",
        text(&o).0
    );
    let groups = dir.join("groups.csv");
    let html = dir.join("groups.html");
    // The Parquet output, given twice: the second copy must not count.
    let pq = dir.join("scan.parquet");
    let o = ptraudit(&[
        "report",
        pq.to_str().unwrap(),
        pq.to_str().unwrap(),
        "-o",
        groups.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
    ]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("rows repeated an address"), "{err}");
    assert!(out.starts_with("prefix"), "{out}");

    // Expected counts from the ground truth.
    let mut want = [0u64; 8]; // addresses, pass, mismatch, nodata, nxdomain, no_ptr, generic, mail_ready
    for t in truth() {
        want[0] += 1;
        match (t.fcrdns.as_str(), t.reason.as_str()) {
            ("pass", _) => want[1] += 1,
            ("fail", "forward-mismatch") => want[2] += 1,
            ("fail", "forward-nodata") => want[3] += 1,
            ("fail", "forward-nxdomain") => want[4] += 1,
            ("no-ptr", _) => want[5] += 1,
            other => panic!("{other:?}"),
        }
        want[6] += u64::from(t.generic == "true");
        want[7] += u64::from(t.fcrdns == "pass" && t.generic == "false");
    }
    let csv = std::fs::read_to_string(&groups).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let cols = [
        "addresses",
        "fcrdns_pass",
        "fail_mismatch",
        "fail_nodata",
        "fail_nxdomain",
        "no_ptr",
        "generic",
        "mail_ready",
    ]
    .map(col);
    let mut got = [0u64; 8];
    let mut scores = Vec::new();
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        for (k, &c) in cols.iter().enumerate() {
            got[k] += f[c].parse::<u64>().unwrap();
        }
        scores.push(f[col("hygiene_score")].parse::<f64>().unwrap());
    }
    assert_eq!(got, want, "report totals vs ground truth");
    assert!(
        scores.windows(2).all(|w| w[0] <= w[1]),
        "worst prefixes first: {scores:?}"
    );

    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("<canvas") && page.contains("198.18.0.0/20"),
        "a map of the /20"
    );
    for external in ["src=\"http", "href=\"http", "@import", "url(http"] {
        assert!(!page.contains(external), "HTML fetches {external}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Starts a scan of the /20 at a slow rate writing Parquet and CSV, waits until rows are
/// flowing, sends `signal`, and returns the exit status and the two paths.
fn interrupted_scan(tag: &str, signals: &[&str]) -> (Option<i32>, PathBuf, PathBuf, String) {
    let s = server();
    let dir = tempdir(tag);
    let (pq, csv) = (dir.join("scan.parquet"), dir.join("scan.csv"));
    let child = Command::new(env!("CARGO_BIN_EXE_ptraudit"))
        .args([
            "scan",
            "198.18.0.0/20",
            "--resolver",
            &s.udp_addr().to_string(),
            "--rate",
            "1500",
            "-o",
            pq.to_str().unwrap(),
            "-o",
            csv.to_str().unwrap(),
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait (bounded) until the CSV has rows on disk: the scan is midway.
    let partial = dir.join("scan.csv.partial");
    for _ in 0..200 {
        if std::fs::read_to_string(&partial).is_ok_and(|t| t.lines().count() > 50) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    for sig in signals {
        send_signal(sig, child.id());
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    (o.status.code(), pq, csv, err)
}

fn check_interrupted_files(pq: &std::path::Path, csv: &std::path::Path) -> usize {
    let verdicts = verdicts();
    // The Parquet file has its footer (it reads back), as many rows as the CSV, no
    // address twice, and every row is a correct, complete result.
    let mut from_pq = ptraudit_report::read_rows(pq).expect("a valid Parquet file");
    let mut from_csv = ptraudit_report::read_rows(csv).unwrap();
    from_pq.sort_by_key(|r| r.ip);
    from_csv.sort_by_key(|r| r.ip);
    assert_eq!(from_pq, from_csv);
    let n = from_pq.len();
    assert!(n > 0 && n < 4096, "interrupted midway: {n} rows");
    let mut seen = std::collections::HashSet::new();
    for r in &from_pq {
        assert!(seen.insert(r.ip), "{} twice", r.ip);
        assert_eq!(r.fcrdns.as_str(), verdicts[&r.ip], "{}", r.ip);
    }
    n
}

#[test]
fn sigint_closes_parquet_and_csv_valid_with_every_completed_row() {
    let (code, pq, csv, err) = interrupted_scan("sigint", &["-INT"]);
    assert_eq!(code, Some(130), "{err}");
    assert!(err.contains("INTERRUPTED after"), "{err}");
    check_interrupted_files(&pq, &csv);
    std::fs::remove_dir_all(pq.parent().unwrap()).unwrap();
}

#[test]
fn second_signal_stops_at_once_and_files_stay_valid() {
    let (code, pq, csv, err) = interrupted_scan("sigterm2", &["-TERM", "-INT"]);
    assert_eq!(code, Some(130), "{err}");
    check_interrupted_files(&pq, &csv);
    std::fs::remove_dir_all(pq.parent().unwrap()).unwrap();
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
    let zones = Zones::load_manifest(&fixtures_dir().join("zones.txt")).unwrap();
    let sick = Server::builder().zones(zones).faults(f).start().unwrap();
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
fn classify_reads_names_and_evaluates_labels() {
    let o = ptraudit_with_stdin(
        &["classify", "--eval"],
        b"ip,hostname,label\n\
              98.228.39.173,c-98-228-39-173.hsd1.ca.comcast.net,generic\n\
              203.0.113.25\tmail.example.com\tcustom\n\
              203.0.113.26,smtp02.example.com,generic\n\
              198.18.5.7,static-198-18-5-7.biz.isp.test,generic\n",
    );
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "ip,hostname,generic,score,reasons");
    assert_eq!(lines.len(), 5);
    assert!(
        lines[1].starts_with("98.228.39.173,c-98-228-39-173.hsd1.ca.comcast.net,true,"),
        "{out}"
    );
    assert!(lines[2].contains(",mail.example.com,false,"), "{out}");
    // smtp02 is custom, so the (wrong) label makes one false negative: P=1, R=2/3.
    assert!(
        err.contains("4 rows, generic precision 1.0000, recall 0.6667, F1 0.8000"),
        "{err}"
    );
    assert!(
        err.contains("line 4: smtp02.example.com labelled generic, classified custom"),
        "{err}"
    );
    // A label that is neither generic nor custom is an error naming the line.
    let o = ptraudit_with_stdin(&["classify", "--eval", "-"], b"1.2.3.4,x.example,maybe\n");
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("line 1"), "{}", text(&o).1);
}

/// Starts a checkpointed scan of the /20 in `dir` (CSV + Parquet), waits until the
/// checkpoint has recorded progress, sends `signal`, then resumes it and returns the rows
/// of both final outputs.
fn interrupt_and_resume(
    tag: &str,
    signal: &str,
) -> (Vec<ptraudit_scan::Row>, Vec<ptraudit_scan::Row>) {
    interrupt_and_resume_at(tag, signal, true)
}

/// `wait_for_progress`: signal once the checkpoint records progress; otherwise as soon as
/// the checkpoint file exists (right at the start).
fn interrupt_and_resume_at(
    tag: &str,
    signal: &str,
    wait_for_progress: bool,
) -> (Vec<ptraudit_scan::Row>, Vec<ptraudit_scan::Row>) {
    let s = server();
    let dir = tempdir(tag);
    let resolver = s.udp_addr().to_string();
    let child = Command::new(env!("CARGO_BIN_EXE_ptraudit"))
        .current_dir(&dir)
        .args([
            "scan",
            "198.18.0.0/20",
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
    // Wait (bounded) until a checkpoint with progress exists.
    for _ in 0..400 {
        if std::fs::read_to_string(dir.join("cp.json"))
            .is_ok_and(|t| !wait_for_progress || !t.contains("\"done_below\":0,"))
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    send_signal(signal, child.id());
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    if signal != "-KILL" {
        assert_eq!(o.status.code(), Some(130), "{err}");
        assert!(err.contains("ptraudit scan --resume cp.json"), "{err}");
    }
    assert!(
        !dir.join("out.csv").exists(),
        "the final file appears only when complete"
    );
    let o = Command::new(env!("CARGO_BIN_EXE_ptraudit"))
        .current_dir(&dir)
        .args(["scan", "--resume", "cp.json"])
        .output()
        .unwrap();
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("resuming cp.json:"), "{err}");
    let csv = ptraudit_report::read_rows(&dir.join("out.csv")).unwrap();
    let pq = ptraudit_report::read_rows(&dir.join("out.parquet")).unwrap();
    // Resuming a complete scan does nothing.
    let o = Command::new(env!("CARGO_BIN_EXE_ptraudit"))
        .current_dir(&dir)
        .args(["scan", "--resume", "cp.json"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert!(text(&o).1.contains("nothing to resume"));
    std::fs::remove_dir_all(&dir).unwrap();
    (csv, pq)
}

fn assert_every_address_once(rows: &[ptraudit_scan::Row]) {
    let verdicts = verdicts();
    let mut seen = std::collections::HashSet::new();
    for r in rows {
        assert!(r.ip.to_string().starts_with("198.18."), "{} scanned", r.ip);
        assert!(seen.insert(r.ip), "{} twice", r.ip);
        assert_eq!(r.fcrdns.as_str(), verdicts[&r.ip], "{}", r.ip);
    }
    assert_eq!(seen.len(), 4096, "no address missing");
}

#[test]
fn sigint_then_resume_gives_every_address_exactly_once() {
    let (csv, mut pq) = interrupt_and_resume("resume-int", "-INT");
    assert_every_address_once(&csv);
    let mut csv = csv;
    csv.sort_by_key(|r| r.ip);
    pq.sort_by_key(|r| r.ip);
    assert_eq!(csv, pq);
}

#[test]
fn sigkill_then_resume_redoes_rows_after_the_checkpoint_without_duplicates() {
    let (csv, pq) = interrupt_and_resume("resume-kill", "-KILL");
    assert_every_address_once(&csv);
    assert_every_address_once(&pq);
}

#[test]
fn sigterm_then_resume_gives_every_address_exactly_once() {
    let (csv, pq) = interrupt_and_resume("resume-term", "-TERM");
    assert_every_address_once(&csv);
    assert_every_address_once(&pq);
}

#[test]
fn sigkill_right_at_the_start_can_be_resumed_too() {
    let (csv, pq) = interrupt_and_resume_at("resume-early", "-KILL", false);
    assert_every_address_once(&csv);
    assert_every_address_once(&pq);
}

#[test]
fn checkpoint_needs_an_output_file() {
    let s = server();
    let o = ptraudit(&[
        "scan",
        "198.18.0.0/30",
        "--resolver",
        &s.udp_addr().to_string(),
        "--checkpoint",
        "/tmp/x.json",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("--checkpoint needs -o FILE"));
    let o = ptraudit(&["scan", "--resume", "/nonexistent/cp.json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("/nonexistent/cp.json"));
}

/// The figure the README reports: precision and recall for `generic` on the labelled set.
#[test]
fn labelled_set_meets_the_precision_and_recall_goals() {
    let labeled = fixtures_dir().join("../classify/labeled.tsv");
    let o = ptraudit(&["classify", "--eval", labeled.to_str().unwrap()]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let data = std::fs::read_to_string(&labeled).unwrap();
    let count = |label: &str| {
        data.lines()
            .filter(|l| l.split('\t').nth(2) == Some(label))
            .count()
    };
    assert!(count("generic") >= 300 && count("custom") >= 300);
    assert_eq!(out.lines().count(), 1 + count("generic") + count("custom"));
    let figure = |key: &str| -> f64 {
        let at = err.find(key).unwrap_or_else(|| panic!("no {key} in {err}")) + key.len();
        err[at..]
            .split([',', ' '])
            .find(|s| !s.is_empty())
            .unwrap()
            .parse()
            .unwrap()
    };
    let (precision, recall) = (figure("precision "), figure("recall "));
    assert!(precision >= 0.98, "precision {precision}: {err}");
    assert!(recall >= 0.95, "recall {recall}: {err}");
}

#[test]
fn rules_file_overrides_the_verdicts_of_classify_scan_and_check() {
    let dir = tempdir("rules");
    let rules = dir.join("my.rules");
    // The ISP of the fixtures names its dynamic pool per address, but (say) marks a
    // customer's own naming as custom.
    std::fs::write(
        &rules,
        "# our customers choose these\ncustom isp-dyn *.dyn.isp.test\nhard zorp\n",
    )
    .unwrap();
    let rules = rules.to_str().unwrap();
    let input = b"198.18.5.7,198-18-5-7.dyn.isp.test\n198.18.5.8,zorp-9.example.test\n";
    let o = ptraudit_with_stdin(&["classify"], input);
    let (out, _) = text(&o);
    assert!(out.contains("198-18-5-7.dyn.isp.test,true,"), "{out}");
    let o = ptraudit_with_stdin(&["classify", "--rules", rules], input);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        out.contains("198-18-5-7.dyn.isp.test,false,") && out.contains("rule:isp-dyn"),
        "{out}"
    );
    assert!(out.contains("keyword:zorp"), "{out}");

    // The scan's generic column follows the same rules.
    let s = server();
    let csv = dir.join("scan.csv");
    let o = ptraudit(&[
        "scan",
        "198.18.0.0/24",
        "--resolver",
        &s.udp_addr().to_string(),
        "-q",
        "--rules",
        rules,
        "-o",
        csv.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o).1);
    let rows = ptraudit_report::read_rows(&csv).unwrap();
    let dyn_rows: Vec<_> = rows
        .iter()
        .filter(|r| {
            r.ptr
                .as_deref()
                .is_some_and(|p| p.ends_with(".dyn.isp.test"))
        })
        .collect();
    assert!(!dyn_rows.is_empty());
    for r in dyn_rows {
        assert_eq!(r.generic, Some(false), "{r:?}");
        assert!(
            r.generic_reasons.iter().any(|c| c == "rule:isp-dyn"),
            "{r:?}"
        );
    }

    // A broken rules file stops the command before any query, naming file and line.
    let bad = dir.join("bad.rules");
    std::fs::write(&bad, "hard dyn\nprovider only-a-code\n").unwrap();
    for args in [
        vec!["classify", "--rules", bad.to_str().unwrap(), "-"],
        vec!["scan", "198.18.0.0/30", "--rules", bad.to_str().unwrap()],
    ] {
        let o = ptraudit_with_stdin(&args, b"x.example\n");
        let (_, err) = text(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("bad.rules") && err.contains("line 2"),
            "{args:?}: {err}"
        );
    }
    let o = ptraudit(&["classify", "--print-rules"]);
    assert_eq!(text(&o).0, ptraudit_classify::DEFAULT_RULES);
    std::fs::remove_dir_all(&dir).unwrap();
}
