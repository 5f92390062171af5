//! The one positioned read of the prechecks (`caf_check`, `id3_check`, `mp4_check`).

use std::io::{ErrorKind, Read, Seek, SeekFrom};

use super::DecodeError;

/// Reads up to `buf.len()` bytes at `pos` of `r`; returns how many were there (fewer only at
/// the end of the stream).
pub(super) fn read_at<R: Read + Seek>(
    r: &mut R,
    pos: u64,
    buf: &mut [u8],
) -> Result<usize, DecodeError> {
    r.seek(SeekFrom::Start(pos))?;
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(n)
}
