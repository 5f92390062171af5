//! `sonotag::features::extract_to_json`: the JSON contract of `sonotag features` and its
//! atomic output (0644, no temporary file left, the previous output unchanged on error).

use std::path::Path;

use crate::common::names;
use serde_json::Value;
use sonotag::Error;
use sonotag::audio::{AudioError, LogMel, MelConfig, MelExtractor, synth, wav};
use sonotag::features::extract_to_json;

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
    let summary = extract_to_json(&input, None, &output).unwrap();
    assert_eq!((summary.n_mels, summary.n_frames), (64, 1 + 20_800 / 160));
    let text = std::fs::read_to_string(&output).unwrap();
    let want = MelExtractor::new(&MelConfig::default())
        .unwrap()
        .extract(&x)
        .unwrap();
    // Byte for byte: serde's compact JSON of LogMel and one line end.
    assert_eq!(text, format!("{}\n", serde_json::to_string(&want).unwrap()));
    let json: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["n_mels"], 64);
    assert_eq!(json["n_frames"], summary.n_frames);
    let rows = json["data"].as_array().unwrap();
    assert_eq!(rows.len(), 64);
    assert!(
        rows.iter()
            .all(|r| r.as_array().unwrap().len() == summary.n_frames)
    );
    let got: LogMel = serde_json::from_value(json).unwrap();
    assert_eq!(got, want);
    assert_eq!(names(dir.path()), ["in.wav", "out.json"]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&output).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644, "{mode:o}");
    }
}

#[test]
fn errors_leave_the_previous_output_and_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = d.join("out.json");
    let good = d.join("good.wav");
    write_wav(&good, 16_000, &synth::tones_and_noise(0.3, 16_000, 3));
    let text = d.join("text.wav");
    std::fs::write(&text, "not audio").unwrap();
    let cfg = d.join("mel.json");
    std::fs::write(&cfg, r#"{"n_fft": 256}"#).unwrap();
    std::fs::write(&out, "previous").unwrap();

    let err = extract_to_json(&text, None, &out).unwrap_err();
    assert!(matches!(err, Error::Audio(_)), "{err}");
    assert!(err.to_string().contains("text.wav"), "{err}");
    let err = extract_to_json(&good, Some(&cfg), &out).unwrap_err();
    assert!(
        matches!(err, Error::Audio(AudioError::Config { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("mel.json"), "{err}");
    assert_eq!(std::fs::read(&out).unwrap(), b"previous");
    assert_eq!(names(d), ["good.wav", "mel.json", "out.json", "text.wav"]);

    // The output path is a folder, or in a missing folder: an I/O error naming the output.
    let folder = d.join("folder.json");
    std::fs::create_dir(&folder).unwrap();
    let err = extract_to_json(&good, None, &folder).unwrap_err();
    assert!(
        matches!(err, Error::Io { .. }) && err.to_string().contains("folder.json"),
        "{err}"
    );
    let nowhere = d.join("no/such/dir/out.json");
    let err = extract_to_json(&good, None, &nowhere).unwrap_err();
    assert!(
        matches!(err, Error::Io { .. }) && err.to_string().contains("out.json"),
        "{err}"
    );
    assert_eq!(names(&folder), Vec::<String>::new());
}

#[test]
fn a_successful_run_replaces_the_previous_output() {
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("in.wav"), dir.path().join("out.json"));
    write_wav(&input, 16_000, &synth::tones_and_noise(0.2, 16_000, 4));
    std::fs::write(&output, "previous").unwrap();
    extract_to_json(&input, None, &output).unwrap();
    assert!(
        std::fs::read_to_string(&output)
            .unwrap()
            .starts_with("{\"n_mels\":64,")
    );
    assert_eq!(names(dir.path()), ["in.wav", "out.json"]);
}
