//! Crash-safe file writes, the crate's one way to write a file: a reader (or a later run) sees
//! the old file or the new one, never a half-written mix.
//!
//! A new file is written under a temporary name in the destination folder, flushed to disk,
//! then renamed over the destination (rename is atomic within a file system). The temporary
//! file is created exclusively by `tempfile`, with a random name: no process-global counter, no
//! name another process could predict or take first, and it is removed if the write fails.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::error::{Error, Result};

/// The prefix of every temporary file; `persist` removes leftovers of killed writers by it.
pub(crate) const TEMP_PREFIX: &str = ".sonotag-tmp-";

/// A file being written next to its destination; [`Self::commit`] moves it into place and
/// dropping it uncommitted removes it.
#[derive(Debug)]
pub(crate) struct PendingFile {
    tmp: NamedTempFile,
    dest: PathBuf,
}

impl PendingFile {
    /// A temporary file in `dest`'s folder whose name ends in `suffix` (e.g. `".png"`, for
    /// encoders that pick the format from the extension; `""` for none).
    pub(crate) fn new(dest: &Path, suffix: &str) -> Result<Self> {
        let dir = folder_of(dest);
        let tmp = tempfile::Builder::new()
            .prefix(TEMP_PREFIX)
            .suffix(suffix)
            .tempfile_in(dir)
            .map_err(Error::io(dir))?;
        Ok(Self {
            tmp,
            dest: dest.to_path_buf(),
        })
    }

    /// Where the temporary file is (for writers that open the file by path).
    pub(crate) fn path(&self) -> &Path {
        self.tmp.path()
    }

    /// The open temporary file.
    pub(crate) fn file(&mut self) -> &mut File {
        self.tmp.as_file_mut()
    }

    /// Flushes the temporary file to disk and renames it over the destination.
    pub(crate) fn commit(self) -> Result<()> {
        let dest = self.dest;
        // Temporary files are created private (0600); a saved model, cache or report file
        // should be readable like any other file the user writes (a server often runs as
        // another user).
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            self.tmp
                .as_file()
                .set_permissions(std::fs::Permissions::from_mode(0o644))
                .map_err(Error::io(&dest))?;
        }
        // Any handle of the file flushes what every handle wrote (an encoder may have written
        // through its own).
        self.tmp.as_file().sync_all().map_err(Error::io(&dest))?;
        self.tmp.persist(&dest).map_err(|e| Error::Io {
            path: dest.clone(),
            source: e.error,
        })?;
        sync_dir(folder_of(&dest));
        Ok(())
    }
}

/// Writes `bytes` to `path` atomically.
pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut pending = PendingFile::new(path, "")?;
    pending.file().write_all(bytes).map_err(Error::io(path))?;
    pending.commit()
}

/// The folder a file is written in (`.` for a bare file name).
fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Makes a completed rename durable; best effort, since not every platform can open folders.
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<std::ffi::OsString> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect()
    }

    #[test]
    fn written_files_are_readable_by_others_not_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("card.json");
        write_file(&path, b"{}").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"{}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o644, "{mode:o}");
        }
        // No temporary file is left behind.
        assert_eq!(names(dir.path()).len(), 1);
    }

    #[test]
    fn replaces_an_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("a.json");
        write_file(&dest, b"first").unwrap();
        write_file(&dest, b"second").unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"second");
        assert_eq!(names(dir.path()).len(), 1);
    }

    #[test]
    fn a_failure_names_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("missing-folder").join("a.json");
        let err = write_file(&dest, b"x").unwrap_err();
        assert!(err.to_string().contains("missing-folder"), "{err}");
    }

    #[test]
    fn pending_files_keep_folder_and_suffix_get_distinct_names_and_vanish_when_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("roc_curves.png");
        let a = PendingFile::new(&dest, ".png").unwrap();
        let b = PendingFile::new(&dest, ".png").unwrap();
        assert_eq!(a.path().parent(), Some(dir.path()));
        assert_eq!(a.path().extension().and_then(|e| e.to_str()), Some("png"));
        assert_ne!(a.path(), b.path());
        drop(a);
        drop(b);
        assert!(names(dir.path()).is_empty());
    }

    #[test]
    fn a_file_written_by_path_is_committed() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("plot.png");
        let pending = PendingFile::new(&dest, ".png").unwrap();
        std::fs::write(pending.path(), b"png bytes").unwrap();
        pending.commit().unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"png bytes");
        assert_eq!(names(dir.path()), [std::ffi::OsString::from("plot.png")]);
    }
}
