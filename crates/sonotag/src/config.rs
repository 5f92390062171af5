//! What a model is: its feature and training settings, with defaults that work for audio
//! tagging. All of them are stored with the model.

use serde::{Deserialize, Serialize};
use sonotag_audio::{MelConfig, SegmentConfig};
use sonotag_nn::{CnnConfig, Preset};

use crate::error::{Error, Result};

/// Feature settings stored with a model: mel spectrogram and segmentation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
#[non_exhaustive]
pub struct FeatureConfig {
    /// Log-mel parameters.
    pub mel: MelConfig,
    /// How clips are cut into fixed windows.
    pub segment: SegmentConfig,
}

/// Which network to train.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ModelSpec {
    /// A named preset (`seed_net`, `cnn6`, `cnn10`, `tiny`); the head width follows the labels.
    Preset(PresetName),
    /// A custom stack of convolution blocks; its head width must equal the number of labels.
    Custom(CnnConfig),
}

impl Default for ModelSpec {
    fn default() -> Self {
        Self::Preset(PresetName::SeedNet)
    }
}

/// The presets of `sonotag-nn`, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PresetName {
    /// The reference network (4 conv blocks, 32-256 channels).
    SeedNet,
    /// PANNs-style CNN6.
    Cnn6,
    /// PANNs-style CNN10.
    Cnn10,
    /// A tiny network for tests and quick experiments.
    Tiny,
}

impl PresetName {
    /// The `sonotag-nn` preset.
    pub fn preset(self) -> Preset {
        match self {
            Self::SeedNet => Preset::SeedNet,
            Self::Cnn6 => Preset::Cnn6,
            Self::Cnn10 => Preset::Cnn10,
            Self::Tiny => Preset::Tiny,
        }
    }

    /// Parses a command-line name.
    pub fn parse(name: &str) -> Result<Self> {
        match name.to_ascii_lowercase().replace('-', "_").as_str() {
            "seed_net" | "seednet" => Ok(Self::SeedNet),
            "cnn6" => Ok(Self::Cnn6),
            "cnn10" => Ok(Self::Cnn10),
            "tiny" => Ok(Self::Tiny),
            other => Err(Error::config(
                "model",
                format!("unknown preset `{other}` (known: seed_net, cnn6, cnn10, tiny)"),
            )),
        }
    }
}

/// Learning-rate schedule over the whole run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Schedule {
    /// The base rate throughout.
    Constant,
    /// Linear warm-up over `warmup_fraction` of the steps, then cosine decay to zero.
    Cosine {
        /// Share of all steps spent warming up, in [0, 1).
        warmup_fraction: f64,
    },
    /// One-cycle: linear rise to the base rate over `warmup_fraction`, cosine decay to
    /// `base / final_div` after.
    OneCycle {
        /// Share of all steps spent rising, in (0, 1).
        warmup_fraction: f64,
        /// The final rate is the base rate divided by this.
        final_div: f64,
    },
}

impl Default for Schedule {
    fn default() -> Self {
        Self::Cosine {
            warmup_fraction: 0.05,
        }
    }
}

impl Schedule {
    /// The learning rate at `step` of `total` (0-based).
    pub fn rate(&self, base: f64, step: usize, total: usize) -> f64 {
        let total = total.max(1) as f64;
        let t = step as f64 / total;
        let cosine = |from: f64, u: f64| from * 0.5 * (1.0 + (std::f64::consts::PI * u).cos());
        match *self {
            Self::Constant => base,
            Self::Cosine { warmup_fraction: w } => {
                if t < w {
                    base * (step as f64 + 1.0) / (w * total).max(1.0)
                } else {
                    cosine(base, (t - w) / (1.0 - w).max(1e-12))
                }
            }
            Self::OneCycle {
                warmup_fraction: w,
                final_div,
            } => {
                let floor = base / final_div.max(1.0);
                if t < w {
                    floor + (base - floor) * (step as f64 + 1.0) / (w * total).max(1.0)
                } else {
                    floor + cosine(base - floor, (t - w) / (1.0 - w).max(1e-12))
                }
            }
        }
    }
}

/// How positive examples of rare labels are up-weighted in the loss.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PosWeight {
    /// No re-weighting.
    #[default]
    None,
    /// `negatives / positives` per label from the training split, capped at 100.
    Auto,
    /// Explicit weights, one per label.
    Manual(Vec<f32>),
}

/// What the tagger predicts; it fixes the head, the loss and how logits become probabilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub enum TaskKind {
    /// Any subset of the labels may be present: independent sigmoids, BCE with logits.
    #[default]
    #[serde(rename = "multilabel")]
    MultiLabel,
    /// Exactly one label (class) per clip: softmax over the classes, cross-entropy; the
    /// prediction is the most probable class.
    #[serde(rename = "multiclass")]
    MultiClass,
}

/// The training loss of the (sigmoid) multilabel head. Both are the numerically stable
/// "with logits" forms: the network returns logits.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum LossKind {
    /// Binary cross-entropy with logits (with `pos_weight` and label smoothing if set).
    #[default]
    Bce,
    /// Focal loss (Lin et al. 2017): BCE scaled by `(1 - p_t)^gamma`, which down-weights easy
    /// examples; an alternative to `pos_weight` for rare labels.
    Focal {
        /// Focusing parameter, >= 0 (0 is plain BCE); 2 is the usual choice.
        gamma: f64,
        /// Weight of the positive class in (0, 1); `None` weighs both classes equally.
        alpha: Option<f64>,
    },
}

/// How the probabilities are calibrated after training (fitted on the validation split).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CalibrationMethod {
    /// One temperature for all labels.
    #[default]
    Temperature,
    /// Platt scaling per label.
    Platt,
    /// No calibration: plain sigmoid.
    None,
}

/// How segment logits become clip-level scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ClipPooling {
    /// The highest segment logit: a label is present if it is heard anywhere.
    #[default]
    Max,
    /// The mean segment logit.
    Mean,
}

/// Every training setting; [`crate::TaggerBuilder`] fills it. Outside the builder, start from
/// [`TrainConfig::default()`] and set the fields to change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct TrainConfig {
    /// The network.
    pub model: ModelSpec,
    /// Multilabel (default) or multiclass.
    pub task: TaskKind,
    /// Passes over the training data.
    pub epochs: usize,
    /// Segments per batch.
    pub batch_size: usize,
    /// Peak learning rate (AdamW).
    pub learning_rate: f64,
    /// Learning-rate schedule.
    pub schedule: Schedule,
    /// Decoupled weight decay of AdamW.
    pub weight_decay: f32,
    /// Clip the gradient norm to this value.
    pub grad_clip_norm: Option<f32>,
    /// Share of the clips held out for validation when no validation set is given.
    pub validation_fraction: f64,
    /// Stop after this many epochs without a better validation mAP.
    pub early_stopping_patience: Option<usize>,
    /// Positive-class weights of the BCE loss.
    pub pos_weight: PosWeight,
    /// The loss: BCE with logits (default) or focal.
    pub loss: LossKind,
    /// Draw training segments with probabilities that balance the labels (each segment
    /// weighted by the inverse frequency of its rarest label), with replacement, instead of
    /// a plain shuffle.
    pub balanced_sampling: bool,
    /// Label smoothing of the BCE targets, in [0, 0.5).
    pub label_smoothing: f32,
    /// SpecAugment on training batches.
    pub spec_augment: bool,
    /// Mixup with Beta(alpha, alpha) on training batches; `None` = off.
    pub mixup_alpha: Option<f64>,
    /// Calibration fitted after training.
    pub calibration: CalibrationMethod,
    /// Tune one decision threshold per label for F1 on the validation split.
    pub tune_thresholds: bool,
    /// Clip-level pooling of segment scores.
    pub clip_pooling: ClipPooling,
    /// Seed of initialisation, shuffling, splitting and augmentation.
    pub seed: u64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            model: ModelSpec::default(),
            task: TaskKind::MultiLabel,
            epochs: 20,
            batch_size: 32,
            learning_rate: 1e-3,
            schedule: Schedule::default(),
            weight_decay: 1e-4,
            grad_clip_norm: Some(5.0),
            validation_fraction: 0.2,
            early_stopping_patience: Some(5),
            pos_weight: PosWeight::None,
            loss: LossKind::Bce,
            balanced_sampling: false,
            label_smoothing: 0.0,
            spec_augment: false,
            mixup_alpha: None,
            calibration: CalibrationMethod::Temperature,
            tune_thresholds: false,
            clip_pooling: ClipPooling::Max,
            seed: 0,
        }
    }
}

impl TrainConfig {
    /// Checks every value, naming the first bad field.
    pub fn validate(&self) -> Result<()> {
        self.check_optimisation()?;
        self.check_schedule()?;
        self.check_task()?;
        self.check_loss()
    }

    /// Epochs, batches, optimiser, split, smoothing and mixup values.
    fn check_optimisation(&self) -> Result<()> {
        if self.epochs == 0 {
            return Err(Error::config("epochs", "must be at least 1"));
        }
        if self.batch_size == 0 {
            return Err(Error::config("batch_size", "must be at least 1"));
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return Err(Error::config(
                "learning_rate",
                format!("must be > 0, got {}", self.learning_rate),
            ));
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return Err(Error::config(
                "weight_decay",
                format!("must be >= 0, got {}", self.weight_decay),
            ));
        }
        if let Some(c) = self.grad_clip_norm
            && !(c.is_finite() && c > 0.0)
        {
            return Err(Error::config(
                "grad_clip_norm",
                format!("must be > 0, got {c}"),
            ));
        }
        if !(self.validation_fraction > 0.0 && self.validation_fraction < 1.0) {
            return Err(Error::config(
                "validation_fraction",
                format!("must be in (0, 1), got {}", self.validation_fraction),
            ));
        }
        if !(0.0..0.5).contains(&self.label_smoothing) {
            return Err(Error::config(
                "label_smoothing",
                format!("must be in [0, 0.5), got {}", self.label_smoothing),
            ));
        }
        if let Some(a) = self.mixup_alpha
            && !(a.is_finite() && a > 0.0)
        {
            return Err(Error::config(
                "mixup_alpha",
                format!("must be > 0, got {a}"),
            ));
        }
        Ok(())
    }

    fn check_schedule(&self) -> Result<()> {
        match self.schedule {
            Schedule::Constant => {}
            Schedule::Cosine { warmup_fraction: w } if (0.0..1.0).contains(&w) => {}
            Schedule::OneCycle {
                warmup_fraction: w,
                final_div,
            } if w > 0.0 && w < 1.0 && final_div >= 1.0 => {}
            other => {
                return Err(Error::config(
                    "schedule",
                    format!("{other:?} is out of range"),
                ));
            }
        }
        Ok(())
    }

    /// Settings that only make sense for independent sigmoids are refused for multiclass.
    fn check_task(&self) -> Result<()> {
        if self.task == TaskKind::MultiClass {
            let conflict = if self.pos_weight != PosWeight::None {
                Some(("pos_weight", "per-label positive weights"))
            } else if self.loss != LossKind::Bce {
                Some(("loss", "the sigmoid focal loss"))
            } else if self.calibration == CalibrationMethod::Platt {
                Some(("calibration", "per-label Platt scaling"))
            } else if self.tune_thresholds {
                Some(("tune_thresholds", "per-label thresholds"))
            } else {
                None
            };
            if let Some((field, what)) = conflict {
                return Err(Error::config(
                    field,
                    format!(
                        "{what} belong to multilabel sigmoid heads; a multiclass softmax \
                         head predicts the most probable class (use temperature calibration)"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The focal loss parameters and the positive-class weights.
    fn check_loss(&self) -> Result<()> {
        if let LossKind::Focal { gamma, alpha } = self.loss {
            if !(gamma.is_finite() && gamma >= 0.0) {
                return Err(Error::config(
                    "loss.gamma",
                    format!("must be finite and >= 0, got {gamma}"),
                ));
            }
            if let Some(a) = alpha
                && !(a > 0.0 && a < 1.0)
            {
                return Err(Error::config(
                    "loss.alpha",
                    format!("must be in (0, 1), got {a}"),
                ));
            }
            if self.pos_weight != PosWeight::None {
                return Err(Error::config(
                    "pos_weight",
                    "focal loss and pos_weight are alternatives for rare labels: set one \
                     (use focal's alpha to weigh the positive class)",
                ));
            }
        }
        if let PosWeight::Manual(w) = &self.pos_weight
            && let Some(bad) = w.iter().find(|v| !(v.is_finite() && **v > 0.0))
        {
            return Err(Error::config(
                "pos_weight",
                format!("weights must be > 0, got {bad}"),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_schedule_warms_up_then_decays_to_zero() {
        let s = Schedule::Cosine {
            warmup_fraction: 0.1,
        };
        let rates: Vec<f64> = (0..100).map(|i| s.rate(1.0, i, 100)).collect();
        assert!(rates[0] < 0.2 && (rates[9] - 1.0).abs() < 1e-9);
        assert!(rates.windows(2).skip(10).all(|w| w[1] <= w[0]));
        assert!(rates[99] < 0.01);
    }

    #[test]
    fn one_cycle_ends_at_the_floor() {
        let s = Schedule::OneCycle {
            warmup_fraction: 0.3,
            final_div: 100.0,
        };
        let end = s.rate(1.0, 1000, 1000);
        assert!((end - 0.01).abs() < 1e-6, "{end}");
    }

    #[test]
    fn zero_epochs_and_batches_are_rejected_by_name() {
        let bad = TrainConfig {
            epochs: 0,
            ..TrainConfig::default()
        };
        assert!(bad.validate().unwrap_err().to_string().contains("epochs"));
        let bad = TrainConfig {
            batch_size: 0,
            ..TrainConfig::default()
        };
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .contains("batch_size")
        );
        assert!(TrainConfig::default().validate().is_ok());
    }
}
