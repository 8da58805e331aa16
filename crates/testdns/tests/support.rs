//! What the test modules share: the `ptraudit-testdns` binary started as a process.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

/// `ptraudit-testdns` started as a process, killed when dropped; `.1` is the address of
/// its `listening udp=...` line.
pub struct Binary(Child, pub SocketAddr);

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `ptraudit-testdns ARGS` and waits for the address it prints.
pub fn binary<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Binary {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ptraudit-testdns"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("udp="))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .parse()
        .unwrap();
    Binary(child, addr)
}
