// The crate documentation is the workspace README (crates/sonotag/README.md links to it), so
// its library example is compiled as a doc test; what only makes sense in rustdoc follows it.
#![doc = include_str!("../README.md")]
//!
//! ## The facade
//!
//! Build a [`Tagger`] with [`Tagger::builder`], train it in-process on labelled clips, and get
//! calibrated per-label probabilities for new audio with [`Tagger::predict_file`].
//!
//! The settings of a tagger come in two groups: what the model is (labels, [`FeatureConfig`],
//! [`TrainConfig`]; stored with it) and how one training run goes ([`RunOptions`]: device,
//! validation data, feature cache, checkpoints, progress events). [`TaggerBuilder`] takes both.
//!
//! The facade re-exports the audio front end ([`audio`]), the losses, metrics and calibration
//! ([`metrics`]) and the network building blocks ([`nn`]). Cargo features choose the compute
//! backends compiled in (see [`backend`]).
#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub use sonotag_audio as audio;
pub use sonotag_metrics as metrics;
pub use sonotag_nn as nn;

mod atomic;
pub mod backend;
mod bounded;
mod cache;
mod checkpoint;
mod config;
pub mod dataset;
mod digest;
mod error;
pub mod features;
mod infer;
mod limits;
mod link;
// Hidden, not API: the model directory format is documented on `Tagger::save`. The module stays
// reachable only for `persist::weights_path`, which the facade's integration tests use to
// damage a saved model's weights on purpose.
#[doc(hidden)]
pub mod persist;
mod prep;
pub mod report;
pub mod split;
mod store;
pub mod synthetic;
mod tagger;
mod train;

pub use config::{
    CalibrationMethod, ClipPooling, FeatureConfig, LossKind, ModelSpec, PosWeight, PresetName,
    Schedule, TaskKind, TrainConfig,
};
pub use error::{Error, ModelFault, Result};
pub use limits::Limits;
pub use tagger::{
    Evaluation, Prediction, PredictionRow, PredictionStream, SegmentPrediction, StreamEnd, Tagger,
    TaggerBuilder,
};
pub use train::{EpochMetrics, RunOptions, TrainEvent, TrainReport, TrainSummary};
