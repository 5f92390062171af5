//! The metrics of each epoch's validation, on uncalibrated clip-level probabilities.

use sonotag_metrics::{ScoreMatrix, TargetMatrix, calibration_error, ranking_metrics};

use crate::config::TrainConfig;
use crate::error::Result;
use crate::infer::StoredSegments;
use crate::link;

/// What an epoch's validation measured.
pub(super) struct Validation {
    pub loss: f64,
    pub macro_auc: Option<f64>,
    pub map: Option<f64>,
    pub ece: f64,
}

/// The validation metrics of finite clip `logits` `[val.n_clips][n_labels]`.
pub(super) fn metrics(
    logits: &[f32],
    val: &StoredSegments,
    n_labels: usize,
    config: &TrainConfig,
) -> Result<Validation> {
    let targets: Vec<u8> = val.targets.iter().map(|&t| u8::from(t >= 0.5)).collect();
    let probs = link::raw(config.task, logits, n_labels)?;
    let scores = ScoreMatrix::new(&probs, val.n_clips, n_labels)?;
    let target_matrix = TargetMatrix::new(&targets, val.n_clips, n_labels)?;
    let ranking = ranking_metrics(&scores, &target_matrix)?;
    Ok(Validation {
        loss: link::nll(config.task, logits, &targets, n_labels)?,
        macro_auc: ranking.roc_auc.macro_average,
        map: ranking.average_precision.macro_average,
        ece: calibration_error(&probs, &targets, 15)?.ece,
    })
}
