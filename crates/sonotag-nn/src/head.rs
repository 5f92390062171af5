//! The classifier head: global pooling (or flattening), dropout, optional hidden layer and the
//! Linear layer producing one logit per output.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::{Dropout, DropoutConfig, Initializer, Linear, LinearConfig};
use burn::tensor::{Device, Tensor, activation};

use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::block::check_probability;
use crate::dropout::Masks;
use crate::error::NnError;
use crate::init::WeightInit;

/// How the `[B, C, F, T]` feature map becomes a vector per example.
#[derive(Config, Debug, PartialEq, Copy)]
pub enum HeadPool {
    /// Mean over frequency and time: `[B, C]`. Works for any input length.
    Mean,
    /// Maximum over frequency and time: `[B, C]`. Works for any input length.
    Max,
    /// PANNs: mean over frequency, then max plus mean over time: `[B, C]`. Works for any input
    /// length.
    MeanMaxTime,
    /// Flatten `C x F x T`: `[B, C * F * T]`. Needs a fixed input size
    /// ([`crate::CnnConfig::input_hw`]), from which the Linear input size is computed.
    Flatten,
}

impl HeadPool {
    /// Whether the head accepts feature maps of any size (true for the global poolings).
    pub fn is_global(&self) -> bool {
        !matches!(self, Self::Flatten)
    }

    /// Width of the pooled vector for a `[C, F, T]` feature map.
    pub fn pooled_width(&self, chw: [usize; 3]) -> usize {
        match self {
            Self::Flatten => chw.iter().product(),
            _ => chw[0],
        }
    }

    /// Pools `[B, C, F, T]` into `[B, D]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let [b, c, f, t] = x.dims();
        match self {
            Self::Mean => x.reshape([b, c, f * t]).mean_dim(2).reshape([b, c]),
            Self::Max => x.reshape([b, c, f * t]).max_dim(2).reshape([b, c]),
            Self::MeanMaxTime => {
                let over_time = x.mean_dim(2).reshape([b, c, t]);
                let max = over_time.clone().max_dim(2);
                let mean = over_time.mean_dim(2);
                (max + mean).reshape([b, c])
            }
            Self::Flatten => x.reshape([b, c * f * t]),
        }
    }
}

/// Configuration of the [`Head`].
#[derive(Config, Debug, PartialEq)]
pub struct HeadConfig {
    /// Global pooling or flattening.
    #[config(default = "HeadPool::Mean")]
    pub pool: HeadPool,
    /// Dropout before each Linear layer (training only), in `[0, 1)`.
    #[config(default = 0.0)]
    pub dropout: f64,
    /// Width of an optional hidden Linear + ReLU layer before the output (PANNs' `fc1`).
    pub hidden: Option<usize>,
}

impl HeadConfig {
    /// Checks the fields.
    pub fn validate(&self) -> Result<(), NnError> {
        check_probability(self.dropout, "head.dropout")?;
        if self.hidden == Some(0) {
            return Err(NnError::config(
                "head.hidden",
                "is 0; leave it out (None) for no hidden layer",
            ));
        }
        Ok(())
    }

    /// Builds the head for pooled vectors of `in_features` and `n_outputs` logits.
    pub fn init(
        &self,
        in_features: usize,
        n_outputs: usize,
        init: WeightInit,
        device: &Device,
    ) -> Result<Head, NnError> {
        self.init_seeded(in_features, n_outputs, init, device, 0)
    }

    /// Like [`Self::init`], drawing the weights from a generator seeded with `seed`.
    pub fn init_seeded(
        &self,
        in_features: usize,
        n_outputs: usize,
        init: WeightInit,
        device: &Device,
        seed: u64,
    ) -> Result<Head, NnError> {
        let rng = &mut StdRng::seed_from_u64(seed);
        self.init_drawing([in_features, n_outputs], init, device, rng)
    }

    /// Like [`Self::init_seeded`], drawing from `rng` (see `ConvBlockConfig::init_drawing`).
    pub(crate) fn init_drawing(
        &self,
        [in_features, n_outputs]: [usize; 2],
        init: WeightInit,
        device: &Device,
        rng: &mut StdRng,
    ) -> Result<Head, NnError> {
        self.validate()?;
        let mut linear = |d_in: usize, d_out: usize| {
            let mut layer = LinearConfig::new(d_in, d_out).init(device);
            layer.weight =
                Param::from_data(init.linear_weights(self.dropout, d_in, d_out, rng), device);
            // Zero bias: the prior-matching bias is set afterwards when priors are known.
            layer.bias = Some(Initializer::Zeros.init([d_out], device));
            layer
        };
        let (hidden, out_in) = match self.hidden {
            Some(width) => (Some(linear(in_features, width)), width),
            None => (None, in_features),
        };
        let output = linear(out_in, n_outputs);
        Ok(Head {
            pool: self.pool,
            dropout: DropoutConfig::new(self.dropout).init(),
            hidden,
            output,
        })
    }
}

/// Pooling, dropout, optional hidden layer, output Linear. Returns logits.
#[derive(Module, Debug)]
pub struct Head {
    /// Global pooling or flattening.
    #[module(skip)]
    pub pool: HeadPool,
    /// Dropout before each Linear layer.
    pub dropout: Dropout,
    /// Optional hidden Linear layer (followed by ReLU).
    pub hidden: Option<Linear>,
    /// Output layer: one logit per output.
    pub output: Linear,
}

impl Head {
    /// `[B, C, F, T]` features to `[B, n_outputs]` logits.
    pub fn forward(&self, features: Tensor<4>) -> Tensor<2> {
        self.forward_masked(features, &mut Masks::Burn)
    }

    /// [`Head::forward`] with dropout masks from `masks`.
    pub(crate) fn forward_masked(&self, features: Tensor<4>, masks: &mut Masks) -> Tensor<2> {
        let mut x = masks.apply(&self.dropout, self.pool.forward(features));
        if let Some(hidden) = &self.hidden {
            x = masks.apply(&self.dropout, activation::relu(hidden.forward(x)));
        }
        self.output.forward(x)
    }
}
