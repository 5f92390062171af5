//! Hostile model folders and checkpoint folders (issue 14): every number in `sonotag.json` and
//! `checkpoint.json` is checked against `Limits` before anything is sized by it, files are read
//! with a bound, and saving deletes only what the saver wrote.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use sonotag::{Error, Limits, ModelFault, Tagger};

use crate::common::names;
use crate::common::{few_clips, tiny};

/// A saved tiny model and its card as JSON.
struct Saved {
    _dir: tempfile::TempDir,
    root: PathBuf,
    tagger: Tagger,
    card: Value,
}

impl Saved {
    fn new() -> Self {
        let (tagger, _) = tiny().train(&few_clips()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        tagger.save(root.join("model")).unwrap();
        let card = serde_json::from_slice(&std::fs::read(root.join("model/sonotag.json")).unwrap())
            .unwrap();
        Self {
            _dir: dir,
            root,
            tagger,
            card,
        }
    }

    /// A fresh copy of the model with its card edited by `edit`.
    fn edited(&self, name: &str, edit: impl FnOnce(&mut Value)) -> PathBuf {
        let dir = self.root.join(name);
        self.tagger.save(&dir).unwrap();
        let fresh: Value =
            serde_json::from_slice(&std::fs::read(dir.join("sonotag.json")).unwrap()).unwrap();
        let mut card = self.card.clone();
        // Every save writes its weights under a name of its own.
        card["weights"] = fresh["weights"].clone();
        edit(&mut card);
        std::fs::write(dir.join("sonotag.json"), card.to_string()).unwrap();
        dir
    }
}

/// Loads `dir` with `limits`, expecting a model error of `kind` whose message names the card
/// or weights file and contains each of `needles`.
fn expect_fault(dir: &Path, limits: &Limits, kind: ModelFault, needles: &[&str]) {
    let device = sonotag::backend::default_device();
    let Err(err) = Tagger::load_with(dir, &device, limits) else {
        panic!("{} loaded", dir.display());
    };
    let Error::Model { kind: k, path, .. } = &err else {
        panic!("expected a model error, got {err:?}");
    };
    assert_eq!(*k, kind, "{err}");
    assert!(path.starts_with(dir), "{err}");
    let message = err.to_string();
    assert_eq!(message.lines().count(), 1, "{message}");
    for needle in needles {
        assert!(message.contains(needle), "`{message}` lacks `{needle}`");
    }
}

#[test]
fn model_cards_with_sizes_beyond_the_limits_are_refused_before_building() {
    let saved = Saved::new();
    let defaults = Limits::default();
    // Convolution widths of 200,000: 160 GB of weights were allocated before the check.
    let d = saved.edited("wide", |c| c["model"]["widths"] = json!([200_000, 8]));
    expect_fault(
        &d,
        &defaults,
        ModelFault::OverLimit,
        &["widths[0]", "200000", "max_width"],
    );
    // Many blocks, a huge kernel, a huge hidden layer.
    let d = saved.edited("deep", |c| c["model"]["widths"] = json!(vec![4; 100]));
    expect_fault(
        &d,
        &defaults,
        ModelFault::OverLimit,
        &["widths", "100", "max_blocks"],
    );
    let d = saved.edited("kernel", |c| {
        c["model"]["block"]["kernel_size"] = json!(100_001)
    });
    expect_fault(
        &d,
        &defaults,
        ModelFault::OverLimit,
        &["kernel_size", "max_kernel_size"],
    );
    let d = saved.edited("hidden", |c| c["model"]["head"]["hidden"] = json!(u64::MAX));
    expect_fault(
        &d,
        &defaults,
        ModelFault::OverLimit,
        &["head.hidden", "max_width"],
    );
    // Within every width limit but too many parameters in all.
    let d = saved.edited("params", |c| c["model"]["widths"] = json!(vec![8192; 16]));
    expect_fault(&d, &defaults, ModelFault::OverLimit, &["max_params"]);
    // Feature settings: a segment window of 1e10 s, a hop of one sample (a 2 s clip took 1 GB),
    // an FFT of 2^30 points.
    let d = saved.edited("window", |c| {
        c["features"]["segment"]["window_s"] = json!(1e10)
    });
    expect_fault(
        &d,
        &defaults,
        ModelFault::OverLimit,
        &["window", "max_window_samples"],
    );
    let d = saved.edited("hop", |c| {
        c["features"]["segment"]["hop_s"] = json!(1.0 / 16_000.0)
    });
    expect_fault(&d, &defaults, ModelFault::OverLimit, &["max_overlap"]);
    let d = saved.edited("fft", |c| c["features"]["mel"]["n_fft"] = json!(1u64 << 30));
    expect_fault(
        &d,
        &defaults,
        ModelFault::OverLimit,
        &["n_fft", "1073741824", "max_n_fft"],
    );
    // Each within its own limit, together 700 MB of features per segment (found by fuzzing).
    let d = saved.edited("segment", |c| {
        c["features"]["segment"]["window_s"] = json!(1024.0);
        c["features"]["mel"]["win_length"] = json!(6);
        c["features"]["mel"]["hop_length"] = json!(6);
    });
    expect_fault(
        &d,
        &defaults,
        ModelFault::OverLimit,
        &["max_segment_values"],
    );
    // Sizes within the limits that the weights file cannot hold: refused before reading it.
    let d = saved.edited("bigger", |c| c["model"]["widths"] = json!([256, 256]));
    expect_fault(
        &d,
        &defaults,
        ModelFault::Inconsistent,
        &["weights.bytes", "parameters"],
    );
}

#[test]
fn labels_thresholds_and_card_size_are_checked_strictly() {
    let saved = Saved::new();
    let defaults = Limits::default();
    let d = saved.edited("threshold", |c| c["thresholds"][0] = json!(7.5));
    expect_fault(
        &d,
        &defaults,
        ModelFault::Inconsistent,
        &["thresholds[0]", "7.5"],
    );
    let d = saved.edited("dup", |c| {
        let first = c["labels"][0].clone();
        c["labels"][1] = first;
    });
    expect_fault(
        &d,
        &defaults,
        ModelFault::Inconsistent,
        &["labels[1]", "repeats"],
    );
    // A lowered limit shows the label bound without writing a million labels.
    let mut few_labels = Limits::default();
    few_labels.max_labels = 2;
    let d = saved.root.join("model");
    expect_fault(
        &d,
        &few_labels,
        ModelFault::OverLimit,
        &["labels", "max_labels"],
    );
    let mut small_card = Limits::default();
    small_card.max_card_bytes = 100;
    expect_fault(
        &d,
        &small_card,
        ModelFault::OverLimit,
        &["sonotag.json", "above the limit of 100"],
    );
    // The same folder loads with the defaults.
    Tagger::load(&d).unwrap();
}

#[test]
fn weights_must_be_a_regular_file_of_the_recorded_size_and_a_plain_name() {
    let saved = Saved::new();
    let defaults = Limits::default();
    let d = saved.edited("path", |c| {
        c["weights"]["file"] = json!("../model/sonotag.json")
    });
    expect_fault(&d, &defaults, ModelFault::Inconsistent, &["weights.file"]);
    #[cfg(unix)]
    {
        // A weights file replaced by a link to an endless device is not read at all.
        let d = saved.edited("device", |_| {});
        let weights = sonotag::persist::weights_path(&d).unwrap();
        std::fs::remove_file(&weights).unwrap();
        std::os::unix::fs::symlink("/dev/zero", &weights).unwrap();
        expect_fault(
            &d,
            &defaults,
            ModelFault::WeightsMissing,
            &["not a regular file"],
        );
        // A folder in its place neither.
        std::fs::remove_file(&weights).unwrap();
        std::fs::create_dir(&weights).unwrap();
        expect_fault(
            &d,
            &defaults,
            ModelFault::WeightsMissing,
            &["not a regular file"],
        );
    }
}

#[test]
fn saving_deletes_only_the_weights_the_replaced_card_named() {
    let (a, _) = tiny().train(&few_clips()).unwrap();
    let (b, _) = tiny().seed(9).train(&few_clips()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("model");
    a.save(&folder).unwrap();
    // Files that are not this model's: another writer's temporary file, someone's weights.
    std::fs::write(folder.join(".sonotag-tmp-other"), b"in progress").unwrap();
    std::fs::write(folder.join("weights-ffffffffffffffff.bpk"), b"not ours").unwrap();
    std::fs::write(folder.join("notes.txt"), b"keep").unwrap();
    b.save(&folder).unwrap();
    a.save(&folder).unwrap();
    let left = names(&folder);
    assert!(left.contains(&".sonotag-tmp-other".to_string()), "{left:?}");
    assert!(
        left.contains(&"weights-ffffffffffffffff.bpk".to_string()),
        "{left:?}"
    );
    assert!(left.contains(&"notes.txt".to_string()), "{left:?}");
    // b's weights went with the card that named them; a's are there.
    assert_eq!(
        left.iter().filter(|n| n.starts_with("weights-")).count(),
        2,
        "{left:?}"
    );
    Tagger::load(&folder).unwrap();
}

#[test]
fn concurrent_saves_into_one_folder_leave_a_loadable_model() {
    let (a, _) = tiny().train(&few_clips()).unwrap();
    let (b, _) = tiny().seed(9).train(&few_clips()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("model");
    std::thread::scope(|s| {
        for tagger in [&a, &b] {
            let folder = &folder;
            s.spawn(move || {
                for _ in 0..20 {
                    tagger.save(folder).unwrap();
                    // Whoever saved last, the folder holds one complete model.
                    Tagger::load(folder).unwrap();
                }
            });
        }
    });
    Tagger::load(&folder).unwrap();
}

#[test]
fn checkpoints_written_into_a_model_folder_leave_the_model_intact() {
    let (model, _) = tiny().train(&few_clips()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("model");
    model.save(&folder).unwrap();
    let before = names(&folder);
    tiny()
        .epochs(3)
        .checkpoint_dir(&folder)
        .train(&few_clips())
        .unwrap();
    let after = names(&folder);
    for name in &before {
        assert!(after.contains(name), "{name} was deleted: {after:?}");
    }
    Tagger::load(&folder).unwrap();
}

/// Trains 2 epochs with checkpoints into `dir`, then returns the checkpoint card.
fn checkpointed(dir: &Path) -> Value {
    tiny()
        .epochs(2)
        .checkpoint_dir(dir)
        .train(&few_clips())
        .unwrap();
    serde_json::from_slice(&std::fs::read(dir.join("checkpoint.json")).unwrap()).unwrap()
}

fn expect_checkpoint_error(dir: &Path, needles: &[&str]) {
    let err = tiny()
        .epochs(2)
        .checkpoint_dir(dir)
        .resume(true)
        .train(&few_clips())
        .unwrap_err();
    assert!(matches!(err, Error::Checkpoint { .. }), "{err:?}");
    let message = err.to_string();
    assert_eq!(message.lines().count(), 1, "{message}");
    for needle in needles {
        assert!(message.contains(needle), "`{message}` lacks `{needle}`");
    }
}

#[test]
fn hostile_checkpoint_cards_are_refused_and_delete_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let good = checkpointed(dir.path());
    let write = |card: &Value| {
        std::fs::write(dir.path().join("checkpoint.json"), card.to_string()).unwrap();
    };
    let cases: [(&str, Value, &[&str]); 5] = [
        (
            "epoch",
            json!(1_000_000_000_000u64),
            &["epoch", "1000000000000"],
        ),
        ("history", json!([]), &["history"]),
        ("best_epoch", json!(7), &["best_epoch", "7"]),
        (
            "model",
            json!({"file": "../../etc/passwd", "sha256": "00"}),
            &["not a checkpoint file name"],
        ),
        (
            "optimizer",
            json!({"file": "sonotag.json", "sha256": "00"}),
            &["not a checkpoint file name"],
        ),
    ];
    for (field, value, needles) in cases {
        let mut card = good.clone();
        card[field] = value;
        write(&card);
        expect_checkpoint_error(dir.path(), needles);
    }
    // A blob larger than the network allows is refused without hashing it.
    let mut card = good.clone();
    let blob = dir.path().join(card["model"]["file"].as_str().unwrap());
    let f = std::fs::OpenOptions::new()
        .append(true)
        .open(&blob)
        .unwrap();
    f.set_len(200 << 20).unwrap();
    write(&card);
    expect_checkpoint_error(dir.path(), &["above the limit"]);
    // A planted card naming a model's weights: a new run's saves do not delete them.
    std::fs::write(dir.path().join("weights-0123456789abcdef.bpk"), b"a model").unwrap();
    card["model"]["file"] = json!("weights-0123456789abcdef.bpk");
    write(&card);
    tiny()
        .epochs(2)
        .checkpoint_dir(dir.path())
        .train(&few_clips())
        .unwrap();
    assert!(dir.path().join("weights-0123456789abcdef.bpk").exists());
}
