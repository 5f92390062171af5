//! Metrics of thresholded predictions (`score >= threshold`): precision, recall and F1 per label
//! and averaged, Hamming loss, subset accuracy, and a per-label F1-maximising threshold search.

use serde::{Deserialize, Serialize};

use crate::error::{Result, invalid};
use crate::matrix::{ScoreMatrix, TargetMatrix, check_same_shape};
use crate::ranking::map_labels;
use crate::sort::key_f32;

/// One metric per label and its four averages, as scikit-learn's `average=None/'macro'/
/// 'micro'/'samples'`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Averaged {
    /// Value of each label.
    pub per_label: Vec<f64>,
    /// Unweighted mean over labels (labels whose value falls back to `zero_division` included).
    #[serde(rename = "macro")]
    pub macro_average: f64,
    /// Computed from the counts summed over labels.
    #[serde(rename = "micro")]
    pub micro_average: f64,
    /// Computed per sample over its labels, then averaged over samples.
    #[serde(rename = "samples")]
    pub samples_average: f64,
}

/// Precision, recall, F1 and the exact-match metrics at one threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThresholdMetrics {
    /// The threshold used: a sample is predicted positive when `score >= threshold`.
    pub threshold: f32,
    /// `TP / (TP + FP)`.
    pub precision: Averaged,
    /// `TP / (TP + FN)`.
    pub recall: Averaged,
    /// `2 TP / (2 TP + FP + FN)`.
    pub f1: Averaged,
    /// Fraction of (sample, label) entries predicted wrongly.
    pub hamming_loss: f64,
    /// Fraction of samples whose every label is predicted right.
    pub subset_accuracy: f64,
}

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    tp: u64,
    predicted: u64,
    actual: u64,
}

impl Counts {
    fn add(&mut self, o: Counts) {
        self.tp += o.tp;
        self.predicted += o.predicted;
        self.actual += o.actual;
    }

    fn precision(&self, zd: f64) -> f64 {
        ratio(self.tp, self.predicted, zd)
    }

    fn recall(&self, zd: f64) -> f64 {
        ratio(self.tp, self.actual, zd)
    }

    fn f1(&self, zd: f64) -> f64 {
        ratio(2 * self.tp, self.predicted + self.actual, zd)
    }
}

fn ratio(num: u64, den: u64, zero_division: f64) -> f64 {
    if den == 0 {
        zero_division
    } else {
        num as f64 / den as f64
    }
}

/// Precision, recall, F1 (per label, macro, micro, samples), Hamming loss and subset accuracy
/// of the predictions `score >= threshold`.
///
/// `zero_division` is the value used where a ratio is 0/0 (scikit-learn's `zero_division`):
/// precision of a label never predicted, recall of a label never present, F1 of a label neither
/// present nor predicted. It must lie in [0, 1].
///
/// ```
/// use sonotag_metrics::{ScoreMatrix, TargetMatrix, threshold_metrics};
/// let s = ScoreMatrix::new(&[0.9, 0.1, 0.6, 0.2], 2, 2).unwrap();
/// let t = TargetMatrix::new(&[1, 0, 0, 0], 2, 2).unwrap();
/// let m = threshold_metrics(&s, &t, 0.5, 0.0).unwrap();
/// assert_eq!(m.f1.per_label, vec![2.0 / 3.0, 0.0]);
/// assert_eq!(m.hamming_loss, 0.25);
/// ```
pub fn threshold_metrics(
    scores: &ScoreMatrix<'_>,
    targets: &TargetMatrix<'_>,
    threshold: f32,
    zero_division: f64,
) -> Result<ThresholdMetrics> {
    check_same_shape(scores, targets)?;
    if threshold.is_nan() {
        return Err(invalid("threshold", "is NaN"));
    }
    if !(0.0..=1.0).contains(&zero_division) {
        return Err(invalid(
            "zero_division",
            format!("{zero_division} is not in [0, 1]"),
        ));
    }
    let (n, l) = (scores.n_samples(), scores.n_labels());
    if n == 0 || l == 0 {
        return Err(crate::MetricsError::EmptyInput(format!(
            "threshold metrics of a {n} x {l} matrix"
        )));
    }
    let zd = zero_division;
    let mut per_label = vec![Counts::default(); l];
    let mut samples = [0.0f64; 3];
    let (mut wrong, mut exact) = (0u64, 0u64);
    for (srow, trow) in scores
        .as_slice()
        .chunks_exact(l)
        .zip(targets.as_slice().chunks_exact(l))
    {
        let mut row = Counts::default();
        let mut row_wrong = 0u64;
        for ((c, &s), &t) in per_label.iter_mut().zip(srow).zip(trow) {
            let pred = u64::from(s >= threshold);
            let actual = u64::from(t);
            let one = Counts {
                tp: pred & actual,
                predicted: pred,
                actual,
            };
            c.add(one);
            row.add(one);
            row_wrong += pred ^ actual;
        }
        samples[0] += row.precision(zd);
        samples[1] += row.recall(zd);
        samples[2] += row.f1(zd);
        wrong += row_wrong;
        exact += u64::from(row_wrong == 0);
    }
    let mut total = Counts::default();
    per_label.iter().for_each(|&c| total.add(c));
    let averaged = |f: &dyn Fn(&Counts) -> f64, samples_sum: f64| {
        let per: Vec<f64> = per_label.iter().map(f).collect();
        Averaged {
            macro_average: per.iter().sum::<f64>() / l as f64,
            micro_average: f(&total),
            samples_average: samples_sum / n as f64,
            per_label: per,
        }
    };
    Ok(ThresholdMetrics {
        threshold,
        precision: averaged(&|c| c.precision(zd), samples[0]),
        recall: averaged(&|c| c.recall(zd), samples[1]),
        f1: averaged(&|c| c.f1(zd), samples[2]),
        hamming_loss: wrong as f64 / (n * l) as f64,
        subset_accuracy: exact as f64 / n as f64,
    })
}

/// The F1-maximising threshold of one label (see [`best_f1_thresholds`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ThresholdChoice {
    /// Predict positive when `score >= threshold`; `None` if the label has no positive (no
    /// threshold gives a non-zero F1, so predict never).
    pub threshold: Option<f32>,
    /// F1 on the data the threshold was chosen on.
    pub f1: f64,
    /// Precision at that threshold.
    pub precision: f64,
    /// Recall at that threshold.
    pub recall: f64,
}

/// For each label, the threshold among the observed scores that maximises F1 on these data.
///
/// The threshold returned is an observed score value `t`, and applying `score >= t` to the same
/// data reproduces the reported F1 exactly. When several thresholds tie, the highest wins
/// (fewest positive predictions). Choose thresholds on validation data, not on the test set.
///
/// ```
/// use sonotag_metrics::{ScoreMatrix, TargetMatrix, best_f1_thresholds};
/// let s = ScoreMatrix::new(&[0.2, 0.3, 0.25, 0.9], 4, 1).unwrap();
/// let t = TargetMatrix::new(&[0, 1, 1, 1], 4, 1).unwrap();
/// let best = best_f1_thresholds(&s, &t).unwrap();
/// assert_eq!(best[0].threshold, Some(0.25));
/// assert_eq!(best[0].f1, 1.0);
/// ```
pub fn best_f1_thresholds(
    scores: &ScoreMatrix<'_>,
    targets: &TargetMatrix<'_>,
) -> Result<Vec<ThresholdChoice>> {
    map_labels(scores, targets, |buf| {
        let n_pos = buf.pos().len() as u64;
        let mut best = ThresholdChoice {
            threshold: None,
            f1: 0.0,
            precision: 0.0,
            recall: 0.0,
        };
        if n_pos == 0 {
            return best;
        }
        let (mut tp, mut fp) = (0u64, 0u64);
        for g in buf.groups() {
            tp += g.pos;
            fp += g.neg;
            let f1 = 2.0 * tp as f64 / (n_pos + tp + fp) as f64;
            if f1 > best.f1 {
                best = ThresholdChoice {
                    threshold: Some(key_f32(g.key)),
                    f1,
                    precision: tp as f64 / (tp + fp) as f64,
                    recall: tp as f64 / n_pos as f64,
                };
            }
        }
        best
    })
}
