//! The CAF precheck: chunk numbers that Symphonia 0.5.5's CAF reader allocates by before it
//! reads, checked against the bytes the file holds (found by fuzzing audio_decode: a 527-byte
//! CAF whose `kuki` chunk declared 2^58 bytes). Chunk headers are read one at a time and the
//! packet table is scanned through a 64 KiB buffer; refused as [`DecodeError::Malformed`]:
//! - a `kuki` (magic cookie) chunk longer than the rest of the file (allocated whole), or
//!   any chunk but `data` longer than the rest of the file (the walk could not follow the
//!   chunks Symphonia reads after it);
//! - a `pakt` packet count beyond the bytes of its table (Symphonia reserves 32 bytes per
//!   packet before reading them), or a packet size in the table larger than the file
//!   (allocated before the packet is read);
//! - PCM (`lpcm`) with more bytes per frame than its channels can use (8 per channel):
//!   Symphonia reads 1152 frames at a time.

use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};

use super::read_at::read_at;
use super::{AudioFormat, DecodeError};

/// Chunks walked at most.
const MAX_CHUNKS: u32 = 1 << 16;

fn malformed(reason: String) -> DecodeError {
    DecodeError::Malformed {
        format: AudioFormat::Caf,
        reason,
    }
}

/// Checks the CAF stream `r` of `file_len` bytes (rewound afterwards).
pub(crate) fn check<R: Read + Seek>(r: &mut R, file_len: u64) -> Result<(), DecodeError> {
    let result = walk(r, file_len);
    r.seek(SeekFrom::Start(0))?;
    result
}

/// The `desc` fields that say whether the packet table lists sizes.
struct Desc {
    bytes_per_packet: u64,
    frames_per_packet: u64,
}

fn walk<R: Read + Seek>(r: &mut R, file_len: u64) -> Result<(), DecodeError> {
    let mut pos = 8u64;
    let mut desc: Option<Desc> = None;
    for _ in 0..MAX_CHUNKS {
        let mut h = [0u8; 12];
        if read_at(r, pos, &mut h)? < 12 {
            return Ok(());
        }
        let kind = [h[0], h[1], h[2], h[3]];
        let size = i64::from_be_bytes([h[4], h[5], h[6], h[7], h[8], h[9], h[10], h[11]]);
        let Ok(size) = u64::try_from(size) else {
            if &kind == b"data" {
                return Ok(()); // `data` of unknown size: the last chunk.
            }
            return Err(malformed(format!(
                "the {} chunk at byte {pos} declares a negative size ({size} bytes)",
                kind.escape_ascii()
            )));
        };
        let body = pos + 12;
        let left = file_len - body.min(file_len);
        match &kind {
            b"desc" => {
                let mut d = [0u8; 32];
                if read_at(r, body, &mut d)? == 32 {
                    let u32_at = |i: usize| {
                        u64::from(u32::from_be_bytes([d[i], d[i + 1], d[i + 2], d[i + 3]]))
                    };
                    let (bpp, channels) = (u32_at(16), u32_at(24));
                    if &d[8..12] == b"lpcm" && bpp > channels.max(1) * 8 {
                        return Err(malformed(format!(
                            "the desc chunk gives {bpp} bytes per PCM frame for {channels} \
                             channel(s) (at most 8 bytes per channel)"
                        )));
                    }
                    desc = Some(Desc {
                        bytes_per_packet: bpp,
                        frames_per_packet: u32_at(20),
                    });
                }
            }
            b"kuki" if size > left => {
                return Err(malformed(format!(
                    "the kuki chunk at byte {pos} declares {size} bytes but {left} follow"
                )));
            }
            b"pakt" => pakt(r, pos, size.min(left), desc.as_ref(), file_len)?,
            _ => {}
        }
        if size > left {
            // A `data` chunk cut short is the decoder's to report (Truncated, with the time).
            // Any other chunk beyond the file is refused: Symphonia parses some chunks by
            // their fields rather than their size, so what follows it would not be where this
            // walk looks (found by fuzzing: a `chan` chunk declaring 2^48 bytes hid a `kuki`
            // chunk asking for 2^58).
            if &kind == b"data" {
                return Ok(());
            }
            return Err(malformed(format!(
                "the {} chunk at byte {pos} declares {size} bytes but {left} follow \
                 (truncated file?)",
                kind.escape_ascii()
            )));
        }
        pos = body + size;
    }
    Err(malformed(format!("more than {MAX_CHUNKS} chunks")))
}

/// The packet table at `pos` with `present` bytes of body.
fn pakt<R: Read + Seek>(
    r: &mut R,
    pos: u64,
    present: u64,
    desc: Option<&Desc>,
    file_len: u64,
) -> Result<(), DecodeError> {
    let mut h = [0u8; 8];
    if present < 24 || read_at(r, pos + 12, &mut h)? < 8 {
        return Ok(());
    }
    let Ok(packets) = u64::try_from(i64::from_be_bytes(h)) else {
        return Ok(()); // Symphonia refuses a negative count.
    };
    // Every packet has at least one byte in the table (or none may be listed).
    let table = present - 24;
    if packets > table {
        return Err(malformed(format!(
            "the pakt chunk at byte {pos} declares {packets} packets but its table holds {table} \
             bytes"
        )));
    }
    let Some(desc) = desc else { return Ok(()) };
    let (sizes, frames) = (desc.bytes_per_packet == 0, desc.frames_per_packet == 0);
    if !sizes {
        if packets > 0 && desc.bytes_per_packet > file_len {
            return Err(malformed(format!(
                "the desc chunk gives packets of {} bytes, more than the whole file ({file_len} \
                 bytes)",
                desc.bytes_per_packet
            )));
        }
        return Ok(());
    }
    r.seek(SeekFrom::Start(pos + 12 + 24))?;
    let mut table = BufReader::with_capacity(1 << 16, r.by_ref().take(table));
    let mut varint = || -> Result<Option<u64>, DecodeError> {
        let mut v = 0u64;
        for _ in 0..9 {
            let Some(&b) = table.fill_buf()?.first() else {
                return Ok(None);
            };
            table.consume(1);
            v = (v << 7) | u64::from(b & 0x7F);
            if b & 0x80 == 0 {
                return Ok(Some(v));
            }
        }
        Ok(None)
    };
    for i in 0..packets {
        let Some(size) = varint()? else { return Ok(()) };
        if size > file_len {
            return Err(malformed(format!(
                "packet {i} of the pakt chunk at byte {pos} declares {size} bytes, more than the \
                 whole file ({file_len} bytes)"
            )));
        }
        if frames && varint()?.is_none() {
            return Ok(());
        }
    }
    Ok(())
}
