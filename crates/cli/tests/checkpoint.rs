//! `ptraudit scan --checkpoint` / `--resume`: a scan stopped at any point and resumed
//! gives every address exactly once.

use std::process::{Command, Stdio};

use crate::util::{ptraudit, send_signal, server, tempdir, text, verdicts, wait_for_checkpoint};

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
    wait_for_checkpoint(&dir.join("cp.json"), wait_for_progress);
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

/// Formerly `--resume` had to run in the folder the scan started in: the checkpoint kept
/// its paths as given, so from elsewhere the targets file, the excludes, the rules and
/// the outputs were not found (or new ones were made there). The checkpoint records the
/// working folder; a scan interrupted in folder A and resumed from folder B (with a
/// relative path to the checkpoint) ends as the same scan run uninterrupted.
#[test]
fn resume_from_another_folder_finishes_the_same_scan() {
    let s = server();
    let resolver = s.udp_addr().to_string();
    let parent = tempdir("resume-anywhere");
    let (a, b, c) = (parent.join("a"), parent.join("b"), parent.join("c"));
    for d in [&a, &b, &c] {
        std::fs::create_dir_all(d).unwrap();
        std::fs::write(d.join("targets.txt"), "# the /20\n198.18.0.0/20\n").unwrap();
        std::fs::write(d.join("excl.txt"), "198.18.1.0/24\n").unwrap();
        std::fs::write(d.join("my.rules"), "generic everything *\n").unwrap();
    }
    let args = [
        "scan",
        "-i",
        "targets.txt",
        "--exclude",
        "excl.txt",
        "--rules",
        "my.rules",
        "--resolver",
        &resolver,
        "-o",
        "out.csv",
        "-o",
        "out.parquet",
        "--summary",
        "sum.csv",
    ];
    let child = Command::new(env!("CARGO_BIN_EXE_ptraudit"))
        .current_dir(&a)
        .args(args)
        .args(["--rate", "1500", "--checkpoint", "cp.json"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_checkpoint(&a.join("cp.json"), true);
    send_signal("-INT", child.id());
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130), "{}", text(&o).1);
    assert!(!a.join("out.csv").exists());

    let o = Command::new(env!("CARGO_BIN_EXE_ptraudit"))
        .current_dir(&b)
        .args(["scan", "--resume", "../a/cp.json"])
        .output()
        .unwrap();
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("resuming"), "{err}");
    let o = Command::new(env!("CARGO_BIN_EXE_ptraudit"))
        .current_dir(&c)
        .args(args)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o).1);

    // Nothing was written in B; A holds the finished outputs.
    assert_eq!(
        std::fs::read_dir(&b).unwrap().count(),
        3,
        "B holds only its inputs"
    );
    let key = |r: &ptraudit_scan::Row| {
        (
            r.ip,
            r.ptr_all.clone(),
            r.fcrdns,
            r.fcrdns_reason,
            r.generic,
            r.generic_reasons.clone(),
        )
    };
    let rows = |p: std::path::PathBuf| {
        let mut v: Vec<_> = ptraudit_report::read_rows(&p)
            .unwrap()
            .iter()
            .map(key)
            .collect();
        v.sort_by_key(|k| k.0);
        v
    };
    let resumed = rows(a.join("out.csv"));
    let whole = rows(c.join("out.csv"));
    assert_eq!(
        resumed.len(),
        4096 - 256,
        "every address once, none excluded"
    );
    assert!(
        resumed.windows(2).all(|w| w[0].0 != w[1].0),
        "no address twice"
    );
    assert!(
        resumed
            .iter()
            .all(|k| !k.0.to_string().starts_with("198.18.1."))
    );
    // The rules file applied on both sides of the interruption.
    assert!(
        resumed
            .iter()
            .filter(|k| !k.1.is_empty())
            .all(|k| k.5.iter().any(|c| c == "rule:everything"))
    );
    assert_eq!(resumed, whole);
    assert_eq!(rows(a.join("out.parquet")), whole);
    assert_eq!(
        std::fs::read_to_string(a.join("sum.csv")).unwrap(),
        std::fs::read_to_string(c.join("sum.csv")).unwrap()
    );
    std::fs::remove_dir_all(&parent).unwrap();
}
