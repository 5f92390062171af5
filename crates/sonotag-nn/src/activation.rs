//! Activation functions of the convolution blocks and the gain each needs at initialisation.

use burn::config::Config;
use burn::tensor::{Tensor, activation};

/// Pointwise non-linearity applied after each convolution (and batch norm).
#[derive(Config, Debug, PartialEq, Copy)]
pub enum Activation {
    /// `max(x, 0)`, the default.
    Relu,
    /// `x` for `x > 0`, `negative_slope * x` otherwise.
    LeakyRelu {
        /// Slope for negative inputs, in `[0, 1)`.
        negative_slope: f64,
    },
    /// Gaussian error linear unit (exact form).
    Gelu,
    /// `x * sigmoid(x)` (swish).
    Silu,
}

// Not derived: the Config derive copies variant attributes into its serde twin.
#[allow(clippy::derivable_impls)]
impl Default for Activation {
    fn default() -> Self {
        Self::Relu
    }
}

impl Activation {
    /// Applies the activation.
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        match self {
            Self::Relu => activation::relu(x),
            Self::LeakyRelu { negative_slope } => activation::leaky_relu(x, *negative_slope),
            Self::Gelu => activation::gelu(x),
            Self::Silu => activation::silu(x),
        }
    }

    /// Whether the activation never decreases (ReLU, a leaky ReLU with a non-negative slope):
    /// then it commutes with max pooling, which can run first, on fewer values.
    pub(crate) fn is_non_decreasing(&self) -> bool {
        match self {
            Self::Relu => true,
            Self::LeakyRelu { negative_slope } => *negative_slope >= 0.0,
            Self::Gelu | Self::Silu => false,
        }
    }

    /// The Kaiming gain that keeps the activation variance constant through a layer:
    /// `sqrt(2)` for ReLU (He et al. 2015), `sqrt(2 / (1 + a^2))` for a leaky ReLU of slope `a`
    /// (as `torch.nn.init.calculate_gain`). GELU and SiLU behave like ReLU for large inputs and
    /// use its gain, a common convention.
    pub fn kaiming_gain(&self) -> f64 {
        match self {
            Self::Relu | Self::Gelu | Self::Silu => 2f64.sqrt(),
            Self::LeakyRelu { negative_slope } => {
                (2.0 / (1.0 + negative_slope * negative_slope)).sqrt()
            }
        }
    }
}
