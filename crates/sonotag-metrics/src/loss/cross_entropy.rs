//! Softmax cross-entropy on logits for single-label (multiclass) tasks, as
//! `torch.nn.functional.cross_entropy`.

use burn::tensor::{Device, Int, Tensor, activation::log_softmax};
use serde::{Deserialize, Serialize};

use super::{Reduction, check_dims, check_smoothing};
use crate::error::{MetricsError, Result, invalid};

/// Settings of [`SoftmaxCrossEntropyLoss`].
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SoftmaxCrossEntropyConfig {
    /// Reduction over samples (default mean).
    pub reduction: Reduction,
    /// Label smoothing `eps` in [0, 1): the target distribution becomes
    /// `(1 - eps) target + eps / K`, as PyTorch's `label_smoothing`.
    pub label_smoothing: f32,
}

impl SoftmaxCrossEntropyConfig {
    /// Validates the settings and builds the loss (no parameters live on the device).
    pub fn init(&self, _device: &Device) -> Result<SoftmaxCrossEntropyLoss> {
        check_smoothing(self.label_smoothing)?;
        Ok(SoftmaxCrossEntropyLoss { config: *self })
    }
}

/// Cross-entropy of `softmax(logits)` against class indices or class probabilities, computed
/// with `log_softmax` (max-shifted), so it is finite for logits of any magnitude.
///
/// ```
/// use burn::tensor::{Device, Int, Tensor};
/// use sonotag_metrics::loss::SoftmaxCrossEntropyConfig;
/// let device = Device::flex();
/// let loss = SoftmaxCrossEntropyConfig::default().init(&device).unwrap();
/// let logits = Tensor::<2>::from_floats([[0.0, 0.0], [1e4, -1e4]], &device);
/// let classes = Tensor::<1, Int>::from_ints([1, 0], &device);
/// let l: f32 = loss.forward_classes(logits, classes).unwrap().into_scalar();
/// assert!((l - std::f32::consts::LN_2 / 2.0).abs() < 1e-6);
/// ```
#[derive(Debug, Clone)]
pub struct SoftmaxCrossEntropyLoss {
    config: SoftmaxCrossEntropyConfig,
}

impl SoftmaxCrossEntropyLoss {
    /// Loss against class indices `targets` (`[N]`, each in `0..K`); shape `[1]` for mean/sum,
    /// `[N]` for none.
    ///
    /// The indices are checked (one read-back of their min and max), since out-of-range indices
    /// would otherwise read arbitrary memory on some backends.
    pub fn forward_classes(&self, logits: Tensor<2>, targets: Tensor<1, Int>) -> Result<Tensor<1>> {
        let [n, k] = logits.dims();
        check_dims("cross-entropy targets vs rows", [n], targets.dims())?;
        if n == 0 || k == 0 {
            return Err(MetricsError::EmptyInput(format!(
                "cross-entropy of a {n} x {k} logit matrix"
            )));
        }
        let read = |t: Tensor<1, Int>| {
            t.try_into_scalar::<i64>()
                .map_err(|e| invalid("targets", format!("cannot read class indices: {e:?}")))
        };
        let (min, max) = (read(targets.clone().min())?, read(targets.clone().max())?);
        if min < 0 || max >= k as i64 {
            return Err(invalid(
                "targets",
                format!("class indices span [{min}, {max}], outside 0..{k}"),
            ));
        }
        let log_p = log_softmax(logits, 1);
        let nll = log_p.clone().gather(1, targets.reshape([n, 1])).neg();
        let eps = f64::from(self.config.label_smoothing);
        let loss = if eps > 0.0 {
            // (1 - eps) * nll + eps * mean_k(-log p_k): PyTorch's smoothed form.
            nll.mul_scalar(1.0 - eps)
                .add(log_p.mean_dim(1).neg().mul_scalar(eps))
        } else {
            nll
        };
        Ok(self.config.reduction.apply(loss))
    }

    /// Loss against class probabilities `targets` (`[N, K]`, rows summing to 1); shape `[1]`
    /// for mean/sum, `[N]` for none.
    pub fn forward_probabilities(
        &self,
        logits: Tensor<2>,
        targets: Tensor<2>,
    ) -> Result<Tensor<1>> {
        check_dims(
            "cross-entropy logits vs targets",
            logits.dims(),
            targets.dims(),
        )?;
        let k = logits.dims()[1];
        let eps = f64::from(self.config.label_smoothing);
        let targets = if eps > 0.0 {
            targets.mul_scalar(1.0 - eps).add_scalar(eps / k as f64)
        } else {
            targets
        };
        let loss = targets.mul(log_softmax(logits, 1)).sum_dim(1).neg();
        Ok(self.config.reduction.apply(loss))
    }
}
