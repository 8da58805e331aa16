//! `ptraudit report`: totals per prefix and the HTML page.

use crate::util::{ptraudit, tempdir, text, truth};

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
    // addresses, pass, mismatch, nodata, nxdomain, no_ptr, generic, mail_ready,
    // multi_ptr_unconfirmed
    let mut want = [0u64; 9];
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
        // A pass with a stale second PTR (issue 17) is not mail-ready.
        let flagged = t.flags == "multi-ptr-unconfirmed";
        want[7] += u64::from(t.fcrdns == "pass" && t.generic == "false" && !flagged);
        want[8] += u64::from(flagged);
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
        "multi_ptr_unconfirmed",
    ]
    .map(col);
    assert!(want[8] > 0, "the fixtures have multi-PTR addresses");
    let mut got = [0u64; 9];
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

/// `report` over Parquet parts reads their dataset metadata: the shards of one scan merge
/// silently, a part of another scan is merged with a warning, the same shard twice
/// (overlapping parts) is refused naming both files unless `--allow-overlap`, and files
/// without metadata (CSV) are accepted silently.
#[test]
fn report_checks_the_parts_it_merges() {
    let server = crate::util::server();
    let resolver = server.udp_addr().to_string();
    let dir = tempdir("report-parts");
    let path = |name: &str| dir.join(name).to_str().unwrap().to_string();
    let scan = |target: &str, shard: &str, out: &str| {
        let o = ptraudit(&[
            "scan",
            target,
            "--resolver",
            &resolver,
            "--shard",
            shard,
            "-o",
            &path(out),
            "-q",
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", text(&o).1);
    };
    // `report` over the named files (or folders): exit code, standard output and error.
    let report = |names: &[&str], extra: &[&str]| {
        let mut args = vec!["report".to_string()];
        args.extend(names.iter().map(|n| path(n)));
        args.extend(extra.iter().map(|a| a.to_string()));
        let o = ptraudit(&args.iter().map(String::as_str).collect::<Vec<_>>());
        let (out, err) = text(&o);
        (o.status.code(), out, err)
    };
    scan("198.18.0.0/22", "0/2", "a.parquet");
    scan("198.18.0.0/22", "1/2", "b.parquet");
    // The same shard of the same scan again, and a part of another scan.
    scan("198.18.0.0/22", "1/2", "b-again.parquet");
    scan("198.18.4.0/24", "0/1", "other.parquet");
    scan("198.18.4.0/24", "0/1", "other.csv");

    let (code, out, err) = report(&["a.parquet", "b.parquet"], &[]);
    assert_eq!(code, Some(0), "{err}");
    assert!(!err.contains("warning"), "{err}");
    let total: Vec<&str> = out.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(total[..2], ["total", "1024"], "{out}");

    let (code, _, err) = report(&["a.parquet", "b.parquet", "other.parquet"], &[]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("warning: merging parts of different scans")
            && err.contains("a.parquet")
            && err.contains("other.parquet"),
        "{err}"
    );

    let (code, _, err) = report(&["a.parquet", "b.parquet", "b-again.parquet"], &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("b.parquet")
            && err.contains("b-again.parquet")
            && err.contains("--allow-overlap"),
        "{err}"
    );
    let (code, _, err) = report(
        &["a.parquet", "b.parquet", "b-again.parquet"],
        &["--allow-overlap"],
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("rows repeated an address"), "{err}");

    // A file without metadata merges silently; a folder reads every part in it.
    let (code, _, err) = report(&["a.parquet", "other.csv"], &[]);
    assert_eq!(code, Some(0), "{err}");
    assert!(!err.contains("warning"), "{err}");
    std::fs::create_dir(dir.join("parts")).unwrap();
    for f in ["a.parquet", "b.parquet"] {
        std::fs::copy(dir.join(f), dir.join("parts").join(f)).unwrap();
    }
    let (code, out, err) = report(&["parts"], &[]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.lines().nth(1).unwrap().contains(" 1024 "), "{out}");
    std::fs::remove_dir_all(&dir).unwrap();
}
