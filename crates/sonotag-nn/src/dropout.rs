//! Where a training step's dropout masks come from.
//!
//! burn's `Dropout` draws from burn's random source, one generator for the whole process: a
//! seeded run would depend on every other thread that draws from it, and reseeding it per step
//! needed a process-wide lock. Training steps therefore draw their masks from a generator that
//! the step owns ([`Masks::Seeded`]); only a plain [`crate::Cnn::forward`] on an autodiff device
//! still uses burn's own `Dropout::forward`.

use burn::nn::Dropout;
use burn::tensor::{Tensor, TensorData};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::engine::kernels::dropout_mask;

/// The source of dropout masks for one forward pass.
pub(crate) enum Masks {
    /// burn's `Dropout::forward` (its process-wide generator).
    Burn,
    /// Masks drawn from this generator, owned by the step (boxed: a ChaCha state is 320 bytes).
    Seeded(Box<ChaCha8Rng>),
}

impl Masks {
    /// Masks from `seed` on its stream `stream` (0: the blocks, 1: the head), so that the
    /// blocks' and the head's masks never share draws.
    pub(crate) fn seeded(seed: u64, stream: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(stream);
        Self::Seeded(Box::new(rng))
    }

    /// `dropout` applied to `input`: active exactly when burn's would be (training flag set,
    /// autodiff device, non-zero probability), kept values scaled by `1 / keep`.
    pub(crate) fn apply<const D: usize>(
        &mut self,
        dropout: &Dropout,
        input: Tensor<D>,
    ) -> Tensor<D> {
        let rng = match self {
            Self::Burn => return dropout.forward(input),
            Self::Seeded(rng) => rng,
        };
        if !dropout.training.is_enabled() || !input.device().is_autodiff() || dropout.prob == 0.0 {
            return input;
        }
        let shape = input.shape();
        let mask = dropout_mask(rng.as_mut(), shape.num_elements(), dropout.prob);
        let mask = Tensor::<D>::from_data(TensorData::new(mask, shape), &input.device());
        input * mask
    }
}
