//! `ptraudit scan --checkpoint` / `--resume`: a scan stopped at any point and resumed
//! gives every address exactly once.

use std::process::{Command, Stdio};

use crate::util::{ptraudit, send_signal, server, tempdir, text, verdicts};

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
