//! Training a [`Tagger`], step by step: check the settings ([`plan`]), split the data and
//! check it ([`data`]), compute the features ([`features`]), run the epoch loop ([`fit`]), then
//! calibrate on the validation clips ([`calibrate`]).
//!
//! The loop is a plain loop over shuffled segment batches with AdamW, a learning-rate schedule,
//! early stopping on validation mAP and divergence checks. burn-train's `Learner` was not used:
//! it owns the epoch loop, its checkpoints and its renderer, while a library called in-process
//! needs typed events, bit-for-bit reproducible seeded runs and errors that name the epoch and
//! batch (see docs/architecture.md).

mod calibrate;
mod data;
mod events;
mod features;
mod fit;
mod options;
mod plan;
mod summary;
mod task;
mod validate;

use std::time::Instant;

pub(crate) use data::targets_of;
pub use events::{EpochMetrics, TrainEvent};
pub use options::RunOptions;
pub(crate) use plan::ModelSettings;
pub use summary::{TrainReport, TrainSummary};

use crate::checkpoint::CheckpointSpec;
use crate::dataset::Dataset;
use crate::error::{Error, Result};
use crate::infer;
use crate::tagger::Tagger;
use features::Features;
use plan::Plan;

/// Trains a tagger with `settings` on `data`, run as `run` says.
pub(crate) fn train(
    settings: ModelSettings,
    mut run: RunOptions,
    data: &Dataset,
) -> Result<(Tagger, TrainReport)> {
    let started = Instant::now();
    run.check()?;
    let plan = Plan::new(settings, data, &run.limits)?;
    let split = data::split(&plan, data, run.validation.as_ref())?;
    // The callback is lent to the feature threads, then to the epoch loop.
    let mut on_event = std::mem::replace(&mut run.on_event, Box::new(|_| {}));
    let features = features::compute(&plan, data, split, &run, &mut *on_event)?;
    let device = run.device_or_default();
    let checkpoint = checkpoint_spec(&plan, &features, &run)?;
    let fitted = fit::fit(
        &plan,
        &features,
        &device,
        checkpoint.as_ref(),
        &mut *on_event,
    )?;
    let fused = infer::fuse(&fitted.model);
    let calibration = calibrate::calibrate(&plan, &features.val, &fitted.model, fused.as_ref())?;
    let summary = TrainSummary {
        config: plan.config,
        history: fitted.history,
        best_epoch: fitted.best_epoch,
        train_clips: features.train.n_clips,
        train_segments: features.train.n_segments(),
        val_clips: features.val.n_clips,
        train_seconds: started.elapsed().as_secs_f64(),
        device: format!("{device:?}"),
    };
    let tagger = Tagger {
        task: summary.config.task,
        labels: plan.labels,
        pipeline: plan.pipeline,
        normalizer: features.train.normalizer,
        model_config: plan.model_config,
        model: fitted.model,
        fused,
        calibrator: calibration.calibrator,
        thresholds: calibration.thresholds,
        clip_pooling: summary.config.clip_pooling,
        summary: Some(summary.clone()),
    };
    let report = TrainReport {
        summary,
        validation: calibration.validation,
        engine_fallback: fitted.engine_fallback,
    };
    Ok((tagger, report))
}

/// Where to checkpoint, when the run checkpoints.
fn checkpoint_spec(
    plan: &Plan,
    features: &Features,
    run: &RunOptions,
) -> Result<Option<CheckpointSpec>> {
    let Some(dir) = &run.checkpoint_dir else {
        return Ok(None);
    };
    Ok(Some(CheckpointSpec {
        dir: dir.clone(),
        resume: run.resume,
        fingerprint: fingerprint(plan, features)?,
        epochs: plan.config.epochs,
        max_card_bytes: run.limits.max_card_bytes,
    }))
}

/// What pins a training run for [`crate::checkpoint`]: settings, labels, network and data.
fn fingerprint(plan: &Plan, features: &Features) -> Result<String> {
    let settings = serde_json::to_vec(&(
        &plan.config,
        &plan.labels,
        plan.pipeline.config(),
        &plan.model_config,
    ))
    .map_err(|e| {
        Error::config(
            "config",
            format!("cannot be serialised for the checkpoint: {e}"),
        )
    })?;
    let floats = |v: &[f32]| -> Vec<u8> { v.iter().flat_map(|x| x.to_le_bytes()).collect() };
    let clips =
        |v: &[usize]| -> Vec<u8> { v.iter().flat_map(|c| (*c as u64).to_le_bytes()).collect() };
    let (train, val) = (&features.train, &features.val);
    Ok(crate::checkpoint::fingerprint(&[
        &settings,
        &train.store.digest(),
        &floats(&train.targets),
        &clips(&train.clip_of),
        &val.store.digest(),
        &floats(&val.targets),
        &clips(&val.clip_of),
    ]))
}
