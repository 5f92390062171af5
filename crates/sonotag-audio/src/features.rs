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
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::AudioError;
use crate::mel::{LogMel, MelConfig, MelExtractor};
use crate::resample::resample;
use crate::wav::decode_file;

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
/// fields and impossible values are errors naming the file and the field.
pub fn load_mel_config(path: &Path) -> Result<MelConfig, AudioError> {
    if path.is_dir() {
        return Err(AudioError::IsDirectory {
            path: path.to_path_buf(),
        });
    }
    let text = fs::read_to_string(path).map_err(|e| AudioError::from_io(path.to_path_buf(), e))?;
    let config: MelConfig = serde_json::from_str(&text).map_err(|e| AudioError::ConfigParse {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    config.validate().map_err(|source| AudioError::Config {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(config)
}

/// Decodes `input` (mono downmix), resamples it to `config.sample_rate` if needed and returns
/// its log-mel spectrogram.
pub fn extract_file(
    input: &Path,
    config: &MelConfig,
) -> Result<(LogMel, FeatureSummary), AudioError> {
    let mut extractor = MelExtractor::new(config).map_err(|source| AudioError::Config {
        path: PathBuf::from("<mel config>"),
        source,
    })?;
    let wav = decode_file(input)?;
    let input_sample_rate = wav.sample_rate();
    let duration_s = wav.duration_s();
    let mut mono = wav.into_mono();
    if input_sample_rate != config.sample_rate {
        mono = resample(&mono, input_sample_rate, config.sample_rate).map_err(|source| {
            AudioError::Resample {
                path: input.to_path_buf(),
                source,
            }
        })?;
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
