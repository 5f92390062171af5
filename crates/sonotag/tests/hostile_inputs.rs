//! The catalogue of bad inputs a user can hand the facade: manifests, configuration and model
//! directories. Each case expects a specific error variant and a message naming the file (and
//! the line or field where there is one). WAV files are catalogued in sonotag-audio's
//! tests/hostile_wav.rs.

use std::path::{Path, PathBuf};

use sonotag::audio::{AudioError, MelConfig, SegmentConfig};
use sonotag::dataset::{Dataset, DatasetError};
use sonotag::nn::CnnConfig;
use sonotag::synthetic::{SYNTHETIC_LABELS, SyntheticConfig};
use sonotag::{Error, ModelFault, ModelSpec, Tagger};

use crate::common::{few_clips, tiny};

fn write_wav(path: &Path) {
    let clip = SyntheticConfig {
        n_clips: 1,
        ..Default::default()
    }
    .clip(0);
    let mut bytes = std::io::Cursor::new(Vec::new());
    sonotag::audio::wav::write_pcm16(&mut bytes, 16_000, &clip.load().unwrap().0).unwrap();
    std::fs::write(path, bytes.into_inner()).unwrap();
}

/// A folder with `a.wav`, `b, c.wav` and a manifest with `text` as its content.
fn manifest_dir(text: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    write_wav(&dir.path().join("a.wav"));
    write_wav(&dir.path().join("b, c.wav"));
    let manifest = dir.path().join("train.csv");
    std::fs::write(&manifest, text).unwrap();
    (dir, manifest)
}

/// The manifest error at `line`, checking the message names the manifest and the line.
fn manifest_error(text: &[u8], line: u64) -> String {
    let (_dir, manifest) = manifest_dir(text);
    let err = Dataset::from_manifest(&manifest).unwrap_err();
    match &err {
        Error::Dataset(DatasetError::Manifest { path, line: l, .. }) => {
            assert_eq!(path, &manifest);
            assert_eq!(*l, line, "{err}");
        }
        other => panic!("expected a manifest error, got {other:?}"),
    }
    let message = err.to_string();
    assert!(message.contains("train.csv"), "{message}");
    assert!(message.contains(&format!("line {line}")), "{message}");
    message
}

#[test]
fn manifest_missing_file_names_the_path() {
    let err = Dataset::from_manifest(Path::new("/no/such/manifest.csv")).unwrap_err();
    assert!(
        matches!(&err, Error::Dataset(DatasetError::Io { path, .. }) if path.ends_with("manifest.csv")),
        "{err:?}"
    );
    assert!(err.to_string().contains("/no/such/manifest.csv"), "{err}");
}

#[test]
fn manifest_bom_crlf_and_quoted_commas_are_accepted() {
    let text = "\u{feff}path,labels\r\na.wav,tone;click\r\n\"b, c.wav\",\r\n";
    let (_dir, manifest) = manifest_dir(text.as_bytes());
    let data = Dataset::from_manifest(&manifest).unwrap();
    assert_eq!(data.len(), 2);
    assert_eq!(data.clips[0].labels, ["tone", "click"]);
    assert!(data.clips[1].labels.is_empty());
    assert!(
        data.clips[1].id.ends_with("b, c.wav"),
        "{}",
        data.clips[1].id
    );
}

#[test]
fn manifest_empty_label_duplicates_escapes_and_emptiness_name_the_line() {
    let message = manifest_error(b"path,labels\na.wav,tone;;click\n", 2);
    assert!(message.contains("empty label"), "{message}");
    let message = manifest_error(b"path,labels\na.wav,tone\nb.wav,click\na.wav,tone\n", 4);
    assert!(message.contains("listed twice"), "{message}");
    let message = manifest_error(b"path,labels\n../outside.wav,tone\n", 2);
    assert!(
        message.contains("outside") || message.contains("leave"),
        "{message}"
    );
    manifest_error(b"", 1);
    manifest_error(b"path,labels\n", 1);
}

#[test]
fn manifest_missing_audio_names_manifest_line_and_file() {
    let (_dir, manifest) = manifest_dir(b"path,labels\na.wav,tone\nmissing.wav,click\n");
    let err = Dataset::from_manifest(&manifest).unwrap_err();
    match &err {
        Error::Dataset(DatasetError::Audio {
            line,
            source: AudioError::NotFound { path },
            ..
        }) => {
            assert_eq!(*line, 3);
            assert!(path.ends_with("missing.wav"));
        }
        other => panic!("expected a missing-audio error, got {other:?}"),
    }
    let message = err.to_string();
    for needle in ["train.csv", "line 3", "missing.wav"] {
        assert!(message.contains(needle), "`{message}` lacks `{needle}`");
    }
}

#[test]
fn manifest_unknown_label_is_named() {
    let (_dir, manifest) = manifest_dir(b"path,labels\na.wav,tone\n\"b, c.wav\",owl\n");
    let data = Dataset::from_manifest(&manifest).unwrap();
    let err = Tagger::builder()
        .labels(SYNTHETIC_LABELS)
        .train(&data)
        .unwrap_err();
    assert!(matches!(err, Error::Config { .. }), "{err:?}");
    assert!(err.to_string().contains("owl"), "{err}");
}

#[test]
fn impossible_mel_settings_are_feature_config_errors() {
    let data = few_clips();
    for (mel, needle) in [
        (
            MelConfig {
                n_mels: 0,
                ..MelConfig::default()
            },
            "n_mels",
        ),
        (
            MelConfig {
                f_max: Some(12_000.0),
                ..MelConfig::default()
            },
            "f_max",
        ),
        (
            MelConfig {
                hop_length: 0,
                ..MelConfig::default()
            },
            "hop_length",
        ),
    ] {
        let err = tiny().mel(mel).train(&data).unwrap_err();
        assert!(matches!(err, Error::FeatureConfig(_)), "{err:?}");
        assert!(err.to_string().contains(needle), "`{err}` lacks `{needle}`");
    }
}

#[test]
fn a_window_shorter_than_one_frame_is_refused() {
    let err = tiny()
        .segment(SegmentConfig {
            window_s: 0.001,
            hop_s: None,
            min_residual_s: 0.0,
            ..SegmentConfig::default()
        })
        .train(&few_clips())
        .unwrap_err();
    assert!(
        matches!(&err, Error::Config { field, .. } if *field == "segment.window_s"),
        "{err:?}"
    );
    assert!(err.to_string().contains("shorter than one frame"), "{err}");
}

#[test]
fn zero_epochs_zero_batch_and_too_many_labels_name_the_field() {
    let data = few_clips();
    for (builder, field) in [
        (tiny().epochs(0), "epochs"),
        (tiny().batch_size(0), "batch_size"),
        (
            tiny().model(ModelSpec::Custom(CnnConfig::new(vec![4], 3))),
            "model",
        ),
    ] {
        let err = builder.train(&data).unwrap_err();
        assert!(
            matches!(&err, Error::Config { field: f, .. } if *f == field),
            "{field}: {err:?}"
        );
        assert!(err.to_string().contains(field), "{err}");
    }
}

#[test]
fn damaged_model_directories_give_their_fault() {
    let (tagger, _) = tiny().train(&few_clips()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let fresh = |name: &str| {
        let d = dir.path().join(name);
        tagger.save(&d).unwrap();
        d
    };
    let expect = |d: &Path, kind: ModelFault, needle: &str| {
        let err = Tagger::load(d).unwrap_err();
        match &err {
            Error::Model { kind: k, path, .. } => {
                assert_eq!(*k, kind, "{err}");
                assert!(path.starts_with(d), "{err}");
            }
            other => panic!("expected a model error, got {other:?}"),
        }
        let message = err.to_string();
        assert!(message.contains(&d.display().to_string()), "{message}");
        assert!(message.contains(needle), "`{message}` lacks `{needle}`");
    };
    expect(
        &dir.path().join("missing"),
        ModelFault::Missing,
        "no such folder",
    );

    let d = fresh("noweights");
    std::fs::remove_file(sonotag::persist::weights_path(&d).unwrap()).unwrap();
    expect(&d, ModelFault::WeightsMissing, "weights");

    let d = fresh("truncated");
    let w = sonotag::persist::weights_path(&d).unwrap();
    let bytes = std::fs::read(&w).unwrap();
    std::fs::write(&w, &bytes[..bytes.len() / 2]).unwrap();
    expect(&d, ModelFault::WeightsTruncated, "truncated");

    let d = fresh("altered");
    let w = sonotag::persist::weights_path(&d).unwrap();
    let mut bytes = std::fs::read(&w).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x55;
    std::fs::write(&w, &bytes).unwrap();
    expect(&d, ModelFault::WeightsCorrupt, "SHA-256");

    let card = std::fs::read_to_string(fresh("card").join("sonotag.json")).unwrap();
    let d = fresh("version");
    std::fs::write(
        d.join("sonotag.json"),
        card.replacen("\"format_version\": 1", "\"format_version\": 2", 1),
    )
    .unwrap();
    expect(&d, ModelFault::UnsupportedVersion, "format version 2");

    let d = fresh("json");
    std::fs::write(d.join("sonotag.json"), "{ \"format_version\": 1, ").unwrap();
    expect(&d, ModelFault::InvalidJson, "line 1");

    let d = fresh("labels");
    let mut json: serde_json::Value = serde_json::from_str(&card).unwrap();
    json["labels"].as_array_mut().unwrap().push("owl".into());
    std::fs::write(d.join("sonotag.json"), json.to_string()).unwrap();
    expect(&d, ModelFault::Inconsistent, "labels");
}
