//! The checkpoint-folder harness: a two-epoch training run checkpointed once into a temporary
//! folder, whose copy each input damages before a run resumes from it. Shared by the fuzz target
//! `checkpoint_load` (through `#[path]`) and the property test
//! `fuzz_harness::checkpoint_folders_never_panic`.
//!
//! Modes (first byte): 0 replaces `checkpoint.json` with the input; 1 edits its fields (epoch,
//! step, history, best epoch and score, file names and hashes) with hostile values; 2 and 3
//! overwrite the model or the optimiser file in place from an offset (size kept, SHA-256 in the
//! card updated, so the bytes reach burn's parsers).
//!
//! Property: resuming either trains to the end or stops with a typed, one-line error; a
//! checkpoint error names a file of the folder; no file other than the run's is removed.

use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};
use sonotag::dataset::Dataset;
use sonotag::synthetic::{SYNTHETIC_LABELS, SyntheticConfig};
use sonotag::{Error, ModelSpec, PresetName, Tagger, TaggerBuilder};

use super::edits::{self, hex, overlay};

/// Card fields mode 1 edits.
const FIELDS: &[&str] = &[
    "/epoch",
    "/step",
    "/history",
    "/best_epoch",
    "/best_score",
    "/model/file",
    "/optimizer/file",
    "/best/file",
    "/model/sha256",
    "/version",
];

/// The names the fixture gives the checkpoint's files.
const FIXED_NAMES: [(&str, &str); 3] = [
    ("model", "model-0000000000000000-00000000.bpk"),
    ("optimizer", "optimizer-0000000000000000-00000000.bpk"),
    ("best", "best-0000000000000000-00000000.bpk"),
];

/// A file that is not the run's: resuming must leave it.
const BYSTANDER: &str = "weights-0123456789abcdef.bpk";

/// A checkpointed two-epoch run.
pub struct CheckpointFixture {
    _dir: tempfile::TempDir,
    data: Dataset,
    files: Vec<(String, Vec<u8>)>,
    card: Value,
    work: PathBuf,
}

fn builder() -> TaggerBuilder {
    Tagger::builder()
        .labels(SYNTHETIC_LABELS)
        .model(ModelSpec::Preset(PresetName::Tiny))
        .epochs(2)
}

impl CheckpointFixture {
    /// Trains two epochs with checkpoints (a few seconds).
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let data = Dataset::from_clips(
            SyntheticConfig {
                n_clips: 12,
                ..Default::default()
            }
            .generate(),
        );
        // Checkpoint after epoch 1 only, so that a resume has an epoch left to train.
        let first = dir.path().join("first");
        builder()
            .epochs(1)
            .checkpoint_dir(&first)
            .train(&data)
            .expect("the fixture trains");
        let mut files = Vec::new();
        for entry in std::fs::read_dir(&first).expect("the checkpoint folder") {
            let entry = entry.expect("an entry");
            let name = entry.file_name().to_string_lossy().into_owned();
            files.push((
                name,
                std::fs::read(entry.path()).expect("a checkpoint file"),
            ));
        }
        let card_bytes = files
            .iter()
            .find(|(n, _)| n == "checkpoint.json")
            .map(|(_, b)| b.clone())
            .unwrap_or_default();
        let mut card: Value = serde_json::from_slice(&card_bytes).expect("the card is JSON");
        // Each save names its files anew; fixed names keep the seed corpus valid.
        for (key, fixed) in FIXED_NAMES {
            let saved = card[key]["file"].as_str().unwrap_or_default().to_string();
            for (name, _) in files.iter_mut().filter(|(n, _)| *n == saved) {
                *name = fixed.to_string();
            }
            card[key]["file"] = fixed.into();
        }
        let json = serde_json::to_vec_pretty(&card).expect("the card serialises");
        for (_, bytes) in files.iter_mut().filter(|(n, _)| n == "checkpoint.json") {
            *bytes = json.clone();
        }
        let work = dir.path().join("work");
        Self {
            _dir: dir,
            data,
            files,
            card,
            work,
        }
    }

    /// Damages a fresh copy of the folder as `data` says and resumes from it.
    pub fn run(&self, data: &[u8]) {
        let Some((&mode, bytes)) = data.split_first() else {
            return;
        };
        let _ = std::fs::remove_dir_all(&self.work);
        std::fs::create_dir_all(&self.work).expect("the work folder");
        for (name, content) in &self.files {
            self.write(name, content);
        }
        self.write(BYSTANDER, b"not the run's");
        let mut card = self.card.clone();
        match mode % 4 {
            0 => self.write("checkpoint.json", bytes),
            1 => {
                edits::apply(&mut card, FIELDS, bytes);
                self.write("checkpoint.json", card.to_string().as_bytes());
            }
            m => {
                let key = if m == 2 { "model" } else { "optimizer" };
                let name = card[key]["file"].as_str().unwrap_or_default().to_string();
                let original = self.file(&name);
                let damaged = overlay(&original, bytes);
                card[key]["sha256"] = hex(&Sha256::digest(&damaged)).into();
                self.write(&name, &damaged);
                self.write("checkpoint.json", card.to_string().as_bytes());
            }
        }
        self.check();
    }

    fn file(&self, name: &str) -> Vec<u8> {
        self.files
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b.clone())
            .unwrap_or_default()
    }

    fn write(&self, name: &str, bytes: &[u8]) {
        std::fs::write(self.work.join(name), bytes).expect("writing the work folder");
    }

    fn check(&self) {
        let result = builder()
            .checkpoint_dir(&self.work)
            .resume(true)
            .train(&self.data);
        if let Err(e) = result {
            check_error(&e, &self.work);
        }
        assert!(
            self.work.join(BYSTANDER).exists(),
            "a file not the run's was removed"
        );
    }
}

impl Default for CheckpointFixture {
    fn default() -> Self {
        Self::new()
    }
}

fn check_error(e: &Error, work: &Path) {
    let message = e.to_string();
    assert!(!message.is_empty());
    assert_eq!(message.lines().count(), 1, "{message}");
    if let Error::Checkpoint { path, .. } = e {
        assert!(path.starts_with(work), "{message}");
    }
}
