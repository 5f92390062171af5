//! After the loop: calibration and decision thresholds fitted on the validation clips of the
//! kept model, and its validation metrics before and after calibration.

use sonotag_metrics::{
    Calibrator, PlattOptions, ScoreMatrix, TargetMatrix, TemperatureOptions, best_f1_thresholds,
};
use sonotag_nn::Cnn;
use sonotag_nn::fused::FusedCnn;

use super::plan::Plan;
use crate::config::{CalibrationMethod, TaskKind, TrainConfig};
use crate::error::Result;
use crate::infer::{Scorer, StoredSegments};
use crate::link;
use crate::tagger::Evaluation;

/// What is fitted on the validation clips.
pub(super) struct Calibration {
    pub calibrator: Calibrator,
    /// One decision threshold per label.
    pub thresholds: Vec<f32>,
    pub validation: Evaluation,
}

/// Fits the calibrator and the thresholds of `plan` on the validation clips `val` of `model`
/// (scored through `fused`, its folded twin, when given).
pub(super) fn calibrate(
    plan: &Plan,
    val: &StoredSegments,
    model: &Cnn,
    fused: Option<&FusedCnn>,
) -> Result<Calibration> {
    let config = &plan.config;
    let n_labels = plan.n_labels();
    let logits =
        Scorer::new(model, fused, plan.shape).stored_clip_logits(val, config.clip_pooling)?;
    let targets: Vec<u8> = val.targets.iter().map(|&t| u8::from(t >= 0.5)).collect();
    let target_matrix = TargetMatrix::new(&targets, val.n_clips, n_labels)?;
    let calibrator = fit_calibrator(config, &logits, &targets, &target_matrix)?;
    let calibrated = link::calibrated(config.task, &calibrator, &logits, n_labels)?;
    let thresholds = if config.tune_thresholds {
        let probs = ScoreMatrix::new(&calibrated, val.n_clips, n_labels)?;
        best_f1_thresholds(&probs, &target_matrix)?
            .iter()
            .map(|c| c.threshold.unwrap_or(0.5))
            .collect()
    } else {
        vec![0.5; n_labels]
    };
    let raw = link::raw(config.task, &logits, n_labels)?;
    Ok(Calibration {
        calibrator,
        thresholds,
        validation: Evaluation::of(&raw, &calibrated, &targets, &plan.labels)?,
    })
}

/// The calibrator of `config.calibration`, fitted on clip `logits` and their 0/1 `targets`.
fn fit_calibrator(
    config: &TrainConfig,
    logits: &[f32],
    targets: &[u8],
    target_matrix: &TargetMatrix<'_>,
) -> Result<Calibrator> {
    let n_labels = target_matrix.n_labels();
    let logit_matrix = ScoreMatrix::new(logits, target_matrix.n_samples(), n_labels)?;
    Ok(match config.calibration {
        CalibrationMethod::None => Calibrator::Identity,
        CalibrationMethod::Temperature if config.task == TaskKind::MultiClass => {
            Calibrator::Temperature {
                temperature: link::fit_softmax_temperature(logits, targets, n_labels),
            }
        }
        CalibrationMethod::Temperature => {
            Calibrator::fit_temperature(
                &logit_matrix,
                target_matrix,
                &TemperatureOptions::default(),
            )?
            .0
        }
        CalibrationMethod::Platt => {
            Calibrator::fit_platt(&logit_matrix, target_matrix, &PlattOptions::default())?.0
        }
    })
}
