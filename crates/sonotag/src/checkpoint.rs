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
use crate::bounded::{self, ReadFault, SizeBound};
use crate::digest::{self, hex, sha256_hex};
use crate::error::{Error, Result};
use crate::persist;
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
    /// The run's number of epochs: a checkpoint cannot be past it.
    pub epochs: usize,
    /// The largest `checkpoint.json` read ([`crate::Limits::max_card_bytes`]).
    pub max_card_bytes: u64,
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
    let card_path = dir.join(CHECKPOINT_FILE);
    // The files the card being replaced names: the only ones this save may remove.
    let replaced = previous_files(&card_path, spec.max_card_bytes);
    atomic::write_file(&card_path, &json)?;
    // Only now are the previous epoch's files unreferenced. Nothing else in the folder is
    // touched (a saved model, another writer's temporary files).
    let keep = [&card.model.file, &card.optimizer.file, &card.best.file];
    for old in replaced {
        if !keep.contains(&&old) {
            let _ = std::fs::remove_file(dir.join(old));
        }
    }
    Ok(())
}

/// The files named by the checkpoint card at `card_path` that have the form this module writes
/// (`model|optimizer|best-<hash>-<nonce>.bpk`): a planted card cannot make a save delete
/// anything else.
fn previous_files(card_path: &Path, max_card_bytes: u64) -> Vec<String> {
    let Ok(bytes) = bounded::read(card_path, SizeBound::AtMost(max_card_bytes)) else {
        return Vec::new();
    };
    let Ok(card) = serde_json::from_slice::<CheckpointCard>(&bytes) else {
        return Vec::new();
    };
    [card.model, card.optimizer, card.best]
        .into_iter()
        .map(|f| f.file)
        .filter(|name| is_blob_name(name))
        .collect()
}

/// Whether `name` is a file name [`write_blob`] gives.
fn is_blob_name(name: &str) -> bool {
    ["model", "optimizer", "best"]
        .iter()
        .any(|stem| digest::is_blob_name(name, stem))
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
    let text = match bounded::read(&card_path, SizeBound::AtMost(spec.max_card_bytes)) {
        Ok(text) => text,
        Err(ReadFault::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(checkpoint_error(&card_path, e.to_string())),
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
    check_progress(&card, spec.epochs).map_err(|reason| checkpoint_error(&card_path, reason))?;
    let params = template.config.param_count()?;
    let (_, model_max) = persist::weights_size_range(params);
    // AdamW keeps two moments per value, plus a step count and a header per tensor.
    let optimizer_max = model_max.saturating_mul(3);
    let model = load_model(dir, &card.model, model_max, template, device)?;
    let best = load_model(dir, &card.best, model_max, template, device)?.valid();
    let optimizer = optimizer
        .from_bytes(Bytes::from_bytes_vec(read_blob(
            dir,
            &card.optimizer,
            optimizer_max,
        )?))
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

/// The card's counters agree with each other and with a run of `epochs` epochs.
fn check_progress(card: &CheckpointCard, epochs: usize) -> std::result::Result<(), String> {
    if card.epoch == 0 || card.epoch > epochs {
        return Err(format!(
            "`epoch` is {}, outside this run's epochs 1 to {epochs}",
            card.epoch
        ));
    }
    if card.history.len() != card.epoch {
        return Err(format!(
            "`history` has {} epochs, `epoch` says {}",
            card.history.len(),
            card.epoch
        ));
    }
    if card.best_epoch == 0 || card.best_epoch > card.epoch {
        return Err(format!(
            "`best_epoch` is {}, outside the completed epochs 1 to {}",
            card.best_epoch, card.epoch
        ));
    }
    if card.best_score.is_nan() {
        return Err("`best_score` is NaN".into());
    }
    Ok(())
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

fn load_model(
    dir: &Path,
    file: &FileRef,
    max_bytes: u64,
    template: &Cnn,
    device: &Device,
) -> Result<Cnn> {
    let path = dir.join(&file.file);
    let bytes = read_blob(dir, file, max_bytes)?;
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
    let file = digest::blob_name(stem, &sha256);
    atomic::write_file(&dir.join(&file), bytes)?;
    Ok(FileRef { file, sha256 })
}

/// Reads a file the card names: a name of the form [`write_blob`] gives, a regular file of at
/// most `max_bytes` (what the network's size allows), matching its SHA-256.
fn read_blob(dir: &Path, file: &FileRef, max_bytes: u64) -> Result<Vec<u8>> {
    if !is_blob_name(&file.file) {
        return Err(checkpoint_error(
            &dir.join(CHECKPOINT_FILE),
            format!("`{}` is not a checkpoint file name", file.file),
        ));
    }
    let path = dir.join(&file.file);
    let bytes = bounded::read(&path, SizeBound::AtMost(max_bytes))
        .map_err(|e| checkpoint_error(&path, format!("the file {e}")))?;
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
        reason: crate::error::one_line(&reason.into()),
    }
}
