//! End-to-end tests of the Tagger on the synthetic dataset (CPU backend): it learns, it is
//! reproducible, it saves and loads exactly, and bad inputs give typed errors.

use sonotag::dataset::{Clip, Dataset};
use sonotag::nn::{CnnConfig, HeadConfig, HeadPool};
use sonotag::synthetic::{SYNTHETIC_LABELS, SyntheticConfig};
use sonotag::{
    CalibrationMethod, Error, LossKind, ModelSpec, PosWeight, Tagger, TaggerBuilder, TaskKind,
    TrainEvent,
};

fn data(n: usize, seed: u64) -> Dataset {
    Dataset::from_clips(
        SyntheticConfig {
            n_clips: n,
            seed,
            ..Default::default()
        }
        .generate(),
    )
}

fn small_builder() -> TaggerBuilder {
    let network = CnnConfig::new(vec![8, 16], SYNTHETIC_LABELS.len())
        .with_head(HeadConfig::new().with_pool(HeadPool::MeanMaxTime));
    Tagger::builder()
        .labels(SYNTHETIC_LABELS)
        .model(ModelSpec::Custom(network))
        .epochs(4)
        .learning_rate(5e-3)
        .seed(3)
}

#[test]
fn learns_the_synthetic_task_and_calibrates() {
    let train = data(320, 1);
    let test = data(120, 2);
    let epochs_seen = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = epochs_seen.clone();
    // The quickstart's network, on fewer clips.
    let network = CnnConfig::new(vec![16, 32, 64], SYNTHETIC_LABELS.len())
        .with_head(HeadConfig::new().with_pool(HeadPool::MeanMaxTime));
    let (tagger, report) = small_builder()
        .model(ModelSpec::Custom(network))
        .epochs(8)
        .learning_rate(3e-3)
        .on_event(move |e| {
            if let TrainEvent::EpochEnd(m) = e {
                assert!(m.train_loss.is_finite() && m.val_loss.is_finite());
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        })
        .train(&train)
        .unwrap();
    assert!(!report.summary.history.is_empty());
    let seen = epochs_seen.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(
        seen,
        report.summary.history.len(),
        "one EpochEnd event per epoch"
    );
    assert!(
        report.summary.val_clips >= 56 && report.summary.val_clips <= 72,
        "{}",
        report.summary.val_clips
    );
    let eval = tagger.evaluate(&test).unwrap();
    let auc = eval.calibrated.roc_auc.macro_average.unwrap();
    assert!(auc > 0.85, "macro ROC-AUC {auc} on the test split");
    // The printed table: a header, then one row per label in label order, with its AUC.
    let table = eval.per_label_table(tagger.labels());
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 1 + tagger.labels().len(), "{table}");
    assert!(
        lines[0].contains("ROC-AUC") && lines[0].contains("AP"),
        "{table}"
    );
    for (line, label) in lines[1..].iter().zip(tagger.labels()) {
        let auc = eval
            .calibrated
            .roc_auc
            .per_label
            .get(label)
            .flatten()
            .unwrap();
        assert!(line.starts_with(label.as_str()), "{line}");
        assert!(line.contains(&format!("{auc:.4}")), "{line}");
    }
    // Temperature scaling is monotone: it must not change the ranking.
    assert_eq!(
        eval.raw.roc_auc.macro_average,
        eval.calibrated.roc_auc.macro_average
    );
    let prediction = tagger
        .predict_samples(&test.clips[0].load().unwrap().0, 16_000)
        .unwrap();
    assert_eq!(prediction.labels.len(), SYNTHETIC_LABELS.len());
    assert!(prediction.clip.iter().all(|p| (0.0..=1.0).contains(p)));
}

/// Trains `network` for 2 epochs with `seed`; returns the epochs' training losses and the clip
/// probabilities of the first training clip.
fn losses_and_probe(train: &Dataset, network: CnnConfig, seed: u64) -> (Vec<f64>, Vec<f32>) {
    let (tagger, report) = small_builder()
        .model(ModelSpec::Custom(network))
        .epochs(2)
        .seed(seed)
        .train(train)
        .unwrap();
    let losses = report
        .summary
        .history
        .iter()
        .map(|m| m.train_loss)
        .collect();
    let probe = tagger
        .predict_samples(&train.clips[0].load().unwrap().0, 16_000)
        .unwrap();
    (losses, probe.clip)
}

#[test]
fn seeded_training_is_reproducible_bit_for_bit() {
    let train = data(60, 5);
    // Dropout is drawn during training: it must be seeded too.
    let network = CnnConfig::new(vec![8, 16], SYNTHETIC_LABELS.len()).with_head(
        HeadConfig::new()
            .with_pool(HeadPool::MeanMaxTime)
            .with_dropout(0.3),
    );
    let run = |seed: u64| losses_and_probe(&train, network.clone(), seed);
    let first = run(3);
    assert_eq!(first, run(3));
    // The seed matters: another one gives another run.
    assert_ne!(first, run(4));
}

#[test]
fn save_and_load_round_trip_exactly() {
    let train = data(60, 6);
    let (tagger, _) = small_builder()
        .epochs(1)
        .calibration(CalibrationMethod::Platt)
        .train(&train)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let model_dir = dir.path().join("model");
    tagger.save(&model_dir).unwrap();
    // Saving again over the same directory replaces it cleanly.
    tagger.save(&model_dir).unwrap();
    let loaded = Tagger::load(&model_dir).unwrap();
    assert_eq!(loaded.labels(), tagger.labels());
    assert_eq!(loaded.calibrator(), tagger.calibrator());
    let long: Vec<f32> = train
        .clips
        .iter()
        .take(3)
        .flat_map(|c| c.load().unwrap().0.into_owned())
        .collect();
    let a = tagger.predict_samples(&long, 16_000).unwrap();
    let b = loaded.predict_samples(&long, 16_000).unwrap();
    assert_eq!(a, b);
    assert_eq!(
        a.segments.len(),
        3,
        "3 s of audio gives three 1-second segments"
    );
    let files: Vec<_> = std::fs::read_dir(&model_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        files.len(),
        2,
        "sonotag.json and one weights file: {files:?}"
    );
}

#[test]
fn predictions_at_another_sample_rate_are_resampled() {
    let train = data(40, 8);
    let (tagger, _) = small_builder().epochs(1).train(&train).unwrap();
    // 2.5 s at 44.1 kHz: two full windows and a padded residual.
    let samples: Vec<f32> = (0..110_250)
        .map(|i| (i as f32 * 0.05).sin() * 0.3)
        .collect();
    let p = tagger.predict_samples(&samples, 44_100).unwrap();
    assert_eq!(p.segments.len(), 3);
    assert!((p.segments[2].start_s - 2.0).abs() < 1e-9);
    let err = tagger
        .predict_samples(&[0.0, f32::NAN], 16_000)
        .unwrap_err();
    assert!(
        matches!(
            &err,
            Error::NonFiniteAudio { clip, index: 1, .. } if clip == "samples"
        ),
        "{err}"
    );
}

#[test]
fn bad_training_input_is_a_typed_error() {
    let train = data(20, 9);
    let err = small_builder().epochs(0).train(&train).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Config {
                field: "epochs",
                ..
            }
        ),
        "{err}"
    );
    let err = small_builder().batch_size(0).train(&train).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Config {
                field: "batch_size",
                ..
            }
        ),
        "{err}"
    );
    let err = small_builder().train(&Dataset::default()).unwrap_err();
    assert!(
        matches!(&err, Error::InvalidData { what, .. } if what == "the training set"),
        "{err}"
    );
    // A label the builder was not told about.
    let mut odd = train.clone();
    odd.clips.push(Clip::from_samples(
        "odd",
        vec![0.0; 16_000],
        16_000,
        vec!["owl".into()],
    ));
    let err = small_builder().train(&odd).unwrap_err();
    assert!(err.to_string().contains("owl"), "{err}");
    // A custom head narrower than the label set.
    let err = small_builder()
        .model(ModelSpec::Custom(CnnConfig::new(vec![8], 2)))
        .train(&train)
        .unwrap_err();
    assert!(matches!(err, Error::Config { field: "model", .. }), "{err}");
}

#[test]
fn damaged_model_directories_are_refused() {
    let train = data(30, 10);
    let (tagger, _) = small_builder().epochs(1).train(&train).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m");
    let fresh = |name: &str| {
        let d = dir.path().join(name);
        tagger.save(&d).unwrap();
        d
    };
    tagger.save(&model).unwrap();
    let card = model.join("sonotag.json");
    let weights = sonotag::persist::weights_path(&model).unwrap();

    let expect = |d: &std::path::Path, needle: &str| {
        let err = Tagger::load(d).unwrap_err();
        assert!(matches!(err, Error::Model { .. }), "{err}");
        assert!(err.to_string().contains(needle), "`{err}` lacks `{needle}`");
    };
    expect(&dir.path().join("missing"), "no such folder");

    let d = fresh("truncated");
    let w = sonotag::persist::weights_path(&d).unwrap();
    let bytes = std::fs::read(&w).unwrap();
    std::fs::write(&w, &bytes[..bytes.len() / 2]).unwrap();
    expect(&d, "truncated");

    let d = fresh("altered");
    let w = sonotag::persist::weights_path(&d).unwrap();
    let mut bytes = std::fs::read(&w).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xFF;
    std::fs::write(&w, &bytes).unwrap();
    expect(&d, "SHA-256");

    let d = fresh("noweights");
    std::fs::remove_file(sonotag::persist::weights_path(&d).unwrap()).unwrap();
    expect(&d, "cannot read the weights");

    let text = std::fs::read_to_string(&card).unwrap();
    let d = fresh("version");
    std::fs::write(
        d.join("sonotag.json"),
        text.replacen("\"format_version\": 1", "\"format_version\": 99", 1),
    )
    .unwrap();
    expect(&d, "format version 99");

    let d = fresh("json");
    std::fs::write(d.join("sonotag.json"), &text[..text.len() / 2]).unwrap();
    expect(&d, "invalid JSON");

    let d = fresh("labels");
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["labels"].as_array_mut().unwrap().pop();
    std::fs::write(
        d.join("sonotag.json"),
        serde_json::to_string(&json).unwrap(),
    )
    .unwrap();
    expect(&d, "labels");
    assert!(weights.exists());
}

#[test]
fn focal_loss_and_balanced_sampling_train_and_conflicts_are_named() {
    let train = data(60, 8);
    let (_, report) = small_builder()
        .epochs(1)
        .loss(LossKind::Focal {
            gamma: 2.0,
            alpha: Some(0.25),
        })
        .balanced_sampling(true)
        .train(&train)
        .unwrap();
    assert!(report.summary.history[0].train_loss.is_finite());
    // Focal loss and pos_weight are alternatives: asking for both is a config error.
    let err = small_builder()
        .loss(LossKind::Focal {
            gamma: 2.0,
            alpha: None,
        })
        .pos_weight(PosWeight::Auto)
        .train(&train)
        .unwrap_err();
    assert!(
        matches!(&err, Error::Config { field, .. } if *field == "pos_weight"),
        "{err}"
    );
}

#[test]
fn feature_cache_is_filled_reused_and_repaired() {
    let train = data(40, 9);
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let run = || {
        small_builder()
            .epochs(1)
            .feature_cache(&cache)
            .train(&train)
            .unwrap()
            .1
            .summary
            .history[0]
            .train_loss
    };
    let first = run();
    let mut files: Vec<_> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), train.len(), "one cache file per clip");
    // Cached features give exactly the same run.
    assert_eq!(first, run());
    // A damaged cache file is recomputed, not trusted.
    std::fs::write(&files[0], b"not features").unwrap();
    assert_eq!(first, run());
    assert!(std::fs::metadata(&files[0]).unwrap().len() > 100);
}

/// Synthetic clips with exactly one event each: a 5-class problem.
fn single_label(n_source: usize, seed: u64) -> Dataset {
    let mut clips = SyntheticConfig {
        n_clips: n_source,
        seed,
        ..Default::default()
    }
    .generate();
    clips.retain(|c| c.labels.len() == 1);
    Dataset::from_clips(clips)
}

#[test]
fn multiclass_task_trains_softmax_and_round_trips() {
    let train = single_label(700, 12);
    let test = single_label(200, 13);
    let network = CnnConfig::new(vec![16, 32], SYNTHETIC_LABELS.len())
        .with_head(HeadConfig::new().with_pool(HeadPool::MeanMaxTime));
    let (tagger, report) = small_builder()
        .model(ModelSpec::Custom(network))
        .task(TaskKind::MultiClass)
        .epochs(6)
        .learning_rate(3e-3)
        .train(&train)
        .unwrap();
    assert_eq!(tagger.task(), TaskKind::MultiClass);
    assert!(matches!(
        tagger.calibrator(),
        sonotag::metrics::Calibrator::Temperature { .. }
    ));
    assert!(
        report
            .summary
            .history
            .iter()
            .all(|m| m.val_loss.is_finite())
    );
    // Probabilities are a softmax: every row sums to one, and the prediction is one class.
    let mut correct = 0;
    for clip in &test.clips {
        let p = tagger
            .predict_samples(&clip.load().unwrap().0, 16_000)
            .unwrap();
        let sum: f32 = p.clip.iter().sum();
        assert!((sum - 1.0).abs() < 1e-4, "{sum}");
        for s in &p.segments {
            assert!((s.probabilities.iter().sum::<f32>() - 1.0).abs() < 1e-4);
        }
        let detected = p.detected();
        assert_eq!(detected.len(), 1);
        correct += usize::from(detected[0].0 == clip.labels[0]);
    }
    let accuracy = correct as f64 / test.len() as f64;
    assert!(accuracy > 0.6, "accuracy {accuracy} (chance is 0.2)");
    // The task survives saving and loading.
    let dir = tempfile::tempdir().unwrap();
    tagger.save(dir.path().join("m")).unwrap();
    let loaded = Tagger::load(dir.path().join("m")).unwrap();
    assert_eq!(loaded.task(), TaskKind::MultiClass);
    let (samples, _) = test.clips[0].load().unwrap();
    assert_eq!(
        loaded.predict_samples(&samples, 16_000).unwrap(),
        tagger.predict_samples(&samples, 16_000).unwrap()
    );
}

#[test]
fn multiclass_refuses_multilabel_only_settings_and_data() {
    let train = single_label(80, 14);
    for builder in [
        small_builder().calibration(CalibrationMethod::Platt),
        small_builder().pos_weight(PosWeight::Auto),
        small_builder().tune_thresholds(true),
    ] {
        let err = builder
            .task(TaskKind::MultiClass)
            .train(&train)
            .unwrap_err();
        assert!(matches!(err, Error::Config { .. }), "{err}");
        assert!(err.to_string().contains("multiclass"), "{err}");
    }
    // A clip with two labels is not a multiclass example.
    let mixed = data(30, 15);
    let err = small_builder()
        .task(TaskKind::MultiClass)
        .train(&mixed)
        .unwrap_err();
    assert!(
        matches!(&err, Error::Config { field, .. } if *field == "task"),
        "{err}"
    );
    assert!(err.to_string().contains("synthetic-"), "{err}");
}

#[test]
fn features_spilled_to_disk_train_exactly_like_features_in_memory() {
    let train = data(40, 16);
    let run = |limit: usize| {
        small_builder()
            .epochs(1)
            .feature_memory_limit(limit)
            .train(&train)
            .unwrap()
            .1
            .summary
            .history
            .iter()
            .map(|m| (m.train_loss, m.val_loss))
            .collect::<Vec<_>>()
    };
    // 100 KB holds about 4 one-second segments: the rest goes to the temporary file.
    assert_eq!(run(100_000), run(usize::MAX));
}

#[test]
fn divergence_stops_training_naming_epoch_and_batch_and_writes_no_checkpoint() {
    let train = data(40, 17);
    let dir = tempfile::tempdir().unwrap();
    // An absurd learning rate blows the weights up after the first step.
    let err = small_builder()
        .epochs(3)
        .learning_rate(1e30)
        .schedule(sonotag::Schedule::Constant)
        .checkpoint_dir(dir.path())
        .train(&train)
        .unwrap_err();
    match &err {
        Error::Diverged { epoch, batch, .. } => {
            assert_eq!(*epoch, 1, "{err}");
            assert!(*batch >= 1, "{err}");
        }
        other => panic!("expected a divergence error, got {other:?}"),
    }
    let message = err.to_string();
    assert!(message.contains("epoch 1, batch"), "{message}");
    // No epoch completed, so no checkpoint claims one.
    assert!(!dir.path().join("checkpoint.json").exists());
}

#[test]
fn concurrent_runs_match_single_runs() {
    // Two taggers trained at the same time on two threads of one process share nothing but
    // rayon's pool (no global buffers, no shared random source, no lock): each gives exactly
    // the bits of its run alone. Dropout in the blocks and the head exercises the step-owned
    // mask generators on the engine and on burn's kernels.
    let train = data(48, 6);
    let network = CnnConfig::new(vec![8, 16], SYNTHETIC_LABELS.len())
        .with_block(sonotag::nn::ConvBlockSpec::new().with_dropout(0.2))
        .with_head(
            HeadConfig::new()
                .with_pool(HeadPool::MeanMaxTime)
                .with_dropout(0.3),
        );
    let run = |seed: u64| losses_and_probe(&train, network.clone(), seed);
    let alone = [run(3), run(4)];
    let together = std::thread::scope(|s| {
        let a = s.spawn(|| run(3));
        let b = s.spawn(|| run(4));
        [a.join().unwrap(), b.join().unwrap()]
    });
    assert_eq!(together[0], alone[0]);
    assert_eq!(together[1], alone[1]);
    assert_ne!(
        alone[0], alone[1],
        "the two runs differ, so a mix-up would show"
    );
}

#[test]
fn a_run_the_cpu_engine_cannot_take_says_why() {
    // GELU is not implemented by the CPU engine: burn's kernels train and predict, and the
    // reason reaches the caller as one event, a report field and a tagger accessor.
    let train = data(24, 8);
    let gelu = CnnConfig::new(vec![4], SYNTHETIC_LABELS.len()).with_block(
        sonotag::nn::ConvBlockSpec::new().with_activation(sonotag::nn::Activation::Gelu),
    );
    let events = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = events.clone();
    let (tagger, report) = small_builder()
        .model(ModelSpec::Custom(gelu))
        .epochs(1)
        .on_event(move |e| {
            if let TrainEvent::EngineFallback(reason) = e {
                seen.lock().unwrap().push(reason.clone());
            }
        })
        .train(&train)
        .unwrap();
    let reasons = events.lock().unwrap().clone();
    assert_eq!(reasons.len(), 1, "reported once per run: {reasons:?}");
    assert!(matches!(
        reasons[0],
        sonotag::nn::EngineFallback::Activation { block: 0, .. }
    ));
    assert_eq!(report.engine_fallback.as_ref(), Some(&reasons[0]));
    assert!(matches!(
        tagger.engine_fallback(),
        Some(sonotag::nn::EngineFallback::Activation { block: 0, .. })
    ));

    // A network the engine takes reports nothing.
    let (tagger, report) = small_builder().epochs(1).train(&train).unwrap();
    assert_eq!(report.engine_fallback, None);
    assert_eq!(tagger.engine_fallback(), None);
}
