//! End-to-end tests of the `sonotag` binary: outputs checked against the librosa and
//! scikit-learn fixtures, and every bad input exits non-zero with one line and no output file.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn fixtures() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    assert!(
        dir.is_dir(),
        "the golden fixtures are missing at {}",
        dir.display()
    );
    dir
}

fn sonotag(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sonotag"))
        .args(args)
        .output()
        .expect("the sonotag binary runs")
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Asserts a failed run: non-zero exit, one line on stderr mentioning `needle`.
fn assert_fails_with(out: &Output, needle: &str) {
    assert!(!out.status.success(), "expected failure, got success");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1, "stderr: {stderr}");
    assert!(
        stderr.contains(needle),
        "stderr `{stderr}` lacks `{needle}`"
    );
}

/// `sonotag features` reads FLAC and MP3 as well (by content: the MP3 is named `.dat`), at
/// their own rate (22.05 kHz, resampled to the config's).
#[cfg(feature = "formats")]
#[test]
fn features_read_flac_and_mp3() {
    let dir = tempfile::tempdir().unwrap();
    let mp3 = dir.path().join("clip04.dat");
    std::fs::copy(fixtures().join("formats/clip04.mp3"), &mp3).unwrap();
    for input in [fixtures().join("formats/clip00.flac"), mp3] {
        let output = dir.path().join("out.json");
        let out = sonotag(&[
            "features",
            "--input",
            input.to_str().unwrap(),
            "--output",
            output.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let got = read_json(&output);
        assert_eq!(got["n_mels"], 64);
        // 1.2 s at 16 kHz with a 160-sample hop, centred: 121 frames (MP3 gapless: same length).
        assert_eq!(got["n_frames"], 121, "{}", input.display());
    }
}

#[test]
fn features_match_librosa_on_a_fixture() {
    let case = fixtures().join("mel/p16k_n512_m64_slaney__chirp.json");
    let wav = fixtures().join("mel/p16k_n512_m64_slaney__chirp.wav");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("mel.json");
    // The fixture's parameters are the defaults except f_max written explicitly.
    std::fs::write(&config, r#"{"sample_rate": 16000, "f_max": 8000.0}"#).unwrap();
    let output = dir.path().join("out.json");
    let out = sonotag(&[
        "features",
        "--input",
        wav.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = read_json(&output);
    let expected = read_json(&case)["expected"]["log_mel_db"].clone();
    let expected = expected.as_array().unwrap();
    assert_eq!(got["n_mels"], 64);
    assert_eq!(
        got["n_frames"].as_u64().unwrap() as usize,
        expected[0].as_array().unwrap().len()
    );
    let max = expected
        .iter()
        .flat_map(|row| row.as_array().unwrap())
        .map(|v| v.as_f64().unwrap())
        .fold(f64::MIN, f64::max);
    for (m, row) in expected.iter().enumerate() {
        for (t, e) in row.as_array().unwrap().iter().enumerate() {
            let e = e.as_f64().unwrap();
            let g = got["data"][m][t].as_f64().unwrap();
            // The case's suggested tolerance: 0.01 dB within 60 dB of the clip max.
            if e >= max - 60.0 {
                assert!((g - e).abs() <= 0.01, "mel {m} frame {t}: {g} vs {e}");
            } else {
                assert!(
                    g < max - 50.0 || (g - e).abs() <= 3.0,
                    "mel {m} frame {t}: {g} vs {e}"
                );
            }
        }
    }
}

#[test]
fn features_bad_inputs_fail_cleanly_without_output() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("out.json");
    let out_arg = output.to_str().unwrap();
    let good_wav = fixtures().join("wav/pcm16_mono_16k.wav");

    let missing = dir.path().join("missing.wav");
    let out = sonotag(&[
        "features",
        "--input",
        missing.to_str().unwrap(),
        "--output",
        out_arg,
    ]);
    assert_fails_with(&out, "missing.wav");

    let not_wav = dir.path().join("notes.wav");
    std::fs::write(&not_wav, "this is text, not RIFF audio").unwrap();
    let out = sonotag(&[
        "features",
        "--input",
        not_wav.to_str().unwrap(),
        "--output",
        out_arg,
    ]);
    assert_fails_with(&out, "notes.wav");

    let truncated = dir.path().join("truncated.wav");
    let bytes = std::fs::read(&good_wav).unwrap();
    std::fs::write(&truncated, &bytes[..30]).unwrap();
    let out = sonotag(&[
        "features",
        "--input",
        truncated.to_str().unwrap(),
        "--output",
        out_arg,
    ]);
    assert_fails_with(&out, "truncated.wav");

    for (name, json) in [
        ("nfft.json", r#"{"n_fft": 256, "win_length": 400}"#),
        ("fmax.json", r#"{"f_max": 9000.0}"#),
    ] {
        let config = dir.path().join(name);
        std::fs::write(&config, json).unwrap();
        let out = sonotag(&[
            "features",
            "--input",
            good_wav.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
            "--output",
            out_arg,
        ]);
        assert_fails_with(&out, name);
    }
    assert!(!output.exists(), "a failed run left an output file");
}

/// Writes a CSV with a header row of label names and one row per sample.
fn write_csv(path: &Path, labels: &[String], rows: &[Vec<String>]) {
    let mut text = labels.join(",");
    text.push('\n');
    for row in rows {
        text.push_str(&row.join(","));
        text.push('\n');
    }
    std::fs::write(path, text).unwrap();
}

fn metrics_case(dir: &Path, name: &str) -> (Value, PathBuf, PathBuf) {
    let case = read_json(&fixtures().join("metrics").join(name));
    let scores: Vec<Vec<String>> = case["inputs"]["y_score"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|v| v.to_string())
                .collect()
        })
        .collect();
    let targets: Vec<Vec<String>> = case["inputs"]["y_true"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|v| v.to_string())
                .collect()
        })
        .collect();
    let labels: Vec<String> = (0..scores[0].len()).map(|i| format!("label{i}")).collect();
    let (s, t) = (dir.join("scores.csv"), dir.join("targets.csv"));
    write_csv(&s, &labels, &scores);
    write_csv(&t, &labels, &targets);
    (case["expected"].clone(), s, t)
}

fn close(got: &Value, expected: &Value, what: &str) {
    match (got.as_f64(), expected.as_f64()) {
        (Some(g), Some(e)) => assert!((g - e).abs() <= 1e-6, "{what}: {g} vs {e}"),
        (None, None) => assert!(
            got.is_null() && expected.is_null(),
            "{what}: {got} vs {expected}"
        ),
        _ => panic!("{what}: {got} vs {expected}"),
    }
}

#[test]
fn metrics_match_scikit_learn_and_torchmetrics() {
    for name in ["multilabel_12x3.json", "multilabel_160x7.json"] {
        let dir = tempfile::tempdir().unwrap();
        let (expected, s, t) = metrics_case(dir.path(), name);
        let out = sonotag(&[
            "metrics",
            "--scores",
            s.to_str().unwrap(),
            "--targets",
            t.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let got: Value = serde_json::from_slice(&out.stdout).unwrap();
        for (i, e) in expected["roc_auc_per_label"]
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
        {
            close(
                &got["roc_auc"]["per_label"][format!("label{i}")],
                e,
                "roc_auc per label",
            );
        }
        close(
            &got["roc_auc"]["macro"],
            &expected["roc_auc_macro_valid_labels"],
            "auc macro",
        );
        close(
            &got["roc_auc"]["micro"],
            &expected["roc_auc_micro"],
            "auc micro",
        );
        close(
            &got["roc_auc"]["weighted"],
            &expected["roc_auc_weighted_valid_labels"],
            "weighted",
        );
        close(
            &got["average_precision"]["macro"],
            &expected["average_precision_macro_valid_labels"],
            "ap macro",
        );
        close(
            &got["average_precision"]["micro"],
            &expected["average_precision_micro"],
            "ap micro",
        );
        close(
            &got["f1"]["macro"],
            &expected["f1_macro_zero_division_0"],
            "f1 macro",
        );
        close(&got["f1"]["micro"], &expected["f1_micro"], "f1 micro");
        close(&got["hamming_loss"], &expected["hamming_loss"], "hamming");
        close(&got["ece"], &expected["ece_l1_15bins"], "ece");
        close(&got["mce"], &expected["mce_max_15bins"], "mce");
        close(&got["brier"], &expected["brier_flat"], "brier");
        assert_eq!(got["roc_auc"]["labels_left_out"], 1);
        assert_eq!(got["average_precision"]["labels_left_out"], 1);
    }
}

#[test]
fn metrics_bad_inputs_name_the_row_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let labels = vec!["a".to_string(), "b".to_string()];
    let s = dir.path().join("s.csv");
    let t = dir.path().join("t.csv");
    let row = |x: &str, y: &str| vec![x.to_string(), y.to_string()];
    write_csv(&t, &labels, &[row("1", "0"), row("0", "1")]);
    let run = || {
        sonotag(&[
            "metrics",
            "--scores",
            s.to_str().unwrap(),
            "--targets",
            t.to_str().unwrap(),
        ])
    };

    write_csv(&s, &labels, &[row("0.9", "0.2"), row("oops", "0.7")]);
    assert_fails_with(&run(), "oops");

    write_csv(&s, &labels, &[row("0.9", "0.2"), row("1.5", "0.7")]);
    assert_fails_with(&run(), "s.csv");
    let ok = sonotag(&[
        "metrics",
        "--scores",
        s.to_str().unwrap(),
        "--targets",
        t.to_str().unwrap(),
        "--logits",
    ]);
    assert!(ok.status.success(), "--logits accepts any real score");

    write_csv(
        &s,
        &["a".to_string(), "c".to_string()],
        &[row("0.9", "0.2"), row("0.1", "0.7")],
    );
    assert_fails_with(&run(), "c");

    write_csv(&s, &labels, &[row("0.9", "0.2")]);
    assert_fails_with(&run(), "row");
}
