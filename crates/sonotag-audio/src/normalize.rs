//! Per-mel-band z-score normalisation, fitted on training features only.
//!
//! [`NormalizerFit`] streams over clips, keeping per band a count, mean and sum of squared
//! deviations in f64 (Chan et al.'s pairwise merge of per-clip statistics, numerically safe
//! for millions of frames); [`NormalizerFit::finish`] freezes them into a [`Normalizer`] that
//! is serialised with the model and applied unchanged at inference.
//!
//! ```
//! use sonotag_audio::{LogMel, Normalizer, NormalizerFit};
//! let a = LogMel::new(2, 3, vec![1.0, 2.0, 3.0, 10.0, 10.0, 10.0]).unwrap();
//! let mut fit = NormalizerFit::new(2);
//! fit.update(&a)?;
//! let norm: Normalizer = fit.finish(1e-3)?;
//! let mut x = a.clone();
//! norm.apply(&mut x)?;
//! assert!((x.get(0, 0) + 1.2247449).abs() < 1e-5); // (1 - 2) / sqrt(2/3)
//! assert_eq!(x.get(1, 0), 0.0); // constant band: std floored, mean removed
//! # Ok::<(), sonotag_audio::NormalizerError>(())
//! ```

use serde::{Deserialize, Serialize};

use crate::error::NormalizerError;
use crate::mel::LogMel;

/// Running per-band statistics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NormalizerFit {
    count: u64,
    mean: Vec<f64>,
    m2: Vec<f64>,
}

impl NormalizerFit {
    /// Empty statistics for `n_mels` bands.
    pub fn new(n_mels: usize) -> Self {
        Self {
            count: 0,
            mean: vec![0.0; n_mels],
            m2: vec![0.0; n_mels],
        }
    }

    /// Number of frames seen so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Adds every frame of `x`.
    pub fn update(&mut self, x: &LogMel) -> Result<(), NormalizerError> {
        if x.n_mels() != self.mean.len() {
            return Err(NormalizerError::MelMismatch {
                expected: self.mean.len(),
                got: x.n_mels(),
            });
        }
        let nb = x.n_frames() as u64;
        if nb == 0 {
            return Ok(());
        }
        // Check everything first so that a bad clip leaves the statistics untouched.
        for (band, row) in x.rows().enumerate() {
            if let Some(&value) = row.iter().find(|v| !v.is_finite()) {
                return Err(NormalizerError::NonFinite { band, value });
            }
        }
        let na = self.count;
        let n = na + nb;
        for (band, row) in x.rows().enumerate() {
            // Two-pass statistics of this clip, then Chan's merge with the running ones.
            let mean_b = row.iter().map(|&v| f64::from(v)).sum::<f64>() / nb as f64;
            let m2_b: f64 = row
                .iter()
                .map(|&v| {
                    let d = f64::from(v) - mean_b;
                    d * d
                })
                .sum();
            let delta = mean_b - self.mean[band];
            self.mean[band] += delta * nb as f64 / n as f64;
            self.m2[band] += m2_b + delta * delta * (na as f64) * (nb as f64) / n as f64;
        }
        self.count = n;
        Ok(())
    }

    /// Merges statistics gathered elsewhere (e.g. by another thread).
    pub fn merge(&mut self, other: &NormalizerFit) -> Result<(), NormalizerError> {
        if other.mean.len() != self.mean.len() {
            return Err(NormalizerError::MelMismatch {
                expected: self.mean.len(),
                got: other.mean.len(),
            });
        }
        let (na, nb) = (self.count, other.count);
        let n = na + nb;
        if nb == 0 {
            return Ok(());
        }
        for b in 0..self.mean.len() {
            let delta = other.mean[b] - self.mean[b];
            self.mean[b] += delta * nb as f64 / n as f64;
            self.m2[b] += other.m2[b] + delta * delta * (na as f64) * (nb as f64) / n as f64;
        }
        self.count = n;
        Ok(())
    }

    /// Freezes the statistics: population std per band, floored at `std_floor` so silent or
    /// constant bands do not blow up.
    pub fn finish(&self, std_floor: f64) -> Result<Normalizer, NormalizerError> {
        if !std_floor.is_finite() || std_floor <= 0.0 {
            return Err(NormalizerError::BadFloor(std_floor));
        }
        if self.count == 0 {
            return Err(NormalizerError::NoFrames);
        }
        let n = self.count as f64;
        Ok(Normalizer {
            mean: self.mean.iter().map(|&m| m as f32).collect(),
            std: self
                .m2
                .iter()
                .map(|&m2| (m2 / n).sqrt().max(std_floor) as f32)
                .collect(),
            std_floor: std_floor as f32,
            frames: self.count,
        })
    }
}

/// Frozen per-band mean and std: `x' = (x - mean[m]) / std[m]`. Deserialising checks that
/// `mean` and `std` have the same length and that every std is positive and finite.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "NormalizerRepr")]
pub struct Normalizer {
    mean: Vec<f32>,
    std: Vec<f32>,
    std_floor: f32,
    frames: u64,
}

/// Unchecked serialised form of [`Normalizer`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NormalizerRepr {
    mean: Vec<f32>,
    std: Vec<f32>,
    std_floor: f32,
    frames: u64,
}

impl TryFrom<NormalizerRepr> for Normalizer {
    type Error = String;

    fn try_from(r: NormalizerRepr) -> Result<Self, String> {
        if r.mean.len() != r.std.len() {
            return Err(format!(
                "normaliser has {} means but {} stds",
                r.mean.len(),
                r.std.len()
            ));
        }
        if let Some(m) = r.mean.iter().position(|v| !v.is_finite()) {
            return Err(format!("normaliser mean of band {m} is not finite"));
        }
        if let Some(m) = r.std.iter().position(|v| !(v.is_finite() && *v > 0.0)) {
            return Err(format!(
                "normaliser std of band {m} is not positive and finite"
            ));
        }
        Ok(Self {
            mean: r.mean,
            std: r.std,
            std_floor: r.std_floor,
            frames: r.frames,
        })
    }
}

impl Normalizer {
    /// Fits on a set of training features in one call (see [`NormalizerFit`] to stream).
    pub fn fit<'a>(
        features: impl IntoIterator<Item = &'a LogMel>,
        n_mels: usize,
        std_floor: f64,
    ) -> Result<Self, NormalizerError> {
        let mut fit = NormalizerFit::new(n_mels);
        for x in features {
            fit.update(x)?;
        }
        fit.finish(std_floor)
    }

    /// Number of mel bands.
    pub fn n_mels(&self) -> usize {
        self.mean.len()
    }

    /// Per-band means.
    pub fn mean(&self) -> &[f32] {
        &self.mean
    }

    /// Per-band standard deviations (already floored).
    pub fn std(&self) -> &[f32] {
        &self.std
    }

    /// The floor used on the std.
    pub fn std_floor(&self) -> f32 {
        self.std_floor
    }

    /// Number of frames the statistics came from.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Normalises `x` in place.
    pub fn apply(&self, x: &mut LogMel) -> Result<(), NormalizerError> {
        if x.n_mels() != self.mean.len() {
            return Err(NormalizerError::MelMismatch {
                expected: self.mean.len(),
                got: x.n_mels(),
            });
        }
        self.apply_slice(x.data_mut())
    }

    /// Normalises in place a flat band-major buffer (the layout of [`LogMel::data`]: band 0's
    /// frames, then band 1's, ...), for features kept in a caller's own buffer.
    ///
    /// ```
    /// use sonotag_audio::{LogMel, Normalizer};
    /// let x = LogMel::new(2, 2, vec![1.0, 3.0, 10.0, 30.0]).unwrap();
    /// let norm = Normalizer::fit([&x], 2, 1e-5).unwrap();
    /// let mut flat = vec![1.0, 3.0, 10.0, 30.0];
    /// norm.apply_slice(&mut flat).unwrap();
    /// assert_eq!(flat, [-1.0, 1.0, -1.0, 1.0]);
    /// assert!(norm.apply_slice(&mut [0.0; 3]).is_err());
    /// ```
    pub fn apply_slice(&self, data: &mut [f32]) -> Result<(), NormalizerError> {
        let n_mels = self.mean.len();
        if data.is_empty() {
            return Ok(());
        }
        if data.len().checked_rem(n_mels) != Some(0) {
            return Err(NormalizerError::Ragged {
                len: data.len(),
                n_mels,
            });
        }
        let n_frames = data.len() / n_mels;
        for ((row, &mean), &std) in data
            .chunks_exact_mut(n_frames)
            .zip(&self.mean)
            .zip(&self.std)
        {
            let inv = 1.0 / std;
            for v in row {
                *v = (*v - mean) * inv;
            }
        }
        Ok(())
    }
}
