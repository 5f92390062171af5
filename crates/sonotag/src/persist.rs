//! Saving and loading a tagger as one self-contained directory (the format is documented for
//! users on [`crate::Tagger::save`]).
//!
//! A model directory holds `sonotag.json` (format version, labels, task, feature settings,
//! normaliser, network config, calibrator, thresholds, training summary) and one weights file,
//! `weights-<hash>.bpk` (burnpack). `sonotag.json` names the weights file with its SHA-256 and
//! size.
//!
//! Crash safety: the new weights are written under a new name first, then `sonotag.json` is
//! replaced atomically, and only then are unreferenced weights removed. A process killed at any
//! moment leaves a directory whose `sonotag.json` points at complete weights: the old model or
//! the new one, never a mix.

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::tensor::{Bytes, Device};
use serde::{Deserialize, Serialize};
use sonotag_audio::Normalizer;
use sonotag_metrics::Calibrator;
use sonotag_nn::{Cnn, CnnConfig};

use crate::atomic;
use crate::config::{ClipPooling, TaskKind};
use crate::digest::sha256_hex;
use crate::error::{Error, ModelFault, Result};
use crate::prep::FeatureConfig;
use crate::train::TrainSummary;

/// The version of the model directory format this build reads and writes.
pub(crate) const FORMAT_VERSION: u32 = 1;

/// The name of the metadata file inside a model directory.
pub(crate) const CARD_FILE: &str = "sonotag.json";

/// Where the weights are and how to check them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct WeightsRef {
    /// File name inside the model directory.
    pub file: String,
    /// SHA-256 of the file, hex.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
}

/// The contents of `sonotag.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ModelCard {
    /// [`FORMAT_VERSION`] of the writer.
    pub format_version: u32,
    /// The sonotag version that wrote it.
    pub sonotag_version: String,
    /// The task: `multilabel` or `multiclass`.
    pub task: TaskKind,
    /// Label names, in output order.
    pub labels: Vec<String>,
    /// Log-mel and segmentation settings.
    pub features: FeatureConfig,
    /// Per-band z-score statistics fitted on the training split.
    pub normalizer: Normalizer,
    /// The network configuration.
    pub model: CnnConfig,
    /// Logits-to-probabilities calibration.
    pub calibrator: Calibrator,
    /// Per-label decision thresholds on calibrated probabilities.
    pub thresholds: Vec<f32>,
    /// How segment scores become clip scores.
    pub clip_pooling: ClipPooling,
    /// The weights file.
    pub weights: WeightsRef,
    /// What training did, if this model was trained by sonotag.
    pub training: Option<TrainSummary>,
}

/// Writes `card` (with its `weights` field filled in here) and `model`'s weights to `dir`.
pub(crate) fn save(dir: &Path, mut card: ModelCard, model: &Cnn) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
    let bytes = model.clone().into_record().into_bytes().map_err(|e| {
        Error::model(
            ModelFault::Serialise,
            dir,
            format!("cannot serialise the weights: {e:?}"),
        )
    })?;
    let sha = sha256_hex(&bytes[..]);
    let file = format!("weights-{}.bpk", &sha[..16]);
    let weights_path = dir.join(&file);
    if !matches_hash(&weights_path, &sha) {
        atomic::write_file(&weights_path, &bytes)?;
    }
    card.weights = WeightsRef {
        file: file.clone(),
        sha256: sha,
        bytes: bytes.len() as u64,
    };
    card.format_version = FORMAT_VERSION;
    let json = serde_json::to_vec_pretty(&card).map_err(|e| {
        Error::model(
            ModelFault::Serialise,
            dir,
            format!("cannot serialise {CARD_FILE}: {e}"),
        )
    })?;
    atomic::write_file(&dir.join(CARD_FILE), &json)?;
    // Only now is the old weights file unreferenced.
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let stale_weights =
                name.starts_with("weights-") && name.ends_with(".bpk") && name != file;
            let stale_temp = name.starts_with(atomic::TEMP_PREFIX);
            if stale_weights || stale_temp {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    Ok(())
}

/// Reads and checks a model directory; returns the card and the network on `device`.
pub(crate) fn load(dir: &Path, device: &Device) -> Result<(ModelCard, Cnn)> {
    if !dir.is_dir() {
        return Err(Error::model(
            ModelFault::Missing,
            dir,
            "is not a model directory (no such folder)",
        ));
    }
    let card_path = dir.join(CARD_FILE);
    let card = read_card(&card_path)?;
    let weights_path = dir.join(&card.weights.file);
    let bytes = read_weights(&weights_path, &card, &card_path)?;
    let record =
        burn::store::ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes)).map_err(|e| {
            Error::model(
                ModelFault::WeightsCorrupt,
                &weights_path,
                format!("unreadable weights: {e:?}"),
            )
        })?;
    let model = card
        .model
        .init(device)
        .map_err(|e| {
            Error::model(
                ModelFault::Inconsistent,
                &card_path,
                format!("invalid `model`: {e}"),
            )
        })?
        .try_load_record(record)
        .map_err(|e| {
            Error::model(
                ModelFault::ShapeMismatch,
                &weights_path,
                format!("the weights do not fit the network in {CARD_FILE}: {e:?}"),
            )
        })?;
    Ok((card, model))
}

/// Reads `sonotag.json` at `card_path`, checking its format version and its consistency.
fn read_card(card_path: &Path) -> Result<ModelCard> {
    let text = std::fs::read_to_string(card_path).map_err(|e| {
        Error::model(
            ModelFault::Missing,
            card_path,
            format!("cannot read the model description: {e}"),
        )
    })?;
    let version: VersionProbe =
        serde_json::from_str(&text).map_err(|e| invalid_json(card_path, &e))?;
    if version.format_version != FORMAT_VERSION {
        return Err(Error::model(
            ModelFault::UnsupportedVersion,
            card_path,
            format!(
                "format version {} is not supported (this build reads version {FORMAT_VERSION})",
                version.format_version
            ),
        ));
    }
    let card: ModelCard = serde_json::from_str(&text).map_err(|e| invalid_json(card_path, &e))?;
    check_card(&card, card_path)?;
    Ok(card)
}

/// Reads the weights file the card names, checking its size and SHA-256.
fn read_weights(weights_path: &Path, card: &ModelCard, card_path: &Path) -> Result<Vec<u8>> {
    if card.weights.file.contains(['/', '\\']) || card.weights.file.starts_with('.') {
        return Err(Error::model(
            ModelFault::Inconsistent,
            card_path,
            "`weights.file` must be a plain file name",
        ));
    }
    let bytes = std::fs::read(weights_path).map_err(|e| {
        Error::model(
            ModelFault::WeightsMissing,
            weights_path,
            format!("cannot read the weights: {e}"),
        )
    })?;
    if bytes.len() as u64 != card.weights.bytes {
        return Err(Error::model(
            ModelFault::WeightsTruncated,
            weights_path,
            format!(
                "the weights file has {} bytes, {CARD_FILE} says {} (truncated or replaced)",
                bytes.len(),
                card.weights.bytes
            ),
        ));
    }
    if sha256_hex(&bytes) != card.weights.sha256 {
        return Err(Error::model(
            ModelFault::WeightsCorrupt,
            weights_path,
            "the weights do not match their SHA-256 in sonotag.json (corrupt or altered)",
        ));
    }
    Ok(bytes)
}

#[derive(Deserialize)]
struct VersionProbe {
    format_version: u32,
}

fn invalid_json(path: &Path, e: &serde_json::Error) -> Error {
    Error::model(
        ModelFault::InvalidJson,
        path,
        format!(
            "invalid JSON at line {}, column {}: {e}",
            e.line(),
            e.column()
        ),
    )
}

/// Consistency of the card's own fields (labels vs head, thresholds, calibrator, features).
fn check_card(card: &ModelCard, path: &Path) -> Result<()> {
    let n = card.labels.len();
    if n == 0 {
        return Err(Error::model(
            ModelFault::Inconsistent,
            path,
            "`labels` is empty",
        ));
    }
    if card.model.n_outputs != n {
        return Err(Error::model(
            ModelFault::Inconsistent,
            path,
            format!(
                "{n} labels but the network has {} outputs (`model.n_outputs`)",
                card.model.n_outputs
            ),
        ));
    }
    if card.thresholds.len() != n {
        return Err(Error::model(
            ModelFault::Inconsistent,
            path,
            format!("{} thresholds for {n} labels", card.thresholds.len()),
        ));
    }
    if card.normalizer.n_mels() != card.features.mel.n_mels {
        return Err(Error::model(
            ModelFault::Inconsistent,
            path,
            format!(
                "the normaliser has {} bands, the mel config {}",
                card.normalizer.n_mels(),
                card.features.mel.n_mels
            ),
        ));
    }
    if card.task == TaskKind::MultiClass {
        crate::link::softmax_temperature(&card.calibrator).map_err(|e| {
            Error::model(
                ModelFault::Inconsistent,
                path,
                format!("invalid `calibrator` for a multiclass model: {e}"),
            )
        })?;
    }
    card.calibrator.validate(n).map_err(|e| {
        Error::model(
            ModelFault::Inconsistent,
            path,
            format!("invalid `calibrator`: {e}"),
        )
    })?;
    Ok(())
}

fn matches_hash(path: &Path, sha: &str) -> bool {
    std::fs::read(path).is_ok_and(|b| sha256_hex(&b) == sha)
}

/// The weights file of the model directory `dir`, for tests and tools that damage a model on
/// purpose.
pub fn weights_path(dir: &Path) -> Result<PathBuf> {
    let card_path = dir.join(CARD_FILE);
    let text = std::fs::read_to_string(&card_path).map_err(Error::io(&card_path))?;
    let card: ModelCard = serde_json::from_str(&text).map_err(|e| invalid_json(&card_path, &e))?;
    Ok(dir.join(card.weights.file))
}
