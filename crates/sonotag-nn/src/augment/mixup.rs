//! Mixup (Zhang et al. 2018): convex combinations of example pairs and of their targets.

use burn::config::Config;
use burn::tensor::{Int, Tensor, TensorData};
use rand::Rng;
use rand::seq::SliceRandom;
use rand_distr::{Beta, Distribution};

use crate::error::NnError;
use crate::targets::Targets;

/// Mixup strength.
#[derive(Config, Debug, PartialEq)]
pub struct MixupConfig {
    /// Both parameters of the Beta(alpha, alpha) distribution of the mixing weight; small values
    /// (0.2-0.4) keep most examples close to one of the pair.
    #[config(default = 0.4)]
    pub alpha: f64,
}

impl MixupConfig {
    /// Validates the configuration.
    pub fn init(&self) -> Result<Mixup, NnError> {
        let beta = Beta::new(self.alpha, self.alpha).map_err(|e| {
            NnError::config(
                "mixup.alpha",
                format!("is {}; it must be finite and positive ({e})", self.alpha),
            )
        })?;
        if !self.alpha.is_finite() {
            return Err(NnError::config(
                "mixup.alpha",
                format!("is {}; it must be finite and positive", self.alpha),
            ));
        }
        Ok(Mixup {
            config: self.clone(),
            beta,
        })
    }
}

/// Mixing weights and partners of a batch: example `i` becomes
/// `lambda[i] * x[i] + (1 - lambda[i]) * x[partner[i]]`, and so do its targets.
#[derive(Debug, Clone, PartialEq)]
pub struct MixPlan {
    /// Weight of the example itself, in `[0, 1]`.
    pub lambdas: Vec<f32>,
    /// A permutation of `0..batch`.
    pub partners: Vec<usize>,
}

/// Draws and applies mixup plans.
#[derive(Debug, Clone)]
pub struct Mixup {
    config: MixupConfig,
    beta: Beta<f64>,
}

impl Mixup {
    /// The configuration.
    pub fn config(&self) -> &MixupConfig {
        &self.config
    }

    /// Draws a weight per example from Beta(alpha, alpha) and a random partner permutation.
    pub fn plan(&self, batch: usize, rng: &mut impl Rng) -> MixPlan {
        let lambdas = (0..batch)
            .map(|_| self.beta.sample(rng).clamp(0.0, 1.0) as f32)
            .collect();
        let mut partners: Vec<usize> = (0..batch).collect();
        partners.shuffle(rng);
        MixPlan { lambdas, partners }
    }

    /// Mixes a batch `[B, ...]` and its targets with the same weights and partners.
    pub fn apply<T: Targets>(
        &self,
        x: Tensor<4>,
        y: T,
        plan: &MixPlan,
    ) -> Result<(Tensor<4>, T), NnError> {
        let b = x.dims()[0];
        let y_matrix = y.matrix();
        if plan.lambdas.len() != b || plan.partners.len() != b || y_matrix.dims()[0] != b {
            return Err(NnError::InputShape {
                got: x.dims().to_vec(),
                reason: format!(
                    "mixup plan for {} examples, targets for {}",
                    plan.lambdas.len(),
                    y_matrix.dims()[0]
                ),
            });
        }
        if plan.partners.iter().any(|&p| p >= b) {
            return Err(NnError::InputShape {
                got: x.dims().to_vec(),
                reason: "mixup partner index out of the batch".into(),
            });
        }
        let device = x.device();
        let partners = Tensor::<1, Int>::from_data(
            TensorData::new(
                plan.partners.iter().map(|&p| p as i64).collect::<Vec<_>>(),
                [b],
            ),
            &device,
        );
        let lambda = Tensor::<1>::from_data(TensorData::new(plan.lambdas.clone(), [b]), &device);
        let mix_x = |a: Tensor<4>| {
            let l = lambda.clone().reshape([b, 1, 1, 1]);
            let other = a.clone().select(0, partners.clone());
            a * l.clone() + other * l.neg().add_scalar(1.0)
        };
        let l = lambda.clone().reshape([b, 1]);
        let other = y_matrix.clone().select(0, partners.clone());
        let mixed_y = y_matrix * l.clone() + other * l.neg().add_scalar(1.0);
        Ok((mix_x(x), T::from_convex_combination(mixed_y)))
    }
}
