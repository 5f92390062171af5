//! The `wav_features` harness, shared by the fuzz target (fuzz/fuzz_targets/wav_features.rs,
//! through `#[path]`) and the property test `limits_props::wav_features_harness`: the features
//! pipeline (WAV decode -> resample -> log-mel) on arbitrary bytes with the default
//! `AudioLimits`. A rate within the limits is always resampled to the exact length, a rate
//! beyond them is always refused with `ResampleError::Limit` naming the rate, and the
//! features are finite.

use sonotag_audio::{AudioLimits, MelConfig, MelExtractor, ResampleError, resample_within, wav};

/// The default MelConfig's rate.
const TARGET: u32 = 16_000;

/// Runs the pipeline on `data` and checks the outcome (panics on a violated property).
pub fn run(data: &[u8]) {
    let Ok(decoded) = wav::decode_bytes(data) else {
        return;
    };
    let limits = AudioLimits::default();
    let rate = decoded.sample_rate();
    let mono = decoded.into_mono();
    let rate_ok = limits.check_sample_rate("rate", rate).is_ok()
        && limits.check_resample_ratio(rate, TARGET).is_ok();
    let samples = match resample_within(&mono, rate, TARGET, &limits) {
        Ok(y) => {
            assert!(rate_ok, "{rate} Hz accepted beyond the limits");
            let want =
                (mono.len() as u128 * u128::from(TARGET) + u128::from(rate) / 2) / u128::from(rate);
            assert_eq!(y.len() as u128, want, "{rate} Hz");
            y
        }
        Err(ResampleError::Limit(l)) => {
            assert!(!rate_ok, "{rate} Hz refused within the limits: {l}");
            assert!(l.to_string().contains(&rate.to_string()), "{l}");
            return;
        }
        Err(e) => panic!("{rate} Hz: unexpected {e:?}"),
    };
    let mut extractor =
        MelExtractor::with_limits(&MelConfig::default(), &limits).expect("default config");
    let mel = extractor
        .extract(&samples)
        .expect("decoded samples are finite");
    assert!(mel.data().iter().all(|v| v.is_finite()));
}
