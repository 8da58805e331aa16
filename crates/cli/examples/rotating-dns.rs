//! The DNS server of `scripts/postfix-check.sh`: the zones of a manifest, served on a
//! loopback address like `ptraudit-testdns`, with every PTR RRset of several names
//! rotated by one position per question, as recursive resolvers do (BIND's default
//! cyclic order, Unbound's `rrset-roundrobin`). A mail server that connects from such
//! an address several times then sees each name first in turn — issue 17's "unknown
//! part of the time".
//!
//! ```text
//! cargo run -p ptraudit --example rotating-dns -- --zones fixtures/net/zones.txt --listen 127.0.0.1:53
//! ```
//!
//! Prints `listening udp=ADDR tcp=ADDR` and serves until killed.

use std::collections::HashMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Mutex;

use hickory_proto::rr::RecordType;
use ptraudit_testdns::{Server, Zones};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut zones: Option<PathBuf> = None;
    let mut listen: SocketAddr = "127.0.0.1:0".parse()?;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--zones" => zones = Some(PathBuf::from(value)),
            "--listen" => listen = value.parse()?,
            other => return Err(format!("unknown option {other:?}").into()),
        }
    }
    if !listen.ip().is_loopback() {
        return Err(format!("--listen {listen}: only loopback addresses").into());
    }
    let zones = Zones::load_manifest(&zones.ok_or("--zones MANIFEST is required")?)?;
    // Per question name, so each address's names take turns whatever else is asked in
    // between (one global counter could step by an even number between two
    // connections from the same address and never rotate its pair).
    let turns: Mutex<HashMap<String, usize>> = Mutex::new(HashMap::new());
    let server = Server::builder()
        .zones(zones)
        .listen(listen)
        .hook(move |_, reply| {
            let Some(q) = reply.queries.first() else {
                return;
            };
            let n = reply.answers.len();
            // Only a plain RRset of PTR names (a CNAME chain keeps its order).
            if q.query_type() != RecordType::PTR
                || n < 2
                || reply
                    .answers
                    .iter()
                    .any(|r| r.record_type() != RecordType::PTR)
            {
                return;
            }
            let mut turns = turns.lock().unwrap_or_else(|e| e.into_inner());
            let turn = turns.entry(q.name().to_ascii().to_lowercase()).or_insert(0);
            reply.answers.rotate_left(*turn % n);
            *turn += 1;
        })
        .start()?;
    println!(
        "listening udp={} tcp={}",
        server.udp_addr(),
        server.tcp_addr()
    );
    std::io::stdout().flush()?;
    loop {
        std::thread::park();
    }
}
