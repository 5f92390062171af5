//! What training returns besides the tagger, and what of it is saved with the model.

use serde::{Deserialize, Serialize};

use super::EpochMetrics;
use crate::config::TrainConfig;
use crate::tagger::Evaluation;

/// A summary of training, stored with the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TrainSummary {
    /// The settings used.
    pub config: TrainConfig,
    /// Per-epoch metrics.
    pub history: Vec<EpochMetrics>,
    /// The epoch whose weights were kept (best validation mAP).
    pub best_epoch: usize,
    /// Training clips and segments.
    pub train_clips: usize,
    /// Training segments.
    pub train_segments: usize,
    /// Validation clips.
    pub val_clips: usize,
    /// Wall time of the whole `train` call in seconds.
    pub train_seconds: f64,
    /// The device trained on.
    pub device: String,
}

/// Everything training returns besides the tagger.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct TrainReport {
    /// History and settings (also saved with the model).
    pub summary: TrainSummary,
    /// Validation metrics of clip-level probabilities before and after calibration.
    pub validation: Evaluation,
    /// Why burn's kernels trained the convolution blocks instead of sonotag's CPU engine, or
    /// `None` when the engine ran every step (also sent as
    /// [`crate::TrainEvent::EngineFallback`]).
    pub engine_fallback: Option<sonotag_nn::EngineFallback>,
}
