//! The model-folder harness: a small trained model, saved once, whose folder each input
//! damages before it is loaded. Shared by the fuzz target `model_load` (through `#[path]`) and
//! the property test `fuzz_harness::model_folders_never_panic`.
//!
//! Modes (first byte): 0 replaces `sonotag.json` with the input; 1 replaces the weights with the
//! input (card size and SHA-256 updated); 2 overwrites the weights in place from an offset
//! (size kept, hash updated: the bytes reach burn's record parser); 3 edits card fields
//! (network sizes, feature settings, thresholds, weights size) with hostile numbers.
//!
//! Property: loading gives a typed, one-line error, or a tagger that predicts one finite
//! probability in [0, 1] per label for one second of audio (or refuses with a typed error).

use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};
use sonotag::dataset::Dataset;
use sonotag::synthetic::{SYNTHETIC_LABELS, SyntheticConfig};
use sonotag::{Error, ModelSpec, PresetName, Tagger};

use super::edits::{self, hex, overlay};

/// Card fields mode 3 edits.
const FIELDS: &[&str] = &[
    "/model/widths/0",
    "/model/widths",
    "/model/n_outputs",
    "/model/in_channels",
    "/model/block/kernel_size",
    "/model/block/n_convs",
    "/model/head/hidden",
    "/model/input_hw",
    "/features/mel/sample_rate",
    "/features/mel/n_fft",
    "/features/mel/win_length",
    "/features/mel/hop_length",
    "/features/mel/n_mels",
    "/features/mel/f_max",
    "/features/segment/window_s",
    "/features/segment/hop_s",
    "/features/segment/min_residual_s",
    "/thresholds/0",
    "/weights/bytes",
    "/labels",
];

/// The weights file's name in every damaged copy.
pub const WEIGHTS_NAME: &str = "weights-0000000000000000-00000000.bpk";

/// A trained tiny model saved in a temporary folder.
pub struct ModelFixture {
    _dir: tempfile::TempDir,
    card: Value,
    weights: Vec<u8>,
    weights_name: String,
    work: PathBuf,
}

impl ModelFixture {
    /// Trains and saves the model (about a second).
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let data = Dataset::from_clips(
            SyntheticConfig {
                n_clips: 12,
                ..Default::default()
            }
            .generate(),
        );
        let (tagger, _) = Tagger::builder()
            .labels(SYNTHETIC_LABELS)
            .model(ModelSpec::Preset(PresetName::Tiny))
            .epochs(1)
            .train(&data)
            .expect("the fixture trains");
        let model = dir.path().join("model");
        tagger.save(&model).expect("the fixture saves");
        let mut card: Value =
            serde_json::from_slice(&std::fs::read(model.join("sonotag.json")).expect("the card"))
                .expect("the card is JSON");
        let saved_name = card["weights"]["file"].as_str().unwrap_or_default();
        let weights = std::fs::read(model.join(saved_name)).expect("the weights");
        // Each save names its weights anew; a fixed name keeps the seed corpus valid.
        let weights_name = WEIGHTS_NAME.to_string();
        card["weights"]["file"] = WEIGHTS_NAME.into();
        let work = dir.path().join("work");
        Self {
            _dir: dir,
            card,
            weights,
            weights_name,
            work,
        }
    }

    /// Damages a fresh copy of the folder as `data` says, loads it and checks the outcome.
    pub fn run(&self, data: &[u8]) {
        let Some((&mode, bytes)) = data.split_first() else {
            return;
        };
        let _ = std::fs::remove_dir_all(&self.work);
        std::fs::create_dir_all(&self.work).expect("the work folder");
        let mut card = self.card.clone();
        let weights: Vec<u8> = match mode % 4 {
            0 => {
                self.write(&self.weights_name, &self.weights);
                self.write("sonotag.json", bytes);
                return self.check();
            }
            1 => bytes.to_vec(),
            2 => overlay(&self.weights, bytes),
            _ => {
                edits::apply(&mut card, FIELDS, bytes);
                self.weights.clone()
            }
        };
        if mode % 4 != 3 {
            card["weights"]["bytes"] = weights.len().into();
            card["weights"]["sha256"] = hex(&Sha256::digest(&weights)).into();
        }
        self.write(&self.weights_name, &weights);
        self.write("sonotag.json", card.to_string().as_bytes());
        self.check();
    }

    fn write(&self, name: &str, bytes: &[u8]) {
        std::fs::write(self.work.join(name), bytes).expect("writing the work folder");
    }

    fn check(&self) {
        let device = sonotag::backend::default_device();
        match Tagger::load_on(&self.work, &device) {
            Ok(tagger) => match tagger.predict_samples(&[0.01; 16_000], 16_000) {
                Ok(p) => {
                    assert_eq!(p.clip.len(), tagger.labels().len());
                    assert!(
                        p.clip.iter().all(|q| (0.0..=1.0).contains(q)),
                        "{:?}",
                        p.clip
                    );
                }
                Err(e) => check_error(&e, &self.work),
            },
            Err(e) => check_error(&e, &self.work),
        }
    }
}

impl Default for ModelFixture {
    fn default() -> Self {
        Self::new()
    }
}

/// A typed error with a one-line message; a model error names a file of the folder.
fn check_error(e: &Error, work: &Path) {
    let message = e.to_string();
    assert!(!message.is_empty());
    assert_eq!(message.lines().count(), 1, "{message}");
    if let Error::Model { path, .. } = e {
        assert!(path.starts_with(work), "{message}");
    }
}
