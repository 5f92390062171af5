//! The ID3v2 precheck: frame sizes that Symphonia 0.5.5's ID3v2 reader allocates before it
//! reads (`read_boxed_slice_exact(size)`: up to 256 MiB in v2.4, 4 GiB in v2.3), checked
//! against the bytes left in their tag (found by fuzzing audio_decode: a 35-byte ID3v2.4 tag
//! before an MP3 frame declared a 110 MB frame).
//!
//! Symphonia's probe reads an ID3v2 tag wherever it meets one before the audio's own marker,
//! whatever the format: the tags at the start of the stream (one after another) are walked
//! frame header by frame header with bounded reads, and any further `ID3` header in the first
//! [`SCAN`] bytes before the first frame sync or container magic is checked the same way.

use std::io::{Read, Seek, SeekFrom};

use super::read_at::read_at;
use super::{AudioFormat, DecodeError};

/// Bytes of the stream head searched for tags that do not follow each other.
const SCAN: usize = 1 << 16;
/// Bytes of an unsynchronised (v2.2/v2.3) tag that are checked (its frames are measured after
/// removing the stuffing bytes, so they are walked in a resynchronised copy).
const UNSYNC_SCAN: usize = 1 << 16;
/// Most frames walked in one tag.
const MAX_FRAMES: u32 = 1 << 16;

/// Checks the ID3v2 tags of `r` (`file_len` bytes), rewound afterwards; returns where the
/// tags at the start end (0 without one): Symphonia's probe reads on from there.
pub(crate) fn check<R: Read + Seek>(
    r: &mut R,
    format: AudioFormat,
    file_len: u64,
) -> Result<u64, DecodeError> {
    let result = check_inner(r, format, file_len);
    r.seek(SeekFrom::Start(0))?;
    result
}

fn check_inner<R: Read + Seek>(
    r: &mut R,
    format: AudioFormat,
    file_len: u64,
) -> Result<u64, DecodeError> {
    let mut at = 0u64;
    // Tags one after another from the start.
    while let Some(end) = tag(r, format, at, file_len)? {
        at = end;
    }
    // Tags further in, before the audio starts.
    let mut head = vec![0u8; SCAN];
    let n = read_at(r, at, &mut head)?;
    head.truncate(n);
    let stop = head
        .windows(4)
        .position(|w| {
            (w[0] == 0xFF && w[1] >= 0xE0)
                || [&b"fLaC"[..], b"OggS", b"RIFF", b"FORM", b"caff", b"ftyp"].contains(&w)
        })
        .unwrap_or(head.len());
    let mut from = 0;
    while let Some(i) = head[from..stop].windows(3).position(|w| w == b"ID3") {
        let pos = from + i;
        from = pos + 3;
        tag(r, format, at + pos as u64, file_len)?;
    }
    Ok(at)
}

fn syncsafe(b: &[u8]) -> u64 {
    b.iter().fold(0, |v, &x| (v << 7) | u64::from(x & 0x7F))
}

fn be(b: &[u8]) -> u64 {
    b.iter().fold(0, |v, &x| (v << 8) | u64::from(x))
}

/// Checks the tag at `at` if there is one (returns where it ends).
fn tag<R: Read + Seek>(
    r: &mut R,
    format: AudioFormat,
    at: u64,
    file_len: u64,
) -> Result<Option<u64>, DecodeError> {
    let mut h = [0u8; 10];
    if read_at(r, at, &mut h)? < 10 || &h[..3] != b"ID3" || !(2..=4).contains(&h[3]) {
        return Ok(None);
    }
    let (version, flags) = (h[3], h[5]);
    let end = at + 10 + syncsafe(&h[6..10]);
    // A v2.4 footer (10 bytes) follows the frames.
    let next = end
        + if version == 4 && flags & 0x10 != 0 {
            10
        } else {
            0
        };
    // What is present of the tag: sizes beyond it cannot be read.
    let present_end = end.min(file_len);
    let refuse = |what: String, n: u64, left: u64| DecodeError::Malformed {
        format,
        reason: format!(
            "the ID3v2.{version} tag at byte {at} has {what} of {n} bytes, more than the {left} \
             bytes left in the tag"
        ),
    };
    let header_len: u64 = if version == 2 { 6 } else { 10 };
    if flags & 0x80 != 0 && version < 4 {
        // Unsynchronised: frames are measured after removing each 0xFF's stuffed 0x00.
        let mut raw = vec![0u8; (present_end - at - 10).min(UNSYNC_SCAN as u64) as usize];
        let n = read_at(r, at + 10, &mut raw)?;
        raw.truncate(n);
        let mut body = Vec::with_capacity(raw.len());
        for (i, &b) in raw.iter().enumerate() {
            if !(b == 0 && i > 0 && raw[i - 1] == 0xFF) {
                body.push(b);
            }
        }
        let mut pos = ext_len(&body, version, flags);
        let limit = body.len() as u64;
        let mut frames = 0;
        while pos + header_len <= limit && frames < MAX_FRAMES && body[pos as usize] != 0 {
            let p = pos as usize;
            let fsize = frame_size(&body[p..p + header_len as usize], version);
            // Resynchronised positions are at most the raw ones: a bound, never too tight.
            let left = (present_end - at - 10).saturating_sub(pos + header_len);
            if fsize > left {
                return Err(refuse("a frame".into(), fsize, left));
            }
            pos += header_len + fsize;
            frames += 1;
        }
        return Ok(Some(next));
    }
    let mut first = [0u8; 10];
    let n = read_at(r, at + 10, &mut first)?;
    let mut pos = at + 10 + ext_len(&first[..n], version, flags);
    let mut frames = 0;
    let mut fh = [0u8; 10];
    let fh = &mut fh[..header_len as usize];
    while pos + header_len <= present_end && frames < MAX_FRAMES {
        if read_at(r, pos, fh)? < fh.len() || fh[0] == 0 {
            break; // padding
        }
        let fsize = frame_size(fh, version);
        // (A tag cut by the end of the file is measured by what is present.)
        let left = present_end - pos - header_len;
        if fsize > left {
            let id_len = if version == 2 { 3 } else { 4 };
            let id: String = fh[..id_len]
                .iter()
                .map(|&b| {
                    if b.is_ascii_alphanumeric() {
                        b as char
                    } else {
                        '?'
                    }
                })
                .collect();
            return Err(refuse(format!("a {id} frame"), fsize, left));
        }
        pos += header_len + fsize;
        frames += 1;
    }
    Ok(Some(next))
}

/// Bytes of the extended header at the start of `body` (0 without one).
fn ext_len(body: &[u8], version: u8, flags: u8) -> u64 {
    if flags & 0x40 == 0 || version == 2 || body.len() < 4 {
        return 0;
    }
    match version {
        3 => 4 + be(&body[..4]),
        _ => syncsafe(&body[..4]),
    }
}

/// The size field of a frame header (v2.2: 3 bytes; v2.3: u32; v2.4: syncsafe).
fn frame_size(h: &[u8], version: u8) -> u64 {
    match version {
        2 => be(&h[3..6]),
        3 => be(&h[4..8]),
        _ => syncsafe(&h[4..8]),
    }
}
