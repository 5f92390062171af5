//! From logits to probabilities, per task: independent sigmoids for multilabel tagging, a
//! softmax over the classes for multiclass. The model only ever returns logits; this is the one
//! place where they become probabilities.

use sonotag_metrics::{Calibrator, ScoreMatrix, nll_from_logits};

use crate::config::TaskKind;
use crate::error::{Error, Result};

/// Uncalibrated probabilities of row-major `logits` with `n` columns.
pub(crate) fn raw(task: TaskKind, logits: &[f32], n: usize) -> Result<Vec<f32>> {
    calibrated(task, &Calibrator::Identity, logits, n)
}

/// Calibrated probabilities of row-major `logits` with `n` columns.
pub(crate) fn calibrated(
    task: TaskKind,
    calibrator: &Calibrator,
    logits: &[f32],
    n: usize,
) -> Result<Vec<f32>> {
    match task {
        TaskKind::MultiLabel => {
            let matrix = ScoreMatrix::new(logits, logits.len() / n.max(1), n)?;
            Ok(calibrator.probabilities(&matrix)?)
        }
        TaskKind::MultiClass => Ok(softmax_rows(logits, n, softmax_temperature(calibrator)?)),
    }
}

/// Mean negative log-likelihood of 0/1 `targets` under the uncalibrated probabilities of
/// row-major `logits` with `n` columns: binary cross-entropy per label (multilabel) or softmax
/// cross-entropy (multiclass).
pub(crate) fn nll(task: TaskKind, logits: &[f32], targets: &[u8], n: usize) -> Result<f64> {
    match task {
        TaskKind::MultiLabel => Ok(nll_from_logits(logits, targets)?),
        TaskKind::MultiClass => Ok(softmax_nll(logits, targets, n, 1.0)),
    }
}

/// The temperature a multiclass calibrator applies (identity = 1).
pub(crate) fn softmax_temperature(calibrator: &Calibrator) -> Result<f64> {
    match calibrator {
        Calibrator::Identity => Ok(1.0),
        Calibrator::Temperature { temperature } => Ok(*temperature),
        other => Err(Error::config(
            "calibration",
            format!(
                "{other:?} is a per-label sigmoid calibrator; a multiclass softmax takes one \
                 temperature"
            ),
        )),
    }
}

/// Row-wise softmax of `logits / temperature`, stable for any finite logits.
fn softmax_rows(logits: &[f32], n: usize, temperature: f64) -> Vec<f32> {
    let mut out = Vec::with_capacity(logits.len());
    for row in logits.chunks(n.max(1)) {
        let scaled: Vec<f64> = row.iter().map(|&z| f64::from(z) / temperature).collect();
        let max = scaled.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let exps: Vec<f64> = scaled.iter().map(|z| (z - max).exp()).collect();
        let sum: f64 = exps.iter().sum();
        out.extend(exps.iter().map(|e| (e / sum) as f32));
    }
    out
}

/// Mean cross-entropy of a softmax over `logits / temperature` against one-hot `targets`.
fn softmax_nll(logits: &[f32], targets: &[u8], n: usize, temperature: f64) -> f64 {
    let rows = logits.len() / n.max(1);
    let mut total = 0.0;
    for (row, target) in logits.chunks(n).zip(targets.chunks(n)) {
        let scaled: Vec<f64> = row.iter().map(|&z| f64::from(z) / temperature).collect();
        let max = scaled.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let log_sum = max + scaled.iter().map(|z| (z - max).exp()).sum::<f64>().ln();
        for (z, &t) in scaled.iter().zip(target) {
            if t > 0 {
                total += log_sum - z;
            }
        }
    }
    total / rows.max(1) as f64
}

/// The temperature minimising the softmax NLL on validation logits (golden-section search on
/// log T over [1/20, 20]; the NLL is unimodal in T).
pub(crate) fn fit_softmax_temperature(logits: &[f32], targets: &[u8], n: usize) -> f64 {
    let nll = |log_t: f64| softmax_nll(logits, targets, n, log_t.exp());
    let (mut lo, mut hi) = ((0.05f64).ln(), 20f64.ln());
    let ratio = (5f64.sqrt() - 1.0) / 2.0;
    let mut a = hi - ratio * (hi - lo);
    let mut b = lo + ratio * (hi - lo);
    let (mut fa, mut fb) = (nll(a), nll(b));
    for _ in 0..80 {
        if fa <= fb {
            hi = b;
            b = a;
            fb = fa;
            a = hi - ratio * (hi - lo);
            fa = nll(a);
        } else {
            lo = a;
            a = b;
            fa = fb;
            b = lo + ratio * (hi - lo);
            fb = nll(b);
        }
    }
    ((lo + hi) / 2.0).exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_rows_sum_to_one_and_survive_huge_logits() {
        let p = softmax_rows(&[1000.0, 0.0, -1000.0, 1.0, 2.0, 3.0], 3, 1.0);
        assert_eq!(&p[..3], &[1.0, 0.0, 0.0]);
        let s: f32 = p[3..].iter().sum();
        assert!((s - 1.0).abs() < 1e-6);
        assert!(p[3] < p[4] && p[4] < p[5]);
    }

    #[test]
    fn nll_matches_hand_computation() {
        // log(e^0 + e^ln3) - ln3 = ln4 - ln3.
        let nll = softmax_nll(&[0.0, 3f32.ln()], &[0, 1], 2, 1.0);
        assert!((nll - (4f64.ln() - 3f64.ln())).abs() < 1e-6, "{nll}");
    }

    #[test]
    fn temperature_fit_undoes_overconfidence() {
        // Logits of a calibrated model (T = 1) multiplied by 3: the fit must find T close to 3.
        let mut logits = Vec::new();
        let mut targets = Vec::new();
        let mut state = 1u64;
        let mut uniform = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 11) as f64 / (1u64 << 53) as f64) as f32
        };
        for _ in 0..4000 {
            let z = [uniform() * 4.0, uniform() * 4.0, uniform() * 4.0];
            let p = softmax_rows(&z, 3, 1.0);
            let u = uniform();
            let class = if u < p[0] {
                0
            } else if u < p[0] + p[1] {
                1
            } else {
                2
            };
            logits.extend(z.iter().map(|v| v * 3.0));
            targets.extend((0..3).map(|c| u8::from(c == class)));
        }
        let t = fit_softmax_temperature(&logits, &targets, 3);
        assert!((t - 3.0).abs() < 0.3, "{t}");
    }
}
