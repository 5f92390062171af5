//! [`MelConfig`]: every parameter of the log-mel pipeline, with librosa 0.11 semantics.

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;
use crate::limits::{AudioLimits, LimitError, LimitValue, to_u64};

/// How `center = true` pads the clip by `n_fft / 2` samples on both sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PadMode {
    /// Zeros (librosa >= 0.10 default).
    #[default]
    Constant,
    /// numpy `reflect`: mirror without repeating the edge sample (torchaudio's default).
    Reflect,
}

/// Mel scale used to place the filter edges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MelScale {
    /// Slaney's Auditory Toolbox scale: linear below 1 kHz, logarithmic above (librosa default).
    #[default]
    Slaney,
    /// HTK: `2595 * log10(1 + f / 700)`.
    Htk,
}

/// Filter normalisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MelNorm {
    /// Each triangle scaled by `2 / (f_hi - f_lo)` (constant energy per band).
    Slaney,
}

/// Parameters of the log-mel front end. Field names are those of the MEL.json file; omitted
/// fields take the [`Default`] values, unknown fields are an error.
///
/// The default is the audio-tagging front end: 16 kHz, `n_fft` 512 (32 ms), Hann window of 400
/// samples (25 ms), hop 160 (10 ms), 64 Slaney mel bands from 50 Hz to `sr / 2` = 8 kHz with
/// Slaney normalisation, power spectrum, centred frames with zero padding (librosa's default),
/// dB relative to 1.0 with `amin` 1e-10 (silence = -100 dB) and no `top_db` clipping, so that
/// a clip's dB values do not depend on its loudest moment (per-band z-scoring is done later by
/// [`crate::Normalizer`]).
///
/// ```
/// let cfg: sonotag_audio::MelConfig = serde_json::from_str(r#"{"n_mels": 40, "f_max": null}"#)?;
/// assert_eq!(cfg.n_mels, 40);
/// assert_eq!(cfg.f_max_hz(), 8000.0); // null = sr / 2
/// cfg.validate()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MelConfig {
    /// Sample rate in Hz the audio must have (other rates are resampled first).
    pub sample_rate: u32,
    /// FFT size (frame length after zero-padding the window).
    pub n_fft: usize,
    /// Length of the periodic Hann window, centred in the `n_fft` frame.
    pub win_length: usize,
    /// Samples between frame starts.
    pub hop_length: usize,
    /// Number of mel bands.
    pub n_mels: usize,
    /// Lowest filter edge in Hz.
    pub f_min: f64,
    /// Highest filter edge in Hz; `None` (JSON `null`) means `sample_rate / 2`.
    pub f_max: Option<f64>,
    /// Exponent of the magnitude spectrum: 1.0 (magnitude) or 2.0 (power).
    pub power: f64,
    /// Centre frames on `t * hop_length` by padding `n_fft / 2` on both sides.
    pub center: bool,
    /// Padding used when `center` is true.
    pub pad_mode: PadMode,
    /// Mel scale.
    pub mel_scale: MelScale,
    /// Filter normalisation; `None` (JSON `null`) leaves each triangle with peak 1.
    pub norm: Option<MelNorm>,
    /// dB reference: `10 * log10(max(amin, |ref|))` is subtracted (JSON field `ref`).
    #[serde(rename = "ref")]
    pub ref_value: f64,
    /// Floor applied to the mel spectrum (and to `ref`) before the log.
    pub amin: f64,
    /// If set, clip dB values at `max - top_db`, the max being over the whole clip.
    pub top_db: Option<f64>,
}

impl Default for MelConfig {
    fn default() -> Self {
        Self {
            sample_rate: 16_000,
            n_fft: 512,
            win_length: 400,
            hop_length: 160,
            n_mels: 64,
            f_min: 50.0,
            f_max: None,
            power: 2.0,
            center: true,
            pad_mode: PadMode::Constant,
            mel_scale: MelScale::Slaney,
            norm: Some(MelNorm::Slaney),
            ref_value: 1.0,
            amin: 1e-10,
            top_db: None,
        }
    }
}

impl MelConfig {
    /// The effective upper filter edge in Hz (`f_max`, or `sample_rate / 2` when `None`).
    pub fn f_max_hz(&self) -> f64 {
        self.f_max.unwrap_or(f64::from(self.sample_rate) / 2.0)
    }

    /// Number of frames a clip of `n_samples` samples yields, or `None` when librosa would
    /// refuse it (fewer than `n_fft` samples after padding, i.e. `center = false` and a clip
    /// shorter than `n_fft`).
    /// Also `None` if the padded length overflows `usize` (no real clip is that long).
    pub fn n_frames(&self, n_samples: usize) -> Option<usize> {
        let padded = if self.center {
            n_samples.checked_add(2 * (self.n_fft / 2))?
        } else {
            n_samples
        };
        (padded >= self.n_fft).then(|| 1 + (padded - self.n_fft) / self.hop_length.max(1))
    }

    /// Checks that every field is usable and within [`AudioLimits::default`]; the error names
    /// the first offending field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_within(&AudioLimits::default())
    }

    /// [`validate`](Self::validate) with explicit limits: `sample_rate` in
    /// `min_sample_rate..=max_sample_rate`, `n_fft` (and so `win_length`) at most
    /// `max_n_fft`, `n_mels` at most `max_n_mels`, `hop_length` at most `max_hop_length` and
    /// `sample_rate / hop_length` at most `max_frames_per_second`, `n_mels x sample_rate /
    /// hop_length` at most `max_values_per_second`. A field beyond a limit gives a
    /// [`ConfigError`] whose `limit` holds the [`LimitError`].
    pub fn validate_within(&self, limits: &AudioLimits) -> Result<(), ConfigError> {
        let nyquist = f64::from(self.sample_rate) / 2.0;
        if self.sample_rate == 0 {
            return Err(ConfigError::new("sample_rate", "must be > 0"));
        }
        limits
            .check_sample_rate("`sample_rate`", self.sample_rate)
            .map_err(|e| ConfigError::limit("sample_rate", e))?;
        if self.n_fft < 2 {
            return Err(ConfigError::new(
                "n_fft",
                format!("must be >= 2, got {}", self.n_fft),
            ));
        }
        self.check_sizes(limits)?;
        if self.win_length == 0 {
            return Err(ConfigError::new("win_length", "must be > 0"));
        }
        if self.win_length > self.n_fft {
            return Err(ConfigError::new(
                "n_fft",
                format!(
                    "n_fft ({}) must be >= win_length ({})",
                    self.n_fft, self.win_length
                ),
            ));
        }
        if self.hop_length == 0 {
            return Err(ConfigError::new("hop_length", "must be > 0"));
        }
        self.check_frame_rate(limits)?;
        if self.n_mels == 0 {
            return Err(ConfigError::new("n_mels", "must be > 0"));
        }
        if !self.f_min.is_finite() || self.f_min < 0.0 {
            return Err(ConfigError::new(
                "f_min",
                format!("must be finite and >= 0 Hz, got {}", self.f_min),
            ));
        }
        if let Some(f_max) = self.f_max {
            if !f_max.is_finite() {
                return Err(ConfigError::new(
                    "f_max",
                    format!("must be finite, got {f_max}"),
                ));
            }
            if f_max > nyquist {
                return Err(ConfigError::new(
                    "f_max",
                    format!(
                        "{f_max} Hz exceeds the Nyquist frequency sample_rate / 2 = {nyquist} Hz"
                    ),
                ));
            }
        }
        let f_max = self.f_max_hz();
        if self.f_min >= f_max {
            return Err(ConfigError::new(
                "f_min",
                format!("f_min ({}) must be < f_max ({f_max}) Hz", self.f_min),
            ));
        }
        if self.power != 1.0 && self.power != 2.0 {
            return Err(ConfigError::new(
                "power",
                format!("must be 1.0 (magnitude) or 2.0 (power), got {}", self.power),
            ));
        }
        if !self.ref_value.is_finite() {
            return Err(ConfigError::new(
                "ref",
                format!("must be finite, got {}", self.ref_value),
            ));
        }
        // amin is the f32 floor of the mel spectrum: it must stay a normal f32 (>= 1.2e-38).
        if !self.amin.is_finite() || self.amin <= 0.0 || !(self.amin as f32).is_normal() {
            return Err(ConfigError::new(
                "amin",
                format!(
                    "must be a positive number between 1.2e-38 and 3.4e38 (a normal f32), got {}",
                    self.amin
                ),
            ));
        }
        if let Some(top_db) = self.top_db
            && (!top_db.is_finite() || top_db < 0.0)
        {
            return Err(ConfigError::new(
                "top_db",
                format!("must be finite and >= 0 dB (or null), got {top_db}"),
            ));
        }
        Ok(())
    }

    /// `n_fft` and `n_mels` against their limits: they size the extractor's buffers and the
    /// output (`win_length` is checked to be at most `n_fft` next).
    fn check_sizes(&self, limits: &AudioLimits) -> Result<(), ConfigError> {
        if self.n_fft > limits.max_n_fft {
            return Err(ConfigError::limit(
                "n_fft",
                LimitError::above(
                    "`n_fft`",
                    LimitValue::Int(self.n_fft as u128),
                    to_u64(limits.max_n_fft),
                    "",
                    "max_n_fft",
                ),
            ));
        }
        if self.n_mels > limits.max_n_mels {
            return Err(ConfigError::limit(
                "n_mels",
                LimitError::above(
                    "`n_mels`",
                    LimitValue::Int(self.n_mels as u128),
                    to_u64(limits.max_n_mels),
                    "",
                    "max_n_mels",
                ),
            ));
        }
        Ok(())
    }

    /// `hop_length` against `max_hop_length`, then `sample_rate / hop_length` against
    /// `max_frames_per_second`, in exact integer arithmetic (`hop_length > 0` and
    /// `sample_rate` in range were checked before).
    fn check_frame_rate(&self, limits: &AudioLimits) -> Result<(), ConfigError> {
        if self.hop_length > limits.max_hop_length {
            return Err(ConfigError::limit(
                "hop_length",
                LimitError::above(
                    "`hop_length`",
                    LimitValue::Int(self.hop_length as u128),
                    to_u64(limits.max_hop_length),
                    " samples",
                    "max_hop_length",
                ),
            ));
        }
        let max = u128::from(limits.max_frames_per_second);
        if u128::from(self.sample_rate) > max * self.hop_length as u128 {
            return Err(ConfigError::limit(
                "hop_length",
                LimitError::above(
                    format!(
                        "frame rate `sample_rate` / `hop_length` = {} / {}",
                        self.sample_rate, self.hop_length
                    ),
                    LimitValue::Real(f64::from(self.sample_rate) / self.hop_length as f64),
                    u64::from(limits.max_frames_per_second),
                    " frames/s",
                    "max_frames_per_second",
                ),
            ));
        }
        // Values per second: n_mels x sample_rate / hop_length, compared without division.
        let values = self.n_mels as u128 * u128::from(self.sample_rate);
        if values > u128::from(limits.max_values_per_second) * self.hop_length as u128 {
            return Err(ConfigError::limit(
                "n_mels",
                LimitError::above(
                    format!(
                        "feature rate `n_mels` x `sample_rate` / `hop_length` = {} x {} / {}",
                        self.n_mels, self.sample_rate, self.hop_length
                    ),
                    LimitValue::Real(values as f64 / self.hop_length as f64),
                    limits.max_values_per_second,
                    " values/s",
                    "max_values_per_second",
                ),
            ));
        }
        Ok(())
    }
}
