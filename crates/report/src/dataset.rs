//! A scan's dataset: its parts (the output files of its shards) and the dataset metadata
//! every Parquet part carries (`ptraudit.*` key-value metadata: which scan, which shard,
//! how it was made), written when a part is closed and read back to check that parts
//! merged by a report fit together.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use ptraudit_scan::{COLUMNS, ScanConfig, ScanJob, WalkPlan};

use crate::{Format, parquet_metadata, rfc3339};

/// Metadata key: the ptraudit version that wrote the part.
pub const VERSION_KEY: &str = "ptraudit.version";
/// Metadata key: the row columns, comma-separated.
pub const SCHEMA_KEY: &str = "ptraudit.schema";
/// Metadata key: the scan the part belongs to ([`dataset_metadata`]).
pub const SCAN_ID_KEY: &str = "ptraudit.scan_id";
/// Metadata key: the targets (or their count and digest when the list is long).
pub const TARGETS_KEY: &str = "ptraudit.targets";
/// Metadata key: the digest of the whole target list.
pub const TARGETS_DIGEST_KEY: &str = "ptraudit.targets_digest";
/// Metadata key: the shard, `I/N`.
pub const SHARD_KEY: &str = "ptraudit.shard";
/// Metadata key: the options that change results.
pub const OPTIONS_KEY: &str = "ptraudit.options";
/// Metadata key: the resolvers asked.
pub const RESOLVERS_KEY: &str = "ptraudit.resolvers";
/// Metadata key: when the scan started (RFC 3339).
pub const STARTED_AT_KEY: &str = "ptraudit.started_at";
/// Metadata key: when the part was closed (RFC 3339).
pub const ENDED_AT_KEY: &str = "ptraudit.ended_at";

/// Errors in the parts given to a report.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DatasetError {
    /// A folder could not be listed.
    #[error("cannot read the folder {}", path.display())]
    Folder {
        /// The folder.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A folder holds no scan output.
    #[error("{}: no scan outputs (.csv, .parquet, .jsonl) in the folder", path.display())]
    NoOutputs {
        /// The folder.
        path: PathBuf,
    },
    /// Two different files are the same shard of one scan.
    #[error(
        "{} and {} are the same shard ({shard}) of one scan ({scan_id}): overlapping parts \
         (--allow-overlap merges them, an address in both counting once)",
        first.display(),
        second.display()
    )]
    Overlap {
        /// The part seen first.
        first: PathBuf,
        /// The part that overlaps it.
        second: PathBuf,
        /// Their shard.
        shard: String,
        /// Their scan.
        scan_id: String,
    },
}

/// FNV-1a, 64 bits: a stable digest of the scan's definition (no cryptographic claim:
/// it tells parts of different scans apart).
pub fn digest(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// The dataset metadata of every Parquet part (key-value metadata, `ptraudit.*`): what
/// scan the part belongs to and how it was made. `scan_id` is the same for every shard of
/// one scan (targets and the options that change results) and differs otherwise.
/// `rules` is the text of the rules file, if one was given and could be read; the
/// version is this crate's (the workspace has one version); the end time is now.
pub fn dataset_metadata(
    job: &ScanJob,
    config: &ScanConfig,
    resolvers: &[SocketAddr],
    rules: Option<&str>,
    started: SystemTime,
) -> Vec<(String, String)> {
    let targets: Vec<String> = job
        .targets
        .ranges()
        .map(|(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            }
        })
        .collect();
    let targets = targets.join(",");
    let rules = rules.map_or_else(|| "built-in".to_string(), digest);
    let options = format!(
        "forward={:?};prefix_v4={};prefix_v6={};walk={};max_queries={};dnsbl={};rules={rules};templates={}",
        config.forward,
        config.prefix.v4(),
        config.prefix.v6(),
        job.walk.is_some(),
        job.walk
            .as_ref()
            .and_then(WalkPlan::budget)
            .map_or("-".to_string(), |n| n.to_string()),
        config
            .dnsbl
            .iter()
            .map(|l| format!("{}@{}", l.name, l.zone))
            .collect::<Vec<_>>()
            .join(","),
        job.templates,
    );
    let scan_id = digest(&format!("{targets}|{options}"));
    let shown = if targets.len() <= 4096 {
        targets.clone()
    } else {
        format!(
            "{} ranges (digest {})",
            job.targets.ranges().count(),
            digest(&targets)
        )
    };
    let ended = rfc3339(SystemTime::now());
    vec![
        (VERSION_KEY.into(), env!("CARGO_PKG_VERSION").into()),
        (SCHEMA_KEY.into(), COLUMNS.join(",")),
        (SCAN_ID_KEY.into(), scan_id),
        (TARGETS_KEY.into(), shown),
        (TARGETS_DIGEST_KEY.into(), digest(&targets)),
        (SHARD_KEY.into(), job.shard.to_string()),
        (OPTIONS_KEY.into(), options),
        (
            RESOLVERS_KEY.into(),
            resolvers
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(","),
        ),
        (STARTED_AT_KEY.into(), rfc3339(started)),
        (ENDED_AT_KEY.into(), ended),
    ]
}

/// The files given, each folder replaced by the scan outputs in it (by name).
pub fn dataset_files(given: &[PathBuf]) -> Result<Vec<PathBuf>, DatasetError> {
    let mut files = Vec::new();
    for f in given {
        if !f.is_dir() {
            files.push(f.clone());
            continue;
        }
        let folder = |source| DatasetError::Folder {
            path: f.clone(),
            source,
        };
        let mut inside: Vec<PathBuf> = std::fs::read_dir(f)
            .map_err(folder)?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()
            .map_err(folder)?;
        inside.retain(|p| p.is_file() && Format::from_path(p).is_some());
        if inside.is_empty() {
            return Err(DatasetError::NoOutputs { path: f.clone() });
        }
        inside.sort();
        files.extend(inside);
    }
    Ok(files)
}

/// Where a Parquet part comes from, by its dataset metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PartOrigin {
    /// [`SCAN_ID_KEY`].
    pub scan_id: String,
    /// [`SHARD_KEY`] (empty when absent).
    pub shard: String,
}

/// A part's origin; `None` for files without ptraudit's metadata (CSV, JSON lines, older
/// files, other tools' files) and for files whose footer cannot be read (the read that
/// follows says why).
pub fn part_origin(path: &Path) -> Option<PartOrigin> {
    if Format::from_path(path) != Some(Format::Parquet) {
        return None;
    }
    let meta: HashMap<String, String> = parquet_metadata(path).ok()?.into_iter().collect();
    Some(PartOrigin {
        scan_id: meta.get(SCAN_ID_KEY)?.clone(),
        shard: meta.get(SHARD_KEY).cloned().unwrap_or_default(),
    })
}

/// Parts of different scans are merged with a warning (`warn` gets its text); two parts
/// of one scan with the same shard (overlapping) are refused unless `allow_overlap`. The
/// same file given twice is neither: its rows count once, as any address seen twice.
pub fn check_parts(
    files: &[PathBuf],
    allow_overlap: bool,
    mut warn: impl FnMut(String),
) -> Result<(), DatasetError> {
    let mut scans: Vec<(String, &Path)> = Vec::new();
    let mut shards: HashMap<(String, String), (&Path, PathBuf)> = HashMap::new();
    for f in files {
        let Some(o) = part_origin(f) else { continue };
        if !scans.iter().any(|(id, _)| *id == o.scan_id) {
            if let Some((id, first)) = scans.first() {
                warn(format!(
                    "merging parts of different scans: {} (scan {}) and {} (scan {})",
                    first.display(),
                    id,
                    f.display(),
                    o.scan_id
                ));
            }
            scans.push((o.scan_id.clone(), f));
        }
        let same = f.canonicalize().unwrap_or_else(|_| f.clone());
        match shards.get(&(o.scan_id.clone(), o.shard.clone())) {
            Some((other, other_same)) if *other_same != same && !allow_overlap => {
                return Err(DatasetError::Overlap {
                    first: other.to_path_buf(),
                    second: f.clone(),
                    shard: o.shard,
                    scan_id: o.scan_id,
                });
            }
            Some(_) => {}
            None => {
                shards.insert((o.scan_id, o.shard), (f, same));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_is_fnv1a_64() {
        // The published FNV-1a test vectors: the digest must not drift, or parts of one
        // scan written by two versions would look like parts of two scans.
        assert_eq!(digest(""), "cbf29ce484222325");
        assert_eq!(digest("a"), "af63dc4c8601ec8c");
        assert_eq!(digest("foobar"), "85944171f73967e8");
    }
}
