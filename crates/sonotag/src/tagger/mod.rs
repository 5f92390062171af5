//! The [`Tagger`]: a trained network with everything needed to turn audio into calibrated
//! per-label probabilities. [`TaggerBuilder`] trains one ([`builder`]); [`predict`] and
//! [`evaluate`] use one.

mod builder;
mod evaluate;
mod predict;
mod stream;

use std::path::Path;

use burn::tensor::Device;
use sonotag_audio::Normalizer;
use sonotag_metrics::Calibrator;
use sonotag_nn::fused::FusedCnn;
use sonotag_nn::{Cnn, CnnConfig};

pub use builder::TaggerBuilder;
pub use evaluate::Evaluation;
pub use predict::{Prediction, PredictionRow, SegmentPrediction};
pub use stream::{PredictionStream, StreamEnd};

use crate::config::{ClipPooling, TaskKind};
use crate::error::{Error, Result};
use crate::infer::{self, InputShape};
use crate::limits::Limits;
use crate::persist::{self, ModelCard};
use crate::prep::{FeatureConfig, FeaturePipeline};
use crate::train::TrainSummary;

/// A trained audio tagger.
#[derive(Debug, Clone)]
pub struct Tagger {
    pub(crate) labels: Vec<String>,
    pub(crate) pipeline: FeaturePipeline,
    pub(crate) normalizer: Normalizer,
    pub(crate) model_config: CnnConfig,
    pub(crate) model: Cnn,
    /// The model with batch norm folded, on the CPU NHWC engine: what predictions run on.
    pub(crate) fused: Option<FusedCnn>,
    pub(crate) task: TaskKind,
    pub(crate) calibrator: Calibrator,
    pub(crate) thresholds: Vec<f32>,
    pub(crate) clip_pooling: ClipPooling,
    pub(crate) summary: Option<TrainSummary>,
}

impl Tagger {
    /// A builder with defaults for everything.
    pub fn builder() -> TaggerBuilder {
        TaggerBuilder::default()
    }

    /// The labels, in output order.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// Multilabel (independent sigmoids) or multiclass (softmax).
    pub fn task(&self) -> TaskKind {
        self.task
    }

    /// The feature settings (mel and segmentation).
    pub fn features(&self) -> &FeatureConfig {
        self.pipeline.config()
    }

    /// The calibrator applied to the logits.
    pub fn calibrator(&self) -> &Calibrator {
        &self.calibrator
    }

    /// The per-label decision thresholds.
    pub fn thresholds(&self) -> &[f32] {
        &self.thresholds
    }

    /// Replaces the decision thresholds (one per label, each in [0, 1]).
    pub fn set_thresholds(&mut self, thresholds: Vec<f32>) -> Result<()> {
        if thresholds.len() != self.labels.len() {
            return Err(Error::config(
                "thresholds",
                format!(
                    "has {} values for {} labels",
                    thresholds.len(),
                    self.labels.len()
                ),
            ));
        }
        if let Some(t) = thresholds.iter().find(|t| !(0.0..=1.0).contains(*t)) {
            return Err(Error::config(
                "thresholds",
                format!("{t} is outside [0, 1]"),
            ));
        }
        self.thresholds = thresholds;
        Ok(())
    }

    /// The training summary, if this tagger was trained by sonotag.
    pub fn summary(&self) -> Option<&TrainSummary> {
        self.summary.as_ref()
    }

    /// Why prediction runs the convolution blocks on burn's kernels instead of sonotag's CPU
    /// inference engine (a GPU device, a GELU block, ...), or `None` when the engine runs them.
    /// The results agree up to float rounding; the engine is faster.
    pub fn engine_fallback(&self) -> Option<sonotag_nn::EngineFallback> {
        match &self.fused {
            Some(fused) => fused.fallback().cloned(),
            None => Some(sonotag_nn::EngineFallback::NotFoldable),
        }
    }

    /// The network.
    pub fn model(&self) -> &Cnn {
        &self.model
    }

    /// Saves the tagger as a self-contained model directory.
    ///
    /// The directory holds `sonotag.json` (format version, labels, task, feature settings,
    /// normaliser, network config, calibrator, thresholds, training summary) and one weights
    /// file, `weights-<hash>.bpk` (burnpack), which `sonotag.json` names with its SHA-256 and
    /// size.
    ///
    /// Saving is crash-safe: the new weights are written under a new name first, then
    /// `sonotag.json` is replaced atomically, and only then are unreferenced weights removed.
    /// A process killed at any moment leaves a directory whose `sonotag.json` points at
    /// complete weights: the old model or the new one, never a mix.
    pub fn save(&self, dir: impl AsRef<Path>) -> Result<()> {
        let card = ModelCard {
            format_version: persist::FORMAT_VERSION,
            sonotag_version: env!("CARGO_PKG_VERSION").to_string(),
            task: self.task,
            labels: self.labels.clone(),
            features: self.pipeline.config().clone(),
            normalizer: self.normalizer.clone(),
            model: self.model_config.clone(),
            calibrator: self.calibrator.clone(),
            thresholds: self.thresholds.clone(),
            clip_pooling: self.clip_pooling,
            weights: persist::WeightsRef::default(),
            training: self.summary.clone(),
        };
        persist::save(dir.as_ref(), card, &self.model)
    }

    /// Loads a model directory (see [`Self::save`]) onto the default device of this build.
    pub fn load(dir: impl AsRef<Path>) -> Result<Self> {
        Self::load_on(dir, &crate::backend::default_device())
    }

    /// Loads a model directory onto `device` (any backend compiled in: train on a GPU, serve on
    /// a CPU). A missing, damaged or inconsistent directory is an [`Error::Model`] naming the
    /// file and the [`ModelFault`](crate::ModelFault).
    pub fn load_on(dir: impl AsRef<Path>, device: &Device) -> Result<Self> {
        Self::load_with(dir, device, &Limits::default())
    }

    /// Like [`Self::load_on`], holding the model directory to `limits` instead of the defaults
    /// (for a network or a label set larger than the defaults admit). A card whose numbers
    /// exceed them is an [`Error::Model`] with [`ModelFault::OverLimit`](crate::ModelFault),
    /// refused before anything is sized by them.
    pub fn load_with(dir: impl AsRef<Path>, device: &Device, limits: &Limits) -> Result<Self> {
        let persist::Loaded {
            card,
            pipeline,
            model,
        } = persist::load(dir.as_ref(), device, limits)?;
        Ok(Self {
            pipeline,
            labels: card.labels,
            normalizer: card.normalizer,
            model_config: card.model,
            fused: infer::fuse(&model),
            model,
            task: card.task,
            calibrator: card.calibrator,
            thresholds: card.thresholds,
            clip_pooling: card.clip_pooling,
            summary: card.training,
        })
    }

    fn input_shape(&self) -> InputShape {
        InputShape {
            n_mels: self.pipeline.n_mels(),
            n_frames: self.pipeline.n_frames(),
        }
    }

    /// Scores segments with the network (through its folded twin when there is one).
    fn scorer(&self) -> infer::Scorer<'_> {
        infer::Scorer::new(&self.model, self.fused.as_ref(), self.input_shape())
    }

    /// Calibrated probabilities of row-major `logits` with one column per label.
    fn calibrated(&self, logits: &[f32]) -> Result<Vec<f32>> {
        crate::link::calibrated(self.task, &self.calibrator, logits, self.labels.len())
    }
}
