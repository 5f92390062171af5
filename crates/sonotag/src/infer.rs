//! From features to logits: a network scores batches of segments, and segment logits pool into
//! clip logits. Prediction, evaluation, per-epoch validation and calibration all score here;
//! [`crate::link`] then turns the logits into probabilities.

use burn::tensor::{Device, Tensor, TensorData};
use sonotag_nn::Cnn;
use sonotag_nn::fused::FusedCnn;

use crate::config::ClipPooling;
use crate::error::{Error, Result};
use crate::prep::ClipFeatures;
use crate::store::SegmentStore;

/// Segments scored together when no other batch size is asked for.
const BATCH: usize = 64;

/// Shape of one input: mel bands and frames.
#[derive(Debug, Clone, Copy)]
pub(crate) struct InputShape {
    pub n_mels: usize,
    pub n_frames: usize,
}

impl InputShape {
    /// Values per segment.
    pub fn len(self) -> usize {
        self.n_mels * self.n_frames
    }

    /// The segments in `x` as a `[batch, 1, n_mels, n_frames]` tensor on `device`.
    pub fn batch(self, x: &[f32], device: &Device) -> Tensor<4> {
        let b = x.len() / self.len();
        Tensor::from_data(
            TensorData::new(x.to_vec(), [b, 1, self.n_mels, self.n_frames]),
            device,
        )
    }
}

/// Segment features laid out flat, with the clip of each segment.
pub(crate) struct SegmentSet {
    /// `[n_segments][n_mels * n_frames]`, row-major.
    pub x: Vec<f32>,
    /// The clip each segment belongs to.
    pub clip_of: Vec<usize>,
    pub n_clips: usize,
}

impl SegmentSet {
    pub fn new(clips: &[ClipFeatures]) -> Self {
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
            n_clips: clips.len(),
        }
    }
}

/// Segment features in a [`SegmentStore`] (memory up to a limit, then disk), with the clip of
/// each segment and clip-level targets: the validation split of a training run, which grows
/// with the dataset.
pub(crate) struct StoredSegments {
    /// The segments, in clip order.
    pub store: SegmentStore,
    /// The clip each segment belongs to.
    pub clip_of: Vec<usize>,
    /// `[n_clips][n_labels]` 0/1 targets.
    pub targets: Vec<f32>,
    pub n_clips: usize,
}

/// A network in inference mode, ready to score segments.
pub(crate) struct Scorer<'a> {
    model: &'a Cnn,
    /// The batch-norm-folded twin of `model`: used instead of it when given.
    fused: Option<&'a FusedCnn>,
    shape: InputShape,
    batch_size: usize,
}

impl<'a> Scorer<'a> {
    pub fn new(model: &'a Cnn, fused: Option<&'a FusedCnn>, shape: InputShape) -> Self {
        Self {
            model,
            fused,
            shape,
            batch_size: BATCH,
        }
    }

    /// Scores this many segments per forward pass.
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }

    /// Logits `[n_segments][n_outputs]` of the segments in `x`; a non-finite logit is an
    /// [`Error::NonFiniteOutput`].
    pub fn segment_logits(&self, x: &[f32]) -> Result<Vec<f32>> {
        let device = self.model.device();
        let n_outputs = self.model.n_outputs();
        let mut out = Vec::with_capacity(x.len() / self.shape.len() * n_outputs);
        for chunk in x.chunks(self.shape.len() * self.batch_size) {
            let input = self.shape.batch(chunk, &device);
            let logits = match self.fused {
                Some(fused) => fused.try_forward(input)?,
                None => self.model.try_forward(input)?,
            };
            let values = logits
                .into_data()
                .try_into_vec::<f32>()
                .map_err(|e| Error::Backend {
                    reason: format!("reading logits: {e:?}"),
                })?;
            // Only damaged or diverged weights get here; never hand out NaN probabilities.
            if let Some(i) = values.iter().position(|v| !v.is_finite()) {
                let at = out.len() + i;
                return Err(Error::NonFiniteOutput {
                    segment: at / n_outputs.max(1),
                    output: at % n_outputs.max(1),
                    value: values[i],
                });
            }
            out.extend(values);
        }
        Ok(out)
    }

    /// Clip logits `[n_clips][n_outputs]` of `set`: its segment logits pooled per clip.
    pub fn clip_logits(&self, set: &SegmentSet, pooling: ClipPooling) -> Result<Vec<f32>> {
        let segment_logits = self.segment_logits(&set.x)?;
        Ok(pool_clips(
            &segment_logits,
            &set.clip_of,
            set.n_clips,
            self.model.n_outputs(),
            pooling,
        ))
    }
}

impl Scorer<'_> {
    /// Clip logits `[n_clips][n_outputs]` of `set`, reading its store one batch at a time.
    pub fn stored_clip_logits(
        &self,
        set: &StoredSegments,
        pooling: ClipPooling,
    ) -> Result<Vec<f32>> {
        let n_outputs = self.model.n_outputs();
        let mut segment_logits = Vec::with_capacity(set.store.len() * n_outputs);
        let mut x = Vec::with_capacity(self.batch_size * self.shape.len());
        let mut start = 0;
        while start < set.store.len() {
            let end = (start + self.batch_size).min(set.store.len());
            x.clear();
            for i in start..end {
                set.store.read(i, &mut x)?;
            }
            // Segment indices in errors count from the start of the set, not of the batch.
            let logits = self
                .segment_logits(&x)
                .map_err(|e| e.offset_segment(start))?;
            segment_logits.extend(logits);
            start = end;
        }
        Ok(pool_clips(
            &segment_logits,
            &set.clip_of,
            set.n_clips,
            n_outputs,
            pooling,
        ))
    }
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

/// The batch-norm-folded twin of `model` that predictions run on (about 3x faster on the CPU;
/// see docs/benchmarks.md); `None` (plain burn inference) for a network it cannot fold.
pub(crate) fn fuse(model: &Cnn) -> Option<FusedCnn> {
    FusedCnn::new(model).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pooling_takes_the_max_or_the_mean_of_each_clips_segments() {
        // Three segments of two labels: segments 0 and 1 belong to clip 0, segment 2 to clip 1.
        let logits = [1.0, -2.0, 3.0, -4.0, 5.0, 6.0];
        let clip_of = [0, 0, 1];
        assert_eq!(
            pool_clips(&logits, &clip_of, 2, 2, ClipPooling::Max),
            [3.0, -2.0, 5.0, 6.0]
        );
        assert_eq!(
            pool_clips(&logits, &clip_of, 2, 2, ClipPooling::Mean),
            [2.0, -3.0, 5.0, 6.0]
        );
    }
}
