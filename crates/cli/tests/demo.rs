//! `ptraudit demo`: the fixture network scanned through the bundled server.

use crate::util::{ptraudit, tempdir, text, truth};

#[test]
fn demo_scans_the_fixtures_and_says_where_the_files_are() {
    let dir = tempdir("demo");
    let o = ptraudit(&["demo", "--out", dir.to_str().unwrap(), "-q"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let truth_rows = truth().len();
    let rows = std::fs::read_to_string(dir.join("scan.csv"))
        .unwrap()
        .lines()
        .count()
        - 1;
    assert_eq!(rows, truth_rows);
    assert!(dir.join("summary.csv").exists());
    assert!(
        out.contains(&dir.join("scan.csv").display().to_string()),
        "{out}"
    );
    assert!(out.contains("FCrDNS pass"), "{out}");
    std::fs::remove_dir_all(&dir).unwrap();
}
