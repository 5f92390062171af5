//! Sigmoid focal loss (Lin et al. 2017), as `torchvision.ops.sigmoid_focal_loss`.

use burn::tensor::{Device, Tensor, activation::sigmoid};
use serde::{Deserialize, Serialize};

use super::{BceWithLogitsConfig, BceWithLogitsLoss, Reduction, check_dims};
use crate::error::{Result, invalid};

/// Settings of [`FocalLoss`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FocalLossConfig {
    /// Focusing parameter `gamma >= 0` (0 gives plain BCE), default 2.
    pub gamma: f64,
    /// Weight of positives `alpha` in [0, 1] (negatives get `1 - alpha`); `None` weighs both
    /// classes 1. Default `Some(0.25)`, as torchvision.
    pub alpha: Option<f64>,
    /// Reduction (default mean).
    pub reduction: Reduction,
}

impl Default for FocalLossConfig {
    fn default() -> Self {
        Self {
            gamma: 2.0,
            alpha: Some(0.25),
            reduction: Reduction::Mean,
        }
    }
}

impl FocalLossConfig {
    /// Validates the settings and builds the loss.
    pub fn init(&self, device: &Device) -> Result<FocalLoss> {
        if !(self.gamma.is_finite() && self.gamma >= 0.0) {
            return Err(invalid(
                "gamma",
                format!("{} is not finite and >= 0", self.gamma),
            ));
        }
        if let Some(a) = self.alpha
            && !(0.0..=1.0).contains(&a)
        {
            return Err(invalid("alpha", format!("{a} is not in [0, 1]")));
        }
        Ok(FocalLoss {
            config: *self,
            bce: BceWithLogitsConfig::new()
                .with_reduction(Reduction::None)
                .init(device)?,
        })
    }
}

/// Focal loss on logits: `alpha_t (1 - p_t)^gamma BCE(x, y)`, with
/// `1 - p_t = y sigmoid(-x) + (1 - y) sigmoid(x)` and `alpha_t = alpha y + (1 - alpha)(1 - y)`;
/// soft targets are allowed.
///
/// Stability: the BCE factor uses `log_sigmoid`; `1 - p_t` is built from `sigmoid(+-x)` (no
/// `1 - p` cancellation) and floored at 1e-30 before the power, so the gradient stays finite
/// even for `gamma < 1` where `d/du u^gamma` is infinite at 0.
#[derive(Debug, Clone)]
pub struct FocalLoss {
    config: FocalLossConfig,
    bce: BceWithLogitsLoss,
}

impl FocalLoss {
    /// The elementwise loss, `[N, C]`.
    pub fn elementwise(&self, logits: Tensor<2>, targets: Tensor<2>) -> Result<Tensor<2>> {
        check_dims("focal logits vs targets", logits.dims(), targets.dims())?;
        let ce = self.bce.elementwise(logits.clone(), targets.clone())?;
        let mut loss = if self.config.gamma == 0.0 {
            ce
        } else {
            let one_minus_y = targets.clone().neg().add_scalar(1.0);
            let one_minus_pt = targets
                .clone()
                .mul(sigmoid(logits.clone().neg()))
                .add(one_minus_y.mul(sigmoid(logits)));
            ce.mul(one_minus_pt.clamp_min(1e-30).powf_scalar(self.config.gamma))
        };
        if let Some(alpha) = self.config.alpha {
            // alpha y + (1 - alpha)(1 - y) = (1 - alpha) + (2 alpha - 1) y
            let alpha_t = targets
                .mul_scalar(2.0 * alpha - 1.0)
                .add_scalar(1.0 - alpha);
            loss = loss.mul(alpha_t);
        }
        Ok(loss)
    }

    /// The loss reduced as configured: shape `[1]` for mean/sum, `[N * C]` for none.
    pub fn forward(&self, logits: Tensor<2>, targets: Tensor<2>) -> Result<Tensor<1>> {
        Ok(self
            .config
            .reduction
            .apply(self.elementwise(logits, targets)?))
    }
}
