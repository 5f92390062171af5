//! How one training run goes, as opposed to what the model is.

use std::path::PathBuf;

use burn::tensor::Device;

use super::TrainEvent;
use crate::dataset::Dataset;
use crate::error::{Error, Result};
use crate::limits::Limits;

/// Features held in memory before they spill to disk, by default: about 2.9 hours of audio at
/// the default settings (26 KB per second). Spilled segments are read back a batch at a time,
/// from the page cache while it holds them, at a cost far below a training step's, so a larger
/// default would only raise the resident memory of runs on a few hours of audio or more.
const DEFAULT_FEATURE_MEMORY: usize = 256 << 20;

type EventCallback = Box<dyn FnMut(&TrainEvent) + Send>;

/// How one training run goes: the device, the validation data, where features and
/// checkpoints are kept, and who hears about progress.
///
/// None of this is stored with the model or changes what it is: the labels, the feature
/// settings and the [`TrainConfig`](crate::TrainConfig) do, and are set on the
/// [`TaggerBuilder`](crate::TaggerBuilder). Give the options to the builder with
/// [`TaggerBuilder::run`](crate::TaggerBuilder::run), or set them one by one through the
/// builder's run settings.
///
/// ```no_run
/// use sonotag::{RunOptions, Tagger, dataset::Dataset};
///
/// let train = Dataset::from_manifest("train.csv".as_ref())?;
/// let run = RunOptions::default()
///     .feature_cache("features/")
///     .checkpoint_dir("checkpoints/")
///     .resume(true)
///     .on_event(|event| eprintln!("{event:?}"));
/// let (tagger, _) = Tagger::builder().epochs(20).run(run).train(&train)?;
/// # Ok::<(), sonotag::Error>(())
/// ```
#[non_exhaustive]
pub struct RunOptions {
    pub(crate) device: Option<Device>,
    pub(crate) validation: Option<Dataset>,
    pub(crate) feature_cache: Option<PathBuf>,
    pub(crate) feature_memory_limit: usize,
    pub(crate) checkpoint_dir: Option<PathBuf>,
    pub(crate) resume: bool,
    pub(crate) limits: Limits,
    pub(crate) on_event: EventCallback,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            device: None,
            validation: None,
            feature_cache: None,
            feature_memory_limit: DEFAULT_FEATURE_MEMORY,
            checkpoint_dir: None,
            resume: false,
            limits: Limits::default(),
            on_event: Box::new(|_| {}),
        }
    }
}

impl std::fmt::Debug for RunOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOptions")
            .field("device", &self.device)
            .field(
                "validation_clips",
                &self.validation.as_ref().map(Dataset::len),
            )
            .field("feature_cache", &self.feature_cache)
            .field("feature_memory_limit", &self.feature_memory_limit)
            .field("checkpoint_dir", &self.checkpoint_dir)
            .field("resume", &self.resume)
            .finish_non_exhaustive()
    }
}

impl RunOptions {
    /// Trains on `device` instead of [`crate::backend::default_device`].
    pub fn device(mut self, device: Device) -> Self {
        self.device = Some(device);
        self
    }

    /// Validates on this dataset instead of a split of the training data.
    pub fn validation(mut self, data: Dataset) -> Self {
        self.validation = Some(data);
        self
    }

    /// Keeps the features of every clip in `dir`, keyed by the clip's audio and the feature
    /// settings, so later runs on the same audio skip feature extraction. Damaged cache files
    /// are recomputed, never trusted.
    pub fn feature_cache(mut self, dir: impl Into<PathBuf>) -> Self {
        self.feature_cache = Some(dir.into());
        self
    }

    /// Keeps at most about `bytes` of features in memory (default 256 MiB), training and
    /// validation together; beyond that they live in anonymous temporary files and are read
    /// back batch by batch. Clips are decoded a chunk at a time while their features are made,
    /// so this budget, not the length of the dataset, bounds the memory a run takes.
    pub fn feature_memory_limit(mut self, bytes: usize) -> Self {
        self.feature_memory_limit = bytes;
        self
    }

    /// Writes a checkpoint into `dir` after every epoch (model, optimiser state, history, best
    /// model), atomically, so a killed run can be resumed with [`Self::resume`].
    pub fn checkpoint_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.checkpoint_dir = Some(dir.into());
        self
    }

    /// Continues from the checkpoint in [`Self::checkpoint_dir`] when there is one (a run with
    /// no checkpoint yet starts from the beginning). On the CPU backend the resumed run ends
    /// with exactly the weights of an uninterrupted one. A checkpoint written with other data
    /// or settings is refused with [`Error::Checkpoint`].
    pub fn resume(mut self, resume: bool) -> Self {
        self.resume = resume;
        self
    }

    /// Holds the settings, the data and any checkpoint to `limits` instead of the defaults
    /// (for a network, a label set or a batch larger than they admit). A number above its
    /// bound is an [`Error::Limit`](crate::Error::Limit) before anything is sized by it.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Receives [`TrainEvent`]s while training runs.
    pub fn on_event(mut self, callback: impl FnMut(&TrainEvent) + Send + 'static) -> Self {
        self.on_event = Box::new(callback);
        self
    }

    /// Refuses combinations that cannot work, before any work is done.
    pub(crate) fn check(&self) -> Result<()> {
        if self.resume && self.checkpoint_dir.is_none() {
            return Err(Error::config(
                "resume",
                "needs a checkpoint folder: set `checkpoint_dir` too",
            ));
        }
        Ok(())
    }

    /// The device to train on.
    pub(crate) fn device_or_default(&self) -> Device {
        self.device
            .clone()
            .unwrap_or_else(crate::backend::default_device)
    }
}
