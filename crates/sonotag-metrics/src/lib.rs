//! Losses for training (generic over burn backends) and the evaluation and calibration toolkit
//! (plain arrays): ROC-AUC, average precision, F1, ECE, temperature and Platt scaling.
//!
//! - [`loss`]: BCE-with-logits (soft targets, `pos_weight`, label smoothing), focal loss and
//!   softmax cross-entropy, stable for logits of any magnitude.
//! - Ranking ([`roc_auc`], [`average_precision`], [`ranking_metrics`], curves): scikit-learn's
//!   definitions, one radix sort per label, labels in parallel; undefined labels are `None`
//!   and left out of averages.
//! - Thresholded predictions ([`threshold_metrics`], [`best_f1_thresholds`]).
//! - Streaming accumulation, exact or binned with a stated error bound ([`StreamingRanking`]).
//! - Calibration ([`calibration_error`], [`reliability_curve`], [`brier_score`], temperature and
//!   Platt scaling returning a serialisable [`Calibrator`], [`saturation_report`]).
//! - The `sonotag metrics` report ([`metrics_report`], [`metrics_report_from_csv`]).
//!
//! Score and target matrices are `[n_samples, n_labels]`, row-major, wrapped in validated views
//! ([`ScoreMatrix`], [`TargetMatrix`]).
//!
//! ```
//! use sonotag_metrics::{ScoreMatrix, TargetMatrix, ranking_metrics};
//! let scores = [0.9, 0.1, 0.2, 0.8, 0.6, 0.3];
//! let targets = [1, 0, 0, 1, 1, 0];
//! let m = ranking_metrics(
//!     &ScoreMatrix::new(&scores, 3, 2)?,
//!     &TargetMatrix::new(&targets, 3, 2)?,
//! )?;
//! assert_eq!(m.roc_auc.macro_average, Some(1.0));
//! # Ok::<(), sonotag_metrics::MetricsError>(())
//! ```
#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod calibration;
mod error;
pub mod loss;
mod math;
mod matrix;
pub mod ranking;
pub mod report;
mod sort;
pub mod streaming;
pub mod threshold;

pub use calibration::{
    Binning, CalibrationError, Calibrator, FitStatus, MAX_BINS, PlattFit, PlattOptions,
    ReliabilityBin, SaturationReport, TemperatureFit, TemperatureOptions, brier_score,
    calibration_error, fit_platt, fit_platt_per_label, fit_temperature, fit_temperature_per_label,
    negative_log_likelihood, nll_from_logits, reliability_curve, saturation_report,
};
pub use error::{MetricsError, Result};
pub use matrix::{ScoreMatrix, TargetMatrix, targets_from_f32};
pub use ranking::{
    AveragePrecision, LabelRanking, PrCurve, RankingMetrics, RocAuc, RocCurve, average_precision,
    precision_recall_curve, ranking_metrics, ranking_per_label, roc_auc, roc_curve,
};
pub use report::{MetricsReport, ReportOptions, metrics_report, metrics_report_from_csv};
pub use streaming::{
    BinnedConfig, ErrorBound, MAX_HISTOGRAM_BINS, MAX_HISTOGRAM_COUNTERS, StreamingMetrics,
    StreamingRanking,
};
pub use threshold::{
    Averaged, ThresholdChoice, ThresholdMetrics, best_f1_thresholds, threshold_metrics,
};
