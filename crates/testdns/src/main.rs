//! `ptraudit-testdns`: serve fixture zones on loopback, for demos and benchmarks.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use ptraudit_testdns::{Faults, Server, Zones};

const USAGE: &str = "\
usage: ptraudit-testdns --zones MANIFEST [--listen 127.0.0.1:0] [--workers N]
                        [--ent-nxdomain]
       ptraudit-testdns knot --zones MANIFEST [--workers N]
       ptraudit-testdns unbound --zones MANIFEST --upstream IP:PORT [--workers N]
                        [--seed N] [--drop P] [--delay-share P] [--delay MS] [--jitter MS]
                        [--duplicate P] [--wrong-id P] [--wrong-source P]
                        [--wrong-question P] [--malformed P] [--truncate P]
                        [--servfail P] [--refused P]

Serves the zones of MANIFEST (one `ORIGIN FILE` per line) over UDP and TCP, prints
`listening udp=ADDR tcp=ADDR` on stdout, and runs until killed. P is a share 0..1.
Only loopback addresses are accepted for --listen. --ent-nxdomain answers empty
non-terminals NXDOMAIN instead of NOERROR (old tinydns/PowerDNS, against RFC 8020).

`knot` runs Knot DNS with the same zones instead (Debian package knot), `unbound` runs
Unbound with a stub zone per zone pointing at --upstream (a Knot from `knot`); both on a
free loopback port, printed the same way, stopped when this process is killed.";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ptraudit-testdns: {e}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1).peekable();
    let external = match args.peek().map(String::as_str) {
        Some(which @ ("knot" | "unbound")) => {
            let which = which.to_string();
            args.next();
            Some(which)
        }
        _ => None,
    };
    let mut upstream: Option<SocketAddr> = None;
    let mut zones: Option<PathBuf> = None;
    let mut listen: SocketAddr = "127.0.0.1:0".parse().expect("valid literal");
    let mut workers = 1usize;
    let mut faults = Faults::default();
    let mut ent_nxdomain = false;
    while let Some(flag) = args.next() {
        if flag == "-h" || flag == "--help" {
            println!("{USAGE}");
            return Ok(());
        }
        if flag == "--ent-nxdomain" {
            ent_nxdomain = true;
            continue;
        }
        let value = args
            .next()
            .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let share = |v: &str| -> Result<f64, String> {
            match v.parse::<f64>() {
                Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
                _ => Err(format!(
                    "{flag}: expected a share between 0 and 1, got {v:?}"
                )),
            }
        };
        let ms = |v: &str| -> Result<Duration, String> {
            v.parse::<u64>()
                .map(Duration::from_millis)
                .map_err(|_| format!("{flag}: expected milliseconds, got {v:?}"))
        };
        match flag.as_str() {
            "--zones" => zones = Some(PathBuf::from(value)),
            "--upstream" => {
                upstream = Some(
                    value
                        .parse()
                        .map_err(|_| format!("--upstream: not an IP:PORT: {value:?}"))?,
                )
            }
            "--listen" => {
                listen = value
                    .parse()
                    .map_err(|_| format!("--listen: not an IP:PORT: {value:?}"))?;
                if !listen.ip().is_loopback() {
                    return Err(format!("--listen: {value} is not a loopback address"));
                }
            }
            "--workers" => {
                workers = value
                    .parse()
                    .map_err(|_| format!("--workers: not a number: {value:?}"))?
            }
            "--seed" => {
                faults.seed = value
                    .parse()
                    .map_err(|_| format!("--seed: not a number: {value:?}"))?
            }
            "--drop" => faults.drop = share(&value)?,
            "--delay-share" => faults.delay_share = share(&value)?,
            "--delay" => faults.delay = ms(&value)?,
            "--jitter" => faults.jitter = ms(&value)?,
            "--duplicate" => faults.duplicate = share(&value)?,
            "--wrong-id" => faults.wrong_id = share(&value)?,
            "--wrong-source" => faults.wrong_source = share(&value)?,
            "--wrong-question" => faults.wrong_question = share(&value)?,
            "--malformed" => faults.malformed = share(&value)?,
            "--truncate" => faults.truncate = share(&value)?,
            "--servfail" => faults.servfail = share(&value)?,
            "--refused" => faults.refused = share(&value)?,
            other => return Err(format!("unknown option {other:?}\n{USAGE}")),
        }
    }
    let manifest = zones.ok_or_else(|| format!("--zones is required\n{USAGE}"))?;
    if let Some(which) = external {
        if ent_nxdomain {
            return Err(format!(
                "--ent-nxdomain applies to our own server, not {which}"
            ));
        }
        let server = if which == "knot" {
            ptraudit_testdns::external::start_knot(&manifest, Some(workers as u32))
        } else {
            let upstream = upstream.ok_or("unbound needs --upstream IP:PORT")?;
            ptraudit_testdns::external::start_unbound(&manifest, upstream, workers as u32)
        }
        .map_err(|e| e.to_string())?;
        println!(
            "listening udp={} tcp={} pid={}",
            server.addr(),
            server.addr(),
            server.pid()
        );
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
        // The caller stops the server by killing the printed pid (a signal to us would
        // not run destructors), then us.
        loop {
            std::thread::park();
        }
    }
    let zones = Zones::load_manifest(&manifest).map_err(|e| e.to_string())?;
    let server = Server::builder()
        .zones(zones)
        .faults(faults)
        .listen(listen)
        .workers(workers)
        .ent_nxdomain(ent_nxdomain)
        .start()
        .map_err(|e| e.to_string())?;
    println!(
        "listening udp={} tcp={}",
        server.udp_addr(),
        server.tcp_addr()
    );
    // Flushed so a script reading our stdout through a pipe sees the line at once.
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    loop {
        std::thread::park();
    }
}
