//! File-level front end of the `sonotag features` command: the config file and the
//! extraction. Writing the JSON output is the facade's job (`sonotag::features`), through its
//! one atomic file writer.
//!
//! ```no_run
//! use std::path::Path;
//! let config = sonotag_audio::features::load_mel_config(Path::new("mel.json"))?;
//! let (mel, summary) = sonotag_audio::features::extract_file(Path::new("in.wav"), &config)?;
//! println!("{} bands x {} frames", summary.n_mels, summary.n_frames);
//! # Ok::<(), sonotag_audio::AudioError>(())
//! ```

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::AudioError;
use crate::limits::AudioLimits;
use crate::mel::{LogMel, MelConfig, MelExtractor};
use crate::resample::resample_within;

/// Largest mel config file [`load_mel_config`] reads (1 MiB): a real one is a few hundred
/// bytes, and the bound keeps a mistaken path (a WAV, a log) from being read whole.
pub const MAX_MEL_CONFIG_BYTES: u64 = 1 << 20;

/// What [`extract_file`] produced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeatureSummary {
    /// Mel bands written.
    pub n_mels: usize,
    /// Frames written.
    pub n_frames: usize,
    /// Sample rate of the input file in Hz.
    pub input_sample_rate: u32,
    /// Sample rate the features were computed at (the config's).
    pub sample_rate: u32,
    /// Duration of the input in seconds.
    pub duration_s: f64,
}

/// Reads a [`MelConfig`] from a JSON file: omitted fields take their defaults, unknown
/// fields and impossible values are errors naming the file and the field. The config must be
/// within [`AudioLimits::default`].
pub fn load_mel_config(path: &Path) -> Result<MelConfig, AudioError> {
    load_mel_config_within(path, &AudioLimits::default())
}

/// [`load_mel_config`] with explicit limits ([`MelConfig::validate_within`]).
///
/// # Errors
/// Besides parse and validation errors: [`AudioError::NotAFile`] for a FIFO, device or socket
/// (reading one could block forever) and [`AudioError::ConfigTooLarge`] for a file over
/// [`MAX_MEL_CONFIG_BYTES`], refused before it is read.
pub fn load_mel_config_within(path: &Path, limits: &AudioLimits) -> Result<MelConfig, AudioError> {
    let bytes = read_config_bytes(path)?;
    let config: MelConfig =
        serde_json::from_slice(&bytes).map_err(|e| AudioError::ConfigParse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    config
        .validate_within(limits)
        .map_err(|source| AudioError::Config {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(config)
}

/// The bytes of a regular file of at most [`MAX_MEL_CONFIG_BYTES`].
fn read_config_bytes(path: &Path) -> Result<Vec<u8>, AudioError> {
    let owned = || path.to_path_buf();
    let too_large = |size: u64| AudioError::ConfigTooLarge {
        path: owned(),
        size,
        limit: MAX_MEL_CONFIG_BYTES,
    };
    // Follows symlinks: what matters is what would be read.
    let meta = fs::metadata(path).map_err(|e| AudioError::from_io(owned(), e))?;
    if meta.is_dir() {
        return Err(AudioError::IsDirectory { path: owned() });
    }
    if !meta.is_file() {
        return Err(AudioError::NotAFile { path: owned() });
    }
    if meta.len() > MAX_MEL_CONFIG_BYTES {
        return Err(too_large(meta.len()));
    }
    let file = fs::File::open(path).map_err(|e| AudioError::from_io(owned(), e))?;
    // The file may grow (or be swapped) between the check and the read: read one byte past
    // the limit at most, whatever its length is now.
    let mut bytes = Vec::new();
    file.take(MAX_MEL_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| AudioError::from_io(owned(), e))?;
    let read = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    if read > MAX_MEL_CONFIG_BYTES {
        return Err(too_large(read));
    }
    Ok(bytes)
}

/// Decodes `input` (mono downmix), resamples it to `config.sample_rate` if needed and returns
/// its log-mel spectrogram, within [`AudioLimits::default`].
pub fn extract_file(
    input: &Path,
    config: &MelConfig,
) -> Result<(LogMel, FeatureSummary), AudioError> {
    extract_file_within(input, config, &AudioLimits::default())
}

/// [`extract_file`] with explicit limits: the config is validated against them before
/// anything is allocated, and the file's sample rate (and its ratio to the config's) is
/// checked before resampling, so a hostile header gives [`AudioError::Resample`] with a
/// [`crate::ResampleError::Limit`], never a huge allocation. Everything allocated is bounded
/// by the limits and a constant multiple of the file's size.
pub fn extract_file_within(
    input: &Path,
    config: &MelConfig,
    limits: &AudioLimits,
) -> Result<(LogMel, FeatureSummary), AudioError> {
    let mut extractor =
        MelExtractor::with_limits(config, limits).map_err(|source| AudioError::Config {
            path: PathBuf::from("<mel config>"),
            source,
        })?;
    let wav = crate::decode::decode_file_within(input, limits)?;
    let input_sample_rate = wav.sample_rate();
    let duration_s = wav.duration_s();
    let mut mono = wav.into_mono();
    if input_sample_rate != config.sample_rate {
        mono = resample_within(&mono, input_sample_rate, config.sample_rate, limits).map_err(
            |source| AudioError::Resample {
                path: input.to_path_buf(),
                source,
            },
        )?;
    }
    let mel = extractor.extract(&mono).map_err(|source| AudioError::Mel {
        path: input.to_path_buf(),
        source,
    })?;
    let summary = FeatureSummary {
        n_mels: mel.n_mels(),
        n_frames: mel.n_frames(),
        input_sample_rate,
        sample_rate: config.sample_rate,
        duration_s,
    };
    Ok((mel, summary))
}
