//! The convolution block: one or two k x k "same" convolutions, each optionally followed by batch
//! norm, then an activation, a pooling step and dropout.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Dropout, DropoutConfig, Initializer, PaddingConfig2d};
use burn::tensor::Tensor;
use burn::tensor::module::{avg_pool2d, max_pool2d};
use burn::tensor::ops::{AvgPoolOptions, MaxPoolOptions};

use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::activation::Activation;
use crate::dropout::Masks;
use crate::error::NnError;
use crate::init::WeightInit;

/// Pooling at the end of a block; the stride equals the kernel (non-overlapping windows) and
/// partial windows at the border are dropped, as `torch.nn.MaxPool2d(k)` does.
#[derive(Config, Debug, PartialEq, Copy)]
pub enum Pool {
    /// No pooling.
    Identity,
    /// Maximum over each `[h, w]` window (frequency x time).
    Max {
        /// Window `[frequency, time]`.
        kernel: [usize; 2],
    },
    /// Average over each `[h, w]` window (frequency x time).
    Avg {
        /// Window `[frequency, time]`.
        kernel: [usize; 2],
    },
}

impl Pool {
    /// The window, `[1, 1]` for [`Pool::Identity`].
    pub fn kernel(&self) -> [usize; 2] {
        match self {
            Self::Identity => [1, 1],
            Self::Max { kernel } | Self::Avg { kernel } => *kernel,
        }
    }

    /// Output `[height, width]` of pooling an `[height, width]` map: stride = window, a partial
    /// window at the bottom or right edge is dropped (floor). The one statement of this rule:
    /// shape inference, burn's pooling and both CPU engines follow it.
    pub fn output_hw(&self, [h, w]: [usize; 2]) -> [usize; 2] {
        let [kh, kw] = self.kernel();
        [h / kh.max(1), w / kw.max(1)]
    }

    pub(crate) fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        match self {
            Self::Identity => x,
            Self::Max { kernel } => max_pool2d(x, MaxPoolOptions::new(*kernel)),
            Self::Avg { kernel } => avg_pool2d(x, AvgPoolOptions::new(*kernel)),
        }
    }
}

/// Everything about a block except its channel counts; [`crate::CnnConfig`] repeats one spec
/// over a list of widths.
#[derive(Config, Debug, PartialEq)]
pub struct ConvBlockSpec {
    /// Odd kernel size `k` of the k x k convolutions ("same" padding keeps the spatial size).
    #[config(default = 3)]
    pub kernel_size: usize,
    /// Number of convolutions in the block: 1 (SeedNet, CNN6) or 2 (CNN10).
    #[config(default = 1)]
    pub n_convs: usize,
    /// Batch norm after each convolution.
    #[config(default = true)]
    pub batch_norm: bool,
    /// Whether the convolutions have a bias (redundant before batch norm; PANNs leaves it out).
    #[config(default = true)]
    pub conv_bias: bool,
    /// Activation after each convolution (and its batch norm).
    #[config(default = "Activation::Relu")]
    pub activation: Activation,
    /// Pooling after the last activation.
    #[config(default = "Pool::Max { kernel: [2, 2] }")]
    pub pool: Pool,
    /// Dropout probability after pooling (training only), in `[0, 1)`.
    #[config(default = 0.0)]
    pub dropout: f64,
}

impl ConvBlockSpec {
    /// Checks the fields; `at` names the block in error messages (e.g. `blocks[2]`).
    pub fn validate(&self, at: &str) -> Result<(), NnError> {
        if self.kernel_size == 0 || self.kernel_size.is_multiple_of(2) {
            return Err(NnError::config(
                format!("{at}.kernel_size"),
                format!(
                    "is {}; it must be odd (1, 3, 5, ...) so that \"same\" padding is symmetric",
                    self.kernel_size
                ),
            ));
        }
        if !(1..=2).contains(&self.n_convs) {
            return Err(NnError::config(
                format!("{at}.n_convs"),
                format!("is {}; a block has 1 or 2 convolutions", self.n_convs),
            ));
        }
        if let Pool::Max { kernel } | Pool::Avg { kernel } = self.pool
            && kernel.contains(&0)
        {
            return Err(NnError::config(
                format!("{at}.pool.kernel"),
                format!("is {kernel:?}; pooling windows must be at least 1 x 1"),
            ));
        }
        if let Activation::LeakyRelu { negative_slope } = self.activation
            && !(0.0..1.0).contains(&negative_slope)
        {
            return Err(NnError::config(
                format!("{at}.activation.negative_slope"),
                format!("is {negative_slope}; it must be in [0, 1)"),
            ));
        }
        check_probability(self.dropout, &format!("{at}.dropout"))
    }

    /// Output `[height, width]` of a block for an input of `[height, width]`, or `None` when the
    /// pooling window does not fit.
    pub fn output_hw(&self, hw: [usize; 2]) -> Option<[usize; 2]> {
        // Same padding keeps the size; pooling with stride = kernel floors.
        let [kh, kw] = self.pool.kernel();
        if hw[0] < kh || hw[1] < kw {
            return None;
        }
        Some(self.pool.output_hw(hw))
    }
}

/// The zero border on each side of a k x k "same" convolution (odd `k`, stride 1): `(k - 1) / 2`,
/// symmetric. The one statement of this rule, for burn's path, folding and both CPU engines.
pub(crate) fn same_padding(k: usize) -> usize {
    k.saturating_sub(1) / 2
}

pub(crate) fn check_probability(p: f64, field: &str) -> Result<(), NnError> {
    if !(0.0..1.0).contains(&p) {
        return Err(NnError::config(
            field,
            format!("is {p}; a dropout probability must be in [0, 1)"),
        ));
    }
    Ok(())
}

/// Configuration of one [`ConvBlock`].
#[derive(Config, Debug, PartialEq)]
pub struct ConvBlockConfig {
    /// Input channels.
    pub in_channels: usize,
    /// Output channels of every convolution in the block.
    pub out_channels: usize,
    /// Kernel, normalisation, activation, pooling and dropout.
    #[config(default = "ConvBlockSpec::new()")]
    pub spec: ConvBlockSpec,
}

impl ConvBlockConfig {
    /// Builds the block with Kaiming-normal convolutions (the default [`WeightInit`]).
    ///
    /// ```
    /// use burn::tensor::{Device, Tensor};
    /// use sonotag_nn::ConvBlockConfig;
    ///
    /// let device = Device::flex();
    /// let block = ConvBlockConfig::new(1, 8).init(&device).unwrap();
    /// let y = block.forward(Tensor::<4>::zeros([2, 1, 16, 20], &device));
    /// assert_eq!(y.dims(), [2, 8, 8, 10]);
    /// ```
    pub fn init(&self, device: &burn::tensor::Device) -> Result<ConvBlock, NnError> {
        self.init_with(WeightInit::default(), "block", device)
    }

    /// Builds the block with the given weight initialisation; `at` names it in errors.
    /// Weights are drawn from a generator seeded with 0; see [`Self::init_seeded`].
    pub fn init_with(
        &self,
        init: WeightInit,
        at: &str,
        device: &burn::tensor::Device,
    ) -> Result<ConvBlock, NnError> {
        self.init_seeded(init, at, device, 0)
    }

    /// Builds the block drawing its weights from a generator seeded with `seed`: the same seed
    /// gives the same weights, whatever else the process does.
    pub fn init_seeded(
        &self,
        init: WeightInit,
        at: &str,
        device: &burn::tensor::Device,
        seed: u64,
    ) -> Result<ConvBlock, NnError> {
        self.init_drawing(init, at, device, &mut StdRng::seed_from_u64(seed))
    }

    /// Builds the block drawing its weights from `rng` (a network draws all its layers from one
    /// stream; the generator stays private so that no public signature names it).
    pub(crate) fn init_drawing(
        &self,
        init: WeightInit,
        at: &str,
        device: &burn::tensor::Device,
        rng: &mut StdRng,
    ) -> Result<ConvBlock, NnError> {
        self.spec.validate(at)?;
        if self.in_channels == 0 || self.out_channels == 0 {
            return Err(NnError::config(
                format!("{at}.channels"),
                format!(
                    "are [{}, {}]; both must be at least 1",
                    self.in_channels, self.out_channels
                ),
            ));
        }
        let spec = &self.spec;
        let k = spec.kernel_size;
        let mut convs = Vec::with_capacity(spec.n_convs);
        let mut norms = Vec::new();
        for i in 0..spec.n_convs {
            let c_in = if i == 0 {
                self.in_channels
            } else {
                self.out_channels
            };
            let mut conv = Conv2dConfig::new([c_in, self.out_channels], [k, k])
                .with_padding(PaddingConfig2d::Same)
                .with_bias(spec.conv_bias)
                .init(device);
            conv.weight = Param::from_data(
                init.conv_weights(&spec.activation, [self.out_channels, c_in, k, k], rng),
                device,
            );
            // Zero bias (He et al.): the initializer would otherwise draw it like the weights.
            if conv.bias.is_some() {
                conv.bias = Some(Initializer::Zeros.init([self.out_channels], device));
            }
            convs.push(conv);
            if spec.batch_norm {
                norms.push(BatchNormConfig::new(self.out_channels).init(device));
            }
        }
        Ok(ConvBlock {
            convs,
            norms,
            activation: spec.activation,
            pool: spec.pool,
            dropout: DropoutConfig::new(spec.dropout).init(),
        })
    }
}

/// One or two convolutions (each with optional batch norm and an activation), pooling, dropout.
///
/// Input and output layout: `[batch, channels, frequency, time]`.
#[derive(Module, Debug)]
pub struct ConvBlock {
    /// The convolutions, applied in order.
    pub convs: Vec<Conv2d>,
    /// One batch norm per convolution, or none when the block has no normalisation.
    pub norms: Vec<BatchNorm>,
    /// Activation after each convolution.
    #[module(skip)]
    pub activation: Activation,
    /// Pooling after the last activation.
    #[module(skip)]
    pub pool: Pool,
    /// Dropout after pooling (active only on an autodiff device in training mode).
    pub dropout: Dropout,
}

impl ConvBlock {
    /// Applies the block: `[B, C_in, H, W] -> [B, C_out, H / ph, W / pw]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.forward_masked(x, &mut Masks::Burn)
    }

    /// [`ConvBlock::forward`] with dropout masks from `masks`.
    pub(crate) fn forward_masked(&self, x: Tensor<4>, masks: &mut Masks) -> Tensor<4> {
        let mut x = x;
        for (i, conv) in self.convs.iter().enumerate() {
            x = conv.forward(x);
            if let Some(norm) = self.norms.get(i) {
                x = norm.forward(x);
            }
            x = self.activation.forward(x);
        }
        masks.apply(&self.dropout, self.pool.forward(x))
    }

    /// Output channels.
    pub fn out_channels(&self) -> usize {
        self.convs
            .last()
            .map(|c| c.weight.dims()[0])
            .unwrap_or_default()
    }
}
