//! Saturation diagnostics: are the tagger's outputs stuck at 0 or 1?
//!
//! A network whose sigmoid outputs sit at the extremes learns slowly (vanishing gradients) and
//! cannot be calibrated by a temperature alone. This module measures how many outputs are
//! saturated, summarises the logits, compares the predicted and observed positive rates per
//! label, and words a verdict.

use serde::{Deserialize, Serialize};

use crate::error::{MetricsError, Result, invalid};
use crate::math::{Sum, sigmoid};
use crate::matrix::{ScoreMatrix, TargetMatrix, check_same_shape};

/// Share of saturated outputs above which [`SaturationReport::is_saturated`] is true: 0.5, i.e.
/// most outputs are within `eps` of 0 or 1.
pub const SATURATION_THRESHOLD: f64 = 0.5;

/// Gap between the mean predicted probability and the observed positive rate (averaged over
/// labels) above which the verdict reports miscalibration of the base rates.
const RATE_GAP_WARNING: f64 = 0.1;

/// Logit standard deviation below which the verdict reports near-constant outputs.
const FLAT_LOGIT_STD: f64 = 0.05;

/// Predicted against observed positive rate of one label.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LabelSaturation {
    /// Mean predicted probability.
    pub mean_predicted: f64,
    /// Observed fraction of positives (`None` without targets).
    pub observed_rate: Option<f64>,
    /// Share of this label's outputs that are saturated.
    pub saturated_share: f64,
}

/// What [`saturation_report`] found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SaturationReport {
    /// The `eps` used: an output is saturated when `p < eps` or `p > 1 - eps`.
    pub eps: f64,
    /// Share of outputs with `p > 1 - eps`.
    pub share_high: f64,
    /// Share of outputs with `p < eps`.
    pub share_low: f64,
    /// `share_high + share_low`.
    pub saturated_share: f64,
    /// Mean logit.
    pub logit_mean: f64,
    /// Standard deviation of the logits (population).
    pub logit_std: f64,
    /// Largest logit.
    pub logit_max: f64,
    /// Smallest logit.
    pub logit_min: f64,
    /// Per-label rates, in label order.
    pub per_label: Vec<LabelSaturation>,
    /// A plain-language reading of the figures.
    pub verdict: String,
}

impl SaturationReport {
    /// True when more than [`SATURATION_THRESHOLD`] of the outputs are saturated.
    pub fn is_saturated(&self) -> bool {
        self.saturated_share > SATURATION_THRESHOLD
    }
}

/// Diagnoses a matrix of logits, optionally against 0/1 targets.
///
/// `eps` (in (0, 0.5)) sets what counts as saturated; 1e-3 is a reasonable default (logits
/// beyond about +-6.9). Saturation is tested on the logits in f64, so outputs that f32 would
/// round to exactly 0 or 1 are still classified correctly.
///
/// ```
/// use sonotag_metrics::{ScoreMatrix, saturation_report};
/// let logits = [12.0, -15.0, 9.0, -20.0, 0.3, -11.0, 14.0, -9.5];
/// let r = saturation_report(&ScoreMatrix::new(&logits, 4, 2).unwrap(), None, 1e-3).unwrap();
/// assert!(r.is_saturated());
/// assert!(r.verdict.starts_with("88% of outputs are saturated"));
/// ```
pub fn saturation_report(
    logits: &ScoreMatrix<'_>,
    targets: Option<&TargetMatrix<'_>>,
    eps: f64,
) -> Result<SaturationReport> {
    if !(eps > 0.0 && eps < 0.5) {
        return Err(invalid("eps", format!("{eps} is not in (0, 0.5)")));
    }
    if let Some(t) = targets {
        check_same_shape(logits, t)?;
    }
    let (n, l) = (logits.n_samples(), logits.n_labels());
    if n == 0 || l == 0 {
        return Err(MetricsError::EmptyInput(format!(
            "saturation of a {n} x {l} matrix"
        )));
    }
    if let Some(i) = logits.as_slice().iter().position(|z| !z.is_finite()) {
        return Err(invalid("logits", format!("entry {i} is not finite")));
    }
    // p > 1 - eps  <=>  z > logit(1 - eps); p < eps  <=>  z < -logit(1 - eps).
    let cut = ((1.0 - eps) / eps).ln();
    let (mut high, mut low) = (0usize, 0usize);
    let (mut sum, mut sum_sq) = (Sum::default(), Sum::default());
    let (mut zmax, mut zmin) = (f64::NEG_INFINITY, f64::INFINITY);
    let mut label_p = vec![Sum::default(); l];
    let mut label_sat = vec![0usize; l];
    for row in logits.as_slice().chunks_exact(l) {
        for (j, &z) in row.iter().enumerate() {
            let z = f64::from(z);
            let sat_high = z > cut;
            let sat_low = z < -cut;
            high += usize::from(sat_high);
            low += usize::from(sat_low);
            label_sat[j] += usize::from(sat_high || sat_low);
            sum.add(z);
            sum_sq.add(z * z);
            zmax = zmax.max(z);
            zmin = zmin.min(z);
            label_p[j].add(sigmoid(z));
        }
    }
    let total = (n * l) as f64;
    let mean = sum.value() / total;
    let std = (sum_sq.value() / total - mean * mean).max(0.0).sqrt();
    let positives = targets.map(|t| t.positives_per_label());
    let per_label: Vec<LabelSaturation> = (0..l)
        .map(|j| LabelSaturation {
            mean_predicted: label_p[j].value() / n as f64,
            observed_rate: positives.as_ref().map(|p| p[j] as f64 / n as f64),
            saturated_share: label_sat[j] as f64 / n as f64,
        })
        .collect();
    let mut report = SaturationReport {
        eps,
        share_high: high as f64 / total,
        share_low: low as f64 / total,
        saturated_share: (high + low) as f64 / total,
        logit_mean: mean,
        logit_std: std,
        logit_max: zmax,
        logit_min: zmin,
        per_label,
        verdict: String::new(),
    };
    report.verdict = verdict(&report);
    Ok(report)
}

fn verdict(r: &SaturationReport) -> String {
    let pct = |x: f64| (100.0 * x).round();
    let rate_gap = {
        let gaps: Vec<f64> = r
            .per_label
            .iter()
            .filter_map(|s| s.observed_rate.map(|o| (s.mean_predicted - o).abs()))
            .collect();
        (!gaps.is_empty()).then(|| gaps.iter().sum::<f64>() / gaps.len() as f64)
    };
    if r.is_saturated() {
        format!(
            "{}% of outputs are saturated ({}% near 1, {}% near 0; logits mean {:.2}, std {:.2}, range [{:.1}, {:.1}]): \
             check weight initialisation and the loss (sigmoid applied twice, or a learning rate too high)",
            pct(r.saturated_share),
            pct(r.share_high),
            pct(r.share_low),
            r.logit_mean,
            r.logit_std,
            r.logit_min,
            r.logit_max
        )
    } else if r.logit_std < FLAT_LOGIT_STD {
        format!(
            "outputs are nearly constant (logit std {:.3}): the model may have collapsed to the base rate; \
             check the learning rate and that the inputs reach the network",
            r.logit_std
        )
    } else if let Some(gap) = rate_gap.filter(|&g| g > RATE_GAP_WARNING) {
        format!(
            "predicted positive rates differ from observed ones by {:.2} on average: \
             the outputs are miscalibrated; fit a temperature or Platt calibrator on validation data",
            gap
        )
    } else {
        format!(
            "no saturation: {}% of outputs are within {} of 0 or 1 (logits mean {:.2}, std {:.2})",
            pct(r.saturated_share),
            r.eps,
            r.logit_mean,
            r.logit_std
        )
    }
}
