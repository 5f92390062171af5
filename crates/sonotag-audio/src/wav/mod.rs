//! WAV decoding (and writing, through hound).
//!
//! Samples come out as `f32` with libsndfile/soundfile's scaling: 8-bit PCM is unsigned,
//! `(code - 128) / 128`; 16/24/32-bit PCM is `code / 2^(bits-1)` (the most negative code maps
//! to exactly -1.0); 32-bit float is returned unchanged (NaN/inf are refused with
//! [`WavError::NonFinite`]).
//!
//! Hostile or damaged input gives a typed [`WavError`], never a panic and never an allocation
//! larger than the bytes actually present (docs/reliability.md lists the cases):
//! a file cut short gives [`WavError::TruncatedHeader`] or, inside the samples (even mid-sample),
//! [`WavError::Truncated`]. A `data` chunk whose declared size is fully present but not a
//! whole number of frames is accepted and its trailing partial frame ignored, as libsndfile
//! does: the file itself is complete, only its writer rounded oddly.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut bytes = Vec::new();
//! sonotag_audio::wav::write_pcm16(std::io::Cursor::new(&mut bytes), 16_000, &[0.0, 0.5, -1.0])?;
//! let wav = sonotag_audio::wav::decode_bytes(&bytes)?;
//! assert_eq!(wav.sample_rate(), 16_000);
//! assert_eq!(wav.channel(0), &[0.0, 0.5, -1.0]);
//! # Ok(()) }
//! ```

mod convert;
pub(crate) use convert::convert_frames;
mod magic;
mod riff;

use std::fs::File;
use std::io::{Cursor, Read, Seek, SeekFrom, Write};
use std::path::Path;

pub use riff::SampleEncoding;

pub(crate) use magic::sniff as sniff_name;
pub(crate) use riff::{Layout, scan};

use crate::error::{AudioError, WavError};

/// Most channels a WAV file may declare ([`WavError::TooManyChannels`] above this): libsndfile's
/// limit (`SF_MAX_CHANNELS`), far above any recording, so only corrupt headers are refused.
pub const MAX_CHANNELS: u16 = 1024;

/// A decoded WAV file: one `Vec<f32>` per channel, all of the same length.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedWav {
    sample_rate: u32,
    encoding: SampleEncoding,
    channels: Vec<Vec<f32>>,
}

impl DecodedWav {
    /// Sample rate in Hz (never 0).
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// Encoding of the samples in the file.
    pub fn encoding(&self) -> SampleEncoding {
        self.encoding
    }

    /// Number of channels (at least 1).
    pub fn n_channels(&self) -> usize {
        self.channels.len()
    }

    /// Number of frames (samples per channel).
    pub fn n_frames(&self) -> usize {
        self.channels.first().map_or(0, Vec::len)
    }

    /// Duration in seconds.
    pub fn duration_s(&self) -> f64 {
        self.n_frames() as f64 / f64::from(self.sample_rate)
    }

    /// The samples of channel `c`.
    ///
    /// # Panics
    /// If `c >= self.n_channels()`.
    pub fn channel(&self, c: usize) -> &[f32] {
        &self.channels[c]
    }

    /// All channels, de-interleaved.
    pub fn channels(&self) -> &[Vec<f32>] {
        &self.channels
    }

    /// Mono downmix: the mean of the channels at each frame (like `librosa.to_mono`).
    pub fn to_mono(&self) -> Vec<f32> {
        downmix(&self.channels)
    }

    /// The channels, moved out.
    pub(crate) fn into_channels(self) -> Vec<Vec<f32>> {
        self.channels
    }

    /// Mono downmix that moves the samples out when the file is already mono (no copy).
    pub fn into_mono(mut self) -> Vec<f32> {
        if self.channels.len() == 1 {
            self.channels.pop().unwrap_or_default()
        } else {
            downmix(&self.channels)
        }
    }
}

/// Mean over channels, accumulated in f32 in channel order then divided (as numpy's mean).
pub(crate) fn downmix(channels: &[Vec<f32>]) -> Vec<f32> {
    let Some(first) = channels.first() else {
        return Vec::new();
    };
    let mut out = first.clone();
    for ch in &channels[1..] {
        for (o, &x) in out.iter_mut().zip(ch) {
            *o += x;
        }
    }
    let n = channels.len() as f32;
    if channels.len() > 1 {
        for o in &mut out {
            *o /= n;
        }
    }
    out
}

/// Decodes a WAV stream starting at the reader's current position.
///
/// # Errors
/// A [`WavError`] for anything but a complete WAV stream in a supported encoding. The stream's
/// length (found by seeking to its end) bounds every size field and so every allocation.
pub fn decode_reader<R: Read + Seek>(mut r: R) -> Result<DecodedWav, WavError> {
    let layout = riff::scan(&mut r)?;
    decode_layout(r, &layout)
}

/// Decodes the samples of a scanned stream (the second half of [`decode_reader`]).
pub(crate) fn decode_layout<R: Read + Seek>(
    mut r: R,
    layout: &Layout,
) -> Result<DecodedWav, WavError> {
    r.seek(SeekFrom::Start(layout.data_offset))?;
    // `data_len` was checked against the real stream length, so this allocation is bounded by
    // the bytes actually present, whatever the header claimed.
    let n_frames = (layout.data_len / layout.block_align as u64) as usize;
    let channels = convert::read_deinterleaved(&mut r, layout, n_frames)?;
    Ok(DecodedWav {
        sample_rate: layout.sample_rate,
        encoding: layout.encoding,
        channels,
    })
}

/// Decodes a WAV file held in memory.
pub fn decode_bytes(bytes: &[u8]) -> Result<DecodedWav, WavError> {
    decode_reader(Cursor::new(bytes))
}

/// Decodes the WAV file at `path`; errors name the file.
///
/// # Errors
/// [`AudioError::NotFound`], [`AudioError::IsDirectory`], [`AudioError::PermissionDenied`] or
/// [`AudioError::Read`] when the file cannot be read, [`AudioError::Wav`] (with the
/// [`WavError`]) when its contents cannot be decoded.
pub fn decode_file(path: impl AsRef<Path>) -> Result<DecodedWav, AudioError> {
    let path = path.as_ref();
    if path.is_dir() {
        return Err(AudioError::IsDirectory {
            path: path.to_path_buf(),
        });
    }
    let file = File::open(path).map_err(|e| AudioError::from_io(path.to_path_buf(), e))?;
    decode_reader(file).map_err(|e| match e {
        WavError::Io(source) => AudioError::from_io(path.to_path_buf(), source),
        source => AudioError::Wav {
            path: path.to_path_buf(),
            source,
        },
    })
}

/// Writes mono `samples` as a 16-bit PCM WAV (with hound), rounding and clipping to the
/// 16-bit range (`x * 32768`, clipped to `[-32768, 32767]`), which `decode_*` inverts exactly.
pub fn write_pcm16<W: Write + Seek>(
    w: W,
    sample_rate: u32,
    samples: &[f32],
) -> Result<(), hound::Error> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::new(w, spec)?;
    {
        let mut w16 = writer.get_i16_writer(samples.len() as u32);
        for &x in samples {
            let code = (f64::from(x) * 32768.0).round().clamp(-32768.0, 32767.0) as i16;
            w16.write_sample(code);
        }
        w16.flush()?;
    }
    writer.finalize()
}

/// Writes mono `samples` as a 32-bit IEEE float WAV (with hound).
pub fn write_f32<W: Write + Seek>(
    w: W,
    sample_rate: u32,
    samples: &[f32],
) -> Result<(), hound::Error> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut writer = hound::WavWriter::new(w, spec)?;
    for &x in samples {
        writer.write_sample(x)?;
    }
    writer.finalize()
}
