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
use crate::limits::{AudioLimits, LimitError, LimitValue, to_u64};

mod stream;

pub use stream::SegmentStream;

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
    /// Converts the durations to samples at `sample_rate` (rounded to nearest) and checks them
    /// within [`AudioLimits::default`].
    pub fn in_samples(&self, sample_rate: u32) -> Result<SegmentSamples, ConfigError> {
        self.in_samples_within(sample_rate, &AudioLimits::default())
    }

    /// [`in_samples`](Self::in_samples) with explicit limits: `sample_rate` in
    /// `min_sample_rate..=max_sample_rate`, the window at most `max_window_samples` and the
    /// overlap `window / hop` at most `max_overlap`. A value beyond a limit gives a
    /// [`ConfigError`] whose `limit` holds the [`LimitError`].
    pub fn in_samples_within(
        &self,
        sample_rate: u32,
        limits: &AudioLimits,
    ) -> Result<SegmentSamples, ConfigError> {
        if sample_rate == 0 {
            return Err(ConfigError::new("sample_rate", "must be > 0"));
        }
        limits
            .check_sample_rate("`sample_rate`", sample_rate)
            .map_err(|e| ConfigError::limit("sample_rate", e))?;
        let window = self.window_samples(sample_rate, limits)?;
        let hop = match self.hop_s {
            Some(h) => to_samples("hop_s", h, sample_rate)?,
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
        check_overlap(window, hop, limits)?;
        let min_residual = to_samples("min_residual_s", self.min_residual_s, sample_rate)?;
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

    /// `window_s` in samples: at least one, at most `max_window_samples` (checked on the
    /// rounded real value, so a window of 1e300 s is refused as such, not wrapped).
    fn window_samples(&self, sample_rate: u32, limits: &AudioLimits) -> Result<usize, ConfigError> {
        let n = seconds_to_samples("window_s", self.window_s, sample_rate)?;
        if n > limits.max_window_samples as f64 {
            // Below 2^64 the count is exact enough to print as an integer.
            let value = if n < 1.8e19 {
                LimitValue::Int(n as u128)
            } else {
                LimitValue::Real(n)
            };
            return Err(ConfigError::limit(
                "window_s",
                LimitError::above(
                    format!("`window_s` = {} s at {sample_rate} Hz", self.window_s),
                    value,
                    to_u64(limits.max_window_samples),
                    " samples",
                    "max_window_samples",
                ),
            ));
        }
        let window = n as usize; // n <= max_window_samples: exact
        if window == 0 {
            return Err(ConfigError::new(
                "window_s",
                format!("{} s is shorter than one sample", self.window_s),
            ));
        }
        Ok(window)
    }
}

/// `s` seconds at `sample_rate`, rounded to the nearest sample, as a finite `f64 >= 0`.
fn seconds_to_samples(field: &'static str, s: f64, sample_rate: u32) -> Result<f64, ConfigError> {
    if !s.is_finite() || s < 0.0 {
        return Err(ConfigError::new(
            field,
            format!("must be a finite number of seconds >= 0, got {s}"),
        ));
    }
    Ok((s * f64::from(sample_rate)).round())
}

/// A duration that is not allocated (hop, minimum residual): only kept representable.
fn to_samples(field: &'static str, s: f64, sample_rate: u32) -> Result<usize, ConfigError> {
    let n = seconds_to_samples(field, s, sample_rate)?;
    if n > 1e15 {
        return Err(ConfigError::new(field, format!("{s} s is too long")));
    }
    Ok(n as usize)
}

/// `window / hop` against `max_overlap`, in exact integer arithmetic (`hop >= 1`).
fn check_overlap(window: usize, hop: usize, limits: &AudioLimits) -> Result<(), ConfigError> {
    if window as u128 > hop as u128 * limits.max_overlap as u128 {
        return Err(ConfigError::limit(
            "hop_s",
            LimitError::above(
                format!("overlap window / hop = {window} / {hop} samples"),
                LimitValue::Real(window as f64 / hop as f64),
                to_u64(limits.max_overlap),
                "",
                "max_overlap",
            ),
        ));
    }
    Ok(())
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

/// How many segments [`segment_spans`] gives for a clip of `n` samples, computed without
/// allocating (a `hop` of 0 counts as 1).
pub fn segment_count(n: usize, s: SegmentSamples) -> usize {
    let hop = s.hop.max(1);
    let full = if n >= s.window {
        (n - s.window) / hop + 1
    } else {
        0
    };
    // Audio after the last full window (or the whole clip if none fits).
    let covered = if full > 0 {
        (full - 1) * hop + s.window
    } else {
        0
    };
    let residual = n - covered;
    // The residual segment starts at the next hop position (inside the clip when hop <= window).
    let next = full.saturating_mul(hop);
    full + usize::from(residual > 0 && residual >= s.min_residual && next < n)
}

/// Where the segments of a clip of `n` samples lie: `(start, content_len)` pairs.
///
/// Allocates `segment_count(n, s)` pairs: callers holding an untrusted clip length check that
/// count first ([`segment_within`] does).
pub fn segment_spans(n: usize, s: SegmentSamples) -> Vec<(usize, usize)> {
    let hop = s.hop.max(1);
    let mut spans = Vec::with_capacity(segment_count(n, s));
    let mut start = 0usize;
    // `start <= n` here, so `n - start` cannot wrap and the loop cannot overflow.
    while start <= n && n - start >= s.window {
        spans.push((start, s.window));
        start = start.saturating_add(hop);
    }
    let covered = spans.last().map_or(0, |&(a, w)| a + w);
    let residual = n - covered;
    if residual > 0 && residual >= s.min_residual && start < n {
        spans.push((start, n - start));
    }
    spans
}

/// Cuts `clip` (mono, `sample_rate` Hz) into windows per `config`, within
/// [`AudioLimits::default`].
pub fn segment(
    clip: &[f32],
    sample_rate: u32,
    config: &SegmentConfig,
) -> Result<Vec<Segment>, ConfigError> {
    segment_within(clip, sample_rate, config, &AudioLimits::default())
}

/// [`segment`] with explicit limits: [`SegmentConfig::in_samples_within`], and the number of
/// segments checked against `max_segments_per_clip` before anything is allocated.
pub fn segment_within(
    clip: &[f32],
    sample_rate: u32,
    config: &SegmentConfig,
    limits: &AudioLimits,
) -> Result<Vec<Segment>, ConfigError> {
    let s = config.in_samples_within(sample_rate, limits)?;
    let count = segment_count(clip.len(), s);
    if count > limits.max_segments_per_clip {
        return Err(ConfigError::limit(
            "hop_s",
            LimitError::above(
                format!("the number of segments of a clip of {} samples", clip.len()),
                LimitValue::Int(count as u128),
                to_u64(limits.max_segments_per_clip),
                "",
                "max_segments_per_clip",
            ),
        ));
    }
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
