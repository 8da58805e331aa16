//! PTR names are written by whoever runs the reverse zone: a hostile zone served by the
//! test server, through `check`, `scan` and `report`.

use std::net::{IpAddr, Ipv4Addr};

use ptraudit_testdns::Server;

use crate::util::{ptraudit, tempdir, text};

/// 198.18.0.1: a terminal escape and a bell; .2: a spreadsheet formula; .3: markup;
/// .4: a 255-byte name (the longest there is).
fn hostile_server() -> Server {
    let long = ["a", "b", "c", "d"].map(|c| c.repeat(60)).join(".");
    Server::builder()
        .zone_text(
            "0.18.198.in-addr.arpa.",
            &format!(
                r#"$TTL 60
@ SOA ns.test. host.test. 1 3600 600 86400 60
1 PTR \027[31mred\007.evil.test.
2 PTR =cmd|\039\032/c\032calc\039!a0.evil.test.
3 PTR <script>alert\0401\041</script>.evil.test.
4 PTR {long}.evil.test.
"#
            ),
        )
        .unwrap()
        .zone_text(
            "evil.test.",
            "$TTL 60\n@ SOA ns.test. host.test. 1 3600 600 86400 60\n",
        )
        .unwrap()
        .start()
        .unwrap()
}

fn no_control(what: &str, bytes: &[u8]) {
    assert!(
        !bytes.iter().any(|&b| b == 0x1b || b == 0x07 || b == b'\r'),
        "{what} holds a control byte:\n{}",
        String::from_utf8_lossy(bytes)
    );
}

#[test]
fn check_shows_a_terminal_escape_in_a_ptr_name_visibly() {
    let s = hostile_server();
    let o = ptraudit(&[
        "check",
        "198.18.0.1",
        "--resolver",
        &s.udp_addr().to_string(),
    ]);
    let (out, err) = text(&o);
    no_control("check's stdout", &o.stdout);
    no_control("check's stderr", &o.stderr);
    assert!(out.contains(r"\027[31mred\007.evil.test"), "{out}\n{err}");
    assert_eq!(o.status.code(), Some(1), "{out}\n{err}");
}

#[test]
fn scan_and_report_keep_hostile_names_inert_in_csv_html_and_terminal() {
    let s = hostile_server();
    let dir = tempdir("hostile");
    let csv = dir.join("scan.csv");
    let jsonl = dir.join("scan.jsonl");
    let o = ptraudit(&[
        "scan",
        "198.18.0.1-198.18.0.4",
        "--resolver",
        &s.udp_addr().to_string(),
        "-o",
        csv.to_str().unwrap(),
        "-o",
        jsonl.to_str().unwrap(),
        "--quiet",
    ]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    no_control("scan's stderr", &o.stderr);
    let bytes = std::fs::read(&csv).unwrap();
    no_control("the CSV", &bytes);
    let body = String::from_utf8(bytes).unwrap();
    // The formula is guarded by a leading ' (a spreadsheet shows it as text).
    assert!(
        body.contains(r",'=cmd|'\032/c\032calc'!a0.evil.test,"),
        "{body}"
    );
    let long = ["a", "b", "c", "d"].map(|c| c.repeat(60)).join(".") + ".evil.test";
    assert!(body.contains(&long), "{body}");

    // Read back, the CSV holds exactly the rows of the JSON lines (the guard undone).
    let rows = |p: &std::path::Path| {
        let mut r = ptraudit_report::read_rows(p).unwrap();
        r.sort_by_key(|r| r.ip);
        r
    };
    let (from_csv, from_jsonl) = (rows(&csv), rows(&jsonl));
    assert_eq!(from_csv, from_jsonl);
    let ip2 = IpAddr::V4(Ipv4Addr::new(198, 18, 0, 2));
    let two = from_csv.iter().find(|r| r.ip == ip2).unwrap();
    assert_eq!(
        two.ptr.as_deref(),
        Some(r"=cmd|'\032/c\032calc'!a0.evil.test")
    );

    // report --by domain: the names are group keys in the table, its CSV and the page.
    let html = dir.join("r.html");
    let groups = dir.join("groups.csv");
    let o = ptraudit(&[
        "report",
        csv.to_str().unwrap(),
        "--by",
        "domain",
        "--html",
        html.to_str().unwrap(),
        "-o",
        groups.to_str().unwrap(),
    ]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}\n{err}");
    no_control("report's stdout", &o.stdout);
    let page = std::fs::read_to_string(&html).unwrap();
    assert_eq!(page.matches("<script").count(), 1, "{page}");
    assert!(!page.contains("<script>alert"), "{page}");
    no_control("the HTML", page.as_bytes());
    let groups = std::fs::read_to_string(&groups).unwrap();
    assert!(
        groups
            .lines()
            .skip(1)
            .all(|l| !l.starts_with(['=', '+', '-', '@'])),
        "{groups}"
    );
}
