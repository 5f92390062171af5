//! RIFF chunk walk and `fmt ` parsing.
//!
//! We walk the chunks ourselves rather than through `hound::WavReader` because hound 3.5 does
//! not skip the pad byte after an odd-sized chunk (the fixtures contain such files), reads
//! only 4 bytes of a `fact` chunk whatever its size, and trusts the `data` size field. Every
//! size read here is checked against the real stream length before anything is allocated.

use std::io::{Read, Seek, SeekFrom};

use crate::error::WavError;

/// Sample encodings the decoder handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SampleEncoding {
    /// 8-bit unsigned integer PCM, value = (code - 128) / 128.
    PcmU8,
    /// 16-bit signed integer PCM, value = code / 2^15.
    PcmI16,
    /// 24-bit signed integer PCM, value = code / 2^23.
    PcmI24,
    /// 32-bit signed integer PCM, value = code / 2^31.
    PcmI32,
    /// 32-bit IEEE float, returned unchanged.
    Float32,
}

impl SampleEncoding {
    /// Bytes one sample of one channel occupies in the data chunk.
    pub fn bytes_per_sample(self) -> usize {
        match self {
            SampleEncoding::PcmU8 => 1,
            SampleEncoding::PcmI16 => 2,
            SampleEncoding::PcmI24 => 3,
            SampleEncoding::PcmI32 | SampleEncoding::Float32 => 4,
        }
    }
}

/// What the chunk walk found: the stream's format and where its samples are.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Layout {
    pub channels: usize,
    pub sample_rate: u32,
    pub encoding: SampleEncoding,
    /// Bytes per frame (all channels), from the fmt chunk's block_align.
    pub block_align: usize,
    /// Absolute stream offset of the first data byte.
    pub data_offset: u64,
    /// Data bytes, already checked to be present in the stream.
    pub data_len: u64,
}

const FORMAT_PCM: u16 = 0x0001;
const FORMAT_IEEE_FLOAT: u16 = 0x0003;
const FORMAT_EXTENSIBLE: u16 = 0xFFFE;
/// The 14 trailing bytes shared by every KSDATAFORMAT_SUBTYPE_* GUID (the first two bytes are
/// the plain format tag).
const KSDATAFORMAT_SUFFIX: [u8; 14] = [
    0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71,
];
/// A `fmt ` chunk larger than this is certainly corrupt; refuse rather than allocate it.
const MAX_FMT_LEN: u64 = 1 << 16;

/// Walks the RIFF chunks of `r` (from its current position) and returns the validated layout.
pub(crate) fn scan<R: Read + Seek>(r: &mut R) -> Result<Layout, WavError> {
    let base = r.stream_position()?;
    let end = r.seek(SeekFrom::End(0))?;
    r.seek(SeekFrom::Start(base))?;
    let total = end.saturating_sub(base);

    if total == 0 {
        return Err(WavError::Empty);
    }
    let mut header = [0u8; 12];
    let n = total.min(12) as usize;
    r.read_exact(&mut header[..n])?;
    // Judge the magic on the bytes present, so that a file cut inside its RIFF header is
    // reported as truncated, and text or other formats as "not a WAV file".
    let magic = &header[..n.min(4)];
    if magic == b"RIFX" {
        return Err(WavError::Unsupported("big-endian RIFX".into()));
    }
    if magic == b"RF64" {
        return Err(WavError::Unsupported("RF64 (64-bit WAV)".into()));
    }
    // Never quote the bytes: the file may be one the user did not mean to show (a manifest
    // entry can be a symlink to anything). Name the format when it is a common one.
    if !b"RIFF".starts_with(magic) || (n > 8 && !b"WAVE".starts_with(&header[8..n])) {
        return Err(WavError::NotWav(super::magic::sniff(&header[..n])));
    }
    if n < 12 {
        return Err(WavError::TruncatedHeader {
            part: "RIFF header".into(),
            offset: 0,
            needed: 12,
            available: total,
        });
    }

    let mut fmt: Option<Vec<u8>> = None;
    let mut data: Option<(u64, u64)> = None;
    let mut pos: u64 = 12;
    // The RIFF size field is often wrong in the wild; the real stream length bounds the walk.
    while pos + 8 <= total {
        r.seek(SeekFrom::Start(base + pos))?;
        let mut ch = [0u8; 8];
        r.read_exact(&mut ch)?;
        let id = [ch[0], ch[1], ch[2], ch[3]];
        let size = u64::from(u32::from_le_bytes([ch[4], ch[5], ch[6], ch[7]]));
        let body = pos + 8;
        let available = total - body;
        match &id {
            b"data" if data.is_none() => {
                if size > available {
                    return Err(WavError::Truncated {
                        claimed: size,
                        available,
                    });
                }
                data = Some((base + body, size));
            }
            b"fmt " if fmt.is_none() => {
                if size > available {
                    return Err(WavError::TruncatedHeader {
                        part: "\"fmt \" chunk".into(),
                        offset: body,
                        needed: size,
                        available,
                    });
                }
                if size > MAX_FMT_LEN {
                    return Err(WavError::Malformed(format!(
                        "fmt chunk of {size} bytes is implausibly large"
                    )));
                }
                let mut buf = vec![0u8; size as usize];
                r.read_exact(&mut buf)?;
                fmt = Some(buf);
            }
            _ => {
                if size > available {
                    if data.is_some() && fmt.is_some() {
                        // Trailing junk after the audio: ignore, as libsndfile does.
                        break;
                    }
                    return Err(WavError::TruncatedHeader {
                        part: format!("{} chunk", show_id(&id)),
                        offset: body,
                        needed: size,
                        available,
                    });
                }
            }
        }
        if fmt.is_some() && data.is_some() {
            break;
        }
        // Chunks are word aligned: an odd-sized chunk is followed by one pad byte.
        pos = body + size + (size & 1);
    }

    if (fmt.is_none() || data.is_none()) && pos < total {
        // 1 to 7 bytes left: the file was cut inside a chunk header.
        return Err(WavError::TruncatedHeader {
            part: "chunk header".into(),
            offset: pos,
            needed: 8,
            available: total - pos,
        });
    }
    let fmt = fmt.ok_or(WavError::MissingChunk { chunk: "fmt " })?;
    let (data_offset, data_len) = data.ok_or(WavError::MissingChunk { chunk: "data" })?;
    let (channels, sample_rate, encoding, block_align) = parse_fmt(&fmt)?;
    Ok(Layout {
        channels,
        sample_rate,
        encoding,
        block_align,
        data_offset,
        data_len,
    })
}

/// Parses a `fmt ` chunk body into (channels, sample rate, encoding, block_align).
fn parse_fmt(b: &[u8]) -> Result<(usize, u32, SampleEncoding, usize), WavError> {
    if b.len() < 16 {
        return Err(WavError::Malformed(format!(
            "fmt chunk is {} bytes, expected at least 16",
            b.len()
        )));
    }
    let u16_at = |i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
    let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    let tag = u16_at(0);
    let channels = usize::from(u16_at(2));
    let sample_rate = u32_at(4);
    let block_align = usize::from(u16_at(12));
    let bits = u16_at(14);

    let (format, extensible) = if tag == FORMAT_EXTENSIBLE {
        if b.len() < 40 || u16_at(16) < 22 {
            return Err(WavError::Malformed(
                "WAVE_FORMAT_EXTENSIBLE fmt chunk is shorter than 40 bytes".into(),
            ));
        }
        let valid_bits = u16_at(18);
        let guid = &b[24..40];
        if guid[2..] != KSDATAFORMAT_SUFFIX {
            return Err(WavError::Unsupported(format!(
                "WAVE_FORMAT_EXTENSIBLE sub-format GUID {}",
                guid.iter().map(|x| format!("{x:02x}")).collect::<String>()
            )));
        }
        if valid_bits > bits {
            return Err(WavError::Malformed(format!(
                "valid bits per sample ({valid_bits}) exceed the container size ({bits} bits)"
            )));
        }
        (u16::from_le_bytes([guid[0], guid[1]]), true)
    } else {
        (tag, false)
    };

    if channels == 0 {
        return Err(WavError::ZeroChannels);
    }
    if channels > usize::from(super::MAX_CHANNELS) {
        return Err(WavError::TooManyChannels {
            channels: u16_at(2),
            max: super::MAX_CHANNELS,
        });
    }
    if sample_rate == 0 {
        return Err(WavError::ZeroSampleRate);
    }
    // In WAVE_FORMAT_EXTENSIBLE, `bits` is the container size; fewer valid bits are left-
    // justified in it, so scaling by the container (as libsndfile does) is still right.
    let encoding = match (format, bits) {
        (FORMAT_PCM, 8) => SampleEncoding::PcmU8,
        (FORMAT_PCM, 16) => SampleEncoding::PcmI16,
        (FORMAT_PCM, 24) => SampleEncoding::PcmI24,
        (FORMAT_PCM, 32) => SampleEncoding::PcmI32,
        (FORMAT_PCM, bits) => {
            return Err(WavError::UnsupportedBitDepth {
                format: "integer PCM",
                bits,
            });
        }
        (FORMAT_IEEE_FLOAT, 32) => SampleEncoding::Float32,
        (FORMAT_IEEE_FLOAT, bits) => {
            return Err(WavError::UnsupportedBitDepth {
                format: "IEEE float",
                bits,
            });
        }
        (other, _) => {
            let what = format_name(other);
            let prefix = if extensible {
                "WAVE_FORMAT_EXTENSIBLE sub-format "
            } else {
                ""
            };
            return Err(WavError::Unsupported(format!("{prefix}{what}")));
        }
    };
    let expected_align = channels * encoding.bytes_per_sample();
    if block_align != expected_align {
        return Err(WavError::Malformed(format!(
            "block_align is {block_align} but {channels} channel(s) of {bits}-bit samples need {expected_align}"
        )));
    }
    Ok((channels, sample_rate, encoding, block_align))
}

/// Human name of a WAVE format tag, for error messages.
fn format_name(tag: u16) -> String {
    match tag {
        0x0002 => "Microsoft ADPCM (format tag 0x0002)".into(),
        0x0006 => "A-law (format tag 0x0006)".into(),
        0x0007 => "mu-law (format tag 0x0007)".into(),
        0x0011 => "IMA ADPCM (format tag 0x0011)".into(),
        0x0055 => "MPEG layer 3 (format tag 0x0055)".into(),
        other => format!("format tag 0x{other:04X}"),
    }
}

/// Shows a four-character code, escaping non-printable bytes.
fn show_id(id: &[u8]) -> String {
    let s: String = id
        .iter()
        .map(|&c| {
            if c.is_ascii_graphic() || c == b' ' {
                char::from(c).to_string()
            } else {
                format!("\\x{c:02x}")
            }
        })
        .collect();
    format!("\"{s}\"")
}
