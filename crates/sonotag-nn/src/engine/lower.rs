//! Lowering: a burn [`Cnn`] to an engine plan ([`TrainNet`] for training, [`HostNet`] for
//! folded inference), or the typed reason ([`EngineFallback`]) why the engine cannot run it and
//! burn's kernels will. The one place that decides what the engine supports, and the only file
//! of `engine/` that reads burn modules: everything it hands on is plain `f32` slices.

use burn::nn::conv::Conv2d;
use burn::nn::{BatchNorm, PaddingConfig2d};
use burn::tensor::{Device, Tensor};

use super::infer::{HostBlock, HostConv, HostNet};
use super::train::{TrainBlock, TrainConv, TrainNet, TrainNorm, TrainWorkspace};
use crate::activation::Activation;
use crate::block::{ConvBlock, same_padding};
use crate::cnn::Cnn;
use crate::error::NnError;

/// Why a network runs on burn's kernels instead of sonotag's CPU engine. Not an error: the
/// results are the same up to float rounding, only slower (see docs/benchmarks.md). Reported by
/// [`crate::TrainPass::fallback`] and [`crate::fused::FusedCnn::fallback`], so a caller can tell
/// its users why a run is slow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[non_exhaustive]
pub enum EngineFallback {
    /// The engine computes on host memory; this device is not a CPU backend (flex, ndarray).
    #[error("the device {device} is not a CPU backend (flex or ndarray)")]
    NotCpu {
        /// The device, as burn prints it.
        device: String,
    },
    /// A training step on a device without autodiff (no gradients are recorded).
    #[error("the device records no gradients (not an autodiff device)")]
    NoAutodiff,
    /// The engine does not implement this activation (GELU: std has no `erf`).
    #[error("block {block} uses the {activation} activation, which the engine does not implement")]
    Activation {
        /// 0-based block.
        block: usize,
        /// The activation, as configured.
        activation: String,
    },
    /// A convolution the engine does not implement.
    #[error("block {block}, convolution {conv}: {reason}")]
    Convolution {
        /// 0-based block.
        block: usize,
        /// 0-based convolution within the block.
        conv: usize,
        /// What is unsupported.
        reason: &'static str,
    },
    /// A parameter that takes no gradient (a frozen layer) in a training step.
    #[error("block {block}, convolution {conv}: the {parameter} is frozen (requires no gradient)")]
    Frozen {
        /// 0-based block.
        block: usize,
        /// 0-based convolution within the block.
        conv: usize,
        /// Which parameter.
        parameter: &'static str,
    },
    /// A layer in evaluation mode inside a training step (its behaviour differs from the
    /// engine's training mode).
    #[error("block {block}: the {layer} is in evaluation mode during a training step")]
    EvalMode {
        /// 0-based block.
        block: usize,
        /// `"batch norm"` or `"dropout"`.
        layer: &'static str,
    },
    /// Weights or input in another precision than `f32`.
    #[error("the {what} is not f32")]
    NotF32 {
        /// What was not f32.
        what: String,
    },
    /// Batch norm could not be folded into the convolutions for inference (a convolution
    /// [`crate::fused::FusedCnn::new`] refuses), so the unfolded network runs on burn's kernels.
    #[error("batch norm could not be folded into the convolutions (an unsupported convolution)")]
    NotFoldable,
    /// The caller switched the engine off ([`crate::fused::FusedCnn::without_host_engine`]).
    #[error("the engine was switched off by the caller")]
    Disabled,
}

/// Whether `device` computes on host memory (flex or ndarray), where the engine applies.
pub(crate) fn is_host_cpu(device: &Device) -> bool {
    let plain = device.clone().inner();
    #[cfg(feature = "flex")]
    if plain == Device::flex() {
        return true;
    }
    #[cfg(feature = "ndarray")]
    #[allow(deprecated)] // burn-ndarray is deprecated upstream; kept selectable on purpose.
    if plain == Device::ndarray() {
        return true;
    }
    let _ = plain;
    false
}

/// The f32 values of a tensor on the host; `what` names it in the error (a model in another
/// precision).
pub(crate) fn host_vec<const D: usize>(t: Tensor<D>, what: &str) -> Result<Vec<f32>, NnError> {
    t.into_data()
        .try_to_vec::<f32>()
        .map_err(|e| NnError::Data(format!("{what}: expected f32 values ({e:?})")))
}

/// [`host_vec`] for lowering: a tensor of another precision is a reason to fall back.
fn f32_values<const D: usize>(t: Tensor<D>, what: &str) -> Result<Vec<f32>, EngineFallback> {
    host_vec(t, what).map_err(|_| EngineFallback::NotF32 { what: what.into() })
}

fn require_cpu(device: &Device) -> Result<(), EngineFallback> {
    if is_host_cpu(device) {
        Ok(())
    } else {
        Err(EngineFallback::NotCpu {
            device: format!("{device:?}"),
        })
    }
}

/// What both modes need: a supported activation and square, odd, stride-1, undilated,
/// ungrouped convolutions with "same" padding.
fn check_block(block: &ConvBlock, b: usize) -> Result<(), EngineFallback> {
    if matches!(block.activation, Activation::Gelu) {
        return Err(EngineFallback::Activation {
            block: b,
            activation: format!("{:?}", block.activation),
        });
    }
    for (c, conv) in block.convs.iter().enumerate() {
        check_conv(conv).map_err(|reason| EngineFallback::Convolution {
            block: b,
            conv: c,
            reason,
        })?;
    }
    Ok(())
}

fn check_conv(conv: &Conv2d) -> Result<(), &'static str> {
    let [kh, kw] = conv.kernel_size;
    if kh != kw {
        return Err("the kernel is not square");
    }
    if kh % 2 == 0 {
        return Err("the kernel size is even");
    }
    if conv.stride != [1, 1] || conv.dilation != [1, 1] || conv.groups != 1 {
        return Err("only stride-1, dilation-1, ungrouped convolutions are implemented");
    }
    let p = same_padding(kh);
    match conv.padding {
        PaddingConfig2d::Same => Ok(()),
        PaddingConfig2d::Explicit(t, l, b, r) if [t, l, b, r] == [p; 4] => Ok(()),
        _ => Err("only \"same\" padding is implemented"),
    }
}

/// The blocks of `model` as a training plan for a step on `device`, drawing buffers from
/// `buffers`, or why burn's autodiff must run them.
pub(crate) fn lower_train(
    model: &Cnn,
    device: &Device,
    buffers: &TrainWorkspace,
) -> Result<TrainNet, EngineFallback> {
    if !device.is_autodiff() {
        return Err(EngineFallback::NoAutodiff);
    }
    require_cpu(device)?;
    let blocks = model
        .blocks
        .iter()
        .enumerate()
        .map(|(b, block)| train_block(block, b))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(TrainNet {
        blocks,
        buffers: buffers.clone(),
    })
}

fn train_block(block: &ConvBlock, b: usize) -> Result<TrainBlock, EngineFallback> {
    check_block(block, b)?;
    if block.dropout.prob > 0.0 && !block.dropout.training.is_enabled() {
        return Err(EngineFallback::EvalMode {
            block: b,
            layer: "dropout",
        });
    }
    let convs = block
        .convs
        .iter()
        .enumerate()
        .map(|(c, conv)| train_conv(conv, block.norms.get(c), [b, c]))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(TrainBlock {
        convs,
        activation: block.activation,
        pool: block.pool,
        dropout: block.dropout.prob,
    })
}

fn train_conv(
    conv: &Conv2d,
    norm: Option<&BatchNorm>,
    [block, c]: [usize; 2],
) -> Result<TrainConv, EngineFallback> {
    let frozen = |parameter| EngineFallback::Frozen {
        block,
        conv: c,
        parameter,
    };
    let weight = conv.weight.val();
    let [c_out, c_in, k, _] = weight.dims();
    if !weight.is_require_grad() {
        return Err(frozen("convolution weight"));
    }
    let bias = match &conv.bias {
        Some(b) if !b.val().is_require_grad() => return Err(frozen("convolution bias")),
        Some(b) => Some(f32_values(b.val().inner(), "convolution bias")?),
        None => None,
    };
    let norm = norm.map(|bn| train_norm(bn, [block, c])).transpose()?;
    let weight = f32_values(weight.inner(), "convolution weight")?;
    Ok(TrainConv {
        c_in,
        c_out,
        k,
        weight: super::kernels::oihw_to_rows(&weight, c_out, c_in, k),
        bias,
        norm,
    })
}

fn train_norm(bn: &BatchNorm, [block, conv]: [usize; 2]) -> Result<TrainNorm, EngineFallback> {
    if !bn.training.is_enabled() {
        return Err(EngineFallback::EvalMode {
            block,
            layer: "batch norm",
        });
    }
    for (param, name) in [
        (&bn.gamma, "batch-norm scale"),
        (&bn.beta, "batch-norm shift"),
    ] {
        if !param.val().is_require_grad() {
            return Err(EngineFallback::Frozen {
                block,
                conv,
                parameter: name,
            });
        }
    }
    Ok(TrainNorm {
        gamma: f32_values(bn.gamma.val().inner(), "batch-norm scale")?,
        beta: f32_values(bn.beta.val().inner(), "batch-norm shift")?,
        epsilon: bn.epsilon,
    })
}

/// The folded inference plan: `folded[b][c]` is convolution `c` of block `b` of `model` with its
/// batch norm folded in (OIHW weight, bias).
pub(crate) fn lower_infer(
    model: &Cnn,
    folded: &[Vec<(Tensor<4>, Tensor<1>)>],
) -> Result<HostNet, EngineFallback> {
    require_cpu(&model.device())?;
    let blocks = model
        .blocks
        .iter()
        .zip(folded)
        .enumerate()
        .map(|(b, (block, convs))| {
            check_block(block, b)?;
            let convs = convs
                .iter()
                .map(|(weight, bias)| {
                    let [c_out, c_in, k, _] = weight.dims();
                    Ok(HostConv::from_oihw(
                        &f32_values(weight.clone(), "folded convolution weight")?,
                        f32_values(bias.clone(), "folded convolution bias")?,
                        c_out,
                        c_in,
                        k,
                    ))
                })
                .collect::<Result<Vec<_>, EngineFallback>>()?;
            Ok(HostBlock {
                convs,
                activation: block.activation,
                pool: block.pool,
            })
        })
        .collect::<Result<Vec<_>, EngineFallback>>()?;
    Ok(HostNet::new(blocks))
}

#[cfg(test)]
mod tests {
    use burn::module::Module;

    use super::*;
    use crate::{Activation, CnnConfig, ConvBlockSpec, Preset};

    fn lower(model: &Cnn, device: &Device) -> Result<TrainNet, EngineFallback> {
        lower_train(model, device, &TrainWorkspace::new())
    }

    #[test]
    fn a_preset_on_a_cpu_autodiff_device_lowers() {
        let device = Device::flex().autodiff();
        let model = Preset::Tiny.config(3).init(&device).unwrap();
        let net = lower(&model, &device).unwrap();
        assert_eq!(net.blocks.len(), model.blocks.len());
    }

    #[test]
    fn each_unsupported_setting_names_its_reason() {
        let plain = Device::flex();
        let model = Preset::Tiny.config(3).init(&plain).unwrap();
        assert_eq!(
            lower(&model, &plain).err(),
            Some(EngineFallback::NoAutodiff)
        );

        let device = Device::flex().autodiff();
        let gelu = CnnConfig::new(vec![4, 4], 2)
            .with_block(ConvBlockSpec::new().with_activation(Activation::Gelu))
            .init(&device)
            .unwrap();
        let err = lower(&gelu, &device).unwrap_err();
        assert!(
            matches!(err, EngineFallback::Activation { block: 0, .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("Gelu"), "{err}");

        let frozen = Preset::Tiny.config(3).init(&device).unwrap().no_grad();
        let err = lower(&frozen, &device).unwrap_err();
        assert_eq!(
            err,
            EngineFallback::Frozen {
                block: 0,
                conv: 0,
                parameter: "convolution weight"
            }
        );

        let mut strided = Preset::Tiny.config(3).init(&device).unwrap();
        strided.blocks[1].convs[0].stride = [2, 2];
        let err = lower(&strided, &device).unwrap_err();
        assert!(
            matches!(
                err,
                EngineFallback::Convolution {
                    block: 1,
                    conv: 0,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn inference_lowering_refuses_what_training_lowering_refuses() {
        let device = Device::flex();
        let mut model = Preset::Tiny.config(3).init(&device).unwrap();
        model.blocks[0].convs[0].padding = PaddingConfig2d::Valid;
        let folded: Vec<Vec<_>> = model
            .blocks
            .iter()
            .map(|b| {
                b.convs
                    .iter()
                    .map(|c| {
                        let w = c.weight.val();
                        let bias = Tensor::<1>::zeros([w.dims()[0]], &device);
                        (w, bias)
                    })
                    .collect()
            })
            .collect();
        let err = lower_infer(&model, &folded).unwrap_err();
        assert_eq!(
            err.to_string(),
            "block 0, convolution 0: only \"same\" padding is implemented"
        );
    }
}
