//! The features of a run: training segments in a store (memory up to a limit, then disk) with
//! the normaliser fitted on them, and normalised validation segments in a store sharing that
//! limit. Clips are decoded a chunk at a time, in parallel, right before their features are
//! made, so the dataset's audio is never held at once.

use std::sync::Mutex;

use sonotag_audio::decode::DecodeWarning;
use sonotag_audio::{Normalizer, NormalizerFit};

use super::TrainEvent;
use super::data::Split;
use super::options::RunOptions;
use super::plan::Plan;
use crate::cache::FeatureCache;
use crate::dataset::{Clip, Dataset};
use crate::error::{Error, Result};
use crate::infer::StoredSegments;
use crate::prep::{ClipFeatures, FeaturePipeline};
use crate::store::{SegmentStore, SegmentWriter};

/// Clips whose features are computed together (in parallel) before joining the store. Their
/// features are held until the chunk is stored: 64 clips of 30 s at the default settings are
/// about 50 MB.
const FEATURE_CHUNK: usize = 64;

/// The event callback of a run, shared by the threads extracting features.
type EventSink<'e> = &'e mut (dyn FnMut(&TrainEvent) + Send);

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
    pub val: StoredSegments,
}

/// Counts the clips whose features are done and tells the run's callback after each one.
/// Worker threads finish clips; the lock keeps the counts and the events in order.
struct Progress<'e> {
    state: Mutex<ProgressState<'e>>,
}

struct ProgressState<'e> {
    on_event: EventSink<'e>,
    files_done: usize,
    files_total: usize,
    audio_seconds_done: f64,
}

impl<'e> Progress<'e> {
    fn new(on_event: EventSink<'e>, files_total: usize) -> Self {
        Self {
            state: Mutex::new(ProgressState {
                on_event,
                files_done: 0,
                files_total,
                audio_seconds_done: 0.0,
            }),
        }
    }

    /// Tells the callback of each corrupt packet the decoder skipped in `clip`.
    fn decode_warnings(&self, clip: &Clip, warnings: &[DecodeWarning]) {
        if warnings.is_empty() {
            return;
        }
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for w in warnings {
            (state.on_event)(&TrainEvent::DecodeWarning {
                clip: clip.describe(),
                time_s: w.time_s,
                message: w.message.clone(),
            });
        }
    }

    /// One more clip of `seconds` of audio done.
    fn clip_done(&self, seconds: f64) {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        state.files_done += 1;
        state.audio_seconds_done += seconds;
        let event = TrainEvent::Features {
            files_done: state.files_done,
            files_total: state.files_total,
            audio_seconds_done: state.audio_seconds_done,
        };
        (state.on_event)(&event);
    }
}

/// Computes the features of the split (through the run's feature cache, if any), telling
/// `on_event` of each clip done; the normaliser is fitted on the training split only.
pub(super) fn compute(
    plan: &Plan,
    data: &Dataset,
    split: Split<'_>,
    run: &RunOptions,
    on_event: EventSink<'_>,
) -> Result<Features> {
    let pipeline = &plan.pipeline;
    // The rate of every clip in memory first: a clip that cannot be resampled within the
    // limits is named before hours of feature extraction. A file's rate is known once it is
    // decoded, and checked then.
    for clip in split
        .train
        .iter()
        .map(|&i| &data.clips[i])
        .chain(split.val.iter().copied())
    {
        if let crate::dataset::ClipAudio::Samples { sample_rate, .. } = clip.audio {
            pipeline
                .check_input_rate(sample_rate)
                .map_err(|e| Error::invalid_data(clip.describe(), e.to_string()))?;
        }
    }
    let cache = run
        .feature_cache
        .as_deref()
        .map(|dir| FeatureCache::new(dir, pipeline.config()))
        .transpose()?;
    let progress = Progress::new(on_event, split.train.len() + split.val.len());
    let train_clips: Vec<&Clip> = split.train.iter().map(|&i| &data.clips[i]).collect();
    let limit = run.feature_memory_limit;
    let (store, clip_of, normalizer) =
        training_segments(pipeline, &train_clips, cache.as_ref(), limit, &progress)?;
    // Validation features share the memory limit with the training ones.
    let val_limit = limit.saturating_sub(store.memory_bytes());
    let val = validation_segments(
        pipeline,
        &split.val,
        &normalizer,
        cache.as_ref(),
        val_limit,
        &progress,
    )?;
    Ok(Features {
        train: TrainSegments {
            store,
            normalizer,
            clip_of,
            targets: split.train_targets,
            n_clips: split.train.len(),
        },
        val: StoredSegments {
            store: val.0,
            clip_of: val.1,
            targets: split.val_targets,
            n_clips: split.val.len(),
        },
    })
}

/// The features of `clips`, a chunk at a time: each chunk's clips are decoded and turned into
/// features in parallel, and `each` takes the chunk's features (with the index of its first
/// clip) before the next chunk is decoded.
fn chunked_features(
    pipeline: &FeaturePipeline,
    clips: &[&Clip],
    cache: Option<&FeatureCache>,
    progress: &Progress<'_>,
    mut each: impl FnMut(usize, Vec<ClipFeatures>) -> Result<()>,
) -> Result<()> {
    for (c, chunk) in clips.chunks(FEATURE_CHUNK).enumerate() {
        let features = pipeline.clips_fetched(
            chunk.len(),
            |k| {
                let loaded = pipeline.clip_audio(chunk[k])?;
                progress.decode_warnings(chunk[k], &loaded.warnings);
                Ok((loaded.samples, loaded.sample_rate))
            },
            |seconds| progress.clip_done(seconds),
            cache,
        )?;
        each(c * FEATURE_CHUNK, features)?;
    }
    Ok(())
}

/// Training features, computed a chunk of clips at a time (in parallel within the chunk) into
/// a store that keeps them in memory up to `memory_limit` bytes, then on disk; the normaliser
/// is fitted on the way. Returns the store, the clip of each segment and the normaliser.
fn training_segments(
    pipeline: &FeaturePipeline,
    clips: &[&Clip],
    cache: Option<&FeatureCache>,
    memory_limit: usize,
    progress: &Progress<'_>,
) -> Result<(SegmentStore, Vec<usize>, Normalizer)> {
    let mut writer = SegmentWriter::new(pipeline.n_mels() * pipeline.n_frames(), memory_limit);
    let mut fit = NormalizerFit::new(pipeline.n_mels());
    let mut clip_of = Vec::new();
    chunked_features(pipeline, clips, cache, progress, |first, features| {
        for (k, clip) in features.iter().enumerate() {
            for segment in &clip.segments {
                pipeline.fit_update(&mut fit, segment)?;
                writer.push(&segment.mel)?;
                clip_of.push(first + k);
            }
        }
        Ok(())
    })?;
    let store = writer.seal()?;
    debug_assert_eq!(store.len(), clip_of.len());
    let normalizer = fit.finish(1e-3)?;
    Ok((store, clip_of, normalizer))
}

/// Validation features, normalised, into a store holding at most `memory_limit` bytes in
/// memory. Returns the store and the clip of each segment.
fn validation_segments(
    pipeline: &FeaturePipeline,
    clips: &[&Clip],
    normalizer: &Normalizer,
    cache: Option<&FeatureCache>,
    memory_limit: usize,
    progress: &Progress<'_>,
) -> Result<(SegmentStore, Vec<usize>)> {
    let mut writer = SegmentWriter::new(pipeline.n_mels() * pipeline.n_frames(), memory_limit);
    let mut clip_of = Vec::new();
    chunked_features(pipeline, clips, cache, progress, |first, mut features| {
        pipeline.normalize(normalizer, &mut features)?;
        for (k, clip) in features.iter().enumerate() {
            for segment in &clip.segments {
                writer.push(&segment.mel)?;
                clip_of.push(first + k);
            }
        }
        Ok(())
    })?;
    Ok((writer.seal()?, clip_of))
}
