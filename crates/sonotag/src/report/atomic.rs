//! Atomic file replacement: write a temporary file in the destination folder, then rename it
//! over the destination, so a reader never sees a half-written report file.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::ReportError;

/// Distinguishes temporary files of concurrent writers within one process.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A hidden temporary path next to `dest`, ending in `.tmp.<ext>` (the PNG encoder picks the
/// format from the extension).
pub(super) fn temp_path_for(dest: &Path, ext: &str) -> PathBuf {
    let name = dest.file_name().map_or_else(
        || "report".to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let unique = COUNTER.fetch_add(1, Ordering::Relaxed);
    dest.with_file_name(format!(".{name}.{}.{unique}.tmp.{ext}", std::process::id()))
}

/// Writes `bytes` to `dest` atomically (through the crate's one atomic writer).
pub(super) fn write_bytes(dest: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    crate::atomic::write_file(dest, bytes).map_err(|e| match e {
        crate::Error::Io { source, .. } => write_error(dest, source),
        other => write_error(dest, std::io::Error::other(other.to_string())),
    })
}

/// Renames a fully written temporary file over `dest` (after flushing it to disk).
pub(super) fn commit(tmp: &Path, dest: &Path) -> Result<(), ReportError> {
    let result = fs::File::open(tmp)
        .and_then(|f| f.sync_all())
        .and_then(|()| fs::rename(tmp, dest));
    result.map_err(|source| {
        discard(tmp);
        write_error(dest, source)
    })?;
    // Make the rename itself durable, as the crate's atomic writer does.
    let dir = match dest.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    crate::atomic::sync_dir(dir);
    Ok(())
}

/// Best-effort removal of a temporary file after a failure (the failure itself is reported).
pub(super) fn discard(tmp: &Path) {
    let _ = fs::remove_file(tmp);
}

fn write_error(dest: &Path, source: std::io::Error) -> ReportError {
    ReportError::Write {
        path: dest.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_existing_file_and_leaves_no_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("a.json");
        write_bytes(&dest, b"first").unwrap();
        write_bytes(&dest, b"second").unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"second");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn failure_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("missing-folder").join("a.json");
        let err = write_bytes(&dest, b"x").unwrap_err();
        assert!(err.to_string().contains("a.json"), "{err}");
    }

    #[test]
    fn temp_path_keeps_extension_and_folder() {
        let p = temp_path_for(Path::new("out/roc_curves.png"), "png");
        assert_eq!(p.parent(), Some(Path::new("out")));
        assert_eq!(p.extension().and_then(|e| e.to_str()), Some("png"));
        assert_ne!(p, temp_path_for(Path::new("out/roc_curves.png"), "png"));
    }
}
