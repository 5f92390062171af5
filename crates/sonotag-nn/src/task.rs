//! Tasks as types: each task fixes the head width, the link from logits to probabilities, the
//! loss and the type of its targets, and the compiler checks that they agree.
//!
//! The model always returns logits; only the task turns them into probabilities or a loss.
//!
//! A well-formed task (this is [`MultiLabel`]'s shape) compiles:
//!
//! ```
//! use sonotag_nn::loss::{BceWithLogits, Sigmoid};
//! use sonotag_nn::{MultiLabelTargets, NnError, Task};
//!
//! #[derive(Clone, Debug, Default)]
//! struct Tags(BceWithLogits);
//!
//! impl Task for Tags {
//!     type Link = Sigmoid;
//!     type Targets = MultiLabelTargets;
//!     type Loss = BceWithLogits;
//!     const NAME: &'static str = "tags";
//!     fn head_width(n_labels: usize) -> Result<usize, NnError> { Ok(n_labels) }
//!     fn loss_fn(&self) -> &Self::Loss { &self.0 }
//! }
//! ```
//!
//! A sigmoid head trained with categorical cross-entropy does not (the loss assumes a softmax
//! link and class targets):
//!
//! ```compile_fail
//! use sonotag_nn::loss::{Sigmoid, SoftmaxCrossEntropy};
//! use sonotag_nn::{MultiLabelTargets, NnError, Task};
//!
//! #[derive(Clone, Debug, Default)]
//! struct Tags(SoftmaxCrossEntropy);
//!
//! impl Task for Tags {
//!     type Link = Sigmoid;
//!     type Targets = MultiLabelTargets;
//!     type Loss = SoftmaxCrossEntropy; // error: Link = Softmax, Targets = ClassTargets
//!     const NAME: &'static str = "tags";
//!     fn head_width(n_labels: usize) -> Result<usize, NnError> { Ok(n_labels) }
//!     fn loss_fn(&self) -> &Self::Loss { &self.0 }
//! }
//! ```
//!
//! Nor does a 2-way softmax trained with binary cross-entropy:
//!
//! ```compile_fail
//! use sonotag_nn::loss::{BceWithLogits, Softmax};
//! use sonotag_nn::{BinaryTargets, ClassTargets, NnError, Task};
//!
//! #[derive(Clone, Debug, Default)]
//! struct YesNo(BceWithLogits<BinaryTargets>);
//!
//! impl Task for YesNo {
//!     type Link = Softmax;
//!     type Targets = ClassTargets;
//!     type Loss = BceWithLogits<BinaryTargets>; // error: Link = Sigmoid, Targets = BinaryTargets
//!     const NAME: &'static str = "yes-no";
//!     fn head_width(_: usize) -> Result<usize, NnError> { Ok(2) }
//!     fn loss_fn(&self) -> &Self::Loss { &self.0 }
//! }
//! ```
//!
//! And class indices cannot be given to a multilabel loss:
//!
//! ```compile_fail
//! use burn::tensor::{Device, Tensor};
//! use sonotag_nn::{ClassTargets, MultiLabel, Task};
//!
//! let device = Device::flex();
//! let targets = ClassTargets::from_indices(&[1], 3, &device).unwrap();
//! let logits = Tensor::<2>::zeros([1, 3], &device);
//! let _ = MultiLabel::default().loss(logits, &targets); // error: expected MultiLabelTargets
//! ```

use burn::tensor::Tensor;

use crate::error::NnError;
use crate::loss::{BceWithLogits, Link, LogitLoss, Sigmoid, Softmax, SoftmaxCrossEntropy};
use crate::targets::{BinaryTargets, ClassTargets, MultiLabelTargets, Targets};

/// What the network is trained to predict.
pub trait Task: Clone + core::fmt::Debug + Send + Sync + 'static {
    /// Logits to probabilities.
    type Link: Link;
    /// Target batches.
    type Targets: Targets;
    /// The loss; it must assume the same link and targets as the task.
    type Loss: LogitLoss<Link = Self::Link, Targets = Self::Targets>;

    /// Name for logs and model files.
    const NAME: &'static str;

    /// Number of logits for `n_labels` labels (or classes).
    fn head_width(n_labels: usize) -> Result<usize, NnError>;

    /// The configured loss.
    fn loss_fn(&self) -> &Self::Loss;

    /// Scalar training loss for a batch.
    fn loss(&self, logits: Tensor<2>, targets: &Self::Targets) -> Result<Tensor<1>, NnError> {
        self.loss_fn().forward(logits, targets)
    }

    /// Logits to probabilities.
    fn probabilities(logits: Tensor<2>) -> Tensor<2> {
        Self::Link::probabilities(logits)
    }

    /// Output bias that makes an untrained network predict `priors` (label frequencies for a
    /// sigmoid link, class frequencies summing to one for softmax), clamped to
    /// `[PRIOR_CLAMP, 1 - PRIOR_CLAMP]`; see [`crate::Cnn::with_output_bias`].
    fn prior_bias(priors: &[f64]) -> Result<Vec<f32>, NnError> {
        Self::Link::prior_bias(priors)
    }
}

/// Multilabel tagging: any subset of the labels may be present. Independent sigmoids,
/// BCE-with-logits; one logit per label.
#[derive(Clone, Debug, Default)]
pub struct MultiLabel {
    /// The loss (pos_weight and smoothing are set here).
    pub loss: BceWithLogits<MultiLabelTargets>,
}

impl Task for MultiLabel {
    type Link = Sigmoid;
    type Targets = MultiLabelTargets;
    type Loss = BceWithLogits<MultiLabelTargets>;
    const NAME: &'static str = "multilabel";

    fn head_width(n_labels: usize) -> Result<usize, NnError> {
        if n_labels == 0 {
            return Err(NnError::InvalidLabels {
                what: "labels",
                reason: "a multilabel task needs at least one label".into(),
            });
        }
        Ok(n_labels)
    }

    fn loss_fn(&self) -> &Self::Loss {
        &self.loss
    }
}

/// Single-label classification: exactly one class per example. Softmax, cross-entropy; one
/// logit per class.
#[derive(Clone, Debug, Default)]
pub struct MultiClass {
    /// The loss (label smoothing is set here).
    pub loss: SoftmaxCrossEntropy,
}

impl Task for MultiClass {
    type Link = Softmax;
    type Targets = ClassTargets;
    type Loss = SoftmaxCrossEntropy;
    const NAME: &'static str = "multiclass";

    fn head_width(n_labels: usize) -> Result<usize, NnError> {
        if n_labels < 2 {
            return Err(NnError::InvalidLabels {
                what: "labels",
                reason: format!(
                    "a multiclass task needs at least 2 classes, got {n_labels}; use Binary for \
                     a yes/no question"
                ),
            });
        }
        Ok(n_labels)
    }

    fn loss_fn(&self) -> &Self::Loss {
        &self.loss
    }
}

/// A yes/no question: one logit, sigmoid, BCE-with-logits.
#[derive(Clone, Debug, Default)]
pub struct Binary {
    /// The loss (pos_weight and smoothing are set here).
    pub loss: BceWithLogits<BinaryTargets>,
}

impl Task for Binary {
    type Link = Sigmoid;
    type Targets = BinaryTargets;
    type Loss = BceWithLogits<BinaryTargets>;
    const NAME: &'static str = "binary";

    fn head_width(n_labels: usize) -> Result<usize, NnError> {
        if n_labels != 1 {
            return Err(NnError::InvalidLabels {
                what: "labels",
                reason: format!(
                    "a binary task has exactly 1 label (the positive class), got {n_labels}"
                ),
            });
        }
        Ok(1)
    }

    fn loss_fn(&self) -> &Self::Loss {
        &self.loss
    }
}
