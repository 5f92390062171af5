//! Per-epoch training checkpoints, so that a run killed at any moment (even `kill -9`) can be
//! resumed and end with exactly the weights an uninterrupted run would have.
//!
//! A checkpoint folder holds `checkpoint.json` and the files it names: the training model, the
//! optimiser state (AdamW moments and step counts) and the best model so far, each named by
//! its SHA-256 and checked on load. `checkpoint.json` is replaced atomically after the files it
//! names are on disk, and older files are removed only then, so the folder always describes one
//! complete epoch. Everything else a run needs is either derived from the epoch and the seed
//! (shuffling, augmentation and dropout streams are reseeded per epoch and per step) or
//! recomputed from the data (features, normaliser), which the checkpoint's fingerprint pins.

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::tensor::{Bytes, Device};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sonotag_nn::Cnn;

use crate::atomic;
use crate::digest::{hex, sha256_hex};
use crate::error::{Error, Result};
use crate::train::EpochMetrics;

const CHECKPOINT_FILE: &str = "checkpoint.json";
const CHECKPOINT_VERSION: u32 = 1;

/// Where to checkpoint, and whether to continue from what is there.
#[derive(Debug, Clone)]
pub(crate) struct CheckpointSpec {
    pub dir: PathBuf,
    pub resume: bool,
    /// SHA-256 (hex) of everything that must match for a resume to be exact.
    pub fingerprint: String,
}

/// What `checkpoint.json` records.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct CheckpointCard {
    version: u32,
    fingerprint: String,
    /// The last completed epoch (1-based).
    epoch: usize,
    /// Optimiser steps taken so far.
    step: usize,
    history: Vec<EpochMetrics>,
    best_epoch: usize,
    best_score: f64,
    model: FileRef,
    optimizer: FileRef,
    best: FileRef,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct FileRef {
    file: String,
    sha256: String,
}

/// A training state read back from a checkpoint.
pub(crate) struct Restored {
    pub epoch: usize,
    pub step: usize,
    pub history: Vec<EpochMetrics>,
    pub model: Cnn,
    pub optimizer: ModuleOptimizer,
    pub best: (f64, usize, Cnn),
}

/// What [`save`] writes.
pub(crate) struct State<'a> {
    pub epoch: usize,
    pub step: usize,
    pub history: &'a [EpochMetrics],
    pub model: &'a Cnn,
    pub optimizer: &'a ModuleOptimizer,
    pub best: (f64, usize, &'a Cnn),
}

fn optimizer_bytes(optimizer: &ModuleOptimizer) -> std::result::Result<Vec<u8>, String> {
    optimizer
        .into_bytes()
        .map(|b| b.to_vec())
        .map_err(|e| format!("{e:?}"))
}

/// Writes the state of a completed epoch into `dir`.
pub(crate) fn save(spec: &CheckpointSpec, state: State<'_>) -> Result<()> {
    let dir = &spec.dir;
    std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
    let model = write_blob(dir, "model", &model_bytes(state.model, dir)?)?;
    let optimizer_bytes = optimizer_bytes(state.optimizer)
        .map_err(|e| checkpoint_error(dir, format!("cannot serialise the optimiser: {e}")))?;
    let optimizer = write_blob(dir, "optimizer", &optimizer_bytes)?;
    let best = write_blob(dir, "best", &model_bytes(state.best.2, dir)?)?;
    let card = CheckpointCard {
        version: CHECKPOINT_VERSION,
        fingerprint: spec.fingerprint.clone(),
        epoch: state.epoch,
        step: state.step,
        history: state.history.to_vec(),
        best_epoch: state.best.1,
        best_score: state.best.0,
        model,
        optimizer,
        best,
    };
    let json = serde_json::to_vec_pretty(&card)
        .map_err(|e| checkpoint_error(dir, format!("cannot serialise: {e}")))?;
    atomic::write_file(&dir.join(CHECKPOINT_FILE), &json)?;
    // Only now are the previous epoch's files unreferenced.
    let keep = [&card.model.file, &card.optimizer.file, &card.best.file];
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".bpk") && !keep.iter().any(|k| **k == name) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    Ok(())
}

/// Reads the checkpoint in `spec.dir`: `None` when there is none; an error when it exists but
/// belongs to another run or is damaged.
pub(crate) fn load(
    spec: &CheckpointSpec,
    template: &Cnn,
    optimizer: ModuleOptimizer,
    device: &Device,
) -> Result<Option<Restored>> {
    let dir = &spec.dir;
    let card_path = dir.join(CHECKPOINT_FILE);
    let text = match std::fs::read(&card_path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(&card_path)(e)),
    };
    let card: CheckpointCard = serde_json::from_slice(&text)
        .map_err(|e| checkpoint_error(&card_path, format!("invalid JSON: {e}")))?;
    if card.version != CHECKPOINT_VERSION {
        return Err(checkpoint_error(
            &card_path,
            format!(
                "checkpoint version {} is not supported (this build writes {CHECKPOINT_VERSION})",
                card.version
            ),
        ));
    }
    if card.fingerprint != spec.fingerprint {
        return Err(checkpoint_error(
            &card_path,
            "was written by a run with other data or settings; resuming it would not continue \
             that run (use another checkpoint folder, or delete this one to start afresh)",
        ));
    }
    let model = load_model(dir, &card.model, template, device)?;
    let best = load_model(dir, &card.best, template, device)?.valid();
    let optimizer = optimizer
        .from_bytes(Bytes::from_bytes_vec(read_blob(dir, &card.optimizer)?))
        .map_err(|e| checkpoint_error(dir, format!("unreadable optimiser state: {e:?}")))?;
    Ok(Some(Restored {
        epoch: card.epoch,
        step: card.step,
        history: card.history,
        model,
        optimizer,
        best: (card.best_score, card.best_epoch, best),
    }))
}

/// SHA-256 (hex) over the parts of a run that must match for a resume.
pub(crate) fn fingerprint(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    hex(&hasher.finalize())
}

fn model_bytes(model: &Cnn, dir: &Path) -> Result<Vec<u8>> {
    model
        .clone()
        .into_record()
        .into_bytes()
        .map(|b| b.to_vec())
        .map_err(|e| checkpoint_error(dir, format!("cannot serialise the model: {e:?}")))
}

fn load_model(dir: &Path, file: &FileRef, template: &Cnn, device: &Device) -> Result<Cnn> {
    let path = dir.join(&file.file);
    let bytes = read_blob(dir, file)?;
    let record = burn::store::ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes))
        .map_err(|e| checkpoint_error(&path, format!("unreadable weights: {e:?}")))?;
    template
        .clone()
        .try_load_record(record)
        .map(|m| m.fork(device))
        .map_err(|e| checkpoint_error(&path, format!("weights do not fit the network: {e:?}")))
}

fn write_blob(dir: &Path, stem: &str, bytes: &[u8]) -> Result<FileRef> {
    let sha256 = sha256_hex(bytes);
    let file = format!("{stem}-{}.bpk", &sha256[..16]);
    atomic::write_file(&dir.join(&file), bytes)?;
    Ok(FileRef { file, sha256 })
}

fn read_blob(dir: &Path, file: &FileRef) -> Result<Vec<u8>> {
    if file.file.contains(['/', '\\']) || file.file.starts_with('.') {
        return Err(checkpoint_error(
            dir,
            format!("`{}` is not a plain file name", file.file),
        ));
    }
    let path = dir.join(&file.file);
    let bytes = std::fs::read(&path).map_err(Error::io(&path))?;
    if sha256_hex(&bytes) != file.sha256 {
        return Err(checkpoint_error(
            &path,
            "does not match its SHA-256 in checkpoint.json (corrupt or altered)",
        ));
    }
    Ok(bytes)
}

fn checkpoint_error(path: &Path, reason: impl Into<String>) -> Error {
    Error::Checkpoint {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}
