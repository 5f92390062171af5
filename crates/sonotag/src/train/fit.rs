//! The epoch loop: shuffled segment batches, AdamW with a learning-rate schedule, validation
//! after every epoch, the best model kept, early stopping, checkpoints and divergence checks.

use std::time::Instant;

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::tensor::{Device, Tensor};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use sonotag_nn::augment::{Augmenter, MixupConfig, SpecAugmentConfig};
use sonotag_nn::{
    ClassTargets, Cnn, EngineFallback, MultiClass, MultiLabel, MultiLabelTargets, Task, TrainPass,
    TrainWorkspace,
};

use super::data::Batches;
use super::features::{Features, TrainSegments};
use super::plan::Plan;
use super::task::{self, TrainTask};
use super::validate::{self, Validation};
use super::{EpochMetrics, TrainEvent};
use crate::checkpoint::{self, CheckpointSpec};
use crate::config::{TaskKind, TrainConfig};
use crate::error::{Error, Result};
use crate::infer::{InputShape, Scorer, StoredSegments};

/// The seed of training step `step`'s dropout masks (and of other per-epoch draws).
pub(super) fn step_seed(seed: u64, step: usize) -> u64 {
    // SplitMix64 finaliser: neighbouring steps get unrelated streams.
    let mut z = seed ^ (step as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The outcome of [`fit`].
pub(super) struct Fitted {
    /// The best model (by validation mAP), in inference mode.
    pub model: Cnn,
    pub history: Vec<EpochMetrics>,
    pub best_epoch: usize,
    /// Why burn's kernels ran the convolution blocks instead of the CPU engine, if they did.
    pub engine_fallback: Option<EngineFallback>,
}

/// The best model so far.
struct Best {
    /// Validation mAP (or minus the loss when mAP is undefined).
    score: f64,
    epoch: usize,
    /// In inference mode.
    model: Cnn,
}

/// Trains the network of `plan` on `features.train` and validates each epoch on
/// `features.val`, checkpointing into `checkpoint` when given.
pub(super) fn fit(
    plan: &Plan,
    features: &Features,
    device: &Device,
    checkpoint: Option<&CheckpointSpec>,
    on_event: &mut dyn FnMut(&TrainEvent),
) -> Result<Fitted> {
    let config = &plan.config;
    let train = &features.train;
    let train_device = device.clone().autodiff();
    let model = initial_model(plan, train, &train_device)?;
    let task = TrainTask::new(config, &train.targets, plan.n_labels())?;
    let n_batches = train.n_segments().div_ceil(config.batch_size);
    on_event(&TrainEvent::Start {
        train_segments: train.n_segments(),
        val_clips: features.val.n_clips,
        batches_per_epoch: n_batches,
        device: format!("{device:?}"),
    });
    let mut batches = Batches::new(train, config, plan.shape, plan.n_labels())?;
    let mut fit = Fit {
        config,
        shape: plan.shape,
        n_labels: plan.n_labels(),
        val: &features.val,
        device: train_device,
        task,
        optim: task::optimizer(config),
        n_batches,
        total_steps: n_batches.saturating_mul(config.epochs),
        step: 0,
        workspace: TrainWorkspace::new(),
        engine_fallback: None,
        history: Vec::new(),
        best: None,
        checkpoint,
        on_event,
    };
    let (model, first_epoch) = fit.resume(model)?;
    fit.run(model, first_epoch, &mut batches)
}

/// The freshly initialised network, its output bias set from the label priors.
fn initial_model(plan: &Plan, train: &TrainSegments, device: &Device) -> Result<Cnn> {
    let priors = train.priors(plan.n_labels());
    let model = plan.model_config.init_seeded(device, plan.config.seed)?;
    let bias = match plan.config.task {
        TaskKind::MultiLabel => MultiLabel::prior_bias(&priors)?,
        TaskKind::MultiClass => MultiClass::prior_bias(&priors)?,
    };
    Ok(model.with_output_bias(&bias)?)
}

/// The state of the loop. The model being trained moves through [`Fit::step`] (the
/// optimiser takes it by value), so it is passed along rather than kept here.
struct Fit<'a> {
    config: &'a TrainConfig,
    shape: InputShape,
    n_labels: usize,
    val: &'a StoredSegments,
    /// The autodiff device of training.
    device: Device,
    task: TrainTask,
    optim: ModuleOptimizer,
    n_batches: usize,
    total_steps: usize,
    /// Optimiser steps taken so far.
    step: usize,
    /// The CPU engine's reusable buffers: this run's own, freed when the run ends, however it
    /// ends.
    workspace: TrainWorkspace,
    /// The first reason the engine did not run a step, reported once.
    engine_fallback: Option<EngineFallback>,
    history: Vec<EpochMetrics>,
    best: Option<Best>,
    checkpoint: Option<&'a CheckpointSpec>,
    on_event: &'a mut dyn FnMut(&TrainEvent),
}

impl Fit<'_> {
    /// Continues from the checkpoint when asked to and there is one; returns the model to
    /// train and the first epoch to run.
    fn resume(&mut self, model: Cnn) -> Result<(Cnn, usize)> {
        let Some(spec) = self.checkpoint.filter(|c| c.resume) else {
            return Ok((model, 1));
        };
        let optim = std::mem::replace(&mut self.optim, task::optimizer(self.config));
        let Some(restored) = checkpoint::load(spec, &model, optim, &self.device)? else {
            return Ok((model, 1));
        };
        self.step = restored.step;
        self.history = restored.history;
        self.optim = restored.optimizer;
        let (score, epoch, model) = restored.best;
        self.best = Some(Best {
            score,
            epoch,
            model,
        });
        let done = restored.epoch;
        // A run that had already stopped early has no epoch left.
        let first_epoch = if done >= 1 && self.stopped_early(done) {
            self.config.epochs.saturating_add(1)
        } else {
            done + 1
        };
        Ok((restored.model, first_epoch))
    }

    /// Runs the epochs from `first_epoch` on and returns the best model.
    fn run(mut self, mut model: Cnn, first_epoch: usize, batches: &mut Batches) -> Result<Fitted> {
        for epoch in first_epoch..=self.config.epochs {
            let go_on;
            (model, go_on) = self.epoch(model, epoch, batches)?;
            if !go_on {
                break;
            }
        }
        let best = self
            .best
            .ok_or_else(|| Error::config("epochs", "must be at least 1"))?;
        Ok(Fitted {
            model: best.model,
            history: self.history,
            best_epoch: best.epoch,
            engine_fallback: self.engine_fallback,
        })
    }

    /// Trains, validates and checkpoints one epoch; returns the model and whether to go on.
    fn epoch(&mut self, model: Cnn, epoch: usize, batches: &mut Batches) -> Result<(Cnn, bool)> {
        let started = Instant::now();
        (self.on_event)(&TrainEvent::EpochStart {
            epoch,
            epochs: self.config.epochs,
        });
        let (model, train_loss, learning_rate) = self.train_epoch(model, epoch, batches)?;
        let eval_model = model.valid();
        let metrics = self.validate(&eval_model, epoch)?;
        let report = EpochMetrics {
            epoch,
            train_loss,
            val_loss: metrics.loss,
            val_macro_roc_auc: metrics.macro_auc,
            val_map: metrics.map,
            val_ece: metrics.ece,
            learning_rate,
            seconds: started.elapsed().as_secs_f64(),
        };
        (self.on_event)(&TrainEvent::EpochEnd(report.clone()));
        self.history.push(report);
        // Without any positive in validation, mAP is undefined: fall back to -loss.
        let score = metrics.map.unwrap_or(-metrics.loss);
        if self.best.as_ref().is_none_or(|b| score > b.score) {
            self.best = Some(Best {
                score,
                epoch,
                model: eval_model,
            });
        }
        self.checkpoint(epoch, &model)?;
        if self.stopped_early(epoch) {
            (self.on_event)(&TrainEvent::EarlyStop {
                epoch,
                best_epoch: self.best.as_ref().map_or(epoch, |b| b.epoch),
            });
            return Ok((model, false));
        }
        Ok((model, true))
    }

    /// One pass over the training batches; returns the model, the mean batch loss and the
    /// learning rate at the end of the epoch.
    fn train_epoch(
        &mut self,
        mut model: Cnn,
        epoch: usize,
        batches: &mut Batches,
    ) -> Result<(Cnn, f64, f64)> {
        // Shuffling and augmentation are reseeded every epoch from (seed, epoch), so a resumed
        // run draws exactly what an uninterrupted one would.
        let mut rng = ChaCha8Rng::seed_from_u64(step_seed(self.config.seed ^ 0x5EED, epoch));
        let mut augmenter = Augmenter::new(
            self.config.spec_augment.then(SpecAugmentConfig::new),
            self.config
                .mixup_alpha
                .map(|a| MixupConfig::new().with_alpha(a)),
            step_seed(self.config.seed ^ 0xA5A5, epoch),
        )?;
        batches.shuffle(&mut rng);
        let mut loss_sum = 0.0;
        let mut lr = self.config.learning_rate;
        for b in 0..batches.len() {
            let (x, y) = batches.read(b)?;
            let loss;
            (model, loss, lr) = self.step(model, x, y, &mut augmenter, epoch, b + 1)?;
            loss_sum += loss;
            (self.on_event)(&TrainEvent::Batch {
                epoch,
                batch: b + 1,
                batches: self.n_batches,
                loss,
            });
        }
        Ok((model, loss_sum / self.n_batches.max(1) as f64, lr))
    }

    /// One optimiser step on batch `batch` (1-based) of `epoch`, features `x` and clip targets
    /// `y`; returns the updated model, the batch's loss and the learning rate used.
    fn step(
        &mut self,
        model: Cnn,
        x: &[f32],
        y: &[f32],
        augmenter: &mut Augmenter,
        epoch: usize,
        batch: usize,
    ) -> Result<(Cnn, f64, f64)> {
        let diverged = |what: String| Error::Diverged { epoch, batch, what };
        if let Some(bad) = x.iter().position(|v| !v.is_finite()) {
            return Err(diverged(format!(
                "input feature {bad} of the batch is {}",
                x[bad]
            )));
        }
        let x = self.shape.batch(x, &self.device);
        let (batch_loss, pass) = match &self.task {
            TrainTask::Tags(task) => {
                let y = MultiLabelTargets::from_rows(y, self.n_labels, &self.device)?;
                let (x, y) = augmenter.apply(x, y)?;
                let (logits, pass) = self.forward(&model, x);
                (task.loss(logits, &y)?, pass)
            }
            TrainTask::Classes(task) => {
                let y = ClassTargets::from_probabilities(y, self.n_labels, &self.device)?;
                let (x, y) = augmenter.apply(x, y)?;
                let (logits, pass) = self.forward(&model, x);
                (task.loss(logits, &y)?, pass)
            }
        };
        self.note_fallback(&pass);
        let value = f64::from(batch_loss.clone().into_scalar::<f32>());
        if !value.is_finite() {
            return Err(diverged(format!("the loss is {value}")));
        }
        let grads = pass.gradients(batch_loss.backward(), &model)?;
        let lr = self
            .config
            .schedule
            .rate(self.config.learning_rate, self.step, self.total_steps);
        let model = self.optim.step(lr, model, grads);
        self.step += 1;
        Ok((model, value, lr))
    }

    /// The forward pass of the current step, in training mode.
    ///
    /// On a CPU the blocks train on sonotag-nn's NHWC engine, with buffers from this run's
    /// workspace. Every dropout mask of the step (engine or burn kernels, blocks and head) is
    /// drawn from the step seed by a generator the step owns: concurrent runs in one process
    /// neither share nor wait on a random source.
    fn forward(&self, model: &Cnn, x: Tensor<4>) -> (Tensor<2>, TrainPass) {
        let seed = step_seed(self.config.seed, self.step);
        model.forward_train_with(x, seed, &self.workspace)
    }

    /// Reports, once per run, why burn's kernels ran a step instead of the CPU engine.
    fn note_fallback(&mut self, pass: &TrainPass) {
        if let (None, Some(reason)) = (&self.engine_fallback, pass.fallback()) {
            (self.on_event)(&TrainEvent::EngineFallback(reason.clone()));
            self.engine_fallback = Some(reason.clone());
        }
    }

    /// Validation metrics of `model` after `epoch`; a non-finite logit means the weights
    /// diverged during the epoch.
    fn validate(&self, model: &Cnn, epoch: usize) -> Result<Validation> {
        let diverged = |what: String| Error::Diverged {
            epoch,
            batch: self.n_batches,
            what: format!("after the epoch's last batch, in validation: {what}"),
        };
        let logits = Scorer::new(model, None, self.shape)
            .with_batch_size(self.config.batch_size.max(64))
            .stored_clip_logits(self.val, self.config.clip_pooling)
            .map_err(|e| match e {
                Error::NonFiniteOutput { .. } => diverged(e.to_string()),
                other => other,
            })?;
        // Finite segment logits can still pool to an infinite mean.
        if let Some(bad) = logits.iter().find(|v| !v.is_finite()) {
            return Err(diverged(format!("a clip's pooled logit is {bad}")));
        }
        validate::metrics(&logits, self.val, self.n_labels, self.config)
    }

    /// Writes the checkpoint of a completed `epoch`, when checkpointing.
    fn checkpoint(&self, epoch: usize, model: &Cnn) -> Result<()> {
        let (Some(spec), Some(best)) = (self.checkpoint, &self.best) else {
            return Ok(());
        };
        checkpoint::save(
            spec,
            checkpoint::State {
                epoch,
                step: self.step,
                history: &self.history,
                model,
                optimizer: &self.optim,
                best: (best.score, best.epoch, &best.model),
            },
        )
    }

    /// Whether `epoch` ran `patience` epochs past the best one.
    fn stopped_early(&self, epoch: usize) -> bool {
        match (self.config.early_stopping_patience, &self.best) {
            (Some(patience), Some(best)) => epoch.saturating_sub(best.epoch) >= patience,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_seeds_differ_between_steps_and_runs() {
        assert_ne!(step_seed(1, 0), step_seed(1, 1));
        assert_ne!(step_seed(1, 0), step_seed(2, 0));
        assert_eq!(step_seed(5, 9), step_seed(5, 9));
    }
}
