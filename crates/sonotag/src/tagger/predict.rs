//! Prediction: audio in, calibrated per-segment and per-clip probabilities out.

use std::path::Path;

use rayon::prelude::*;
use serde::Serialize;

use super::Tagger;
use crate::config::TaskKind;
use crate::error::{Error, Result};
use crate::infer::{self, SegmentSet};
use crate::prep::ClipFeatures;

/// Probabilities of one segment of a clip.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
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
#[non_exhaustive]
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
#[non_exhaustive]
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

impl Tagger {
    /// Predicts a WAV file.
    pub fn predict_file(&self, path: impl AsRef<Path>) -> Result<Prediction> {
        let path = path.as_ref();
        let (samples, rate) = self.decode(path)?;
        let mut p = self.predict_samples(&samples, rate)?;
        p.source = path.display().to_string();
        Ok(p)
    }

    /// Decodes a WAV file to mono, refusing (with the path) a sample rate the features cannot
    /// be made from within the limits, before anything is resampled.
    fn decode(&self, path: &Path) -> Result<(Vec<f32>, u32)> {
        let audio = sonotag_audio::wav::decode_file(path)?;
        let rate = audio.sample_rate();
        self.pipeline.check_input_rate(rate).map_err(|source| {
            sonotag_audio::AudioError::Resample {
                path: path.to_path_buf(),
                source,
            }
        })?;
        Ok((audio.into_mono(), rate))
    }

    /// Predicts many WAV files; decoding and features run in parallel, the network in batches.
    /// Each file gets its own result, so one bad file does not hide the others.
    pub fn predict_files<P: AsRef<Path> + Sync>(&self, paths: &[P]) -> Vec<Result<Prediction>> {
        paths
            .par_iter()
            .map(|p| {
                let (samples, rate) = self.decode(p.as_ref())?;
                let features = self.clip_features(&samples, rate)?;
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
        let logits = self.scorer().segment_logits(&set.x)?;
        let n = self.labels.len();
        let pooled = infer::pool_clips(&logits, &set.clip_of, 1, n, self.clip_pooling);
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
}
