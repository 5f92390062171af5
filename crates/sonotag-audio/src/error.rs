//! Typed errors of the audio front end.
//!
//! Low-level errors ([`WavError`], [`MelError`], [`ConfigError`], ...) describe *what* went
//! wrong; [`AudioError`] adds *where* (the file), so that its `Display` is one line a command
//! can print as is, e.g. `in.wav: unsupported encoding: 12-bit integer PCM (supported: ...)`.

use std::io;
use std::path::PathBuf;

use thiserror::Error;

use crate::limits::LimitError;

/// Why a WAV stream could not be decoded. Carries no file name: [`AudioError::Wav`] adds it.
///
/// Every size field is checked against the real stream length before anything is allocated, so
/// a hostile header (e.g. a `data` chunk claiming 4 GiB in a 1 KB file) yields an error here,
/// never a huge allocation. docs/reliability.md maps hostile inputs to these variants.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum WavError {
    /// The stream holds no bytes at all.
    #[error("empty file (0 bytes), expected a WAV file")]
    Empty,
    /// The stream is not a RIFF/WAVE file at all. The message never quotes the file's bytes
    /// (a manifest may point, through a symlink, at any file the user did not mean to show);
    /// it names a recognised format when the magic number is a common one.
    #[error("not a WAV file ({})", match .0 {
        Some(format) => format!("looks like {format}, which this version does not decode"),
        None => "no RIFF/WAVE header".to_string(),
    })]
    NotWav(Option<&'static str>),
    /// The stream ends inside the RIFF header, a chunk header, the `fmt ` chunk or another chunk
    /// before the samples (a file cut short before its audio).
    #[error(
        "truncated header: the {part} at byte {offset} needs {needed} bytes but only {available} remain in the file"
    )]
    TruncatedHeader {
        /// What was being read: `RIFF header`, `chunk header`, `"fmt " chunk`, `"LIST" chunk`, ...
        part: String,
        /// Byte offset (from the start of the stream) where that part starts.
        offset: u64,
        /// Bytes the part needs from `offset` (for a chunk: its declared size).
        needed: u64,
        /// Bytes the stream holds from `offset`.
        available: u64,
    },
    /// A chunk every WAV file needs (`fmt ` or `data`) is absent.
    #[error("malformed WAV file: no \"{chunk}\" chunk before the end of the file")]
    MissingChunk {
        /// The missing chunk id (`"fmt "` or `"data"`).
        chunk: &'static str,
    },
    /// The stream is a WAV file but its chunk structure or `fmt ` fields are inconsistent.
    #[error("malformed WAV file: {0}")]
    Malformed(String),
    /// A well-formed WAV file in an encoding this decoder does not handle.
    #[error(
        "unsupported encoding: {0} (supported: 8-bit unsigned, 16/24/32-bit integer PCM, 32-bit float)"
    )]
    Unsupported(String),
    /// A PCM or IEEE-float file with a sample size this decoder does not handle (e.g. 12-bit
    /// PCM, 64-bit float).
    #[error(
        "unsupported encoding: {bits}-bit {format} (supported: 8-bit unsigned, 16/24/32-bit integer PCM, 32-bit float)"
    )]
    UnsupportedBitDepth {
        /// `"integer PCM"` or `"IEEE float"`.
        format: &'static str,
        /// The `bits_per_sample` field of the `fmt ` chunk.
        bits: u16,
    },
    /// The `fmt ` chunk declares zero channels.
    #[error("invalid WAV header: the fmt chunk declares 0 channels")]
    ZeroChannels,
    /// The `fmt ` chunk declares more channels than [`crate::wav::MAX_CHANNELS`] (libsndfile's
    /// limit too): certainly a corrupt or hostile header, not a recording.
    #[error(
        "invalid WAV header: the fmt chunk declares {channels} channels (at most {max} are supported)"
    )]
    TooManyChannels {
        /// The declared channel count.
        channels: u16,
        /// The largest accepted count.
        max: u16,
    },
    /// The `fmt ` chunk declares a sample rate of 0 Hz.
    #[error("invalid WAV header: the fmt chunk declares a sample rate of 0 Hz")]
    ZeroSampleRate,
    /// The `data` chunk declares more bytes than the stream holds (truncated file, possibly cut
    /// inside a sample, or a corrupt/hostile size field). Nothing of the claimed size is
    /// allocated.
    #[error(
        "truncated data: the data chunk declares {claimed} bytes but only {available} bytes follow in the file"
    )]
    Truncated {
        /// Size in bytes declared by the `data` chunk header.
        claimed: u64,
        /// Bytes actually present after the chunk header.
        available: u64,
    },
    /// A 32-bit float sample is NaN or infinite (the first one in file order is reported).
    #[error(
        "non-finite sample {value} at sample index {index} (frame {frame}, channel {channel}) of the data chunk"
    )]
    NonFinite {
        /// Index of the offending sample among all interleaved samples of the data chunk
        /// (`frame * channels + channel`).
        index: u64,
        /// Frame (time) index of the first offending sample.
        frame: usize,
        /// Channel of the first offending sample.
        channel: usize,
        /// The offending value.
        value: f32,
    },
    /// The underlying reader failed.
    #[error("read error: {0}")]
    Io(#[from] io::Error),
}

/// Why an audio stream of any format could not be decoded ([`crate::decode`]). Carries no
/// file name: [`AudioError::Decode`] adds it. Times are seconds into the recording.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The stream holds no bytes at all.
    #[error("empty file (0 bytes), expected an audio file")]
    Empty,
    /// The first bytes match no format this crate decodes. Never quotes the bytes.
    #[error("not an audio file this version decodes: {}the content looks like {looks_like}", match .named {
        Some(named) => format!("the name says {named} but "),
        None => String::new(),
    })]
    UnknownFormat {
        /// What the content looks like: a named format (`"WavPack"`), `"text"`, or binary data.
        looks_like: String,
        /// The format the file's extension promises, when it names one (`"FLAC (.flac)"`).
        named: Option<String>,
    },
    /// The container is recognised but its audio codec is not decoded by this build.
    #[error("{format} file with {codec} audio, which this version does not decode")]
    UnsupportedCodec {
        /// The container.
        format: crate::decode::AudioFormat,
        /// The codec's name (`"opus"`).
        codec: String,
    },
    /// A compressed format recognised in a build without the `symphonia` cargo feature.
    #[error(
        "{format} file, but this build decodes WAV only (the `symphonia` feature of sonotag-audio is off)"
    )]
    FeatureDisabled {
        /// The recognised format.
        format: crate::decode::AudioFormat,
    },
    /// The container's headers cannot be read.
    #[error("malformed {format} file: {reason}")]
    Malformed {
        /// The container.
        format: crate::decode::AudioFormat,
        /// What the demuxer said.
        reason: String,
    },
    /// Too many packets failed to decode (see the corrupt-packet policy of [`crate::decode`]),
    /// or the container broke mid-stream.
    #[error("corrupt stream at {time_s:.3} s: {reason}")]
    CorruptStream {
        /// Where in the recording.
        time_s: f64,
        /// What failed.
        reason: String,
    },
    /// The stream ends before the length its header declares: the file is cut short (or the
    /// demuxer dropped damaged frames it could not parse).
    #[error(
        "truncated file: only {time_s:.3} s of audio decode but the header declares {declared_s:.3} s (the file is cut short, or frames are damaged)"
    )]
    Truncated {
        /// The length that decodes (where the audio stops).
        time_s: f64,
        /// The length the header declares.
        declared_s: f64,
    },
    /// The header declares more channels than supported: [`crate::wav::MAX_CHANNELS`], or 32
    /// for the formats decoded through Symphonia (its channel mask has 32 bits).
    #[error("the header declares {channels} channels (at most {max} are supported)")]
    TooManyChannels {
        /// Declared channels.
        channels: u64,
        /// The largest accepted count.
        max: u64,
    },
    /// The container holds no audio track.
    #[error("no audio track in the file")]
    NoAudioTrack,
    /// The sample rate or channel count changes mid-stream.
    #[error(
        "the stream changes from {from} to {to} at {time_s:.3} s (one rate and channel count per file are supported)"
    )]
    RateChange {
        /// Where in the recording.
        time_s: f64,
        /// Rate and channels before.
        from: String,
        /// Rate and channels after.
        to: String,
    },
    /// A number of the stream is beyond one of the [`crate::AudioLimits`] (boxed: the rare case).
    #[error("{0}")]
    Limit(Box<LimitError>),
    /// A WAV stream the WAV decoder refused ([`AudioError::Wav`] for files).
    #[error(transparent)]
    Wav(#[from] WavError),
    /// The underlying reader failed.
    #[error("read error: {0}")]
    Io(#[from] io::Error),
}

impl From<LimitError> for DecodeError {
    fn from(e: LimitError) -> Self {
        DecodeError::Limit(Box::new(e))
    }
}

/// An invalid field in a configuration ([`crate::MelConfig`], [`crate::SegmentConfig`]).
///
/// When the field is impossible only because it crosses one of the [`crate::AudioLimits`],
/// `limit` holds the typed [`LimitError`] (also the error's `source`) and `reason` its
/// message: match on `limit` to tell "raise the limit" from "fix the config".
#[derive(Debug, Clone, PartialEq, Error)]
#[error("invalid `{field}`: {reason}")]
#[non_exhaustive]
pub struct ConfigError {
    /// Name of the offending field, as spelled in JSON.
    pub field: &'static str,
    /// What is wrong with it.
    pub reason: String,
    /// The limit the field crosses, if that is what is wrong with it (boxed: it is the rare
    /// case, and keeps the error small).
    #[source]
    pub limit: Option<Box<LimitError>>,
}

impl ConfigError {
    pub(crate) fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
            limit: None,
        }
    }

    /// `field` crosses a limit.
    pub(crate) fn limit(field: &'static str, limit: LimitError) -> Self {
        Self {
            field,
            reason: limit.to_string(),
            limit: Some(Box::new(limit)),
        }
    }
}

/// Why log-mel extraction refused a clip (librosa refuses the same inputs).
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum MelError {
    /// `center = false` needs at least `n_fft` samples (librosa: "n_fft is too large for
    /// uncentered analysis").
    #[error(
        "clip of {len} samples is shorter than n_fft = {n_fft}: uncentered analysis (center = false) needs at least n_fft samples"
    )]
    TooShort {
        /// Clip length in samples.
        len: usize,
        /// Configured FFT size.
        n_fft: usize,
    },
    /// Reflect padding of an empty clip is undefined (numpy refuses it too).
    #[error("cannot reflect-pad an empty clip (pad_mode = \"reflect\")")]
    EmptyReflect,
    /// The input holds a NaN or an infinity (librosa: "Audio buffer is not finite everywhere").
    #[error("non-finite input sample {value} at index {index}")]
    NonFinite {
        /// Index of the first offending sample.
        index: usize,
        /// The offending value.
        value: f32,
    },
    /// The FFT backend rejected a buffer (an internal invariant was broken).
    #[error("internal FFT error: {0}")]
    Fft(String),
}

/// Why resampling failed.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum ResampleError {
    /// A sample rate of zero.
    #[error("invalid sample rates: {from} Hz -> {to} Hz (both must be > 0)")]
    ZeroRate {
        /// Input rate.
        from: u32,
        /// Output rate.
        to: u32,
    },
    /// A rate, or the ratio of the two, is beyond the [`crate::AudioLimits`]; the message
    /// says which rate (input or output) and its value.
    /// (Boxed: it is the rare case, and keeps the error small.)
    #[error("{0}")]
    Limit(Box<LimitError>),
    /// rubato refused to build or run the resampler.
    #[error("resampler failed: {0}")]
    Backend(String),
}

impl From<LimitError> for ResampleError {
    fn from(e: LimitError) -> Self {
        ResampleError::Limit(Box::new(e))
    }
}

/// Why a [`crate::Normalizer`] could not be fitted or applied.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum NormalizerError {
    /// Features have a different number of mel bands than the normaliser.
    #[error("normaliser has {expected} mel bands but the features have {got}")]
    MelMismatch {
        /// Bands the normaliser was fitted on.
        expected: usize,
        /// Bands of the offending features.
        got: usize,
    },
    /// `finish` was called before any frame was seen.
    #[error("cannot fit a normaliser on zero frames")]
    NoFrames,
    /// A feature value is NaN or infinite.
    #[error("non-finite feature value {value} in mel band {band}")]
    NonFinite {
        /// Mel band of the first offending value.
        band: usize,
        /// The offending value.
        value: f32,
    },
    /// The std floor is not a positive finite number.
    #[error("std floor must be positive and finite, got {0}")]
    BadFloor(f64),
    /// A flat feature buffer does not split into the normaliser's mel bands.
    #[error("{len} feature values do not split into {n_mels} mel bands of equal length")]
    Ragged {
        /// Values in the buffer.
        len: usize,
        /// Bands the normaliser was fitted on.
        n_mels: usize,
    },
}

/// Any front-end failure tied to a file, with a one-line `Display` naming the file.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum AudioError {
    /// The input file does not exist.
    #[error("{}: no such file", .path.display())]
    NotFound {
        /// The missing file.
        path: PathBuf,
    },
    /// The input path is a directory.
    #[error("{}: is a directory, expected a WAV file", .path.display())]
    IsDirectory {
        /// The directory.
        path: PathBuf,
    },
    /// The file exists but the process may not read it (permission bits, ACL, sandbox).
    #[error("{}: permission denied, cannot read the file", .path.display())]
    PermissionDenied {
        /// The file.
        path: PathBuf,
    },
    /// The file exists but cannot be opened or read.
    #[error("{}: cannot read: {source}", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The file is not a decodable WAV file.
    #[error("{}: {source}", .path.display())]
    Wav {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        source: WavError,
    },
    /// The file is not decodable audio (any format but WAV-level errors, which are
    /// [`AudioError::Wav`]).
    #[error("{}: {source}", .path.display())]
    Decode {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        source: DecodeError,
    },
    /// The mel config file is not valid JSON for a [`crate::MelConfig`].
    #[error("{}: cannot parse mel config: {message}", .path.display())]
    ConfigParse {
        /// The config file.
        path: PathBuf,
        /// serde_json's message (names the field, line and column).
        message: String,
    },
    /// The mel config file is larger than any real one ([`crate::features::MAX_MEL_CONFIG_BYTES`]);
    /// it is refused before it is read.
    #[error("{}: mel config file is {size} bytes, above the limit of {limit} bytes (a mel config is a few hundred bytes)", .path.display())]
    ConfigTooLarge {
        /// The config file.
        path: PathBuf,
        /// Its size in bytes (at least `limit + 1` when it grew while being read).
        size: u64,
        /// The largest accepted size.
        limit: u64,
    },
    /// The path names something other than a regular file (a FIFO, a device, a socket), which
    /// could block or never end when read.
    #[error("{}: not a regular file", .path.display())]
    NotAFile {
        /// The path.
        path: PathBuf,
    },
    /// The mel config parses but holds impossible values.
    #[error("{}: invalid mel config: {source}", .path.display())]
    Config {
        /// The config file (or `<default config>`).
        path: PathBuf,
        /// The offending field.
        source: ConfigError,
    },
    /// The audio could not be resampled to the config's rate.
    #[error("{}: {source}", .path.display())]
    Resample {
        /// The audio file.
        path: PathBuf,
        /// Why.
        source: ResampleError,
    },
    /// Log-mel extraction refused the audio.
    #[error("{}: {source}", .path.display())]
    Mel {
        /// The audio file.
        path: PathBuf,
        /// Why.
        source: MelError,
    },
    /// The output file could not be written.
    #[error("{}: cannot write output: {source}", .path.display())]
    Write {
        /// The output file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
}

impl AudioError {
    /// Maps an error from opening/reading `path` to the most specific variant.
    pub(crate) fn from_io(path: PathBuf, err: io::Error) -> Self {
        match err.kind() {
            io::ErrorKind::NotFound => AudioError::NotFound { path },
            io::ErrorKind::IsADirectory => AudioError::IsDirectory { path },
            io::ErrorKind::PermissionDenied => AudioError::PermissionDenied { path },
            _ if path.is_dir() => AudioError::IsDirectory { path },
            _ => AudioError::Read { path, source: err },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The mapping is checked here too because integration tests running as root cannot make a
    /// file unreadable (root bypasses permission bits).
    #[test]
    fn io_errors_map_to_specific_variants() {
        let p = || PathBuf::from("/x/clip.wav");
        let denied = AudioError::from_io(p(), io::Error::from(io::ErrorKind::PermissionDenied));
        assert!(
            matches!(denied, AudioError::PermissionDenied { .. }),
            "{denied:?}"
        );
        assert_eq!(
            denied.to_string(),
            "/x/clip.wav: permission denied, cannot read the file"
        );
        let missing = AudioError::from_io(p(), io::Error::from(io::ErrorKind::NotFound));
        assert!(
            matches!(missing, AudioError::NotFound { .. }),
            "{missing:?}"
        );
        let other = AudioError::from_io(p(), io::Error::other("device on fire"));
        assert!(matches!(other, AudioError::Read { .. }), "{other:?}");
    }
}
