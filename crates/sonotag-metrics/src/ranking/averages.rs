//! ROC-AUC and average precision per label and averaged (macro, micro, weighted).

use serde::{Deserialize, Serialize};

use super::{LabelStats, per_label_stats, pooled_stats};
use crate::error::Result;
use crate::matrix::{ScoreMatrix, TargetMatrix};

/// ROC-AUC per label and averaged.
///
/// A label whose targets are all 0 or all 1 has no ROC curve: its entry is `None`, it is left
/// out of the macro and weighted averages, and `labels_left_out` counts it. (scikit-learn returns
/// NaN for such a label and therefore NaN for the macro average.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RocAuc {
    /// ROC-AUC of each label, `None` where undefined.
    pub per_label: Vec<Option<f64>>,
    /// Unweighted mean over the defined labels; `None` if no label is defined.
    #[serde(rename = "macro")]
    pub macro_average: Option<f64>,
    /// ROC-AUC of all (sample, label) pairs pooled; `None` if the pool is single-class.
    #[serde(rename = "micro")]
    pub micro_average: Option<f64>,
    /// Mean over the defined labels weighted by their number of positives.
    #[serde(rename = "weighted")]
    pub weighted_average: Option<f64>,
    /// How many labels were left out of the averages.
    pub labels_left_out: usize,
}

/// Average precision (scikit-learn's step definition) per label and averaged.
///
/// A label without a positive has no precision-recall curve: its entry is `None`, it is left
/// out of the macro average (the mAP), and `labels_left_out` counts it. (scikit-learn reports
/// 0.0 with a warning there.) A label with only positives has AP 1.0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AveragePrecision {
    /// AP of each label, `None` where the label has no positive.
    pub per_label: Vec<Option<f64>>,
    /// Mean AP over the defined labels (mAP); `None` if no label is defined.
    #[serde(rename = "macro")]
    pub macro_average: Option<f64>,
    /// AP of all (sample, label) pairs pooled; `None` if the pool has no positive.
    #[serde(rename = "micro")]
    pub micro_average: Option<f64>,
    /// How many labels were left out of the macro average.
    pub labels_left_out: usize,
}

/// ROC-AUC and AP computed together (one sort per label serves both).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankingMetrics {
    /// ROC-AUC per label and averaged.
    pub roc_auc: RocAuc,
    /// Average precision per label and averaged.
    pub average_precision: AveragePrecision,
}

/// Per-label ranking summary, as returned by [`ranking_per_label`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LabelRanking {
    /// Number of positive samples.
    pub n_positives: u64,
    /// Number of negative samples.
    pub n_negatives: u64,
    /// ROC-AUC, `None` without both classes.
    pub roc_auc: Option<f64>,
    /// Average precision, `None` without positives.
    pub average_precision: Option<f64>,
}

/// ROC-AUC and AP of each label only (no pooled "micro" average): the fast path, one radix sort
/// per label, labels in parallel.
///
/// ```
/// use sonotag_metrics::{ScoreMatrix, TargetMatrix, ranking_per_label};
/// let s = ScoreMatrix::new(&[0.1, 0.4, 0.35, 0.8], 4, 1).unwrap();
/// let t = TargetMatrix::new(&[0, 0, 1, 1], 4, 1).unwrap();
/// let r = ranking_per_label(&s, &t).unwrap();
/// assert_eq!(r[0].roc_auc, Some(0.75));
/// ```
pub fn ranking_per_label(
    scores: &ScoreMatrix<'_>,
    targets: &TargetMatrix<'_>,
) -> Result<Vec<LabelRanking>> {
    Ok(per_label_stats(scores, targets)?
        .into_iter()
        .map(|s| LabelRanking {
            n_positives: s.n_pos,
            n_negatives: s.n_neg,
            roc_auc: s.auc,
            average_precision: s.ap,
        })
        .collect())
}

/// ROC-AUC per label, macro, micro and weighted (see [`RocAuc`]).
///
/// ```
/// use sonotag_metrics::{ScoreMatrix, TargetMatrix, roc_auc};
/// let s = ScoreMatrix::new(&[0.9, 0.2, 0.3, 0.4, 0.8, 0.7], 3, 2).unwrap();
/// let t = TargetMatrix::new(&[1, 0, 0, 0, 1, 0], 3, 2).unwrap();
/// let auc = roc_auc(&s, &t).unwrap();
/// assert_eq!(auc.per_label, vec![Some(1.0), None]);
/// assert_eq!(auc.labels_left_out, 1);
/// ```
pub fn roc_auc(scores: &ScoreMatrix<'_>, targets: &TargetMatrix<'_>) -> Result<RocAuc> {
    Ok(ranking_metrics(scores, targets)?.roc_auc)
}

/// Average precision per label, macro (mAP) and micro (see [`AveragePrecision`]).
pub fn average_precision(
    scores: &ScoreMatrix<'_>,
    targets: &TargetMatrix<'_>,
) -> Result<AveragePrecision> {
    Ok(ranking_metrics(scores, targets)?.average_precision)
}

/// ROC-AUC and AP with all averages, one sort per label plus one pooled sort for "micro".
pub fn ranking_metrics(
    scores: &ScoreMatrix<'_>,
    targets: &TargetMatrix<'_>,
) -> Result<RankingMetrics> {
    let per_label = per_label_stats(scores, targets)?;
    let pooled = pooled_stats(scores, targets)?;
    Ok(RankingMetrics::from_stats(&per_label, &pooled))
}

impl RankingMetrics {
    pub(crate) fn from_stats(per_label: &[LabelStats], pooled: &LabelStats) -> Self {
        let aucs: Vec<Option<f64>> = per_label.iter().map(|s| s.auc).collect();
        let aps: Vec<Option<f64>> = per_label.iter().map(|s| s.ap).collect();
        let weights: Vec<f64> = per_label.iter().map(|s| s.n_pos as f64).collect();
        RankingMetrics {
            roc_auc: RocAuc {
                macro_average: mean_defined(&aucs),
                micro_average: pooled.auc,
                weighted_average: weighted_mean_defined(&aucs, &weights),
                labels_left_out: aucs.iter().filter(|a| a.is_none()).count(),
                per_label: aucs,
            },
            average_precision: AveragePrecision {
                macro_average: mean_defined(&aps),
                micro_average: pooled.ap,
                labels_left_out: aps.iter().filter(|a| a.is_none()).count(),
                per_label: aps,
            },
        }
    }
}

/// Mean of the `Some` values; `None` if there are none.
pub(crate) fn mean_defined(values: &[Option<f64>]) -> Option<f64> {
    let defined: Vec<f64> = values.iter().flatten().copied().collect();
    (!defined.is_empty()).then(|| defined.iter().sum::<f64>() / defined.len() as f64)
}

fn weighted_mean_defined(values: &[Option<f64>], weights: &[f64]) -> Option<f64> {
    let (num, den) = values
        .iter()
        .zip(weights)
        .filter_map(|(v, &w)| v.map(|v| (v * w, w)))
        .fold((0.0, 0.0), |(n, d), (vw, w)| (n + vw, d + w));
    (den > 0.0).then(|| num / den)
}
