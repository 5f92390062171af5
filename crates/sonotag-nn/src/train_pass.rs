//! A training step's forward pass and the parameter gradients that follow from its loss.
//!
//! On a CPU autodiff device the convolution blocks run forward and backward on sonotag's NHWC
//! engine ([`crate::engine`]); the head and the loss stay in burn's autodiff graph, which
//! hands the engine the gradient at the feature map. On other devices (GPU), or for settings the
//! engine does not implement (GELU, frozen layers, non-f32 weights), everything runs on burn,
//! and [`TrainPass::fallback`] says why. Either way the caller writes the same three lines:
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
use crate::dropout::Masks;
use crate::engine::kernels::{nchw_to_nhwc, nhwc_to_nchw, rows_to_oihw};
use crate::engine::lower::{EngineFallback, host_vec, lower_train};
use crate::engine::train::{ConvGrads, Tape, TrainConv, TrainNet, TrainWorkspace};
use crate::error::NnError;

/// What [`Cnn::forward_train`] keeps for [`TrainPass::gradients`].
#[must_use = "the gradients of the step come from TrainPass::gradients"]
pub struct TrainPass {
    /// The engine's pass, or why burn's autodiff ran the blocks.
    host: Result<HostPass, EngineFallback>,
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
            .field("fallback", &self.fallback())
            .finish()
    }
}

impl TrainPass {
    /// Whether the convolution blocks ran on the CPU NHWC engine (else on burn's autodiff).
    pub fn uses_host_engine(&self) -> bool {
        self.host.is_ok()
    }

    /// Why burn's autodiff ran the convolution blocks instead of the CPU engine (a GPU device,
    /// a GELU block, a frozen layer, ...), or `None` when the engine ran them.
    pub fn fallback(&self) -> Option<&EngineFallback> {
        self.host.as_ref().err()
    }

    /// The gradient of every trainable parameter of `model` (the model the pass ran on), from
    /// `grads = loss.backward()`. With batch norm in training mode this also moves the running
    /// statistics, as burn's `BatchNorm` does.
    pub fn gradients(self, grads: Gradients, model: &Cnn) -> Result<GradientsParams, NnError> {
        let Ok(host) = self.host else {
            return Ok(GradientsParams::from_grads(grads, model));
        };
        let feature_grad = host.features.grad(&grads);
        let mut params = GradientsParams::from_grads(grads, model);
        let [h, w, c] = host.tape.out_shape();
        let [b, ..] = host.features.dims();
        let buffers = &host.net.buffers;
        let d_features = match feature_grad {
            Some(g) => to_nhwc(
                &host_vec(g, "gradient at the feature map")?,
                [b, c, h, w],
                buffers,
            ),
            // The loss does not depend on the features (a zero-width head): nothing flows back.
            None => buffers.zeroed(b * c * h * w),
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

impl Cnn {
    /// The forward pass of a training step: logits that the loss is computed from, and a
    /// [`TrainPass`] that turns the loss's gradients into parameter gradients. `seed` draws
    /// every dropout mask of the step (blocks and head, on the engine or on burn's kernels) from
    /// a generator the step owns: burn's process-wide random source is not used, so a seeded
    /// step gives the same result whatever other threads do.
    ///
    /// Gives the same logits and gradients as `forward` + `GradientsParams::from_grads`, up to
    /// float rounding (tested against burn's autodiff), at about 2.7x the speed of burn-flex's
    /// autodiff on the reference network (docs/benchmarks.md). Each call allocates the step's
    /// buffers afresh: a training loop should pass one workspace to
    /// [`Cnn::forward_train_with`] instead.
    pub fn forward_train(&self, input: Tensor<4>, seed: u64) -> (Tensor<2>, TrainPass) {
        self.forward_train_with(input, seed, &TrainWorkspace::new())
    }

    /// [`Cnn::forward_train`] with the engine's buffers taken from (and, by
    /// [`TrainPass::gradients`], handed back to) `workspace`, which the caller owns: use one per
    /// training run.
    pub fn forward_train_with(
        &self,
        input: Tensor<4>,
        seed: u64,
        workspace: &TrainWorkspace,
    ) -> (Tensor<2>, TrainPass) {
        let host = lower_train(self, &input.device(), workspace).and_then(|net| {
            let x = host_vec(input.clone(), "input").map_err(|_| EngineFallback::NotF32 {
                what: "input".into(),
            })?;
            Ok(self.host_forward(net, &x, input.dims(), seed, &input.device()))
        });
        match host {
            Ok((logits, pass)) => (logits, TrainPass { host: Ok(pass) }),
            Err(reason) => {
                let mut blocks = Masks::seeded(seed, 0);
                let features = self
                    .blocks
                    .iter()
                    .fold(input, |x, block| block.forward_masked(x, &mut blocks));
                let logits = self
                    .head
                    .forward_masked(features, &mut Masks::seeded(seed, 1));
                (logits, TrainPass { host: Err(reason) })
            }
        }
    }

    /// The blocks on the engine, then the head in burn's graph from a leaf feature map.
    fn host_forward(
        &self,
        net: TrainNet,
        x: &[f32],
        shape: [usize; 4],
        seed: u64,
        device: &Device,
    ) -> (Tensor<2>, HostPass) {
        let [b, c, h, w] = shape;
        let (out, tape) = net.forward(to_nhwc(x, shape, &net.buffers), [b, h, w, c], seed);
        let [oh, ow, oc] = tape.out_shape();
        let mut nchw = vec![0f32; out.len()];
        nhwc_to_nchw(&out, [b, oh, ow, oc], &mut nchw);
        net.buffers.recycle(out);
        let features =
            Tensor::<4>::from_data(TensorData::new(nchw, [b, oc, oh, ow]), device).require_grad();
        let logits = self
            .head
            .forward_masked(features.clone(), &mut Masks::seeded(seed, 1));
        let pass = HostPass {
            net,
            tape,
            features,
        };
        (logits, pass)
    }
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
fn to_nhwc(x: &[f32], shape: [usize; 4], buffers: &TrainWorkspace) -> Vec<f32> {
    let mut out = buffers.scratch(x.len());
    nchw_to_nhwc(x, shape, &mut out);
    out
}
