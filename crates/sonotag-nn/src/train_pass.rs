//! A training step's forward pass and the parameter gradients that follow from its loss.
//!
//! On a CPU autodiff device the convolution blocks run forward and backward on sonotag's NHWC
//! engine ([`crate::host_train`]); the head and the loss stay in burn's autodiff graph, which
//! hands the engine the gradient at the feature map. On other devices (GPU), or for settings the
//! engine does not implement (GELU, frozen layers, non-f32 weights), everything runs on burn.
//! Either way the caller writes the same three lines:
//!
//! ```
//! use burn::optim::{AdamConfig, Optimizer};
//! use burn::tensor::{Device, Distribution, Tensor};
//! use sonotag_nn::{MultiLabel, MultiLabelTargets, Preset, Task};
//!
//! let device = Device::flex().autodiff();
//! let model = Preset::Tiny.config(3).init(&device).unwrap();
//! let x = Tensor::<4>::random([2, 1, 32, 40], Distribution::Normal(0.0, 1.0), &device);
//! let y = MultiLabelTargets::from_rows(&[1.0, 0.0, 1.0, 0.0, 1.0, 0.0], 3, &device).unwrap();
//!
//! let (logits, pass) = model.forward_train(x, 7);
//! let loss = MultiLabel::default().loss(logits, &y).unwrap();
//! let grads = pass.gradients(loss.backward(), &model).unwrap();
//!
//! let model = AdamConfig::new().init().step(1e-3, model, grads);
//! # let _ = model;
//! ```

use burn::module::Param;
use burn::nn::BatchNorm;
use burn::nn::conv::Conv2d;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Gradients, Tensor, TensorData};

use crate::cnn::Cnn;
use crate::error::NnError;
use crate::fused::is_host_cpu;
use crate::host::{host_vec, nchw_to_nhwc, nhwc_to_nchw, oihw_to_rows, rows_to_oihw};
use crate::host_train::{
    ConvGrads, Tape, TrainBlock, TrainConv, TrainNet, TrainNorm, recycle, release_buffers, scratch,
    zeroed,
};

/// What [`Cnn::forward_train`] keeps for [`TrainPass::gradients`].
#[must_use = "the gradients of the step come from TrainPass::gradients"]
pub struct TrainPass {
    host: Option<HostPass>,
}

struct HostPass {
    net: TrainNet,
    tape: Tape,
    /// The feature map as a leaf of burn's graph (NCHW), whose gradient the head's backward
    /// leaves for the engine.
    features: Tensor<4>,
}

impl std::fmt::Debug for TrainPass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrainPass")
            .field("host_engine", &self.uses_host_engine())
            .finish()
    }
}

impl TrainPass {
    /// Whether the convolution blocks ran on the CPU NHWC engine (else on burn's autodiff).
    pub fn uses_host_engine(&self) -> bool {
        self.host.is_some()
    }

    /// The gradient of every trainable parameter of `model` (the model the pass ran on), from
    /// `grads = loss.backward()`. With batch norm in training mode this also moves the running
    /// statistics, as burn's `BatchNorm` does.
    pub fn gradients(self, grads: Gradients, model: &Cnn) -> Result<GradientsParams, NnError> {
        let Some(host) = self.host else {
            return Ok(GradientsParams::from_grads(grads, model));
        };
        let feature_grad = host.features.grad(&grads);
        let mut params = GradientsParams::from_grads(grads, model);
        let [h, w, c] = host.tape.out_shape();
        let [b, ..] = host.features.dims();
        let d_features = match feature_grad {
            Some(g) => to_nhwc(&host_vec(g, "gradient at the feature map")?, [b, c, h, w]),
            // The loss does not depend on the features (a zero-width head): nothing flows back.
            None => zeroed(b * c * h * w),
        };
        let conv_grads = host.net.backward(host.tape, d_features);
        let device = model.device().inner();
        for ((block, grads), spec) in model.blocks.iter().zip(conv_grads).zip(&host.net.blocks) {
            for (i, (g, conv)) in grads.into_iter().zip(&spec.convs).enumerate() {
                register_conv(&mut params, &block.convs[i], conv, &g, &device);
                if let Some(norm) = block.norms.get(i) {
                    register_norm(&mut params, norm, &g, &device)?;
                }
            }
        }
        Ok(params)
    }
}

/// Frees the buffers that CPU training steps keep for reuse (about the memory of one step).
/// Call it when training is over; the next step allocates them again.
pub fn release_training_buffers() {
    release_buffers();
}

impl Cnn {
    /// The forward pass of a training step: logits that the loss is computed from, and a
    /// [`TrainPass`] that turns the loss's gradients into parameter gradients. `seed` draws the
    /// dropout masks of the blocks when they run on the CPU engine (the head's dropout, and the
    /// blocks' on other devices, draw from burn's generator, as [`Cnn::forward`] does).
    ///
    /// Gives the same logits and gradients as `forward` + `GradientsParams::from_grads`, up to
    /// float rounding (tested against burn's autodiff), at about 2.7x the speed of burn-flex's
    /// autodiff on the reference network (docs/benchmarks.md).
    pub fn forward_train(&self, input: Tensor<4>, seed: u64) -> (Tensor<2>, TrainPass) {
        if let Some(net) = self.train_net(&input) {
            let shape = input.dims();
            if let Ok(x) = host_vec(input.clone(), "input") {
                let [b, c, h, w] = shape;
                let (out, tape) = net.forward(to_nhwc(&x, shape), [b, h, w, c], seed);
                let [oh, ow, oc] = tape.out_shape();
                let mut nchw = vec![0f32; out.len()];
                nhwc_to_nchw(&out, [b, oh, ow, oc], &mut nchw);
                recycle(out);
                let features =
                    Tensor::<4>::from_data(TensorData::new(nchw, [b, oc, oh, ow]), &input.device())
                        .require_grad();
                let logits = self.head.forward(features.clone());
                let pass = TrainPass {
                    host: Some(HostPass {
                        net,
                        tape,
                        features,
                    }),
                };
                return (logits, pass);
            }
        }
        (self.forward(input), TrainPass { host: None })
    }

    /// The blocks as a host training network, when the engine applies to this model and input.
    fn train_net(&self, input: &Tensor<4>) -> Option<TrainNet> {
        let device = input.device();
        if !device.is_autodiff() || !is_host_cpu(&device) {
            return None;
        }
        let blocks = self
            .blocks
            .iter()
            .map(|block| {
                if !TrainNet::supports(&block.activation)
                    || (block.dropout.prob > 0.0 && !block.dropout.training.is_enabled())
                {
                    return None;
                }
                let convs = block
                    .convs
                    .iter()
                    .enumerate()
                    .map(|(i, conv)| train_conv(conv, block.norms.get(i)))
                    .collect::<Option<Vec<_>>>()?;
                Some(TrainBlock {
                    convs,
                    activation: block.activation,
                    pool: block.pool,
                    dropout: block.dropout.prob,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        Some(TrainNet { blocks })
    }
}

/// One convolution (and its batch norm) as host training data, when the engine implements it.
fn train_conv(conv: &Conv2d, norm: Option<&BatchNorm>) -> Option<TrainConv> {
    let weight = conv.weight.val();
    let [c_out, c_in, kh, kw] = weight.dims();
    if kh != kw
        || kh % 2 == 0
        || conv.stride != [1, 1]
        || conv.dilation != [1, 1]
        || conv.groups != 1
        || !weight.is_require_grad()
    {
        return None;
    }
    let bias = match &conv.bias {
        Some(b) if !b.val().is_require_grad() => return None,
        Some(b) => Some(host_vec(b.val().inner(), "bias").ok()?),
        None => None,
    };
    let norm = match norm {
        Some(bn) => {
            if !bn.training.is_enabled()
                || !bn.gamma.val().is_require_grad()
                || !bn.beta.val().is_require_grad()
            {
                return None;
            }
            Some(TrainNorm {
                gamma: host_vec(bn.gamma.val().inner(), "gamma").ok()?,
                beta: host_vec(bn.beta.val().inner(), "beta").ok()?,
                epsilon: bn.epsilon,
            })
        }
        None => None,
    };
    Some(TrainConv {
        c_in,
        c_out,
        k: kh,
        weight: oihw_to_rows(&host_vec(weight.inner(), "weight").ok()?, c_out, c_in, kh),
        bias,
        norm,
    })
}

fn register_conv(
    params: &mut GradientsParams,
    conv: &Conv2d,
    spec: &TrainConv,
    g: &ConvGrads,
    device: &Device,
) {
    let (c_out, c_in, k) = (spec.c_out, spec.c_in, spec.k);
    let weight = rows_to_oihw(&g.weight, c_out, c_in, k);
    params.register(
        conv.weight.id,
        Tensor::<4>::from_data(TensorData::new(weight, [c_out, c_in, k, k]), device),
    );
    if let (Some(bias), Some(grad)) = (&conv.bias, &g.bias) {
        register_vec(params, bias, grad, device);
    }
}

fn register_norm(
    params: &mut GradientsParams,
    norm: &BatchNorm,
    g: &ConvGrads,
    device: &Device,
) -> Result<(), NnError> {
    if let Some(grad) = &g.gamma {
        register_vec(params, &norm.gamma, grad, device);
    }
    if let Some(grad) = &g.beta {
        register_vec(params, &norm.beta, grad, device);
    }
    // Running statistics: running = (1 - momentum) * running + momentum * batch, as burn does.
    let m = norm.momentum as f32;
    for (state, batch) in [
        (&norm.running_mean, &g.batch_mean),
        (&norm.running_var, &g.batch_var),
    ] {
        let Some(batch) = batch else { continue };
        let current = state.value_sync();
        let running_device = current.device();
        let old = host_vec(current, "batch-norm running statistics")?;
        let new: Vec<f32> = old
            .iter()
            .zip(batch)
            .map(|(r, v)| r * (1.0 - m) + v * m)
            .collect();
        let n = new.len();
        state.update(Tensor::<1>::from_data(
            TensorData::new(new, [n]),
            &running_device,
        ));
    }
    Ok(())
}

fn register_vec(
    params: &mut GradientsParams,
    param: &Param<Tensor<1>>,
    grad: &[f32],
    device: &Device,
) {
    params.register(
        param.id,
        Tensor::<1>::from_data(TensorData::new(grad.to_vec(), [grad.len()]), device),
    );
}

/// NCHW -> NHWC into a recycled buffer.
fn to_nhwc(x: &[f32], shape: [usize; 4]) -> Vec<f32> {
    let mut out = scratch(x.len());
    nchw_to_nhwc(x, shape, &mut out);
    out
}
