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
use crate::bounded::{self, ReadFault, SizeBound};
use crate::config::{ClipPooling, TaskKind};
use crate::digest::{self, sha256_hex};
use crate::error::{Error, ModelFault, Result};
use crate::limits::Limits;
use crate::prep::{FeatureConfig, FeaturePipeline};
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
    let file = digest::blob_name("weights", &sha);
    atomic::write_file(&dir.join(&file), &bytes)?;
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
    let card_path = dir.join(CARD_FILE);
    // The weights the card being replaced names: the only file this save may remove.
    let replaced = previous_weights(&card_path);
    atomic::write_file(&card_path, &json)?;
    // Only now is the old weights file unreferenced. Nothing else in the folder is touched:
    // not other files, not another writer's temporary files.
    if let Some(old) = replaced.filter(|old| *old != file) {
        let _ = std::fs::remove_file(dir.join(old));
    }
    Ok(())
}

/// The weights file named by the card at `card_path`, if there is a readable card naming a
/// file of the form this module writes (`weights-<hash>-<nonce>.bpk`): a planted card cannot
/// make a save delete anything else.
fn previous_weights(card_path: &Path) -> Option<String> {
    card_weights(card_path)
        .ok()
        .map(|w| w.file)
        .filter(|file| is_weights_name(file))
}

/// The `weights` field of the card at `card_path`, read with the default card bound.
fn card_weights(card_path: &Path) -> Result<WeightsRef> {
    #[derive(Deserialize)]
    struct WeightsProbe {
        weights: WeightsRef,
    }
    let bytes = bounded::read(
        card_path,
        SizeBound::AtMost(Limits::default().max_card_bytes),
    )
    .map_err(|e| Error::model(ModelFault::Missing, card_path, format!("the file {e}")))?;
    let probe: WeightsProbe =
        serde_json::from_slice(&bytes).map_err(|e| invalid_json(card_path, &e))?;
    Ok(probe.weights)
}

/// Whether `name` is a weights file name this module writes.
fn is_weights_name(name: &str) -> bool {
    digest::is_blob_name(name, "weights")
}

/// A model directory read back and checked: its card, feature pipeline and network.
pub(crate) struct Loaded {
    pub card: ModelCard,
    pub pipeline: FeaturePipeline,
    pub model: Cnn,
}

/// Reads and checks a model directory; returns the card, the feature pipeline and the network
/// on `device`. Every number in the card is checked against `limits`, and the network's size
/// against the weights file's, before anything is sized by them.
pub(crate) fn load(dir: &Path, device: &Device, limits: &Limits) -> Result<Loaded> {
    if !dir.is_dir() {
        return Err(Error::model(
            ModelFault::Missing,
            dir,
            "is not a model directory (no such folder)",
        ));
    }
    let card_path = dir.join(CARD_FILE);
    // A save running beside this load may replace the card and remove the weights the card
    // read here names; then the new card names complete new weights, so read it again.
    let mut attempts = 0;
    loop {
        attempts += 1;
        let card = read_card(&card_path, limits)?;
        match load_card(dir, card, device, limits) {
            Err(Error::Model {
                kind: ModelFault::WeightsMissing,
                ..
            }) if attempts < 4 && card_names_present_weights(&card_path, dir) => continue,
            result => return result,
        }
    }
}

/// Whether the card now names a weights file that exists: after a load found its weights gone,
/// that means a save replaced the card meanwhile.
fn card_names_present_weights(card_path: &Path, dir: &Path) -> bool {
    previous_weights(card_path).is_some_and(|file| dir.join(file).is_file())
}

/// The rest of [`load`] once the card is read and checked.
fn load_card(dir: &Path, card: ModelCard, device: &Device, limits: &Limits) -> Result<Loaded> {
    let card_path = dir.join(CARD_FILE);
    let pipeline = FeaturePipeline::new(card.features.clone(), &limits.audio).map_err(|e| {
        let kind = match &e {
            Error::FeatureConfig(c) if c.limit.is_some() => ModelFault::OverLimit,
            _ => ModelFault::Inconsistent,
        };
        Error::model(kind, &card_path, format!("invalid `features`: {e}"))
    })?;
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
    Ok(Loaded {
        card,
        pipeline,
        model,
    })
}

/// Reads `sonotag.json` at `card_path` (at most `limits.max_card_bytes`), checking its format
/// version, its consistency and its sizes.
fn read_card(card_path: &Path, limits: &Limits) -> Result<ModelCard> {
    let text = bounded::read(card_path, SizeBound::AtMost(limits.max_card_bytes)).map_err(|e| {
        let kind = match e {
            ReadFault::Size { .. } => ModelFault::OverLimit,
            _ => ModelFault::Missing,
        };
        Error::model(
            kind,
            card_path,
            format!("cannot read the model description: {e}"),
        )
    })?;
    let version: VersionProbe =
        serde_json::from_slice(&text).map_err(|e| invalid_json(card_path, &e))?;
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
    let card: ModelCard = serde_json::from_slice(&text).map_err(|e| invalid_json(card_path, &e))?;
    check_sizes(&card, card_path, limits)?;
    check_card(&card, card_path)?;
    Ok(card)
}

/// The card's sizes against `limits`, the network's first: its parameter count bounds the
/// weights file, checked here before the file is opened.
fn check_sizes(card: &ModelCard, path: &Path, limits: &Limits) -> Result<()> {
    let over = |e: Error| Error::model(ModelFault::OverLimit, path, e.to_string());
    limits.check_labels(card.labels.len()).map_err(over)?;
    card.model
        .check_limits(&limits.net)
        .map_err(|e| Error::model(ModelFault::OverLimit, path, format!("invalid `model`: {e}")))?;
    let params = card.model.param_count().map_err(|e| {
        Error::model(
            ModelFault::Inconsistent,
            path,
            format!("invalid `model`: {e}"),
        )
    })?;
    let (min, max) = weights_size_range(params);
    if !(min..=max).contains(&card.weights.bytes) {
        return Err(Error::model(
            ModelFault::Inconsistent,
            path,
            format!(
                "`weights.bytes` is {}, but a network of {params} parameters (`model`) takes \
                 {min} to {max} bytes",
                card.weights.bytes
            ),
        ));
    }
    Ok(())
}

/// The sizes a burnpack file of a network with `params` stored `f32` values can have: the
/// values themselves, plus a header naming each tensor (measured: see the tests).
pub(crate) fn weights_size_range(params: u64) -> (u64, u64) {
    let min = params.saturating_mul(4);
    (min, min.saturating_add(WEIGHTS_OVERHEAD_MAX))
}

/// The most a burnpack file adds to its tensors' bytes (header, names, shapes, alignment) for
/// any network [`Limits`] admits: measured about 3 KB for the largest preset (see
/// `weights_overhead_is_small` below); this leaves room for 64 blocks.
const WEIGHTS_OVERHEAD_MAX: u64 = 1 << 20;

/// Reads the weights file the card names: a regular file of exactly the recorded size (read
/// with that bound), matching its SHA-256.
fn read_weights(weights_path: &Path, card: &ModelCard, card_path: &Path) -> Result<Vec<u8>> {
    if !is_weights_name(&card.weights.file) {
        return Err(Error::model(
            ModelFault::Inconsistent,
            card_path,
            "`weights.file` must be a file name of the form weights-<hash>-<nonce>.bpk",
        ));
    }
    let bytes = bounded::read(weights_path, SizeBound::Exactly(card.weights.bytes)).map_err(
        |e| match e {
            ReadFault::Size { found, .. } => Error::model(
                ModelFault::WeightsTruncated,
                weights_path,
                format!(
                    "the weights file has {found} bytes, {CARD_FILE} says {} (truncated or \
                     replaced)",
                    card.weights.bytes
                ),
            ),
            e => Error::model(
                ModelFault::WeightsMissing,
                weights_path,
                format!("cannot read the weights: the file {e}"),
            ),
        },
    )?;
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
    if let Some(i) = card
        .thresholds
        .iter()
        .position(|t| !(0.0..=1.0).contains(t))
    {
        return Err(Error::model(
            ModelFault::Inconsistent,
            path,
            format!(
                "`thresholds[{i}]` is {}; a threshold is a probability in [0, 1]",
                card.thresholds[i]
            ),
        ));
    }
    check_label_names(&card.labels, path)?;
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

/// Labels are non-empty and distinct (one pass with a hash set: a card may hold a million).
fn check_label_names(labels: &[String], path: &Path) -> Result<()> {
    let mut seen = std::collections::HashSet::with_capacity(labels.len());
    for (i, label) in labels.iter().enumerate() {
        if label.is_empty() {
            return Err(Error::model(
                ModelFault::Inconsistent,
                path,
                format!("`labels[{i}]` is empty"),
            ));
        }
        if !seen.insert(label.as_str()) {
            return Err(Error::model(
                ModelFault::Inconsistent,
                path,
                format!("`labels[{i}]` repeats the label `{label}`"),
            ));
        }
    }
    Ok(())
}

/// The weights file of the model directory `dir`, for tests and tools that damage a model on
/// purpose.
pub fn weights_path(dir: &Path) -> Result<PathBuf> {
    Ok(dir.join(card_weights(&dir.join(CARD_FILE))?.file))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sonotag_nn::Preset;

    #[test]
    fn weights_overhead_is_small() {
        let device = crate::backend::default_device();
        for (name, config) in [
            ("tiny", Preset::Tiny.config(3)),
            ("seed_net", Preset::SeedNet.config(527)),
            ("cnn10", Preset::Cnn10.config(10)),
        ] {
            let params = config.param_count().unwrap();
            let model = config.init(&device).unwrap();
            let bytes = model.into_record().into_bytes().unwrap().len() as u64;
            let (min, max) = weights_size_range(params);
            assert!(
                (min..=max).contains(&bytes),
                "{name}: {bytes} not in {min}..={max}"
            );
            assert!(bytes - min < 16 << 10, "{name}: overhead {}", bytes - min);
        }
    }
}
