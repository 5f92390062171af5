//! Calibration behaviour beyond the fixtures: degenerate data never diverge, recovery of a known
//! temperature, calibrator serialisation and application, reliability bins, saturation verdicts,
//! the binned streaming bound, and input validation.

use burn::tensor::{Device, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sonotag_metrics::{
    BinnedConfig, Binning, Calibrator, FitStatus, MetricsError, PlattOptions, ScoreMatrix,
    StreamingRanking, TargetMatrix, TemperatureOptions, calibration::calibration_error_from_bins,
    calibration_error, fit_platt, fit_temperature, negative_log_likelihood, nll_from_logits,
    ranking_metrics, reliability_curve, saturation_report,
};

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Logits `factor * t` with `y ~ Bernoulli(sigmoid(t))`, `t ~ U(-4, 4)`.
fn scaled(n: usize, factor: f64, seed: u64) -> (Vec<f32>, Vec<u8>) {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let t = rng.random_range(-4.0..4.0);
            (
                (factor * t) as f32,
                u8::from(rng.random::<f64>() < sigmoid(t)),
            )
        })
        .unzip()
}

#[test]
fn temperature_recovers_the_generating_factor() {
    let (z, y) = scaled(200_000, 2.0, 7);
    let fit = fit_temperature(&z, &y, &TemperatureOptions::default()).unwrap();
    assert_eq!(fit.status, FitStatus::Converged);
    assert!(
        (fit.temperature - 2.0).abs() < 0.05,
        "T = {}",
        fit.temperature
    );
    assert!(fit.nll_after < fit.nll_before);
    let (z, y) = scaled(200_000, 1.0, 8);
    let fit = fit_temperature(&z, &y, &TemperatureOptions::default()).unwrap();
    assert!(
        (fit.temperature - 1.0).abs() < 0.03,
        "T = {}",
        fit.temperature
    );
}

#[test]
fn separable_data_hit_the_bounds_without_diverging() {
    let z = [3.0f32, 2.0, 0.5, -0.5, -2.0, -3.0];
    let y = [1u8, 1, 1, 0, 0, 0];
    let t = fit_temperature(&z, &y, &TemperatureOptions::default()).unwrap();
    assert_eq!(t.status, FitStatus::AtBound);
    assert_eq!(t.temperature, 0.05);
    assert!(t.nll_after.is_finite() && t.nll_after < t.nll_before);

    let p = fit_platt(&z, &y, &PlattOptions::default()).unwrap();
    assert_eq!(p.status, FitStatus::AtBound, "{p:?}");
    assert!(
        p.a.abs() <= 1000.0 && p.b.abs() <= 1000.0 && p.a > 0.0,
        "{p:?}"
    );
    assert!(p.nll_after.is_finite() && p.nll_after < 1e-6, "{p:?}");

    // Separable in the wrong direction: a turns negative, still bounded.
    let y_rev = [0u8, 0, 0, 1, 1, 1];
    let p = fit_platt(&z, &y_rev, &PlattOptions::default()).unwrap();
    assert!(p.a < 0.0 && p.a >= -1000.0 && p.nll_after < 1e-6, "{p:?}");
    let t = fit_temperature(&z, &y_rev, &TemperatureOptions::default()).unwrap();
    assert_eq!((t.status, t.temperature), (FitStatus::AtBound, 50.0));
}

#[test]
fn single_class_and_constant_inputs_return_the_identity() {
    let z = [1.0f32, -2.0, 0.3];
    for y in [[0u8, 0, 0], [1, 1, 1]] {
        let t = fit_temperature(&z, &y, &TemperatureOptions::default()).unwrap();
        assert_eq!((t.status, t.temperature), (FitStatus::SingleClass, 1.0));
        let p = fit_platt(&z, &y, &PlattOptions::default()).unwrap();
        assert_eq!((p.status, p.a, p.b), (FitStatus::SingleClass, 1.0, 0.0));
    }
    let t = fit_temperature(&[0.0; 4], &[0, 1, 0, 1], &TemperatureOptions::default()).unwrap();
    assert_eq!((t.status, t.temperature), (FitStatus::ConstantLogits, 1.0));

    // Per label: one label single-class, one normal; both finite.
    let (z2, y2) = scaled(2000, 3.0, 3);
    let mut z = Vec::new();
    let mut y = Vec::new();
    for i in 0..2000 {
        z.extend([z2[i], z2[i]]);
        y.extend([0u8, y2[i]]);
    }
    let (s, t) = (
        ScoreMatrix::new(&z, 2000, 2).unwrap(),
        TargetMatrix::new(&y, 2000, 2).unwrap(),
    );
    let (cal, fits) =
        Calibrator::fit_per_label_temperature(&s, &t, &TemperatureOptions::default()).unwrap();
    assert_eq!(fits[0].status, FitStatus::SingleClass);
    assert!((fits[1].temperature - 3.0).abs() < 0.4, "{:?}", fits[1]);
    assert!(cal.probabilities(&s).unwrap().iter().all(|p| p.is_finite()));
}

#[test]
fn bad_calibration_inputs_are_errors() {
    assert!(matches!(
        fit_temperature(&[], &[], &TemperatureOptions::default()),
        Err(MetricsError::EmptyInput(_))
    ));
    assert!(fit_temperature(&[1.0, f32::NAN], &[0, 1], &TemperatureOptions::default()).is_err());
    assert!(
        fit_temperature(
            &[1.0, f32::INFINITY],
            &[0, 1],
            &TemperatureOptions::default()
        )
        .is_err()
    );
    assert!(fit_temperature(&[1.0], &[0, 1], &TemperatureOptions::default()).is_err());
    assert!(fit_temperature(&[1.0, 2.0], &[0, 2], &TemperatureOptions::default()).is_err());
    let bad = TemperatureOptions {
        min_temperature: 0.0,
        ..Default::default()
    };
    assert!(fit_temperature(&[1.0, 2.0], &[0, 1], &bad).is_err());
    let bad = PlattOptions {
        max_abs_parameter: f64::NAN,
        ..Default::default()
    };
    assert!(fit_platt(&[1.0, 2.0], &[0, 1], &bad).is_err());
    assert!(calibration_error(&[0.5, 1.5], &[0, 1], 15).is_err());
    assert!(calibration_error(&[0.5, 0.5], &[0, 1], 0).is_err());
}

#[test]
fn calibrators_serialise_validate_and_apply() {
    let all = [
        Calibrator::Identity,
        Calibrator::Temperature { temperature: 2.0 },
        Calibrator::PerLabelTemperature {
            temperatures: vec![0.5, 4.0],
        },
        Calibrator::Platt {
            a: vec![1.5, -0.5],
            b: vec![0.25, 1.0],
        },
    ];
    let z = [1.0f32, -2.0, 0.0, 3.0, -80.0, 90.0];
    let s = ScoreMatrix::new(&z, 3, 2).unwrap();
    let device = Device::flex();
    for c in &all {
        let json = serde_json::to_string(c).unwrap();
        let back: Calibrator = serde_json::from_str(&json).unwrap();
        assert_eq!(&back, c, "{json}");
        let p = c.probabilities(&s).unwrap();
        let pt = c
            .probabilities_tensor(Tensor::<2>::from_data(
                TensorData::new(z.to_vec(), [3, 2]),
                &device,
            ))
            .unwrap()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        for i in 0..6 {
            let j = i % 2;
            let logit = f64::from(z[i]);
            let expected = match c {
                Calibrator::Identity => sigmoid(logit),
                Calibrator::Temperature { temperature } => sigmoid(logit / temperature),
                Calibrator::PerLabelTemperature { temperatures } => {
                    sigmoid(logit / temperatures[j])
                }
                Calibrator::Platt { a, b } => sigmoid(a[j] * logit + b[j]),
            };
            assert!((f64::from(p[i]) - expected).abs() < 1e-7, "{c:?} entry {i}");
            assert!(
                (f64::from(pt[i]) - expected).abs() < 1e-6,
                "{c:?} tensor entry {i}"
            );
        }
    }
    assert_eq!(
        serde_json::to_string(&all[3]).unwrap(),
        r#"{"kind":"platt","a":[1.5,-0.5],"b":[0.25,1.0]}"#
    );
    let bad: Calibrator =
        serde_json::from_str(r#"{"kind":"temperature","temperature":-1.0}"#).unwrap();
    assert!(bad.probabilities(&s).is_err());
    let short = Calibrator::PerLabelTemperature {
        temperatures: vec![1.0],
    };
    assert!(matches!(
        short.probabilities(&s),
        Err(MetricsError::ShapeMismatch { .. })
    ));
}

#[test]
fn reliability_bins_are_consistent() {
    let mut rng = StdRng::seed_from_u64(11);
    let p: Vec<f32> = (0..10_001).map(|_| rng.random::<f32>() * 0.999).collect();
    let y: Vec<u8> = p
        .iter()
        .map(|&v| u8::from(rng.random::<f32>() < v))
        .collect();
    let width = reliability_curve(&p, &y, Binning::EqualWidth(15)).unwrap();
    assert_eq!(width.iter().map(|b| b.count).sum::<usize>(), p.len());
    for b in &width {
        assert!(
            b.lower <= b.mean_predicted && b.mean_predicted <= b.upper,
            "{b:?}"
        );
    }
    // Without p = 1.0 the equal-width curve gives the torchmetrics ECE back.
    let direct = calibration_error(&p, &y, 15).unwrap();
    let from_bins = calibration_error_from_bins(&width);
    assert!(
        (direct.ece - from_bins.ece).abs() < 1e-12 && (direct.mce - from_bins.mce).abs() < 1e-12
    );
    // Calibrated by construction: small ECE.
    assert!(direct.ece < 0.03, "{direct:?}");

    let mass = reliability_curve(&p, &y, Binning::EqualMass(10)).unwrap();
    assert_eq!(mass.len(), 10);
    let sizes: Vec<usize> = mass.iter().map(|b| b.count).collect();
    assert_eq!(sizes.iter().sum::<usize>(), p.len());
    assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1);
    for w in mass.windows(2) {
        assert!(w[0].upper <= w[1].lower);
    }
}

#[test]
fn nll_of_probabilities_and_logits_agree() {
    let z = [0.3f32, -1.2, 2.5, -0.1, 4.0];
    let y = [1u8, 0, 1, 1, 0];
    let p: Vec<f32> = z.iter().map(|&v| sigmoid(f64::from(v)) as f32).collect();
    let a = negative_log_likelihood(&p, &y).unwrap();
    let b = nll_from_logits(&z, &y).unwrap();
    assert!((a - b).abs() < 1e-6, "{a} vs {b}");
    // A confident mistake is clipped, not infinite.
    assert!(negative_log_likelihood(&[0.0], &[1]).unwrap().is_finite());
    assert!((nll_from_logits(&[-1e4], &[1]).unwrap() - 1e4).abs() < 1e-9);
}

#[test]
fn saturation_verdicts() {
    let mut rng = StdRng::seed_from_u64(5);
    let n = 1000;
    let y: Vec<u8> = (0..n).map(|_| rng.random_range(0..2)).collect();
    let saturated: Vec<f32> = y
        .iter()
        .map(|&t| if t == 1 { 25.0 } else { -25.0 } + rng.random::<f32>())
        .collect();
    let r = saturation_report(&ScoreMatrix::new(&saturated, n, 1).unwrap(), None, 1e-3).unwrap();
    assert!(r.is_saturated());
    assert!(
        r.verdict.starts_with("100% of outputs are saturated"),
        "{}",
        r.verdict
    );
    assert!(r.verdict.contains("initialisation") && r.verdict.contains("loss"));

    let healthy: Vec<f32> = y
        .iter()
        .map(|&t| if t == 1 { 1.0 } else { -1.0 } + rng.random::<f32>() - 0.5)
        .collect();
    let t = TargetMatrix::new(&y, n, 1).unwrap();
    let r = saturation_report(&ScoreMatrix::new(&healthy, n, 1).unwrap(), Some(&t), 1e-3).unwrap();
    assert!(!r.is_saturated() && r.saturated_share == 0.0);
    assert!(r.verdict.starts_with("no saturation"), "{}", r.verdict);
    let observed = y.iter().filter(|&&v| v == 1).count() as f64 / n as f64;
    assert_eq!(r.per_label[0].observed_rate, Some(observed));

    let constant = vec![0.01f32; n];
    let r = saturation_report(&ScoreMatrix::new(&constant, n, 1).unwrap(), None, 1e-3).unwrap();
    assert!(r.verdict.contains("nearly constant"), "{}", r.verdict);

    let shifted: Vec<f32> = healthy.iter().map(|v| v + 3.0).collect();
    let r = saturation_report(&ScoreMatrix::new(&shifted, n, 1).unwrap(), Some(&t), 1e-3).unwrap();
    assert!(r.verdict.contains("miscalibrated"), "{}", r.verdict);

    assert!(saturation_report(&ScoreMatrix::new(&healthy, n, 1).unwrap(), None, 0.7).is_err());
}

#[test]
fn ten_thousand_bins_keep_the_error_tiny() {
    let (n, l) = (100_000, 2);
    let mut rng = StdRng::seed_from_u64(9);
    let y: Vec<u8> = (0..n * l)
        .map(|_| u8::from(rng.random::<f64>() < 0.2))
        .collect();
    let s: Vec<f32> = y
        .iter()
        .map(|&t| {
            sigmoid(if t == 1 { 1.0 } else { -1.0 } + 2.0 * (rng.random::<f64>() - 0.5) * 3.0)
                as f32
        })
        .collect();
    let (sm, tm) = (
        ScoreMatrix::new(&s, n, l).unwrap(),
        TargetMatrix::new(&y, n, l).unwrap(),
    );
    let exact = ranking_metrics(&sm, &tm).unwrap();
    let mut acc = StreamingRanking::binned(l, BinnedConfig::default()).unwrap();
    for chunk in 0..10 {
        let rows = chunk * n / 10..(chunk + 1) * n / 10;
        let k = rows.len();
        acc.push(
            &ScoreMatrix::new(&s[rows.start * l..rows.end * l], k, l).unwrap(),
            &TargetMatrix::new(&y[rows.start * l..rows.end * l], k, l).unwrap(),
        )
        .unwrap();
    }
    let out = acc.finish();
    assert_eq!(out.n_samples, n);
    let bound = out.error_bound.unwrap();
    for j in 0..l {
        let (e, b, err) = (
            exact.roc_auc.per_label[j].unwrap(),
            out.metrics.roc_auc.per_label[j].unwrap(),
            bound.roc_auc_per_label[j].unwrap(),
        );
        assert!(
            (e - b).abs() <= err && err < 1e-3,
            "AUC {e} vs {b}, bound {err}"
        );
        let (e, b, err) = (
            exact.average_precision.per_label[j].unwrap(),
            out.metrics.average_precision.per_label[j].unwrap(),
            bound.average_precision_per_label[j].unwrap(),
        );
        assert!(
            (e - b).abs() <= err && err < 1e-2,
            "AP {e} vs {b}, bound {err}"
        );
    }
    assert!(
        StreamingRanking::binned(
            2,
            BinnedConfig {
                n_bins: 0,
                ..Default::default()
            }
        )
        .is_err()
    );
    // Bin counts from outside are bounded before the histograms are allocated.
    for (n_bins, n_labels, field) in [
        (usize::MAX, 2, "n_bins"),
        ((1 << 20) + 1, 1, "n_bins"),
        (1 << 20, 1 << 10, "n_bins x n_labels"),
    ] {
        let err = StreamingRanking::binned(
            n_labels,
            BinnedConfig {
                n_bins,
                ..Default::default()
            },
        )
        .err()
        .unwrap();
        assert!(
            matches!(err, MetricsError::OutOfRange { field: f, .. } if f == field),
            "{err}"
        );
    }
    assert!(
        StreamingRanking::binned(
            2,
            BinnedConfig {
                lower: 1.0,
                upper: 0.0,
                ..Default::default()
            }
        )
        .is_err()
    );
}

#[test]
fn matrix_validation_names_the_entry() {
    let e = ScoreMatrix::new(&[0.1, 0.2, f32::NAN, 0.4], 2, 2).unwrap_err();
    assert!(
        matches!(e, MetricsError::NanScore { row: 1, label: 0 }),
        "{e:?}"
    );
    let e = TargetMatrix::new(&[0, 1, 1, 3], 2, 2).unwrap_err();
    assert!(
        matches!(
            e,
            MetricsError::InvalidTarget {
                row: 1,
                label: 1,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(matches!(
        ScoreMatrix::new(&[0.1; 3], 2, 2),
        Err(MetricsError::ShapeMismatch { .. })
    ));
    let s = ScoreMatrix::new(&[0.1; 4], 2, 2).unwrap();
    let t = TargetMatrix::new(&[0; 4], 4, 1).unwrap();
    assert!(matches!(
        ranking_metrics(&s, &t),
        Err(MetricsError::ShapeMismatch { .. })
    ));
    let mut acc = StreamingRanking::exact(3);
    assert!(
        acc.push(&s, &TargetMatrix::new(&[0; 4], 2, 2).unwrap())
            .is_err()
    );
}
