//! Segmentation: coverage, exact window lengths, residual rule, seeded padding.

use proptest::prelude::*;
use sonotag_audio::segment::{SegmentSamples, segment_count, segment_spans};
use sonotag_audio::{AudioLimits, ConfigError, PadFill, Segment, SegmentConfig, SegmentStream};

/// These tests use tiny rates (10-20 Hz) and hops down to one sample so that every
/// sample can be checked by hand; the real limits are exercised in hostile_limits.
fn segment(clip: &[f32], sr: u32, cfg: &SegmentConfig) -> Result<Vec<Segment>, ConfigError> {
    let mut limits = AudioLimits::default();
    limits.min_sample_rate = 1;
    limits.max_overlap = usize::MAX;
    sonotag_audio::segment_within(clip, sr, cfg, &limits)
}

fn clip(n: usize) -> Vec<f32> {
    // Distinct non-zero values so coverage can be checked by position.
    (0..n).map(|i| 1.0 + i as f32).collect()
}

#[test]
fn documented_example_and_edge_cases() {
    let sr = 10;
    let cfg = SegmentConfig::default(); // 1 s windows (10 samples), hop 1 s, min residual 0.25 s
    // 2.5 s: two full windows + residual of 5 samples (>= 2.5 -> kept, zero padded).
    let segs = segment(&clip(25), sr, &cfg).unwrap();
    assert_eq!(segs.len(), 3);
    assert_eq!(
        (segs[2].start_s, segs[2].end_s, segs[2].content_end_s),
        (2.0, 3.0, 2.5)
    );
    assert_eq!(&segs[2].samples[5..], &[0.0; 5]);
    assert_eq!(segs[2].samples[..5], clip(25)[20..25]);
    // 2.2 s: residual of 2 samples (0.2 s < 0.25 s) is dropped.
    assert_eq!(segment(&clip(22), sr, &cfg).unwrap().len(), 2);
    // Exactly 2 s: no residual at all.
    assert_eq!(segment(&clip(20), sr, &cfg).unwrap().len(), 2);
    // Shorter than one window: kept (padded) if >= min_residual, else nothing.
    let short = segment(&clip(3), sr, &cfg).unwrap();
    assert_eq!(
        (short.len(), short[0].content_len, short[0].samples.len()),
        (1, 3, 10)
    );
    assert!(segment(&clip(2), sr, &cfg).unwrap().is_empty());
    assert!(segment(&[], sr, &cfg).unwrap().is_empty());
}

#[test]
fn overlapping_windows_and_invalid_configs() {
    let cfg = SegmentConfig {
        window_s: 1.0,
        hop_s: Some(0.5),
        ..SegmentConfig::default()
    };
    let segs = segment(&clip(23), 10, &cfg).unwrap();
    let starts: Vec<f64> = segs.iter().map(|s| s.start_s).collect();
    // Full windows at 0, .5, 1.0 (ends 2.0); uncovered residual 0.3 s >= 0.25: one more
    // window at the next hop position (1.5 s) holding 0.8 s of audio.
    assert_eq!(starts, vec![0.0, 0.5, 1.0, 1.5]);
    assert_eq!(segs[3].content_end_s, 2.3);
    for bad in [
        SegmentConfig {
            window_s: 0.0,
            ..SegmentConfig::default()
        },
        SegmentConfig {
            window_s: f64::NAN,
            ..SegmentConfig::default()
        },
        SegmentConfig {
            hop_s: Some(1.5),
            ..SegmentConfig::default()
        },
        SegmentConfig {
            hop_s: Some(0.0),
            ..SegmentConfig::default()
        },
        SegmentConfig {
            min_residual_s: -1.0,
            ..SegmentConfig::default()
        },
        SegmentConfig {
            pad: PadFill::Noise { std: -1.0, seed: 1 },
            ..SegmentConfig::default()
        },
    ] {
        let err = segment(&clip(30), 10, &bad).unwrap_err();
        assert!(!err.reason.is_empty(), "{bad:?}");
    }
    assert_eq!(
        segment(&clip(30), 0, &SegmentConfig::default())
            .unwrap_err()
            .field,
        "sample_rate"
    );
}

#[test]
fn config_round_trips_through_json_with_defaults() {
    let cfg: SegmentConfig =
        serde_json::from_str(r#"{"hop_s": 0.5, "pad": {"kind": "noise", "std": 0.01, "seed": 7}}"#)
            .unwrap();
    assert_eq!(cfg.window_s, 1.0);
    assert_eq!(cfg.pad, PadFill::Noise { std: 0.01, seed: 7 });
    let back: SegmentConfig = serde_json::from_str(&serde_json::to_string(&cfg).unwrap()).unwrap();
    assert_eq!(back, cfg);
    assert!(serde_json::from_str::<SegmentConfig>(r#"{"windw_s": 1}"#).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Every sample is in a kept segment unless it lies in a dropped residual shorter than
    /// min_residual; segments are exactly one window; times are consistent.
    #[test]
    fn segments_cover_the_clip(
        n in 0usize..400,
        window in 1usize..60,
        hop_frac in 0.05f64..=1.0,
        min_res in 0usize..60,
        noise in any::<bool>(),
    ) {
        let sr = 20u32;
        let hop = ((window as f64 * hop_frac).round() as usize).clamp(1, window);
        let cfg = SegmentConfig {
            window_s: window as f64 / f64::from(sr),
            hop_s: Some(hop as f64 / f64::from(sr)),
            min_residual_s: min_res as f64 / f64::from(sr),
            pad: if noise { PadFill::Noise { std: 0.1, seed: 3 } } else { PadFill::Zeros },
        };
        let x = clip(n);
        let segs = segment(&x, sr, &cfg).unwrap();
        // The closed-form count (checked against the limit before allocating) is exact.
        let samples = SegmentSamples { window, hop, min_residual: min_res };
        prop_assert_eq!(segment_count(n, samples), segs.len());
        prop_assert_eq!(segment_spans(n, samples).len(), segs.len());
        let mut covered = vec![false; n];
        for (k, s) in segs.iter().enumerate() {
            prop_assert_eq!(s.index, k);
            prop_assert_eq!(s.samples.len(), window);
            prop_assert!(s.content_len >= 1 && s.content_len <= window);
            prop_assert_eq!(&s.samples[..s.content_len], &x[s.start_sample..s.start_sample + s.content_len]);
            if !noise {
                prop_assert!(s.samples[s.content_len..].iter().all(|&v| v == 0.0));
            }
            prop_assert!((s.end_s - s.start_s - window as f64 / f64::from(sr)).abs() < 1e-9);
            prop_assert!(s.content_end_s <= s.end_s + 1e-12);
            covered[s.start_sample..s.start_sample + s.content_len].iter_mut().for_each(|c| *c = true);
        }
        // Uncovered samples form one tail run shorter than min_residual.
        let first_gap = covered.iter().position(|c| !c).unwrap_or(n);
        prop_assert!(covered[first_gap..].iter().all(|c| !c), "hole before the tail");
        let dropped = n - first_gap;
        prop_assert!(dropped == 0 || dropped < min_res.max(1), "dropped {} >= min_residual {}", dropped, min_res);
        // Same seed, same clip: same padding.
        prop_assert_eq!(segment(&x, sr, &cfg).unwrap(), segs);
    }
}

#[test]
fn noise_padding_is_seeded_and_at_the_requested_level() {
    let cfg = |seed| SegmentConfig {
        pad: PadFill::Noise { std: 0.5, seed },
        min_residual_s: 0.0,
        ..SegmentConfig::default()
    };
    let x = vec![0.0f32; 16_000 + 1]; // one sample of residual -> 15 999 noise samples
    let a = segment(&x, 16_000, &cfg(1)).unwrap();
    let b = segment(&x, 16_000, &cfg(1)).unwrap();
    let c = segment(&x, 16_000, &cfg(2)).unwrap();
    assert_eq!(a, b);
    assert_ne!(a[1].samples, c[1].samples);
    let pad = &a[1].samples[1..];
    let mean = pad.iter().map(|&v| f64::from(v)).sum::<f64>() / pad.len() as f64;
    let std = (pad
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / pad.len() as f64)
        .sqrt();
    assert!(
        mean.abs() < 0.02 && (std - 0.5).abs() < 0.02,
        "mean {mean} std {std}"
    );
}

/// A stream cut into pushes of the given sizes (cycled), then finished.
fn segment_stream(
    clip: &[f32],
    sr: u32,
    cfg: &SegmentConfig,
    pushes: &[usize],
    pad_short: bool,
) -> Vec<Segment> {
    let mut limits = AudioLimits::default();
    limits.min_sample_rate = 1;
    limits.max_overlap = usize::MAX;
    let mut stream = SegmentStream::new(sr, cfg, &limits)
        .unwrap()
        .pad_short_streams(pad_short);
    let mut out = Vec::new();
    let mut rest = clip;
    for &size in pushes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (chunk, tail) = rest.split_at(size.min(rest.len()));
        stream.push(chunk, &mut out);
        rest = tail;
    }
    assert_eq!(stream.samples_pushed(), clip.len());
    out.extend(stream.finish().unwrap());
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Pushed in chunks of any sizes, a stream gives exactly the segments of the whole clip;
    /// with short-stream padding, exactly those of the clip cut with `min_residual_s = 0`
    /// when the plain rule gives none (the facade's rule for scoring short clips).
    #[test]
    fn a_stream_gives_the_segments_of_the_whole_clip(
        n in 0usize..400,
        window in 1usize..60,
        hop_frac in 0.05f64..=1.0,
        min_res in 0usize..60,
        noise in any::<bool>(),
        pushes in proptest::collection::vec(1usize..90, 1..6),
    ) {
        let sr = 20u32;
        let hop = ((window as f64 * hop_frac).round() as usize).clamp(1, window);
        let cfg = SegmentConfig {
            window_s: window as f64 / f64::from(sr),
            hop_s: Some(hop as f64 / f64::from(sr)),
            min_residual_s: min_res as f64 / f64::from(sr),
            pad: if noise { PadFill::Noise { std: 0.1, seed: 3 } } else { PadFill::Zeros },
        };
        let x = clip(n);
        let whole = segment(&x, sr, &cfg).unwrap();
        prop_assert_eq!(&segment_stream(&x, sr, &cfg, &pushes, false), &whole);
        let padded_whole = if whole.is_empty() {
            segment(&x, sr, &SegmentConfig { min_residual_s: 0.0, ..cfg.clone() }).unwrap()
        } else {
            whole
        };
        prop_assert_eq!(segment_stream(&x, sr, &cfg, &pushes, true), padded_whole);
    }
}
