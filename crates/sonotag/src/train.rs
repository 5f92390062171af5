//! The training loop: a plain loop over shuffled segment batches with AdamW, a learning-rate
//! schedule, early stopping on validation mAP and divergence checks.
//!
//! burn-train's `Learner` was not used: it owns the epoch loop, its checkpoints and its
//! renderer, while a library called in-process needs typed events, bit-for-bit reproducible
//! seeded runs and errors that name the epoch and batch (see docs/architecture.md).

use std::time::Instant;

use burn::module::Module;
use burn::optim::grad_clipping::GradientClippingConfig;
use burn::optim::{AdamWConfig, ModuleOptimizer};
use burn::tensor::{Device, Tensor, TensorData};
use rand::SeedableRng;
use rand::distr::Distribution;
use rand::distr::weighted::WeightedIndex;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use sonotag_metrics::{
    ScoreMatrix, TargetMatrix, calibration_error, nll_from_logits, ranking_metrics,
};
use sonotag_nn::augment::{Augmenter, MixupConfig, SpecAugmentConfig};
use sonotag_nn::fused::FusedCnn;
use sonotag_nn::loss::BceWithLogits;
use sonotag_nn::loss::SoftmaxCrossEntropy;
use sonotag_nn::{ClassTargets, Cnn, CnnConfig, MultiClass, MultiLabel, MultiLabelTargets, Task};

use crate::checkpoint::{self, CheckpointSpec};
use crate::config::{ClipPooling, LossKind, PosWeight, TaskKind, TrainConfig};
use crate::error::{Error, Result};
use crate::link;
use crate::prep::ClipFeatures;
use crate::store::SegmentStore;
use sonotag_audio::Normalizer;

/// Serialises use of burn's process-global random source between training runs.
static BURN_RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The seed of burn's random source at training step `step`.
fn step_seed(seed: u64, step: usize) -> u64 {
    // SplitMix64 finaliser: neighbouring steps get unrelated streams.
    let mut z = seed ^ (step as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Metrics of one epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// Training stopped early: validation mAP did not improve for `patience` epochs.
    EarlyStop {
        /// The last epoch run.
        epoch: usize,
        /// The epoch whose weights are kept.
        best_epoch: usize,
    },
}

/// Training data as flat segment features with clip-level 0/1 targets.
pub(crate) struct SegmentSet {
    /// `[n_segments][n_mels * n_frames]`, row-major.
    pub x: Vec<f32>,
    /// The clip each segment belongs to.
    pub clip_of: Vec<usize>,
    /// `[n_clips][n_labels]` 0/1 targets.
    pub targets: Vec<f32>,
    pub n_clips: usize,
}

impl SegmentSet {
    pub fn new(clips: &[ClipFeatures], targets: Vec<f32>) -> Self {
        let mut x = Vec::new();
        let mut clip_of = Vec::new();
        for (i, clip) in clips.iter().enumerate() {
            for segment in &clip.segments {
                x.extend_from_slice(&segment.mel);
                clip_of.push(i);
            }
        }
        Self {
            x,
            clip_of,
            targets,
            n_clips: clips.len(),
        }
    }
}

/// Training segments: stored as computed (within a memory limit, then on disk) and
/// normalised as batches are read.
pub(crate) struct TrainSegments {
    pub store: SegmentStore,
    pub normalizer: Normalizer,
    /// The clip each segment belongs to.
    pub clip_of: Vec<usize>,
    /// `[n_clips][n_labels]` 0/1 targets.
    pub targets: Vec<f32>,
    pub n_clips: usize,
}

impl TrainSegments {
    pub fn n_segments(&self) -> usize {
        self.clip_of.len()
    }
}

/// Shape of one input: mel bands and frames.
#[derive(Debug, Clone, Copy)]
pub(crate) struct InputShape {
    pub n_mels: usize,
    pub n_frames: usize,
}

impl InputShape {
    fn len(self) -> usize {
        self.n_mels * self.n_frames
    }

    fn batch(self, x: &[f32], device: &Device) -> Tensor<4> {
        let b = x.len() / self.len();
        Tensor::from_data(
            TensorData::new(x.to_vec(), [b, 1, self.n_mels, self.n_frames]),
            device,
        )
    }
}

/// The outcome of [`fit`].
pub(crate) struct Fitted {
    /// The best model (by validation mAP), in inference mode.
    pub model: Cnn,
    pub history: Vec<EpochMetrics>,
    pub best_epoch: usize,
}

/// Segment logits of `set` under `model` (inference mode; through `fused`, its batch-norm
/// folded twin, when given), pooled to clip logits `[n_clips][n_labels]`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn clip_logits(
    model: &Cnn,
    fused: Option<&FusedCnn>,
    x: &[f32],
    clip_of: &[usize],
    n_clips: usize,
    shape: InputShape,
    pooling: ClipPooling,
    batch_size: usize,
) -> Result<Vec<f32>> {
    let segment_logits = segment_logits(model, fused, x, shape, batch_size)?;
    let n_labels = model.n_outputs();
    Ok(pool_clips(
        &segment_logits,
        clip_of,
        n_clips,
        n_labels,
        pooling,
    ))
}

/// Logits `[n_segments][n_labels]` of the segments in `x`.
pub(crate) fn segment_logits(
    model: &Cnn,
    fused: Option<&FusedCnn>,
    x: &[f32],
    shape: InputShape,
    batch_size: usize,
) -> Result<Vec<f32>> {
    let device = model.device();
    let mut out = Vec::with_capacity(x.len() / shape.len() * model.n_outputs());
    for chunk in x.chunks(shape.len() * batch_size.max(1)) {
        let input = shape.batch(chunk, &device);
        let logits = match fused {
            Some(fused) => fused.try_forward(input)?,
            None => model.try_forward(input)?,
        };
        let values = logits
            .into_data()
            .try_into_vec::<f32>()
            .map_err(|e| Error::Backend {
                reason: format!("reading logits: {e:?}"),
            })?;
        // Only damaged or diverged weights get here; never hand out NaN probabilities.
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            let n_outputs = model.n_outputs().max(1);
            let at = out.len() + i;
            return Err(Error::NonFiniteOutput {
                segment: at / n_outputs,
                output: at % n_outputs,
                value: values[i],
            });
        }
        out.extend(values);
    }
    Ok(out)
}

/// Pools segment rows into clip rows (max or mean over each clip's segments).
pub(crate) fn pool_clips(
    segment_logits: &[f32],
    clip_of: &[usize],
    n_clips: usize,
    n_labels: usize,
    pooling: ClipPooling,
) -> Vec<f32> {
    let init = match pooling {
        ClipPooling::Max => f32::NEG_INFINITY,
        ClipPooling::Mean => 0.0,
    };
    let mut pooled = vec![init; n_clips * n_labels];
    let mut counts = vec![0usize; n_clips];
    for (row, &clip) in segment_logits.chunks(n_labels).zip(clip_of) {
        counts[clip] += 1;
        let target = &mut pooled[clip * n_labels..(clip + 1) * n_labels];
        for (p, &z) in target.iter_mut().zip(row) {
            match pooling {
                ClipPooling::Max => *p = p.max(z),
                ClipPooling::Mean => *p += z,
            }
        }
    }
    if pooling == ClipPooling::Mean {
        for (clip, &count) in counts.iter().enumerate() {
            for p in &mut pooled[clip * n_labels..(clip + 1) * n_labels] {
                *p /= count.max(1) as f32;
            }
        }
    }
    pooled
}

/// `pos_weight` per label from the training targets.
pub(crate) fn pos_weights(
    spec: &PosWeight,
    targets: &[f32],
    n_labels: usize,
) -> Result<Option<Vec<f32>>> {
    match spec {
        PosWeight::None => Ok(None),
        PosWeight::Manual(w) if w.len() == n_labels => Ok(Some(w.clone())),
        PosWeight::Manual(w) => Err(Error::config(
            "pos_weight",
            format!("has {} weights for {n_labels} labels", w.len()),
        )),
        PosWeight::Auto => {
            let n = (targets.len() / n_labels.max(1)) as f32;
            Ok(Some(
                (0..n_labels)
                    .map(|j| {
                        let pos: f32 = targets.iter().skip(j).step_by(n_labels).sum();
                        ((n - pos) / pos.max(1.0)).clamp(1.0, 100.0)
                    })
                    .collect(),
            ))
        }
    }
}

/// Sampling weights that balance the labels: each segment gets the inverse frequency (in
/// clips) of its clip's rarest label; clips without any label count as one more class.
fn balanced_sampler(
    targets: &[f32],
    clip_of: &[usize],
    n_labels: usize,
) -> Result<WeightedIndex<f64>> {
    let rows: Vec<&[f32]> = targets.chunks(n_labels.max(1)).collect();
    let mut counts = vec![0usize; n_labels + 1];
    for row in &rows {
        let mut any = false;
        for (j, &t) in row.iter().enumerate() {
            if t >= 0.5 {
                counts[j] += 1;
                any = true;
            }
        }
        if !any {
            counts[n_labels] += 1;
        }
    }
    let clip_weight: Vec<f64> = rows
        .iter()
        .map(|row| {
            let rarest = row
                .iter()
                .enumerate()
                .filter(|(_, t)| **t >= 0.5)
                .map(|(j, _)| counts[j])
                .min()
                .unwrap_or(counts[n_labels]);
            1.0 / rarest.max(1) as f64
        })
        .collect();
    WeightedIndex::new(clip_of.iter().map(|&c| clip_weight[c]))
        .map_err(|e| Error::config("balanced_sampling", format!("cannot weigh segments: {e}")))
}

/// The task being trained, with its loss.
enum TrainTask {
    Tags(MultiLabel),
    Classes(MultiClass),
}

fn fresh_optimizer(config: &TrainConfig) -> ModuleOptimizer {
    AdamWConfig::new()
        .with_weight_decay(config.weight_decay)
        .with_grad_clipping(config.grad_clip_norm.map(GradientClippingConfig::Norm))
        .init()
}

/// Trains `model_config` on `train` and validates each epoch on `val`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn fit(
    model_config: &CnnConfig,
    priors: &[f64],
    train: &TrainSegments,
    val: &SegmentSet,
    shape: InputShape,
    config: &TrainConfig,
    device: &Device,
    checkpoint: Option<&CheckpointSpec>,
    on_event: &mut dyn FnMut(&TrainEvent),
) -> Result<Fitted> {
    let n_labels = model_config.n_outputs;
    let train_device = device.clone().autodiff();
    // The CPU training engine keeps one step's buffers for the next; free them when fitting
    // ends, however it ends.
    struct ReleaseBuffers;
    impl Drop for ReleaseBuffers {
        fn drop(&mut self) {
            sonotag_nn::release_training_buffers();
        }
    }
    let _buffers = ReleaseBuffers;
    let mut model = model_config
        .init_seeded(&train_device, config.seed)?
        .with_output_bias(&match config.task {
            TaskKind::MultiLabel => MultiLabel::prior_bias(priors)?,
            TaskKind::MultiClass => MultiClass::prior_bias(priors)?,
        })?;

    let mut loss = match config.loss {
        LossKind::Bce => BceWithLogits::<MultiLabelTargets>::new(),
        LossKind::Focal { gamma, alpha } => BceWithLogits::focal(gamma, alpha)?,
    };
    if let Some(w) = pos_weights(&config.pos_weight, &train.targets, n_labels)? {
        loss = loss.with_pos_weight(w)?;
    }
    if config.label_smoothing > 0.0 {
        loss = loss.with_smoothing(f64::from(config.label_smoothing))?;
    }
    let task = match config.task {
        TaskKind::MultiLabel => TrainTask::Tags(MultiLabel { loss }),
        TaskKind::MultiClass => {
            let mut loss = SoftmaxCrossEntropy::new();
            if config.label_smoothing > 0.0 {
                loss = loss.with_smoothing(f64::from(config.label_smoothing))?;
            }
            TrainTask::Classes(MultiClass { loss })
        }
    };
    let mut optim = fresh_optimizer(config);
    // Shuffling and augmentation are reseeded every epoch from (seed, epoch), so a resumed
    // run draws exactly what an uninterrupted one would.
    let augmenter_for = |epoch: usize| {
        Augmenter::new(
            config.spec_augment.then(SpecAugmentConfig::new),
            config.mixup_alpha.map(|a| MixupConfig::new().with_alpha(a)),
            step_seed(config.seed ^ 0xA5A5, epoch),
        )
    };

    let n_segments = train.n_segments();
    let batches = n_segments.div_ceil(config.batch_size);
    let total_steps = batches * config.epochs;
    on_event(&TrainEvent::Start {
        train_segments: n_segments,
        val_clips: val.n_clips,
        batches_per_epoch: batches,
        device: format!("{device:?}"),
    });
    let mut order: Vec<usize> = (0..n_segments).collect();
    let sampler = if config.balanced_sampling {
        Some(balanced_sampler(&train.targets, &train.clip_of, n_labels)?)
    } else {
        None
    };
    let mut history = Vec::new();
    let mut best: Option<(f64, usize, Cnn)> = None;
    let mut step = 0usize;
    let mut first_epoch = 1;
    if let Some(spec) = checkpoint.filter(|c| c.resume)
        && let Some(restored) = checkpoint::load(spec, &model, optim, &train_device)?
    {
        first_epoch = restored.epoch + 1;
        step = restored.step;
        history = restored.history;
        model = restored.model;
        best = Some(restored.best);
        optim = restored.optimizer;
    } else {
        optim = fresh_optimizer(config);
    }
    let stopped_early = |epoch: usize, best: &Option<(f64, usize, Cnn)>| {
        matches!(
            (config.early_stopping_patience, best),
            (Some(patience), Some((_, best_epoch, _))) if epoch - best_epoch >= patience
        )
    };
    if first_epoch > 1 && stopped_early(first_epoch - 1, &best) {
        // The checkpointed run had already stopped early.
        first_epoch = config.epochs + 1;
    }
    let mut x_batch = Vec::with_capacity(config.batch_size * shape.len());
    let mut y_batch = Vec::with_capacity(config.batch_size * n_labels);

    for epoch in first_epoch..=config.epochs {
        let started = Instant::now();
        on_event(&TrainEvent::EpochStart {
            epoch,
            epochs: config.epochs,
        });
        let mut rng = ChaCha8Rng::seed_from_u64(step_seed(config.seed ^ 0x5EED, epoch));
        let mut augmenter = augmenter_for(epoch)?;
        order.clear();
        order.extend(0..n_segments);
        match &sampler {
            Some(weights) => {
                order.clear();
                order.extend((0..n_segments).map(|_| weights.sample(&mut rng)));
            }
            None => order.shuffle(&mut rng),
        }
        let mut loss_sum = 0.0;
        let mut lr = config.learning_rate;
        for (b, indices) in order.chunks(config.batch_size).enumerate() {
            x_batch.clear();
            y_batch.clear();
            for &i in indices {
                train
                    .store
                    .read_normalized(i, &train.normalizer, &mut x_batch)?;
                let clip = train.clip_of[i];
                y_batch.extend_from_slice(&train.targets[clip * n_labels..(clip + 1) * n_labels]);
            }
            if let Some(bad) = x_batch.iter().position(|v| !v.is_finite()) {
                return Err(Error::Diverged {
                    epoch,
                    batch: b + 1,
                    what: format!("input feature {} of the batch is {}", bad, x_batch[bad]),
                });
            }
            let x = shape.batch(&x_batch, &train_device);
            // On a CPU the blocks train on sonotag-nn's NHWC engine (`forward_train`), whose
            // dropout draws from the step seed; the head's dropout (and, on a GPU, every
            // dropout) draws from burn's random source, one generator for the whole process:
            // reseed it per step, and hold it while this step draws, so that a seeded run does
            // not depend on other threads.
            let forward = |x| {
                let _rng = BURN_RNG
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let seed = step_seed(config.seed, step);
                train_device.seed(seed);
                model.forward_train(x, seed)
            };
            let (batch_loss, pass) = match &task {
                TrainTask::Tags(task) => {
                    let y = MultiLabelTargets::from_rows(&y_batch, n_labels, &train_device)?;
                    let (x, y) = augmenter.apply(x, y)?;
                    let (logits, pass) = forward(x);
                    (task.loss(logits, &y)?, pass)
                }
                TrainTask::Classes(task) => {
                    let y = ClassTargets::from_probabilities(&y_batch, n_labels, &train_device)?;
                    let (x, y) = augmenter.apply(x, y)?;
                    let (logits, pass) = forward(x);
                    (task.loss(logits, &y)?, pass)
                }
            };
            let value = f64::from(batch_loss.clone().into_scalar::<f32>());
            if !value.is_finite() {
                return Err(Error::Diverged {
                    epoch,
                    batch: b + 1,
                    what: format!("the loss is {value}"),
                });
            }
            let grads = pass.gradients(batch_loss.backward(), &model)?;
            lr = config
                .schedule
                .rate(config.learning_rate, step, total_steps);
            model = optim.step(lr, model, grads);
            step += 1;
            loss_sum += value;
            on_event(&TrainEvent::Batch {
                epoch,
                batch: b + 1,
                batches,
                loss: value,
            });
        }

        let eval_model = model.valid();
        let metrics = validate(&eval_model, val, shape, config, epoch, batches)?;
        let report = EpochMetrics {
            epoch,
            train_loss: loss_sum / batches.max(1) as f64,
            val_loss: metrics.loss,
            val_macro_roc_auc: metrics.macro_auc,
            val_map: metrics.map,
            val_ece: metrics.ece,
            learning_rate: lr,
            seconds: started.elapsed().as_secs_f64(),
        };
        on_event(&TrainEvent::EpochEnd(report.clone()));
        history.push(report);
        // Without any positive in validation, mAP is undefined: fall back to -loss.
        let score = metrics.map.unwrap_or(-metrics.loss);
        let improved = best.as_ref().is_none_or(|(s, _, _)| score > *s);
        if improved {
            best = Some((score, epoch, eval_model));
        }
        if let (Some(spec), Some((score, best_epoch, best_model))) = (checkpoint, &best) {
            checkpoint::save(
                spec,
                checkpoint::State {
                    epoch,
                    step,
                    history: &history,
                    model: &model,
                    optimizer: &optim,
                    best: (*score, *best_epoch, best_model),
                },
            )?;
        }
        if stopped_early(epoch, &best) {
            on_event(&TrainEvent::EarlyStop {
                epoch,
                best_epoch: best.as_ref().map_or(epoch, |b| b.1),
            });
            break;
        }
    }
    let (_, best_epoch, model) =
        best.ok_or_else(|| Error::config("epochs", "must be at least 1"))?;
    Ok(Fitted {
        model,
        history,
        best_epoch,
    })
}

struct Validation {
    loss: f64,
    macro_auc: Option<f64>,
    map: Option<f64>,
    ece: f64,
}

/// Validation metrics of `model` after batch `batch` of `epoch`; a non-finite logit means the
/// weights diverged during the epoch.
fn validate(
    model: &Cnn,
    val: &SegmentSet,
    shape: InputShape,
    config: &TrainConfig,
    epoch: usize,
    batch: usize,
) -> Result<Validation> {
    let diverged = |what: String| Error::Diverged {
        epoch,
        batch,
        what: format!("after the epoch's last batch, in validation: {what}"),
    };
    let n_labels = model.n_outputs();
    let logits = clip_logits(
        model,
        None,
        &val.x,
        &val.clip_of,
        val.n_clips,
        shape,
        config.clip_pooling,
        config.batch_size.max(64),
    )
    .map_err(|e| match e {
        Error::NonFiniteOutput { .. } => diverged(e.to_string()),
        other => other,
    })?;
    // Finite segment logits can still pool to an infinite mean.
    if let Some(bad) = logits.iter().find(|v| !v.is_finite()) {
        return Err(diverged(format!("a clip's pooled logit is {bad}")));
    }
    let targets: Vec<u8> = val.targets.iter().map(|&t| u8::from(t >= 0.5)).collect();
    let probs = link::raw(config.task, &logits, n_labels)?;
    let scores = ScoreMatrix::new(&probs, val.n_clips, n_labels)?;
    let target_matrix = TargetMatrix::new(&targets, val.n_clips, n_labels)?;
    let ranking = ranking_metrics(&scores, &target_matrix)?;
    let loss = match config.task {
        TaskKind::MultiLabel => nll_from_logits(&logits, &targets)?,
        TaskKind::MultiClass => link::softmax_nll(&logits, &targets, n_labels, 1.0),
    };
    Ok(Validation {
        loss,
        macro_auc: ranking.roc_auc.macro_average,
        map: ranking.average_precision.macro_average,
        ece: calibration_error(&probs, &targets, 15)?.ece,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balanced_sampling_draws_rare_labels_as_often_as_common_ones() {
        // Clip 0 has the rare label 0; clips 1..=9 the common label 1; clip 10 has none.
        let mut targets = vec![1.0, 0.0];
        for _ in 0..9 {
            targets.extend([0.0, 1.0]);
        }
        targets.extend([0.0, 0.0]);
        let clip_of: Vec<usize> = (0..11).collect();
        let weights = balanced_sampler(&targets, &clip_of, 2).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut drawn = [0usize; 3];
        for _ in 0..30_000 {
            match weights.sample(&mut rng) {
                0 => drawn[0] += 1,
                10 => drawn[2] += 1,
                _ => drawn[1] += 1,
            }
        }
        // Each group (rare label, common label, no label) gets about a third.
        for count in drawn {
            assert!((9_000..11_000).contains(&count), "{drawn:?}");
        }
    }

    #[test]
    fn step_seeds_differ_between_steps_and_runs() {
        assert_ne!(step_seed(1, 0), step_seed(1, 1));
        assert_ne!(step_seed(1, 0), step_seed(2, 0));
        assert_eq!(step_seed(5, 9), step_seed(5, 9));
    }
}
