//! Ready-made networks.

use burn::config::Config;

use crate::activation::Activation;
use crate::block::{ConvBlockSpec, Pool};
use crate::cnn::CnnConfig;
use crate::head::{HeadConfig, HeadPool};

/// A named architecture; [`Preset::config`] gives its [`CnnConfig`] for a head width.
#[derive(Config, Debug, PartialEq, Copy)]
pub enum Preset {
    /// The reference ("seed-bird") network of the speed comparisons: four blocks of
    /// conv 3x3 (bias) + batch norm + ReLU + max pool 2x2, widths 32-64-128-256, global mean
    /// pooling, dropout 0.2, Linear. About 89 M multiply-adds per 64 x 101 input.
    SeedNet,
    /// PANNs CNN6 (Kong et al. 2020): four blocks of one conv 5x5 (no bias), batch norm, ReLU,
    /// average pool 2x2 and dropout 0.2, widths 64-128-256-512; head: mean over frequency, max
    /// plus mean over time, dropout 0.5, Linear 512 with ReLU, dropout 0.5, Linear.
    Cnn6,
    /// PANNs CNN10: as [`Preset::Cnn6`] with two 3x3 convs per block.
    Cnn10,
    /// Two small blocks (8, 16 channels) and mean pooling, for tests and examples.
    Tiny,
}

impl Preset {
    /// The configuration with `n_outputs` logits (see [`crate::Task::head_width`]).
    ///
    /// ```
    /// use sonotag_nn::Preset;
    ///
    /// let seed = Preset::SeedNet.config(70);
    /// assert_eq!(seed.feature_shape([32, 1, 64, 101]).unwrap(), [32, 256, 4, 6]);
    /// ```
    pub fn config(self, n_outputs: usize) -> CnnConfig {
        match self {
            Self::SeedNet => CnnConfig::new(vec![32, 64, 128, 256], n_outputs)
                .with_block(
                    ConvBlockSpec::new()
                        .with_kernel_size(3)
                        .with_conv_bias(true)
                        .with_pool(Pool::Max { kernel: [2, 2] }),
                )
                .with_head(
                    HeadConfig::new()
                        .with_pool(HeadPool::Mean)
                        .with_dropout(0.2),
                ),
            Self::Cnn6 => panns(5, 1, n_outputs),
            Self::Cnn10 => panns(3, 2, n_outputs),
            Self::Tiny => CnnConfig::new(vec![8, 16], n_outputs),
        }
    }
}

fn panns(kernel_size: usize, n_convs: usize, n_outputs: usize) -> CnnConfig {
    CnnConfig::new(vec![64, 128, 256, 512], n_outputs)
        .with_block(
            ConvBlockSpec::new()
                .with_kernel_size(kernel_size)
                .with_n_convs(n_convs)
                .with_conv_bias(false)
                .with_activation(Activation::Relu)
                .with_pool(Pool::Avg { kernel: [2, 2] })
                .with_dropout(0.2),
        )
        .with_head(
            HeadConfig::new()
                .with_pool(HeadPool::MeanMaxTime)
                .with_dropout(0.5)
                .with_hidden(Some(512)),
        )
}
