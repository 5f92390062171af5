//! Log-mel spectrograms and filterbanks against librosa 0.11 (tests/fixtures/mel).

use crate::common::{cases, f32_matrix, f64_vec, fixtures_dir, load};
use serde_json::Value;
use sonotag_audio::{
    MelConfig, MelError, MelExtractor, MelFilterbank, MelNorm, MelScale, PadMode, wav,
};

/// The MelConfig a fixture's `params` describe.
fn config_from_params(p: &Value) -> MelConfig {
    let f = |k: &str| p[k].as_f64().unwrap_or_else(|| panic!("params.{k}"));
    let u = |k: &str| p[k].as_u64().unwrap_or_else(|| panic!("params.{k}")) as usize;
    MelConfig {
        sample_rate: u("sr") as u32,
        n_fft: u("n_fft"),
        win_length: u("win_length"),
        hop_length: u("hop_length"),
        n_mels: u("n_mels"),
        f_min: f("fmin"),
        f_max: p["fmax"].as_f64(),
        power: f("power"),
        center: p["center"].as_bool().unwrap(),
        pad_mode: match p["pad_mode"].as_str().unwrap() {
            "constant" => PadMode::Constant,
            "reflect" => PadMode::Reflect,
            other => panic!("pad_mode {other}"),
        },
        mel_scale: if p["htk"].as_bool().unwrap() {
            MelScale::Htk
        } else {
            MelScale::Slaney
        },
        norm: match p["norm"].as_str() {
            Some("slaney") => Some(MelNorm::Slaney),
            None => None,
            Some(other) => panic!("norm {other}"),
        },
        ref_value: f("ref"),
        amin: f("amin"),
        top_db: p["top_db"].as_f64(),
    }
}

/// Tolerances from the case's `suggested_test`: (tol dB, window dB, outside floor dB, outside
/// tol dB). Panics if the sentence changed shape, so a new fixture format is noticed.
fn tolerances(case: &Value) -> (f64, f64, f64, f64) {
    let s = case["expected"]["crosscheck_torchaudio"]["suggested_test"]
        .as_str()
        .unwrap_or("|got - expected| <= 0.01 dB where expected >= max(expected) - 60 dB; elsewhere only require got < max(expected) - 50 dB (or |diff| <= 3 dB)");
    let nums: Vec<f64> = s
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .filter_map(|t| t.parse().ok())
        .collect();
    assert_eq!(nums.len(), 4, "unexpected suggested_test: {s}");
    (nums[0], nums[1], nums[2], nums[3])
}

#[test]
fn every_mel_case_matches_librosa() {
    let files = cases("mel", "p");
    assert!(
        files.len() >= 20,
        "expected >= 20 mel cases, found {}",
        files.len()
    );
    let mut worst_in_window = 0f64;
    for case_path in files {
        let name = case_path.file_name().unwrap().to_string_lossy().to_string();
        let case = load(&case_path);
        let cfg = config_from_params(&case["params"]);
        let wav_path = fixtures_dir()
            .join("mel")
            .join(case["inputs"]["wav"].as_str().unwrap());
        let audio = wav::decode_file(&wav_path).unwrap();
        assert_eq!(audio.sample_rate(), cfg.sample_rate, "{name}");
        let y = audio.into_mono();
        let mut ex = MelExtractor::new(&cfg).unwrap_or_else(|e| panic!("{name}: {e}"));
        let exp = &case["expected"];
        if exp.get("error").is_some_and(|e| !e.is_null()) {
            let got = ex.extract(&y);
            assert!(
                matches!(got, Err(MelError::TooShort { .. })),
                "{name}: librosa refuses ({}), we returned {got:?}",
                exp["error"]
            );
            continue;
        }
        let want = f32_matrix(&exp["log_mel_db"]);
        let got = ex.extract(&y).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(got.n_mels(), want.len(), "{name}");
        assert_eq!(got.n_frames(), want[0].len(), "{name}");
        let (tol, window, floor, tol_out) = tolerances(&case);
        let max = want
            .iter()
            .flatten()
            .fold(f32::NEG_INFINITY, |a, &b| a.max(b)) as f64;
        for (m, row) in want.iter().enumerate() {
            for (t, &w) in row.iter().enumerate() {
                let (w, g) = (f64::from(w), f64::from(got.get(m, t)));
                let d = (g - w).abs();
                if w >= max - window {
                    worst_in_window = worst_in_window.max(d);
                    assert!(
                        d <= tol,
                        "{name}: band {m} frame {t}: got {g} want {w} (|diff| {d} > {tol})"
                    );
                } else {
                    assert!(
                        g < max - floor || d <= tol_out,
                        "{name}: band {m} frame {t}: got {g} want {w} (max {max})"
                    );
                }
            }
        }
        // The mel power before dB, relative to the clip's max, where it matters.
        let want_p = f32_matrix(&exp["mel_power"]);
        let got_p = ex.mel_spectrogram(&y).unwrap();
        let pmax = want_p.iter().flatten().fold(0f32, |a, &b| a.max(b)) as f64;
        for (m, row) in want_p.iter().enumerate() {
            for (t, &w) in row.iter().enumerate() {
                let (w, g) = (f64::from(w), f64::from(got_p.get(m, t)));
                if w >= pmax * 1e-6 {
                    assert!(
                        (g - w).abs() <= 2.5e-4 * w,
                        "{name}: power band {m} frame {t}: {g} vs {w}"
                    );
                }
            }
        }
    }
    // Far tighter than the cases ask: the figure the README quotes.
    assert!(
        worst_in_window < 1e-3,
        "worst in-window |diff| {worst_in_window} dB"
    );
    eprintln!("worst in-window |diff| over all mel cases: {worst_in_window:.2e} dB");
}

#[test]
fn filterbanks_match_librosa_within_1e6_relative() {
    for case_path in cases("mel", "filterbank_") {
        let name = case_path.display().to_string();
        let case = load(&case_path);
        let p = &case["params"];
        let fb = MelFilterbank::new(
            p["sr"].as_f64().unwrap(),
            p["n_fft"].as_u64().unwrap() as usize,
            p["n_mels"].as_u64().unwrap() as usize,
            p["fmin"].as_f64().unwrap(),
            p["fmax_used"].as_f64().unwrap(),
            if p["htk"].as_bool().unwrap() {
                MelScale::Htk
            } else {
                MelScale::Slaney
            },
            p["norm"].as_str().map(|_| MelNorm::Slaney),
        );
        let want = f32_matrix(&case["expected"]["weights"]);
        let dense = fb.to_dense();
        assert_eq!(want.len(), fb.n_mels(), "{name}");
        assert_eq!(want[0].len(), fb.n_bins(), "{name}");
        let mut nonzero = 0;
        for (m, row) in want.iter().enumerate() {
            for (k, &w) in row.iter().enumerate() {
                let g = dense[m * fb.n_bins() + k];
                assert!(
                    (f64::from(g) - f64::from(w)).abs() <= 1e-6 * f64::from(w.abs()),
                    "{name}: weight [{m}][{k}] {g} vs {w}"
                );
                nonzero += usize::from(w != 0.0);
            }
        }
        // Sparse storage keeps exactly the non-zero run of each band.
        let stored: usize = (0..fb.n_mels()).map(|m| fb.band(m).1.len()).sum();
        assert_eq!(stored, nonzero, "{name}: sparse bank stores zeros");
        let edges = f64_vec(&case["expected"]["band_edges_hz"]);
        for (g, w) in fb.band_edges_hz().iter().zip(&edges) {
            assert!(
                (g - w).abs() <= 1e-9 * w.abs().max(1.0),
                "{name}: edge {g} vs {w}"
            );
        }
    }
}

#[test]
fn uncentered_short_clip_is_refused_like_librosa() {
    let cfg = MelConfig {
        center: false,
        ..MelConfig::default()
    };
    let mut ex = MelExtractor::new(&cfg).unwrap();
    assert_eq!(
        ex.extract(&[0.0; 511]),
        Err(MelError::TooShort {
            len: 511,
            n_fft: 512
        })
    );
    assert_eq!(ex.extract(&[0.0; 512]).unwrap().n_frames(), 1);
}

/// Extra librosa cases generated outside the repository (same JSON layout as the fixtures,
/// `params` + `inputs.wav` + `expected.{log_mel_db, mel_power | error}`), for sweeping many
/// parameter combinations: `SONOTAG_EXTRA_MEL_CASES=dir cargo test -- --ignored extra`.
#[test]
#[ignore = "needs SONOTAG_EXTRA_MEL_CASES pointing at generated librosa cases"]
fn extra_mel_cases_from_env() {
    let dir = std::path::PathBuf::from(
        std::env::var("SONOTAG_EXTRA_MEL_CASES").expect("set SONOTAG_EXTRA_MEL_CASES"),
    );
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no cases in {}", dir.display());
    let (mut worst, mut n_ok, mut n_err, mut n_over_1e3) = (0f64, 0, 0, 0);
    for case_path in files {
        let name = case_path.file_name().unwrap().to_string_lossy().to_string();
        let case = load(&case_path);
        let cfg = config_from_params(&case["params"]);
        let y = wav::decode_file(dir.join(case["inputs"]["wav"].as_str().unwrap()))
            .unwrap()
            .into_mono();
        let mut ex = MelExtractor::new(&cfg).unwrap_or_else(|e| panic!("{name}: {e}"));
        let exp = &case["expected"];
        if let Some(err) = exp.get("error") {
            let got = ex.extract(&y);
            assert!(
                got.is_err(),
                "{name}: librosa refuses ({err}), we returned Ok"
            );
            n_err += 1;
            continue;
        }
        let want = f32_matrix(&exp["log_mel_db"]);
        let got = ex
            .extract(&y)
            .unwrap_or_else(|e| panic!("{name}: {e} ({cfg:?})"));
        assert_eq!(
            (got.n_mels(), got.n_frames()),
            (want.len(), want[0].len()),
            "{name}"
        );
        let window = if cfg.power == 2.0 { 60.0 } else { 30.0 };
        let max = want
            .iter()
            .flatten()
            .fold(f32::NEG_INFINITY, |a, &b| a.max(b)) as f64;
        for (m, row) in want.iter().enumerate() {
            for (t, &w) in row.iter().enumerate() {
                let (w, g) = (f64::from(w), f64::from(got.get(m, t)));
                let d = (g - w).abs();
                if w >= max - window {
                    worst = worst.max(d);
                    // Ten times tighter than the fixtures' suggested 0.01 dB.
                    assert!(d <= 1e-3, "{name}: [{m}][{t}] got {g} want {w} ({cfg:?})");
                    n_over_1e3 += usize::from(d > 1e-3);
                } else {
                    assert!(
                        g < max - (window - 10.0) || d <= 3.0,
                        "{name}: [{m}][{t}] {g} vs {w}"
                    );
                }
            }
        }
        n_ok += 1;
    }
    eprintln!(
        "{n_ok} cases matched (worst in-window {worst:.2e} dB, {n_over_1e3} values > 1e-3 dB), {n_err} refusals matched"
    );
}
