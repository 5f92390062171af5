//! What a model is, checked and resolved before any audio is touched: the settings, the
//! labels, the network and the feature pipeline.

use sonotag_nn::CnnConfig;

use crate::config::{ModelSpec, TrainConfig};
use crate::dataset::Dataset;
use crate::error::{Error, Result};
use crate::infer::InputShape;
use crate::limits::Limits;
use crate::prep::{FeatureConfig, FeaturePipeline};

/// The model settings a [`crate::TaggerBuilder`] collects: everything stored with the model.
#[derive(Debug, Clone, Default)]
pub(crate) struct ModelSettings {
    /// The labels in output order; `None` takes the sorted labels of the training data.
    pub labels: Option<Vec<String>>,
    pub features: FeatureConfig,
    pub config: TrainConfig,
}

/// Validated model settings, resolved against the training data.
pub(super) struct Plan {
    pub config: TrainConfig,
    pub labels: Vec<String>,
    pub pipeline: FeaturePipeline,
    pub model_config: CnnConfig,
    pub shape: InputShape,
}

impl Plan {
    /// Checks `settings` (against `limits` too) and resolves the labels and the network for
    /// `data`.
    pub fn new(settings: ModelSettings, data: &Dataset, limits: &Limits) -> Result<Self> {
        let ModelSettings {
            labels,
            features,
            config,
        } = settings;
        config.validate()?;
        Limits::check(
            "batch_size",
            config.batch_size,
            limits.max_batch_size,
            "max_batch_size",
        )?;
        Limits::check("epochs", config.epochs, limits.max_epochs, "max_epochs")?;
        if data.is_empty() {
            return Err(Error::invalid_data(
                "the training set",
                "is empty: nothing to train on",
            ));
        }
        let labels = labels.unwrap_or_else(|| data.labels());
        if labels.is_empty() {
            return Err(Error::config(
                "labels",
                "none given and the training data has none",
            ));
        }
        limits.check_labels(labels.len())?;
        let model_config = network(&config.model, labels.len())?;
        model_config.check_limits(&limits.net)?;
        let pipeline = FeaturePipeline::new(features, &limits.audio)?;
        let shape = InputShape {
            n_mels: pipeline.n_mels(),
            n_frames: pipeline.n_frames(),
        };
        model_config.output_shape([1, 1, shape.n_mels, shape.n_frames])?;
        Ok(Self {
            config,
            labels,
            pipeline,
            model_config,
            shape,
        })
    }

    pub fn n_labels(&self) -> usize {
        self.labels.len()
    }
}

/// The network of `spec` with one output per label.
fn network(spec: &ModelSpec, n_labels: usize) -> Result<CnnConfig> {
    match spec {
        ModelSpec::Preset(p) => Ok(p.preset().config(n_labels)),
        ModelSpec::Custom(c) if c.n_outputs == n_labels => Ok(c.clone()),
        ModelSpec::Custom(c) => Err(Error::config(
            "model",
            format!(
                "the network has {} outputs for {n_labels} labels",
                c.n_outputs
            ),
        )),
    }
}
