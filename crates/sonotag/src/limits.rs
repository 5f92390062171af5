//! [`Limits`]: the bounds every number from outside (a file, a config, a model card, a
//! checkpoint, a flag) is checked against before anything is sized by it.

use sonotag_audio::AudioLimits;
use sonotag_nn::NetLimits;

use crate::dataset::DEFAULT_MAX_LABELS;

use crate::error::{Error, Result};

/// The bounds sonotag holds outside input to, with defaults that no real recording, dataset or
/// model comes near. A number above its bound is refused with an error naming the field, the
/// value and the limit, before anything is allocated for it.
///
/// The defaults admit PANNs CNN14 (about 80 M parameters, widths up to 2048, 527 labels) and
/// streamed recordings of many hours. Raise a field where a real use needs more, and hand the
/// limits to [`TaggerBuilder::limits`](crate::TaggerBuilder::limits) or
/// [`Tagger::load_with`](crate::Tagger::load_with):
///
/// ```
/// let mut limits = sonotag::Limits::default();
/// limits.net.max_width = 16_384; // a network wider than any preset
/// limits.audio.max_sample_rate = 1_536_000; // an unusual ultrasonic recorder
/// limits.max_labels = 2_000_000;
/// assert!(limits.net.max_params >= 80_000_000); // CNN14 fits the defaults
/// ```
///
/// docs/reliability.md lists every limit with its reason.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Limits {
    /// Sample rates, resampling ratios, FFT and mel sizes, segment windows and counts.
    pub audio: AudioLimits,
    /// Sizes of the network (widths, kernels, blocks, parameter count).
    pub net: NetLimits,
    /// Most labels of a dataset or a model (default 1,048,576; AudioSet has 527).
    pub max_labels: usize,
    /// Largest batch size (default 65,536 segments).
    pub max_batch_size: usize,
    /// Most epochs of a run (default 1,000,000; step counts stay far from overflow).
    pub max_epochs: usize,
    /// Largest `sonotag.json` or `checkpoint.json` read (default 256 MiB; a card with a
    /// million labels and their calibration is about 100 MB).
    pub max_card_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            audio: AudioLimits::default(),
            net: NetLimits::default(),
            max_labels: DEFAULT_MAX_LABELS,
            max_batch_size: 1 << 16,
            max_epochs: 1_000_000,
            max_card_bytes: 256 << 20,
        }
    }
}

impl Limits {
    /// Checks a count against its bound: `field` names it in the error, `name` is the
    /// [`Limits`] field that sets the bound.
    pub(crate) fn check(field: &'static str, value: usize, limit: usize, name: &str) -> Result<()> {
        if value > limit {
            return Err(Error::Limit {
                field: field.to_string(),
                value: value as u64,
                limit: limit as u64,
                name: format!("Limits::{name}"),
            });
        }
        Ok(())
    }

    /// Checks the number of labels.
    pub(crate) fn check_labels(&self, n: usize) -> Result<()> {
        Self::check("labels", n, self.max_labels, "max_labels")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_above_its_bound_names_field_value_and_limit() {
        let limits = Limits::default();
        limits.check_labels(527).unwrap();
        let err = limits.check_labels(2_000_000).unwrap_err();
        let message = err.to_string();
        for part in ["labels", "2000000", "1048576", "Limits::max_labels"] {
            assert!(message.contains(part), "{message}");
        }
        assert!(matches!(
            err,
            Error::Limit {
                value: 2_000_000,
                ..
            }
        ));
    }
}
