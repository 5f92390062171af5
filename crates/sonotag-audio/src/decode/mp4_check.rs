//! The MP4/M4A precheck: numbers Symphonia 0.5.5's `isomp4` reader allocates by before it
//! reads, checked against the bytes the file actually holds (found by fuzzing audio_decode: a
//! 15 KB M4A whose `stsz` gave every sample 64 MiB, allocated by `next_packet` before the
//! read failed).
//!
//! The box tree is walked with bounded reads (box headers and the few header fields needed;
//! tables are scanned in 64 KiB pieces, never held whole), at most [`MAX_DEPTH`] deep and
//! [`MAX_BOXES`] boxes in all, and the file is refused with [`DecodeError::Malformed`] naming
//! the box and the numbers when:
//! - a box nested in another declares more bytes than its parent holds (Symphonia reads
//!   `hdlr`, `ilst` data and sample-entry fields into buffers of the declared size);
//! - a sample table (`stsz`, `stco`, `co64`, `stsc`, `stts`, `ctts`, `stss`, `trun`) declares
//!   more entries than its box has bytes for (Symphonia reserves `entry_count` entries);
//! - a sample's size (`stsz`, constant or per sample; fragments' `trun`, `tfhd` and `trex`
//!   sizes) is larger than the whole file (Symphonia allocates the sample before reading it);
//! - an `esds` descriptor declares more bytes than its `esds` box holds (the codec
//!   configuration is allocated at the declared length, up to 256 MiB), or a `dfLa` box's
//!   FLAC metadata block more than the box holds;
//! - an ALAC configuration gives more than [`MAX_ALAC_FRAME_LENGTH`] frames per packet (the
//!   decoder's buffers are sized by it).
//!
//! A top-level box that runs past the end of the file (a cut `mdat`) is left to Symphonia,
//! which refuses it ("truncated file?"); its children are checked against what is present.

use std::io::{Read, Seek, SeekFrom};

use super::{AudioFormat, DecodeError};

/// Deepest box nesting walked (moov/udta/meta/ilst/item/data is 6).
const MAX_DEPTH: u32 = 16;
/// Most boxes walked in a file (a fragmented file has a handful per fragment).
const MAX_BOXES: u32 = 1 << 20;
/// Bytes read at a time when a table is scanned entry by entry.
const CHUNK: usize = 1 << 16;
/// Most frames per ALAC packet accepted: Apple's encoder writes 4096 (its default and the
/// only size it uses); 16 times that keeps the decoder's buffers at a few MiB.
const MAX_ALAC_FRAME_LENGTH: u64 = 1 << 16;
/// Most bytes of an `stsd` box searched for `esds` boxes.
const STSD_SCAN: u64 = 1 << 20;

/// Checks the MP4 stream `r` of `file_len` bytes (rewound to the start afterwards).
pub(crate) fn check<R: Read + Seek>(r: &mut R, file_len: u64) -> Result<(), DecodeError> {
    let mut walk = Walk {
        r,
        file_len,
        boxes: 0,
    };
    let result = walk.children(0, file_len, 0, None);
    walk.r.seek(SeekFrom::Start(0))?;
    result
}

fn malformed(reason: String) -> DecodeError {
    DecodeError::Malformed {
        format: AudioFormat::Mp4,
        reason,
    }
}

/// A box type as text (bytes outside printable ASCII as `?`).
fn name(kind: [u8; 4]) -> String {
    kind.iter()
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '?'
            }
        })
        .collect()
}

fn be32(b: &[u8], i: usize) -> Option<u64> {
    b.get(i..i + 4)
        .map(|x| u64::from(u32::from_be_bytes([x[0], x[1], x[2], x[3]])))
}

struct Walk<'a, R> {
    r: &'a mut R,
    file_len: u64,
    boxes: u32,
}

impl<R: Read + Seek> Walk<'_, R> {
    /// Reads up to `buf.len()` bytes at `pos`; returns how many were there.
    fn read_at(&mut self, pos: u64, buf: &mut [u8]) -> Result<usize, DecodeError> {
        super::read_at::read_at(self.r, pos, buf)
    }

    /// Walks the boxes in `[start, end)`; `parent` is the enclosing box's type (None at the
    /// top level).
    fn children(
        &mut self,
        start: u64,
        end: u64,
        depth: u32,
        parent: Option<[u8; 4]>,
    ) -> Result<(), DecodeError> {
        if depth > MAX_DEPTH {
            return Err(malformed(format!(
                "boxes nested more than {MAX_DEPTH} deep at byte {start}"
            )));
        }
        let mut at = start;
        while end.saturating_sub(at) >= 8 {
            self.boxes += 1;
            if self.boxes > MAX_BOXES {
                return Err(malformed(format!("more than {MAX_BOXES} boxes")));
            }
            let mut h = [0u8; 16];
            if self.read_at(at, &mut h[..8])? < 8 {
                break;
            }
            let kind = [h[4], h[5], h[6], h[7]];
            let (header, size) = match be32(&h, 0).unwrap_or(0) {
                1 => {
                    if self.read_at(at + 8, &mut h[8..16])? < 8 {
                        break;
                    }
                    (
                        16,
                        u64::from_be_bytes([h[8], h[9], h[10], h[11], h[12], h[13], h[14], h[15]]),
                    )
                }
                0 => (8, end - at),
                s => (8, s),
            };
            if size < header {
                return Err(malformed(format!(
                    "the {} box at byte {at} declares {size} bytes, less than its header",
                    name(kind)
                )));
            }
            let declared_end = at.saturating_add(size);
            let box_end = if declared_end <= end {
                declared_end
            } else if parent.is_none() {
                // A cut top-level box: Symphonia refuses it; check what is present.
                end
            } else {
                return Err(malformed(format!(
                    "the {} box at byte {at} declares {size} bytes, more than the {} bytes left \
                     in its {} box (truncated file?)",
                    name(kind),
                    end - at,
                    parent.map_or_else(String::new, name)
                )));
            };
            self.one(kind, at + header, box_end, depth, parent)?;
            if declared_end > end {
                break;
            }
            at = declared_end;
        }
        Ok(())
    }

    /// Checks one box whose payload is `[body, end)`.
    fn one(
        &mut self,
        kind: [u8; 4],
        body: u64,
        end: u64,
        depth: u32,
        parent: Option<[u8; 4]>,
    ) -> Result<(), DecodeError> {
        let payload = end - body;
        match &kind {
            b"moov" | b"trak" | b"mdia" | b"minf" | b"stbl" | b"mvex" | b"moof" | b"traf"
            | b"edts" | b"dinf" | b"udta" | b"ilst" => {
                self.children(body, end, depth + 1, Some(kind))
            }
            // ISO `meta` is a full box (4 bytes of version and flags before its children),
            // QuickTime's is not: tell them by where the `hdlr` child's type is.
            b"meta" => {
                let mut b = [0u8; 8];
                let n = self.read_at(body, &mut b)?;
                let skip = if n == 8 && &b[4..8] == b"hdlr" { 0 } else { 4 };
                self.children(body + skip.min(payload), end, depth + 1, Some(kind))
            }
            // Fixed-size entries after version/flags and the entry count.
            b"stco" | b"stss" => self.table(kind, body, payload, 8, 4),
            b"co64" | b"stts" | b"ctts" => self.table(kind, body, payload, 8, 8),
            b"stsc" => self.table(kind, body, payload, 8, 12),
            b"stsz" => self.stsz(body, payload),
            b"trun" => self.trun(body, payload),
            b"tfhd" => self.tfhd(body),
            b"trex" => {
                let mut b = [0u8; 24];
                if self.read_at(body, &mut b)? == 24 {
                    self.sample_size(kind, body, be32(&b, 16).unwrap_or(0), "default sample")?;
                }
                Ok(())
            }
            b"stsd" => self.stsd(body, payload),
            // The items of an `ilst` hold `data` boxes.
            _ if parent == Some(*b"ilst") => self.children(body, end, depth + 1, Some(kind)),
            _ => Ok(()),
        }
    }

    /// A table of `entry_count` (the u32 after version/flags) entries of `entry` bytes
    /// starting `fixed` bytes into the payload.
    fn table(
        &mut self,
        kind: [u8; 4],
        body: u64,
        payload: u64,
        fixed: u64,
        entry: u64,
    ) -> Result<(), DecodeError> {
        let mut b = [0u8; 8];
        if self.read_at(body, &mut b)? < 8 {
            return Ok(()); // Symphonia fails on the short read itself.
        }
        let count = be32(&b, 4).unwrap_or(0);
        self.entries_fit(kind, body, payload, fixed, count, entry)
    }

    fn entries_fit(
        &self,
        kind: [u8; 4],
        body: u64,
        payload: u64,
        fixed: u64,
        count: u64,
        entry: u64,
    ) -> Result<(), DecodeError> {
        let need = fixed + count * entry; // < 2^32 * 2^5: no overflow
        if need > payload {
            return Err(malformed(format!(
                "the {} box at byte {} declares {count} entries of {entry} bytes ({need} bytes \
                 with its header fields) but holds {payload} bytes",
                name(kind),
                body.saturating_sub(8)
            )));
        }
        Ok(())
    }

    fn sample_size(
        &self,
        kind: [u8; 4],
        body: u64,
        size: u64,
        what: &str,
    ) -> Result<(), DecodeError> {
        if size > self.file_len {
            return Err(malformed(format!(
                "the {} box at byte {} gives a {what} size of {size} bytes, more than the whole \
                 file ({} bytes)",
                name(kind),
                body.saturating_sub(8),
                self.file_len
            )));
        }
        Ok(())
    }

    /// Checks `count` u32 sizes, one every `stride` bytes from `pos`, against the file length.
    fn sizes(
        &mut self,
        kind: [u8; 4],
        body: u64,
        mut pos: u64,
        count: u64,
        stride: u64,
    ) -> Result<(), DecodeError> {
        let per_chunk = (CHUNK as u64 / stride).max(1);
        let mut buf = vec![0u8; (per_chunk * stride) as usize];
        let mut left = count;
        while left > 0 {
            let k = left.min(per_chunk);
            let bytes = (k * stride) as usize;
            let n = self.read_at(pos, &mut buf[..bytes])?;
            for e in buf[..n].chunks_exact(stride as usize) {
                self.sample_size(kind, body, be32(e, 0).unwrap_or(0), "sample")?;
            }
            if n < bytes {
                break;
            }
            left -= k;
            pos += bytes as u64;
        }
        Ok(())
    }

    fn stsz(&mut self, body: u64, payload: u64) -> Result<(), DecodeError> {
        let kind = *b"stsz";
        let mut b = [0u8; 12];
        if self.read_at(body, &mut b)? < 12 {
            return Ok(());
        }
        let (size, count) = (be32(&b, 4).unwrap_or(0), be32(&b, 8).unwrap_or(0));
        if size != 0 {
            if count > 0 {
                self.sample_size(kind, body, size, "constant sample")?;
            }
            return Ok(());
        }
        self.entries_fit(kind, body, payload, 12, count, 4)?;
        self.sizes(kind, body, body + 12, count, 4)
    }

    fn tfhd(&mut self, body: u64) -> Result<(), DecodeError> {
        let mut b = [0u8; 36];
        let n = self.read_at(body, &mut b)?;
        let flags = be32(&b[..n], 0).unwrap_or(0) & 0xFF_FFFF;
        if flags & 0x10 != 0 {
            // track id, then the optional fields before the default size.
            let mut at = 8;
            for (bit, len) in [(0x1, 8), (0x2, 4), (0x8, 4)] {
                if flags & bit != 0 {
                    at += len;
                }
            }
            if let Some(size) = be32(&b[..n], at) {
                self.sample_size(*b"tfhd", body, size, "default sample")?;
            }
        }
        Ok(())
    }

    fn trun(&mut self, body: u64, payload: u64) -> Result<(), DecodeError> {
        let kind = *b"trun";
        let mut b = [0u8; 8];
        if self.read_at(body, &mut b)? < 8 {
            return Ok(());
        }
        let flags = be32(&b, 0).unwrap_or(0) & 0xFF_FFFF;
        let count = be32(&b, 4).unwrap_or(0);
        let fixed = 8 + 4 * u64::from(flags & 0x1 != 0) + 4 * u64::from(flags & 0x4 != 0);
        let per = [0x100, 0x200, 0x400, 0x800]
            .iter()
            .filter(|&&bit| flags & bit != 0)
            .count() as u64
            * 4;
        self.entries_fit(kind, body, payload, fixed, count, per)?;
        if flags & 0x200 != 0 {
            // The size follows the duration, when there is one.
            let offset = 4 * u64::from(flags & 0x100 != 0);
            self.sizes(kind, body, body + fixed + offset, count, per)?;
        }
        Ok(())
    }

    /// The `esds` boxes of the sample entries (found by their type inside `stsd`, whatever
    /// the sample entry's version): each descriptor within its `esds`.
    fn stsd(&mut self, body: u64, payload: u64) -> Result<(), DecodeError> {
        let mut bytes = vec![0u8; payload.min(STSD_SCAN) as usize];
        let n = self.read_at(body, &mut bytes)?;
        bytes.truncate(n);
        let mut from = 4;
        while let Some(i) = bytes
            .get(from..)
            .and_then(|b| b.windows(4).position(|w| w == b"esds"))
        {
            let at = from + i; // the type; the size is the 4 bytes before it
            from = at + 4;
            let Some(size) = be32(&bytes, at - 4) else {
                continue;
            };
            let room = payload - (at as u64 - 4);
            if size < 12 || size > room {
                return Err(malformed(format!(
                    "the esds box at byte {} declares {size} bytes but its stsd box has {room} \
                     bytes left",
                    body + at as u64 - 4
                )));
            }
            // Descriptors start after the type and the version/flags.
            let start = at + 8;
            let end = (at - 4).saturating_add(size as usize);
            check_descriptors(&bytes, start, end, body + at as u64 - 4, 0)?;
        }
        // FLAC in MP4: the `dfLa` box's metadata block (24-bit length) is allocated whole.
        let mut from = 4;
        while let Some(i) = bytes
            .get(from..)
            .and_then(|b| b.windows(4).position(|w| w == b"dfLa"))
        {
            let at = from + i;
            from = at + 4;
            let (Some(size), Some(block)) = (be32(&bytes, at - 4), be32(&bytes, at + 8)) else {
                continue;
            };
            let len = block & 0xFF_FFFF;
            // Type, version/flags, block header: 12 bytes of the box before the block.
            if len + 16 > size {
                return Err(malformed(format!(
                    "the dfLa box at byte {} declares a FLAC metadata block of {len} bytes but \
                     holds {size} bytes",
                    body + at as u64 - 4
                )));
            }
        }
        self.alac_cookies(&bytes, body)
    }

    /// ALAC in MP4: the magic cookie's `frameLength` sizes the decoder's buffers (frames x
    /// channels), so a flipped high byte asked for 64 MiB (found by the `mutated_fixtures`
    /// property test). The cookie is the 36-byte `alac` box inside the `alac` sample entry.
    fn alac_cookies(&self, bytes: &[u8], body: u64) -> Result<(), DecodeError> {
        let mut from = 4;
        while let Some(i) = bytes
            .get(from..)
            .and_then(|b| b.windows(4).position(|w| w == b"alac"))
        {
            let at = from + i;
            from = at + 4;
            // Size 36: type, version/flags, then ALACSpecificConfig starting with frameLength.
            let (Some(36), Some(frames)) = (be32(bytes, at - 4), be32(bytes, at + 8)) else {
                continue;
            };
            if frames == 0 || frames > MAX_ALAC_FRAME_LENGTH {
                return Err(malformed(format!(
                    "the ALAC configuration at byte {} gives {frames} frames per packet, \
                     outside 1..={MAX_ALAC_FRAME_LENGTH} (encoders write 4096)",
                    body + at as u64 - 4
                )));
            }
        }
        Ok(())
    }
}

/// MPEG-4 descriptors in `bytes[i..end)` (`end` may lie past the bytes read: the rest is not
/// checked): each length within its container. ES_Descriptor (3) and DecoderConfigDescriptor
/// (4) hold further descriptors after their fixed fields.
fn check_descriptors(
    bytes: &[u8],
    mut i: usize,
    end: usize,
    esds_at: u64,
    depth: u32,
) -> Result<(), DecodeError> {
    while i < end && depth < 4 {
        let Some(&tag) = bytes.get(i) else {
            return Ok(());
        };
        let mut len = 0usize;
        let mut j = i + 1;
        for _ in 0..4 {
            let Some(&v) = bytes.get(j) else {
                return Ok(());
            };
            j += 1;
            len = (len << 7) | usize::from(v & 0x7F);
            if v & 0x80 == 0 {
                break;
            }
        }
        let room = end.saturating_sub(j);
        if len > room {
            return Err(malformed(format!(
                "a descriptor (tag {tag}) in the esds box at byte {esds_at} declares {len} \
                 bytes but {room} are left in the box"
            )));
        }
        let inner_end = j + len;
        match tag {
            3 => {
                let Some(&flags) = bytes.get(j + 2) else {
                    return Ok(());
                };
                let mut k = j + 3;
                if flags & 0x80 != 0 {
                    k += 2;
                }
                if flags & 0x40 != 0 {
                    let Some(&url) = bytes.get(k) else {
                        return Ok(());
                    };
                    k += 1 + usize::from(url);
                }
                if flags & 0x20 != 0 {
                    k += 2;
                }
                check_descriptors(bytes, k, inner_end, esds_at, depth + 1)?;
            }
            4 => check_descriptors(bytes, j + 13, inner_end, esds_at, depth + 1)?,
            _ => {}
        }
        i = inner_end;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn bx(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut b = ((payload.len() + 8) as u32).to_be_bytes().to_vec();
        b.extend_from_slice(kind);
        b.extend_from_slice(payload);
        b
    }

    fn nest(path: &[&[u8; 4]], leaf: Vec<u8>) -> Vec<u8> {
        path.iter().rev().fold(leaf, |inner, k| bx(k, &inner))
    }

    fn run(bytes: &[u8]) -> Result<(), String> {
        let mut c = Cursor::new(bytes.to_vec());
        let r = check(&mut c, bytes.len() as u64).map_err(|e| e.to_string());
        assert_eq!(c.position(), 0, "rewound");
        r
    }

    const STBL: [&[u8; 4]; 5] = [b"moov", b"trak", b"mdia", b"minf", b"stbl"];

    #[test]
    fn consistent_tables_pass_and_lies_are_named() {
        let mut stco = vec![0, 0, 0, 0, 0, 0, 0, 2];
        stco.extend_from_slice(&[0, 0, 0, 8, 0, 0, 0, 9]);
        assert_eq!(run(&nest(&STBL, bx(b"stco", &stco))), Ok(()));
        stco[7] = 3;
        let e = run(&nest(&STBL, bx(b"stco", &stco))).unwrap_err();
        assert!(
            e.contains("stco box at byte 40 declares 3 entries of 4 bytes"),
            "{e}"
        );
        // 64-bit box size, consistent.
        let mut big = 1u32.to_be_bytes().to_vec();
        big.extend_from_slice(b"free");
        big.extend_from_slice(&16u64.to_be_bytes());
        assert_eq!(run(&big), Ok(()));
    }

    #[test]
    fn fragment_sizes_and_dfla_blocks_are_checked() {
        // trun: flags 0x200 (sizes), 1 sample of 1 GiB.
        let mut trun = vec![0, 0, 0x02, 0x00, 0, 0, 0, 1];
        trun.extend_from_slice(&(1u32 << 30).to_be_bytes());
        let e = run(&nest(&[b"moof", b"traf"], bx(b"trun", &trun))).unwrap_err();
        assert!(
            e.contains("trun box") && e.contains("sample size of 1073741824"),
            "{e}"
        );
        // tfhd: flags 0x10 (default size) after the track id.
        let mut tfhd = vec![0, 0, 0, 0x10, 0, 0, 0, 1];
        tfhd.extend_from_slice(&(1u32 << 30).to_be_bytes());
        let e = run(&nest(&[b"moof", b"traf"], bx(b"tfhd", &tfhd))).unwrap_err();
        assert!(
            e.contains("tfhd box") && e.contains("default sample size"),
            "{e}"
        );
        // trex default size.
        let mut trex = vec![0u8; 16];
        trex.extend_from_slice(&(1u32 << 30).to_be_bytes());
        trex.extend_from_slice(&[0; 4]);
        let e = run(&nest(&[b"moov", b"mvex"], bx(b"trex", &trex))).unwrap_err();
        assert!(e.contains("trex box"), "{e}");
        // dfLa: a STREAMINFO block claiming 16 MiB in a 42-byte box.
        let mut dfla = vec![0, 0, 0, 0, 0x80, 0xFF, 0xFF, 0xFF];
        dfla.extend_from_slice(&[0; 34]);
        let mut stsd = vec![0, 0, 0, 0, 0, 0, 0, 1];
        stsd.extend_from_slice(&bx(
            b"fLaC",
            &[&[0u8; 28][..], &bx(b"dfLa", &dfla)].concat(),
        ));
        let e = run(&nest(&STBL, bx(b"stsd", &stsd))).unwrap_err();
        assert!(
            e.contains("dfLa box") && e.contains("16777215 bytes"),
            "{e}"
        );
    }

    #[test]
    fn alac_frame_lengths_are_bounded() {
        let stsd_with = |frames: u32| {
            // The 36-byte cookie: version/flags, frameLength, then 20 more config bytes.
            let cookie = [&[0u8; 4][..], &frames.to_be_bytes(), &[0; 20]].concat();
            let entry = [&[0u8; 28][..], &bx(b"alac", &cookie)].concat();
            let stsd = [&[0u8, 0, 0, 0, 0, 0, 0, 1][..], &bx(b"alac", &entry)].concat();
            run(&nest(&STBL, bx(b"stsd", &stsd)))
        };
        assert_eq!(stsd_with(4096), Ok(()));
        for bad in [0, 0x0100_1000, u32::MAX] {
            let e = stsd_with(bad).unwrap_err();
            assert!(e.contains(&format!("{bad} frames per packet")), "{e}");
        }
    }

    #[test]
    fn children_beyond_their_parent_and_deep_nesting_are_refused() {
        let mut hdlr = bx(b"hdlr", &[0; 24]);
        hdlr[..4].copy_from_slice(&1000u32.to_be_bytes());
        let e = run(&nest(&[b"moov", b"trak", b"mdia"], hdlr)).unwrap_err();
        assert!(e.contains("hdlr box") && e.contains("1000 bytes"), "{e}");
        let deep = nest(&[b"moov"; 20], Vec::new());
        let e = run(&deep).unwrap_err();
        assert!(e.contains("nested more than 16 deep"), "{e}");
        // A cut top-level box is left to Symphonia.
        let mut cut = bx(b"mdat", &[0; 8]);
        cut[..4].copy_from_slice(&1000u32.to_be_bytes());
        assert_eq!(run(&cut), Ok(()));
    }
}
