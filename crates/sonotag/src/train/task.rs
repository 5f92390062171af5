//! What a training step optimises: the task with its loss, and the optimiser.

use burn::optim::grad_clipping::GradientClippingConfig;
use burn::optim::{AdamWConfig, ModuleOptimizer};
use sonotag_nn::loss::{BceWithLogits, SoftmaxCrossEntropy};
use sonotag_nn::{MultiClass, MultiLabel, MultiLabelTargets};

use crate::config::{LossKind, PosWeight, TaskKind, TrainConfig};
use crate::error::{Error, Result};

/// The task being trained, with its loss.
pub(super) enum TrainTask {
    Tags(MultiLabel),
    Classes(MultiClass),
}

impl TrainTask {
    /// The task and loss of `config`; `pos_weight` is derived from the training `targets`.
    pub fn new(config: &TrainConfig, targets: &[f32], n_labels: usize) -> Result<Self> {
        let mut loss = match config.loss {
            LossKind::Bce => BceWithLogits::<MultiLabelTargets>::new(),
            LossKind::Focal { gamma, alpha } => BceWithLogits::focal(gamma, alpha)?,
        };
        if let Some(w) = pos_weights(&config.pos_weight, targets, n_labels)? {
            loss = loss.with_pos_weight(w)?;
        }
        if config.label_smoothing > 0.0 {
            loss = loss.with_smoothing(f64::from(config.label_smoothing))?;
        }
        Ok(match config.task {
            TaskKind::MultiLabel => Self::Tags(MultiLabel { loss }),
            TaskKind::MultiClass => {
                let mut loss = SoftmaxCrossEntropy::new();
                if config.label_smoothing > 0.0 {
                    loss = loss.with_smoothing(f64::from(config.label_smoothing))?;
                }
                Self::Classes(MultiClass { loss })
            }
        })
    }
}

/// `pos_weight` per label from the training targets.
fn pos_weights(spec: &PosWeight, targets: &[f32], n_labels: usize) -> Result<Option<Vec<f32>>> {
    match spec {
        PosWeight::None => Ok(None),
        PosWeight::Manual(w) if w.len() == n_labels => Ok(Some(w.clone())),
        PosWeight::Manual(w) => Err(Error::config(
            "pos_weight",
            format!("has {} weights for {n_labels} labels", w.len()),
        )),
        PosWeight::Auto => {
            let n = (targets.len() / n_labels.max(1)) as f32;
            Ok(Some(
                (0..n_labels)
                    .map(|j| {
                        let pos: f32 = targets.iter().skip(j).step_by(n_labels).sum();
                        ((n - pos) / pos.max(1.0)).clamp(1.0, 100.0)
                    })
                    .collect(),
            ))
        }
    }
}

/// AdamW with the run's weight decay and gradient clipping, with no state yet.
pub(super) fn optimizer(config: &TrainConfig) -> ModuleOptimizer {
    AdamWConfig::new()
        .with_weight_decay(config.weight_decay)
        .with_grad_clipping(config.grad_clip_norm.map(GradientClippingConfig::Norm))
        .init()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn automatic_pos_weights_are_negatives_over_positives_capped() {
        // Label 0: 1 positive of 4 clips; label 1: none (capped by the floor of 1 positive).
        let targets = [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        let w = pos_weights(&PosWeight::Auto, &targets, 2).unwrap().unwrap();
        assert_eq!(w, [3.0, 4.0]);
        assert!(pos_weights(&PosWeight::Manual(vec![1.0]), &targets, 2).is_err());
        assert_eq!(pos_weights(&PosWeight::None, &targets, 2).unwrap(), None);
    }
}
