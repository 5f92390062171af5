//! Mel extraction invariants: linearity in power, additivity of disjoint spectra, batch =
//! sequential, config parsing and validation.

use proptest::prelude::*;
use sonotag_audio::{MelConfig, MelError, MelExtractor, MelNorm, MelScale, PadMode};

fn tone(freq: f64, amp: f64, n: usize, sr: f64, phase: f64) -> Vec<f32> {
    (0..n)
        .map(|i| (amp * (std::f64::consts::TAU * freq * i as f64 / sr + phase).sin()) as f32)
        .collect()
}

fn noise(n: usize, seed: u64) -> Vec<f32> {
    // Small deterministic LCG: the test needs variety, not statistical quality.
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) - 0.5
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// With power = 2 the mel spectrogram is quadratic: mel(a x) = a^2 mel(x); with
    /// power = 1 it is linear.
    #[test]
    fn mel_power_scales_with_amplitude(
        seed in 0u64..1000,
        a in 0.01f32..8.0,
        n in 600usize..5000,
        power_two in any::<bool>(),
        reflect in any::<bool>(),
    ) {
        let cfg = MelConfig {
            power: if power_two { 2.0 } else { 1.0 },
            pad_mode: if reflect { PadMode::Reflect } else { PadMode::Constant },
            ..MelConfig::default()
        };
        let mut ex = MelExtractor::new(&cfg).unwrap();
        let x = noise(n, seed);
        let ax: Vec<f32> = x.iter().map(|v| v * a).collect();
        let m1 = ex.mel_spectrogram(&x).unwrap();
        let m2 = ex.mel_spectrogram(&ax).unwrap();
        let k = if power_two { a * a } else { a };
        for (u, v) in m1.data().iter().zip(m2.data()) {
            prop_assert!((u * k - v).abs() <= 1e-4 * v.abs() + 1e-12, "{} * {} vs {}", u, k, v);
        }
    }

    /// Mel power adds for signals with disjoint spectra. Exactly: the cross term of
    /// |X1 + X2|^2 is bounded by Cauchy-Schwarz, |s - p - q| <= 2 sqrt(p q), for every band;
    /// and where one tone's leakage is negligible (q < 1e-8 p) the sum is additive.
    #[test]
    fn mel_power_adds_for_disjoint_spectra(
        f1 in 100.0f64..1500.0,
        f2 in 3500.0f64..7000.0,
        a1 in 0.05f64..0.5,
        a2 in 0.05f64..0.5,
        phase in 0.0f64..std::f64::consts::TAU,
    ) {
        let mut ex = MelExtractor::new(&MelConfig::default()).unwrap();
        let (x1, x2) = (tone(f1, a1, 4000, 16_000.0, phase), tone(f2, a2, 4000, 16_000.0, 0.0));
        let sum: Vec<f32> = x1.iter().zip(&x2).map(|(p, q)| p + q).collect();
        let (m1, m2, m12) = (
            ex.mel_spectrogram(&x1).unwrap(),
            ex.mel_spectrogram(&x2).unwrap(),
            ex.mel_spectrogram(&sum).unwrap(),
        );
        let peak = m12.data().iter().copied().fold(0f32, f32::max);
        let mut additive_bands = 0;
        for ((&p, &q), &s) in m1.data().iter().zip(m2.data()).zip(m12.data()) {
            let (p, q, s) = (f64::from(p), f64::from(q), f64::from(s));
            let slack = 1e-4 * s + 1e-7 * f64::from(peak);
            prop_assert!((s - p - q).abs() <= 2.0 * (p * q).sqrt() + slack, "{} + {} vs {}", p, q, s);
            if p.min(q) < 1e-8 * p.max(q) {
                additive_bands += 1;
                prop_assert!((s - p - q).abs() <= 1e-3 * s + 1e-7 * f64::from(peak), "{} + {} vs {}", p, q, s);
            }
        }
        prop_assert!(additive_bands > 0);
    }
}

#[test]
fn batch_extraction_equals_sequential_extraction() {
    let clips: Vec<Vec<f32>> = (0..9).map(|i| noise(3000 + 977 * i, i as u64)).collect();
    let mut ex = MelExtractor::new(&MelConfig {
        top_db: Some(80.0),
        ..MelConfig::default()
    })
    .unwrap();
    let batch = ex.extract_batch(&clips);
    for (clip, got) in clips.iter().zip(batch) {
        assert_eq!(got.unwrap(), ex.extract(clip).unwrap());
    }
    // Errors stay in place.
    let mixed = vec![vec![0.0f32; 1000], vec![f32::NAN; 10]];
    let out = ex.extract_batch(&mixed);
    assert!(out[0].is_ok());
    assert!(matches!(out[1], Err(MelError::NonFinite { index: 0, .. })));
}

#[test]
fn silence_is_amin_in_db_and_top_db_clips_over_the_whole_clip() {
    let mut ex = MelExtractor::new(&MelConfig::default()).unwrap();
    let mel = ex.extract(&vec![0.0; 4800]).unwrap();
    assert_eq!(mel.n_frames(), 31);
    assert!(mel.data().iter().all(|&v| (v + 100.0).abs() < 1e-4));
    // A loud tone in the first half, silence after: top_db = 40 floors everything at max - 40.
    let mut x = tone(1000.0, 0.5, 8000, 16_000.0, 0.0);
    x.extend(vec![0.0; 8000]);
    let mut ex = MelExtractor::new(&MelConfig {
        top_db: Some(40.0),
        ..MelConfig::default()
    })
    .unwrap();
    let mel = ex.extract(&x).unwrap();
    let max = mel.data().iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let min = mel.data().iter().copied().fold(f32::INFINITY, f32::min);
    assert!((max - min - 40.0).abs() < 1e-4, "range {}", max - min);
}

#[test]
fn non_finite_input_is_refused_with_its_index() {
    let mut ex = MelExtractor::new(&MelConfig::default()).unwrap();
    let mut x = vec![0.1f32; 50_000];
    x[43_210] = f32::INFINITY;
    assert!(matches!(
        ex.extract(&x),
        Err(MelError::NonFinite { index: 43_210, .. })
    ));
    // Even past the last frame of an uncentred analysis (librosa checks the whole buffer).
    let mut ex = MelExtractor::new(&MelConfig {
        center: false,
        hop_length: 400,
        ..MelConfig::default()
    })
    .unwrap();
    let mut x = vec![0.1f32; 1000];
    x[999] = f32::NAN;
    assert!(matches!(
        ex.extract(&x),
        Err(MelError::NonFinite { index: 999, .. })
    ));
    // NaN takes precedence over "too short", as in librosa.
    assert!(matches!(
        ex.extract(&[f32::NAN; 3]),
        Err(MelError::NonFinite { index: 0, .. })
    ));
    assert_eq!(
        ex.extract(&[0.0; 3]),
        Err(MelError::TooShort { len: 3, n_fft: 512 })
    );
    let mut ex = MelExtractor::new(&MelConfig {
        pad_mode: PadMode::Reflect,
        ..MelConfig::default()
    })
    .unwrap();
    assert_eq!(ex.extract(&[]), Err(MelError::EmptyReflect));
    let mut ex = MelExtractor::new(&MelConfig::default()).unwrap();
    assert_eq!(ex.extract(&[]).unwrap().n_frames(), 1);
}

#[test]
fn config_json_uses_defaults_and_rejects_unknown_fields() {
    let cfg: MelConfig = serde_json::from_str(
        r#"{"sample_rate": 22050, "n_fft": 1024, "win_length": 1024, "hop_length": 256,
            "n_mels": 40, "f_min": 0, "f_max": null, "power": 1.0, "center": false,
            "pad_mode": "reflect", "mel_scale": "htk", "norm": null, "ref": 2.0,
            "amin": 1e-5, "top_db": 80}"#,
    )
    .unwrap();
    assert_eq!(cfg.mel_scale, MelScale::Htk);
    assert_eq!(cfg.norm, None);
    assert_eq!(cfg.ref_value, 2.0);
    assert_eq!(cfg.f_max_hz(), 11_025.0);
    cfg.validate().unwrap();
    let partial: MelConfig = serde_json::from_str(r#"{"n_mels": 128}"#).unwrap();
    assert_eq!(
        partial,
        MelConfig {
            n_mels: 128,
            ..MelConfig::default()
        }
    );
    assert_eq!(partial.norm, Some(MelNorm::Slaney));
    let back: MelConfig = serde_json::from_str(&serde_json::to_string(&cfg).unwrap()).unwrap();
    assert_eq!(back, cfg);
    let err = serde_json::from_str::<MelConfig>(r#"{"nfft": 512}"#).unwrap_err();
    assert!(err.to_string().contains("unknown field `nfft`"), "{err}");
    let err = serde_json::from_str::<MelConfig>(r#"{"pad_mode": "zeros"}"#).unwrap_err();
    assert!(err.to_string().contains("zeros"), "{err}");
}

#[test]
fn impossible_configs_name_the_field() {
    let d = MelConfig::default;
    let cases: Vec<(MelConfig, &str)> = vec![
        (MelConfig { n_fft: 256, ..d() }, "n_fft"), // < win_length 400
        (
            MelConfig {
                f_max: Some(9000.0),
                ..d()
            },
            "f_max",
        ),
        (
            MelConfig {
                f_max: Some(f64::INFINITY),
                ..d()
            },
            "f_max",
        ),
        (
            MelConfig {
                f_min: 8000.0,
                ..d()
            },
            "f_min",
        ),
        (MelConfig { f_min: -1.0, ..d() }, "f_min"),
        (
            MelConfig {
                sample_rate: 0,
                ..d()
            },
            "sample_rate",
        ),
        (
            MelConfig {
                hop_length: 0,
                ..d()
            },
            "hop_length",
        ),
        (
            MelConfig {
                win_length: 0,
                ..d()
            },
            "win_length",
        ),
        (MelConfig { n_mels: 0, ..d() }, "n_mels"),
        (
            MelConfig {
                n_fft: 1,
                win_length: 1,
                ..d()
            },
            "n_fft",
        ),
        (MelConfig { power: 3.0, ..d() }, "power"),
        (MelConfig { amin: 0.0, ..d() }, "amin"),
        (MelConfig { amin: 1e-50, ..d() }, "amin"),
        (MelConfig { amin: 1e-40, ..d() }, "amin"), // subnormal as f32
        (
            MelConfig {
                ref_value: f64::NAN,
                ..d()
            },
            "ref",
        ),
        (
            MelConfig {
                top_db: Some(-1.0),
                ..d()
            },
            "top_db",
        ),
    ];
    for (cfg, field) in cases {
        let err = cfg.validate().unwrap_err();
        assert_eq!(err.field, field, "{cfg:?}: {err}");
        assert!(MelExtractor::new(&cfg).is_err());
    }
    MelConfig::default().validate().unwrap();
}
