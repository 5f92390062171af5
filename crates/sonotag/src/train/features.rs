//! The features of a run: training segments in a store (memory up to a limit, then disk) with
//! the normaliser fitted on them, and normalised validation segments.

use rayon::prelude::*;
use sonotag_audio::{Normalizer, NormalizerFit};

use super::data::Split;
use super::options::RunOptions;
use super::plan::Plan;
use crate::cache::FeatureCache;
use crate::dataset::Dataset;
use crate::error::{Error, Result};
use crate::infer::SegmentSet;
use crate::prep::FeaturePipeline;
use crate::store::{SegmentStore, SegmentWriter};

/// Clips whose features are computed together (in parallel) before joining the store.
const FEATURE_CHUNK: usize = 256;

/// Training segments: stored as computed and normalised as batches are read.
pub(super) struct TrainSegments {
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

    /// Appends segment `i`, normalised, to `out`.
    pub fn read_normalized(&self, i: usize, out: &mut Vec<f32>) -> Result<()> {
        self.store.read_normalized(i, &self.normalizer, out)
    }

    /// The share of training clips carrying each label.
    pub fn priors(&self, n_labels: usize) -> Vec<f64> {
        (0..n_labels)
            .map(|j| {
                let pos: f32 = self.targets.iter().skip(j).step_by(n_labels).sum();
                f64::from(pos) / self.n_clips.max(1) as f64
            })
            .collect()
    }
}

/// The features of a run.
pub(super) struct Features {
    pub train: TrainSegments,
    /// Normalised validation segments with their clip targets.
    pub val: SegmentSet,
}

/// Computes the features of the split (through the run's feature cache, if any); the
/// normaliser is fitted on the training split only.
pub(super) fn compute(
    plan: &Plan,
    data: &Dataset,
    split: Split<'_>,
    run: &RunOptions,
) -> Result<Features> {
    let pipeline = &plan.pipeline;
    // Every clip's rate first: a clip that cannot be resampled within the limits is named
    // before hours of feature extraction.
    for clip in data.clips.iter().chain(split.val.iter().copied()) {
        pipeline
            .check_input_rate(clip.sample_rate)
            .map_err(|e| Error::invalid_data(format!("clip `{}`", clip.id), e.to_string()))?;
    }
    let cache = run
        .feature_cache
        .as_deref()
        .map(|dir| FeatureCache::new(dir, pipeline.config()))
        .transpose()?;
    let (store, clip_of, normalizer) = training_segments(
        pipeline,
        data,
        &split.train,
        cache.as_ref(),
        run.feature_memory_limit,
    )?;
    let mut val_features = pipeline.clips_cached(
        split
            .val
            .par_iter()
            .map(|c| (&c.samples[..], c.sample_rate)),
        cache.as_ref(),
    )?;
    pipeline.normalize(&normalizer, &mut val_features)?;
    Ok(Features {
        train: TrainSegments {
            store,
            normalizer,
            clip_of,
            targets: split.train_targets,
            n_clips: split.train.len(),
        },
        val: SegmentSet::new(&val_features, split.val_targets),
    })
}

/// Training features, computed a chunk of clips at a time (in parallel within the chunk) into
/// a store that keeps them in memory up to `memory_limit` bytes, then on disk; the normaliser
/// is fitted on the way. Returns the store, the clip of each segment and the normaliser.
fn training_segments(
    pipeline: &FeaturePipeline,
    data: &Dataset,
    train: &[usize],
    cache: Option<&FeatureCache>,
    memory_limit: usize,
) -> Result<(SegmentStore, Vec<usize>, Normalizer)> {
    let mut writer = SegmentWriter::new(pipeline.n_mels() * pipeline.n_frames(), memory_limit);
    let mut fit = NormalizerFit::new(pipeline.n_mels());
    let mut clip_of = Vec::new();
    for (c, chunk) in train.chunks(FEATURE_CHUNK).enumerate() {
        let features = pipeline.clips_cached(
            chunk.par_iter().map(|&i| {
                let c = &data.clips[i];
                (&c.samples[..], c.sample_rate)
            }),
            cache,
        )?;
        for (k, clip) in features.iter().enumerate() {
            for segment in &clip.segments {
                pipeline.fit_update(&mut fit, segment)?;
                writer.push(&segment.mel)?;
                clip_of.push(c * FEATURE_CHUNK + k);
            }
        }
    }
    let store = writer.seal()?;
    debug_assert_eq!(store.len(), clip_of.len());
    let normalizer = fit.finish(1e-3)?;
    Ok((store, clip_of, normalizer))
}
