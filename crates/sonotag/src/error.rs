//! The facade's error type: every failure a user can cause, saying what and where.

use std::path::PathBuf;

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Decoding, resampling or feature extraction failed.
    #[error(transparent)]
    Audio(#[from] sonotag_audio::AudioError),
    /// A mel or segmentation setting is invalid.
    #[error("invalid feature settings: {0}")]
    FeatureConfig(#[from] sonotag_audio::ConfigError),
    /// Log-mel extraction failed.
    #[error("feature extraction: {0}")]
    Mel(#[from] sonotag_audio::MelError),
    /// Resampling failed.
    #[error("resampling: {0}")]
    Resample(#[from] sonotag_audio::ResampleError),
    /// The normaliser could not be fitted or applied.
    #[error("normaliser: {0}")]
    Normalizer(#[from] sonotag_audio::NormalizerError),
    /// A dataset (manifest, folder tree) is invalid.
    #[error(transparent)]
    Dataset(#[from] crate::dataset::DatasetError),
    /// Metrics or calibration failed.
    #[error(transparent)]
    Metrics(#[from] sonotag_metrics::MetricsError),
    /// An evaluation report folder could not be written.
    #[error("{path}: {source}")]
    Report {
        /// The report folder.
        path: PathBuf,
        /// What failed, naming the file where there is one.
        source: crate::report::ReportError,
    },
    /// The network could not be built or run.
    #[error(transparent)]
    Nn(#[from] sonotag_nn::NnError),
    /// A number from outside (a setting, a model card, a checkpoint, a flag) is above its
    /// [`Limits`](crate::Limits) bound.
    #[error("`{field}` is {value}, above the limit of {limit} ({name})")]
    Limit {
        /// The field, e.g. `labels`, `batch_size`, `model.widths[0]`.
        field: String,
        /// The value found.
        value: u64,
        /// The largest value allowed.
        limit: u64,
        /// The [`Limits`](crate::Limits) field that sets it, e.g. `Limits::max_labels`.
        name: String,
    },
    /// A configuration value is invalid.
    #[error("invalid configuration: `{field}` {reason}")]
    Config {
        /// The offending field.
        field: &'static str,
        /// Why it is invalid.
        reason: String,
    },
    /// The data cannot be trained or evaluated on as given: no clips, too few clips to split,
    /// an empty clip.
    #[error("invalid data: {what} {reason}")]
    InvalidData {
        /// Which data: the training set, the validation set, a clip, ...
        what: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Audio handed over in memory (samples to predict, a clip of a [`crate::dataset::Dataset`])
    /// holds a NaN or infinite sample. (A WAV file with one is refused when decoded, as an
    /// [`Error::Audio`].)
    #[error("{clip}: sample {index} is {value}; audio samples must be finite")]
    NonFiniteAudio {
        /// The clip: its id, or `"samples"` for samples given directly.
        clip: String,
        /// 0-based index of the first non-finite sample.
        index: usize,
        /// Its value (NaN or an infinity).
        value: f32,
    },
    /// The network produced a NaN or infinite logit: its weights are damaged or training
    /// diverged. Training reports it as [`Error::Diverged`].
    #[error(
        "the network produced a non-finite logit ({value}) for segment {segment}, output \
         {output}: its weights are damaged or training diverged"
    )]
    NonFiniteOutput {
        /// 0-based segment of the input.
        segment: usize,
        /// 0-based output (label).
        output: usize,
        /// The logit.
        value: f32,
    },
    /// Training stopped because a value became NaN or infinite.
    #[error("training diverged at epoch {epoch}, batch {batch}: {what}")]
    Diverged {
        /// 1-based epoch.
        epoch: usize,
        /// 1-based batch within the epoch.
        batch: usize,
        /// What became non-finite.
        what: String,
    },
    /// A saved model is missing, corrupt or incompatible.
    #[error("{path}: {reason}")]
    Model {
        /// Which kind of fault.
        kind: ModelFault,
        /// The model directory or file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A training checkpoint cannot be used to resume this run.
    #[error("{path}: {reason}")]
    Checkpoint {
        /// The checkpoint folder or file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// No usable compute backend, or the backend failed.
    #[error("backend: {reason}")]
    Backend {
        /// What is missing or failed.
        reason: String,
    },
}

/// What is wrong with a model directory, for code that reacts to the kind of damage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ModelFault {
    /// The folder or its `sonotag.json` does not exist or cannot be read.
    Missing,
    /// `sonotag.json` is not valid JSON of the expected shape.
    InvalidJson,
    /// `sonotag.json` has a format version this build does not read.
    UnsupportedVersion,
    /// `sonotag.json` contradicts itself (labels vs outputs, thresholds, normaliser, ...).
    Inconsistent,
    /// The weights file is missing or unreadable.
    WeightsMissing,
    /// The weights file is shorter or longer than recorded.
    WeightsTruncated,
    /// The weights do not match their recorded SHA-256.
    WeightsCorrupt,
    /// The weights do not fit the network described in `sonotag.json`.
    ShapeMismatch,
    /// The model could not be serialised while saving.
    Serialise,
    /// A number in `sonotag.json` (labels, network sizes) or the file's own size is above its
    /// [`Limits`](crate::Limits) bound.
    OverLimit,
}

impl Error {
    pub(crate) fn config(field: &'static str, reason: impl Into<String>) -> Self {
        Self::Config {
            field,
            reason: one_line(&reason.into()),
        }
    }

    pub(crate) fn invalid_data(what: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidData {
            what: one_line(&what.into()),
            reason: one_line(&reason.into()),
        }
    }

    /// This error with a [`Error::NonFiniteOutput`]'s segment index moved on by `by` (a batch's
    /// index made the index in a whole set or stream).
    pub(crate) fn offset_segment(self, by: usize) -> Self {
        match self {
            Self::NonFiniteOutput {
                segment,
                output,
                value,
            } => Self::NonFiniteOutput {
                segment: segment + by,
                output,
                value,
            },
            other => other,
        }
    }

    /// This error with the audio it is about named `clip` (a file's path instead of a
    /// stream's placeholder name).
    pub(crate) fn in_clip(self, clip: String) -> Self {
        match self {
            Self::NonFiniteAudio { index, value, .. } => {
                Self::NonFiniteAudio { clip, index, value }
            }
            Self::InvalidData { reason, .. } => Self::invalid_data(clip, reason),
            other => other,
        }
    }

    /// [`Error::NonFiniteAudio`] for the first NaN or infinite sample of `samples`, if any.
    pub(crate) fn check_finite_audio(clip: &str, samples: &[f32]) -> Result<()> {
        match samples.iter().position(|s| !s.is_finite()) {
            None => Ok(()),
            Some(index) => Err(Self::NonFiniteAudio {
                clip: clip.to_string(),
                index,
                value: samples[index],
            }),
        }
    }

    pub(crate) fn model(
        kind: ModelFault,
        path: impl Into<PathBuf>,
        reason: impl Into<String>,
    ) -> Self {
        Self::Model {
            kind,
            path: path.into(),
            reason: one_line(&reason.into()),
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }
}

/// `text` with its control characters escaped (`\n` for a line break), so that a message
/// quoting something from a file (a label, a cell, a JSON parser's complaint about a key)
/// stays one line.
pub(crate) fn one_line(text: &str) -> String {
    if !text.contains(char::is_control) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_quoting_file_text_stay_one_line() {
        let err = Error::model(ModelFault::InvalidJson, "m", "unknown field `a\nb`\r");
        assert_eq!(err.to_string(), "m: unknown field `a\\nb`\\r");
        assert_eq!(
            one_line("plain `text` \"quoted\""),
            "plain `text` \"quoted\""
        );
    }
}
