//! ROC and precision-recall curve points for one label, laid out as scikit-learn returns them.

use serde::{Deserialize, Serialize};

use super::{Group, load_group};
use crate::error::{MetricsError, Result};
use crate::matrix::{ScoreMatrix, TargetMatrix, check_same_shape};
use crate::sort::key_f32;

/// Points of a ROC curve, highest threshold first (as `sklearn.metrics.roc_curve`).
///
/// The first point is `(0, 0)` at threshold `+inf`; point `k` is the rate of positives and
/// negatives scoring `>= thresholds[k]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RocCurve {
    /// False-positive rates, non-decreasing from 0 to 1.
    pub fpr: Vec<f64>,
    /// True-positive rates, non-decreasing from 0 to 1.
    pub tpr: Vec<f64>,
    /// Decision thresholds, decreasing; the first is `+inf`.
    pub thresholds: Vec<f32>,
}

/// Points of a precision-recall curve, lowest threshold first (as
/// `sklearn.metrics.precision_recall_curve`): `precision` and `recall` have one more entry than
/// `thresholds`, the final point being precision 1, recall 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrCurve {
    /// Precision at each threshold, then 1.
    pub precision: Vec<f64>,
    /// Recall at each threshold (decreasing), then 0. All 1 if there is no positive.
    pub recall: Vec<f64>,
    /// Distinct scores, increasing.
    pub thresholds: Vec<f32>,
}

/// Cumulative (threshold, TP, FP) at each distinct score, highest first.
fn cumulative(scores: &[f32], targets: &[u8]) -> Result<(Vec<f32>, Vec<u64>, Vec<u64>)> {
    let s = ScoreMatrix::new(scores, scores.len(), 1)?;
    let t = TargetMatrix::new(targets, targets.len(), 1)?;
    check_same_shape(&s, &t)?;
    let mut bufs = Vec::new();
    load_group(&s, &t, 0..1, &mut bufs, &mut Vec::new());
    let buf = &bufs[0];
    let (mut th, mut tps, mut fps) = (Vec::new(), Vec::new(), Vec::new());
    let (mut tp, mut fp) = (0u64, 0u64);
    for Group { key, pos, neg } in buf.groups() {
        tp += pos;
        fp += neg;
        th.push(key_f32(key));
        tps.push(tp);
        fps.push(fp);
    }
    Ok((th, tps, fps))
}

/// Indices kept by scikit-learn's `drop_intermediate` (points where either cumulative count
/// changes slope), always keeping the first and last.
fn keep_corners(a: &[u64], b: &[u64]) -> Vec<usize> {
    let n = a.len();
    if n <= 2 {
        return (0..n).collect();
    }
    let bends = |v: &[u64], i: usize| v[i + 1] + v[i - 1] != 2 * v[i];
    let mut keep = vec![0];
    keep.extend((1..n - 1).filter(|&i| bends(a, i) || bends(b, i)));
    keep.push(n - 1);
    keep
}

/// The ROC curve of one label.
///
/// `drop_intermediate` removes points on straight segments (scikit-learn's default `True`);
/// the area under the curve is the same either way. Fails if the targets are single-class,
/// where one of the rates is undefined.
///
/// ```
/// let c = sonotag_metrics::roc_curve(&[0.1, 0.4, 0.35, 0.8], &[0, 0, 1, 1], false).unwrap();
/// assert_eq!(c.fpr, vec![0.0, 0.0, 0.5, 0.5, 1.0]);
/// assert_eq!(c.tpr, vec![0.0, 0.5, 0.5, 1.0, 1.0]);
/// assert_eq!(c.thresholds[0], f32::INFINITY);
/// ```
pub fn roc_curve(scores: &[f32], targets: &[u8], drop_intermediate: bool) -> Result<RocCurve> {
    let (mut th, mut tps, mut fps) = cumulative(scores, targets)?;
    let (n_pos, n_neg) = (
        tps.last().copied().unwrap_or(0),
        fps.last().copied().unwrap_or(0),
    );
    if n_pos == 0 || n_neg == 0 {
        return Err(MetricsError::EmptyInput(format!(
            "ROC curve needs both classes; got {n_pos} positives and {n_neg} negatives"
        )));
    }
    if drop_intermediate {
        let keep = keep_corners(&fps, &tps);
        th = keep.iter().map(|&i| th[i]).collect();
        tps = keep.iter().map(|&i| tps[i]).collect();
        fps = keep.iter().map(|&i| fps[i]).collect();
    }
    let rate = |v: &[u64], total: u64| {
        std::iter::once(0.0)
            .chain(v.iter().map(|&x| x as f64 / total as f64))
            .collect()
    };
    Ok(RocCurve {
        fpr: rate(&fps, n_neg),
        tpr: rate(&tps, n_pos),
        thresholds: std::iter::once(f32::INFINITY).chain(th).collect(),
    })
}

/// The precision-recall curve of one label, as scikit-learn's `precision_recall_curve`
/// (no intermediate points dropped).
///
/// ```
/// let c = sonotag_metrics::precision_recall_curve(&[0.1, 0.4, 0.35, 0.8], &[0, 0, 1, 1]).unwrap();
/// assert_eq!(c.thresholds, vec![0.1, 0.35, 0.4, 0.8]);
/// assert_eq!(c.recall, vec![1.0, 1.0, 0.5, 0.5, 0.0]);
/// assert_eq!(c.precision[4], 1.0);
/// ```
pub fn precision_recall_curve(scores: &[f32], targets: &[u8]) -> Result<PrCurve> {
    let (th, tps, fps) = cumulative(scores, targets)?;
    if th.is_empty() {
        return Err(MetricsError::EmptyInput(
            "precision-recall curve of no samples".into(),
        ));
    }
    let n_pos = tps.last().copied().unwrap_or(0);
    let mut precision: Vec<f64> = tps
        .iter()
        .zip(&fps)
        .rev()
        .map(|(&tp, &fp)| tp as f64 / (tp + fp) as f64)
        .collect();
    let mut recall: Vec<f64> = tps
        .iter()
        .rev()
        .map(|&tp| {
            if n_pos == 0 {
                1.0
            } else {
                tp as f64 / n_pos as f64
            }
        })
        .collect();
    precision.push(1.0);
    recall.push(0.0);
    Ok(PrCurve {
        precision,
        recall,
        thresholds: th.into_iter().rev().collect(),
    })
}
