//! Decoding any supported audio format to `f32`, chosen by the file's content, never by its
//! name: WAV (the crate's own decoder, [`crate::wav`]) and, with the `symphonia` cargo feature
//! (on by default), FLAC, MP3, Ogg Vorbis, MP4/M4A (AAC, ALAC), raw ADTS AAC, AIFF and CAF.
//!
//! ```no_run
//! use sonotag_audio::decode::{self, AudioReader};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let audio = decode::decode_file("song.flac")?; // the whole file
//! println!("{} Hz, {} channels, {:.1} s", audio.sample_rate(), audio.n_channels(), audio.duration_s());
//! let mono = audio.into_mono();
//!
//! // The same samples, a block at a time, in memory that does not grow with the file.
//! let mut reader = AudioReader::open("song.flac")?;
//! let mut block = Vec::new();
//! while reader.read_mono(&mut block, 4096)? > 0 {
//!     block.clear(); // ... use the block first
//! }
//! assert_eq!(reader.frames_read(), mono.len() as u64);
//! # Ok(()) }
//! ```
//!
//! Samples are scaled as [`crate::wav`] scales them (libsndfile/ffmpeg's convention: integer
//! PCM is `code / 2^(bits-1)`), so lossless formats give exactly ffmpeg's `f32` samples.
//! Lossy streams are trimmed as ffmpeg 5.1 trims them: MP3 gaplessly (the LAME/Xing header's
//! encoder delay and padding), AAC in MP4 by its 1024 priming frames (ffmpeg's and fdk's
//! encoders; Apple's prime 2112, which would need the edit list, not read), Ogg Vorbis and
//! ADTS not at all. Not decoded: Opus, ALAC in CAF (Symphonia 0.5.5 refuses ffmpeg's cookie),
//! MP1/MP2; they give [`DecodeError::UnsupportedCodec`] naming the codec.
//!
//! # Damaged files
//!
//! - **Corrupt packets** in the middle of a stream (a packet the codec refuses) are *skipped*:
//!   their frames are not emitted, and a [`DecodeWarning`] records the time in the recording.
//!   More than [`MAX_BAD_PACKETS_IN_A_ROW`] failures in a row, or more than
//!   [`MAX_SKIPPED_PACKETS`] skipped packets making more than a tenth of the packets read so
//!   far, refuse the file with [`DecodeError::CorruptStream`] naming the time: a few bad
//!   packets are damage a listener would not notice, a stream of them is not audio.
//!   The same rule runs while streaming, so a whole-file decode and an [`AudioReader`] agree.
//! - **Truncated files** are refused with [`DecodeError::Truncated`] naming the time where the
//!   audio stops, when the header says how long the stream is (FLAC `STREAMINFO`, the MP3
//!   Xing header with its LAME tag, AIFF and CAF data sizes) and fewer frames are present, as
//!   the WAV decoder refuses a short `data` chunk. libsndfile and ffmpeg decode what is
//!   present instead; we refuse because a cut file in a training set is a failed copy to
//!   redo, and decoding its first part would silently train on less than the label
//!   describes. A file cut inside its headers, and any cut MP4 (Symphonia 0.5 walks every
//!   top-level atom when it opens one), is [`DecodeError::Malformed`] "the file ends while its
//!   headers are read (truncated file?)". Streams that do not declare their length (Ogg, MP3
//!   without a LAME tag, ADTS) cannot be told from shorter ones and decode to their last
//!   whole packet, as ffmpeg does.
//! - **Header numbers are never trusted for allocation**: a header's frame count sizes at most
//!   [`PREALLOC_FRAMES_CAP`] frames up front (or the file's byte count, if larger); the
//!   output grows only with frames actually decoded, up to
//!   [`AudioLimits::max_decode_frames`](crate::AudioLimits::max_decode_frames). Channel
//!   counts above [`crate::wav::MAX_CHANNELS`] (32 for the Symphonia formats, whose channel
//!   mask has 32 bits) and sample rates outside `AudioLimits::{min,max}_sample_rate` are
//!   refused when the file is opened. Lengths that Symphonia would allocate before reading
//!   are checked against the bytes present first: Vorbis comment lengths (FLAC, Ogg), ID3v2
//!   frame sizes (any format), CAF cookie and packet-table sizes, and in MP4 the sample
//!   tables' entry counts, sample sizes, box sizes and `esds` descriptor lengths (a 15 KB M4A
//!   asked for 64 MiB), refused as [`DecodeError::Malformed`].
//! - A panic inside Symphonia on hostile bytes is caught and returned as
//!   [`DecodeError::CorruptStream`] (none is known: the one found, a CAF header with 64
//!   channels, is refused before Symphonia sees it).
//! - A sample rate or channel count that changes mid-stream is refused
//!   ([`DecodeError::RateChange`]): the front end has one rate per clip.

#[cfg(feature = "symphonia")]
mod caf_check;
#[cfg(feature = "symphonia")]
mod id3_check;
#[cfg(feature = "symphonia")]
mod mp4_check;
#[cfg(feature = "symphonia")]
mod read_at;
mod sniff;
mod stream;
#[cfg(feature = "symphonia")]
mod sym;

use std::fmt;
use std::fs::File;
use std::io::{Cursor, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

pub use crate::error::DecodeError;
use crate::error::{AudioError, WavError};
use crate::limits::{AudioLimits, LimitError, LimitValue};
pub use sniff::sniff;
use stream::Stream;

/// More consecutive packets than this failing to decode refuse the file
/// ([`DecodeError::CorruptStream`]).
pub const MAX_BAD_PACKETS_IN_A_ROW: u32 = 16;

/// Skipped packets tolerated whatever the stream's length; above this, skipped packets may be
/// at most a tenth of the packets read so far.
pub const MAX_SKIPPED_PACKETS: u64 = 16;

/// Most warnings kept by a decode (later skipped packets are still counted by
/// [`AudioReader::skipped_packets`], and the refusal rules bound them anyway).
pub const MAX_WARNINGS: usize = 64;

/// Most frames a header's length claim may reserve before any is decoded (2^16, 256 KiB per
/// channel), unless the file itself has more bytes than that.
pub const PREALLOC_FRAMES_CAP: u64 = 1 << 16;

/// A container/codec family, recognised from the first bytes of a file ([`sniff`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AudioFormat {
    /// RIFF/WAVE (and RF64, which is recognised but refused by the WAV decoder).
    Wav,
    /// Native FLAC (`fLaC`).
    Flac,
    /// MPEG-1/2/2.5 layer III, with or without an ID3v2 tag.
    Mp3,
    /// Ogg (Vorbis; FLAC and Opus in Ogg are recognised, Opus is not decoded).
    Ogg,
    /// ISO base media (MP4/M4A): AAC or ALAC.
    Mp4,
    /// AIFF and AIFF-C.
    Aiff,
    /// Apple Core Audio Format: PCM or ALAC.
    Caf,
    /// Raw AAC in ADTS frames (`.aac`).
    Aac,
}

impl AudioFormat {
    /// Lowercase name, as [`fmt::Display`] prints it (`"flac"`).
    pub fn name(self) -> &'static str {
        match self {
            AudioFormat::Wav => "wav",
            AudioFormat::Flac => "flac",
            AudioFormat::Mp3 => "mp3",
            AudioFormat::Ogg => "ogg",
            AudioFormat::Mp4 => "mp4",
            AudioFormat::Aiff => "aiff",
            AudioFormat::Caf => "caf",
            AudioFormat::Aac => "aac",
        }
    }
}

impl fmt::Display for AudioFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a file's headers say about its audio.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct AudioInfo {
    /// The container, from the content.
    pub format: AudioFormat,
    /// The codec's short name, as ffmpeg spells it (`"flac"`, `"mp3"`, `"aac"`, `"pcm_s16le"`).
    pub codec: String,
    /// Sample rate in Hz (within the limits the file was opened with).
    pub sample_rate: u32,
    /// Channels (1 to [`crate::wav::MAX_CHANNELS`]).
    pub n_channels: usize,
    /// Frames the header claims, if it does. Never trusted for allocation.
    pub n_frames: Option<u64>,
}

/// A corrupt packet that was skipped (see the module docs for the policy).
#[derive(Debug, Clone, PartialEq)]
pub struct DecodeWarning {
    /// Where in the recording (seconds of emitted audio before the gap).
    pub time_s: f64,
    /// What the codec said.
    pub message: String,
}

impl fmt::Display for DecodeWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at {:.3} s: {}", self.time_s, self.message)
    }
}

/// A decoded file: one `Vec<f32>` per channel, all of the same length.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedAudio {
    info: AudioInfo,
    channels: Vec<Vec<f32>>,
    warnings: Vec<DecodeWarning>,
}

impl DecodedAudio {
    /// Sample rate in Hz.
    pub fn sample_rate(&self) -> u32 {
        self.info.sample_rate
    }

    /// Number of channels (at least 1).
    pub fn n_channels(&self) -> usize {
        self.channels.len()
    }

    /// Number of frames decoded (samples per channel).
    pub fn n_frames(&self) -> usize {
        self.channels.first().map_or(0, Vec::len)
    }

    /// Duration in seconds.
    pub fn duration_s(&self) -> f64 {
        self.n_frames() as f64 / f64::from(self.info.sample_rate)
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

    /// Mono downmix, as [`crate::DecodedWav::to_mono`]: channels summed in order in `f32`,
    /// then divided by their count.
    pub fn to_mono(&self) -> Vec<f32> {
        crate::wav::downmix(&self.channels)
    }

    /// [`Self::to_mono`] that moves the samples out when the file is mono (no copy).
    pub fn into_mono(mut self) -> Vec<f32> {
        if self.channels.len() == 1 {
            self.channels.pop().unwrap_or_default()
        } else {
            crate::wav::downmix(&self.channels)
        }
    }

    /// What the headers said.
    pub fn info(&self) -> &AudioInfo {
        &self.info
    }

    /// Corrupt packets skipped (at most [`MAX_WARNINGS`] are kept).
    pub fn warnings(&self) -> &[DecodeWarning] {
        &self.warnings
    }
}

/// File extensions of the formats this build decodes (lowercase, without the dot), for
/// folder scans. Decoding itself never looks at the name.
#[cfg(feature = "symphonia")]
pub const AUDIO_EXTENSIONS: &[&str] = &[
    "wav", "wave", "flac", "mp3", "ogg", "oga", "m4a", "mp4", "aac", "aif", "aiff", "aifc", "caf",
];

/// File extensions of the formats this build decodes (lowercase, without the dot), for
/// folder scans. Decoding itself never looks at the name.
#[cfg(not(feature = "symphonia"))]
pub const AUDIO_EXTENSIONS: &[&str] = &["wav", "wave"];

/// Whether `path` ends in one of [`AUDIO_EXTENSIONS`], case-insensitively. For folder scans
/// only: decoding chooses the format by content.
pub fn has_audio_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| AUDIO_EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)))
}

/// Decodes the file at `path`, whatever its format, within [`AudioLimits::default`].
///
/// # Errors
/// [`AudioError::NotFound`], [`AudioError::IsDirectory`], [`AudioError::PermissionDenied`] or
/// [`AudioError::Read`] when the file cannot be read; [`AudioError::Wav`] for a WAV file the
/// WAV decoder refuses (as [`crate::wav::decode_file`]); [`AudioError::Decode`] otherwise.
pub fn decode_file(path: impl AsRef<Path>) -> Result<DecodedAudio, AudioError> {
    decode_file_within(path, &AudioLimits::default())
}

/// [`decode_file`] with explicit limits (sample rate range, `max_decode_frames`).
pub fn decode_file_within(
    path: impl AsRef<Path>,
    limits: &AudioLimits,
) -> Result<DecodedAudio, AudioError> {
    let path = path.as_ref();
    let file = open_file(path)?;
    decode_any(file, limits).map_err(|e| file_error(path, e))
}

/// Decodes a file held in memory, whatever its format, within [`AudioLimits::default`].
///
/// # Errors
/// A [`DecodeError`]; WAV-level errors come as [`DecodeError::Wav`].
pub fn decode_bytes(bytes: &[u8]) -> Result<DecodedAudio, DecodeError> {
    decode_bytes_within(bytes, &AudioLimits::default())
}

/// [`decode_bytes`] with explicit limits.
pub fn decode_bytes_within(
    bytes: &[u8],
    limits: &AudioLimits,
) -> Result<DecodedAudio, DecodeError> {
    match detect(bytes.get(..sniff::SNIFF_BYTES).unwrap_or(bytes))? {
        AudioFormat::Wav => decode_wav(Cursor::new(bytes), limits),
        // The compressed decoders need an owned stream: one copy of the input.
        format => decode_compressed(Cursor::new(bytes.to_vec()), format, limits),
    }
}

/// The file, or the error naming it (a directory is refused before it is opened).
fn open_file(path: &Path) -> Result<File, AudioError> {
    if path.is_dir() {
        return Err(AudioError::IsDirectory {
            path: path.to_path_buf(),
        });
    }
    File::open(path).map_err(|e| AudioError::from_io(path.to_path_buf(), e))
}

/// A [`DecodeError`] about `path` as the [`AudioError`] callers match on.
pub(crate) fn file_error(path: &Path, e: DecodeError) -> AudioError {
    let path = path.to_path_buf();
    match e {
        DecodeError::Io(source) | DecodeError::Wav(WavError::Io(source)) => {
            AudioError::from_io(path, source)
        }
        DecodeError::Wav(source) => AudioError::Wav { path, source },
        DecodeError::UnknownFormat {
            looks_like,
            named: None,
        } => AudioError::Decode {
            source: DecodeError::UnknownFormat {
                looks_like,
                named: sniff::named_format(&path),
            },
            path,
        },
        source => AudioError::Decode { path, source },
    }
}

/// The first bytes of `r` (then rewound to the start).
fn read_head<R: Read + Seek>(r: &mut R) -> Result<Vec<u8>, DecodeError> {
    let mut head = Vec::with_capacity(sniff::SNIFF_BYTES);
    r.by_ref()
        .take(sniff::SNIFF_BYTES as u64)
        .read_to_end(&mut head)?;
    r.seek(SeekFrom::Start(0))?;
    Ok(head)
}

/// The format of a stream starting with `head`, or why there is none.
fn detect(head: &[u8]) -> Result<AudioFormat, DecodeError> {
    if head.is_empty() {
        return Err(DecodeError::Empty);
    }
    sniff(head).ok_or_else(|| DecodeError::UnknownFormat {
        looks_like: sniff::describe(head),
        named: None,
    })
}

/// Checks a sample rate at open.
fn check_rate(limits: &AudioLimits, rate: u32) -> Result<(), DecodeError> {
    limits
        .check_sample_rate("input sample rate", rate)
        .map_err(DecodeError::from)
}

/// The error when a whole-file decode passes `max_decode_frames`.
fn too_long(limits: &AudioLimits, frames: u64) -> DecodeError {
    DecodeError::from(LimitError::above(
        "decoded length",
        LimitValue::Int(u128::from(frames)),
        limits.max_decode_frames,
        " frames",
        "max_decode_frames",
    ))
}

/// Whole-file decode of a seekable stream.
fn decode_any<R: Read + Seek + Send + Sync + 'static>(
    mut r: R,
    limits: &AudioLimits,
) -> Result<DecodedAudio, DecodeError> {
    let head = read_head(&mut r)?;
    match detect(&head)? {
        AudioFormat::Wav => decode_wav(r, limits),
        format => decode_compressed(r, format, limits),
    }
}

/// Whole-file decode of a WAV stream with the crate's own decoder (as `wav::decode_reader`).
fn decode_wav<R: Read + Seek>(mut r: R, limits: &AudioLimits) -> Result<DecodedAudio, DecodeError> {
    let layout = crate::wav::scan(&mut r)?;
    check_rate(limits, layout.sample_rate)?;
    let frames = layout.data_len / layout.block_align as u64;
    if frames > limits.max_decode_frames {
        return Err(too_long(limits, frames));
    }
    let info = stream::wav_info(&layout);
    let wav = crate::wav::decode_layout(r, &layout)?;
    Ok(DecodedAudio {
        info,
        channels: wav.into_channels(),
        warnings: Vec::new(),
    })
}

/// Whole-file decode of a compressed stream: the streaming decoder's blocks, appended.
fn decode_compressed<R: Read + Seek + Send + Sync + 'static>(
    r: R,
    format: AudioFormat,
    limits: &AudioLimits,
) -> Result<DecodedAudio, DecodeError> {
    let mut s = Stream::open_compressed(r, format, limits)?;
    let info = s.info().clone();
    // The header's claim reserves at most the cap (or one frame per byte of the file).
    let cap = info
        .n_frames
        .unwrap_or(0)
        .min(PREALLOC_FRAMES_CAP.max(s.byte_len()));
    let cap = usize::try_from(cap).unwrap_or(0);
    let mut channels: Vec<Vec<f32>> = (0..info.n_channels)
        .map(|_| crate::buffer::with_capacity(cap))
        .collect();
    let mut total: u64 = 0;
    loop {
        let n = s.next_block(usize::MAX)?;
        if n == 0 {
            break;
        }
        total += n as u64;
        if total > limits.max_decode_frames {
            return Err(too_long(limits, total));
        }
        for (out, block) in channels.iter_mut().zip(s.planar()) {
            out.extend_from_slice(&block[..n]);
        }
    }
    Ok(DecodedAudio {
        info,
        channels,
        warnings: s.take_warnings(),
    })
}

/// Streaming decoder over a file, any format: headers at [`AudioReader::open`], then blocks
/// of mono samples from [`AudioReader::read_mono`], in memory that does not grow with the
/// file (one packet, or one block of a WAV file, at a time).
///
/// The concatenated blocks are bit-for-bit [`decode_file`]'s `into_mono()`.
pub struct AudioReader {
    path: PathBuf,
    stream: Stream,
    frames_read: u64,
}

impl fmt::Debug for AudioReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AudioReader")
            .field("path", &self.path)
            .field("info", self.stream.info())
            .field("frames_read", &self.frames_read)
            .finish_non_exhaustive()
    }
}

impl AudioReader {
    /// Opens `path` and reads its headers, within [`AudioLimits::default`].
    ///
    /// # Errors
    /// As [`decode_file`], for what the headers show.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, AudioError> {
        Self::open_within(path, &AudioLimits::default())
    }

    /// [`AudioReader::open`] with explicit limits (the sample rate range; a stream has no
    /// length limit, its memory is bounded anyway).
    pub fn open_within(path: impl AsRef<Path>, limits: &AudioLimits) -> Result<Self, AudioError> {
        let path = path.as_ref();
        let file = open_file(path)?;
        let stream = Stream::open_file(file, limits).map_err(|e| file_error(path, e))?;
        Ok(Self {
            path: path.to_path_buf(),
            stream,
            frames_read: 0,
        })
    }

    /// What the headers said.
    pub fn info(&self) -> &AudioInfo {
        self.stream.info()
    }

    /// Appends the mono downmix of the next decoded packet(s) to `out` (at most about
    /// `max_frames` frames, at least one packet if any is left); returns the number of frames
    /// appended, 0 at the end of the stream.
    ///
    /// # Errors
    /// As [`decode_file`], naming the file; after an error the reader should be dropped.
    pub fn read_mono(
        &mut self,
        out: &mut Vec<f32>,
        max_frames: usize,
    ) -> Result<usize, AudioError> {
        let max_frames = max_frames.max(1);
        let mut appended = 0;
        while appended < max_frames {
            let n = self
                .stream
                .next_block(max_frames - appended)
                .map_err(|e| file_error(&self.path, e))?;
            if n == 0 {
                break;
            }
            downmix_append(self.stream.planar(), n, out);
            appended += n;
        }
        self.frames_read += appended as u64;
        Ok(appended)
    }

    /// Corrupt packets skipped so far (at most [`MAX_WARNINGS`] are kept).
    pub fn warnings(&self) -> &[DecodeWarning] {
        self.stream.warnings()
    }

    /// Corrupt packets skipped so far, all of them counted.
    pub fn skipped_packets(&self) -> u64 {
        self.stream.skipped_packets()
    }

    /// Frames returned by [`AudioReader::read_mono`] so far.
    pub fn frames_read(&self) -> u64 {
        self.frames_read
    }
}

/// Appends the downmix of the first `n` frames of `planar` to `out`, with
/// [`crate::wav::downmix`]'s arithmetic (so that blocks concatenate to the same bits).
fn downmix_append(planar: &[Vec<f32>], n: usize, out: &mut Vec<f32>) {
    let Some(first) = planar.first() else {
        return;
    };
    let start = out.len();
    out.extend_from_slice(&first[..n]);
    if planar.len() > 1 {
        let dst = &mut out[start..];
        for ch in &planar[1..] {
            for (o, &x) in dst.iter_mut().zip(&ch[..n]) {
                *o += x;
            }
        }
        let k = planar.len() as f32;
        for o in dst {
            *o /= k;
        }
    }
}
