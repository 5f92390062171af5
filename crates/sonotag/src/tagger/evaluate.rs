//! Evaluation: a labelled dataset in, clip-level metrics before and after calibration out.

use std::path::Path;

use serde::Serialize;
use sonotag_metrics::{MetricsReport, ReportOptions, ScoreMatrix, TargetMatrix, metrics_report};

use super::Tagger;
use crate::dataset::{ClipAudio, Dataset};
use crate::error::{Error, Result};
use crate::infer::SegmentSet;
use crate::link;
use crate::train::targets_of;

/// Clips decoded and scored together (in parallel) during evaluation.
const EVAL_CHUNK: usize = 64;

/// Metrics of clip-level probabilities before and after calibration.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Evaluation {
    /// Uncalibrated probabilities (the plain link of the logits: sigmoid, or softmax for a
    /// multiclass tagger).
    pub raw: MetricsReport,
    /// Calibrated probabilities.
    pub calibrated: MetricsReport,
    /// Corrupt packets the decoder skipped in the evaluated files, one line each (the file,
    /// its manifest line and the time in the recording); empty for clean input.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl Evaluation {
    /// The metrics of `raw` and `calibrated` probabilities `[n_clips][labels.len()]` against
    /// 0/1 `targets`.
    pub(crate) fn of(
        raw: &[f32],
        calibrated: &[f32],
        targets: &[u8],
        labels: &[String],
    ) -> Result<Self> {
        let n = labels.len();
        let rows = targets.len() / n;
        let t = TargetMatrix::new(targets, rows, n)?;
        let options = ReportOptions::default();
        let report = |scores: &[f32]| -> Result<MetricsReport> {
            Ok(metrics_report(
                &ScoreMatrix::new(scores, rows, n)?,
                &t,
                labels,
                &options,
            )?)
        };
        Ok(Self {
            raw: report(raw)?,
            calibrated: report(calibrated)?,
            warnings: Vec::new(),
        })
    }

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

impl Tagger {
    /// Scores the tagger on a labelled dataset: clip-level metrics before and after calibration.
    pub fn evaluate(&self, data: &Dataset) -> Result<Evaluation> {
        Ok(self.evaluate_arrays(data)?.0)
    }

    /// Like [`Tagger::evaluate`], also writing a report folder: `metrics.json`, ROC and PR
    /// curves and a reliability diagram as SVG and PNG (see [`crate::report`]).
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
        let (logits, targets, _) = self.clip_logits(data)?;
        let probs = self.calibrated(&logits)?;
        let n = self.labels.len();
        let scores = ScoreMatrix::new(&probs, data.len(), n)?;
        let targets = TargetMatrix::new(&targets, data.len(), n)?;
        Ok(metrics_report(&scores, &targets, &self.labels, options)?)
    }

    /// The evaluation with the probabilities it measured: raw, calibrated, and the targets.
    #[allow(clippy::type_complexity)]
    fn evaluate_arrays(&self, data: &Dataset) -> Result<(Evaluation, Vec<f32>, Vec<f32>, Vec<u8>)> {
        if data.is_empty() {
            return Err(Error::invalid_data(
                "the evaluation set",
                "is empty: nothing to evaluate",
            ));
        }
        let (logits, targets, warnings) = self.clip_logits(data)?;
        let raw = link::raw(self.task, &logits, self.labels.len())?;
        let calibrated = self.calibrated(&logits)?;
        let mut evaluation = Evaluation::of(&raw, &calibrated, &targets, &self.labels)?;
        evaluation.warnings = warnings;
        Ok((evaluation, raw, calibrated, targets))
    }

    /// Clip-level logits and 0/1 targets of a dataset (labels unknown to the model are an
    /// error), with the decoder's warnings. Clips are decoded a chunk at a time, in parallel,
    /// right before their features are made, so the dataset's audio is never held at once.
    fn clip_logits(&self, data: &Dataset) -> Result<(Vec<f32>, Vec<u8>, Vec<String>)> {
        let targets = targets_of(data, &self.labels)?;
        // The rate of every clip in memory first, before any features are made; a file's rate
        // is checked once it is decoded.
        for clip in &data.clips {
            if let ClipAudio::Samples { sample_rate, .. } = clip.audio {
                self.pipeline
                    .check_input_rate(sample_rate)
                    .map_err(|e| Error::invalid_data(clip.describe(), e.to_string()))?;
            }
        }
        let mut logits = Vec::with_capacity(data.len() * self.labels.len());
        let warnings = std::sync::Mutex::new(Vec::new());
        for chunk in data.clips.chunks(EVAL_CHUNK) {
            let mut features = self.pipeline.clips_fetched(
                chunk.len(),
                |k| {
                    let loaded = self.pipeline.clip_audio(&chunk[k])?;
                    if !loaded.warnings.is_empty() {
                        let clip = chunk[k].describe();
                        let mut all = warnings.lock().unwrap_or_else(|p| p.into_inner());
                        all.extend(loaded.warnings.iter().map(|w| format!("{clip}: {w}")));
                    }
                    Ok((loaded.samples, loaded.sample_rate))
                },
                |_| {},
                None,
            )?;
            self.pipeline.normalize(&self.normalizer, &mut features)?;
            let set = SegmentSet::new(&features);
            logits.extend(self.scorer().clip_logits(&set, self.clip_pooling)?);
        }
        let mut warnings = warnings.into_inner().unwrap_or_else(|p| p.into_inner());
        // Workers finish clips in any order: sorted, the list does not depend on the threads.
        warnings.sort();
        Ok((logits, targets.iter().map(|&t| t as u8).collect(), warnings))
    }
}
