//! What the facade's hostile-input tests share: a tiny one-epoch tagger and a few synthetic
//! clips to train it on.

use sonotag::dataset::{Clip, Dataset};
use sonotag::synthetic::{SYNTHETIC_LABELS, SyntheticConfig};
use sonotag::{ModelSpec, PresetName, Tagger, TaggerBuilder};

/// A builder for the tiny preset on the synthetic labels, one epoch.
pub fn tiny() -> TaggerBuilder {
    Tagger::builder()
        .labels(SYNTHETIC_LABELS)
        .model(ModelSpec::Preset(PresetName::Tiny))
        .epochs(1)
}

/// Twelve synthetic clips.
pub fn clips() -> Vec<Clip> {
    SyntheticConfig {
        n_clips: 12,
        ..Default::default()
    }
    .generate()
}

/// The twelve clips as a dataset.
pub fn few_clips() -> Dataset {
    Dataset::from_clips(clips())
}
