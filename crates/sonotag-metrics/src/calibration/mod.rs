//! Calibration: reliability curves, ECE/MCE, Brier score and NLL; temperature and Platt scaling;
//! saturation diagnostics.
//!
//! Functions here take flat slices of probabilities (or logits) and 0/1 targets, one entry per
//! (sample, label) pair; matrix-shaped inputs can be passed as their row-major buffers.

mod binning;
mod calibrator;
mod platt;
mod saturation;
mod scores;
mod temperature;

pub use binning::{
    Binning, CalibrationError, MAX_BINS, ReliabilityBin, calibration_error,
    calibration_error_from_bins, check_bins, reliability_curve, torch_linspace_edges,
};
pub use calibrator::Calibrator;
pub use platt::{PlattFit, PlattOptions, fit_platt, fit_platt_per_label};
pub use saturation::{LabelSaturation, SATURATION_THRESHOLD, SaturationReport, saturation_report};
pub use scores::{brier_score, negative_log_likelihood, nll_from_logits};
pub use temperature::{
    TemperatureFit, TemperatureOptions, fit_temperature, fit_temperature_per_label,
};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{MetricsError, Result};
use crate::matrix::{ScoreMatrix, TargetMatrix, check_same_shape};

/// How a calibration fit ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FitStatus {
    /// The gradient vanished at an interior optimum.
    Converged,
    /// The optimum lies at (or beyond) a parameter bound, typically because the data are
    /// separable; the bound is returned.
    AtBound,
    /// The targets are all 0 or all 1: nothing to fit, the identity is returned.
    SingleClass,
    /// Every logit is 0: no temperature changes anything, the identity is returned.
    ConstantLogits,
    /// The iteration limit was reached before convergence; the last iterate is returned.
    MaxIterations,
}

/// Requires equally long probability and target slices, probabilities in [0, 1], targets 0/1,
/// and at least one pair.
pub(crate) fn check_pairs(probs: &[f32], targets: &[u8]) -> Result<()> {
    check_lengths(probs.len(), targets)?;
    if let Some(i) = probs.iter().position(|p| !(0.0..=1.0).contains(p)) {
        return Err(MetricsError::ProbabilityOutOfRange {
            row: i,
            label: 0,
            value: f64::from(probs[i]),
        });
    }
    Ok(())
}

/// Like [`check_pairs`] but for finite logits.
pub(crate) fn check_logit_pairs(logits: &[f32], targets: &[u8]) -> Result<()> {
    check_lengths(logits.len(), targets)?;
    if let Some(i) = logits.iter().position(|z| !z.is_finite()) {
        return Err(MetricsError::InvalidParameter {
            name: "logits",
            reason: format!("entry {i} is {}, not a finite number", logits[i]),
        });
    }
    Ok(())
}

/// Runs a one-label fit on every label (column) of a logit matrix, in parallel, after the
/// checks every per-label fit shares; `what` names the fit in the empty-input error.
pub(crate) fn fit_each_label<F: Send>(
    logits: &ScoreMatrix<'_>,
    targets: &TargetMatrix<'_>,
    what: &str,
    fit: impl Fn(&[f64], &[u8]) -> F + Sync,
) -> Result<Vec<F>> {
    check_same_shape(logits, targets)?;
    if logits.n_samples() == 0 {
        return Err(MetricsError::EmptyInput(format!(
            "no samples to fit {what} on"
        )));
    }
    check_logit_pairs(logits.as_slice(), targets.as_slice())?;
    let l = logits.n_labels();
    Ok((0..l)
        .into_par_iter()
        .map(|j| {
            let z: Vec<f64> = logits.column(j).map(f64::from).collect();
            let y: Vec<u8> = targets.as_slice()[j..].iter().step_by(l).copied().collect();
            fit(&z, &y)
        })
        .collect())
}

fn check_lengths(n: usize, targets: &[u8]) -> Result<()> {
    if n != targets.len() {
        return Err(MetricsError::ShapeMismatch {
            what: "predictions vs targets".into(),
            expected: format!("{n} targets"),
            got: format!("{}", targets.len()),
        });
    }
    if n == 0 {
        return Err(MetricsError::EmptyInput(
            "no (prediction, target) pairs".into(),
        ));
    }
    if let Some(i) = targets.iter().position(|&t| t > 1) {
        return Err(MetricsError::InvalidTarget {
            row: i,
            label: 0,
            value: f64::from(targets[i]),
        });
    }
    Ok(())
}
