//! A fitted, serialisable map from logits to calibrated probabilities.

use burn::tensor::{Tensor, TensorData, activation::sigmoid};
use serde::{Deserialize, Serialize};

use super::platt::{PlattFit, PlattOptions, fit_platt_per_label};
use super::temperature::{
    TemperatureFit, TemperatureOptions, fit_temperature, fit_temperature_per_label,
};
use crate::error::{MetricsError, Result, invalid};
use crate::math::sigmoid as sigmoid64;
use crate::matrix::{ScoreMatrix, TargetMatrix, check_same_shape};

/// How to turn a tagger's logits into calibrated probabilities.
///
/// Serialises as a tagged JSON object, e.g. `{"kind":"temperature","temperature":1.7}`.
///
/// ```
/// use sonotag_metrics::{Calibrator, ScoreMatrix};
/// let c = Calibrator::Temperature { temperature: 2.0 };
/// let json = serde_json::to_string(&c).unwrap();
/// assert_eq!(json, r#"{"kind":"temperature","temperature":2.0}"#);
/// let back: Calibrator = serde_json::from_str(&json).unwrap();
/// let p = back.probabilities(&ScoreMatrix::new(&[0.0, 4.0], 1, 2).unwrap()).unwrap();
/// assert_eq!(p[0], 0.5);
/// assert!((p[1] - 0.880797).abs() < 1e-6); // sigmoid(4 / 2)
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Calibrator {
    /// `sigmoid(z)`.
    Identity,
    /// `sigmoid(z / T)` with one temperature for every label.
    Temperature {
        /// The temperature `T > 0`.
        temperature: f64,
    },
    /// `sigmoid(z_j / T_j)` with one temperature per label.
    PerLabelTemperature {
        /// One temperature per label, each `> 0`.
        temperatures: Vec<f64>,
    },
    /// `sigmoid(a_j z_j + b_j)` per label.
    Platt {
        /// Slopes, one per label.
        a: Vec<f64>,
        /// Offsets, one per label.
        b: Vec<f64>,
    },
}

impl Calibrator {
    /// Fits one temperature over all (sample, label) pairs.
    pub fn fit_temperature(
        logits: &ScoreMatrix<'_>,
        targets: &TargetMatrix<'_>,
        options: &TemperatureOptions,
    ) -> Result<(Self, TemperatureFit)> {
        check_same_shape(logits, targets)?;
        let fit = fit_temperature(logits.as_slice(), targets.as_slice(), options)?;
        Ok((
            Calibrator::Temperature {
                temperature: fit.temperature,
            },
            fit,
        ))
    }

    /// Fits one temperature per label.
    pub fn fit_per_label_temperature(
        logits: &ScoreMatrix<'_>,
        targets: &TargetMatrix<'_>,
        options: &TemperatureOptions,
    ) -> Result<(Self, Vec<TemperatureFit>)> {
        let fits = fit_temperature_per_label(logits, targets, options)?;
        Ok((
            Calibrator::PerLabelTemperature {
                temperatures: fits.iter().map(|f| f.temperature).collect(),
            },
            fits,
        ))
    }

    /// Fits Platt scaling per label.
    pub fn fit_platt(
        logits: &ScoreMatrix<'_>,
        targets: &TargetMatrix<'_>,
        options: &PlattOptions,
    ) -> Result<(Self, Vec<PlattFit>)> {
        let fits = fit_platt_per_label(logits, targets, options)?;
        Ok((
            Calibrator::Platt {
                a: fits.iter().map(|f| f.a).collect(),
                b: fits.iter().map(|f| f.b).collect(),
            },
            fits,
        ))
    }

    /// Checks the parameters (finite, temperatures positive) and, for per-label variants, that
    /// they cover `n_labels` labels. Deserialised calibrators should be validated before use;
    /// the `apply` methods do it themselves.
    pub fn validate(&self, n_labels: usize) -> Result<()> {
        let per_label = |name: &'static str, len: usize| {
            if len == n_labels {
                Ok(())
            } else {
                Err(MetricsError::ShapeMismatch {
                    what: format!("calibrator `{name}`"),
                    expected: format!("{n_labels} labels"),
                    got: format!("{len}"),
                })
            }
        };
        let positive = |name: &'static str, t: &[f64]| match t
            .iter()
            .position(|&v| !(v > 0.0 && v.is_finite()))
        {
            Some(i) => Err(invalid(
                name,
                format!("entry {i} is {}, not finite and > 0", t[i]),
            )),
            None => Ok(()),
        };
        match self {
            Calibrator::Identity => Ok(()),
            Calibrator::Temperature { temperature } => positive("temperature", &[*temperature]),
            Calibrator::PerLabelTemperature { temperatures } => {
                per_label("temperatures", temperatures.len())?;
                positive("temperatures", temperatures)
            }
            Calibrator::Platt { a, b } => {
                per_label("a", a.len())?;
                per_label("b", b.len())?;
                match a.iter().chain(b).position(|v| !v.is_finite()) {
                    Some(i) => Err(invalid("a/b", format!("parameter {i} is not finite"))),
                    None => Ok(()),
                }
            }
        }
    }

    /// Per-label `(scale, offset)` such that the calibrated logit is `scale * z + offset`.
    fn affine(&self, n_labels: usize) -> Vec<(f64, f64)> {
        match self {
            Calibrator::Identity => vec![(1.0, 0.0); n_labels],
            Calibrator::Temperature { temperature } => vec![(1.0 / temperature, 0.0); n_labels],
            Calibrator::PerLabelTemperature { temperatures } => {
                temperatures.iter().map(|t| (1.0 / t, 0.0)).collect()
            }
            Calibrator::Platt { a, b } => a.iter().copied().zip(b.iter().copied()).collect(),
        }
    }

    /// Calibrated probabilities of a logit matrix (row-major, same shape).
    pub fn probabilities(&self, logits: &ScoreMatrix<'_>) -> Result<Vec<f32>> {
        let l = logits.n_labels();
        self.validate(l)?;
        let affine = self.affine(l);
        Ok(logits
            .as_slice()
            .iter()
            .enumerate()
            .map(|(i, &z)| {
                let (s, o) = affine[i % l.max(1)];
                sigmoid64(s * f64::from(z) + o) as f32
            })
            .collect())
    }

    /// Calibrated probabilities of a `[n_samples, n_labels]` logit tensor, on its device.
    pub fn probabilities_tensor(&self, logits: Tensor<2>) -> Result<Tensor<2>> {
        let [_, l] = logits.dims();
        self.validate(l)?;
        let affine = self.affine(l);
        let device = logits.device();
        let row = |f: fn(&(f64, f64)) -> f64| {
            let v: Vec<f32> = affine.iter().map(|p| f(p) as f32).collect();
            Tensor::<2>::from_data(TensorData::new(v, [1, l]), &device)
        };
        let scaled = logits.mul(row(|p| p.0)).add(row(|p| p.1));
        Ok(sigmoid(scaled))
    }
}
