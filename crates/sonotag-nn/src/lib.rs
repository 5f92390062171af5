//! CNN building blocks (burn modules), presets and task types for audio tagging.
//!
//! - [`ConvBlock`] / [`CnnConfig`] / [`Cnn`]: convolution blocks stacked from a list of widths,
//!   a global-pooling (or flatten) head, shape inference without running.
//! - [`Preset`]: the reference network (`SeedNet`), PANNs CNN6 and CNN10, a tiny test net.
//! - [`init`]: Kaiming/Xavier initialisation and the prior-matching output bias.
//! - [`Task`] with [`MultiLabel`], [`MultiClass`], [`Binary`]: head width, loss, targets and
//!   the logits-to-probabilities step, checked against each other by the compiler.
//! - [`augment`]: seeded SpecAugment and mixup on training batches.
//! - [`backend`]: the burn backends compiled in by cargo features.
//! - [`fused`]: an inference path with batch norm folded into the convolutions.
//! - [`Cnn::forward_train`] / [`TrainPass`]: a training step whose convolution blocks run
//!   forward and backward on a CPU NHWC engine (burn's autodiff on other devices).
//! - [`engine`]: that CPU engine, one bounded unit entered through lowering; when it cannot run
//!   a network, an [`EngineFallback`] says why.
//!
//! Every module runs unchanged on any enabled burn backend: in burn 0.22 tensors and modules
//! carry no backend type, only a [`burn::tensor::Device`].
//!
//! ```
//! use burn::tensor::{Device, Distribution, Tensor};
//! use sonotag_nn::{MultiLabel, Preset, Task};
//!
//! let device = Device::flex();
//! let n_labels = 5;
//! let config = Preset::Tiny.config(MultiLabel::head_width(n_labels).unwrap());
//! let priors = [0.5, 0.1, 0.01, 0.2, 0.3];
//! let model = config
//!     .init(&device)
//!     .unwrap()
//!     .with_output_bias(&MultiLabel::prior_bias(&priors).unwrap())
//!     .unwrap();
//! let x = Tensor::<4>::random([2, 1, 32, 50], Distribution::Normal(0.0, 1.0), &device);
//! let probabilities = MultiLabel::probabilities(model.forward(x));
//! assert_eq!(probabilities.dims(), [2, n_labels]);
//! ```
#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

mod activation;
pub mod augment;
pub mod backend;
mod block;
mod cnn;
mod dropout;
pub mod engine;
mod error;
pub mod fused;
mod head;
pub mod init;
mod limits;
pub mod loss;
mod presets;
mod targets;
mod task;
mod train_pass;

pub use activation::Activation;
pub use backend::BackendKind;
pub use block::{ConvBlock, ConvBlockConfig, ConvBlockSpec, Pool};
pub use cnn::{Cnn, CnnConfig};
pub use engine::{EngineFallback, TrainWorkspace};
pub use error::NnError;
pub use head::{Head, HeadConfig, HeadPool};
pub use init::WeightInit;
pub use limits::NetLimits;
pub use presets::Preset;
pub use targets::{BinaryTargets, ClassTargets, MultiLabelTargets, SigmoidTargets, Targets};
pub use task::{Binary, MultiClass, MultiLabel, Task};
pub use train_pass::TrainPass;
