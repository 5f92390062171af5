//! What training reports while it runs ([`TrainEvent`]) and the metrics of each epoch
//! ([`EpochMetrics`], also kept in the model's training history).

use serde::{Deserialize, Serialize};

/// Metrics of one epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EpochMetrics {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training loss over the epoch's batches.
    pub train_loss: f64,
    /// Validation loss (mean BCE of clip-level logits).
    pub val_loss: f64,
    /// Validation macro ROC-AUC (labels with both classes); `None` if no label qualifies.
    pub val_macro_roc_auc: Option<f64>,
    /// Validation mean average precision; `None` if no label has a positive.
    pub val_map: Option<f64>,
    /// Validation ECE (15 bins, uncalibrated).
    pub val_ece: f64,
    /// Learning rate at the end of the epoch.
    pub learning_rate: f64,
    /// Wall time of the epoch (training and validation) in seconds.
    pub seconds: f64,
}

/// What the training loop reports while it runs.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum TrainEvent {
    /// The features of one more clip are done (decoded, resampled, log-mel): sent after each
    /// clip, training clips first, then validation clips, before [`TrainEvent::Start`]. Sent
    /// from whichever thread finished the clip, one event at a time, with counts that only
    /// grow.
    Features {
        /// Clips done so far (training and validation).
        files_done: usize,
        /// Clips in the run (training and validation).
        files_total: usize,
        /// Seconds of audio in the clips done so far.
        audio_seconds_done: f64,
    },
    /// Training is about to start.
    Start {
        /// Training segments.
        train_segments: usize,
        /// Validation clips.
        val_clips: usize,
        /// Batches per epoch.
        batches_per_epoch: usize,
        /// The device, described.
        device: String,
    },
    /// An epoch begins.
    EpochStart {
        /// 1-based epoch.
        epoch: usize,
        /// Total epochs planned.
        epochs: usize,
    },
    /// A batch finished.
    Batch {
        /// 1-based epoch.
        epoch: usize,
        /// 1-based batch.
        batch: usize,
        /// Batches in this epoch.
        batches: usize,
        /// The batch's loss.
        loss: f64,
    },
    /// An epoch finished and was validated.
    EpochEnd(EpochMetrics),
    /// The CPU engine could not run the convolution blocks (a GPU device, a GELU block, a
    /// frozen layer, ...): burn's kernels run them instead, with the same results up to float
    /// rounding but slower. Sent once per run, at the first step it happens.
    EngineFallback(sonotag_nn::EngineFallback),
    /// The decoder skipped a corrupt packet of a training or validation file (its frames are
    /// left out; docs/reliability.md has the policy). Sent from the feature workers, like
    /// [`TrainEvent::Features`].
    DecodeWarning {
        /// The clip (its id and, for a manifest clip, the manifest and line).
        clip: String,
        /// Where in the recording, in seconds.
        time_s: f64,
        /// What the codec said.
        message: String,
    },
    /// Training stopped early: validation mAP did not improve for `patience` epochs.
    EarlyStop {
        /// The last epoch run.
        epoch: usize,
        /// The epoch whose weights are kept.
        best_epoch: usize,
    },
}
