//! `ptraudit classify` and `--rules`: generic-name verdicts, their evaluation, and rules
//! files shared by classify, scan and check.

use ptraudit_testdns::fixtures_dir;

use crate::util::{ptraudit, ptraudit_with_stdin, server, tempdir, text};

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
    let (precision, recall) = eval_figures(&err);
    assert!(precision >= 0.98, "precision {precision}: {err}");
    assert!(recall >= 0.95, "recall {recall}: {err}");
}

/// Precision and recall as `classify --eval` prints them.
fn eval_figures(err: &str) -> (f64, f64) {
    let figure = |key: &str| -> f64 {
        let at = err.find(key).unwrap_or_else(|| panic!("no {key} in {err}")) + key.len();
        err[at..]
            .split([',', ' '])
            .find(|s| !s.is_empty())
            .unwrap()
            .parse()
            .unwrap()
    };
    (figure("precision "), figure("recall "))
}

/// The goal of issue 15 on names the rules were not written from: real PTR names quoted
/// in public text (fixtures/classify/SOURCES.md says where each comes from).
#[test]
fn independent_set_meets_the_precision_and_recall_goals() {
    let path = fixtures_dir().join("../classify/independent.tsv");
    let o = ptraudit(&["classify", "--eval", path.to_str().unwrap()]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let data = std::fs::read_to_string(&path).unwrap();
    let rows: Vec<Vec<&str>> = data
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split('\t').collect())
        .collect();
    // Every row names its source.
    assert!(rows.iter().all(|r| r.len() == 4 && !r[3].trim().is_empty()));
    assert!(rows.len() >= 350, "{} rows", rows.len());
    assert!(rows.iter().filter(|r| r[2] == "generic").count() >= 120);
    // From several sources, not one corpus.
    let mut sources: Vec<&str> = rows
        .iter()
        .map(|r| r[3].split([' ', ',']).next().unwrap_or(""))
        .collect();
    sources.sort_unstable();
    sources.dedup();
    assert!(sources.len() >= 3, "{sources:?}");
    let (precision, recall) = eval_figures(&err);
    assert!(
        precision >= INDEPENDENT_PRECISION,
        "precision {precision}: {err}"
    );
    assert!(recall >= INDEPENDENT_RECALL, "recall {recall}: {err}");
}

/// The goal of issue 15, met: precision 0.9922, recall 0.9771 on 358 rows, 131 generic,
/// from four sources (README, "The generic-name classifier", and fixtures/classify/SOURCES.md; formerly 0.9919 / 0.9389 and a
/// threshold of 0.93). The one false positive is Hotmail's `bay1-f95` (its last octet numbers
/// the host; the set labels mail providers custom); the three misses are names shared by a
/// whole block that no shape separates from a chosen name (`static.vdc.vn` reads like a
/// site's `static.example.com`, `block1-che…`, `hn.kd.ny.adsl` under a made-up TLD).
const INDEPENDENT_PRECISION: f64 = 0.99;
const INDEPENDENT_RECALL: f64 = 0.97;

/// Names of one /24 that follow one template whose number tracks the address are
/// generic together; a customer's own numbered hosts are not.
#[test]
fn classify_flags_neighbourhood_templates() {
    let mut input = String::new();
    for h in 1..=24u32 {
        input.push_str(&format!("198.18.9.{h},k{}-b.net9.example.test\n", 4700 + h));
    }
    input.push_str("198.18.9.200,shop.customer.test\n");
    for h in 1..=3u32 {
        input.push_str(&format!("198.18.10.{h},mail{h}.customer.test\n"));
    }
    let o = ptraudit_with_stdin(&["classify"], input.as_bytes());
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1 + 24 + 1 + 3);
    for l in &lines[1..=24] {
        assert!(
            l.contains(",true,") && l.contains("template:k#-b.net9.example.test"),
            "{l}"
        );
    }
    for l in &lines[25..] {
        assert!(l.contains(",false,") && !l.contains("template:"), "{l}");
    }
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

/// The hostname cell is guarded like the scan's CSV (a leading `'` before `=`, `+`, `-`,
/// `@`); the score stays a number even when negative.
#[test]
fn classify_guards_formula_hostnames_but_not_scores() {
    let o = ptraudit_with_stdin(&["classify"], b"=HYPERLINK(1).test\nmail.example.com\n");
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[1].starts_with(",'=hyperlink(1).test,")
            || lines[1].starts_with(",'=HYPERLINK(1).test,"),
        "{out}"
    );
    assert!(lines[2].contains(",mail.example.com,false,-"), "{out}");
}
