//! Shared helpers: the binary, its output as text, temporary folders, the test server
//! and the fixtures' ground truth.

use std::collections::HashMap;
use std::io::Write;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use ptraudit_testdns::{Faults, Server, Truth, Zones, fixtures_dir};

/// The test server on a loopback port, serving the fixture network.
pub fn server() -> Server {
    server_with_faults(Faults::default())
}

/// [`server`] with `faults` injected.
pub fn server_with_faults(faults: Faults) -> Server {
    let zones = Zones::load_manifest(&fixtures_dir().join("zones.txt")).unwrap();
    Server::builder()
        .zones(zones)
        .faults(faults)
        .start()
        .unwrap()
}

/// Runs the binary with `args` and waits for it.
pub fn ptraudit(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ptraudit"))
        .args(args)
        .output()
        .unwrap()
}

/// Runs the binary with `input` on its stdin.
pub fn ptraudit_with_stdin(args: &[&str], input: &[u8]) -> Output {
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

/// Sends a signal (`-INT`, `-TERM`, `-KILL`) with the shell's `kill` builtin, so no
/// procps package is needed.
pub fn send_signal(signal: &str, pid: u32) {
    let ok = Command::new("sh")
        .args(["-c", &format!("kill {signal} {pid}")])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {signal} {pid} failed");
}

/// Waits (at most 10 s) until the checkpoint at `path` exists and, with `progress`,
/// records positions done: the scan writing it is midway.
pub fn wait_for_checkpoint(path: &std::path::Path, progress: bool) {
    for _ in 0..400 {
        if std::fs::read_to_string(path)
            .is_ok_and(|t| !progress || !t.contains("\"done_below\":0,"))
        {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
}

/// A test server for one reverse zone and `example.test.`: each zone an SOA and the
/// records given.
pub fn zone_server(reverse_origin: &str, reverse: &str, forward: &str) -> Server {
    let soa = "$TTL 60\n@ SOA ns.test. host.test. 1 3600 600 86400 60\n";
    Server::builder()
        .zone_text(reverse_origin, &format!("{soa}{reverse}"))
        .unwrap()
        .zone_text("example.test.", &format!("{soa}{forward}"))
        .unwrap()
        .start()
        .unwrap()
}

/// Runs `ptraudit scan ARGS -o OUT`, checks it succeeds, and returns the rows of OUT and
/// standard error.
pub fn scan_rows(out: &std::path::Path, args: &[&str]) -> (Vec<ptraudit_scan::Row>, String) {
    let mut all = vec!["scan"];
    all.extend(args);
    all.extend(["-o", out.to_str().unwrap()]);
    let o = ptraudit(&all);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    (ptraudit_report::read_rows(out).unwrap(), err)
}

/// Standard output and standard error, as text.
pub fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into(),
        String::from_utf8_lossy(&o.stderr).into(),
    )
}

/// A fresh, empty folder for one test (`tag` tells the tests apart).
pub fn tempdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ptraudit-cli-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Every row of the fixtures' ground truth.
pub fn truth() -> Vec<Truth> {
    ptraudit_testdns::load_truth(&fixtures_dir()).unwrap()
}

/// The ground truth's FCrDNS verdict (`fcrdns` column) of every address.
pub fn verdicts() -> HashMap<IpAddr, String> {
    truth().into_iter().map(|t| (t.ip, t.fcrdns)).collect()
}

/// The first truth row of a category with the given verdict (and no RFC 2317 CNAME).
pub fn address(category: &str, fcrdns: &str) -> String {
    truth()
        .into_iter()
        .find(|t| t.category == category && t.fcrdns == fcrdns && t.cname_chain.is_empty())
        .map(|t| t.ip.to_string())
        .unwrap()
}
