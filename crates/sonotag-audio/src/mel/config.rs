//! [`MelConfig`]: every parameter of the log-mel pipeline, with librosa 0.11 semantics.

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;

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
    pub fn n_frames(&self, n_samples: usize) -> Option<usize> {
        let padded = if self.center {
            n_samples + 2 * (self.n_fft / 2)
        } else {
            n_samples
        };
        (padded >= self.n_fft).then(|| 1 + (padded - self.n_fft) / self.hop_length.max(1))
    }

    /// Checks that every field is usable; the error names the first offending field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let nyquist = f64::from(self.sample_rate) / 2.0;
        if self.sample_rate == 0 {
            return Err(ConfigError::new("sample_rate", "must be > 0"));
        }
        if self.n_fft < 2 {
            return Err(ConfigError::new(
                "n_fft",
                format!("must be >= 2, got {}", self.n_fft),
            ));
        }
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
}
