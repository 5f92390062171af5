//! Streaming prediction against the whole-recording path: the same segments, the same
//! probabilities, whatever the chunking, the input rate or the pooling.

use sonotag::audio::{PadFill, SegmentConfig};
use sonotag::{ClipPooling, Error, Prediction, SegmentPrediction, Tagger};

use crate::common::{few_clips, tiny};

/// A tiny tagger with overlapping windows and noise padding, so that segment bookkeeping,
/// residual padding and resampling all show in the comparison.
fn tagger(pooling: ClipPooling) -> Tagger {
    let segment = SegmentConfig {
        window_s: 1.0,
        hop_s: Some(0.5),
        min_residual_s: 0.3,
        pad: PadFill::Noise { std: 0.01, seed: 9 },
    };
    let (tagger, _) = tiny()
        .segment(segment)
        .clip_pooling(pooling)
        .train(&few_clips())
        .unwrap();
    tagger
}

fn signal(seconds: f64, rate: u32) -> Vec<f32> {
    let n = (seconds * f64::from(rate)) as usize;
    (0..n)
        .map(|i| {
            let t = i as f32 / rate as f32;
            0.3 * (t * 2_000.0 * (1.0 + t)).sin() + 0.05 * ((i * 7919 % 1000) as f32 / 500.0 - 1.0)
        })
        .collect()
}

/// Pushes `x` in chunks of `chunk` samples with segments batched `batch` at a time.
fn streamed(tagger: &Tagger, x: &[f32], rate: u32, chunk: usize, batch: usize) -> Prediction {
    let mut stream = tagger.stream(rate).unwrap().with_batch_size(batch);
    let mut segments: Vec<SegmentPrediction> = Vec::new();
    for part in x.chunks(chunk) {
        let done = stream.push(part).unwrap();
        // Segments come out in order, each once.
        if let (Some(last), Some(first)) = (segments.last(), done.first()) {
            assert!(first.start_s > last.start_s);
        }
        segments.extend(done);
    }
    let end = stream.finish().unwrap();
    segments.extend(end.segments);
    assert_eq!(end.n_segments, segments.len());
    assert_eq!(end.n_samples, x.len());
    let mut whole = tagger.predict_samples(x, rate).unwrap();
    whole.clip = end.clip;
    whole.segments = segments;
    whole
}

#[test]
fn a_stream_gives_the_whole_recordings_predictions() {
    for pooling in [ClipPooling::Max, ClipPooling::Mean] {
        let tagger = tagger(pooling);
        for rate in [16_000, 44_100] {
            // 7.3 s: full windows and a kept residual (0.3 s after the last full window).
            let x = signal(7.3, rate);
            let whole = tagger.predict_samples(&x, rate).unwrap();
            assert_eq!(whole.segments.len(), 14);
            // Batches of 64 are the whole path's: equal to the bit.
            for chunk in [x.len(), 4_096, 1_000, 333] {
                let s = streamed(&tagger, &x, rate, chunk, 64);
                assert_eq!(s, whole, "rate {rate}, chunk {chunk}, {pooling:?}");
            }
            // One segment at a time (live use): the same segments, scores within rounding.
            let live = streamed(&tagger, &x, rate, 1_600, 1);
            assert_eq!(live.segments.len(), whole.segments.len());
            for (a, b) in live.segments.iter().zip(&whole.segments) {
                assert_eq!((a.start_s, a.end_s), (b.start_s, b.end_s));
                for (p, q) in a.probabilities.iter().zip(&b.probabilities) {
                    assert!((p - q).abs() <= 1e-5, "{p} vs {q}");
                }
            }
        }
    }
}

#[test]
fn a_short_or_empty_stream_is_scored_or_refused_like_a_clip() {
    let tagger = tagger(ClipPooling::Max);
    // 0.1 s: shorter than the window and the minimum residual, padded to one segment.
    let x = signal(0.1, 16_000);
    let whole = tagger.predict_samples(&x, 16_000).unwrap();
    assert_eq!(whole.segments.len(), 1);
    assert_eq!(streamed(&tagger, &x, 16_000, 100, 64), whole);
    let empty = tagger.stream(16_000).unwrap().finish();
    assert!(matches!(empty, Err(Error::InvalidData { .. })), "{empty:?}");
}

#[test]
fn a_non_finite_sample_is_named_by_its_place_in_the_stream() {
    let tagger = tagger(ClipPooling::Max);
    let mut stream = tagger.stream(16_000).unwrap();
    stream.push(&[0.0; 5_000]).unwrap();
    let mut chunk = vec![0.0; 100];
    chunk[7] = f32::NAN;
    match stream.push(&chunk) {
        Err(Error::NonFiniteAudio { index, .. }) => assert_eq!(index, 5_007),
        other => panic!("expected NonFiniteAudio, got {other:?}"),
    }
}

#[test]
fn a_rate_beyond_the_limits_is_refused_when_the_stream_starts() {
    let tagger = tagger(ClipPooling::Max);
    assert!(tagger.stream(900_000).is_err());
    assert!(tagger.stream(0).is_err());
}

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/audio")
        .join(name)
}

/// A file streamed through the decoder, the resampler and the network gives exactly what the
/// whole-recording path gives on the file's decoded samples.
#[cfg(feature = "formats")]
#[test]
fn predict_file_streams_flac_and_mp3_to_the_whole_file_result() {
    let tagger = tagger(ClipPooling::Mean);
    for name in ["stream_22k_stereo.flac", "stream_22k_stereo.mp3"] {
        let path = fixture(name);
        let decoded = sonotag::audio::decode::decode_file(&path).unwrap();
        let rate = decoded.sample_rate();
        let mut whole = tagger.predict_samples(&decoded.into_mono(), rate).unwrap();
        whole.source = path.display().to_string();
        let streamed = tagger.predict_file(&path).unwrap();
        assert!(
            streamed.segments.len() >= 12,
            "{name}: {}",
            streamed.segments.len()
        );
        assert!(streamed.warnings.is_empty());
        assert_eq!(streamed, whole, "{name}");
        let many = tagger.predict_files(&[&path, &path]);
        assert_eq!(many.len(), 2);
        for p in many {
            assert_eq!(p.unwrap(), whole);
        }
    }
}

#[test]
fn predict_file_names_the_file_it_cannot_decode() {
    let tagger = tagger(ClipPooling::Max);
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("song.flac");
    std::fs::write(&bad, b"fLaC but not really a FLAC stream").unwrap();
    let err = tagger.predict_file(&bad).unwrap_err();
    assert!(matches!(err, Error::Audio(_)), "{err:?}");
    assert!(err.to_string().contains("song.flac"), "{err}");
}
