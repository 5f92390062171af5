//! The [`Tagger`]: a trained network with everything needed to turn audio into calibrated
//! per-label probabilities, and the [`TaggerBuilder`] that trains one.

use std::path::Path;
use std::time::Instant;

use burn::tensor::Device;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sonotag_audio::{MelConfig, Normalizer, NormalizerFit, SegmentConfig};
use sonotag_metrics::{
    Calibrator, MetricsReport, PlattOptions, ReportOptions, ScoreMatrix, TargetMatrix,
    TemperatureOptions, best_f1_thresholds, metrics_report,
};
use sonotag_nn::fused::FusedCnn;
use sonotag_nn::{Cnn, CnnConfig};

use crate::cache::FeatureCache;
use crate::checkpoint::CheckpointSpec;
use crate::config::{
    CalibrationMethod, ClipPooling, LossKind, ModelSpec, PosWeight, Schedule, TaskKind, TrainConfig,
};
use crate::dataset::Dataset;
use crate::error::{Error, Result};
use crate::link;
use crate::persist::{self, ModelCard, WeightsRef};
use crate::prep::{ClipFeatures, FeatureConfig, FeaturePipeline};
use crate::split::SplitError;
use crate::store::SegmentWriter;
use crate::train::{self, EpochMetrics, InputShape, SegmentSet, TrainEvent, TrainSegments};

/// Training features held in memory before they spill to disk, by default.
const DEFAULT_FEATURE_MEMORY: usize = 2 << 30;
/// Clips whose features are computed together (in parallel) before joining the store.
const FEATURE_CHUNK: usize = 256;

/// A summary of training, stored with the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
pub struct TrainReport {
    /// History and settings (also saved with the model).
    pub summary: TrainSummary,
    /// Validation metrics of clip-level probabilities before and after calibration.
    pub validation: Evaluation,
}

/// Metrics of clip-level probabilities before and after calibration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    /// Uncalibrated probabilities (plain sigmoid of the logits).
    pub raw: MetricsReport,
    /// Calibrated probabilities.
    pub calibrated: MetricsReport,
}

impl Evaluation {
    /// A text table of each label's ROC-AUC and average precision on the calibrated
    /// probabilities, in the order of `labels`; `n/a` where a value is undefined (a label with
    /// one class in the data).
    ///
    /// ```text
    /// label     ROC-AUC        AP
    /// tone       0.9919    0.9858
    /// ```
    pub fn per_label_table(&self, labels: &[String]) -> String {
        let f = |x: Option<f64>| x.map_or_else(|| "n/a".to_string(), |v| format!("{v:.4}"));
        let width = labels
            .iter()
            .map(|l| l.chars().count())
            .max()
            .unwrap_or(0)
            .max(5);
        let mut out = format!("{:<width$} {:>9} {:>9}\n", "label", "ROC-AUC", "AP");
        for label in labels {
            let auc = self.calibrated.roc_auc.per_label.get(label).flatten();
            let ap = self
                .calibrated
                .average_precision
                .per_label
                .get(label)
                .flatten();
            out.push_str(&format!("{label:<width$} {:>9} {:>9}\n", f(auc), f(ap)));
        }
        out
    }
}

/// Probabilities of one segment of a clip.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SegmentPrediction {
    /// Start of the segment in seconds.
    pub start_s: f64,
    /// End of the segment in seconds.
    pub end_s: f64,
    /// Calibrated probability per label, in label order.
    pub probabilities: Vec<f32>,
}

/// One row of a prediction table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PredictionRow {
    /// Start of the segment in seconds.
    pub start_s: f64,
    /// End of the segment in seconds.
    pub end_s: f64,
    /// The label.
    pub label: String,
    /// Its calibrated probability.
    pub probability: f32,
}

/// Predictions for one clip: per segment and for the whole clip.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    /// Where the audio came from (a path, or `"samples"`).
    pub source: String,
    /// Multilabel or multiclass: how [`Self::detected`] decides.
    pub task: TaskKind,
    /// Label names, in the order of the probabilities.
    pub labels: Vec<String>,
    /// Calibrated clip-level probability per label.
    pub clip: Vec<f32>,
    /// Per-label decision thresholds of the model.
    pub thresholds: Vec<f32>,
    /// Per-segment probabilities, in time order.
    pub segments: Vec<SegmentPrediction>,
}

impl Prediction {
    /// Multilabel: the labels whose clip probability reaches their threshold, most probable
    /// first. Multiclass: the most probable class.
    pub fn detected(&self) -> Vec<(&str, f32)> {
        if self.task == TaskKind::MultiClass {
            return self.top_k(1);
        }
        let mut out: Vec<(&str, f32)> = self
            .labels
            .iter()
            .zip(&self.clip)
            .zip(&self.thresholds)
            .filter(|((_, p), t)| **p >= **t)
            .map(|((l, p), _)| (l.as_str(), *p))
            .collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1));
        out
    }

    /// The `k` most probable labels of the clip.
    pub fn top_k(&self, k: usize) -> Vec<(&str, f32)> {
        let mut all: Vec<(&str, f32)> = self
            .labels
            .iter()
            .map(String::as_str)
            .zip(self.clip.iter().copied())
            .collect();
        all.sort_by(|a, b| b.1.total_cmp(&a.1));
        all.truncate(k);
        all
    }

    /// Segment rows `(start, end, label, probability)` with probability at least `min_conf`.
    pub fn rows(&self, min_conf: f32) -> Vec<PredictionRow> {
        self.segments
            .iter()
            .flat_map(|s| {
                self.labels
                    .iter()
                    .zip(&s.probabilities)
                    .filter(move |(_, p)| **p >= min_conf)
                    .map(move |(label, p)| PredictionRow {
                        start_s: s.start_s,
                        end_s: s.end_s,
                        label: label.clone(),
                        probability: *p,
                    })
            })
            .collect()
    }
}

/// A trained audio tagger.
#[derive(Debug, Clone)]
pub struct Tagger {
    labels: Vec<String>,
    pipeline: FeaturePipeline,
    normalizer: Normalizer,
    model_config: CnnConfig,
    model: Cnn,
    /// The model with batch norm folded, on the CPU NHWC engine: what predictions run on.
    fused: Option<FusedCnn>,
    task: TaskKind,
    calibrator: Calibrator,
    thresholds: Vec<f32>,
    clip_pooling: ClipPooling,
    summary: Option<TrainSummary>,
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

    /// The network.
    pub fn model(&self) -> &Cnn {
        &self.model
    }

    /// Saves the tagger as a self-contained model directory (see [`crate::persist`]).
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
            weights: WeightsRef {
                file: String::new(),
                sha256: String::new(),
                bytes: 0,
            },
            training: self.summary.clone(),
        };
        persist::save(dir.as_ref(), card, &self.model)
    }

    /// Loads a model directory onto the default device of this build.
    pub fn load(dir: impl AsRef<Path>) -> Result<Self> {
        Self::load_on(dir, &crate::backend::default_device())
    }

    /// Loads a model directory onto `device` (any backend compiled in: train on a GPU, serve on
    /// a CPU).
    pub fn load_on(dir: impl AsRef<Path>, device: &Device) -> Result<Self> {
        let (card, model) = persist::load(dir.as_ref(), device)?;
        Ok(Self {
            pipeline: FeaturePipeline::new(card.features)?,
            labels: card.labels,
            normalizer: card.normalizer,
            model_config: card.model,
            fused: fuse(&model),
            model,
            task: card.task,
            calibrator: card.calibrator,
            thresholds: card.thresholds,
            clip_pooling: card.clip_pooling,
            summary: card.training,
        })
    }

    /// Predicts a WAV file.
    pub fn predict_file(&self, path: impl AsRef<Path>) -> Result<Prediction> {
        let path = path.as_ref();
        let audio = sonotag_audio::wav::decode_file(path)?;
        let rate = audio.sample_rate();
        let mut p = self.predict_samples(&audio.into_mono(), rate)?;
        p.source = path.display().to_string();
        Ok(p)
    }

    /// Predicts many WAV files; decoding and features run in parallel, the network in batches.
    /// Each file gets its own result, so one bad file does not hide the others.
    pub fn predict_files<P: AsRef<Path> + Sync>(&self, paths: &[P]) -> Vec<Result<Prediction>> {
        paths
            .par_iter()
            .map(|p| {
                let audio = sonotag_audio::wav::decode_file(p.as_ref())?;
                let rate = audio.sample_rate();
                let features = self.clip_features(&audio.into_mono(), rate)?;
                Ok((p.as_ref().display().to_string(), features))
            })
            .collect::<Vec<Result<(String, ClipFeatures)>>>()
            .into_iter()
            .map(|r| r.and_then(|(source, f)| self.predict_features(source, f)))
            .collect()
    }

    /// Predicts mono samples at `sample_rate` (resampled to the model's rate if needed). Audio
    /// of any length is cut into segments exactly as in training. A NaN or infinite sample is
    /// an [`Error::NonFiniteAudio`].
    pub fn predict_samples(&self, samples: &[f32], sample_rate: u32) -> Result<Prediction> {
        Error::check_finite_audio("samples", samples)?;
        let features = self.clip_features(samples, sample_rate)?;
        self.predict_features("samples".into(), features)
    }

    fn clip_features(&self, samples: &[f32], sample_rate: u32) -> Result<ClipFeatures> {
        let mut features = vec![self.pipeline.clip(samples, sample_rate)?];
        self.pipeline.normalize(&self.normalizer, &mut features)?;
        Ok(features.remove(0))
    }

    fn predict_features(&self, source: String, features: ClipFeatures) -> Result<Prediction> {
        let set = SegmentSet::new(std::slice::from_ref(&features), Vec::new());
        let logits = train::segment_logits(
            &self.model,
            self.fused.as_ref(),
            &set.x,
            self.input_shape(),
            64,
        )?;
        let n = self.labels.len();
        let pooled = train::pool_clips(&logits, &set.clip_of, 1, n, self.clip_pooling);
        let segment_probs = self.calibrated(&logits)?;
        let clip = self.calibrated(&pooled)?;
        let segments = features
            .segments
            .iter()
            .zip(segment_probs.chunks(n))
            .map(|(s, p)| SegmentPrediction {
                start_s: s.start_s,
                end_s: s.end_s,
                probabilities: p.to_vec(),
            })
            .collect();
        Ok(Prediction {
            source,
            task: self.task,
            labels: self.labels.clone(),
            clip,
            thresholds: self.thresholds.clone(),
            segments,
        })
    }

    fn calibrated(&self, logits: &[f32]) -> Result<Vec<f32>> {
        link::calibrated(self.task, &self.calibrator, logits, self.labels.len())
    }

    /// Multilabel (independent sigmoids) or multiclass (softmax).
    pub fn task(&self) -> TaskKind {
        self.task
    }

    fn input_shape(&self) -> InputShape {
        InputShape {
            n_mels: self.pipeline.n_mels(),
            n_frames: self.pipeline.n_frames(),
        }
    }

    /// Clip-level logits and 0/1 targets of a dataset (labels unknown to the model are an error).
    fn clip_logits(&self, data: &Dataset) -> Result<(Vec<f32>, Vec<u8>)> {
        let targets = targets_of(data, &self.labels)?;
        for clip in &data.clips {
            Error::check_finite_audio(&clip.id, &clip.samples)?;
        }
        let mut features = self.pipeline.clips(
            data.clips
                .par_iter()
                .map(|c| (&c.samples[..], c.sample_rate)),
        )?;
        self.pipeline.normalize(&self.normalizer, &mut features)?;
        let set = SegmentSet::new(&features, Vec::new());
        let logits = train::clip_logits(
            &self.model,
            self.fused.as_ref(),
            &set.x,
            &set.clip_of,
            set.n_clips,
            self.input_shape(),
            self.clip_pooling,
            64,
        )?;
        Ok((logits, targets.iter().map(|&t| t as u8).collect()))
    }

    /// Scores the tagger on a labelled dataset: clip-level metrics before and after calibration.
    pub fn evaluate(&self, data: &Dataset) -> Result<Evaluation> {
        Ok(self.evaluate_arrays(data)?.0)
    }

    /// Like [`Tagger::evaluate`], also writing a report folder: `metrics.json`, ROC and PR
    /// curves and a reliability diagram as SVG and PNG.
    pub fn evaluate_to_folder(&self, data: &Dataset, dir: impl AsRef<Path>) -> Result<Evaluation> {
        let (evaluation, raw, calibrated, targets) = self.evaluate_arrays(data)?;
        let input = crate::report::ReportInput {
            labels: &self.labels,
            scores_raw: &raw,
            scores_calibrated: &calibrated,
            targets: &targets,
            n_samples: data.len(),
        };
        crate::report::write_report_folder(dir.as_ref(), &input, &ReportOptions::default())
            .map_err(|source| Error::Report {
                path: dir.as_ref().to_path_buf(),
                source,
            })?;
        Ok(evaluation)
    }

    /// The `sonotag metrics` report of calibrated clip-level probabilities.
    pub fn metrics_report(&self, data: &Dataset, options: &ReportOptions) -> Result<MetricsReport> {
        let (logits, targets) = self.clip_logits(data)?;
        let probs = self.calibrated(&logits)?;
        let n = self.labels.len();
        let scores = ScoreMatrix::new(&probs, data.len(), n)?;
        let targets = TargetMatrix::new(&targets, data.len(), n)?;
        Ok(metrics_report(&scores, &targets, &self.labels, options)?)
    }

    #[allow(clippy::type_complexity)]
    fn evaluate_arrays(&self, data: &Dataset) -> Result<(Evaluation, Vec<f32>, Vec<f32>, Vec<u8>)> {
        if data.is_empty() {
            return Err(Error::invalid_data(
                "the evaluation set",
                "is empty: nothing to evaluate",
            ));
        }
        let (logits, targets) = self.clip_logits(data)?;
        let raw = link::raw(self.task, &logits, self.labels.len())?;
        let calibrated = self.calibrated(&logits)?;
        let evaluation = evaluation(&raw, &calibrated, &targets, &self.labels)?;
        Ok((evaluation, raw, calibrated, targets))
    }
}

fn evaluation(
    raw: &[f32],
    calibrated: &[f32],
    targets: &[u8],
    labels: &[String],
) -> Result<Evaluation> {
    let n = labels.len();
    let rows = targets.len() / n;
    let t = TargetMatrix::new(targets, rows, n)?;
    let options = ReportOptions::default();
    Ok(Evaluation {
        raw: metrics_report(&ScoreMatrix::new(raw, rows, n)?, &t, labels, &options)?,
        calibrated: metrics_report(
            &ScoreMatrix::new(calibrated, rows, n)?,
            &t,
            labels,
            &options,
        )?,
    })
}

/// `[n_clips][n_labels]` 0/1 targets; a label the model does not know is an error.
fn targets_of(data: &Dataset, labels: &[String]) -> Result<Vec<f32>> {
    let mut targets = vec![0.0f32; data.len() * labels.len()];
    for (i, clip) in data.clips.iter().enumerate() {
        for label in &clip.labels {
            let j = labels.iter().position(|l| l == label).ok_or_else(|| {
                Error::config(
                    "labels",
                    format!(
                        "clip `{}` has label `{label}`, which is not one of: {}",
                        clip.id,
                        labels.join(", ")
                    ),
                )
            })?;
            targets[i * labels.len() + j] = 1.0;
        }
    }
    Ok(targets)
}

type EventCallback = Box<dyn FnMut(&TrainEvent) + Send>;

/// Builds and trains a [`Tagger`]. Every setting has a default that works for audio tagging.
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
#[derive(Default)]
pub struct TaggerBuilder {
    labels: Option<Vec<String>>,
    features: FeatureConfig,
    config: TrainConfig,
    validation: Option<Dataset>,
    device: Option<Device>,
    on_event: Option<EventCallback>,
    feature_cache: Option<std::path::PathBuf>,
    checkpoint_dir: Option<std::path::PathBuf>,
    resume: bool,
    feature_memory_limit: Option<usize>,
}

impl std::fmt::Debug for TaggerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaggerBuilder")
            .field("labels", &self.labels)
            .field("features", &self.features)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

macro_rules! setter {
    ($(#[$doc:meta])* $name:ident: $ty:ty => $($field:ident).+) => {
        $(#[$doc])*
        pub fn $name(mut self, value: $ty) -> Self {
            self.$($field).+ = value;
            self
        }
    };
}

impl TaggerBuilder {
    /// The labels, in output order; by default the sorted set of labels in the training data.
    pub fn labels<S: Into<String>>(mut self, labels: impl IntoIterator<Item = S>) -> Self {
        self.labels = Some(labels.into_iter().map(Into::into).collect());
        self
    }

    setter!(/// Log-mel settings.
        mel: MelConfig => features.mel);
    setter!(/// Segmentation settings (window, hop, minimum residual, padding).
        segment: SegmentConfig => features.segment);
    setter!(/// All training settings at once.
        config: TrainConfig => config);
    setter!(/// The network: a preset or a custom [`CnnConfig`].
        model: ModelSpec => config.model);
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
    setter!(/// Multilabel (default: independent sigmoids) or multiclass (softmax, one class per
        /// clip). The task fixes head, loss and probabilities together.
        task: TaskKind => config.task);

    /// Validates on this dataset instead of a split of the training data.
    pub fn validation(mut self, data: Dataset) -> Self {
        self.validation = Some(data);
        self
    }

    /// Trains on `device` instead of [`crate::backend::default_device`].
    pub fn device(mut self, device: Device) -> Self {
        self.device = Some(device);
        self
    }

    /// Keeps the features of every clip in `dir`, keyed by the clip's audio and the feature
    /// settings, so later runs on the same audio skip feature extraction. Damaged cache files
    /// are recomputed, never trusted.
    pub fn feature_cache(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.feature_cache = Some(dir.into());
        self
    }

    /// Keeps at most about `bytes` of training features in memory (default 2 GiB); beyond
    /// that they live in an anonymous temporary file and are read back batch by batch.
    pub fn feature_memory_limit(mut self, bytes: usize) -> Self {
        self.feature_memory_limit = Some(bytes);
        self
    }

    /// Writes a checkpoint into `dir` after every epoch (model, optimiser state, history, best
    /// model), atomically, so a killed run can be resumed with [`Self::resume`].
    pub fn checkpoint_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.checkpoint_dir = Some(dir.into());
        self
    }

    /// Continues from the checkpoint in [`Self::checkpoint_dir`] when there is one (a run with
    /// no checkpoint yet starts from the beginning). On the CPU backend the resumed run ends
    /// with exactly the weights of an uninterrupted one. A checkpoint written with other data
    /// or settings is refused with [`Error::Checkpoint`].
    pub fn resume(mut self, resume: bool) -> Self {
        self.resume = resume;
        self
    }

    /// Receives [`TrainEvent`]s while training runs.
    pub fn on_event(mut self, callback: impl FnMut(&TrainEvent) + Send + 'static) -> Self {
        self.on_event = Some(Box::new(callback));
        self
    }

    /// Trains a tagger on `data`.
    pub fn train(mut self, data: &Dataset) -> Result<(Tagger, TrainReport)> {
        let started = Instant::now();
        let config = self.config.clone();
        config.validate()?;
        if data.is_empty() {
            return Err(Error::invalid_data(
                "the training set",
                "is empty: nothing to train on",
            ));
        }
        let labels = self.labels.clone().unwrap_or_else(|| data.labels());
        if labels.is_empty() {
            return Err(Error::config(
                "labels",
                "none given and the training data has none",
            ));
        }
        let n_labels = labels.len();
        let model_config = match &config.model {
            ModelSpec::Preset(p) => p.preset().config(n_labels),
            ModelSpec::Custom(c) if c.n_outputs == n_labels => c.clone(),
            ModelSpec::Custom(c) => {
                return Err(Error::config(
                    "model",
                    format!(
                        "the network has {} outputs for {n_labels} labels",
                        c.n_outputs
                    ),
                ));
            }
        };
        model_config.validate()?;
        let pipeline = FeaturePipeline::new(self.features.clone())?;
        let shape = InputShape {
            n_mels: pipeline.n_mels(),
            n_frames: pipeline.n_frames(),
        };
        model_config.output_shape([1, 1, shape.n_mels, shape.n_frames])?;

        // Split: explicit validation set, or iterative stratification of the training data.
        let all_targets = targets_of(data, &labels)?;
        if config.task == TaskKind::MultiClass {
            check_one_class_each(data, &labels)?;
            if let Some(v) = &self.validation {
                check_one_class_each(v, &labels)?;
            }
        }
        let (train_idx, val_data_targets, val_clips): (
            Vec<usize>,
            Vec<f32>,
            Vec<&crate::dataset::Clip>,
        ) = match &self.validation {
            Some(v) => {
                if v.is_empty() {
                    return Err(Error::invalid_data("the validation set", "is empty"));
                }
                (
                    (0..data.len()).collect(),
                    targets_of(v, &labels)?,
                    v.clips.iter().collect(),
                )
            }
            None => {
                let label_sets: Vec<Vec<usize>> = (0..data.len())
                    .map(|i| {
                        (0..n_labels)
                            .filter(|&j| all_targets[i * n_labels + j] > 0.5)
                            .collect()
                    })
                    .collect();
                let (tr, va) = crate::split::iterative_stratification(
                    &label_sets,
                    n_labels,
                    config.validation_fraction,
                    config.seed,
                )
                .map_err(|e| match e {
                    SplitError::TooFewSamples(n) => Error::invalid_data(
                        "the training set",
                        format!(
                            "has {n} clip(s): holding out a validation split needs at least 2 \
                             (or give a validation set)"
                        ),
                    ),
                    other => Error::config("validation_fraction", other.to_string()),
                })?;
                let vt = va
                    .iter()
                    .flat_map(|&i| all_targets[i * n_labels..(i + 1) * n_labels].to_vec())
                    .collect();
                (tr, vt, va.iter().map(|&i| &data.clips[i]).collect())
            }
        };
        for clip in train_idx
            .iter()
            .map(|&i| &data.clips[i])
            .chain(val_clips.iter().copied())
        {
            Error::check_finite_audio(&clip.id, &clip.samples)?;
        }
        let train_targets: Vec<f32> = train_idx
            .iter()
            .flat_map(|&i| all_targets[i * n_labels..(i + 1) * n_labels].to_vec())
            .collect();

        let cache = self
            .feature_cache
            .as_deref()
            .map(|dir| FeatureCache::new(dir, pipeline.config()))
            .transpose()?;
        // Training features are computed a chunk of clips at a time (in parallel within the
        // chunk) into a store that keeps them in memory up to the limit, then on disk; the
        // normaliser is fitted on the way, on the training split only.
        let mut store = SegmentWriter::new(
            pipeline.n_mels() * pipeline.n_frames(),
            self.feature_memory_limit.unwrap_or(DEFAULT_FEATURE_MEMORY),
        );
        let mut fit = NormalizerFit::new(pipeline.n_mels());
        let mut clip_of = Vec::new();
        for (c, chunk) in train_idx.chunks(FEATURE_CHUNK).enumerate() {
            let features = pipeline.clips_cached(
                chunk.par_iter().map(|&i| {
                    let c = &data.clips[i];
                    (&c.samples[..], c.sample_rate)
                }),
                cache.as_ref(),
            )?;
            for (k, clip) in features.iter().enumerate() {
                for segment in &clip.segments {
                    pipeline.fit_update(&mut fit, segment)?;
                    store.push(&segment.mel)?;
                    clip_of.push(c * FEATURE_CHUNK + k);
                }
            }
        }
        let store = store.seal()?;
        debug_assert_eq!(store.len(), clip_of.len());
        let normalizer = fit.finish(1e-3)?;
        let mut val_features = pipeline.clips_cached(
            val_clips
                .par_iter()
                .map(|c| (&c.samples[..], c.sample_rate)),
            cache.as_ref(),
        )?;
        pipeline.normalize(&normalizer, &mut val_features)?;
        let train_set = TrainSegments {
            store,
            normalizer: normalizer.clone(),
            clip_of,
            targets: train_targets,
            n_clips: train_idx.len(),
        };
        let val_set = SegmentSet::new(&val_features, val_data_targets);

        let priors: Vec<f64> = (0..n_labels)
            .map(|j| {
                let pos: f32 = train_set.targets.iter().skip(j).step_by(n_labels).sum();
                f64::from(pos) / train_set.n_clips.max(1) as f64
            })
            .collect();
        let device = self
            .device
            .clone()
            .unwrap_or_else(crate::backend::default_device);
        let mut sink = |_: &TrainEvent| {};
        let on_event: &mut dyn FnMut(&TrainEvent) = match self.on_event.as_mut() {
            Some(cb) => cb.as_mut(),
            None => &mut sink,
        };
        if self.resume && self.checkpoint_dir.is_none() {
            return Err(Error::config(
                "resume",
                "needs a checkpoint folder: set `checkpoint_dir` too",
            ));
        }
        let checkpoint = match &self.checkpoint_dir {
            Some(dir) => Some(CheckpointSpec {
                dir: dir.clone(),
                resume: self.resume,
                fingerprint: run_fingerprint(
                    &config,
                    &labels,
                    &pipeline,
                    &model_config,
                    &train_set,
                    &val_set,
                )?,
            }),
            None => None,
        };
        let fitted = train::fit(
            &model_config,
            &priors,
            &train_set,
            &val_set,
            shape,
            &config,
            &device,
            checkpoint.as_ref(),
            on_event,
        )?;

        // Calibrate and tune thresholds on validation clip logits of the kept model.
        let fused = fuse(&fitted.model);
        let val_logits = train::clip_logits(
            &fitted.model,
            fused.as_ref(),
            &val_set.x,
            &val_set.clip_of,
            val_set.n_clips,
            shape,
            config.clip_pooling,
            64,
        )?;
        let val_targets: Vec<u8> = val_set
            .targets
            .iter()
            .map(|&t| u8::from(t >= 0.5))
            .collect();
        let logit_matrix = ScoreMatrix::new(&val_logits, val_set.n_clips, n_labels)?;
        let target_matrix = TargetMatrix::new(&val_targets, val_set.n_clips, n_labels)?;
        let calibrator = match config.calibration {
            CalibrationMethod::None => Calibrator::Identity,
            CalibrationMethod::Temperature if config.task == TaskKind::MultiClass => {
                Calibrator::Temperature {
                    temperature: link::fit_softmax_temperature(&val_logits, &val_targets, n_labels),
                }
            }
            CalibrationMethod::Temperature => {
                Calibrator::fit_temperature(
                    &logit_matrix,
                    &target_matrix,
                    &TemperatureOptions::default(),
                )?
                .0
            }
            CalibrationMethod::Platt => {
                Calibrator::fit_platt(&logit_matrix, &target_matrix, &PlattOptions::default())?.0
            }
        };
        let calibrated = link::calibrated(config.task, &calibrator, &val_logits, n_labels)?;
        let thresholds = if config.tune_thresholds {
            let probs = ScoreMatrix::new(&calibrated, val_set.n_clips, n_labels)?;
            best_f1_thresholds(&probs, &target_matrix)?
                .iter()
                .map(|c| c.threshold.unwrap_or(0.5))
                .collect()
        } else {
            vec![0.5; n_labels]
        };
        let raw = link::raw(config.task, &val_logits, n_labels)?;
        let validation = evaluation(&raw, &calibrated, &val_targets, &labels)?;
        let summary = TrainSummary {
            config,
            history: fitted.history,
            best_epoch: fitted.best_epoch,
            train_clips: train_set.n_clips,
            train_segments: train_set.n_segments(),
            val_clips: val_set.n_clips,
            train_seconds: started.elapsed().as_secs_f64(),
            device: format!("{device:?}"),
        };
        let tagger = Tagger {
            task: summary.config.task,
            labels,
            pipeline,
            normalizer,
            model_config,
            model: fitted.model,
            fused,
            calibrator,
            thresholds,
            clip_pooling: summary.config.clip_pooling,
            summary: Some(summary.clone()),
        };
        Ok((
            tagger,
            TrainReport {
                summary,
                validation,
            },
        ))
    }
}

/// What pins a training run for [`crate::checkpoint`]: settings, labels, network and data.
fn run_fingerprint(
    config: &TrainConfig,
    labels: &[String],
    pipeline: &FeaturePipeline,
    model: &CnnConfig,
    train: &TrainSegments,
    val: &SegmentSet,
) -> Result<String> {
    let settings =
        serde_json::to_vec(&(config, labels, pipeline.config(), model)).map_err(|e| {
            Error::config(
                "config",
                format!("cannot be serialised for the checkpoint: {e}"),
            )
        })?;
    let floats = |v: &[f32]| -> Vec<u8> { v.iter().flat_map(|x| x.to_le_bytes()).collect() };
    let clips =
        |v: &[usize]| -> Vec<u8> { v.iter().flat_map(|c| (*c as u64).to_le_bytes()).collect() };
    Ok(crate::checkpoint::fingerprint(&[
        &settings,
        &train.store.digest(),
        &floats(&train.targets),
        &clips(&train.clip_of),
        &floats(&val.x),
        &floats(&val.targets),
        &clips(&val.clip_of),
    ]))
}

/// A multiclass task needs exactly one label per clip, and at least two classes.
fn check_one_class_each(data: &Dataset, labels: &[String]) -> Result<()> {
    if labels.len() < 2 {
        return Err(Error::config(
            "task",
            format!(
                "multiclass needs at least 2 classes, got {}; a yes/no question is a multilabel \
                 task with one label",
                labels.len()
            ),
        ));
    }
    if let Some(clip) = data.clips.iter().find(|c| c.labels.len() != 1) {
        return Err(Error::config(
            "task",
            format!(
                "multiclass needs exactly one label per clip; clip `{}` has {} ({:?})",
                clip.id,
                clip.labels.len(),
                clip.labels
            ),
        ));
    }
    Ok(())
}

/// The batch-norm-folded twin of `model` that predictions run on (about 3x faster on the CPU;
/// see docs/benchmarks.md); `None` (plain burn inference) for a network it cannot fold.
fn fuse(model: &Cnn) -> Option<FusedCnn> {
    FusedCnn::new(model).ok()
}
