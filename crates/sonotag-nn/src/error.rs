//! Typed errors of the crate.

use thiserror::Error;

/// Everything that can go wrong when configuring, building or feeding a network.
///
/// Messages name the offending field, block or dimension so that a wrong configuration file can
/// be fixed without reading the source.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum NnError {
    /// A configuration field holds a value outside its valid range.
    #[error("invalid configuration: field `{field}` {reason}")]
    InvalidConfig {
        /// Dotted path of the field, e.g. `blocks[2].kernel_size`.
        field: String,
        /// What is wrong with it, in plain words.
        reason: String,
    },
    /// A size in a configuration from outside exceeds its [`crate::NetLimits`] bound.
    #[error(
        "invalid configuration: field `{field}` is {value}, above the limit of {limit} ({name})"
    )]
    Limit {
        /// Dotted path of the field, e.g. `widths[2]`, or `model` for the parameter count.
        field: String,
        /// The value found.
        value: u64,
        /// The largest value allowed.
        limit: u64,
        /// The limit's name, e.g. `NetLimits::max_width`.
        name: String,
    },
    /// An input tensor does not have the layout the network expects.
    #[error("input shape {got:?} does not fit: {reason}")]
    InputShape {
        /// The shape that was given.
        got: Vec<usize>,
        /// Why it does not fit (expected layout, block where it breaks).
        reason: String,
    },
    /// Label priors, biases or targets are inconsistent with the task.
    #[error("invalid {what}: {reason}")]
    InvalidLabels {
        /// Which input (e.g. `priors`, `targets`, `bias`).
        what: &'static str,
        /// Why it is rejected.
        reason: String,
    },
    /// A backend was named that is unknown or not compiled in.
    #[error("backend `{name}` is not available: {reason}")]
    Backend {
        /// The name that was asked for.
        name: String,
        /// Why it cannot be used (unknown name, missing cargo feature).
        reason: String,
    },
    /// The loss (sonotag-metrics) rejected its inputs.
    #[error("loss: {0}")]
    Loss(String),
    /// Reading tensor data back to the host failed.
    #[error("could not read tensor data: {0}")]
    Data(String),
}

impl NnError {
    /// Shorthand for [`NnError::InvalidConfig`].
    pub(crate) fn config(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidConfig {
            field: field.into(),
            reason: reason.into(),
        }
    }
}
