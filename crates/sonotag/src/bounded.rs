//! Reading a file whose size the caller bounds: a regular file (not a device, pipe or folder,
//! even through a link) of at most, or exactly, the bytes it may have, read with that bound so
//! that a file growing while it is read (or a link swapped to an endless device) cannot make
//! the read unbounded.

use std::fs::File;
use std::io::Read;
use std::path::Path;

/// Why a bounded read failed.
#[derive(Debug)]
pub(crate) enum ReadFault {
    /// Opening, inspecting or reading the file failed.
    Io(std::io::Error),
    /// The path is not a regular file (a folder, a device, a pipe, a socket).
    NotRegular,
    /// The file has a size outside the bound.
    Size {
        /// Its size in bytes (as far as it was read).
        found: u64,
        /// What the caller allows.
        allowed: SizeBound,
    },
}

/// The size a file must have.
#[derive(Debug, Clone, Copy)]
pub(crate) enum SizeBound {
    /// At most this many bytes.
    AtMost(u64),
    /// Exactly this many bytes.
    Exactly(u64),
}

impl SizeBound {
    fn max(self) -> u64 {
        match self {
            Self::AtMost(n) | Self::Exactly(n) => n,
        }
    }

    fn admits(self, n: u64) -> bool {
        match self {
            Self::AtMost(max) => n <= max,
            Self::Exactly(len) => n == len,
        }
    }
}

impl std::fmt::Display for ReadFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Io(e) => write!(f, "{e}"),
            Self::NotRegular => write!(f, "is not a regular file"),
            Self::Size {
                found,
                allowed: SizeBound::AtMost(max),
            } => write!(f, "has {found} bytes, above the limit of {max}"),
            Self::Size {
                found,
                allowed: SizeBound::Exactly(len),
            } => write!(f, "has {found} bytes where {len} are expected"),
        }
    }
}

/// Reads `path` if it is a regular file whose size `bound` admits, reading no more than the
/// bound (plus one byte, to see a file that grew).
pub(crate) fn read(path: &Path, bound: SizeBound) -> Result<Vec<u8>, ReadFault> {
    // Looked at before opening too: opening a FIFO would wait for a writer.
    if !std::fs::metadata(path).map_err(ReadFault::Io)?.is_file() {
        return Err(ReadFault::NotRegular);
    }
    let file = File::open(path).map_err(ReadFault::Io)?;
    let meta = file.metadata().map_err(ReadFault::Io)?;
    if !meta.is_file() {
        return Err(ReadFault::NotRegular);
    }
    if !bound.admits(meta.len()) {
        return Err(ReadFault::Size {
            found: meta.len(),
            allowed: bound,
        });
    }
    // The capacity is the checked size, never more than the bound.
    let capacity = usize::try_from(meta.len()).unwrap_or(0);
    let mut bytes = Vec::with_capacity(capacity);
    file.take(bound.max().saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(ReadFault::Io)?;
    let read = bytes.len() as u64;
    if !bound.admits(read) {
        return Err(ReadFault::Size {
            found: read,
            allowed: bound,
        });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_file_within_its_bound() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a");
        std::fs::write(&path, b"abc").unwrap();
        assert_eq!(read(&path, SizeBound::AtMost(3)).unwrap(), b"abc");
        assert_eq!(read(&path, SizeBound::Exactly(3)).unwrap(), b"abc");
    }

    #[test]
    fn refuses_sizes_outside_the_bound() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a");
        std::fs::write(&path, b"abcd").unwrap();
        let err = read(&path, SizeBound::AtMost(3)).unwrap_err();
        assert!(matches!(err, ReadFault::Size { found: 4, .. }), "{err}");
        let err = read(&path, SizeBound::Exactly(5)).unwrap_err();
        assert_eq!(err.to_string(), "has 4 bytes where 5 are expected");
    }

    #[test]
    fn refuses_folders_and_devices_even_through_a_link() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            read(dir.path(), SizeBound::AtMost(10)),
            Err(ReadFault::NotRegular | ReadFault::Io(_))
        ));
        #[cfg(unix)]
        {
            let link = dir.path().join("weights.bpk");
            std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
            let err = read(&link, SizeBound::Exactly(10)).unwrap_err();
            assert!(matches!(err, ReadFault::NotRegular), "{err}");
        }
    }
}
