//! sonotag: train calibrated multilabel CNN audio taggers in Rust.
//!
//! This facade re-exports the audio front end ([`audio`]), the losses, metrics and calibration
//! ([`metrics`]) and the network building blocks ([`nn`]). The `Tagger` builder lands on top of
//! them.
#![warn(missing_docs)]

pub use sonotag_audio as audio;
pub use sonotag_metrics as metrics;
pub use sonotag_nn as nn;
