//! Hostile-number catalogue (issue 14, "every number from outside has a limit"): a sample rate,
//! an FFT size, a window length read from a file must be refused with a typed error naming
//! the value, the limit and the `AudioLimits` field, before it sizes any allocation. The
//! counting allocator (tests/common/alloc.rs) checks the "before" part.

use std::path::{Path, PathBuf};

use crate::common::alloc::measure_allocs;
use crate::common::wav_at;
use sonotag_audio::features::{MAX_MEL_CONFIG_BYTES, extract_file, load_mel_config};
use sonotag_audio::{
    AudioError, AudioLimits, Bound, ConfigError, DecodeError, LimitError, LimitValue, MelConfig,
    MelExtractor, ResampleError, Resampler, SegmentConfig, resample, segment,
};

const MIB: usize = 1 << 20;

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write test file");
    path
}

/// The limit behind a config error (panics if the error is not a limit).
fn config_limit(err: &ConfigError) -> &LimitError {
    err.limit
        .as_ref()
        .unwrap_or_else(|| panic!("expected a limit error, got {err:?}"))
}

/// The message names the quantity, the value, the limit and the `AudioLimits` field.
fn assert_names(text: &str, parts: &[&str]) {
    assert!(!text.contains('\n'), "message spans lines: {text}");
    for p in parts {
        assert!(text.contains(p), "message lacks `{p}`: {text}");
    }
}

// ---------------------------------------------------------------------------------------------
// Sample rates from WAV headers, through decode -> resample -> log-mel.

#[test]
fn wav_declaring_4294967291_hz_is_refused_before_resampling() {
    let bytes = wav_at(4_294_967_291, 1, 8, 311);
    assert_eq!(bytes.len(), 60, "the 60-byte file of issue 14");
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "fast.wav", &bytes);
    let (result, allocs) = measure_allocs(|| extract_file(&path, &MelConfig::default()));
    let err = result.unwrap_err();
    // Refused when the file is opened (decode::decode_file_within checks the rate against the
    // limits), with the same message the resampler gave before formats were added.
    match &err {
        AudioError::Decode {
            source: DecodeError::Limit(limit),
            ..
        } => {
            assert_eq!(limit.setting, "max_sample_rate");
            assert_eq!(limit.value, LimitValue::Int(4_294_967_291));
            assert_eq!((limit.limit, limit.bound), (768_000, Bound::Max));
        }
        other => panic!("expected a decode limit error, got {other:?}"),
    }
    let text = err.to_string();
    assert!(text.starts_with(&path.display().to_string()), "{text}");
    assert_names(
        &text,
        &[
            "input sample rate is 4294967291 Hz",
            "above the limit of 768000 Hz",
            "(AudioLimits::max_sample_rate)",
        ],
    );
    // Before the fix: 17 GB. Now: the extractor's plan and the decoded 8 samples.
    assert!(allocs.largest < MIB, "{allocs:?}");
}

#[test]
fn wav_declaring_1_hz_is_refused_before_resampling() {
    let bytes = wav_at(1, 1, 100_000, 311);
    assert!(bytes.len() > 200_000);
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "slow.wav", &bytes);
    let (result, allocs) = measure_allocs(|| extract_file(&path, &MelConfig::default()));
    let err = result.unwrap_err();
    assert!(
        matches!(
            &err,
            AudioError::Decode { source: DecodeError::Limit(l), .. }
                if l.setting == "min_sample_rate" && l.bound == Bound::Min
        ),
        "{err:?}"
    );
    assert_names(
        &err.to_string(),
        &[
            "slow.wav",
            "input sample rate is 1 Hz, below the limit of 1000 Hz (AudioLimits::min_sample_rate)",
        ],
    );
    // Before the fix: 6.6 GB. Now: refused from the header, before the samples are decoded.
    assert!(allocs.total < 4 * bytes.len() + MIB, "{allocs:?}");
}

#[test]
fn resampler_rates_out_of_range_name_input_or_output() {
    let (result, allocs) = measure_allocs(|| Resampler::new(4_294_967_291, 16_000));
    let err = result.unwrap_err();
    assert_names(
        &err.to_string(),
        &["input sample rate is 4294967291 Hz", "max_sample_rate"],
    );
    assert!(allocs.largest < 4096, "{allocs:?}");
    let err = resample(&[0.0; 16], 16_000, 800_000).unwrap_err();
    assert_names(
        &err.to_string(),
        &[
            "output sample rate is 800000 Hz, above the limit of 768000 Hz (AudioLimits::max_sample_rate)",
        ],
    );
    // Equal rates are a copy, but a 4 GHz rate is refused there too.
    let err = resample(&[0.0; 16], u32::MAX, u32::MAX).unwrap_err();
    assert!(matches!(err, ResampleError::Limit(_)), "{err:?}");
    // The historical zero-rate variant still comes first.
    assert!(matches!(
        resample(&[0.0], 0, 16_000),
        Err(ResampleError::ZeroRate { .. })
    ));
}

#[test]
fn resample_ratio_above_the_limit_is_refused_both_ways() {
    for (from, to) in [(1_000, 768_000), (768_000, 1_000)] {
        let (result, allocs) = measure_allocs(|| resample(&[0.0; 100], from, to));
        let err = result.unwrap_err();
        match &err {
            ResampleError::Limit(l) => {
                assert_eq!((l.setting, l.limit), ("max_resample_ratio", 96));
                assert_eq!(l.value, LimitValue::Real(768.0));
            }
            other => panic!("{other:?}"),
        }
        assert_names(
            &err.to_string(),
            &[
                &format!("resampling ratio {from} Hz -> {to} Hz is 768"),
                "above the limit of 96 (AudioLimits::max_resample_ratio)",
            ],
        );
        assert!(allocs.largest < 4096, "{allocs:?}");
    }
    // A caller may raise the limit.
    let mut limits = AudioLimits::default();
    limits.max_resample_ratio = 768;
    let y = sonotag_audio::resample_within(&[0.0; 100], 768_000, 1_000, &limits).unwrap();
    assert_eq!(y.len(), 0); // round(100 / 768)
}

#[test]
fn boundary_rates_and_ratios_are_accepted() {
    // 768 kHz -> 16 kHz (ratio 48) and 1 kHz -> 32 kHz (ratio 32), 0.1 s each.
    let y = resample(&vec![0.25; 76_800], 768_000, 16_000).unwrap();
    assert_eq!(y.len(), 1_600);
    let (y, allocs) = measure_allocs(|| resample(&[0.25; 100], 1_000, 32_000).unwrap());
    assert_eq!(y.len(), 3_200);
    // At the ratio limit itself: rubato's buffers plus the output, far below 64 MB.
    let (y, at_limit) = measure_allocs(|| resample(&[0.25; 100], 1_000, 96_000).unwrap());
    assert_eq!(y.len(), 9_600);
    assert!(
        allocs.total < 8 * MIB && at_limit.total < 8 * MIB,
        "{allocs:?} {at_limit:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Mel configs: tiny JSON files with huge numbers.

/// Each config is refused by `load_mel_config` (from a file), by `validate` and by
/// `MelExtractor::new`, with the same field and limit, without allocating by the number.
fn assert_config_refused(json: &str, field: &str, setting: &str, parts: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "mel.json", json.as_bytes());
    let err = load_mel_config(&path).unwrap_err();
    let AudioError::Config { source, .. } = &err else {
        panic!("{json}: expected AudioError::Config, got {err:?}");
    };
    assert_eq!(
        (source.field, config_limit(source).setting),
        (field, setting)
    );
    let text = err.to_string();
    assert!(
        text.contains("mel.json: invalid mel config: invalid `"),
        "{text}"
    );
    assert_names(&text, parts);

    let config: MelConfig = serde_json::from_str(json).unwrap();
    assert_eq!(config.validate().unwrap_err(), *source);
    let (result, allocs) = measure_allocs(|| MelExtractor::new(&config));
    assert_eq!(result.unwrap_err(), *source, "{json}");
    assert!(allocs.largest < 4096, "{json}: {allocs:?}");
}

#[test]
fn huge_n_fft_is_refused_before_planning() {
    let json = r#"{"n_fft":1073741824}"#;
    assert!(json.len() <= 21);
    assert_config_refused(
        json,
        "n_fft",
        "max_n_fft",
        &["`n_fft` is 1073741824, above the limit of 65536 (AudioLimits::max_n_fft)"],
    );
    assert_config_refused(
        r#"{"n_fft":18446744073709551615}"#,
        "n_fft",
        "max_n_fft",
        &["`n_fft` is 18446744073709551615, above the limit of 65536"],
    );
}

#[test]
fn huge_n_mels_is_refused_before_planning() {
    assert_config_refused(
        r#"{"n_mels":18446744073709551615}"#,
        "n_mels",
        "max_n_mels",
        &["`n_mels` is 18446744073709551615, above the limit of 1024 (AudioLimits::max_n_mels)"],
    );
}

#[test]
fn hop_of_one_sample_at_768_khz_is_refused() {
    assert_config_refused(
        r#"{"sample_rate":768000,"n_fft":65536,"win_length":65536,"hop_length":1}"#,
        "hop_length",
        "max_frames_per_second",
        &[
            "frame rate `sample_rate` / `hop_length` = 768000 / 1 is 768000 frames/s",
            "above the limit of 4000 frames/s (AudioLimits::max_frames_per_second)",
        ],
    );
}

/// Found by limits_props: a hop of u64::MAX passed validation and overflowed `frame x hop`.
#[test]
fn huge_hop_is_refused() {
    assert_config_refused(
        r#"{"hop_length":18446744073709551615}"#,
        "hop_length",
        "max_hop_length",
        &[
            "`hop_length` is 18446744073709551615 samples, above the limit of 16777216 samples (AudioLimits::max_hop_length)",
        ],
    );
    let longest = MelConfig {
        hop_length: 1 << 24,
        ..MelConfig::default()
    };
    let mel = MelExtractor::new(&longest)
        .unwrap()
        .extract(&[0.1; 1000])
        .unwrap();
    assert_eq!(mel.n_frames(), 1);
}

#[test]
fn config_sample_rate_out_of_range_is_refused() {
    assert_config_refused(
        r#"{"sample_rate":4294967295}"#,
        "sample_rate",
        "max_sample_rate",
        &["`sample_rate` is 4294967295 Hz, above the limit of 768000 Hz"],
    );
    assert_config_refused(
        r#"{"sample_rate":999,"n_fft":8,"win_length":8,"hop_length":1}"#,
        "sample_rate",
        "min_sample_rate",
        &["`sample_rate` is 999 Hz, below the limit of 1000 Hz (AudioLimits::min_sample_rate)"],
    );
}

#[test]
fn numbers_beyond_u64_are_parse_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    for json in [
        r#"{"n_fft":18446744073709551616}"#,
        r#"{"n_mels":-1}"#,
        r#"{"hop_length":1e300}"#,
        r#"{"sample_rate":4294967296}"#,
    ] {
        let path = write(dir.path(), "mel.json", json.as_bytes());
        let err = load_mel_config(&path).unwrap_err();
        assert!(
            matches!(err, AudioError::ConfigParse { .. }),
            "{json}: {err:?}"
        );
    }
}

#[test]
fn boundary_mel_configs_are_accepted() {
    // PANNs CNN14's front end, on a whole 10 s clip.
    let cnn14 = MelConfig {
        sample_rate: 32_000,
        n_fft: 1024,
        win_length: 1024,
        hop_length: 320,
        n_mels: 64,
        f_min: 50.0,
        f_max: Some(14_000.0),
        ..MelConfig::default()
    };
    let mut ex = MelExtractor::new(&cnn14).unwrap();
    let mel = ex.extract(&vec![0.01; 320_000]).unwrap();
    assert_eq!((mel.n_mels(), mel.n_frames()), (64, 1001));
    // Each limit exactly: n_fft 65536, 4000 frames/s with 64 bands (256,000 values/s), and
    // 1024 bands (librosa allows empty filters) at 254 frames/s (260,063 values/s).
    let edge = MelConfig {
        n_fft: 65_536,
        win_length: 65_536,
        n_mels: 64,
        hop_length: 4,
        ..MelConfig::default()
    };
    edge.validate().unwrap();
    let wide = MelConfig {
        n_mels: 1_024,
        hop_length: 63,
        ..edge.clone()
    };
    wide.validate().unwrap();
    let too_fast = MelConfig {
        hop_length: 3,
        ..edge.clone()
    };
    assert_eq!(too_fast.validate().unwrap_err().field, "hop_length");
    // A caller can lift a limit explicitly.
    let mut limits = AudioLimits::default();
    limits.max_frames_per_second = 16_000;
    limits.max_values_per_second = 1 << 20;
    too_fast.validate_within(&limits).unwrap();
}

#[test]
fn features_many_times_larger_than_the_audio_are_refused() {
    // Every field within its own limit: 1024 bands at 1000 frames/s from 1 kHz audio would be
    // 1024 values per input sample.
    assert_config_refused(
        r#"{"sample_rate":1000,"n_fft":16,"win_length":16,"hop_length":1,"n_mels":1024,"f_min":0}"#,
        "n_mels",
        "max_values_per_second",
        &[
            "feature rate `n_mels` x `sample_rate` / `hop_length` = 1024 x 1000 / 1",
            "above the limit of 262144 values/s (AudioLimits::max_values_per_second)",
        ],
    );
}

#[test]
fn oversized_or_special_config_files_are_refused_unread() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.json");
    let file = std::fs::File::create(&big).unwrap();
    file.set_len(MAX_MEL_CONFIG_BYTES + 1).unwrap(); // sparse: no disk used
    let (result, allocs) = measure_allocs(|| load_mel_config(&big));
    let err = result.unwrap_err();
    assert!(
        matches!(err, AudioError::ConfigTooLarge { size, limit, .. }
            if size == MAX_MEL_CONFIG_BYTES + 1 && limit == MAX_MEL_CONFIG_BYTES),
        "{err:?}"
    );
    assert_names(
        &err.to_string(),
        &["big.json: mel config file is 1048577 bytes, above the limit of 1048576 bytes"],
    );
    assert!(allocs.largest < 4096, "{allocs:?}");
    #[cfg(unix)]
    {
        let err = load_mel_config(Path::new("/dev/null")).unwrap_err();
        assert!(matches!(err, AudioError::NotAFile { .. }), "{err:?}");
        assert_eq!(err.to_string(), "/dev/null: not a regular file");
    }
}

// ---------------------------------------------------------------------------------------------
// Segmentation.

#[test]
fn window_of_1e10_seconds_is_refused_before_allocating() {
    let config = SegmentConfig {
        window_s: 1e10,
        ..SegmentConfig::default()
    };
    let (result, allocs) = measure_allocs(|| segment(&[0.0; 100], 32_000, &config));
    let err = result.unwrap_err();
    let limit = config_limit(&err);
    assert_eq!(
        (err.field, limit.setting),
        ("window_s", "max_window_samples")
    );
    assert_names(
        &err.to_string(),
        &[
            "invalid `window_s`: `window_s` = 10000000000 s at 32000 Hz is 320000000000000 samples",
            "above the limit of 16777216 samples (AudioLimits::max_window_samples)",
        ],
    );
    assert!(allocs.largest < 4096, "{allocs:?}");
    // Far beyond 2^64 samples: still a limit error, printed as a real number.
    let huge = SegmentConfig {
        window_s: 1e300,
        ..SegmentConfig::default()
    };
    let err = huge.in_samples(16_000).unwrap_err();
    assert_eq!(config_limit(&err).setting, "max_window_samples");
}

#[test]
fn hop_of_one_sample_is_refused() {
    let config = SegmentConfig {
        hop_s: Some(1.0 / 16_000.0),
        ..SegmentConfig::default()
    };
    let err = config.in_samples(16_000).unwrap_err();
    assert_eq!(
        (err.field, config_limit(&err).setting),
        ("hop_s", "max_overlap")
    );
    assert_names(
        &err.to_string(),
        &[
            "overlap window / hop = 16000 / 1 samples is 16000",
            "above the limit of 16 (AudioLimits::max_overlap)",
        ],
    );
    // An overlap of exactly 16 is fine.
    let sixteen = SegmentConfig {
        hop_s: Some(1.0 / 16.0),
        ..SegmentConfig::default()
    };
    assert_eq!(sixteen.in_samples(16_000).unwrap().hop, 1_000);
}

#[test]
fn too_many_segments_are_refused_before_the_list_is_allocated() {
    // One-sample windows at 1 kHz: one segment per sample.
    let config = SegmentConfig {
        window_s: 0.001,
        min_residual_s: 0.0,
        ..SegmentConfig::default()
    };
    let clip = vec![0.0f32; (1 << 22) + 1];
    let (result, allocs) = measure_allocs(|| segment(&clip, 1_000, &config));
    let err = result.unwrap_err();
    assert_eq!(
        (err.field, config_limit(&err).setting),
        ("hop_s", "max_segments_per_clip")
    );
    assert_names(
        &err.to_string(),
        &[
            "the number of segments of a clip of 4194305 samples is 4194305",
            "above the limit of 4194304 (AudioLimits::max_segments_per_clip)",
        ],
    );
    assert!(allocs.largest < 4096, "{allocs:?}");
}

#[test]
fn ten_second_windows_at_32_khz_are_accepted() {
    let config = SegmentConfig {
        window_s: 10.0,
        ..SegmentConfig::default()
    };
    assert_eq!(config.in_samples(32_000).unwrap().window, 320_000);
    let segs = segment(&vec![0.0; 327_000], 32_000, &config).unwrap();
    assert_eq!(segs.len(), 1); // the 7 000-sample residual (0.22 s) is below 0.25 s
    // The longest window admitted: 2^24 samples.
    let longest = SegmentConfig {
        window_s: f64::from(1u32 << 24) / 32_000.0,
        ..SegmentConfig::default()
    };
    assert_eq!(longest.in_samples(32_000).unwrap().window, 1 << 24);
}
