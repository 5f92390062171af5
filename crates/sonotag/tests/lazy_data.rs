//! Datasets read from files: clips are decoded when training or evaluation uses them, and the
//! result is the same as with the same clips held in memory.

use std::sync::{Arc, Mutex};

use sonotag::dataset::{ClipAudio, Dataset};
use sonotag::nn::{CnnConfig, HeadConfig, HeadPool};
use sonotag::synthetic::{SYNTHETIC_LABELS, SyntheticConfig};
use sonotag::{ModelSpec, Tagger, TaggerBuilder, TrainEvent};

/// `n` synthetic one-second clips written as WAV files with a manifest; returns the folder
/// guard and the manifest's path.
fn written(n: usize, seed: u64) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let config = SyntheticConfig {
        n_clips: n,
        seed,
        ..Default::default()
    };
    let manifest = config.write_to_folder(dir.path()).unwrap();
    (dir, manifest)
}

fn builder() -> TaggerBuilder {
    let network = CnnConfig::new(vec![8, 16], SYNTHETIC_LABELS.len())
        .with_head(HeadConfig::new().with_pool(HeadPool::MeanMaxTime));
    Tagger::builder()
        .labels(SYNTHETIC_LABELS)
        .model(ModelSpec::Custom(network))
        .epochs(1)
        .learning_rate(5e-3)
        .seed(4)
}

/// The losses of each epoch and the validation metrics of a run.
fn outcome(builder: TaggerBuilder, data: &Dataset) -> (Vec<(f64, f64)>, Option<f64>) {
    let (_, report) = builder.train(data).unwrap();
    let losses = report
        .summary
        .history
        .iter()
        .map(|m| (m.train_loss, m.val_loss))
        .collect();
    (losses, report.validation.calibrated.roc_auc.macro_average)
}

#[test]
fn a_manifest_lists_files_and_trains_like_the_same_clips_in_memory() {
    let (_dir, manifest) = written(40, 21);
    let files = Dataset::from_manifest(&manifest).unwrap();
    assert!(
        files
            .clips
            .iter()
            .all(|c| matches!(c.audio, ClipAudio::File(_)))
    );
    let mut loaded = files.clone();
    loaded.load_audio().unwrap();
    assert!(
        loaded
            .clips
            .iter()
            .all(|c| matches!(c.audio, ClipAudio::Samples { .. }))
    );
    let in_memory = outcome(builder().feature_memory_limit(usize::MAX), &loaded);
    // About 4 one-second segments fit in 100 KB: training and validation features spill.
    assert_eq!(
        outcome(builder().feature_memory_limit(100_000), &files),
        in_memory
    );
    assert_eq!(outcome(builder(), &files), in_memory);
    let (tagger, _) = builder().train(&files).unwrap();
    assert_eq!(
        tagger.evaluate(&files).unwrap(),
        tagger.evaluate(&loaded).unwrap()
    );
}

#[test]
fn feature_events_count_every_clip_and_its_audio() {
    let (_dir, manifest) = written(30, 22);
    let files = Dataset::from_manifest(&manifest).unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    builder()
        .on_event(move |event| {
            if let TrainEvent::Features {
                files_done,
                files_total,
                audio_seconds_done,
                ..
            } = event
            {
                sink.lock()
                    .unwrap()
                    .push((*files_done, *files_total, *audio_seconds_done));
            }
        })
        .train(&files)
        .unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 30, "one event per clip");
    for (i, &(done, total, seconds)) in seen.iter().enumerate() {
        assert_eq!((done, total), (i + 1, 30));
        assert!((seconds - (i + 1) as f64).abs() < 1e-6, "{seconds}");
    }
}

#[test]
fn an_undecodable_file_is_named_with_its_manifest_line_when_used() {
    let (dir, manifest) = written(20, 23);
    // Row 7 of the manifest (line 8, after the header) is the file of clip 6.
    std::fs::write(dir.path().join("synthetic-000006.wav"), b"not audio").unwrap();
    let files = Dataset::from_manifest(&manifest).unwrap();
    let err = builder().train(&files).unwrap_err().to_string();
    assert!(err.contains("manifest.csv, line 8"), "{err}");
    assert!(err.contains("synthetic-000006.wav"), "{err}");
    let mut eager = files.clone();
    let err = eager.load_audio().unwrap_err().to_string();
    assert!(err.contains("manifest.csv, line 8"), "{err}");
}

/// A corrupt packet in a training file is skipped by the decoder and reported as a
/// `TrainEvent::DecodeWarning` naming the clip and its time (and in `Evaluation::warnings`),
/// not silently dropped.
#[cfg(feature = "formats")]
#[test]
fn a_corrupt_packet_in_a_training_file_is_reported() {
    let (dir, manifest) = written(20, 23);
    // The facade's MP3 fixture with one frame header past its middle scrambled: the first
    // candidate sync word whose scrambling the decoder reports as one skipped packet.
    let clean = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/audio/stream_22k_stereo.mp3"
    ))
    .unwrap();
    let (mp3, expected) = (clean.len() / 2..clean.len() - 64)
        .filter(|&i| clean[i] == 0xFF && clean[i + 1] & 0xE0 == 0xE0)
        .find_map(|header| {
            let mut mp3 = clean.clone();
            for b in &mut mp3[header..header + 40] {
                *b ^= 0x5A;
            }
            let decoded = sonotag::audio::decode::decode_bytes(&mp3).ok()?;
            match decoded.warnings() {
                [one] => Some((mp3.clone(), one.time_s)),
                _ => None,
            }
        })
        .expect("a frame whose damage the decoder reports");
    std::fs::write(dir.path().join("damaged.mp3"), &mp3).unwrap();
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, format!("{text}damaged.mp3,tone\n")).unwrap();
    let data = Dataset::from_manifest(&manifest).unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let (tagger, _) = builder()
        .on_event(move |event| {
            if let TrainEvent::DecodeWarning { clip, time_s, .. } = event {
                sink.lock().unwrap().push((clip.clone(), *time_s));
            }
        })
        .train(&data)
        .unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1, "{seen:?}");
    let (clip, time_s) = &seen[0];
    assert!(
        clip.contains("damaged.mp3") && clip.contains("line 22"),
        "{clip}"
    );
    assert_eq!(*time_s, expected);
    // Evaluation lists it too.
    let evaluation = tagger.evaluate(&data).unwrap();
    assert_eq!(evaluation.warnings.len(), 1, "{:?}", evaluation.warnings);
    let warning = &evaluation.warnings[0];
    assert!(
        warning.contains("damaged.mp3") && warning.contains(&format!("at {expected:.3} s")),
        "{warning}"
    );
}
