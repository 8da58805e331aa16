//! The fixture network's ground truth (`fixtures/net/truth.csv`, written by
//! `scripts/gen_fixtures.py`): what a correct audit says of every address. The one
//! reader of that file, for the demo, the tests and the benchmarks.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// The columns of `truth.csv`, in order.
pub const TRUTH_COLUMNS: &str =
    "ip,category,ptr_names,ptr,forward_addrs,fcrdns,fcrdns_reason,generic,cname_chain,flags";

/// What a correct audit says of one fixture address.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Truth {
    /// The address.
    pub ip: IpAddr,
    /// The case it illustrates (`custom-pass`, `generic-no-forward`, …).
    pub category: String,
    /// Every PTR name (empty: no PTR).
    pub ptr_names: BTreeSet<String>,
    /// The name the audit reports (`ptr`); empty without PTR.
    pub ptr: String,
    /// The forward addresses of the names, ascending.
    pub forward: Vec<IpAddr>,
    /// The FCrDNS verdict as written in a scan's `fcrdns` column.
    pub fcrdns: String,
    /// The `fcrdns_reason` column (empty for a plain pass).
    pub reason: String,
    /// The `generic` column: `true`, `false` or empty.
    pub generic: String,
    /// The RFC 2317 CNAMEs followed, in order.
    pub cname_chain: Vec<String>,
    /// Free-form flags of the generator (`;`-separated).
    pub flags: String,
}

/// The fixture network's folder in the source tree (`fixtures/net`).
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/net")
}

/// The walk fixtures' folder in the source tree (`fixtures/walk`, written by
/// `scripts/gen_walk_fixtures.py`): sparse reverse space with delegated, wildcard and
/// lame nodes. Its `truth.csv` (same columns, read by [`load_truth`]) lists only the
/// addresses with a PTR; `nodes.csv` lists the special nodes, `stats.txt` the counts.
pub fn walk_fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/walk")
}

/// A `truth.csv` that cannot be read or is not in the expected shape.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TruthError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A line is not in the shape of [`TRUTH_COLUMNS`].
    #[error("{}:{line}: {message}", path.display())]
    Bad {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

fn list(s: &str) -> impl Iterator<Item = &str> {
    s.split(';').filter(|x| !x.is_empty())
}

/// Every row of `DIR/truth.csv`, in file order.
pub fn load_truth(dir: &Path) -> Result<Vec<Truth>, TruthError> {
    let path = dir.join("truth.csv");
    let text = std::fs::read_to_string(&path).map_err(|source| TruthError::Read {
        path: path.clone(),
        source,
    })?;
    let bad = |line: usize, message: String| TruthError::Bad {
        path: path.clone(),
        line,
        message,
    };
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, header)) if header == TRUTH_COLUMNS => {}
        _ => return Err(bad(1, format!("expected the header {TRUTH_COLUMNS}"))),
    }
    lines
        .map(|(i, line)| {
            let f: Vec<&str> = line.split(',').collect();
            if f.len() != 10 {
                return Err(bad(i + 1, format!("expected 10 fields, got {}", f.len())));
            }
            let addr = |a: &str| {
                a.parse::<IpAddr>()
                    .map_err(|_| bad(i + 1, format!("bad address {a:?}")))
            };
            let mut forward: Vec<IpAddr> = list(f[4]).map(addr).collect::<Result<_, _>>()?;
            forward.sort_unstable();
            Ok(Truth {
                ip: addr(f[0])?,
                category: f[1].to_string(),
                ptr_names: list(f[2]).map(str::to_string).collect(),
                ptr: f[3].to_string(),
                forward,
                fcrdns: f[5].to_string(),
                reason: f[6].to_string(),
                generic: f[7].to_string(),
                cname_chain: list(f[8]).map(str::to_string).collect(),
                flags: f[9].to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fixture_truth_loads_and_is_consistent() {
        let rows = load_truth(&fixtures_dir()).unwrap();
        assert!(rows.len() > 4000, "{}", rows.len());
        for r in &rows {
            // A reported name is one of the PTR names; no PTR means no name.
            assert_eq!(r.ptr.is_empty(), r.ptr_names.is_empty(), "{}", r.ip);
            if !r.ptr.is_empty() {
                assert!(r.ptr_names.contains(&r.ptr), "{}", r.ip);
            }
        }
        let dir = std::env::temp_dir().join(format!("ptraudit-truth-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("truth.csv"),
            format!("{TRUTH_COLUMNS}\n198.18.0.1,x\n"),
        )
        .unwrap();
        let e = load_truth(&dir).unwrap_err();
        assert!(
            e.to_string()
                .ends_with("truth.csv:2: expected 10 fields, got 2"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
