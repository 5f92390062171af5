//! Fixed-length segmentation of a clip into (possibly overlapping) windows.
//!
//! Full windows start at `0, hop, 2 hop, ...` while they fit in the clip. The *residual* is
//! the audio after the end of the last full window (the whole clip if it is shorter than one
//! window). If the residual is shorter than `min_residual_s` it is dropped; otherwise one more
//! segment starts at the next hop position and is padded to a full window, with zeros or with
//! seeded Gaussian noise. So every sample is in some segment, except a dropped residual.
//!
//! ```
//! use sonotag_audio::{segment, SegmentConfig};
//! let clip = vec![0.1f32; 16_000 * 5 /2]; // 2.5 s at 16 kHz
//! let segs = segment(&clip, 16_000, &SegmentConfig::default())?;
//! assert_eq!(segs.len(), 3); // two full seconds + the 0.5 s residual, zero-padded
//! assert_eq!((segs[2].start_s, segs[2].end_s, segs[2].content_end_s), (2.0, 3.0, 2.5));
//! # Ok::<(), sonotag_audio::ConfigError>(())
//! ```

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use serde::{Deserialize, Serialize};

use crate::error::ConfigError;

/// How the kept residual is padded to a full window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum PadFill {
    /// Zeros.
    #[default]
    Zeros,
    /// Gaussian noise with standard deviation `std` (linear amplitude), reproducible from
    /// `seed` (same seed, same clip, same config: same samples).
    Noise {
        /// Standard deviation of the noise.
        std: f32,
        /// RNG seed.
        seed: u64,
    },
}

/// Segmentation parameters (times in seconds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SegmentConfig {
    /// Window length in seconds (default 1.0).
    pub window_s: f64,
    /// Hop between window starts in seconds; `None` = `window_s` (no overlap). Must not
    /// exceed the window, which would skip audio.
    pub hop_s: Option<f64>,
    /// A residual shorter than this (seconds) is dropped (default 0.25).
    pub min_residual_s: f64,
    /// Padding of the kept residual.
    pub pad: PadFill,
}

impl Default for SegmentConfig {
    fn default() -> Self {
        Self {
            window_s: 1.0,
            hop_s: None,
            min_residual_s: 0.25,
            pad: PadFill::Zeros,
        }
    }
}

/// Window, hop and minimum residual in samples at one sample rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentSamples {
    /// Window length in samples (>= 1).
    pub window: usize,
    /// Hop in samples (1..=window).
    pub hop: usize,
    /// Minimum kept residual in samples.
    pub min_residual: usize,
}

impl SegmentConfig {
    /// Converts the durations to samples at `sample_rate` (rounded to nearest) and checks them.
    pub fn in_samples(&self, sample_rate: u32) -> Result<SegmentSamples, ConfigError> {
        let sr = f64::from(sample_rate);
        if sample_rate == 0 {
            return Err(ConfigError::new("sample_rate", "must be > 0"));
        }
        let to_samples = |field: &'static str, s: f64| -> Result<usize, ConfigError> {
            if !s.is_finite() || s < 0.0 {
                return Err(ConfigError::new(
                    field,
                    format!("must be a finite number of seconds >= 0, got {s}"),
                ));
            }
            let n = (s * sr).round();
            if n > 1e15 {
                return Err(ConfigError::new(field, format!("{s} s is too long")));
            }
            Ok(n as usize)
        };
        let window = to_samples("window_s", self.window_s)?;
        if window == 0 {
            return Err(ConfigError::new(
                "window_s",
                format!("{} s is shorter than one sample", self.window_s),
            ));
        }
        let hop = match self.hop_s {
            Some(h) => to_samples("hop_s", h)?,
            None => window,
        };
        if hop == 0 || hop > window {
            return Err(ConfigError::new(
                "hop_s",
                format!(
                    "must be between one sample and window_s ({} s), got {:?}",
                    self.window_s, self.hop_s
                ),
            ));
        }
        let min_residual = to_samples("min_residual_s", self.min_residual_s)?;
        if let PadFill::Noise { std, .. } = self.pad
            && (!std.is_finite() || std < 0.0)
        {
            return Err(ConfigError::new(
                "pad",
                format!("noise std must be finite and >= 0, got {std}"),
            ));
        }
        Ok(SegmentSamples {
            window,
            hop,
            min_residual,
        })
    }
}

/// One window of audio.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// Position among the clip's segments.
    pub index: usize,
    /// First sample of the window in the clip.
    pub start_sample: usize,
    /// Start of the window in seconds.
    pub start_s: f64,
    /// End of the window in seconds (`start_s + window`), also for a padded residual.
    pub end_s: f64,
    /// End of the real audio in the window, in seconds (`< end_s` only for a padded residual).
    pub content_end_s: f64,
    /// Number of real (unpadded) samples at the start of `samples`.
    pub content_len: usize,
    /// Exactly one window of samples.
    pub samples: Vec<f32>,
}

/// Where the segments of a clip of `n` samples lie: `(start, content_len)` pairs.
pub fn segment_spans(n: usize, s: SegmentSamples) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start = 0usize;
    while start + s.window <= n {
        spans.push((start, s.window));
        start += s.hop;
    }
    // Audio after the last full window (or the whole clip if none fits).
    let covered = spans.last().map_or(0, |&(a, w)| a + w);
    let residual = n - covered;
    if residual > 0 && residual >= s.min_residual {
        spans.push((start, n - start));
    }
    spans
}

/// Cuts `clip` (mono, `sample_rate` Hz) into windows per `config`.
pub fn segment(
    clip: &[f32],
    sample_rate: u32,
    config: &SegmentConfig,
) -> Result<Vec<Segment>, ConfigError> {
    let s = config.in_samples(sample_rate)?;
    let sr = f64::from(sample_rate);
    let mut rng = match config.pad {
        PadFill::Noise { std, seed } => Some((
            ChaCha8Rng::seed_from_u64(seed),
            Normal::new(0.0f32, std).map_err(|e| ConfigError::new("pad", e.to_string()))?,
        )),
        PadFill::Zeros => None,
    };
    let segments = segment_spans(clip.len(), s)
        .into_iter()
        .enumerate()
        .map(|(index, (start, content_len))| {
            let mut samples = Vec::with_capacity(s.window);
            samples.extend_from_slice(&clip[start..start + content_len]);
            match rng.as_mut() {
                Some((rng, normal)) => {
                    samples.extend((content_len..s.window).map(|_| normal.sample(rng)));
                }
                None => samples.resize(s.window, 0.0),
            }
            Segment {
                index,
                start_sample: start,
                start_s: start as f64 / sr,
                end_s: (start + s.window) as f64 / sr,
                content_end_s: (start + content_len) as f64 / sr,
                content_len,
                samples,
            }
        })
        .collect();
    Ok(segments)
}
