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
    /// The network could not be built or run.
    #[error(transparent)]
    Nn(#[from] sonotag_nn::NnError),
    /// A configuration value is invalid.
    #[error("invalid configuration: `{field}` {reason}")]
    Config {
        /// The offending field.
        field: &'static str,
        /// Why it is invalid.
        reason: String,
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
    /// No usable compute backend.
    #[error("backend: {reason}")]
    Backend {
        /// What is missing.
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
}

impl Error {
    pub(crate) fn config(field: &'static str, reason: impl Into<String>) -> Self {
        Self::Config {
            field,
            reason: reason.into(),
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
            reason: reason.into(),
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }
}
