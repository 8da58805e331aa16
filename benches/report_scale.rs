//! `report` at scale: a /8 (16,777,216 rows) written as Parquet parts by the real writer
//! ([`ParquetSink`], as `scan -o part.parquet` writes them), then merged into the hygiene
//! report, with rows/s and the report's peak memory. The goal of issue 16: a /8 in
//! <= 256 MiB at >= 2 million rows/s.
//!
//! `cargo bench -p ptraudit-benches --bench report_scale` writes the /8 once (16 parts of
//! a /12, kept in `$TMPDIR/ptraudit-report-scale-16777216` for the next run) and runs the
//! report three times, each in a fresh child process so that its peak RSS (`VmHWM`) is
//! the report's alone, and prints the medians. `cargo test --benches` runs a smoke pass
//! over a /16 in four parts.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, UNIX_EPOCH};

use ptraudit_report::{GroupBy, ParquetSink, Report, render_html};
use ptraudit_scan::{Fcrdns, FcrdnsReason, PrefixLens, Row, Sink, Status};

/// The child process: reports over the parts in the folder given.
const CHILD: &str = "PTRAUDIT_REPORT_SCALE_CHILD";
/// The /8 scanned.
const BASE: u32 = 0x0a00_0000;

/// A scan's row for address number `i`: the mix varies per /24 as real space does (a
/// pool of generic names that pass, a block without PTRs, a hosting /24 of custom names,
/// a broken block), with temperrors and DNSBL listings sprinkled in.
fn row(i: u32) -> Row {
    let ip = Ipv4Addr::from(BASE + i);
    let [a, b, c, d] = ip.octets();
    let block = (i >> 8).wrapping_mul(2_654_435_761) >> 28; // 0..16 per /24
    let roll = i.wrapping_mul(2_246_822_519) >> 25; // 0..128 per address
    let kind = match (block, roll) {
        (_, 0..=1) => 5,        // temperror
        (0..=4, 2..=119) => 0,  // generic pool, passes
        (0..=4, _) => 3,        // generic name without A record
        (5..=8, _) => 1,        // no PTR
        (9..=11, 2..=99) => 2,  // custom, passes
        (9..=11, _) => 4,       // custom, forward mismatch
        (12..=13, 2..=63) => 0, // mixed
        (12..=13, _) => 1,      // mixed
        (_, 2..=31) => 2,       // broken block: a few pass
        _ => 6,                 // broken block: the name does not exist
    };
    let ptr = match kind {
        0 | 3 => Some(format!("{a}-{b}-{c}-{d}.dyn.isp.test")),
        2 | 4 => Some(format!("mail{}.customer{}.test", d % 7, c)),
        6 => Some(format!("host-{d}.gone.isp.test")),
        _ => None,
    };
    let (fcrdns, reason) = match kind {
        0 | 2 => (Fcrdns::Pass, None),
        1 => (Fcrdns::NoPtr, None),
        3 => (Fcrdns::Fail, Some(FcrdnsReason::ForwardNodata)),
        4 => (Fcrdns::Fail, Some(FcrdnsReason::ForwardMismatch)),
        5 => (Fcrdns::TempError, None),
        _ => (Fcrdns::Fail, Some(FcrdnsReason::ForwardNxdomain)),
    };
    let listed = kind == 0 && roll == 100;
    Row {
        ip: IpAddr::V4(ip),
        prefix: PrefixLens::DEFAULT.of(IpAddr::V4(ip)),
        ptr_status: match kind {
            1 => Status::NxDomain,
            5 => Status::Timeout,
            _ => Status::Answer,
        },
        ptr_all: ptr.iter().cloned().collect(),
        generic: ptr.as_ref().map(|_| matches!(kind, 0 | 3 | 6)),
        generic_reasons: if matches!(kind, 0 | 3) {
            vec!["ip-embedded:dashed".into(), "keyword:dyn".into()]
        } else {
            vec![]
        },
        ptr,
        cname_chain: vec![],
        forward_addrs: if matches!(kind, 0 | 2) {
            vec![IpAddr::V4(ip)]
        } else {
            vec![]
        },
        fcrdns,
        fcrdns_reason: reason,
        resolver: (kind != 5).then(|| "127.0.0.1:53".parse().unwrap()),
        attempts: 2,
        rtt_ms: (kind != 5).then_some(u64::from(d % 40)),
        scanned_at: UNIX_EPOCH + Duration::from_millis(1_790_000_000_000 + u64::from(i)),
        dnsbl: if listed {
            vec!["spamhaus-zen=127.0.0.11".parse().unwrap()]
        } else {
            vec![]
        },
        dnsbl_listed: Some(listed),
    }
}

/// Writes `n` rows as `parts` Parquet parts in `dir`, unless a complete set is there.
fn write_parts(dir: &Path, n: u32, parts: u32) -> Vec<PathBuf> {
    let paths: Vec<PathBuf> = (0..parts)
        .map(|k| dir.join(format!("part-{k}-of-{parts}.parquet")))
        .collect();
    let done = dir.join("complete");
    if done.exists() {
        return paths;
    }
    std::fs::create_dir_all(dir).unwrap();
    let t = Instant::now();
    let per = n / parts;
    for (k, path) in paths.iter().enumerate() {
        let file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
        let mut sink = ParquetSink::new(file).unwrap();
        let k = k as u32;
        for i in k * per..(k + 1) * per {
            sink.row(&row(i)).unwrap();
        }
        let meta = [
            ("ptraudit.scan_id".to_string(), "bench".to_string()),
            ("ptraudit.shard".to_string(), format!("{k}/{parts}")),
        ];
        sink.close_with(&meta).unwrap();
    }
    std::fs::write(&done, "").unwrap();
    eprintln!(
        "report_scale: wrote {n} rows in {parts} parts in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    paths
}

/// Peak resident memory of this process, in KiB.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The child: the report over every part, as `ptraudit report DIR -o OUT.csv --html
/// OUT.html` does it. Prints `rows seconds peak_kib`.
fn child(dir: &Path) {
    let mut parts: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect();
    parts.sort();
    let t = Instant::now();
    let mut report = Report::new(GroupBy::Prefix(PrefixLens::DEFAULT));
    for p in &parts {
        report.add_file(p).unwrap();
    }
    let mut csv = Vec::new();
    report.write_csv(&mut csv).unwrap();
    let page = render_html(&report, "bench", &[]);
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(report.duplicates(), 0);
    assert!(csv.len() > 100 && page.contains("<canvas"));
    println!("{} {secs} {}", report.total().addresses, peak_rss_kib());
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    if let Some(dir) = std::env::var_os(CHILD) {
        child(Path::new(&dir));
        return;
    }
    let bench = std::env::args().any(|a| a == "--bench");
    let (n, parts, runs) = if bench {
        (1u32 << 24, 16, 3)
    } else {
        (1 << 16, 4, 1)
    };
    let dir = std::env::temp_dir().join(format!("ptraudit-report-scale-{n}"));
    write_parts(&dir, n, parts);
    let (mut rates, mut peaks) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let out = Command::new(std::env::current_exe().unwrap())
            .env(CHILD, &dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let f: Vec<f64> = text
            .split_whitespace()
            .map(|x| x.parse().unwrap())
            .collect();
        assert_eq!(f[0] as u32, n, "every row counted once");
        rates.push(f[0] / f[1]);
        peaks.push(f[2] / 1024.0);
    }
    println!(
        "report_scale rows={n} parts={parts} runs={runs} rows/s: {:.0} peak RSS MiB: {:.0}",
        median(rates),
        median(peaks)
    );
}
