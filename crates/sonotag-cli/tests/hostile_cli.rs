//! The cases of issue 14, run through the `sonotag` binary as the review ran them: each must
//! end with one error line naming the file, the value and the limit, a non-zero exit and no
//! panic, and leave no output file behind.

use std::path::Path;
use std::process::{Command, Output};

use sonotag::synthetic::SyntheticConfig;

fn sonotag(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sonotag"))
        .args(args)
        .output()
        .unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn assert_one_line_error(out: &Output, parts: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    for part in parts {
        assert!(stderr.contains(part), "`{stderr}` lacks `{part}`");
    }
}

/// A 16-bit mono WAV declaring `rate` Hz with `n` zero samples.
fn wav(rate: u32, n: usize) -> Vec<u8> {
    let data = (2 * n) as u32;
    let mut b = b"RIFF".to_vec();
    b.extend_from_slice(&(36 + data).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    for v in [1u16, 1] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    b.extend_from_slice(&rate.to_le_bytes());
    b.extend_from_slice(&rate.wrapping_mul(2).to_le_bytes());
    for v in [2u16, 16] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    b.extend_from_slice(b"data");
    b.extend_from_slice(&data.to_le_bytes());
    b.resize(b.len() + 2 * n, 0);
    b
}

#[test]
fn hostile_rates_and_mel_configs_are_one_line_before_anything_is_allocated() {
    let dir = tempfile::tempdir().unwrap();
    let out_json = dir.path().join("out.json");
    let fast = dir.path().join("fast.wav");
    std::fs::write(&fast, wav(4_294_967_291, 8)).unwrap();
    assert_eq!(std::fs::metadata(&fast).unwrap().len(), 60);
    let slow = dir.path().join("slow.wav");
    std::fs::write(&slow, wav(1, 100_000)).unwrap();
    for (input, limit) in [(&fast, "max_sample_rate"), (&slow, "min_sample_rate")] {
        let out = sonotag(&["features", "--input", s(input), "--output", s(&out_json)]);
        assert_one_line_error(&out, &[s(input), limit]);
        assert!(!out_json.exists());
    }
    let ok = dir.path().join("ok.wav");
    std::fs::write(&ok, wav(16_000, 16_000)).unwrap();
    for (json, field, limit) in [
        (r#"{"n_fft":1073741824}"#, "n_fft", "max_n_fft"),
        (r#"{"n_mels":18446744073709551615}"#, "n_mels", "max_n_mels"),
        (r#"{"n_fft":18446744073709551615}"#, "n_fft", "max_n_fft"),
    ] {
        let config = dir.path().join("mel.json");
        std::fs::write(&config, json).unwrap();
        let out = sonotag(&[
            "features",
            "--input",
            s(&ok),
            "--config",
            s(&config),
            "--output",
            s(&out_json),
        ]);
        assert_one_line_error(&out, &["mel.json", field, limit]);
        assert!(!out_json.exists());
    }
}

#[test]
fn edited_model_cards_and_hostile_wavs_are_refused_by_predict() {
    let dir = tempfile::tempdir().unwrap();
    let train = SyntheticConfig {
        n_clips: 12,
        seed: 5,
        ..Default::default()
    }
    .write_to_folder(&dir.path().join("train"))
    .unwrap();
    let model = dir.path().join("model");
    let out = sonotag(
        &["train", "--manifest", s(&train), "--out", s(&model)]
            .into_iter()
            .chain(["--model", "tiny", "--epochs", "1"])
            .collect::<Vec<_>>(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fast = dir.path().join("fast.wav");
    std::fs::write(&fast, wav(4_294_967_291, 8)).unwrap();
    let out = sonotag(&["predict", "--model", s(&model), s(&fast)]);
    assert_one_line_error(&out, &["fast.wav", "max_sample_rate"]);

    let card_path = model.join("sonotag.json");
    let card: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&card_path).unwrap()).unwrap();
    let clip = train.parent().unwrap().join("synthetic-000000.wav");
    for (pointer, value, limit) in [
        (
            "/features/segment/window_s",
            serde_json::json!(1e10),
            "max_window_samples",
        ),
        (
            "/features/segment/hop_s",
            serde_json::json!(1.0 / 16_000.0),
            "max_overlap",
        ),
        ("/model/widths/0", serde_json::json!(200_000), "max_width"),
    ] {
        let mut edited = card.clone();
        *edited.pointer_mut(pointer).unwrap() = value;
        std::fs::write(&card_path, edited.to_string()).unwrap();
        let out = sonotag(&["predict", "--model", s(&model), s(&clip)]);
        assert_one_line_error(&out, &["sonotag.json", limit]);
    }
}
