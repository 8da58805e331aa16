//! An output checked before any work: its format (the extension, else the one named) and
//! its path (the folder exists; the file does not, unless overwriting is asked for).

use std::path::{Path, PathBuf};

use crate::Format;

/// An output that cannot be written. Each message names the path or value, and the option
/// that would fix it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OutputError {
    /// A format name that is none of the three.
    #[error("unknown --format {0:?}: expected csv, parquet or jsonl")]
    UnknownFormat(String),
    /// No format from the extension, and none named.
    #[error(
        "{}: cannot tell the format from the extension; use .csv, .parquet, .jsonl or --format",
        .0.display()
    )]
    NoFormat(PathBuf),
    /// The folder of the path does not exist.
    #[error("cannot write {}: folder {} does not exist", path.display(), folder.display())]
    NoFolder {
        /// The output.
        path: PathBuf,
        /// Its folder.
        folder: PathBuf,
    },
    /// The file exists and overwriting was not asked for.
    #[error("{} exists (use --force to overwrite)", .0.display())]
    Exists(PathBuf),
}

/// The format of an output: its extension, else `named` (`--format`).
pub fn output_format(path: &Path, named: Option<&str>) -> Result<Format, OutputError> {
    let named = match named {
        Some(f) => Some(Format::from_name(f).ok_or_else(|| OutputError::UnknownFormat(f.into()))?),
        None => None,
    };
    Format::from_path(path)
        .or(named)
        .ok_or_else(|| OutputError::NoFormat(path.into()))
}

/// Checks an output path before any work: its folder exists, and it does not exist unless
/// `force`.
pub fn check_output(path: &Path, force: bool) -> Result<(), OutputError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.is_dir() {
        return Err(OutputError::NoFolder {
            path: path.into(),
            folder: dir.into(),
        });
    }
    if path.exists() && !force {
        return Err(OutputError::Exists(path.into()));
    }
    Ok(())
}
