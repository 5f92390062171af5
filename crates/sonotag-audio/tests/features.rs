//! The `sonotag features` library entry point: output format, config handling, resampling,
//! atomic output and one-line errors.

use std::path::Path;

use serde_json::Value;
use sonotag_audio::features::{extract_file_to_json, load_mel_config};
use sonotag_audio::{AudioError, LogMel, MelConfig, MelExtractor, resample, synth, wav};

fn write_wav(path: &Path, sr: u32, x: &[f32]) {
    let file = std::fs::File::create(path).unwrap();
    wav::write_f32(std::io::BufWriter::new(file), sr, x).unwrap();
}

#[test]
fn writes_mel_major_json_equal_to_direct_extraction() {
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("in.wav"), dir.path().join("out.json"));
    let x = synth::tones_and_noise(1.3, 16_000, 1);
    write_wav(&input, 16_000, &x);
    let summary = extract_file_to_json(&input, None, &output).unwrap();
    assert_eq!((summary.n_mels, summary.n_frames), (64, 1 + 20_800 / 160));
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&output).unwrap()).unwrap();
    assert_eq!(json["n_mels"], 64);
    assert_eq!(json["n_frames"], summary.n_frames);
    let rows = json["data"].as_array().unwrap();
    assert_eq!(rows.len(), 64);
    assert!(
        rows.iter()
            .all(|r| r.as_array().unwrap().len() == summary.n_frames)
    );
    let want = MelExtractor::new(&MelConfig::default())
        .unwrap()
        .extract(&x)
        .unwrap();
    let got: LogMel = serde_json::from_value(json).unwrap();
    assert_eq!(got, want);
    // No temporary files left behind.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn config_file_fields_default_and_other_rates_are_resampled() {
    let dir = tempfile::tempdir().unwrap();
    let (input, cfg, output) = (
        dir.path().join("in44.wav"),
        dir.path().join("mel.json"),
        dir.path().join("out.json"),
    );
    let x = synth::tones_and_noise(0.5, 44_100, 2);
    write_wav(&input, 44_100, &x);
    std::fs::write(&cfg, r#"{"n_mels": 40, "top_db": 80.0}"#).unwrap();
    let summary = extract_file_to_json(&input, Some(&cfg), &output).unwrap();
    let y = resample(&x, 44_100, 16_000).unwrap();
    assert_eq!(y.len(), 8000);
    assert_eq!(
        (summary.n_mels, summary.n_frames, summary.input_sample_rate),
        (40, 51, 44_100)
    );
    let config = load_mel_config(&cfg).unwrap();
    let want = MelExtractor::new(&config).unwrap().extract(&y).unwrap();
    let got: LogMel = serde_json::from_str(&std::fs::read_to_string(&output).unwrap()).unwrap();
    assert_eq!(got, want);
}

/// Runs the command expecting an error; checks that it is one line naming `names` and that
/// the output file is untouched.
fn expect_error(
    input: &Path,
    cfg: Option<&Path>,
    output: &Path,
    names: &str,
    says: &str,
) -> AudioError {
    let before = std::fs::read(output).ok();
    let err = extract_file_to_json(input, cfg, output).unwrap_err();
    let text = err.to_string();
    assert!(!text.contains('\n'), "multi-line error: {text}");
    assert!(text.contains(names), "{text:?} should name {names}");
    assert!(text.contains(says), "{text:?} should say {says:?}");
    assert_eq!(
        std::fs::read(output).ok(),
        before,
        "output changed on error"
    );
    err
}

#[test]
fn bad_inputs_and_configs_fail_cleanly_without_output() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = d.join("out.json");
    let good = d.join("good.wav");
    write_wav(&good, 16_000, &synth::tones_and_noise(0.3, 16_000, 3));

    expect_error(
        &d.join("missing.wav"),
        None,
        &out,
        "missing.wav",
        "no such file",
    );
    let text = d.join("text.wav");
    std::fs::write(&text, "not audio").unwrap();
    expect_error(&text, None, &out, "text.wav", "not a WAV file");
    let twelve = d.join("twelve.wav");
    let mut bytes = Vec::new();
    bytes.extend_from_slice(b"RIFF\x2c\0\0\0WAVEfmt \x10\0\0\0\x01\0\x01\0\x80\x3e\0\0\0\x7d\0\0\x02\0\x0c\0data\x08\0\0\0");
    bytes.extend_from_slice(&[0; 8]);
    std::fs::write(&twelve, &bytes).unwrap();
    expect_error(
        &twelve,
        None,
        &out,
        "twelve.wav",
        "unsupported encoding: 12-bit",
    );
    let cut = d.join("cut.wav");
    let full = std::fs::read(&good).unwrap();
    std::fs::write(&cut, &full[..full.len() / 2]).unwrap();
    expect_error(&cut, None, &out, "cut.wav", "truncated data");

    let cfg = d.join("mel.json");
    std::fs::write(&cfg, r#"{"n_fft": 256}"#).unwrap();
    let err = expect_error(
        &good,
        Some(&cfg),
        &out,
        "mel.json",
        "n_fft (256) must be >= win_length (400)",
    );
    assert!(matches!(err, AudioError::Config { .. }));
    std::fs::write(&cfg, r#"{"f_max": 12000}"#).unwrap();
    expect_error(&good, Some(&cfg), &out, "mel.json", "Nyquist");
    std::fs::write(&cfg, "{\n  \"n_fft\": 512,\n  \"hopp\": 3\n}").unwrap();
    let err = expect_error(&good, Some(&cfg), &out, "mel.json", "unknown field `hopp`");
    assert!(err.to_string().contains("line 3"), "{err}");
    std::fs::write(&cfg, r#"{"pad_mode": "edge"}"#).unwrap();
    expect_error(
        &good,
        Some(&cfg),
        &out,
        "mel.json",
        "unknown variant `edge`",
    );
    expect_error(
        &good,
        Some(&d.join("nocfg.json")),
        &out,
        "nocfg.json",
        "no such file",
    );
    // center = false and a clip shorter than n_fft: librosa's refusal.
    let tiny = d.join("tiny.wav");
    write_wav(&tiny, 16_000, &[0.1; 100]);
    std::fs::write(&cfg, r#"{"center": false}"#).unwrap();
    expect_error(&tiny, Some(&cfg), &out, "tiny.wav", "shorter than n_fft");

    // A previous output survives a failed run byte for byte.
    std::fs::write(&out, "previous").unwrap();
    expect_error(&text, None, &out, "text.wav", "not a WAV file");
    // Writing into a missing folder is a write error naming the output.
    let nowhere = d.join("no/such/dir/out.json");
    let err = extract_file_to_json(&good, None, &nowhere).unwrap_err();
    assert!(
        matches!(err, AudioError::Write { .. }) && err.to_string().contains("out.json"),
        "{err}"
    );
}
