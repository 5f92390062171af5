//! Output links (sigmoid, softmax) and the losses that belong to each.
//!
//! A loss names the link it assumes ([`LogitLoss::Link`]) and the targets it takes
//! ([`LogitLoss::Targets`]); a [`crate::Task`] must agree with both, which is what makes a
//! sigmoid head trained with categorical cross-entropy a type error.

use core::marker::PhantomData;

use burn::tensor::{Tensor, activation};
use sonotag_metrics::MetricsError;
use sonotag_metrics::loss::{
    BceWithLogitsConfig, FocalLossConfig, Reduction, SoftmaxCrossEntropyConfig,
};

use crate::error::NnError;
use crate::init::{log_odds_bias, log_prior_bias};
use crate::targets::{ClassTargets, MultiLabelTargets, SigmoidTargets, Targets};

/// How logits become probabilities.
pub trait Link: Clone + core::fmt::Debug + Default + Send + Sync + 'static {
    /// Name for logs and model files (`"sigmoid"`, `"softmax"`).
    const NAME: &'static str;

    /// `[batch, width]` logits to probabilities.
    fn probabilities(logits: Tensor<2>) -> Tensor<2>;

    /// Output bias that makes an untrained head predict `priors`.
    fn prior_bias(priors: &[f64]) -> Result<Vec<f32>, NnError>;
}

/// Independent sigmoids: each output is its own yes/no probability.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sigmoid;

impl Link for Sigmoid {
    const NAME: &'static str = "sigmoid";
    fn probabilities(logits: Tensor<2>) -> Tensor<2> {
        activation::sigmoid(logits)
    }
    fn prior_bias(priors: &[f64]) -> Result<Vec<f32>, NnError> {
        log_odds_bias(priors)
    }
}

/// Softmax over the outputs: one distribution over mutually exclusive classes.
#[derive(Clone, Copy, Debug, Default)]
pub struct Softmax;

impl Link for Softmax {
    const NAME: &'static str = "softmax";
    fn probabilities(logits: Tensor<2>) -> Tensor<2> {
        activation::softmax(logits, 1)
    }
    fn prior_bias(priors: &[f64]) -> Result<Vec<f32>, NnError> {
        log_prior_bias(priors)
    }
}

/// A loss computed from logits (never from probabilities: that is where numerical stability
/// comes from).
pub trait LogitLoss: Clone + core::fmt::Debug {
    /// The link the loss assumes between logits and probabilities.
    type Link: Link;
    /// The targets it compares the logits with.
    type Targets: Targets;

    /// Scalar loss (shape `[1]`), differentiable with respect to `logits`.
    fn forward(&self, logits: Tensor<2>, targets: &Self::Targets) -> Result<Tensor<1>, NnError>;
}

fn check_same_shape(logits: &Tensor<2>, targets: &Tensor<2>) -> Result<(), NnError> {
    if logits.dims() != targets.dims() {
        return Err(NnError::InvalidLabels {
            what: "targets",
            reason: format!(
                "targets are {:?} but the logits are {:?}",
                targets.dims(),
                logits.dims()
            ),
        });
    }
    Ok(())
}

fn check_smoothing(smoothing: f64) -> Result<(), NnError> {
    if !(0.0..1.0).contains(&smoothing) {
        return Err(NnError::config(
            "loss.smoothing",
            format!("is {smoothing}; label smoothing must be in [0, 1)"),
        ));
    }
    Ok(())
}

fn metrics_error(e: MetricsError) -> NnError {
    NnError::Loss(e.to_string())
}

/// The loss of a sigmoid head, computed by `sonotag_metrics::loss`: binary cross-entropy with
/// logits (optionally with per-label `pos_weight` and label smoothing) or, for strongly
/// imbalanced labels, the sigmoid focal loss. Mean over all entries.
///
/// BCE is `-(w y log σ(x) + (1 - y) log(1 - σ(x)))` in the `log_sigmoid` form, finite with an
/// exact gradient for any logit; it matches `torch.nn.functional.binary_cross_entropy_with_logits`.
///
/// The type parameter fixes the targets: [`MultiLabelTargets`] (default) or
/// [`crate::BinaryTargets`].
#[derive(Clone, Debug)]
pub struct BceWithLogits<T: SigmoidTargets = MultiLabelTargets> {
    kind: SigmoidLossKind,
    targets: PhantomData<T>,
}

#[derive(Clone, Debug)]
enum SigmoidLossKind {
    Bce(BceWithLogitsConfig),
    Focal(FocalLossConfig),
}

impl<T: SigmoidTargets> Default for BceWithLogits<T> {
    fn default() -> Self {
        Self {
            kind: SigmoidLossKind::Bce(BceWithLogitsConfig::new()),
            targets: PhantomData,
        }
    }
}

impl<T: SigmoidTargets> BceWithLogits<T> {
    /// Plain BCE-with-logits (mean).
    pub fn new() -> Self {
        Self::default()
    }

    /// Weight of the positive term per label (e.g. negatives / positives), each finite and > 0.
    pub fn with_pos_weight(mut self, pos_weight: Vec<f32>) -> Result<Self, NnError> {
        if let Some(i) = pos_weight.iter().position(|w| !(w.is_finite() && *w > 0.0)) {
            return Err(NnError::config(
                format!("loss.pos_weight[{i}]"),
                format!("is {}; weights must be finite and positive", pos_weight[i]),
            ));
        }
        self.kind = match self.kind {
            SigmoidLossKind::Bce(c) => SigmoidLossKind::Bce(c.with_pos_weight(pos_weight)),
            SigmoidLossKind::Focal(_) => {
                return Err(NnError::config(
                    "loss.pos_weight",
                    "cannot be combined with the focal loss (use its alpha instead)",
                ));
            }
        };
        Ok(self)
    }

    /// Label smoothing `s`: targets become `y (1 - s) + s / 2`.
    pub fn with_smoothing(mut self, smoothing: f64) -> Result<Self, NnError> {
        check_smoothing(smoothing)?;
        self.kind = match self.kind {
            SigmoidLossKind::Bce(c) => {
                SigmoidLossKind::Bce(c.with_label_smoothing(smoothing as f32))
            }
            SigmoidLossKind::Focal(_) => {
                return Err(NnError::config(
                    "loss.smoothing",
                    "cannot be combined with the focal loss",
                ));
            }
        };
        Ok(self)
    }

    /// The sigmoid focal loss (Lin et al. 2017) instead of plain BCE: each term is scaled by
    /// `(1 - p_t)^gamma` (and `alpha` for positives, `1 - alpha` for negatives, when given).
    pub fn focal(gamma: f64, alpha: Option<f64>) -> Result<Self, NnError> {
        if !(gamma.is_finite() && gamma >= 0.0) {
            return Err(NnError::config(
                "loss.gamma",
                format!("is {gamma}; it must be finite and >= 0"),
            ));
        }
        if let Some(a) = alpha
            && !(0.0..=1.0).contains(&a)
        {
            return Err(NnError::config(
                "loss.alpha",
                format!("is {a}; it must be in [0, 1]"),
            ));
        }
        Ok(Self {
            kind: SigmoidLossKind::Focal(FocalLossConfig {
                gamma,
                alpha,
                reduction: Reduction::Mean,
            }),
            targets: PhantomData,
        })
    }
}

impl<T: SigmoidTargets> LogitLoss for BceWithLogits<T> {
    type Link = Sigmoid;
    type Targets = T;

    fn forward(&self, logits: Tensor<2>, targets: &T) -> Result<Tensor<1>, NnError> {
        let y = targets.matrix();
        check_same_shape(&logits, &y)?;
        let device = logits.device();
        match &self.kind {
            SigmoidLossKind::Bce(c) => {
                if let Some(w) = &c.pos_weight
                    && w.len() != logits.dims()[1]
                {
                    return Err(NnError::config(
                        "loss.pos_weight",
                        format!("has {} weights for {} outputs", w.len(), logits.dims()[1]),
                    ));
                }
                c.init(&device)
                    .and_then(|loss| loss.forward(logits, y))
                    .map_err(metrics_error)
            }
            SigmoidLossKind::Focal(c) => c
                .init(&device)
                .and_then(|loss| loss.forward(logits, y))
                .map_err(metrics_error),
        }
    }
}

/// Softmax cross-entropy with logits, mean over the batch, with optional label smoothing
/// (targets become `t (1 - s) + s / C`); computed by `sonotag_metrics::loss`.
#[derive(Clone, Debug, Default)]
pub struct SoftmaxCrossEntropy {
    smoothing: f64,
}

impl SoftmaxCrossEntropy {
    /// Plain cross-entropy.
    pub fn new() -> Self {
        Self::default()
    }

    /// Label smoothing in `[0, 1)`.
    pub fn with_smoothing(mut self, smoothing: f64) -> Result<Self, NnError> {
        check_smoothing(smoothing)?;
        self.smoothing = smoothing;
        Ok(self)
    }
}

impl LogitLoss for SoftmaxCrossEntropy {
    type Link = Softmax;
    type Targets = ClassTargets;

    fn forward(&self, logits: Tensor<2>, targets: &ClassTargets) -> Result<Tensor<1>, NnError> {
        let t = targets.matrix();
        check_same_shape(&logits, &t)?;
        let config = SoftmaxCrossEntropyConfig {
            reduction: Reduction::Mean,
            label_smoothing: self.smoothing as f32,
        };
        config
            .init(&logits.device())
            .and_then(|loss| loss.forward_probabilities(logits, t))
            .map_err(metrics_error)
    }
}
