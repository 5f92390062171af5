//! Prediction: audio in, calibrated per-segment and per-clip probabilities out.

use std::path::Path;

use rayon::prelude::*;
use serde::Serialize;
use sonotag_audio::AudioError;
use sonotag_audio::decode::AudioReader;

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
    /// What the decoder skipped (corrupt packets, each with its time in the recording);
    /// empty for clean input and for samples given directly.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
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

/// Frames read from a file per step of [`Tagger::predict_file`]: about a second at 48 kHz,
/// small enough that memory stays flat, large enough that the per-call cost vanishes.
const READ_FRAMES: usize = 1 << 16;

/// Segments scored together by [`Tagger::predict_file`]: the batch of the whole-clip path
/// too, so both give the same numbers to the bit.
const FILE_BATCH: usize = 64;

impl Tagger {
    /// Predicts an audio file of any supported format (chosen by its content: WAV, FLAC, MP3,
    /// Ogg Vorbis, AAC or ALAC in MP4/M4A, AIFF, CAF) and any length: the file is decoded,
    /// resampled and scored as a stream ([`Tagger::stream`]), so memory does not grow with
    /// the recording. The result equals [`Tagger::predict_samples`] on the decoded mono
    /// samples. Corrupt packets skipped by the decoder are listed in
    /// [`Prediction::warnings`] with their time.
    ///
    /// # Errors
    /// [`Error::Audio`] naming the file when it cannot be opened or decoded, or when its
    /// sample rate cannot be brought to the model's within the limits (checked before any
    /// audio is read).
    pub fn predict_file(&self, path: impl AsRef<Path>) -> Result<Prediction> {
        let path = path.as_ref();
        let name = || path.display().to_string();
        let mut reader = AudioReader::open_within(path, self.pipeline.limits())?;
        let rate = reader.info().sample_rate;
        self.pipeline
            .check_input_rate(rate)
            .map_err(|source| AudioError::Resample {
                path: path.to_path_buf(),
                source,
            })?;
        let mut stream = self.stream(rate)?.with_batch_size(FILE_BATCH);
        let mut segments = Vec::new();
        let mut chunk = Vec::with_capacity(READ_FRAMES);
        loop {
            chunk.clear();
            if reader.read_mono(&mut chunk, READ_FRAMES)? == 0 {
                break;
            }
            segments.extend(stream.push(&chunk).map_err(|e| e.in_clip(name()))?);
        }
        let end = stream.finish().map_err(|e| e.in_clip(name()))?;
        segments.extend(end.segments);
        let mut prediction = self.prediction(name(), end.clip, segments);
        prediction.warnings = reader.warnings().iter().map(ToString::to_string).collect();
        Ok(prediction)
    }

    /// Predicts many audio files ([`Self::predict_file`] each), in parallel. Each file gets
    /// its own result, so one bad file does not hide the others.
    pub fn predict_files<P: AsRef<Path> + Sync>(&self, paths: &[P]) -> Vec<Result<Prediction>> {
        paths.par_iter().map(|p| self.predict_file(p)).collect()
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
        let set = SegmentSet::new(std::slice::from_ref(&features));
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
        Ok(self.prediction(source, clip, segments))
    }

    fn prediction(
        &self,
        source: String,
        clip: Vec<f32>,
        segments: Vec<SegmentPrediction>,
    ) -> Prediction {
        Prediction {
            source,
            task: self.task,
            labels: self.labels.clone(),
            clip,
            thresholds: self.thresholds.clone(),
            segments,
            warnings: Vec::new(),
        }
    }
}
