//! Inference with batch norm folded into the convolutions.
//!
//! At inference batch norm is an affine map per channel,
//! `y = (x - mean) * gamma / sqrt(var + eps) + beta`, so it can be folded into the preceding
//! convolution: `w' = w * s`, `b' = (b - mean) * s + beta` with `s = gamma / sqrt(var + eps)`.
//! That removes one full pass over every activation map (read + write) per convolution.
//!
//! On a CPU device (flex or ndarray) the folded blocks run on a dedicated NHWC im2col + GEMM
//! engine instead of burn's convolution, pooling and activation kernels (see
//! docs/benchmarks.md for why and by how much); on other devices they run as burn operations.

use burn::module::Module;
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Tensor, TensorData};

use crate::activation::Activation;
use crate::block::{ConvBlock, Pool, same_padding};
use crate::cnn::{Cnn, CnnConfig};
use crate::engine::infer::HostNet;
use crate::engine::lower::{EngineFallback, host_vec, is_host_cpu, lower_infer};
use crate::error::NnError;
use crate::head::Head;

/// One convolution with its batch norm folded in.
#[derive(Debug, Clone)]
struct FusedConv {
    weight: Tensor<4>,
    bias: Tensor<1>,
    padding: [(usize, usize); 2],
}

#[derive(Debug, Clone)]
struct FusedBlock {
    convs: Vec<FusedConv>,
    activation: Activation,
    pool: Pool,
}

/// An inference-only copy of a [`Cnn`] with batch norm folded into the convolution weights.
/// Built from a trained model (running statistics), it gives the same logits as
/// `model.valid().forward(x)` up to float rounding.
///
/// ```
/// use burn::tensor::{Device, Distribution, Tensor};
/// use sonotag_nn::{fused::FusedCnn, Preset};
///
/// let device = Device::flex();
/// let model = Preset::Tiny.config(3).init(&device).unwrap();
/// let fused = FusedCnn::new(&model).unwrap();
/// let x = Tensor::<4>::random([2, 1, 32, 40], Distribution::Normal(0.0, 1.0), &device);
/// let diff = (fused.forward(x.clone()) - model.forward(x)).abs().max().into_scalar::<f32>();
/// assert!(diff < 1e-4);
/// ```
#[derive(Debug, Clone)]
pub struct FusedCnn {
    blocks: Vec<FusedBlock>,
    head: Head,
    /// The engine's plan, or why burn's kernels run the blocks.
    host: Result<HostNet, EngineFallback>,
    config: CnnConfig,
}

fn fold(block: &ConvBlock, i: usize) -> Result<FusedConv, NnError> {
    let conv = &block.convs[i];
    let weight = conv.weight.val().inner();
    let [c_out, _, kh, kw] = weight.dims();
    if conv.stride != [1, 1] || conv.dilation != [1, 1] || conv.groups != 1 {
        return Err(NnError::config(
            "fused",
            "only stride-1, dilation-1, ungrouped convolutions can be folded",
        ));
    }
    // "Same" padding for odd kernels is symmetric.
    let (ph, pw) = (same_padding(kh), same_padding(kw));
    let padding = [(ph, ph), (pw, pw)];
    let device = weight.device();
    let bias = match &conv.bias {
        Some(b) => b.val().inner(),
        None => Tensor::from_data(TensorData::new(vec![0f32; c_out], [c_out]), &device),
    };
    let (weight, bias) = match block.norms.get(i) {
        Some(bn) => {
            let scale = bn.gamma.val().inner()
                / bn.running_var.value().inner().add_scalar(bn.epsilon).sqrt();
            let shift = bn.beta.val().inner() - bn.running_mean.value().inner() * scale.clone();
            (
                weight * scale.clone().reshape([c_out, 1, 1, 1]),
                bias * scale + shift,
            )
        }
        None => (weight, bias),
    };
    Ok(FusedConv {
        weight,
        bias,
        padding,
    })
}

impl FusedCnn {
    /// Folds every batch norm of `model` (using its running statistics).
    pub fn new(model: &Cnn) -> Result<Self, NnError> {
        let blocks = model
            .blocks
            .iter()
            .map(|block| {
                Ok(FusedBlock {
                    convs: (0..block.convs.len())
                        .map(|i| fold(block, i))
                        .collect::<Result<_, NnError>>()?,
                    activation: block.activation,
                    pool: block.pool,
                })
            })
            .collect::<Result<Vec<_>, NnError>>()?;
        let folded: Vec<Vec<_>> = blocks
            .iter()
            .map(|b| {
                b.convs
                    .iter()
                    .map(|c| (c.weight.clone(), c.bias.clone()))
                    .collect()
            })
            .collect();
        let host = lower_infer(model, &folded);
        Ok(Self {
            blocks,
            head: model.head.valid(),
            host,
            config: model.config.clone(),
        })
    }

    /// Runs the folded blocks on burn operations even on a CPU device (for comparisons).
    pub fn without_host_engine(mut self) -> Self {
        self.host = Err(EngineFallback::Disabled);
        self
    }

    /// Whether the CPU NHWC engine runs the convolutions (true on flex and ndarray devices).
    pub fn uses_host_engine(&self) -> bool {
        self.host.is_ok()
    }

    /// Why burn's kernels run the convolutions instead of the CPU engine, or `None` when the
    /// engine runs them.
    ///
    /// ```
    /// use burn::tensor::Device;
    /// use sonotag_nn::{fused::FusedCnn, Preset};
    ///
    /// let model = Preset::Tiny.config(3).init(&Device::flex()).unwrap();
    /// let fused = FusedCnn::new(&model).unwrap();
    /// assert_eq!(fused.fallback(), None);
    /// assert!(fused.without_host_engine().fallback().is_some());
    /// ```
    pub fn fallback(&self) -> Option<&EngineFallback> {
        self.host.as_ref().err()
    }

    /// Like [`FusedCnn::forward`], after checking the input shape against the configuration.
    pub fn try_forward(&self, input: Tensor<4>) -> Result<Tensor<2>, NnError> {
        self.config.output_shape(input.dims())?;
        Ok(self.forward(input))
    }

    /// `[B, C, F, T]` input to `[B, n_outputs]` logits (inference: no dropout, no gradients).
    /// The input shape must fit the configuration (see [`FusedCnn::try_forward`]). Where
    /// [`FusedCnn::fallback`] is `None` the CPU engine runs the blocks, unless this input is on
    /// another device or not `f32`: that one call then runs on burn's kernels (same results up
    /// to float rounding).
    pub fn forward(&self, input: Tensor<4>) -> Tensor<2> {
        if let Ok(host) = &self.host
            && is_host_cpu(&input.device())
        {
            let device = input.device();
            let shape = input.dims();
            match host_vec(input.clone(), "input") {
                Ok(x) => {
                    let (features, shape) = host.features(&x, shape);
                    let features =
                        Tensor::<4>::from_data(TensorData::new(features, shape), &device);
                    return self.head.forward(features);
                }
                // Not f32 (e.g. a half-precision model): fall back to burn's kernels.
                Err(_) => return self.forward_burn(input),
            }
        }
        self.forward_burn(input)
    }

    /// The folded network on burn operations (any device).
    fn forward_burn(&self, input: Tensor<4>) -> Tensor<2> {
        let mut x = input;
        for block in &self.blocks {
            for conv in &block.convs {
                let options = ConvOptions::new_with_padding([1, 1], conv.padding, [1, 1], 1);
                x = conv2d(x, conv.weight.clone(), Some(conv.bias.clone()), options);
                x = block.activation.forward(x);
            }
            x = block.pool.forward(x);
        }
        self.head.forward(x)
    }
}
