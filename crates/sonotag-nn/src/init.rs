//! Weight initialisation schemes and the prior-matching output bias.

use burn::config::Config;
use burn::nn::Initializer;

use crate::activation::Activation;
use crate::error::NnError;

/// Smallest (and one minus the largest) label prior turned into a bias: a label never seen in
/// training would otherwise get a bias of minus infinity.
pub const PRIOR_CLAMP: f64 = 1e-4;

/// How the weights of a fresh network are drawn. Biases start at zero; batch norm at scale 1,
/// shift 0.
#[derive(Config, Debug, PartialEq, Copy)]
pub enum WeightInit {
    /// He normal `N(0, gain^2 / fan_in)` for convolutions, with the activation's gain
    /// (`sqrt(2)` for ReLU); Xavier (Glorot) uniform for Linear layers, its variance scaled by
    /// `1 - p` when dropout `p` feeds the layer. The default.
    ///
    /// Inverted dropout multiplies the second moment of its output by `1 / (1 - p)` during
    /// training; the `1 - p` factor (Hendrycks & Gimpel 2016, "Adjusting for dropout variance")
    /// keeps a fresh network's training-mode logits at the scale Xavier intends instead of
    /// inflating them (PANNs' heads apply dropout 0.5 twice).
    KaimingNormal,
    /// He uniform `U(+-gain * sqrt(3 / fan_in))` for convolutions; Linear layers as
    /// [`WeightInit::KaimingNormal`].
    KaimingUniform,
    /// Every weight from `N(0, std^2)` regardless of fan-in: the classic mistake that saturates
    /// the sigmoid outputs. Kept so that diagnostics can be demonstrated and tested.
    Normal {
        /// Standard deviation of every weight.
        std: f64,
    },
}

// Not derived: the Config derive copies variant attributes into its serde twin.
#[allow(clippy::derivable_impls)]
impl Default for WeightInit {
    fn default() -> Self {
        Self::KaimingNormal
    }
}

impl WeightInit {
    /// The burn initializer for a convolution followed by `activation`.
    pub fn conv_initializer(&self, activation: &Activation) -> Initializer {
        let gain = activation.kaiming_gain();
        match self {
            Self::KaimingNormal => Initializer::KaimingNormal {
                gain,
                fan_out_only: false,
            },
            Self::KaimingUniform => Initializer::KaimingUniform {
                gain,
                fan_out_only: false,
            },
            Self::Normal { std } => Initializer::Normal {
                mean: 0.0,
                std: *std,
            },
        }
    }

    /// The burn initializer for a Linear layer fed by dropout of probability `dropout`
    /// (0 for none).
    pub fn linear_initializer(&self, dropout: f64) -> Initializer {
        match self {
            Self::KaimingNormal | Self::KaimingUniform => Initializer::XavierUniform {
                gain: (1.0 - dropout).sqrt(),
            },
            Self::Normal { std } => Initializer::Normal {
                mean: 0.0,
                std: *std,
            },
        }
    }

    /// Checks the scheme's parameters.
    pub fn validate(&self, field: &str) -> Result<(), NnError> {
        if let Self::Normal { std } = self
            && !(std.is_finite() && *std > 0.0)
        {
            return Err(NnError::config(
                format!("{field}.std"),
                format!("is {std}; it must be finite and positive"),
            ));
        }
        Ok(())
    }
}

/// Checks that every prior is a probability and clamps it to
/// `[PRIOR_CLAMP, 1 - PRIOR_CLAMP]`.
pub(crate) fn clamped_priors(priors: &[f64]) -> Result<Vec<f64>, NnError> {
    if priors.is_empty() {
        return Err(NnError::InvalidLabels {
            what: "priors",
            reason: "no prior given; pass one frequency per label".into(),
        });
    }
    priors
        .iter()
        .enumerate()
        .map(|(i, &p)| {
            if !(0.0..=1.0).contains(&p) {
                Err(NnError::InvalidLabels {
                    what: "priors",
                    reason: format!("prior of label {i} is {p}; it must be in [0, 1]"),
                })
            } else {
                Ok(p.clamp(PRIOR_CLAMP, 1.0 - PRIOR_CLAMP))
            }
        })
        .collect()
}

/// Log-odds `ln(p / (1 - p))` of each (clamped) prior: the bias that makes an untrained sigmoid
/// head predict the label frequencies.
///
/// ```
/// let bias = sonotag_nn::init::log_odds_bias(&[0.5, 0.1]).unwrap();
/// assert!(bias[0].abs() < 1e-7);
/// assert!((1.0 / (1.0 + (-bias[1]).exp()) - 0.1).abs() < 1e-6);
/// ```
pub fn log_odds_bias(priors: &[f64]) -> Result<Vec<f32>, NnError> {
    Ok(clamped_priors(priors)?
        .into_iter()
        .map(|p| (p / (1.0 - p)).ln() as f32)
        .collect())
}

/// Log-priors `ln(p)` of a categorical distribution: the bias that makes an untrained softmax
/// head predict the class frequencies. The priors must sum to 1 (within 1e-6).
pub fn log_prior_bias(priors: &[f64]) -> Result<Vec<f32>, NnError> {
    let clamped = clamped_priors(priors)?;
    let total: f64 = priors.iter().sum();
    if (total - 1.0).abs() > 1e-6 {
        return Err(NnError::InvalidLabels {
            what: "priors",
            reason: format!("class priors sum to {total}; a categorical prior must sum to 1"),
        });
    }
    Ok(clamped.into_iter().map(|p| p.ln() as f32).collect())
}
