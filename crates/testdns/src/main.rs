//! `ptraudit-testdns`: serve fixture zones on loopback, for demos and benchmarks.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use ptraudit_testdns::{Faults, Server, Zones};

const USAGE: &str = "\
usage: ptraudit-testdns --zones MANIFEST [--listen 127.0.0.1:0] [--workers N]
                        [--ent-nxdomain]
       ptraudit-testdns proxy --upstream IP:PORT [--listen 127.0.0.1:0] [--workers N]
       ptraudit-testdns knot --zones MANIFEST [--workers N]
       ptraudit-testdns unbound|bind|pdns --zones MANIFEST --upstream IP:PORT [--workers N]
  faults (serve and proxy):
                        [--seed N] [--drop P] [--delay-share P] [--delay MS] [--jitter MS]
                        [--duplicate P] [--wrong-id P] [--wrong-source P]
                        [--wrong-question P] [--malformed P] [--truncate P]
                        [--servfail P] [--refused P]

Serves the zones of MANIFEST (one `ORIGIN FILE` per line) over UDP and TCP, prints
`listening udp=ADDR tcp=ADDR` on stdout, and runs until killed. P is a share 0..1.
Only loopback addresses are accepted for --listen. --ent-nxdomain answers empty
non-terminals NXDOMAIN instead of NOERROR (old tinydns/PowerDNS, against RFC 8020).

`proxy` forwards every query to the loopback server --upstream instead of serving zones,
and applies the faults to its replies (drop drops queries before they are forwarded).

`knot` runs Knot DNS with the same zones instead (Debian package knot); `unbound`,
`bind` and `pdns` run Unbound, BIND 9 (named) or PowerDNS Recursor as a recursive
resolver with a cold cache, sending each zone of MANIFEST to --upstream (a Knot from
`knot`), with --workers threads (Debian packages unbound, bind9, pdns-recursor); all on a
free loopback port, printed the same way with the server's pid, stopped when that pid
and then this process are killed.";

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
    let mut proxy = false;
    let external = match args.peek().map(String::as_str) {
        Some("proxy") => {
            args.next();
            proxy = true;
            None
        }
        Some(which @ ("knot" | "unbound" | "bind" | "pdns")) => {
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
                let addr: SocketAddr = value
                    .parse()
                    .map_err(|_| format!("--upstream: not an IP:PORT: {value:?}"))?;
                // Test traffic stays on this machine (the house rule for every server here).
                if !addr.ip().is_loopback() {
                    return Err(format!("--upstream: {value} is not a loopback address"));
                }
                upstream = Some(addr)
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
    if proxy {
        if zones.is_some() || ent_nxdomain {
            return Err(
                "proxy forwards to --upstream: --zones and --ent-nxdomain do not apply".into(),
            );
        }
        let upstream =
            upstream.ok_or_else(|| format!("proxy needs --upstream IP:PORT\n{USAGE}"))?;
        let server = Server::builder()
            .upstream(upstream)
            .faults(faults)
            .listen(listen)
            .workers(workers)
            .start()
            .map_err(|e| e.to_string())?;
        return serve_forever(&server);
    }
    let manifest = zones.ok_or_else(|| format!("--zones is required\n{USAGE}"))?;
    if let Some(which) = external {
        if ent_nxdomain {
            return Err(format!(
                "--ent-nxdomain applies to our own server, not {which}"
            ));
        }
        use ptraudit_testdns::external;
        let threads = u32::try_from(workers).map_err(|_| "--workers: too many")?;
        let server = if which == "knot" {
            external::start_knot(&manifest, Some(threads))
        } else {
            let upstream = upstream.ok_or_else(|| format!("{which} needs --upstream IP:PORT"))?;
            match which.as_str() {
                "unbound" => external::start_unbound(&manifest, upstream, threads),
                "bind" => external::start_bind(&manifest, upstream, threads),
                _ => external::start_pdns_recursor(&manifest, upstream, threads),
            }
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
    serve_forever(&server)
}

/// Prints where `server` listens and runs until killed.
fn serve_forever(server: &Server) -> Result<(), String> {
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
