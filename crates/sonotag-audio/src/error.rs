//! Typed errors of the audio front end.
//!
//! Low-level errors ([`WavError`], [`MelError`], [`ConfigError`], ...) describe *what* went
//! wrong; [`AudioError`] adds *where* (the file), so that its `Display` is one line a command
//! can print as is, e.g. `in.wav: unsupported encoding: 12-bit PCM`.

use std::io;
use std::path::PathBuf;

use thiserror::Error;

/// Why a WAV stream could not be decoded. Carries no file name: [`AudioError::Wav`] adds it.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum WavError {
    /// The stream is not a RIFF/WAVE file at all.
    #[error("not a WAV file: {0}")]
    NotWav(String),
    /// The stream is a WAV file but its chunk structure or `fmt ` fields are inconsistent.
    #[error("malformed WAV file: {0}")]
    Malformed(String),
    /// A well-formed WAV file in an encoding this decoder does not handle.
    #[error(
        "unsupported encoding: {0} (supported: 8-bit unsigned, 16/24/32-bit integer PCM, 32-bit float)"
    )]
    Unsupported(String),
    /// The `fmt ` chunk declares zero channels.
    #[error("invalid WAV header: the fmt chunk declares 0 channels")]
    ZeroChannels,
    /// The `fmt ` chunk declares a sample rate of 0 Hz.
    #[error("invalid WAV header: the fmt chunk declares a sample rate of 0 Hz")]
    ZeroSampleRate,
    /// The `data` chunk declares more bytes than the stream holds (truncated file, or a
    /// corrupt/hostile size field). Nothing of the claimed size is allocated.
    #[error(
        "truncated data: the data chunk declares {claimed} bytes but only {available} bytes follow in the file"
    )]
    Truncated {
        /// Size in bytes declared by the `data` chunk header.
        claimed: u64,
        /// Bytes actually present after the chunk header.
        available: u64,
    },
    /// A 32-bit float sample is NaN or infinite.
    #[error("non-finite sample {value} at frame {frame}, channel {channel}")]
    NonFinite {
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

/// An invalid field in a configuration ([`crate::MelConfig`], [`crate::SegmentConfig`]).
#[derive(Debug, Clone, PartialEq, Error)]
#[error("invalid `{field}`: {reason}")]
pub struct ConfigError {
    /// Name of the offending field, as spelled in JSON.
    pub field: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

impl ConfigError {
    pub(crate) fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
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
    /// rubato refused to build or run the resampler.
    #[error("resampler failed: {0}")]
    Backend(String),
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
    /// The mel config file is not valid JSON for a [`crate::MelConfig`].
    #[error("{}: cannot parse mel config: {message}", .path.display())]
    ConfigParse {
        /// The config file.
        path: PathBuf,
        /// serde_json's message (names the field, line and column).
        message: String,
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
            _ if path.is_dir() => AudioError::IsDirectory { path },
            _ => AudioError::Read { path, source: err },
        }
    }
}
