//! `sonotag train`, `eval` and `predict` end to end on the synthetic dataset, including a
//! save/load round trip across a process boundary, and their bad-input behaviour.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use sonotag::synthetic::SyntheticConfig;

fn sonotag(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sonotag"))
        .args(args)
        .output()
        .expect("the sonotag binary runs")
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn assert_fails_with(out: &Output, needle: &str) {
    assert!(!out.status.success(), "expected failure");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1, "stderr: {stderr}");
    assert!(
        stderr.contains(needle),
        "stderr `{stderr}` lacks `{needle}`"
    );
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `sonotag train --manifest MANIFEST --out OUT` followed by `extra`.
fn sonotag_train(manifest: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["train", "--manifest", s(manifest), "--out", s(out)];
    args.extend_from_slice(extra);
    sonotag(&args)
}

#[test]
fn train_eval_predict_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let train = SyntheticConfig {
        n_clips: 60,
        seed: 1,
        ..Default::default()
    }
    .write_to_folder(&dir.path().join("train"))
    .unwrap();
    let test = SyntheticConfig {
        n_clips: 20,
        seed: 2,
        ..Default::default()
    }
    .write_to_folder(&dir.path().join("test"))
    .unwrap();
    let model = dir.path().join("model");
    let report: Value = serde_json::from_str(&ok(sonotag_train(
        &train,
        &model,
        &["--model", "tiny", "--epochs", "2", "--seed", "4", "--json"],
    )))
    .unwrap();
    assert_eq!(report["summary"]["history"].as_array().unwrap().len(), 2);
    assert!(model.join("sonotag.json").is_file());

    // eval --json prints exactly the object of `sonotag metrics`.
    let metrics: Value = serde_json::from_str(&ok(sonotag(&[
        "eval",
        "--model",
        s(&model),
        "--manifest",
        s(&test),
        "--json",
    ])))
    .unwrap();
    // serde_json's Value sorts keys, so compare the key set here.
    let mut keys: Vec<&str> = metrics
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "average_precision",
            "brier",
            "ece",
            "f1",
            "hamming_loss",
            "mce",
            "roc_auc"
        ]
    );
    assert_eq!(
        metrics["roc_auc"]["per_label"].as_object().unwrap().len(),
        5
    );

    let report_dir = dir.path().join("report");
    ok(sonotag(&[
        "eval",
        "--model",
        s(&model),
        "--manifest",
        s(&test),
        "--report",
        s(&report_dir),
    ]));
    assert!(report_dir.join("metrics.json").is_file());
    assert!(report_dir.join("reliability.png").is_file());

    // Another process loads the model: its JSON predictions equal the CSV rows of a third.
    let wav = test.parent().unwrap().join("synthetic-000000.wav");
    let json: Value = serde_json::from_str(&ok(sonotag(&[
        "predict",
        "--model",
        s(&model),
        "--format",
        "json",
        s(&wav),
    ])))
    .unwrap();
    let clip = json[0]["clip"].as_array().unwrap();
    assert_eq!(clip.len(), 5);
    let csv = ok(sonotag(&["predict", "--model", s(&model), s(&wav)]));
    let first: Vec<&str> = csv.lines().nth(1).unwrap().split(',').collect();
    let p: f64 = first[4].parse().unwrap();
    let expected = json[0]["segments"][0]["probabilities"][0].as_f64().unwrap();
    assert!((p - expected).abs() < 1e-6, "{p} vs {expected}");

    // A folder expands to its WAV files; top-k keeps k labels per clip.
    let all: Value = serde_json::from_str(&ok(sonotag(&[
        "predict",
        "--model",
        s(&model),
        "--format",
        "json",
        "--top-k",
        "2",
        s(test.parent().unwrap()),
    ])))
    .unwrap();
    assert_eq!(all.as_array().unwrap().len(), 20);
    assert_eq!(all[0]["labels"].as_array().unwrap().len(), 2);
}

/// README's FLAC/MP3 walk-through: a manifest of FLAC and MP3 files (22.05 kHz, told apart
/// by content) trains, evaluates and predicts, the folder expanding to both kinds of file.
#[cfg(feature = "formats")]
#[test]
fn a_flac_and_mp3_folder_goes_through_train_eval_and_predict() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("recordings");
    std::fs::create_dir(&data).unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/formats");
    for entry in std::fs::read_dir(&fixtures).unwrap() {
        let path = entry.unwrap().path();
        if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("flac" | "mp3" | "csv")
        ) {
            std::fs::copy(&path, data.join(path.file_name().unwrap())).unwrap();
        }
    }
    // One MP3 renamed .bin: the manifest names it, decoding goes by content.
    std::fs::rename(data.join("clip05.mp3"), data.join("clip05.bin")).unwrap();
    let manifest = data.join("manifest.csv");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, text.replace("clip05.mp3", "clip05.bin")).unwrap();

    let model = dir.path().join("model");
    ok(sonotag_train(
        &manifest,
        &model,
        &["--model", "tiny", "--epochs", "1", "--seed", "3"],
    ));
    let metrics: Value = serde_json::from_str(&ok(sonotag(&[
        "eval",
        "--model",
        s(&model),
        "--manifest",
        s(&manifest),
        "--json",
    ])))
    .unwrap();
    assert_eq!(
        metrics["roc_auc"]["per_label"].as_object().unwrap().len(),
        2
    );
    let all: Value = serde_json::from_str(&ok(sonotag(&[
        "predict",
        "--model",
        s(&model),
        "--format",
        "json",
        s(&data),
    ])))
    .unwrap();
    // 11 files named .flac or .mp3 (the .bin and the .csv are not audio names).
    let sources: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["source"].as_str().unwrap())
        .collect();
    assert_eq!(sources.len(), 11, "{sources:?}");
    assert!(sources.iter().any(|s| s.ends_with(".flac")));
    assert!(sources.iter().any(|s| s.ends_with(".mp3")));
    for p in all.as_array().unwrap() {
        // 1.2 s in 1 s windows: one full segment and the 0.2 s residual dropped (< 0.25 s).
        assert_eq!(p["segments"].as_array().unwrap().len(), 1, "{p}");
    }
}

#[test]
fn bad_inputs_exit_with_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);

    // train: missing manifest, empty manifest, missing audio named with its line, bad options.
    assert_fails_with(&sonotag_train(&p("none.csv"), &p("m"), &[]), "none.csv");
    std::fs::write(p("empty.csv"), "path,labels\n").unwrap();
    assert_fails_with(&sonotag_train(&p("empty.csv"), &p("m"), &[]), "no clips");
    std::fs::write(p("gone.csv"), "path,labels\nmissing.wav,dog\n").unwrap();
    assert_fails_with(&sonotag_train(&p("gone.csv"), &p("m"), &[]), "line 2");
    std::fs::write(p("cols.csv"), "file,tags\na.wav,dog\n").unwrap();
    assert_fails_with(&sonotag_train(&p("cols.csv"), &p("m"), &[]), "header");
    let train = SyntheticConfig {
        n_clips: 12,
        seed: 3,
        ..Default::default()
    }
    .write_to_folder(&p("d"))
    .unwrap();
    assert_fails_with(
        &sonotag_train(&train, &p("m"), &["--epochs", "0"]),
        "epochs",
    );
    assert_fails_with(
        &sonotag_train(&train, &p("m"), &["--model", "huge"]),
        "huge",
    );
    assert!(!p("m").exists(), "a failed training left a model directory");

    // eval / predict: unreadable model, unknown label in the manifest, missing input.
    assert_fails_with(
        &sonotag(&["eval", "--model", s(&p("nomodel")), "--manifest", s(&train)]),
        "nomodel",
    );
    assert_fails_with(
        &sonotag(&["predict", "--model", s(&p("nomodel")), s(&train)]),
        "nomodel",
    );
    ok(sonotag_train(
        &train,
        &p("m"),
        &["--model", "tiny", "--epochs", "1"],
    ));
    std::fs::write(p("d/owl.csv"), "path,labels\nsynthetic-000000.wav,owl\n").unwrap();
    assert_fails_with(
        &sonotag(&[
            "eval",
            "--model",
            s(&p("m")),
            "--manifest",
            s(&p("d/owl.csv")),
        ]),
        "owl",
    );
    assert_fails_with(
        &sonotag(&["predict", "--model", s(&p("m")), s(&p("nothing.wav"))]),
        "nothing.wav",
    );
    std::fs::write(p("fake.wav"), "not audio").unwrap();
    assert_fails_with(
        &sonotag(&["predict", "--model", s(&p("m")), s(&p("fake.wav"))]),
        "fake.wav",
    );
    assert_fails_with(
        &sonotag(&[
            "predict",
            "--model",
            s(&p("m")),
            "--format",
            "xml",
            s(&p("fake.wav")),
        ]),
        "xml",
    );
}

#[test]
fn train_with_checkpoints_cache_focal_and_balanced_sampling_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let train = SyntheticConfig {
        n_clips: 40,
        seed: 3,
        ..Default::default()
    }
    .write_to_folder(&dir.path().join("train"))
    .unwrap();
    let (model, checkpoints, cache) = (
        dir.path().join("model"),
        dir.path().join("ckpt"),
        dir.path().join("cache"),
    );
    let run = || -> Value {
        serde_json::from_str(&ok(sonotag_train(
            &train,
            &model,
            &[
                "--model",
                "tiny",
                "--epochs",
                "2",
                "--focal-gamma",
                "2",
                "--focal-alpha",
                "0.25",
                "--balanced-sampling",
                "--feature-cache",
                s(&cache),
                "--checkpoint-dir",
                s(&checkpoints),
                "--resume",
                "--json",
            ],
        )))
        .unwrap()
    };
    let first = run();
    assert!(checkpoints.join("checkpoint.json").is_file());
    assert_eq!(std::fs::read_dir(&cache).unwrap().count(), 40);
    // Resuming a finished run trains nothing more and reports the same history.
    let again = run();
    assert_eq!(first["summary"]["history"], again["summary"]["history"]);
    // --resume without a checkpoint folder is refused by the argument parser.
    let out = sonotag_train(&train, &model, &["--resume"]);
    assert!(!out.status.success());
}

#[test]
fn feature_and_segment_flags_are_stored_in_the_model_and_checked_first() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);
    let train = SyntheticConfig {
        n_clips: 12,
        seed: 4,
        ..Default::default()
    }
    .write_to_folder(&p("d"))
    .unwrap();
    let mel = p("mel.json");
    std::fs::write(
        &mel,
        r#"{"n_mels": 32, "n_fft": 256, "win_length": 200, "hop_length": 80}"#,
    )
    .unwrap();
    let flags = [
        "--model",
        "tiny",
        "--epochs",
        "1",
        "--mel-config",
        s(&mel),
        "--sample-rate",
        "8000",
        "--window",
        "0.5",
        "--hop",
        "0.25",
        "--min-residual",
        "0.1",
        "--pad",
        "noise",
    ];
    ok(sonotag_train(&train, &p("m"), &flags));
    let card: serde_json::Value =
        serde_json::from_slice(&std::fs::read(p("m").join("sonotag.json")).unwrap()).unwrap();
    let features = &card["features"];
    assert_eq!(features["mel"]["sample_rate"], 8000);
    assert_eq!(features["mel"]["n_mels"], 32);
    assert_eq!(features["mel"]["hop_length"], 80);
    assert_eq!(features["segment"]["window_s"], 0.5);
    assert_eq!(features["segment"]["hop_s"], 0.25);
    assert_eq!(features["segment"]["min_residual_s"], 0.1);
    assert_eq!(features["segment"]["pad"]["kind"], "noise");
    // The model predicts with those settings: 0.25 s hops over a 1 s clip.
    let clip = train.parent().unwrap().join("synthetic-000000.wav");
    let json = ok(sonotag(&[
        "predict",
        "--model",
        s(&p("m")),
        "--format",
        "json",
        s(&clip),
    ]));
    assert!(json.contains("\"start_s\":0.25"), "{json}");

    // Bad values are the library's typed errors, before the manifest is read (it is missing).
    let huge = p("huge.json");
    std::fs::write(&huge, r#"{"n_fft": 1073741824}"#).unwrap();
    for (extra, needles) in [
        (
            vec!["--window", "1e10"],
            vec!["window_s", "max_window_samples"],
        ),
        (
            vec!["--sample-rate", "1"],
            vec!["sample_rate", "min_sample_rate"],
        ),
        (vec!["--hop", "2"], vec!["hop_s"]),
        (vec!["--hop", "0.001"], vec!["hop_s", "max_overlap"]),
        (
            vec!["--mel-config", s(&p("huge.json"))],
            vec!["n_fft", "max_n_fft"],
        ),
        (vec!["--pad", "pink"], vec!["--pad", "pink"]),
    ] {
        let out = sonotag_train(&p("missing.csv"), &p("bad"), &extra);
        for needle in needles {
            assert_fails_with(&out, needle);
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("missing.csv"), "{stderr}");
    }
    assert!(!p("bad").exists());
}
