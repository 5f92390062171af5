//! SpecAugment (Park et al. 2019) without time warping: frequency and time masks.

use burn::config::Config;
use burn::tensor::{Tensor, TensorData};
use rand::Rng;

use crate::error::NnError;

/// Number and maximum width of the masks.
#[derive(Config, Debug, PartialEq)]
pub struct SpecAugmentConfig {
    /// Frequency masks per example.
    #[config(default = 2)]
    pub freq_masks: usize,
    /// Largest frequency mask, in mel bands (each width is uniform in `0..=max`).
    #[config(default = 8)]
    pub max_freq_width: usize,
    /// Time masks per example.
    #[config(default = 2)]
    pub time_masks: usize,
    /// Largest time mask, in frames (each width is uniform in `0..=max`).
    #[config(default = 20)]
    pub max_time_width: usize,
    /// Value written into masked cells (0 suits standardised log-mel features).
    #[config(default = 0.0)]
    pub mask_value: f64,
}

impl SpecAugmentConfig {
    /// Validates the configuration.
    pub fn init(&self) -> Result<SpecAugment, NnError> {
        if !self.mask_value.is_finite() {
            return Err(NnError::config(
                "spec_augment.mask_value",
                format!("is {}; it must be finite", self.mask_value),
            ));
        }
        Ok(SpecAugment {
            config: self.clone(),
        })
    }
}

/// A masked band `[start, start + width)` along one axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaskSpan {
    /// First masked index.
    pub start: usize,
    /// Number of masked indices (may be 0).
    pub width: usize,
}

/// The masks drawn for one example.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SampleMasks {
    /// Bands of mel bins set to the mask value.
    pub freq: Vec<MaskSpan>,
    /// Bands of frames set to the mask value.
    pub time: Vec<MaskSpan>,
}

/// The masks of a whole batch, plus the size they were drawn for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaskPlan {
    /// One entry per example.
    pub samples: Vec<SampleMasks>,
    /// `[n_mels, n_frames]` the plan was drawn for.
    pub size: [usize; 2],
}

/// Draws and applies SpecAugment masks.
#[derive(Debug, Clone)]
pub struct SpecAugment {
    config: SpecAugmentConfig,
}

fn draw_spans(count: usize, max_width: usize, len: usize, rng: &mut impl Rng) -> Vec<MaskSpan> {
    (0..count)
        .map(|_| {
            let width = rng.random_range(0..=max_width.min(len));
            let start = rng.random_range(0..=len - width);
            MaskSpan { start, width }
        })
        .collect()
}

impl SpecAugment {
    /// The configuration.
    pub fn config(&self) -> &SpecAugmentConfig {
        &self.config
    }

    /// Draws masks for a batch of `batch` examples of `n_mels x n_frames`.
    pub fn plan(
        &self,
        batch: usize,
        n_mels: usize,
        n_frames: usize,
        rng: &mut impl Rng,
    ) -> MaskPlan {
        let c = &self.config;
        let samples = (0..batch)
            .map(|_| SampleMasks {
                freq: draw_spans(c.freq_masks, c.max_freq_width, n_mels, rng),
                time: draw_spans(c.time_masks, c.max_time_width, n_frames, rng),
            })
            .collect();
        MaskPlan {
            samples,
            size: [n_mels, n_frames],
        }
    }

    /// Applies a plan to `[B, C, n_mels, n_frames]` (every channel of an example gets the same
    /// masks).
    pub fn apply(&self, x: Tensor<4>, plan: &MaskPlan) -> Result<Tensor<4>, NnError> {
        let [b, _, f, t] = x.dims();
        if plan.samples.len() != b || plan.size != [f, t] {
            return Err(NnError::InputShape {
                got: x.dims().to_vec(),
                reason: format!(
                    "the mask plan was drawn for {} examples of {:?}",
                    plan.samples.len(),
                    plan.size
                ),
            });
        }
        let mut keep = vec![1f32; b * f * t];
        for (i, masks) in plan.samples.iter().enumerate() {
            let example = &mut keep[i * f * t..(i + 1) * f * t];
            for span in &masks.freq {
                example[span.start * t..(span.start + span.width) * t].fill(0.0);
            }
            for span in &masks.time {
                for row in example.chunks_mut(t) {
                    row[span.start..span.start + span.width].fill(0.0);
                }
            }
        }
        let keep = Tensor::<4>::from_data(TensorData::new(keep, [b, 1, f, t]), &x.device());
        let masked = keep.clone().neg().add_scalar(1.0);
        Ok(x * keep + masked.mul_scalar(self.config.mask_value))
    }
}
