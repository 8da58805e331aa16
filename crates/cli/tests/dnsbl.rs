//! `--dnsbl` on `scan` and `check` against the fixture lists (`fixtures/dnsbl`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{RData, Record};
use ptraudit_testdns::{Server, ServerBuilder, Zones, fixtures_dir};

use crate::util::{ptraudit, tempdir, text, truth};

fn server(b: ServerBuilder) -> Server {
    let zones = Zones::load_manifest(&fixtures_dir().join("../dnsbl/with-net.txt")).unwrap();
    b.zones(zones).start().unwrap()
}

/// `ip -> {"list=code"}` of the lists' truth.
fn listings() -> BTreeMap<String, BTreeSet<String>> {
    let text = std::fs::read_to_string(fixtures_dir().join("../dnsbl/truth.csv")).unwrap();
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        for c in f[2].split(';') {
            out.entry(f[0].to_string())
                .or_default()
                .insert(format!("{}={c}", f[1]));
        }
    }
    out
}

const LISTS: [&str; 4] = [
    "--dnsbl",
    "zen.dnsbl.test=spamhaus-zen",
    "--dnsbl",
    "bl.dnsbl.test",
];

#[test]
fn scan_writes_every_listing_in_every_format() {
    let s = server(Server::builder());
    let dir = tempdir("dnsbl-scan");
    let (csv, pq, jl) = (
        dir.join("s.csv"),
        dir.join("s.parquet"),
        dir.join("s.jsonl"),
    );
    let mut args = vec!["scan", "198.18.0.0/22", "--resolver"];
    let resolver = s.udp_addr().to_string();
    args.push(&resolver);
    args.extend(LISTS);
    for p in [&csv, &pq, &jl] {
        args.extend(["-o", p.to_str().unwrap()]);
    }
    let o = ptraudit(&args);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains("DNSBL spamhaus-zen (zen.dnsbl.test.): 1026 queries"),
        "{err}"
    );
    let want = listings();
    for path in [&csv, &pq, &jl] {
        let rows = ptraudit_report::read_rows(path).unwrap();
        assert_eq!(rows.len(), 1024);
        for r in rows {
            let got: BTreeSet<String> = r.dnsbl.iter().map(ToString::to_string).collect();
            let w = want.get(&r.ip.to_string()).cloned().unwrap_or_default();
            assert_eq!(got, w, "{}: {}", path.display(), r.ip);
            assert_eq!(r.dnsbl_listed, Some(!w.is_empty()));
        }
    }
    // The report: listed addresses per prefix by kind, summing to the truth's.
    let (rep, html) = (dir.join("r.csv"), dir.join("r.html"));
    let o = ptraudit(&[
        "report",
        pq.to_str().unwrap(),
        "-o",
        rep.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o).1);
    let (out, _) = text(&o);
    assert!(out.lines().next().unwrap().contains("listed"), "{out}");
    let report = std::fs::read_to_string(&rep).unwrap();
    let mut lines = report.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (listed, pbl, xbl) = (col("listed"), col("listed_pbl"), col("listed_xbl"));
    let mut sums = (0, 0, 0);
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        sums.0 += f[listed].parse::<usize>().unwrap();
        sums.1 += f[pbl].parse::<usize>().unwrap();
        sums.2 += f[xbl].parse::<usize>().unwrap();
    }
    let in_range: Vec<&BTreeSet<String>> = want
        .iter()
        .filter(|(ip, _)| {
            let ip: std::net::Ipv4Addr = match ip.parse() {
                Ok(a) => a,
                Err(_) => return false,
            };
            ip.octets()[2] < 4 && ip.octets()[..2] == [198, 18]
        })
        .map(|(_, l)| l)
        .collect();
    let has = |l: &&BTreeSet<String>, codes: &[&str]| {
        codes
            .iter()
            .any(|c| l.contains(&format!("spamhaus-zen={c}")))
    };
    assert_eq!(
        sums,
        (
            in_range.len(),
            in_range
                .iter()
                .filter(|l| has(l, &["127.0.0.10", "127.0.0.11"]))
                .count(),
            in_range.iter().filter(|l| has(l, &["127.0.0.4"])).count(),
        )
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("on a DNSBL"));
    // The CSV cell joins listings with ';'.
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(
        text.lines()
            .next()
            .unwrap()
            .ends_with(",dnsbl,dnsbl_listed")
    );
    assert!(
        text.contains(";spamhaus-zen=127.0.0.10,true")
            || text.contains("spamhaus-zen=127.0.0.4;spamhaus-zen=127.0.0.10,true")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn lists_failing_their_test_entries_stop_the_run_before_any_work() {
    let s = server(Server::builder());
    let resolver = s.udp_addr().to_string();
    for (list, needle) in [
        ("public.dnsbl.test", "your own recursive resolver"),
        ("hijack.dnsbl.test", "outside 127.0.0.0/8"),
        ("isp.test", "not a DNSBL zone"),
    ] {
        let dir = tempdir("dnsbl-bad");
        let out = dir.join("x.csv");
        let o = ptraudit(&[
            "scan",
            "198.18.0.0/24",
            "--resolver",
            &resolver,
            "--dnsbl",
            list,
            "-o",
            out.to_str().unwrap(),
        ]);
        let (_, err) = text(&o);
        assert_eq!(o.status.code(), Some(2), "{list}: {err}");
        assert!(err.contains(needle) && err.contains(list), "{list}: {err}");
        assert!(!out.exists(), "{list}: no output");
        std::fs::remove_dir_all(&dir).unwrap();
    }
    for bad in ["spamhaus", "spamhaus-dqs", "x.test=nope"] {
        let o = ptraudit(&[
            "scan",
            "198.18.0.0/24",
            "--resolver",
            &resolver,
            "--dnsbl",
            bad,
        ]);
        let (_, err) = text(&o);
        assert_eq!(o.status.code(), Some(2), "{bad}: {err}");
        assert!(err.contains(&format!("{bad:?}")), "{bad}: {err}");
    }
}

#[test]
fn a_list_switched_off_midway_is_said_loudly_and_the_run_exits_3() {
    let seen = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&seen);
    let s = server(Server::builder().hook(move |_, reply| {
        let Some(q) = reply.queries.first().cloned() else {
            return;
        };
        if q.name().to_ascii().ends_with(".zen.dnsbl.test.")
            && counter.fetch_add(1, Ordering::Relaxed) >= 300
        {
            reply.metadata.response_code = ResponseCode::NoError;
            reply.answers.clear();
            reply.authorities.clear();
            reply.add_answer(Record::from_rdata(
                q.name().clone(),
                60,
                RData::A(A::new(127, 255, 255, 255)),
            ));
        }
    }));
    let dir = tempdir("dnsbl-off");
    let out = dir.join("x.csv");
    let resolver = s.udp_addr().to_string();
    let mut args = vec!["scan", "198.18.0.0/22", "--resolver", &resolver];
    args.extend(LISTS);
    args.extend(["-o", out.to_str().unwrap()]);
    let o = ptraudit(&args);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(
        err.contains("SWITCHED OFF") && err.contains("127.255.255.255"),
        "{err}"
    );
    // The file is complete and holds no error code as a listing.
    let rows = ptraudit_report::read_rows(&out).unwrap();
    assert_eq!(rows.len(), 1024);
    assert!(
        rows.iter()
            .all(|r| r.dnsbl.iter().all(|l| l.code.octets()[1] != 255))
    );
    assert!(rows.iter().any(|r| r.dnsbl_listed.is_none()));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn check_says_what_a_listing_means_and_exits_by_mail_readiness() {
    let s = server(Server::builder());
    let resolver = s.udp_addr().to_string();
    let listed = listings();
    let truth = truth();
    // A PBL-listed address, and a mail-ready one on no list.
    let pbl = listed
        .iter()
        .find(|(_, l)| l.contains("spamhaus-zen=127.0.0.10"))
        .map(|(ip, _)| ip.clone())
        .unwrap();
    let clean = truth
        .iter()
        .find(|t| {
            t.category == "custom-pass"
                && t.cname_chain.is_empty()
                && t.ip.is_ipv4()
                && !listed.contains_key(&t.ip.to_string())
        })
        .map(|t| t.ip.to_string())
        .unwrap();
    let mut args = vec!["check", pbl.as_str(), "--resolver", &resolver];
    args.extend(LISTS);
    let o = ptraudit(&args);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    assert!(out.contains("5. Blocklists"), "{out}");
    assert!(
        out.contains("spamhaus-zen (zen.dnsbl.test.): LISTED"),
        "{out}"
    );
    assert!(
        out.contains("PBL (ISP maintained)") && out.contains("What to do:"),
        "{out}"
    );
    assert!(out.contains("Mail-ready: NO"), "{out}");
    let mut args = vec!["check", clean.as_str(), "--resolver", &resolver];
    args.extend(LISTS);
    let o = ptraudit(&args);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{err}");
    assert!(
        out.contains("spamhaus-zen (zen.dnsbl.test.): not listed"),
        "{out}"
    );
    assert!(out.contains("Mail-ready: yes"), "{out}");
}
