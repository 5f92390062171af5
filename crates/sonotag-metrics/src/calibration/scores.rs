//! Proper scoring rules: Brier score and negative log-likelihood.

use super::{check_logit_pairs, check_pairs};
use crate::error::Result;
use crate::math::{Sum, bce_logit};

/// Mean squared error between probabilities and 0/1 targets (sklearn's `brier_score_loss` on the
/// flattened arrays), accumulated in f64.
///
/// ```
/// let b = sonotag_metrics::brier_score(&[1.0, 0.5], &[1, 0]).unwrap();
/// assert_eq!(b, 0.125);
/// ```
pub fn brier_score(probs: &[f32], targets: &[u8]) -> Result<f64> {
    check_pairs(probs, targets)?;
    let mut s = Sum::default();
    for (&p, &y) in probs.iter().zip(targets) {
        let d = f64::from(p) - f64::from(y);
        s.add(d * d);
    }
    Ok(s.value() / probs.len() as f64)
}

/// Mean negative log-likelihood (binary cross-entropy) of probabilities.
///
/// Probabilities are clipped to `[eps, 1 - eps]` with `eps = f32::EPSILON` (as scikit-learn's
/// `log_loss` does for float32 input), so a confident mistake costs about 15.9 nats rather than
/// infinity. Prefer [`nll_from_logits`] when logits are available: it needs no clipping.
pub fn negative_log_likelihood(probs: &[f32], targets: &[u8]) -> Result<f64> {
    check_pairs(probs, targets)?;
    let eps = f64::from(f32::EPSILON);
    let mut s = Sum::default();
    for (&p, &y) in probs.iter().zip(targets) {
        let p = f64::from(p).clamp(eps, 1.0 - eps);
        s.add(if y == 1 { -p.ln() } else { -(-p).ln_1p() });
    }
    Ok(s.value() / probs.len() as f64)
}

/// Mean negative log-likelihood of logits, computed stably in f64 (exact for any finite logit).
///
/// ```
/// let nll = sonotag_metrics::nll_from_logits(&[0.0, 0.0], &[1, 0]).unwrap();
/// assert!((nll - std::f64::consts::LN_2).abs() < 1e-15);
/// ```
pub fn nll_from_logits(logits: &[f32], targets: &[u8]) -> Result<f64> {
    check_logit_pairs(logits, targets)?;
    Ok(mean_bce(logits.iter().map(|&z| f64::from(z)), targets))
}

/// Mean BCE of already-validated f64 logits.
pub(crate) fn mean_bce(logits: impl Iterator<Item = f64>, targets: &[u8]) -> f64 {
    let mut s = Sum::default();
    for (z, &y) in logits.zip(targets) {
        s.add(bce_logit(z, f64::from(y)));
    }
    s.value() / targets.len() as f64
}
