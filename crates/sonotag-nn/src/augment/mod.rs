//! Batch augmentations for training: SpecAugment masks and mixup, seeded.
//!
//! They live outside the model, in the training loop's batch pipeline: a model's `forward` has
//! no augmentation, so inference can never apply one by mistake (no train/eval switch to
//! forget). Each augmentation first draws a plan (plain numbers, inspectable and testable) from
//! a seeded generator and then applies it with tensor operations on any backend.

mod mixup;
mod spec_augment;

pub use mixup::{MixPlan, Mixup, MixupConfig};
pub use spec_augment::{MaskPlan, MaskSpan, SampleMasks, SpecAugment, SpecAugmentConfig};

use burn::tensor::Tensor;
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::error::NnError;
use crate::targets::Targets;

/// SpecAugment and/or mixup with one seeded generator: the same seed and the same sequence of
/// batch shapes give the same augmented batches.
///
/// ```
/// use burn::tensor::{Device, Tensor};
/// use sonotag_nn::augment::{Augmenter, MixupConfig, SpecAugmentConfig};
/// use sonotag_nn::MultiLabelTargets;
///
/// let device = Device::flex();
/// let mut augmenter = Augmenter::new(
///     Some(SpecAugmentConfig::new()),
///     Some(MixupConfig::new()),
///     42,
/// )
/// .unwrap();
/// let x = Tensor::<4>::ones([4, 1, 64, 100], &device);
/// let y = MultiLabelTargets::from_rows(&[1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0], 2, &device)
///     .unwrap();
/// let (x, y) = augmenter.apply(x, y).unwrap();
/// assert_eq!(x.dims(), [4, 1, 64, 100]);
/// ```
#[derive(Debug, Clone)]
pub struct Augmenter {
    spec_augment: Option<SpecAugment>,
    mixup: Option<Mixup>,
    rng: StdRng,
}

impl Augmenter {
    /// Builds the augmenter; `None` switches an augmentation off.
    pub fn new(
        spec_augment: Option<SpecAugmentConfig>,
        mixup: Option<MixupConfig>,
        seed: u64,
    ) -> Result<Self, NnError> {
        Ok(Self {
            spec_augment: spec_augment.map(|c| c.init()).transpose()?,
            mixup: mixup.map(|c| c.init()).transpose()?,
            rng: StdRng::seed_from_u64(seed),
        })
    }

    /// Augments one training batch `[B, C, n_mels, n_frames]` and its targets: masks first
    /// (each example's own), then mixup (which mixes masked examples, as in PANNs' pipeline).
    pub fn apply<T: Targets>(&mut self, x: Tensor<4>, y: T) -> Result<(Tensor<4>, T), NnError> {
        let [b, _, f, t] = x.dims();
        let x = match &self.spec_augment {
            Some(sa) => {
                let plan = sa.plan(b, f, t, &mut self.rng);
                sa.apply(x, &plan)?
            }
            None => x,
        };
        match &self.mixup {
            Some(m) => {
                let plan = m.plan(b, &mut self.rng);
                m.apply(x, y, &plan)
            }
            None => Ok((x, y)),
        }
    }
}
