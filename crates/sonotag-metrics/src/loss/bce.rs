//! Binary cross-entropy with logits, as `torch.nn.functional.binary_cross_entropy_with_logits`.

use burn::tensor::{Device, Tensor, TensorData, activation::log_sigmoid};
use serde::{Deserialize, Serialize};

use super::{Reduction, check_dims, check_smoothing};
use crate::error::{Result, invalid};

/// Settings of [`BceWithLogitsLoss`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct BceWithLogitsConfig {
    /// Reduction of the elementwise loss (default mean over all `N * C` elements; `pos_weight`
    /// does not change the denominator, as in PyTorch).
    pub reduction: Reduction,
    /// Optional weight of the positive term per label (length `C`, each finite and > 0),
    /// broadcast over rows: `> 1` favours recall on rare labels.
    pub pos_weight: Option<Vec<f32>>,
    /// Label smoothing `eps` in [0, 1): targets become `y (1 - eps) + eps / 2`.
    pub label_smoothing: f32,
}

impl BceWithLogitsConfig {
    /// Mean reduction, no positive weight, no smoothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the reduction.
    pub fn with_reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }

    /// Sets per-label positive weights.
    pub fn with_pos_weight(mut self, pos_weight: Vec<f32>) -> Self {
        self.pos_weight = Some(pos_weight);
        self
    }

    /// Sets label smoothing.
    pub fn with_label_smoothing(mut self, eps: f32) -> Self {
        self.label_smoothing = eps;
        self
    }

    /// Validates the settings and builds the loss on `device`.
    pub fn init(&self, device: &Device) -> Result<BceWithLogitsLoss> {
        check_smoothing(self.label_smoothing)?;
        let pos_weight = match &self.pos_weight {
            None => None,
            Some(w) => {
                if let Some(i) = w.iter().position(|&v| !(v.is_finite() && v > 0.0)) {
                    return Err(invalid(
                        "pos_weight",
                        format!("entry {i} is {}, not finite and > 0", w[i]),
                    ));
                }
                Some(Tensor::<2>::from_data(
                    TensorData::new(w.clone(), [1, w.len()]),
                    device,
                ))
            }
        };
        Ok(BceWithLogitsLoss {
            reduction: self.reduction,
            pos_weight,
            label_smoothing: self.label_smoothing,
        })
    }
}

/// Binary cross-entropy on logits for multilabel tagging, with soft targets allowed.
///
/// Elementwise, with `w` the positive weight of the label (1 by default):
/// `l = -(w y log_sigmoid(x) + (1 - y) log_sigmoid(-x))`, which equals PyTorch's
/// `(1 - y) x + (1 + (w - 1) y) (log1p(exp(-|x|)) + max(-x, 0))`. Both terms are finite for any
/// finite logit and the gradient is exactly `w y (sigmoid(x) - 1) + (1 - y) sigmoid(x)`
/// (`sigmoid(x) - y` without weight), including at `x = 0`.
///
/// ```
/// use burn::tensor::{Device, Tensor};
/// use sonotag_metrics::loss::BceWithLogitsConfig;
/// let device = Device::flex();
/// let loss = BceWithLogitsConfig::new().init(&device).unwrap();
/// let logits = Tensor::<2>::from_floats([[0.0, 1e4]], &device);
/// let targets = Tensor::<2>::from_floats([[1.0, 1.0]], &device);
/// let l: f32 = loss.forward(logits, targets).unwrap().into_scalar();
/// assert!((l - std::f32::consts::LN_2 / 2.0).abs() < 1e-6);
/// ```
#[derive(Debug, Clone)]
pub struct BceWithLogitsLoss {
    reduction: Reduction,
    pos_weight: Option<Tensor<2>>,
    label_smoothing: f32,
}

impl BceWithLogitsLoss {
    /// The elementwise loss, `[N, C]`.
    pub fn elementwise(&self, logits: Tensor<2>, targets: Tensor<2>) -> Result<Tensor<2>> {
        check_dims("BCE logits vs targets", logits.dims(), targets.dims())?;
        if let Some(w) = &self.pos_weight {
            let c = logits.dims()[1];
            check_dims("BCE pos_weight vs labels", [1, c], w.dims())?;
        }
        let y = if self.label_smoothing > 0.0 {
            let eps = f64::from(self.label_smoothing);
            targets.mul_scalar(1.0 - eps).add_scalar(eps / 2.0)
        } else {
            targets
        };
        let pos_term = match &self.pos_weight {
            Some(w) => y.clone().mul(w.clone()),
            None => y.clone(),
        }
        .mul(log_sigmoid(logits.clone()));
        let neg_term = y.neg().add_scalar(1.0).mul(log_sigmoid(logits.neg()));
        Ok(pos_term.add(neg_term).neg())
    }

    /// The loss reduced as configured: shape `[1]` for mean/sum, `[N * C]` (row-major) for none.
    pub fn forward(&self, logits: Tensor<2>, targets: Tensor<2>) -> Result<Tensor<1>> {
        Ok(self.reduction.apply(self.elementwise(logits, targets)?))
    }
}
