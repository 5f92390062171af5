//! [`TaggerBuilder`]: the settings of a tagger and of the run that trains it.

use std::path::PathBuf;

use burn::tensor::Device;
use sonotag_audio::{MelConfig, SegmentConfig};

use super::Tagger;
use crate::config::{
    CalibrationMethod, ClipPooling, LossKind, ModelSpec, PosWeight, Schedule, TaskKind, TrainConfig,
};
use crate::dataset::Dataset;
use crate::error::Result;
use crate::limits::Limits;
use crate::train::{self, ModelSettings, RunOptions, TrainEvent, TrainReport};

/// Builds and trains a [`Tagger`]. Every setting has a default that works for audio tagging.
///
/// The settings come in two groups:
///
/// - **model settings** say what the tagger is: the labels, the features ([`Self::mel`],
///   [`Self::segment`]) and the [`TrainConfig`] (network, task, loss, optimiser, schedule,
///   augmentation, calibration, seed; [`Self::config`] sets them all at once). They are
///   stored with the model and pin a checkpoint.
/// - **run settings** say how this one training run goes: the device, the validation data, the
///   feature cache and memory limit, checkpointing and progress events. They are a
///   [`RunOptions`], set at once with [`Self::run`] or one by one; none is stored with the
///   model.
///
/// ```no_run
/// use sonotag::{Tagger, dataset::Dataset};
///
/// let data = Dataset::from_manifest("train.csv".as_ref())?;
/// let (tagger, report) = Tagger::builder().epochs(15).seed(7).train(&data)?;
/// println!("best epoch {}", report.summary.best_epoch);
/// tagger.save("model/")?;
/// # Ok::<(), sonotag::Error>(())
/// ```
#[derive(Debug, Default)]
pub struct TaggerBuilder {
    settings: ModelSettings,
    run: RunOptions,
}

/// A setter of one model setting: `name: type => path.of.the.field`.
macro_rules! setter {
    ($(#[$doc:meta])* $name:ident: $ty:ty => $($field:ident).+) => {
        $(#[$doc])*
        pub fn $name(mut self, value: $ty) -> Self {
            self.settings.$($field).+ = value;
            self
        }
    };
}

/// Model settings: stored with the model.
impl TaggerBuilder {
    /// The labels, in output order; by default the sorted set of labels in the training data.
    pub fn labels<S: Into<String>>(mut self, labels: impl IntoIterator<Item = S>) -> Self {
        self.settings.labels = Some(labels.into_iter().map(Into::into).collect());
        self
    }

    setter!(/// Log-mel settings.
        mel: MelConfig => features.mel);
    setter!(/// Segmentation settings (window, hop, minimum residual, padding).
        segment: SegmentConfig => features.segment);
    setter!(/// All training settings at once (replacing those set before).
        config: TrainConfig => config);
    setter!(/// The network: a preset or a custom [`CnnConfig`](crate::nn::CnnConfig).
        model: ModelSpec => config.model);
    setter!(/// Multilabel (default: independent sigmoids) or multiclass (softmax, one class per
        /// clip). The task fixes head, loss and probabilities together.
        task: TaskKind => config.task);
    setter!(/// Passes over the training data.
        epochs: usize => config.epochs);
    setter!(/// Segments per batch.
        batch_size: usize => config.batch_size);
    setter!(/// Peak learning rate of AdamW.
        learning_rate: f64 => config.learning_rate);
    setter!(/// Learning-rate schedule.
        schedule: Schedule => config.schedule);
    setter!(/// AdamW's decoupled weight decay.
        weight_decay: f32 => config.weight_decay);
    setter!(/// Gradient-norm clipping (`None` = off).
        grad_clip_norm: Option<f32> => config.grad_clip_norm);
    setter!(/// Share of clips held out (iterative stratification) when no validation set is given.
        validation_fraction: f64 => config.validation_fraction);
    setter!(/// Early stopping patience in epochs (`None` = run every epoch).
        early_stopping_patience: Option<usize> => config.early_stopping_patience);
    setter!(/// Positive-class weights of the loss.
        pos_weight: PosWeight => config.pos_weight);
    setter!(/// The loss: BCE with logits (default) or focal ([`LossKind::Focal`]).
        loss: LossKind => config.loss);
    setter!(/// Balance the labels when drawing training segments.
        balanced_sampling: bool => config.balanced_sampling);
    setter!(/// Label smoothing of the BCE targets.
        label_smoothing: f32 => config.label_smoothing);
    setter!(/// SpecAugment on training batches.
        spec_augment: bool => config.spec_augment);
    setter!(/// Mixup with Beta(alpha, alpha) (`None` = off).
        mixup: Option<f64> => config.mixup_alpha);
    setter!(/// Calibration fitted on the validation split.
        calibration: CalibrationMethod => config.calibration);
    setter!(/// Tune per-label thresholds for F1 on the validation split.
        tune_thresholds: bool => config.tune_thresholds);
    setter!(/// Clip-level pooling of segment scores.
        clip_pooling: ClipPooling => config.clip_pooling);
    setter!(/// Seed of initialisation, shuffling, splitting and augmentation.
        seed: u64 => config.seed);
}

/// Run settings: how this training run goes (see [`RunOptions`]).
impl TaggerBuilder {
    /// All run settings at once (replacing those set before).
    pub fn run(mut self, options: RunOptions) -> Self {
        self.run = options;
        self
    }

    /// Trains on `device` instead of [`crate::backend::default_device`]
    /// ([`RunOptions::device`]).
    pub fn device(mut self, device: Device) -> Self {
        self.run = self.run.device(device);
        self
    }

    /// Validates on this dataset instead of a split of the training data
    /// ([`RunOptions::validation`]).
    pub fn validation(mut self, data: Dataset) -> Self {
        self.run = self.run.validation(data);
        self
    }

    /// Caches clip features in `dir` ([`RunOptions::feature_cache`]).
    pub fn feature_cache(mut self, dir: impl Into<PathBuf>) -> Self {
        self.run = self.run.feature_cache(dir);
        self
    }

    /// Keeps at most about `bytes` of features in memory, the rest on disk
    /// ([`RunOptions::feature_memory_limit`]).
    pub fn feature_memory_limit(mut self, bytes: usize) -> Self {
        self.run = self.run.feature_memory_limit(bytes);
        self
    }

    /// Checkpoints into `dir` after every epoch ([`RunOptions::checkpoint_dir`]).
    pub fn checkpoint_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.run = self.run.checkpoint_dir(dir);
        self
    }

    /// Continues from the checkpoint in the checkpoint folder when there is one
    /// ([`RunOptions::resume`]).
    pub fn resume(mut self, resume: bool) -> Self {
        self.run = self.run.resume(resume);
        self
    }

    /// Holds settings, data and checkpoints to `limits` instead of the defaults
    /// ([`RunOptions::limits`]).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.run = self.run.limits(limits);
        self
    }

    /// Receives [`TrainEvent`]s while training runs ([`RunOptions::on_event`]).
    pub fn on_event(mut self, callback: impl FnMut(&TrainEvent) + Send + 'static) -> Self {
        self.run = self.run.on_event(callback);
        self
    }
}

impl TaggerBuilder {
    /// Trains a tagger on `data`.
    pub fn train(self, data: &Dataset) -> Result<(Tagger, TrainReport)> {
        train::train(self.settings, self.run, data)
    }
}
