//! Output files that are complete or visibly not.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// A file written as `NAME.partial` and renamed to `NAME` by [`AtomicFile::commit`]. If
/// the run fails, `NAME` never appears (an older `NAME` is left untouched), and the
/// `.partial` file holds what was written, clearly marked.
#[derive(Debug)]
pub struct AtomicFile {
    path: PathBuf,
    partial: PathBuf,
    writer: BufWriter<File>,
}

impl AtomicFile {
    /// Creates `path.partial`. Fails when `path` exists and `force` is false, naming it.
    pub fn create(path: &Path, force: bool) -> io::Result<Self> {
        if !force && path.exists() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} exists (use --force to overwrite)", path.display()),
            ));
        }
        let mut partial = path.as_os_str().to_owned();
        partial.push(".partial");
        let partial = PathBuf::from(partial);
        let file = File::create(&partial).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot create {}: {e}", partial.display()),
            )
        })?;
        Ok(AtomicFile {
            path: path.to_owned(),
            partial,
            writer: BufWriter::with_capacity(256 << 10, file),
        })
    }

    /// The final path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The temporary path.
    pub fn partial_path(&self) -> &Path {
        &self.partial
    }

    /// Flushes, syncs and renames into place.
    pub fn commit(mut self) -> io::Result<PathBuf> {
        self.writer.flush()?;
        self.writer.get_ref().sync_all()?;
        std::fs::rename(&self.partial, &self.path)?;
        Ok(self.path)
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appears_only_when_committed_and_refuses_to_overwrite() {
        let dir = std::env::temp_dir().join(format!("ptraudit-atomic-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("out.csv");
        let _ = std::fs::remove_file(&path);
        let mut f = AtomicFile::create(&path, false).unwrap();
        f.write_all(b"a,b\n").unwrap();
        assert!(!path.exists());
        assert!(f.partial_path().exists());
        f.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a,b\n");
        let e = AtomicFile::create(&path, false).unwrap_err();
        assert!(e.to_string().contains("out.csv exists"), "{e}");
        assert!(AtomicFile::create(&path, true).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
