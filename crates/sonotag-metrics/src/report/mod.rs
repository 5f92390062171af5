//! The `sonotag metrics` report: ranking, threshold and calibration metrics of a score matrix,
//! as one JSON object, from CSV files or from arrays.

mod csv_input;

pub use csv_input::{LabelledMatrix, read_scores_csv, read_targets_csv};

use std::path::Path;

use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

use crate::calibration::{brier_score, calibration_error, check_bins};
use crate::error::{MetricsError, Result};
use crate::math::sigmoid_f32;
use crate::matrix::{ScoreMatrix, TargetMatrix, check_same_shape};
use crate::ranking::ranking_metrics;
use crate::threshold::threshold_metrics;

/// Options of the report (the `sonotag metrics` flags).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReportOptions {
    /// Predict positive when `probability >= threshold` (F1, Hamming loss); default 0.5.
    pub threshold: f32,
    /// Number of equal-width bins of ECE/MCE; default 15, at most
    /// [`MAX_BINS`](crate::calibration::MAX_BINS).
    pub bins: usize,
    /// The scores are logits: apply a sigmoid (ranking metrics use the logits themselves, which
    /// avoids ties created by rounding large logits to 0 or 1). Default false: scores must be
    /// probabilities in [0, 1].
    pub logits: bool,
}

impl Default for ReportOptions {
    fn default() -> Self {
        Self {
            threshold: 0.5,
            bins: 15,
            logits: false,
        }
    }
}

/// One value per label, serialised as a JSON object whose keys keep the label order.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelValues(pub Vec<(String, Option<f64>)>);

impl Serialize for LabelValues {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (label, value) in &self.0 {
            map.serialize_entry(label, value)?;
        }
        map.end()
    }
}

impl LabelValues {
    fn new(labels: &[String], values: impl IntoIterator<Item = Option<f64>>) -> Self {
        Self(labels.iter().cloned().zip(values).collect())
    }

    /// The value of `label`, if the label exists (`Some(None)` where the value is undefined).
    pub fn get(&self, label: &str) -> Option<Option<f64>> {
        self.0.iter().find(|(l, _)| l == label).map(|(_, v)| *v)
    }
}

/// ROC-AUC section of the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RocAucSection {
    /// Per label (`null` for single-class labels).
    pub per_label: LabelValues,
    /// Mean over defined labels.
    #[serde(rename = "macro")]
    pub macro_average: Option<f64>,
    /// All pairs pooled.
    pub micro: Option<f64>,
    /// Mean over defined labels weighted by positives.
    pub weighted: Option<f64>,
    /// Labels left out of the averages.
    pub labels_left_out: usize,
}

/// Average-precision section of the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApSection {
    /// Per label (`null` for labels without positives).
    pub per_label: LabelValues,
    /// mAP over defined labels.
    #[serde(rename = "macro")]
    pub macro_average: Option<f64>,
    /// All pairs pooled.
    pub micro: Option<f64>,
    /// Labels left out of the macro average.
    pub labels_left_out: usize,
}

/// F1 section of the report (0 where undefined, as scikit-learn's `zero_division=0`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct F1Section {
    /// Per label.
    pub per_label: LabelValues,
    /// Unweighted mean over all labels.
    #[serde(rename = "macro")]
    pub macro_average: f64,
    /// From counts pooled over labels.
    pub micro: f64,
}

/// The report `sonotag metrics` prints.
///
/// Serialises to exactly
/// `{"roc_auc": {"per_label": {..}, "macro", "micro", "weighted", "labels_left_out"},
/// "average_precision": {"per_label": {..}, "macro", "micro", "labels_left_out"},
/// "f1": {"per_label": {..}, "macro", "micro"}, "hamming_loss", "ece", "mce", "brier"}`,
/// with undefined values as `null` and per-label keys in header order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricsReport {
    /// ROC-AUC.
    pub roc_auc: RocAucSection,
    /// Average precision.
    pub average_precision: ApSection,
    /// F1 at the threshold.
    pub f1: F1Section,
    /// Fraction of wrong (sample, label) predictions at the threshold.
    pub hamming_loss: f64,
    /// Expected calibration error over all pairs (torchmetrics binning).
    pub ece: Option<f64>,
    /// Maximum calibration error over all pairs.
    pub mce: Option<f64>,
    /// Brier score over all pairs.
    pub brier: Option<f64>,
}

/// Builds the report from in-memory scores (probabilities, or logits with `options.logits`),
/// 0/1 targets and label names (one per column).
///
/// ```
/// use sonotag_metrics::{ReportOptions, ScoreMatrix, TargetMatrix, metrics_report};
/// let s = ScoreMatrix::new(&[0.9, 0.2, 0.3, 0.4, 0.8, 0.7], 3, 2).unwrap();
/// let t = TargetMatrix::new(&[1, 0, 0, 0, 1, 0], 3, 2).unwrap();
/// let labels = vec!["dog".to_string(), "cat".to_string()];
/// let r = metrics_report(&s, &t, &labels, &ReportOptions::default()).unwrap();
/// let json = serde_json::to_string(&r).unwrap();
/// assert!(json.starts_with(r#"{"roc_auc":{"per_label":{"dog":1.0,"cat":null},"macro":1.0,"#));
/// ```
pub fn metrics_report(
    scores: &ScoreMatrix<'_>,
    targets: &TargetMatrix<'_>,
    labels: &[String],
    options: &ReportOptions,
) -> Result<MetricsReport> {
    check_same_shape(scores, targets)?;
    if labels.len() != scores.n_labels() {
        return Err(MetricsError::ShapeMismatch {
            what: "label names vs score columns".into(),
            expected: format!("{} names", scores.n_labels()),
            got: format!("{}", labels.len()),
        });
    }
    if scores.n_samples() == 0 || scores.n_labels() == 0 {
        return Err(MetricsError::EmptyInput(format!(
            "report of a {} x {} matrix",
            scores.n_samples(),
            scores.n_labels()
        )));
    }
    check_bins("bins", options.bins)?;
    let converted;
    let probs: ScoreMatrix<'_> = if options.logits {
        converted = scores
            .as_slice()
            .iter()
            .map(|&z| sigmoid_f32(z))
            .collect::<Vec<f32>>();
        ScoreMatrix::new(&converted, scores.n_samples(), scores.n_labels())?
    } else {
        ScoreMatrix::probabilities(scores.as_slice(), scores.n_samples(), scores.n_labels())?
    };
    let ranking = ranking_metrics(scores, targets)?;
    let thresholded = threshold_metrics(&probs, targets, options.threshold, 0.0)?;
    let calib = calibration_error(probs.as_slice(), targets.as_slice(), options.bins)?;
    let brier = brier_score(probs.as_slice(), targets.as_slice())?;
    let auc = ranking.roc_auc;
    let ap = ranking.average_precision;
    Ok(MetricsReport {
        roc_auc: RocAucSection {
            per_label: LabelValues::new(labels, auc.per_label),
            macro_average: auc.macro_average,
            micro: auc.micro_average,
            weighted: auc.weighted_average,
            labels_left_out: auc.labels_left_out,
        },
        average_precision: ApSection {
            per_label: LabelValues::new(labels, ap.per_label),
            macro_average: ap.macro_average,
            micro: ap.micro_average,
            labels_left_out: ap.labels_left_out,
        },
        f1: F1Section {
            per_label: LabelValues::new(labels, thresholded.f1.per_label.iter().map(|&v| Some(v))),
            macro_average: thresholded.f1.macro_average,
            micro: thresholded.f1.micro_average,
        },
        hamming_loss: thresholded.hamming_loss,
        ece: Some(calib.ece),
        mce: Some(calib.mce),
        brier: Some(brier),
    })
}

/// Builds the report from two CSV files (see [`read_scores_csv`] for the format): same labels in
/// the same order, same number of rows. `options.bins` is checked (1 to
/// [`MAX_BINS`](crate::calibration::MAX_BINS)) before either file is read.
pub fn metrics_report_from_csv(
    scores_path: &Path,
    targets_path: &Path,
    options: &ReportOptions,
) -> Result<MetricsReport> {
    check_bins("bins", options.bins)?;
    let scores = read_scores_csv(scores_path, options.logits)?;
    let targets = read_targets_csv(targets_path)?;
    if scores.labels != targets.labels {
        let column = scores
            .labels
            .iter()
            .zip(&targets.labels)
            .position(|(a, b)| a != b)
            .unwrap_or(scores.labels.len().min(targets.labels.len()));
        return Err(MetricsError::HeaderMismatch {
            scores_path: scores_path.to_path_buf(),
            targets_path: targets_path.to_path_buf(),
            scores_labels: scores.labels.len(),
            targets_labels: targets.labels.len(),
            column: column + 1,
            scores_label: scores.labels.get(column).cloned().unwrap_or_default(),
            targets_label: targets.labels.get(column).cloned().unwrap_or_default(),
        });
    }
    if scores.n_rows != targets.n_rows {
        return Err(MetricsError::RowCountMismatch {
            scores_path: scores_path.to_path_buf(),
            targets_path: targets_path.to_path_buf(),
            scores_rows: scores.n_rows,
            targets_rows: targets.n_rows,
        });
    }
    let l = scores.labels.len();
    let target_bytes: Vec<u8> = targets.values.iter().map(|&v| u8::from(v == 1.0)).collect();
    let s = ScoreMatrix::new(&scores.values, scores.n_rows, l)?;
    let t = TargetMatrix::new(&target_bytes, targets.n_rows, l)?;
    metrics_report(&s, &t, &scores.labels, options)
}
