//! sonotag's hand-written CPU engine: the convolution blocks of a [`crate::Cnn`], forward and
//! backward for training and folded for inference, on host `f32` slices in NHWC layout.
//!
//! One bounded unit, entered in one place:
//!
//! ```text
//!  burn Cnn ──lower.rs──► TrainNet (train/)  ──► forward, backward ──► gradients by parameter id
//!          │          └─► HostNet  (infer/)  ──► folded forward    ──► feature map
//!          └──────────► EngineFallback: why burn's kernels run it instead (never silent)
//! ```
//!
//! - `lower` turns burn modules into an engine plan, or a typed [`EngineFallback`]; it is the
//!   only file here that reads burn modules, and the one place that decides what the engine
//!   supports.
//! - `infer`: folded inference (strided GEMMs over padded rows, a direct kernel for 1-channel
//!   input, Winograd F(2x2, 3x3)); its buffers belong to the network, so to the model.
//! - `train`: training forward with batch statistics and the backward pass; its large buffers
//!   come from a [`TrainWorkspace`] that the training run owns.
//! - `kernels`, `winograd`: the GEMM wrapper, activations, layout conversions and im2col
//!   shared by both.
//!
//! Nothing here is process-global: no pools in statics, no thread-local scratch. Shape and
//! padding rules come from [`crate::Pool::output_hw`] and `crate::block::same_padding`, as for
//! burn's path. The bridge back to burn (registering gradients, wrapping feature maps in
//! tensors) is in `crate::train_pass` and `crate::fused`.

pub(crate) mod infer;
pub(crate) mod kernels;
pub(crate) mod lower;
pub(crate) mod train;
mod winograd;

pub use lower::EngineFallback;
pub use train::TrainWorkspace;
