//! What the facade's integration tests share: a tiny one-epoch tagger, a few synthetic clips
//! to train it on, and a folder listing.

use std::path::Path;

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

/// The names of the entries of `dir`, sorted.
pub fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
