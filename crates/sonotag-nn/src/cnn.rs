//! A CNN: a stack of [`ConvBlock`]s with one width per block, then a [`Head`].

use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::Device;
use burn::tensor::{Tensor, TensorData};

use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::block::{ConvBlock, ConvBlockConfig, ConvBlockSpec};
use crate::error::NnError;
use crate::head::{Head, HeadConfig, HeadPool};
use crate::init::WeightInit;

/// Configuration of a [`Cnn`]: the same block spec repeated over a list of widths, then a head.
///
/// Input layout is `[batch, in_channels, n_mels, n_frames]`; the output is `[batch, n_outputs]`
/// logits. Shapes are known without running anything:
///
/// ```
/// use sonotag_nn::{CnnConfig, HeadConfig, HeadPool};
///
/// let config = CnnConfig::new(vec![32, 64], 10);
/// assert_eq!(config.feature_shape([4, 1, 64, 101]).unwrap(), [4, 64, 16, 25]);
/// assert_eq!(config.output_shape([4, 1, 64, 101]).unwrap(), [4, 10]);
///
/// // A flatten head computes its Linear input size from the fixed input size.
/// let flat = config
///     .with_head(HeadConfig::new().with_pool(HeadPool::Flatten))
///     .with_input_hw(Some([64, 101]));
/// assert_eq!(flat.head_in_features().unwrap(), 64 * 16 * 25);
/// ```
#[derive(Config, Debug, PartialEq)]
pub struct CnnConfig {
    /// Output channels of each block, in order (one block per entry).
    pub widths: Vec<usize>,
    /// Number of logits (the task's head width).
    pub n_outputs: usize,
    /// Channels of the input (1 for a log-mel spectrogram).
    #[config(default = 1)]
    pub in_channels: usize,
    /// Kernel, normalisation, activation, pooling and dropout of every block.
    #[config(default = "ConvBlockSpec::new()")]
    pub block: ConvBlockSpec,
    /// Pooling, dropout and hidden layer of the head.
    #[config(default = "HeadConfig::new()")]
    pub head: HeadConfig,
    /// Weight initialisation.
    #[config(default = "WeightInit::KaimingNormal")]
    pub init: WeightInit,
    /// Fixed input `[n_mels, n_frames]`; required by (and only used with) [`HeadPool::Flatten`].
    pub input_hw: Option<[usize; 2]>,
}

impl CnnConfig {
    /// Checks every field, naming the first wrong one.
    pub fn validate(&self) -> Result<(), NnError> {
        if self.widths.is_empty() {
            return Err(NnError::config(
                "widths",
                "is empty; give at least one block",
            ));
        }
        if let Some(i) = self.widths.iter().position(|&w| w == 0) {
            return Err(NnError::config(
                format!("widths[{i}]"),
                "is 0; a block needs at least one channel",
            ));
        }
        if self.n_outputs == 0 {
            return Err(NnError::config(
                "n_outputs",
                "is 0; the head needs one logit at least",
            ));
        }
        if self.in_channels == 0 {
            return Err(NnError::config("in_channels", "is 0"));
        }
        self.block.validate("block")?;
        self.head.validate()?;
        self.init.validate("init")?;
        if self.head.pool == HeadPool::Flatten && self.input_hw.is_none() {
            return Err(NnError::config(
                "input_hw",
                "is missing; a flatten head needs the fixed input [n_mels, n_frames] to size its \
                 Linear layer (or use a global pooling head for variable-length input)",
            ));
        }
        Ok(())
    }

    /// The configuration of each block, in order.
    pub fn block_configs(&self) -> Vec<ConvBlockConfig> {
        let mut c_in = self.in_channels;
        self.widths
            .iter()
            .map(|&w| {
                let cfg = ConvBlockConfig::new(c_in, w).with_spec(self.block.clone());
                c_in = w;
                cfg
            })
            .collect()
    }

    /// Shape `[B, C, F', T']` of the feature map entering the head, for an input
    /// `[B, in_channels, F, T]`, computed without running the network.
    pub fn feature_shape(&self, input: [usize; 4]) -> Result<[usize; 4], NnError> {
        self.validate()?;
        let [b, c, f, t] = input;
        if c != self.in_channels {
            return Err(NnError::InputShape {
                got: input.to_vec(),
                reason: format!(
                    "expected [batch, {}, n_mels, n_frames], the channel axis is {c}",
                    self.in_channels
                ),
            });
        }
        if b == 0 {
            return Err(NnError::InputShape {
                got: input.to_vec(),
                reason: "the batch is empty".into(),
            });
        }
        let mut hw = [f, t];
        for (i, _) in self.widths.iter().enumerate() {
            hw = self.block.output_hw(hw).ok_or_else(|| NnError::InputShape {
                got: input.to_vec(),
                reason: format!(
                    "the feature map is {}x{} before block {i}, smaller than its pooling window \
                     {:?}; use longer inputs, more mel bands or fewer blocks",
                    hw[0],
                    hw[1],
                    self.block.pool.kernel()
                ),
            })?;
        }
        let c_out = *self.widths.last().unwrap_or(&self.in_channels);
        Ok([b, c_out, hw[0], hw[1]])
    }

    /// Shape `[B, n_outputs]` of the logits for an input `[B, in_channels, F, T]`.
    pub fn output_shape(&self, input: [usize; 4]) -> Result<[usize; 2], NnError> {
        let features = self.feature_shape(input)?;
        if let (HeadPool::Flatten, Some(hw)) = (self.head.pool, self.input_hw)
            && [input[2], input[3]] != hw
        {
            return Err(NnError::InputShape {
                got: input.to_vec(),
                reason: format!(
                    "the flatten head was sized for inputs of {}x{} (input_hw)",
                    hw[0], hw[1]
                ),
            });
        }
        Ok([features[0], self.n_outputs])
    }

    /// Input width of the head's first Linear layer (its pooled vector width).
    pub fn head_in_features(&self) -> Result<usize, NnError> {
        self.validate()?;
        let c = *self.widths.last().unwrap_or(&self.in_channels);
        match (self.head.pool, self.input_hw) {
            (HeadPool::Flatten, Some([f, t])) => {
                let [_, c, f, t] = self.feature_shape([1, self.in_channels, f, t])?;
                // Checked: `input_hw` may come from a file.
                c.checked_mul(f)
                    .and_then(|cf| cf.checked_mul(t))
                    .ok_or_else(|| {
                        NnError::config(
                            "input_hw",
                            format!("{c} x {f} x {t} flattened features overflow"),
                        )
                    })
            }
            (pool, _) => Ok(pool.pooled_width([c, 1, 1])),
        }
    }

    /// Builds the network on `device` with weights drawn from seed 0; use
    /// [`Self::init_seeded`] for another draw.
    ///
    /// ```
    /// use burn::tensor::{Device, Tensor};
    /// use sonotag_nn::CnnConfig;
    ///
    /// let device = Device::flex();
    /// let model = CnnConfig::new(vec![8, 16], 3).init(&device).unwrap();
    /// let logits = model.forward(Tensor::<4>::zeros([2, 1, 32, 40], &device));
    /// assert_eq!(logits.dims(), [2, 3]);
    /// ```
    pub fn init(&self, device: &Device) -> Result<Cnn, NnError> {
        self.init_seeded(device, 0)
    }

    /// Builds the network with weights drawn from a generator seeded with `seed`.
    ///
    /// The same seed gives the same weights on every run and every backend, whatever else
    /// the process draws from burn's (process-global) random source.
    ///
    /// ```
    /// use burn::tensor::Device;
    /// use sonotag_nn::CnnConfig;
    ///
    /// let device = Device::flex();
    /// let config = CnnConfig::new(vec![4], 2);
    /// let a = config.init_seeded(&device, 7).unwrap();
    /// let b = config.init_seeded(&device, 7).unwrap();
    /// let c = config.init_seeded(&device, 8).unwrap();
    /// let w = |m: &sonotag_nn::Cnn| m.blocks[0].convs[0].weight.val().into_data();
    /// assert_eq!(w(&a), w(&b));
    /// assert_ne!(w(&a), w(&c));
    /// ```
    pub fn init_seeded(&self, device: &Device, seed: u64) -> Result<Cnn, NnError> {
        // One stream for the whole network, drawn layer by layer.
        let mut rng = StdRng::seed_from_u64(seed);
        let in_features = self.head_in_features()?;
        let blocks = self
            .block_configs()
            .iter()
            .enumerate()
            .map(|(i, cfg)| cfg.init_drawing(self.init, &format!("blocks[{i}]"), device, &mut rng))
            .collect::<Result<Vec<_>, _>>()?;
        let head =
            self.head
                .init_drawing([in_features, self.n_outputs], self.init, device, &mut rng)?;
        Ok(Cnn {
            blocks,
            head,
            config: self.clone(),
        })
    }
}

/// A CNN tagger body: blocks then head, returning logits (never probabilities; the task turns
/// logits into probabilities, see [`crate::Task`]).
#[derive(Module, Debug)]
pub struct Cnn {
    /// Convolution blocks, in order.
    pub blocks: Vec<ConvBlock>,
    /// Pooling and classifier.
    pub head: Head,
    /// The configuration it was built from (for shape checks).
    #[module(skip)]
    pub config: CnnConfig,
}

impl Cnn {
    /// `[B, in_channels, F, T]` input to `[B, n_outputs]` logits. The input shape must fit the
    /// configuration (see [`Cnn::try_forward`] for a checked call).
    pub fn forward(&self, input: Tensor<4>) -> Tensor<2> {
        self.head.forward(self.features(input))
    }

    /// Like [`Cnn::forward`], after checking the input shape against the configuration.
    pub fn try_forward(&self, input: Tensor<4>) -> Result<Tensor<2>, NnError> {
        self.config.output_shape(input.dims())?;
        Ok(self.forward(input))
    }

    /// The feature map entering the head, `[B, C, F', T']`.
    pub fn features(&self, input: Tensor<4>) -> Tensor<4> {
        self.blocks.iter().fold(input, |x, block| block.forward(x))
    }

    /// The device holding the weights.
    pub fn device(&self) -> Device {
        self.head.output.weight.lazy_device()
    }

    /// Number of logits.
    pub fn n_outputs(&self) -> usize {
        self.config.n_outputs
    }

    /// Replaces the output bias, e.g. with [`crate::Task::prior_bias`] so that an untrained
    /// network predicts the label frequencies.
    pub fn with_output_bias(mut self, bias: &[f32]) -> Result<Self, NnError> {
        if bias.len() != self.n_outputs() {
            return Err(NnError::InvalidLabels {
                what: "bias",
                reason: format!(
                    "{} values given for a head of {} outputs",
                    bias.len(),
                    self.n_outputs()
                ),
            });
        }
        if let Some(i) = bias.iter().position(|b| !b.is_finite()) {
            return Err(NnError::InvalidLabels {
                what: "bias",
                reason: format!("value {i} is {}; biases must be finite", bias[i]),
            });
        }
        let data = TensorData::new(bias.to_vec(), [bias.len()]);
        let replace = |old: Tensor<1>| {
            // Keep the parameter id and its gradient requirement, so an optimiser built before
            // still tracks it.
            let wants_grad = old.is_require_grad();
            Tensor::<1>::from_data(data, &old.device()).set_require_grad(wants_grad)
        };
        self.head.output.bias = Some(match self.head.output.bias.take() {
            Some(param) => param.map(replace),
            None => Param::from_data(TensorData::new(bias.to_vec(), [bias.len()]), &self.device()),
        });
        Ok(self)
    }
}
