//! The facade's side of issue 14: rates, sizes and counts reaching a `Tagger` through audio
//! files, clips, settings and `Limits` (model folders and checkpoints: `hostile_models`).

use std::path::Path;

use sonotag::audio::{AudioError, DecodeError, SegmentConfig};
use sonotag::dataset::{Clip, Dataset};
use sonotag::synthetic::SYNTHETIC_LABELS;
use sonotag::{Error, Limits, ModelSpec, Tagger};

use crate::common::{clips, tiny};

/// A 16-bit mono WAV header declaring `rate` Hz followed by `n` zero samples.
fn wav(rate: u32, n: usize) -> Vec<u8> {
    let data = (2 * n) as u32;
    let mut b = Vec::new();
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36 + data).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&rate.to_le_bytes());
    b.extend_from_slice(&rate.wrapping_mul(2).to_le_bytes());
    b.extend_from_slice(&2u16.to_le_bytes());
    b.extend_from_slice(&16u16.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&data.to_le_bytes());
    b.resize(b.len() + 2 * n, 0);
    b
}

fn assert_line(err: &Error, parts: &[&str]) {
    let message = err.to_string();
    assert_eq!(message.lines().count(), 1, "{message}");
    for part in parts {
        assert!(message.contains(part), "`{message}` lacks `{part}`");
    }
}

#[test]
fn predicting_a_file_with_a_hostile_rate_names_the_file_and_the_limit() {
    let (tagger, _) = tiny().train(&Dataset::from_clips(clips())).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (rate, n, setting) in [
        (4_294_967_291u32, 8, "max_sample_rate"),
        (1, 100_000, "min_sample_rate"),
    ] {
        let path = dir.path().join(format!("{rate}.wav"));
        std::fs::write(&path, wav(rate, n)).unwrap();
        for err in [
            tagger.predict_file(&path).err().unwrap(),
            tagger.predict_files(&[&path]).remove(0).err().unwrap(),
        ] {
            // Refused when the file is opened (its headers read, no audio decoded).
            let Error::Audio(AudioError::Decode {
                path: p,
                source: DecodeError::Limit(limit),
            }) = &err
            else {
                panic!("{rate} Hz: {err:?}");
            };
            assert_eq!((p.as_path(), limit.setting), (path.as_path(), setting));
            assert_line(&err, &[&path.display().to_string(), setting]);
        }
    }
}

#[test]
fn a_training_clip_at_a_hostile_rate_is_named_before_features_are_made() {
    let mut data = clips();
    let (samples, _) = data[3].load().unwrap();
    let id = data[3].id.clone();
    data[3] = Clip::from_samples(&id, samples.into_owned(), 1, data[3].labels.clone());
    let err = tiny().train(&Dataset::from_clips(data)).unwrap_err();
    assert!(matches!(err, Error::InvalidData { .. }), "{err:?}");
    assert_line(&err, &[&id, "1 Hz", "min_sample_rate"]);
}

#[test]
fn settings_beyond_the_limits_are_refused_and_raised_limits_admit_them() {
    let data = Dataset::from_clips(clips());
    // A hop of one sample: a 2 s clip took 1 GB.
    let hop = SegmentConfig {
        hop_s: Some(1.0 / 16_000.0),
        ..SegmentConfig::default()
    };
    let err = tiny().segment(hop.clone()).train(&data).unwrap_err();
    let Error::FeatureConfig(config) = &err else {
        panic!("{err:?}");
    };
    assert_eq!(
        config.limit.as_ref().map(|l| l.setting),
        Some("max_overlap")
    );
    assert_line(&err, &["hop_s", "max_overlap"]);
    // Batch size and labels, with the field, the value and the bound.
    let err = tiny().batch_size(1 << 20).train(&data).unwrap_err();
    assert!(
        matches!(&err, Error::Limit { field, .. } if field == "batch_size"),
        "{err:?}"
    );
    assert_line(&err, &["1048576", "65536", "Limits::max_batch_size"]);
    let err = tiny().epochs(usize::MAX).train(&data).unwrap_err();
    assert_line(
        &err,
        &["epochs", "18446744073709551615", "Limits::max_epochs"],
    );
    let mut few = Limits::default();
    few.max_labels = 2;
    let err = tiny().limits(few).train(&data).unwrap_err();
    assert_line(&err, &["labels", "Limits::max_labels"]);
    // Raised limits admit a network wider than the defaults allow.
    let wide = sonotag::nn::CnnConfig::new(vec![9_000], SYNTHETIC_LABELS.len());
    let err = tiny()
        .model(ModelSpec::Custom(wide.clone()))
        .train(&data)
        .unwrap_err();
    assert_line(&err, &["widths[0]", "9000", "NetLimits::max_width"]);
    let mut raised = Limits::default();
    raised.net.max_width = 10_000;
    raised.audio.max_overlap = 32;
    let overlap = SegmentConfig {
        hop_s: Some(1.0 / 32.0),
        ..SegmentConfig::default()
    };
    tiny().segment(overlap).limits(raised).train(&data).unwrap();
}

#[test]
fn a_tagger_loaded_with_raised_limits_predicts_what_the_defaults_refuse() {
    let mut raised = Limits::default();
    raised.audio.max_overlap = 32;
    let overlap = SegmentConfig {
        hop_s: Some(1.0 / 32.0),
        ..SegmentConfig::default()
    };
    let (tagger, _) = tiny()
        .segment(overlap)
        .limits(raised.clone())
        .train(&Dataset::from_clips(clips()))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    tagger.save(dir.path()).unwrap();
    let err = Tagger::load(dir.path()).err().unwrap();
    assert!(matches!(err, Error::Model { .. }), "{err:?}");
    assert_line(&err, &["max_overlap"]);
    let device = sonotag::backend::default_device();
    let loaded = Tagger::load_with(dir.path(), &device, &raised).unwrap();
    let p = loaded.predict_samples(&[0.01; 32_000], 16_000).unwrap();
    assert_eq!(p.segments.len(), 33);
    assert!(Path::new(dir.path()).join("sonotag.json").exists());
}
