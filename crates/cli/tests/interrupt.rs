//! `ptraudit scan` stopped by a signal: the files it leaves are valid and hold every
//! completed row.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::util::{send_signal, server, tempdir, verdicts};

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
