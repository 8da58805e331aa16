//! Real DNS servers for interop tests and benchmarks: Knot DNS (authoritative) serving a
//! fixture manifest, and three recursive resolvers sending each fixture zone to it:
//! Unbound (stub zones), BIND 9 (forward zones) and PowerDNS Recursor (forward zones).
//! Each runs in the foreground from its own config in a temporary folder, on a free
//! loopback port, with a cold cache, and is killed when its handle is dropped.
//!
//! The resolvers never query the internet: each fixture zone goes to the given upstream,
//! and the root hints (where a resolver wants them) name only loopback addresses.

use std::fmt::Write as _;
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, Query};
use hickory_proto::rr::{Name, RecordType};

/// Errors starting an external server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExternalError {
    /// The program is not installed.
    #[error("{0} not found (install Debian package {1})")]
    NotInstalled(&'static str, &'static str),
    /// File or process trouble.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The manifest could not be read.
    #[error("bad manifest {0}")]
    Manifest(PathBuf),
    /// The server did not answer in time; its log is attached.
    #[error("{program} did not answer on {addr} within {secs} s; log:\n{log}")]
    NotReady {
        /// knotd or unbound.
        program: &'static str,
        /// Where it should listen.
        addr: SocketAddr,
        /// How long we waited.
        secs: u64,
        /// Its stderr/log so far.
        log: String,
    },
}

/// A running external server.
#[derive(Debug)]
pub struct External {
    child: Child,
    addr: SocketAddr,
    dir: PathBuf,
}

impl External {
    /// Where it answers (UDP and TCP).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The process ID (for measuring its CPU time).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for External {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// For tests: the started server, or `None` after a loud `SKIPPED` line (on the process's
/// stderr even under the test harness's capture) when the program
/// is not installed — unless `PTRAUDIT_REQUIRE_INTEROP=1` (the test command sets it), in
/// which case a missing program fails the test like any other error.
///
/// # Panics
/// On any error other than a missing program (a failed start must fail the test).
pub fn started_or_skip<T>(result: Result<T, ExternalError>, test: &str) -> Option<T> {
    let required = std::env::var_os("PTRAUDIT_REQUIRE_INTEROP").is_some_and(|v| v == "1");
    match result {
        Ok(x) => Some(x),
        Err(e @ ExternalError::NotInstalled(..)) if !required => {
            // Straight to the process's stderr, past the test harness's capture, so that
            // `scripts/test.sh` sees the line and counts the test as skipped, not passed.
            // One line per skipping test: callers return when this is `None`.
            use std::io::Write as _;
            let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {e}");
            None
        }
        Err(e) => panic!("{test}: {e}"),
    }
}

/// Finds a program on PATH or in the sbin folders (root's PATH may lack them).
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/local/sbin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// The zones of a manifest: `(origin with trailing dot, absolute file path)`.
pub fn manifest_zones(manifest: &Path) -> Result<Vec<(String, PathBuf)>, ExternalError> {
    let text = std::fs::read_to_string(manifest).map_err(|source| ExternalError::Io {
        what: format!("reading {}", manifest.display()),
        source,
    })?;
    let dir = manifest.parent().unwrap_or(Path::new("."));
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let mut parts = line.split_whitespace();
        let (Some(origin), Some(file)) = (parts.next(), parts.next()) else {
            return Err(ExternalError::Manifest(manifest.to_owned()));
        };
        let path = dir.join(file);
        let path = path.canonicalize().map_err(|source| ExternalError::Io {
            what: format!("zone file {}", path.display()),
            source,
        })?;
        out.push((origin.to_string(), path));
    }
    Ok(out)
}

fn temp_dir(tag: &str) -> Result<PathBuf, ExternalError> {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "ptraudit-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).map_err(|source| ExternalError::Io {
        what: format!("creating {}", dir.display()),
        source,
    })?;
    Ok(dir)
}

/// A loopback port free for both UDP and TCP right now.
pub fn free_port() -> Result<u16, ExternalError> {
    let io = |source| ExternalError::Io {
        what: "finding a free port".into(),
        source,
    };
    for _ in 0..50 {
        let udp = UdpSocket::bind("127.0.0.1:0").map_err(io)?;
        let port = udp.local_addr().map_err(io)?.port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    Err(io(std::io::Error::other(
        "no port free for both UDP and TCP",
    )))
}

fn write(path: &Path, text: &str) -> Result<(), ExternalError> {
    std::fs::write(path, text).map_err(|source| ExternalError::Io {
        what: format!("writing {}", path.display()),
        source,
    })
}

/// Starts Knot DNS serving every zone of `manifest` on a free loopback port.
///
/// Knot answers a delegation whose child zone is not in the manifest with a referral
/// (AA=0, NS in the authority section, glue), wildcards as RFC 4592 says.
///
/// `udp_workers` sets Knot's UDP threads (`None`: Knot's default, one per CPU).
pub fn start_knot(manifest: &Path, udp_workers: Option<u32>) -> Result<External, ExternalError> {
    let knotd = find_program("knotd").ok_or(ExternalError::NotInstalled("knotd", "knot"))?;
    let zones = manifest_zones(manifest)?;
    let dir = temp_dir("knot")?;
    let port = free_port()?;
    let mut conf = String::new();
    let _ = writeln!(conf, "server:\n    rundir: \"{}\"", dir.display());
    let _ = writeln!(conf, "    listen: 127.0.0.1@{port}");
    if let Some(n) = udp_workers {
        let _ = writeln!(conf, "    udp-workers: {n}");
    }
    let _ = writeln!(conf, "    tcp-workers: 1\n    background-workers: 1");
    let _ = writeln!(
        conf,
        "database:\n    storage: \"{}\"",
        dir.join("db").display()
    );
    let _ = writeln!(conf, "log:\n  - target: stderr\n    any: warning");
    let _ = writeln!(
        conf,
        "template:\n  - id: default\n    zonefile-sync: -1\n    journal-content: none\n    semantic-checks: off"
    );
    let _ = writeln!(conf, "zone:");
    for (origin, file) in &zones {
        let _ = writeln!(
            conf,
            "  - domain: \"{origin}\"\n    file: \"{}\"",
            file.display()
        );
    }
    let conf_path = dir.join("knot.conf");
    write(&conf_path, &conf)?;
    launch(
        &knotd,
        "knotd",
        &["-c", &path(&conf_path)],
        dir,
        port,
        &zones,
    )
}

/// Starts Unbound on a free loopback port, resolving every zone of `manifest` through
/// stub zones pointing at `upstream` (a Knot started with the same manifest).
///
/// Delegations below those zones are followed as Knot refers them: a child zone in the
/// manifest has its own stub, a delegation to a zone loaded nowhere (the lame node of
/// `fixtures/walk`) is tried at its glue and ends in SERVFAIL within about a second.
pub fn start_unbound(
    manifest: &Path,
    upstream: SocketAddr,
    threads: u32,
) -> Result<External, ExternalError> {
    let unbound =
        find_program("unbound").ok_or(ExternalError::NotInstalled("unbound", "unbound"))?;
    let zones = manifest_zones(manifest)?;
    let dir = temp_dir("unbound")?;
    let port = free_port()?;
    let mut conf = String::new();
    let _ = writeln!(conf, "server:");
    for line in [
        format!("interface: 127.0.0.1@{port}"),
        format!("port: {port}"),
        format!("directory: \"{}\"", dir.display()),
        format!("pidfile: \"{}\"", dir.join("unbound.pid").display()),
        format!("num-threads: {threads}"),
        "username: \"\"".into(),
        "chroot: \"\"".into(),
        "use-syslog: no".into(),
        "logfile: \"\"".into(),
        "verbosity: 1".into(),
        "do-daemonize: no".into(),
        "do-ip6: no".into(),
        "access-control: 127.0.0.0/8 allow".into(),
        // Offline: no trust anchor, no validator; loopback upstreams allowed.
        "module-config: \"iterator\"".into(),
        "do-not-query-localhost: no".into(),
        "qname-minimisation: no".into(),
        "harden-referral-path: no".into(),
        "target-fetch-policy: \"0 0 0 0 0\"".into(),
        "so-rcvbuf: 4m".into(),
        // A server that never answers (the lame delegation of fixtures/walk, glue
        // 127.0.0.2 where nothing listens) ends in SERVFAIL within a second: Unbound
        // doubles its timeout per try from 376 ms and gives a server up only when the
        // timeout reaches this cap (default 120 s, so a client would time out first).
        // Knot on loopback answers in well under a millisecond.
        "infra-cache-max-rtt: 400".into(),
        // .test and the documentation reverse zones are default static zones (RFC 6761,
        // RFC 6303): turn those off so the stubs are used. 198.18.0.0/15 (18.198 and
        // 19.198.in-addr.arpa) has no default zone in Unbound, so needs no line.
        "local-zone: \"test.\" nodefault".into(),
        "local-zone: \"8.b.d.0.1.0.0.2.ip6.arpa.\" nodefault".into(),
    ] {
        let _ = writeln!(conf, "    {line}");
    }
    let _ = writeln!(conf, "remote-control:\n    control-enable: no");
    for (origin, _) in &zones {
        let _ = writeln!(
            conf,
            "stub-zone:\n    name: \"{origin}\"\n    stub-addr: {}@{}",
            upstream.ip(),
            upstream.port()
        );
    }
    let conf_path = dir.join("unbound.conf");
    write(&conf_path, &conf)?;
    let args = ["-d", "-c", &path(&conf_path)];
    launch(&unbound, "unbound", &args, dir, port, &zones)
}

/// Root hints naming only a loopback address: a resolver that primes its root anyway
/// (at start, or for a name outside the fixtures) asks this machine, never the internet.
const LOOPBACK_ROOT_HINTS: &str = "\
.                    3600000 NS  a.root.invalid.
a.root.invalid.      3600000 A   127.0.0.53
";

/// Starts BIND 9 (`named`) as a recursive resolver on a free loopback port with `threads`
/// worker threads, forwarding every zone of `manifest` to `upstream` (a Knot started with
/// the same manifest), cold cache.
///
/// Everything is forwarded (`forward only` to `upstream`, for the root too), so BIND
/// never iterates from the root; DNSSEC validation and the RFC 6303 empty zones (which
/// would answer 2.0.192.in-addr.arpa and 8.b.d.0.1.0.0.2.ip6.arpa locally) are off. The
/// rest is BIND's default, as an operator would run it.
pub fn start_bind(
    manifest: &Path,
    upstream: SocketAddr,
    threads: u32,
) -> Result<External, ExternalError> {
    let named = find_program("named").ok_or(ExternalError::NotInstalled("named", "bind9"))?;
    let zones = manifest_zones(manifest)?;
    let dir = temp_dir("bind")?;
    let port = free_port()?;
    let hints = dir.join("root.hints");
    write(&hints, LOOPBACK_ROOT_HINTS)?;
    let forwarders = format!(
        "forwarders {{ {} port {}; }};",
        upstream.ip(),
        upstream.port()
    );
    let mut conf = String::new();
    let _ = writeln!(conf, "options {{");
    for line in [
        format!("directory \"{}\";", dir.display()),
        format!("pid-file \"{}\";", dir.join("named.pid").display()),
        format!("session-keyfile \"{}\";", dir.join("session.key").display()),
        format!("managed-keys-directory \"{}\";", dir.display()),
        format!("listen-on port {port} {{ 127.0.0.1; }};"),
        "listen-on-v6 { none; };".into(),
        "query-source address 127.0.0.1;".into(),
        "recursion yes;".into(),
        "allow-query { 127.0.0.0/8; };".into(),
        "allow-recursion { 127.0.0.0/8; };".into(),
        "dnssec-validation no;".into(),
        "empty-zones-enable no;".into(),
        "notify no;".into(),
        "forward only;".into(),
        forwarders.clone(),
    ] {
        let _ = writeln!(conf, "    {line}");
    }
    let _ = writeln!(conf, "}};\ncontrols {{ }};");
    let _ = writeln!(
        conf,
        "zone \".\" {{ type hint; file \"{}\"; }};",
        hints.display()
    );
    for (origin, _) in &zones {
        let _ = writeln!(
            conf,
            "zone \"{origin}\" {{ type forward; forward only; {forwarders} }};"
        );
    }
    let conf_path = dir.join("named.conf");
    write(&conf_path, &conf)?;
    // -g: foreground, log to stderr; -n: worker threads; -4: no IPv6 sockets.
    let threads = threads.max(1).to_string();
    let args = ["-g", "-4", "-n", &threads, "-c", &path(&conf_path)];
    launch(&named, "named", &args, dir, port, &zones)
}

/// Starts PowerDNS Recursor on a free loopback port with `threads` worker threads,
/// forwarding every zone of `manifest` to `upstream` (a Knot started with the same
/// manifest; `forward-zones`, so queries go with RD=0 as to an authoritative server),
/// cold cache.
///
/// Root hints name a loopback address, which the default `dont-query` list keeps the
/// Recursor from asking: priming goes nowhere. DNSSEC processing, the security poll (a
/// query to powerdns.com) and the RFC 1918 zones are off; the rest is the default.
pub fn start_pdns_recursor(
    manifest: &Path,
    upstream: SocketAddr,
    threads: u32,
) -> Result<External, ExternalError> {
    let recursor = find_program("pdns_recursor").ok_or(ExternalError::NotInstalled(
        "pdns_recursor",
        "pdns-recursor",
    ))?;
    let zones = manifest_zones(manifest)?;
    let dir = temp_dir("pdns")?;
    let port = free_port()?;
    let hints = dir.join("root.hints");
    write(&hints, LOOPBACK_ROOT_HINTS)?;
    let forward_zones: Vec<String> = zones
        .iter()
        .map(|(origin, _)| format!("{origin}={upstream}"))
        .collect();
    let mut conf = String::new();
    for line in [
        "local-address=127.0.0.1".to_string(),
        format!("local-port={port}"),
        format!("socket-dir={}", dir.display()),
        format!("hint-file={}", hints.display()),
        format!("threads={}", threads.max(1)),
        format!("forward-zones={}", forward_zones.join(",")),
        "query-local-address=127.0.0.1".into(),
        "allow-from=127.0.0.0/8".into(),
        "dnssec=off".into(),
        "security-poll-suffix=".into(),
        "serve-rfc1918=no".into(),
        "daemon=no".into(),
        "write-pid=no".into(),
        "disable-syslog=yes".into(),
        "loglevel=4".into(),
    ] {
        let _ = writeln!(conf, "{line}");
    }
    write(&dir.join("recursor.conf"), &conf)?;
    let args = [format!("--config-dir={}", dir.display())];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    launch(&recursor, "pdns_recursor", &args, dir, port, &zones)
}

fn path(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Starts `program` with `args` (its config written in `dir` already), logging to
/// `dir/PROGRAM.log`, and waits until it answers on `port` for the last zone of `zones`.
fn launch(
    program: &Path,
    name: &'static str,
    args: &[&str],
    dir: PathBuf,
    port: u16,
    zones: &[(String, PathBuf)],
) -> Result<External, ExternalError> {
    let log = dir.join(format!("{name}.log"));
    let child = spawn(program, args, &log)?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let server = External { child, addr, dir };
    let probe = zones.last().map_or(".".to_string(), |(o, _)| o.clone());
    wait_ready(server, name, &probe, &log)
}

fn spawn(program: &Path, args: &[&str], log: &Path) -> Result<Child, ExternalError> {
    let io = |what: String| move |source| ExternalError::Io { what, source };
    let log_file = std::fs::File::create(log).map_err(io(format!("creating {}", log.display())))?;
    let log_err = log_file
        .try_clone()
        .map_err(io(format!("opening {}", log.display())))?;
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(log_file)
        .stderr(log_err)
        .spawn()
        .map_err(io(format!("starting {}", program.display())))
}

fn wait_ready(
    mut server: External,
    program: &'static str,
    probe: &str,
    log: &Path,
) -> Result<External, ExternalError> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let name = crate::zonefile::parse_name(probe, &Name::root()).unwrap_or_else(|_| Name::root());
    let socket = UdpSocket::bind("127.0.0.1:0").map_err(|source| ExternalError::Io {
        what: "probe socket".into(),
        source,
    })?;
    let _ = socket.set_read_timeout(Some(Duration::from_millis(200)));
    let mut query = Message::query();
    query.metadata.recursion_desired = true;
    query.add_query(Query::query(name, RecordType::SOA));
    let bytes = query.to_vec().unwrap_or_default();
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        if let Ok(Some(_)) = server.child.try_wait() {
            break; // exited: report its log
        }
        let _ = socket.send_to(&bytes, server.addr);
        if let Ok(n) = socket.recv(&mut buf)
            && let Ok(reply) = Message::from_vec(&buf[..n])
            && !reply.answers.is_empty()
        {
            return Ok(server);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(ExternalError::NotReady {
        program,
        addr: server.addr,
        secs: 20,
        log: std::fs::read_to_string(log).unwrap_or_default(),
    })
}
