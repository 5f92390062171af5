//! Normaliser: streaming fit equals the two-pass statistics, floor, serde, mismatches.

use proptest::prelude::*;
use sonotag_audio::{LogMel, Normalizer, NormalizerError, NormalizerFit};

fn mel(n_mels: usize, n_frames: usize, f: impl Fn(usize, usize) -> f32) -> LogMel {
    let data = (0..n_mels)
        .flat_map(|m| (0..n_frames).map(move |t| (m, t)))
        .map(|(m, t)| f(m, t))
        .collect();
    LogMel::new(n_mels, n_frames, data).unwrap()
}

proptest! {
    /// Streaming over clips (any split, any merge order) gives the per-band mean and
    /// population std of all frames pooled, computed here directly in f64.
    #[test]
    fn streaming_fit_equals_pooled_statistics(
        lens in proptest::collection::vec(0usize..40, 1..6),
        offset in -80.0f32..20.0,
        seed in 0u32..1000,
    ) {
        let n_mels = 3;
        let clips: Vec<LogMel> = lens.iter().enumerate().map(|(c, &n)| {
            mel(n_mels, n, |m, t| offset + ((seed as usize + 31 * c + 7 * t + 13 * m) % 17) as f32 * (m + 1) as f32)
        }).collect();
        let total: usize = lens.iter().sum();
        prop_assume!(total > 0);
        let norm = Normalizer::fit(&clips, n_mels, 1e-3).unwrap();
        // The same through two partial fits merged.
        let (a, b) = clips.split_at(clips.len() / 2);
        let mut fa = NormalizerFit::new(n_mels);
        a.iter().for_each(|x| fa.update(x).unwrap());
        let mut fb = NormalizerFit::new(n_mels);
        b.iter().for_each(|x| fb.update(x).unwrap());
        fa.merge(&fb).unwrap();
        prop_assert_eq!(fa.count(), total as u64);
        let merged = fa.finish(1e-3).unwrap();
        for m in 0..n_mels {
            let vals: Vec<f64> = clips.iter().flat_map(|x| x.band(m).iter().map(|&v| f64::from(v))).collect();
            let mean = vals.iter().sum::<f64>() / vals.len() as f64;
            let std = (vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / vals.len() as f64).sqrt().max(1e-3);
            for n in [&norm, &merged] {
                prop_assert!((f64::from(n.mean()[m]) - mean).abs() <= 1e-5 * mean.abs().max(1.0));
                prop_assert!((f64::from(n.std()[m]) - std).abs() <= 1e-5 * std.max(1.0));
            }
        }
    }
}

#[test]
fn apply_standardises_and_round_trips_through_json() {
    let train = mel(2, 4, |m, t| if m == 0 { t as f32 } else { -100.0 });
    let norm = Normalizer::fit([&train], 2, 0.5).unwrap();
    let mut x = train.clone();
    norm.apply(&mut x).unwrap();
    let band0: Vec<f32> = x.band(0).to_vec();
    let mean0 = band0.iter().sum::<f32>() / 4.0;
    let var0 = band0.iter().map(|v| (v - mean0).powi(2)).sum::<f32>() / 4.0;
    assert!(mean0.abs() < 1e-6 && (var0 - 1.0).abs() < 1e-5);
    // Constant band (silence): std floored at 0.5, values become 0, no inf/NaN.
    assert_eq!(norm.std()[1], 0.5);
    assert!(x.band(1).iter().all(|&v| v == 0.0));
    // The flat-buffer form gives the same bits as the LogMel form.
    let mut flat = train.data().to_vec();
    norm.apply_slice(&mut flat).unwrap();
    assert_eq!(flat, x.data());
    let json = serde_json::to_string(&norm).unwrap();
    let back: Normalizer = serde_json::from_str(&json).unwrap();
    assert_eq!(back, norm);
    // A tampered file with a zero std is refused instead of producing inf later.
    let bad = json.replace("\"std\":[1.118034,0.5]", "\"std\":[1.118034,0.0]");
    assert_ne!(bad, json, "{json}");
    assert!(serde_json::from_str::<Normalizer>(&bad).is_err());
}

#[test]
fn mismatches_and_bad_input_are_typed_errors() {
    let norm = Normalizer::fit([&mel(2, 3, |_, t| t as f32)], 2, 1e-3).unwrap();
    let mut other = mel(3, 3, |_, _| 0.0);
    assert_eq!(
        norm.apply(&mut other),
        Err(NormalizerError::MelMismatch {
            expected: 2,
            got: 3
        })
    );
    // A flat buffer must split into whole frames of the normaliser's 2 bands.
    assert_eq!(
        norm.apply_slice(&mut [0.0; 5]),
        Err(NormalizerError::Ragged { len: 5, n_mels: 2 })
    );
    let mut fit = NormalizerFit::new(2);
    assert_eq!(fit.finish(1e-3), Err(NormalizerError::NoFrames));
    assert_eq!(
        fit.update(&other),
        Err(NormalizerError::MelMismatch {
            expected: 2,
            got: 3
        })
    );
    let nan = mel(2, 2, |m, _| if m == 1 { f32::NAN } else { 0.0 });
    assert!(matches!(
        fit.update(&nan),
        Err(NormalizerError::NonFinite { band: 1, .. })
    ));
    assert_eq!(
        fit.count(),
        0,
        "a rejected clip must not change the statistics"
    );
    fit.update(&mel(2, 2, |_, _| 1.0)).unwrap();
    assert_eq!(fit.finish(0.0), Err(NormalizerError::BadFloor(0.0)));
}
