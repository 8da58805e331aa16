//! Single-core throughput of the classifier (names/s) and of the row writers (rows/s:
//! CSV, JSON lines, Parquet), the goals of the throughput issue being >= 1M/s each.
//!
//! `cargo bench -p ptraudit-benches --bench classify_and_writers` measures 1,000,000 of
//! each, five times, and prints the medians; `cargo test --benches` runs a small smoke
//! pass (no `--bench` argument) so the code cannot rot.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Instant, SystemTime};

use ptraudit_report::{CsvSink, JsonlSink, ParquetSink};
use ptraudit_scan::{Fcrdns, Row, Sink};

/// A mix of name styles like a provider's space: generic in several styles, custom,
/// router-like.
fn names(n: usize) -> Vec<(IpAddr, String)> {
    (0..n)
        .map(|i| {
            let ip = Ipv4Addr::from(0xc612_0000u32.wrapping_add(i as u32));
            let [a, b, c, d] = ip.octets();
            let name = match i % 8 {
                0 => format!("{a}-{b}-{c}-{d}.dyn.isp.test"),
                1 => format!("ip-{a}-{b}-{c}-{d}.pool.isp.test"),
                2 => format!("{d}.{c}.{b}.{a}.broadband.isp.test"),
                3 => format!("{a:02x}{b:02x}{c:02x}{d:02x}.cpe.isp.test"),
                4 => format!("mail{}.customer{}.test", i % 7, i % 13),
                5 => format!("xe-0-0-{}-1.core{}.city.carrier.test", i % 48, i % 4),
                6 => format!("static-{a}-{b}-{c}-{d}.biz.isp.test"),
                _ => format!("cust{c}-{d}.fiber.isp.test"),
            };
            (IpAddr::V4(ip), name)
        })
        .collect()
}

fn rows(n: usize) -> Vec<Row> {
    names(n)
        .into_iter()
        .map(|(ip, name)| Row {
            ip,
            prefix: ptraudit_scan::PrefixLens::DEFAULT.of(ip),
            ptr_status: ptraudit_scan::Status::Answer,
            ptr: Some(name.clone()),
            ptr_all: vec![name],
            cname_chain: vec![],
            forward_addrs: vec![ip],
            fcrdns: Fcrdns::Pass,
            fcrdns_reason: None,
            generic: Some(true),
            generic_reasons: vec!["ip-embedded:dashed".into(), "keyword:dyn".into()],
            resolver: Some("127.0.0.1:53".parse().unwrap()),
            attempts: 2,
            rtt_ms: Some(1),
            scanned_at: SystemTime::now(),
            dnsbl: Vec::new(),
            dnsbl_listed: None,
        })
        .collect()
}

fn rate(n: usize, f: impl FnOnce()) -> f64 {
    let t = Instant::now();
    f();
    n as f64 / t.elapsed().as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let (n, runs) = if bench { (1_000_000, 5) } else { (10_000, 1) };
    let input = names(n);
    let table = rows(n);
    let mut results: Vec<(&str, Vec<f64>)> = vec![
        ("classify names/s", vec![]),
        ("csv rows/s", vec![]),
        ("jsonl rows/s", vec![]),
        ("parquet rows/s", vec![]),
    ];
    for _ in 0..runs {
        let mut generic = 0usize;
        results[0].1.push(rate(n, || {
            for (ip, name) in &input {
                generic += usize::from(ptraudit_classify::classify(Some(*ip), name).generic);
            }
        }));
        assert!(generic > n / 2, "most of the mix is generic: {generic}");
        results[1].1.push(rate(n, || {
            let mut s = CsvSink::new(std::io::sink()).unwrap();
            for r in &table {
                s.row(r).unwrap();
            }
            s.finish().unwrap();
        }));
        results[2].1.push(rate(n, || {
            let mut s = JsonlSink::new(std::io::sink());
            for r in &table {
                s.row(r).unwrap();
            }
            s.finish().unwrap();
        }));
        results[3].1.push(rate(n, || {
            let mut s = ParquetSink::new(std::io::sink()).unwrap();
            for r in &table {
                s.row(r).unwrap();
            }
            black_box(s.close().unwrap());
        }));
    }
    for (what, v) in results {
        println!(
            "classify_and_writers n={n} runs={runs} {what}: {:.0}",
            median(v)
        );
    }
}
