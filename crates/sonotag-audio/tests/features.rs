//! The `sonotag features` front end: config handling, resampling and one-line errors. (The
//! JSON output and its atomic write are the facade's, tested in crates/sonotag.)

use std::path::Path;

use sonotag_audio::features::{FeatureSummary, extract_file, load_mel_config};
use sonotag_audio::{AudioError, LogMel, MelConfig, MelExtractor, resample, synth, wav};

/// What the command does before writing: the config file (or the defaults), then extraction.
fn extract(input: &Path, cfg: Option<&Path>) -> Result<(LogMel, FeatureSummary), AudioError> {
    let config = match cfg {
        Some(path) => load_mel_config(path)?,
        None => MelConfig::default(),
    };
    extract_file(input, &config)
}

fn write_wav(path: &Path, sr: u32, x: &[f32]) {
    let file = std::fs::File::create(path).unwrap();
    wav::write_f32(std::io::BufWriter::new(file), sr, x).unwrap();
}

#[test]
fn extracts_the_same_as_direct_extraction() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.wav");
    let x = synth::tones_and_noise(1.3, 16_000, 1);
    write_wav(&input, 16_000, &x);
    let (got, summary) = extract(&input, None).unwrap();
    assert_eq!((summary.n_mels, summary.n_frames), (64, 1 + 20_800 / 160));
    assert_eq!((got.n_mels(), got.n_frames()), (64, summary.n_frames));
    let want = MelExtractor::new(&MelConfig::default())
        .unwrap()
        .extract(&x)
        .unwrap();
    assert_eq!(got, want);
}

#[test]
fn config_file_fields_default_and_other_rates_are_resampled() {
    let dir = tempfile::tempdir().unwrap();
    let (input, cfg) = (dir.path().join("in44.wav"), dir.path().join("mel.json"));
    let x = synth::tones_and_noise(0.5, 44_100, 2);
    write_wav(&input, 44_100, &x);
    std::fs::write(&cfg, r#"{"n_mels": 40, "top_db": 80.0}"#).unwrap();
    let (got, summary) = extract(&input, Some(&cfg)).unwrap();
    let y = resample(&x, 44_100, 16_000).unwrap();
    assert_eq!(y.len(), 8000);
    assert_eq!(
        (summary.n_mels, summary.n_frames, summary.input_sample_rate),
        (40, 51, 44_100)
    );
    let config = load_mel_config(&cfg).unwrap();
    let want = MelExtractor::new(&config).unwrap().extract(&y).unwrap();
    assert_eq!(got, want);
}

/// Extracts expecting an error; checks that it is one line naming `names`.
fn expect_error(input: &Path, cfg: Option<&Path>, names: &str, says: &str) -> AudioError {
    let err = extract(input, cfg).unwrap_err();
    let text = err.to_string();
    assert!(!text.contains('\n'), "multi-line error: {text}");
    assert!(text.contains(names), "{text:?} should name {names}");
    assert!(text.contains(says), "{text:?} should say {says:?}");
    err
}

#[test]
fn bad_inputs_and_configs_fail_cleanly_without_output() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = d.join("good.wav");
    write_wav(&good, 16_000, &synth::tones_and_noise(0.3, 16_000, 3));

    expect_error(&d.join("missing.wav"), None, "missing.wav", "no such file");
    let text = d.join("text.wav");
    std::fs::write(&text, "not audio").unwrap();
    expect_error(
        &text,
        None,
        "text.wav",
        "the name says WAV (.wav) but the content looks like text",
    );
    let twelve = d.join("twelve.wav");
    let mut bytes = Vec::new();
    bytes.extend_from_slice(b"RIFF\x2c\0\0\0WAVEfmt \x10\0\0\0\x01\0\x01\0\x80\x3e\0\0\0\x7d\0\0\x02\0\x0c\0data\x08\0\0\0");
    bytes.extend_from_slice(&[0; 8]);
    std::fs::write(&twelve, &bytes).unwrap();
    expect_error(&twelve, None, "twelve.wav", "unsupported encoding: 12-bit");
    let cut = d.join("cut.wav");
    let full = std::fs::read(&good).unwrap();
    std::fs::write(&cut, &full[..full.len() / 2]).unwrap();
    expect_error(&cut, None, "cut.wav", "truncated data");

    let cfg = d.join("mel.json");
    std::fs::write(&cfg, r#"{"n_fft": 256}"#).unwrap();
    let err = expect_error(
        &good,
        Some(&cfg),
        "mel.json",
        "n_fft (256) must be >= win_length (400)",
    );
    assert!(matches!(err, AudioError::Config { .. }));
    std::fs::write(&cfg, r#"{"f_max": 12000}"#).unwrap();
    expect_error(&good, Some(&cfg), "mel.json", "Nyquist");
    std::fs::write(&cfg, "{\n  \"n_fft\": 512,\n  \"hopp\": 3\n}").unwrap();
    let err = expect_error(&good, Some(&cfg), "mel.json", "unknown field `hopp`");
    assert!(err.to_string().contains("line 3"), "{err}");
    std::fs::write(&cfg, r#"{"pad_mode": "edge"}"#).unwrap();
    expect_error(&good, Some(&cfg), "mel.json", "unknown variant `edge`");
    expect_error(
        &good,
        Some(&d.join("nocfg.json")),
        "nocfg.json",
        "no such file",
    );
    // center = false and a clip shorter than n_fft: librosa's refusal.
    let tiny = d.join("tiny.wav");
    write_wav(&tiny, 16_000, &[0.1; 100]);
    std::fs::write(&cfg, r#"{"center": false}"#).unwrap();
    expect_error(&tiny, Some(&cfg), "tiny.wav", "shorter than n_fft");
}
