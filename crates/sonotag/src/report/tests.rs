//! Report folder tests: contents checked against the scikit-learn/torchmetrics fixture and
//! against `metrics_report`; files decoded; bad input rejected with typed errors.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::*;

fn fixtures_dir() -> PathBuf {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures"));
    assert!(
        dir.is_dir(),
        "fixture folder {} is missing: the report fixture test cannot run",
        dir.display()
    );
    dir
}

fn flat(v: &Value) -> Vec<f64> {
    match v {
        Value::Array(items) => items.iter().flat_map(flat).collect(),
        other => vec![other.as_f64().expect("number")],
    }
}

/// The 160 x 7 fixture: scores, targets, expected sklearn/torchmetrics values.
struct Case {
    labels: Vec<String>,
    scores: Vec<f32>,
    targets: Vec<u8>,
    n: usize,
    expected: Value,
}

fn fixture_case() -> Case {
    let path = fixtures_dir().join("metrics/multilabel_160x7.json");
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let case: Value = serde_json::from_str(&text).expect("fixture JSON");
    let scores: Vec<f32> = flat(&case["inputs"]["y_score"])
        .iter()
        .map(|&x| x as f32)
        .collect();
    let targets: Vec<u8> = flat(&case["inputs"]["y_true"])
        .iter()
        .map(|&x| x as u8)
        .collect();
    let n = targets.len() / 7;
    assert_eq!(n, 160);
    Case {
        labels: ["dog", "bird", "rain", "car", "speech", "siren", "music"]
            .map(String::from)
            .to_vec(),
        scores,
        targets,
        n,
        expected: case["expected"].clone(),
    }
}

/// A monotone squashing toward 0.5, standing in for a calibrator.
fn soften(p: &[f32]) -> Vec<f32> {
    p.iter().map(|&x| 0.5 + (x - 0.5) * 0.6).collect()
}

fn input<'a>(case: &'a Case, calibrated: &'a [f32]) -> ReportInput<'a> {
    ReportInput {
        labels: &case.labels,
        scores_raw: &case.scores,
        scores_calibrated: calibrated,
        targets: &case.targets,
        n_samples: case.n,
    }
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

fn decode_png(path: &Path) -> image::RgbImage {
    let bytes = fs::read(path).unwrap();
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{} signature",
        path.display()
    );
    image::load_from_memory_with_format(&bytes, image::ImageFormat::Png)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_rgb8()
}

/// Fraction of pixels that are not white (something was drawn).
fn ink(img: &image::RgbImage) -> f64 {
    let dark = img.pixels().filter(|p| p.0 != [255, 255, 255]).count();
    dark as f64 / (img.width() * img.height()) as f64
}

#[test]
fn report_folder_matches_fixture_and_metrics_report() {
    let case = fixture_case();
    let calibrated = soften(&case.scores);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("nested/report");
    let options = ReportOptions::default();
    let summary = write_report_folder(&out, &input(&case, &calibrated), &options).unwrap();

    let mut names: Vec<String> = fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut expected_names: Vec<String> = REPORT_FILES.iter().map(|s| s.to_string()).collect();
    expected_names.sort();
    assert_eq!(
        names, expected_names,
        "exactly the report files, no temporaries"
    );

    // metrics.json against scikit-learn / torchmetrics (raw scores are the fixture's).
    let json: Value = serde_json::from_slice(&fs::read(out.join(METRICS_FILE)).unwrap()).unwrap();
    let raw = &json["raw"];
    let exp = &case.expected;
    for (k, label) in case.labels.iter().enumerate() {
        let auc = &raw["roc_auc"]["per_label"][label];
        match exp["roc_auc_per_label"][k].as_f64() {
            Some(e) => assert!(
                close(auc.as_f64().unwrap(), e, 1e-12),
                "{label}: {auc} vs {e}"
            ),
            None => assert!(auc.is_null(), "{label} single class: {auc}"),
        }
        if k != 5 {
            let ap = raw["average_precision"]["per_label"][label]
                .as_f64()
                .unwrap();
            let e = exp["average_precision_per_label"][k].as_f64().unwrap();
            assert!(close(ap, e, 1e-12), "{label}: AP {ap} vs {e}");
        }
    }
    let macro_auc = raw["roc_auc"]["macro"].as_f64().unwrap();
    assert!(close(
        macro_auc,
        exp["roc_auc_macro_valid_labels"].as_f64().unwrap(),
        1e-12
    ));
    let ece = raw["ece"].as_f64().unwrap();
    assert!(
        close(ece, exp["ece_l1_15bins"].as_f64().unwrap(), 1e-6),
        "ECE {ece}"
    );
    let brier = raw["brier"].as_f64().unwrap();
    assert!(
        close(brier, exp["brier_flat"].as_f64().unwrap(), 1e-9),
        "Brier {brier}"
    );
    let hamming = raw["hamming_loss"].as_f64().unwrap();
    assert!(close(hamming, exp["hamming_loss"].as_f64().unwrap(), 1e-12));

    // Both sections equal what metrics_report gives on the same inputs, to the last digit (the
    // text is compared: serde_json's default float parser may be off by one ulp).
    let report_of = |scores: &[f32]| {
        let s = ScoreMatrix::new(scores, case.n, 7).unwrap();
        let t = TargetMatrix::new(&case.targets, case.n, 7).unwrap();
        metrics_report(&s, &t, &case.labels, &options).unwrap()
    };
    let direct = EvaluationSummary {
        raw: report_of(&case.scores),
        calibrated: report_of(&calibrated),
        warnings: Vec::new(),
    };
    let text = fs::read_to_string(out.join(METRICS_FILE)).unwrap();
    assert_eq!(text, serde_json::to_string_pretty(&direct).unwrap());
    assert!(
        text.starts_with("{\n  \"raw\": {\n    \"roc_auc\""),
        "{}",
        &text[..40]
    );
    assert_eq!(summary.raw, report_of(&case.scores));
    assert_eq!(summary.calibrated, report_of(&calibrated));
    // Softening toward 0.5 keeps the ranking but changes calibration.
    assert_eq!(summary.raw.roc_auc, summary.calibrated.roc_auc);
    assert_ne!(summary.raw.ece, summary.calibrated.ece);

    for stem in ["roc_curves", "pr_curves", "reliability"] {
        let svg = fs::read_to_string(out.join(format!("{stem}.svg"))).unwrap();
        assert!(svg.contains("<svg"), "{stem}.svg");
        let img = decode_png(&out.join(format!("{stem}.png")));
        assert_eq!(img.dimensions(), style::FIGURE, "{stem}.png size");
        let ink = ink(&img);
        assert!(ink > 0.01 && ink < 0.5, "{stem}.png ink {ink}");
    }
    for stem in ["roc_curves", "pr_curves"] {
        let svg = fs::read_to_string(out.join(format!("{stem}.svg"))).unwrap();
        for label in &case.labels {
            assert!(svg.contains(label.as_str()), "{stem}.svg lacks {label}");
        }
        assert!(
            svg.contains("siren: not plotted (no positives)"),
            "{stem}.svg"
        );
        // Six plotted labels, each a polyline in its own colour (tab10's first colour is #1F77B4).
        assert!(svg.to_lowercase().contains("#1f77b4"), "{stem}.svg");
    }
    let roc_svg = fs::read_to_string(out.join("roc_curves.svg")).unwrap();
    assert!(roc_svg.contains("dog: 0.912"), "legend shows the AUC");
    let rel_svg = fs::read_to_string(out.join("reliability.svg")).unwrap();
    assert!(
        rel_svg.contains(&format!("ECE raw {:.3}", ece)),
        "ECE in the subtitle"
    );
}

#[test]
fn rewriting_replaces_every_file_and_keeps_others() {
    let case = fixture_case();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    fs::write(out.join("notes.txt"), "user file").unwrap();
    fs::write(out.join("roc_curves.png"), "stale").unwrap();
    fs::write(out.join(METRICS_FILE), "{}").unwrap();
    let options = ReportOptions::default();
    let first = write_report_folder(out, &input(&case, &case.scores), &options).unwrap();
    assert_eq!(first.raw, first.calibrated);
    decode_png(&out.join("roc_curves.png"));
    let calibrated = soften(&case.scores);
    let second = write_report_folder(out, &input(&case, &calibrated), &options).unwrap();
    let json: Value = serde_json::from_slice(&fs::read(out.join(METRICS_FILE)).unwrap()).unwrap();
    assert_eq!(json["calibrated"]["ece"].as_f64(), second.calibrated.ece);
    assert_ne!(json["calibrated"]["ece"], json["raw"]["ece"]);
    assert_eq!(
        fs::read_to_string(out.join("notes.txt")).unwrap(),
        "user file"
    );
    let count = fs::read_dir(out).unwrap().count();
    assert_eq!(count, REPORT_FILES.len() + 1, "no temporary files left");
}

#[test]
fn single_class_and_tiny_inputs_do_not_panic() {
    // Every label single-class: no curve at all, still a full report.
    let labels = vec!["always".to_string(), "never".to_string()];
    let scores = [0.9, 0.1, 0.8, 0.3, 0.7, 0.2];
    let targets = [1, 0, 1, 0, 1, 0];
    let input = ReportInput {
        labels: &labels,
        scores_raw: &scores,
        scores_calibrated: &scores,
        targets: &targets,
        n_samples: 3,
    };
    let dir = tempfile::tempdir().unwrap();
    let summary = write_report_folder(dir.path(), &input, &ReportOptions::default()).unwrap();
    assert_eq!(summary.raw.roc_auc.macro_average, None);
    let roc = fs::read_to_string(dir.path().join("roc_curves.svg")).unwrap();
    assert!(roc.contains("always: not plotted (no negatives)"));
    assert!(roc.contains("never: not plotted (no positives)"));
    // The PR curve of an all-positive label is defined (precision 1) and is drawn.
    let pr = fs::read_to_string(dir.path().join("pr_curves.svg")).unwrap();
    assert!(pr.contains("always: 1.000"), "AP of an all-positive label");
    // One sample, one label; probabilities of exactly 0 and 1.
    let labels = vec!["x".to_string()];
    for p in [0.0f32, 1.0] {
        let input = ReportInput {
            labels: &labels,
            scores_raw: &[p],
            scores_calibrated: &[p],
            targets: &[1],
            n_samples: 1,
        };
        let dir = tempfile::tempdir().unwrap();
        write_report_folder(
            dir.path(),
            &input,
            &ReportOptions {
                bins: 1,
                ..Default::default()
            },
        )
        .unwrap();
    }
}

#[test]
fn many_long_labels_are_elided_in_the_legend() {
    let n_labels = 60;
    let n = 40;
    let labels: Vec<String> = (0..n_labels)
        .map(|l| {
            format!("label {l} with a name far too long to fit in the legend panel of the figure")
        })
        .collect();
    let scores: Vec<f32> = (0..n * n_labels)
        .map(|i| ((i * 37) % 101) as f32 / 100.0)
        .collect();
    let targets: Vec<u8> = (0..n * n_labels)
        .map(|i| u8::from((i * 37) % 101 > 40 + i % 13))
        .collect();
    let input = ReportInput {
        labels: &labels,
        scores_raw: &scores,
        scores_calibrated: &scores,
        targets: &targets,
        n_samples: n,
    };
    let dir = tempfile::tempdir().unwrap();
    write_report_folder(dir.path(), &input, &ReportOptions::default()).unwrap();
    let roc = fs::read_to_string(dir.path().join("roc_curves.svg")).unwrap();
    assert!(
        roc.contains("more labels (see metrics.json)"),
        "legend elides rows"
    );
    assert!(roc.contains('…'), "long names are shortened");
    let json: Value =
        serde_json::from_slice(&fs::read(dir.path().join(METRICS_FILE)).unwrap()).unwrap();
    assert_eq!(
        json["raw"]["roc_auc"]["per_label"]
            .as_object()
            .unwrap()
            .len(),
        n_labels
    );
}

#[test]
fn bad_inputs_are_typed_errors_and_write_nothing() {
    let labels = vec!["a".to_string(), "b".to_string()];
    let ok_scores = [0.1, 0.9, 0.8, 0.2];
    let targets = [0, 1, 1, 0];
    let base = ReportInput {
        labels: &labels,
        scores_raw: &ok_scores,
        scores_calibrated: &ok_scores,
        targets: &targets,
        n_samples: 2,
    };
    let options = ReportOptions::default();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("never-created");
    let run = |input: &ReportInput<'_>, options: &ReportOptions| {
        write_report_folder(&out, input, options).unwrap_err()
    };

    let short = [0.1, 0.9, 0.8];
    let e = run(
        &ReportInput {
            scores_calibrated: &short,
            ..base
        },
        &options,
    );
    assert!(
        matches!(
            e,
            ReportError::Shape {
                field: "scores_calibrated",
                got: 3,
                expected: 4,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("scores_calibrated"), "{e}");

    let nan = [0.1, f32::NAN, 0.8, 0.2];
    let e = run(
        &ReportInput {
            scores_raw: &nan,
            ..base
        },
        &options,
    );
    assert!(
        matches!(e, ReportError::Metrics { which: "raw", .. }),
        "{e}"
    );
    assert!(e.to_string().contains("NaN"), "{e}");

    let out_of_range = [0.1, 0.9, 1.5, 0.2];
    let e = run(
        &ReportInput {
            scores_calibrated: &out_of_range,
            ..base
        },
        &options,
    );
    assert!(
        matches!(
            e,
            ReportError::Metrics {
                which: "calibrated",
                ..
            }
        ),
        "{e}"
    );

    let bad_targets = [0, 2, 1, 0];
    let e = run(
        &ReportInput {
            targets: &bad_targets,
            ..base
        },
        &options,
    );
    assert!(matches!(e, ReportError::Metrics { .. }), "{e}");

    let dup = vec!["a".to_string(), "a".to_string()];
    let e = run(
        &ReportInput {
            labels: &dup,
            ..base
        },
        &options,
    );
    assert!(
        matches!(
            e,
            ReportError::DuplicateLabel {
                first: 0,
                second: 1,
                ..
            }
        ),
        "{e}"
    );

    let e = run(
        &ReportInput {
            labels: &[],
            ..base
        },
        &options,
    );
    assert!(matches!(e, ReportError::Empty("labels")), "{e}");
    let e = run(
        &ReportInput {
            n_samples: 0,
            ..base
        },
        &options,
    );
    assert!(matches!(e, ReportError::Empty("samples")), "{e}");

    let e = run(
        &base,
        &ReportOptions {
            logits: true,
            ..options
        },
    );
    assert!(matches!(e, ReportError::LogitsOption), "{e}");
    let e = run(&base, &ReportOptions { bins: 0, ..options });
    assert!(matches!(e, ReportError::Metrics { .. }), "{e}");

    assert!(!out.exists(), "nothing written for invalid input");
}

#[test]
fn unwritable_folder_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file-not-folder");
    fs::write(&blocker, "x").unwrap();
    let labels = vec!["a".to_string()];
    let input = ReportInput {
        labels: &labels,
        scores_raw: &[0.2, 0.7],
        scores_calibrated: &[0.2, 0.7],
        targets: &[0, 1],
        n_samples: 2,
    };
    let e = write_report_folder(&blocker.join("report"), &input, &ReportOptions::default())
        .unwrap_err();
    assert!(matches!(e, ReportError::CreateDir { .. }), "{e}");
    assert!(e.to_string().contains("file-not-folder"), "{e}");
}

#[test]
fn a_failed_write_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("missing-folder").join("a.json");
    let err = super::write_file(&dest, b"x").unwrap_err();
    assert!(matches!(err, ReportError::Write { .. }), "{err:?}");
    assert!(err.to_string().contains("a.json"), "{err}");
}
