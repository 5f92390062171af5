//! Weight initialisation schemes and the prior-matching output bias.

use burn::config::Config;
use burn::nn::Initializer;
use burn::tensor::TensorData;
use rand::rngs::StdRng;
use rand_distr::{Distribution, Normal, Uniform};

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

    /// Draws the weights of a convolution `[c_out, c_in, kh, kw]` from `rng`, with the same
    /// distribution as [`Self::conv_initializer`].
    ///
    /// Weights are drawn here rather than by burn because burn's random source is one global
    /// generator shared by every thread of the process: a seeded run would otherwise depend
    /// on whatever else draws from it.
    pub(crate) fn conv_weights(
        &self,
        activation: &Activation,
        shape: [usize; 4],
        rng: &mut StdRng,
    ) -> TensorData {
        let fan_in = shape[1] * shape[2] * shape[3];
        let gain = activation.kaiming_gain();
        let std = gain / (fan_in.max(1) as f64).sqrt();
        let n = shape.iter().product();
        let values = match self {
            Self::KaimingNormal => draw_normal(n, std, rng),
            Self::KaimingUniform => draw_uniform(n, 3f64.sqrt() * std, rng),
            Self::Normal { std } => draw_normal(n, *std, rng),
        };
        TensorData::new(values, shape)
    }

    /// Draws the weights of a Linear layer (stored `[d_in, d_out]` in burn) from `rng`, with
    /// the same distribution as [`Self::linear_initializer`].
    pub(crate) fn linear_weights(
        &self,
        dropout: f64,
        d_in: usize,
        d_out: usize,
        rng: &mut StdRng,
    ) -> TensorData {
        let n = d_in * d_out;
        let values = match self {
            Self::KaimingNormal | Self::KaimingUniform => {
                // Xavier uniform: U(-a, a), a = gain * sqrt(6 / (fan_in + fan_out)).
                let gain = (1.0 - dropout).sqrt();
                let bound = gain * (6.0 / (d_in + d_out).max(1) as f64).sqrt();
                draw_uniform(n, bound, rng)
            }
            Self::Normal { std } => draw_normal(n, *std, rng),
        };
        TensorData::new(values, [d_in, d_out])
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
fn draw_normal(n: usize, std: f64, rng: &mut StdRng) -> Vec<f32> {
    match Normal::new(0.0, std) {
        Ok(normal) => (0..n).map(|_| normal.sample(rng) as f32).collect(),
        // Only a non-finite std gets here, and `validate` refuses it before any init.
        Err(_) => vec![0.0; n],
    }
}

fn draw_uniform(n: usize, bound: f64, rng: &mut StdRng) -> Vec<f32> {
    if bound > 0.0 && bound.is_finite() {
        // `Uniform::new` only fails on an empty or non-finite range, excluded just above.
        if let Ok(uniform) = Uniform::new(-bound, bound) {
            return (0..n).map(|_| uniform.sample(rng) as f32).collect();
        }
    }
    vec![0.0; n]
}

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
