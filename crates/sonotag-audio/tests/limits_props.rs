//! Property tests for the limits of issue 14: decode -> resample -> log-mel on WAV files with a
//! fuzzed sample-rate field, and arbitrary MelConfig JSON objects. Nothing panics, every error
//! is typed and one line, valid inputs succeed, and what is allocated is bounded by a constant
//! plus a multiple of the input (the counting allocator measures it).

use proptest::prelude::*;

use crate::common::alloc::measure_allocs;
use crate::common::wav_at;
use sonotag_audio::{AudioLimits, MelConfig, MelExtractor, ResampleError, resample_within, wav};

/// Target rate of the pipeline (the default MelConfig's).
const TARGET: u32 = 16_000;

/// What decode -> resample -> log-mel of a `len`-byte 16-bit WAV may allocate in all.
///
/// Per input byte (half a sample): decoding 2 B (f32) + the mono downmix 2 B; resampling to
/// 16 kHz from at least 1 kHz (the rate limit) makes at most 16 output samples per input
/// sample, 32 B per byte, with the padded input copy (2 B) and the output reserve (another
/// 32 B); log-mel stores 64 bands per 160 samples of output, 0.4 values per output sample,
/// 13 B per byte. Sum 83, rounded up to 128. The constant: rubato's plan (1.3 MB for a
/// downsampler, + 33 KB per unit of ratio up to 16 here), the delay compensation (up to 4 B x
/// the rate, 3 MB at 768 kHz), the mel plan and FFT scratch (under 1 MB): 16 MiB.
fn pipeline_budget(len: usize) -> usize {
    16 * (1 << 20) + 128 * len
}

/// Rates biased to the limits' boundaries, plus arbitrary ones.
fn rate() -> impl Strategy<Value = u32> {
    prop_oneof![
        prop::sample::select(vec![
            0u32,
            1,
            999,
            1_000,
            1_001,
            8_000,
            16_000,
            44_100,
            96_000,
            767_999,
            768_000,
            768_001,
            4_294_967_291,
            u32::MAX,
        ]),
        1_000u32..=768_000,
        any::<u32>(),
    ]
}

/// decode -> resample (if needed) -> log-mel; checks every outcome and returns whether the
/// pipeline produced features.
fn run_pipeline(bytes: &[u8], limits: &AudioLimits) -> Result<bool, TestCaseError> {
    let decoded = match wav::decode_bytes(bytes) {
        Ok(w) => w,
        Err(e) => {
            prop_assert!(!e.to_string().contains('\n'));
            return Ok(false);
        }
    };
    let rate = decoded.sample_rate();
    let mono = decoded.into_mono();
    let resampled = resample_within(&mono, rate, TARGET, limits);
    let rate_ok = limits.check_sample_rate("rate", rate).is_ok()
        && limits.check_resample_ratio(rate, TARGET).is_ok();
    let samples = match resampled {
        Ok(y) => {
            prop_assert!(rate_ok, "{} Hz accepted", rate);
            let want =
                (mono.len() as u128 * u128::from(TARGET) + u128::from(rate) / 2) / u128::from(rate);
            prop_assert_eq!(y.len() as u128, want);
            y
        }
        Err(ResampleError::Limit(l)) => {
            prop_assert!(!rate_ok, "{} Hz refused: {}", rate, l);
            prop_assert!(l.to_string().contains(&rate.to_string()), "{}", l);
            return Ok(false);
        }
        Err(e) => return Err(TestCaseError::fail(format!("{rate} Hz: {e:?}"))),
    };
    let mut extractor = MelExtractor::with_limits(&MelConfig::default(), limits)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let mel = extractor
        .extract(&samples)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert!(mel.data().iter().all(|v| v.is_finite()));
    Ok(true)
}

// ---------------------------------------------------------------------------------------------
// Arbitrary MelConfig JSON.

/// A JSON value for `field`: plausible values (so that valid configs come up often) or
/// hostile ones (huge, negative, fractional, null, wrong type).
fn field_value(field: &'static str) -> impl Strategy<Value = String> {
    let plausible: Vec<&'static str> = match field {
        "sample_rate" => vec!["1000", "8000", "16000", "32000", "44100", "768000"],
        "n_fft" => vec!["256", "512", "1024", "2048", "65536", "65537"],
        "win_length" => vec!["200", "400", "512", "1024"],
        "hop_length" => vec![
            "1", "4", "80", "160", "320", "100000", "16777216", "16777217",
        ],
        "n_mels" => vec!["1", "40", "64", "128", "1024", "1025"],
        "f_min" => vec!["0", "50", "0.5", "20000"],
        "f_max" => vec!["null", "4000", "8000"],
        "power" => vec!["1.0", "2.0", "3"],
        "center" => vec!["true", "false"],
        "pad_mode" => vec!["\"constant\"", "\"reflect\""],
        "mel_scale" => vec!["\"slaney\"", "\"htk\""],
        "norm" => vec!["null", "\"slaney\""],
        "ref" => vec!["1.0", "0.5"],
        "amin" => vec!["1e-10", "1e-5"],
        _ => vec!["null", "80", "0"],
    };
    let hostile = prop_oneof![
        prop::sample::select(vec![
            "0",
            "-1",
            "1.5",
            "null",
            "\"x\"",
            "true",
            "1e30",
            "1073741824",
            "4294967291",
            "18446744073709551615",
            "18446744073709551616",
        ])
        .prop_map(str::to_string),
        any::<i64>().prop_map(|v| v.to_string()),
        any::<u64>().prop_map(|v| v.to_string()),
        any::<f64>()
            .prop_filter("JSON number", |v| v.is_finite())
            .prop_map(|v| v.to_string()),
    ];
    prop_oneof![
        3 => prop::sample::select(plausible).prop_map(str::to_string),
        1 => hostile,
    ]
}

const FIELDS: [&str; 15] = [
    "sample_rate",
    "n_fft",
    "win_length",
    "hop_length",
    "n_mels",
    "f_min",
    "f_max",
    "power",
    "center",
    "pad_mode",
    "mel_scale",
    "norm",
    "ref",
    "amin",
    "top_db",
];

/// A JSON object with any subset of MelConfig's fields.
fn config_json() -> impl Strategy<Value = String> {
    let fields: Vec<_> = FIELDS
        .iter()
        .map(|&f| prop::option::weighted(0.4, field_value(f)).prop_map(move |v| (f, v)))
        .collect();
    fields.prop_map(|pairs| {
        let body: Vec<String> = pairs
            .into_iter()
            .filter_map(|(f, v)| v.map(|v| format!("\"{f}\":{v}")))
            .collect();
        format!("{{{}}}", body.join(","))
    })
}

/// What `MelExtractor::new` + `extract` on `n` samples may allocate for a valid config: the
/// plan is about 100 B per FFT point (window, FFT plan and scratch, one block of 16 spectra
/// of n_fft/2+1 bins, the sparse filterbank of about 2 weights per bin), the output 4 B per
/// band and frame, centring copies of n_fft samples at both ends, plus 1 MiB of slack.
fn extractor_budget(c: &MelConfig, n_frames: usize) -> usize {
    (1 << 20) + 256 * c.n_fft + 16 * c.n_mels * (n_frames + 1) + 8 * c.n_mels
}

/// 256 cases per property by default; `PROPTEST_CASES=N` runs more.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    /// decode + resample + log-mel on a WAV whose rate field is fuzzed.
    #[test]
    fn pipeline_on_fuzzed_rate_fields(
        rate in rate(),
        channels in 1u16..=2,
        frames in 0usize..1500,
        seed in any::<u16>(),
    ) {
        let bytes = wav_at(rate, channels, frames, seed);
        // The fuzz target's own checks first (harness/wav_features.rs).
        crate::harness::wav_features::run(&bytes);
        let limits = AudioLimits::default();
        let (outcome, allocs) = measure_allocs(|| run_pipeline(&bytes, &limits));
        let produced = outcome?;
        prop_assert!(
            allocs.total <= pipeline_budget(bytes.len()),
            "{:?} for {} bytes at {} Hz", allocs, bytes.len(), rate
        );
        // Zero is refused by the decoder, every other rate in range must go through.
        if rate != 0 && limits.check_sample_rate("r", rate).is_ok()
            && limits.check_resample_ratio(rate, TARGET).is_ok()
        {
            prop_assert!(produced, "{} Hz refused", rate);
        }
    }

    /// The wav_features fuzz harness on valid files with a fuzzed rate and a few bytes
    /// overwritten anywhere (header or samples).
    #[test]
    fn wav_features_harness_on_damaged_files(
        rate in rate(),
        frames in 0usize..400,
        edits in prop::collection::vec((any::<usize>(), any::<u8>()), 0..6),
    ) {
        let mut bytes = wav_at(rate, 1, frames, 7);
        for (at, value) in edits {
            let n = bytes.len();
            bytes[at % n] = value;
        }
        crate::harness::wav_features::run(&bytes);
    }

    /// Arbitrary MelConfig JSON: parse + validate never panics; a valid config plans an
    /// extractor and extracts a short clip within a bound set by its (limited) sizes.
    #[test]
    fn arbitrary_mel_config_json(json in config_json()) {
        // The fuzz target's own checks first (harness/mel_config.rs).
        crate::harness::mel_config::run(json.as_bytes());
        let Ok(config) = serde_json::from_str::<MelConfig>(&json) else {
            return Ok(());
        };
        match config.validate() {
            Err(e) => {
                let text = e.to_string();
                prop_assert!(!text.contains('\n'), "{}", text);
                prop_assert!(text.contains(e.field), "{}", text);
                if let Some(limit) = &e.limit {
                    prop_assert!(text.contains(limit.setting), "{}", text);
                    prop_assert!(text.contains(&limit.limit.to_string()), "{}", text);
                }
                prop_assert!(MelExtractor::new(&config).is_err());
            }
            Ok(()) => {
                // A few frames whatever the hop (uncentred analysis needs n_fft samples).
                let extra = if config.center { 0 } else { config.n_fft };
                let n = config.hop_length.saturating_mul(4).saturating_add(extra).min(200_000);
                let clip: Vec<f32> = (0..n).map(|i| ((i % 97) as f32 / 97.0) - 0.5).collect();
                let (result, allocs) = measure_allocs(|| {
                    MelExtractor::new(&config).map(|mut ex| ex.extract(&clip))
                });
                let mel = result
                    .map_err(|e| TestCaseError::fail(format!("{json}: {e}")))?
                    .map_err(|e| TestCaseError::fail(format!("{json}: {e}")))?;
                prop_assert_eq!(Some(mel.n_frames()), config.n_frames(n));
                prop_assert!(mel.data().iter().all(|v| v.is_finite()));
                prop_assert!(
                    allocs.total <= extractor_budget(&config, mel.n_frames()),
                    "{:?} for {}", allocs, json
                );
            }
        }
    }
}
