//! [`AudioLimits`]: the bounds every number from outside (a WAV header, a mel or segment
//! config, a caller's argument) is checked against before anything is sized by it.
//!
//! A sample rate, an FFT size or a window length read from a file decides how much memory the
//! front end allocates. Without a bound, a 60-byte WAV declaring 4294967291 Hz asks the
//! resampler for 17 GB and a 21-byte mel config with `n_fft` = 2^30 asks for 8 GB before any
//! audio is read. Each limit below is far above anything real (the defaults admit 1 kHz to
//! 768 kHz audio, the PANNs CNN14 front end and recordings many hours long) and far below what
//! would exhaust a machine; a value beyond one is refused with a [`LimitError`] naming the
//! value, the limit and the [`AudioLimits`] field that sets it.
//!
//! The plain entry points ([`crate::MelConfig::validate`], [`crate::Resampler::new`],
//! [`crate::SegmentConfig::in_samples`], [`crate::features::extract_file`], ...) use
//! [`AudioLimits::default`]; each has a `_within` twin taking explicit limits:
//!
//! ```
//! use sonotag_audio::{AudioLimits, MelConfig};
//! let mut limits = AudioLimits::default();
//! limits.max_n_fft = 1 << 18; // a caller that really wants 262144-point FFTs
//! let config = MelConfig { n_fft: 1 << 18, ..MelConfig::default() };
//! assert!(config.validate().is_err()); // above the default limit of 65536
//! config.validate_within(&limits)?;
//! # Ok::<(), sonotag_audio::ConfigError>(())
//! ```

use std::borrow::Cow;
use std::fmt;

use thiserror::Error;

/// Upper (and lower) bounds on the numbers that size the front end's allocations.
///
/// `#[non_exhaustive]`: build one from [`AudioLimits::default`] and change the fields you
/// need. Each default's reason is in its field's documentation.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct AudioLimits {
    /// Lowest sample rate accepted (Hz) for any rate resampled from or to, or used for mel
    /// features or segmentation. Default 1 000 Hz: below every audio format in use (telephony
    /// is 8 kHz); a 1 Hz header is corruption, and resampling 1 Hz to 16 kHz multiplies the
    /// samples by 16 000.
    pub min_sample_rate: u32,
    /// Highest sample rate accepted (Hz), same uses. Default 768 000 Hz: the highest rate
    /// DACs and ultrasonic recorders write (bat detectors use 384-500 kHz).
    pub max_sample_rate: u32,
    /// Largest ratio between the two rates of one resampling, either direction (up or down).
    /// Default 96: admits 768 kHz -> 16 kHz (48) and 1 kHz -> 32 kHz (32) with margin. The
    /// resampler's own buffers grow with the ratio (rubato's output chunk is `4096 x ratio`
    /// samples, allocated twice: about 1.3 MB + 33 KB x ratio) and so does the output; at 96
    /// and rates up to 768 kHz it allocates at most about 11 MB besides its input and output
    /// (measured with the test binary's counting allocator; an unchecked 4294967291 Hz header
    /// asked for 17 GB).
    pub max_resample_ratio: u32,
    /// Largest FFT size (`n_fft`, and so `win_length`) of a mel config. Default 65 536
    /// (1.4 s at 48 kHz, 85 ms at 768 kHz): audio front ends use 256-4096; the extractor
    /// allocates about 100 bytes per FFT point.
    pub max_n_fft: usize,
    /// Most mel bands of a mel config. Default 1 024: taggers use 40-128 (CNN14: 64); the
    /// output holds `n_mels` values per frame.
    pub max_n_mels: usize,
    /// Highest mel frame rate, `sample_rate / hop_length` frames per second. Default 4 000
    /// (a hop of at least 0.25 ms): taggers use 50-100 frames/s; a hop of one sample at
    /// 768 kHz would make the features `n_mels` times larger than the audio.
    pub max_frames_per_second: u32,
    /// Most feature values per second of audio, `n_mels x sample_rate / hop_length`. Default
    /// 262 144 (2^18): 64 bands at 4 000 frames/s, or 1 024 bands at 256 frames/s; taggers make
    /// 6 400 (64 bands x 100 frames/s). The two limits above each allow configs whose features
    /// are thousands of times larger than the audio (1 024 bands x 4 000 frames/s from 1 kHz
    /// audio: 4 096 values per sample); this one bounds the product.
    pub max_values_per_second: u64,
    /// Longest mel hop (`hop_length`) in samples. Default 2^24 = 16 777 216 (8.7 min at
    /// 32 kHz): front ends hop 5-50 ms; the frame arithmetic (`frame x hop`) must stay far
    /// from overflow, and a hop of `u64::MAX` overflowed it (found by the property test).
    pub max_hop_length: usize,
    /// Longest segmentation window in samples. Default 2^24 = 16 777 216 (8.7 min at 32 kHz,
    /// 21.8 s at 768 kHz): taggers use windows of 1-10 s; each segment is one allocation of
    /// this many samples.
    pub max_window_samples: usize,
    /// Largest overlap factor `window / hop` of segmentation. Default 16: segments hold
    /// `window / hop` copies of every sample, so a hop of one sample would multiply a clip's
    /// size by its window length; common settings are 1-4.
    pub max_overlap: usize,
    /// Most segments one clip may be cut into, checked before the segment list is allocated.
    /// Default 2^22 = 4 194 304 (48 days of audio in 1 s windows); each segment costs a
    /// vector besides its samples.
    pub max_segments_per_clip: usize,
    /// Most feature values (`n_mels x frames`) of one segment. Default 2^24 = 16 777 216
    /// (64 MB of `f32`): CNN14's 10 s windows make 64 064, an 8.7-minute window at 100
    /// frames/s and 64 bands 3.3 M. Each limit above alone admits a 17-minute window at a
    /// 1.5 ms hop: 2.7 M frames, 700 MB of features for every segment, even of a 1 s clip
    /// padded to the window (found by fuzzing `model_load`).
    pub max_segment_values: usize,
    /// Most frames a whole-file decode ([`crate::decode::decode_file`]) may produce, counted
    /// as they are decoded (a header's length claim is never trusted). Default 2^30 =
    /// 1 073 741 824 frames: 6.2 hours at 48 kHz, 1.6 hours at 192 kHz, 37 hours at 8 kHz,
    /// and 4 GiB of `f32` per channel. A 24-hour recording at 192 kHz (16.6 G frames, 66 GB
    /// per channel) cannot be held in memory whole on ordinary machines, and a tiny
    /// compressed file of digital silence can expand to that much: such recordings are read
    /// with [`crate::decode::AudioReader`], whose memory does not grow with the file (this
    /// limit does not apply to it).
    pub max_decode_frames: u64,
}

impl Default for AudioLimits {
    fn default() -> Self {
        Self {
            min_sample_rate: 1_000,
            max_sample_rate: 768_000,
            max_resample_ratio: 96,
            max_n_fft: 65_536,
            max_n_mels: 1_024,
            max_frames_per_second: 4_000,
            max_values_per_second: 1 << 18,
            max_hop_length: 1 << 24,
            max_window_samples: 1 << 24,
            max_overlap: 16,
            max_segments_per_clip: 1 << 22,
            max_segment_values: 1 << 24,
            max_decode_frames: 1 << 30,
        }
    }
}

/// Which side of its limit a value fell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// The value is below a minimum (`AudioLimits::min_*`).
    Min,
    /// The value is above a maximum (`AudioLimits::max_*`).
    Max,
}

/// The offending value of a [`LimitError`]: an integer (exact, even near `u64::MAX`) or a
/// real number (a ratio of rates, an overlap factor).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LimitValue {
    /// An integer count, size or rate.
    Int(u128),
    /// A real-valued quantity.
    Real(f64),
}

impl fmt::Display for LimitValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LimitValue::Int(v) => write!(f, "{v}"),
            // Six significant digits are plenty to compare with an integer limit.
            LimitValue::Real(v) => write!(f, "{}", (v * 1e4).round() / 1e4),
        }
    }
}

/// A number from outside beyond one of the [`AudioLimits`].
///
/// Its message names the quantity, its value, the limit and the field that sets it, e.g.
/// ``"`n_fft` is 1073741824, above the limit of 65536 (AudioLimits::max_n_fft)"``.
#[derive(Debug, Clone, PartialEq, Error)]
#[error(
    "{what} is {value}{unit}, {side} the limit of {limit}{unit} (AudioLimits::{setting})",
    side = match .bound { Bound::Min => "below", Bound::Max => "above" }
)]
#[non_exhaustive]
pub struct LimitError {
    /// What is out of bounds, as the user would name it: a config field in backticks
    /// (`` `n_fft` ``) or a derived quantity (`input sample rate`, `resampling ratio ...`).
    pub what: Cow<'static, str>,
    /// The offending value.
    pub value: LimitValue,
    /// The limit it crossed.
    pub limit: u64,
    /// Whether the limit is a minimum or a maximum.
    pub bound: Bound,
    /// Unit suffix of value and limit (`" Hz"`, `" samples"`, `""`).
    pub unit: &'static str,
    /// The [`AudioLimits`] field that sets the limit (`"max_n_fft"`): the stable key to
    /// match on.
    pub setting: &'static str,
}

impl LimitError {
    /// A value above a maximum.
    pub(crate) fn above(
        what: impl Into<Cow<'static, str>>,
        value: LimitValue,
        limit: u64,
        unit: &'static str,
        setting: &'static str,
    ) -> Self {
        Self {
            what: what.into(),
            value,
            limit,
            bound: Bound::Max,
            unit,
            setting,
        }
    }

    /// A value below a minimum.
    pub(crate) fn below(
        what: impl Into<Cow<'static, str>>,
        value: LimitValue,
        limit: u64,
        unit: &'static str,
        setting: &'static str,
    ) -> Self {
        Self {
            bound: Bound::Min,
            ..Self::above(what, value, limit, unit, setting)
        }
    }
}

/// `usize` to the `u64` of [`LimitError::limit`] (lossless on every supported target).
pub(crate) fn to_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

impl AudioLimits {
    /// Checks a sample rate against `min_sample_rate..=max_sample_rate`; `what` names it
    /// (`"input sample rate"`, `` "`sample_rate`" ``).
    pub fn check_sample_rate(
        &self,
        what: impl Into<Cow<'static, str>>,
        rate: u32,
    ) -> Result<(), LimitError> {
        let value = LimitValue::Int(u128::from(rate));
        if rate < self.min_sample_rate {
            return Err(LimitError::below(
                what,
                value,
                u64::from(self.min_sample_rate),
                " Hz",
                "min_sample_rate",
            ));
        }
        if rate > self.max_sample_rate {
            return Err(LimitError::above(
                what,
                value,
                u64::from(self.max_sample_rate),
                " Hz",
                "max_sample_rate",
            ));
        }
        Ok(())
    }

    /// Checks that one segment of `window` samples gives at most `max_segment_values` feature
    /// values (`n_mels x frames`) under `mel`, before any segment is cut or extracted.
    pub fn check_segment_values(
        &self,
        mel: &crate::MelConfig,
        window: usize,
    ) -> Result<(), crate::ConfigError> {
        let frames = mel.n_frames(window).unwrap_or(0);
        let values = frames as u128 * mel.n_mels as u128;
        if values > self.max_segment_values as u128 {
            return Err(crate::ConfigError::limit(
                "window_s",
                LimitError::above(
                    format!(
                        "features of one segment, `n_mels` x frames = {} x {frames},",
                        mel.n_mels
                    ),
                    LimitValue::Int(values),
                    to_u64(self.max_segment_values),
                    " values",
                    "max_segment_values",
                ),
            ));
        }
        Ok(())
    }

    /// Checks the ratio between two (non-zero) rates of one resampling against
    /// `max_resample_ratio`, in exact integer arithmetic.
    pub fn check_resample_ratio(&self, from: u32, to: u32) -> Result<(), LimitError> {
        let (hi, lo) = (from.max(to), from.min(to).max(1));
        if u64::from(hi) > u64::from(lo) * u64::from(self.max_resample_ratio) {
            return Err(LimitError::above(
                format!("resampling ratio {from} Hz -> {to} Hz"),
                LimitValue::Real(f64::from(hi) / f64::from(lo)),
                u64::from(self.max_resample_ratio),
                "",
                "max_resample_ratio",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_segment_holds_a_bounded_number_of_feature_values() {
        let l = AudioLimits::default();
        // CNN14: 10 s at 32 kHz, hop 320: 1001 frames x 64 bands.
        let cnn14 = crate::MelConfig {
            sample_rate: 32_000,
            n_fft: 1024,
            win_length: 1024,
            hop_length: 320,
            ..crate::MelConfig::default()
        };
        l.check_segment_values(&cnn14, 320_000).unwrap();
        // 1024 s windows at a 6-sample hop (each field within its own limit).
        let fine = crate::MelConfig {
            win_length: 6,
            hop_length: 6,
            ..crate::MelConfig::default()
        };
        let err = l.check_segment_values(&fine, 16_384_000).unwrap_err();
        assert_eq!(err.field, "window_s");
        let text = err.to_string();
        assert!(
            text.contains("max_segment_values") && text.contains("64 x 2730667"),
            "{text}"
        );
    }

    #[test]
    fn defaults_admit_real_audio() {
        let l = AudioLimits::default();
        for rate in [
            1_000, 8_000, 16_000, 32_000, 44_100, 48_000, 96_000, 384_000, 768_000,
        ] {
            assert_eq!(l.check_sample_rate("rate", rate), Ok(()), "{rate}");
        }
        assert_eq!(l.check_resample_ratio(768_000, 16_000), Ok(()));
        assert_eq!(l.check_resample_ratio(1_000, 32_000), Ok(()));
        assert_eq!(l.check_resample_ratio(44_100, 16_000), Ok(()));
        // CNN14: 32 kHz, n_fft 1024, hop 320 (100 frames/s), 64 mels, 10 s windows.
        assert!(1024 <= l.max_n_fft && 64 <= l.max_n_mels);
        assert!(32_000 / 320 <= l.max_frames_per_second);
        assert!(320_000 <= l.max_window_samples);
    }

    #[test]
    fn rates_outside_the_range_name_the_bound_and_the_setting() {
        let l = AudioLimits::default();
        let low = l.check_sample_rate("input sample rate", 999).unwrap_err();
        assert_eq!(
            (low.bound, low.setting, low.limit),
            (Bound::Min, "min_sample_rate", 1000)
        );
        assert_eq!(
            low.to_string(),
            "input sample rate is 999 Hz, below the limit of 1000 Hz (AudioLimits::min_sample_rate)"
        );
        let high = l.check_sample_rate("`sample_rate`", u32::MAX).unwrap_err();
        assert_eq!(
            high.to_string(),
            "`sample_rate` is 4294967295 Hz, above the limit of 768000 Hz (AudioLimits::max_sample_rate)"
        );
    }

    #[test]
    fn ratio_is_checked_both_ways_without_rounding() {
        let l = AudioLimits::default();
        // Exactly 96 passes, one hertz more does not.
        assert_eq!(l.check_resample_ratio(1_000, 96_000), Ok(()));
        assert_eq!(l.check_resample_ratio(96_000, 1_000), Ok(()));
        let up = l.check_resample_ratio(1_000, 96_001).unwrap_err();
        assert_eq!(up.setting, "max_resample_ratio");
        let down = l.check_resample_ratio(768_000, 1_000).unwrap_err();
        assert_eq!(
            down.to_string(),
            "resampling ratio 768000 Hz -> 1000 Hz is 768, above the limit of 96 (AudioLimits::max_resample_ratio)"
        );
        // Extreme rates do not overflow the integer check.
        assert!(l.check_resample_ratio(u32::MAX, 1).is_err());
    }

    #[test]
    fn huge_integers_print_exactly() {
        let e = LimitError::above(
            "`n_mels`",
            LimitValue::Int(u128::from(u64::MAX)),
            1024,
            "",
            "max_n_mels",
        );
        assert_eq!(
            e.to_string(),
            "`n_mels` is 18446744073709551615, above the limit of 1024 (AudioLimits::max_n_mels)"
        );
    }
}
