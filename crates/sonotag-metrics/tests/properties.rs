//! Property tests: ranking metrics against brute-force definitions and their invariances,
//! threshold metrics against direct counting, streaming against batch, and calibration that
//! helps on held-out data from a known miscalibrated generator.

use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sonotag_metrics::{
    BinnedConfig, Calibrator, PlattOptions, ScoreMatrix, StreamingRanking, TargetMatrix,
    TemperatureOptions, best_f1_thresholds, calibration_error, precision_recall_curve,
    ranking_metrics, ranking_per_label, roc_curve, threshold_metrics,
};

/// AUC by counting pairs (Mann-Whitney), ties 1/2.
fn brute_auc(s: &[f32], y: &[u8]) -> Option<f64> {
    let (mut num, mut pairs) = (0.0, 0u64);
    for i in 0..s.len() {
        for j in 0..s.len() {
            if y[i] == 1 && y[j] == 0 {
                pairs += 1;
                num += if s[i] > s[j] {
                    1.0
                } else if s[i] == s[j] {
                    0.5
                } else {
                    0.0
                };
            }
        }
    }
    (pairs > 0).then(|| num / pairs as f64)
}

/// AP from its definition: for each distinct threshold t (descending), the recall gained times
/// the precision of `score >= t`.
fn brute_ap(s: &[f32], y: &[u8]) -> Option<f64> {
    let p = y.iter().filter(|&&v| v == 1).count();
    if p == 0 {
        return None;
    }
    let mut thresholds: Vec<f32> = s.to_vec();
    thresholds.sort_by(|a, b| b.total_cmp(a));
    thresholds.dedup();
    let (mut ap, mut prev_recall) = (0.0, 0.0);
    for t in thresholds {
        let tp = s
            .iter()
            .zip(y)
            .filter(|(v, l)| **v >= t && **l == 1)
            .count();
        let predicted = s.iter().filter(|v| **v >= t).count();
        let recall = tp as f64 / p as f64;
        ap += (recall - prev_recall) * tp as f64 / predicted as f64;
        prev_recall = recall;
    }
    Some(ap)
}

fn auc1(s: &[f32], y: &[u8]) -> Option<f64> {
    let sm = ScoreMatrix::new(s, s.len(), 1).unwrap();
    let tm = TargetMatrix::new(y, y.len(), 1).unwrap();
    ranking_per_label(&sm, &tm).unwrap()[0].roc_auc
}

fn close(a: Option<f64>, b: Option<f64>, tol: f64) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() <= tol,
        (None, None) => true,
        _ => false,
    }
}

/// Scores on a coarse grid (many ties) and targets.
fn label_data(max_len: usize) -> impl Strategy<Value = (Vec<f32>, Vec<u8>)> {
    (1..max_len).prop_flat_map(|n| {
        (
            prop::collection::vec((0u32..40).prop_map(|k| k as f32 / 32.0 - 0.25), n),
            prop::collection::vec(0u8..=1, n),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn auc_and_ap_match_brute_force((s, y) in label_data(60)) {
        let sm = ScoreMatrix::new(&s, s.len(), 1).unwrap();
        let tm = TargetMatrix::new(&y, y.len(), 1).unwrap();
        let r = ranking_per_label(&sm, &tm).unwrap()[0];
        prop_assert!(close(r.roc_auc, brute_auc(&s, &y), 1e-12));
        prop_assert!(close(r.average_precision, brute_ap(&s, &y), 1e-12));
        if let Some(a) = r.roc_auc {
            prop_assert!((0.0..=1.0).contains(&a));
        }
    }

    #[test]
    fn auc_of_one_minus_score_is_one_minus_auc((s, y) in label_data(80)) {
        // Scores are multiples of 1/32, so 1 - s is exact and keeps every tie.
        let flipped: Vec<f32> = s.iter().map(|v| 1.0 - v).collect();
        match (auc1(&s, &y), auc1(&flipped, &y)) {
            (Some(a), Some(b)) => prop_assert!((a + b - 1.0).abs() < 1e-12),
            (a, b) => prop_assert!(a.is_none() && b.is_none()),
        }
        let negated: Vec<f32> = s.iter().map(|v| -v).collect();
        prop_assert!(close(auc1(&negated, &y), auc1(&flipped, &y), 1e-15));
    }

    #[test]
    fn metrics_are_invariant_to_increasing_transforms((s, y) in label_data(80)) {
        // exp, a cube, an affine map and a sigmoid are strictly increasing, and on this grid
        // they stay strictly increasing after rounding to f32.
        let transforms: [fn(f32) -> f32; 4] = [
            |v| (f64::from(v) * 3.0).exp() as f32,
            |v| v * v * v,
            |v| 4.0 * v + 7.0,
            |v| (1.0 / (1.0 + (-f64::from(v) * 5.0).exp())) as f32,
        ];
        let sm = ScoreMatrix::new(&s, s.len(), 1).unwrap();
        let tm = TargetMatrix::new(&y, y.len(), 1).unwrap();
        let base = ranking_per_label(&sm, &tm).unwrap()[0];
        for f in transforms {
            let t: Vec<f32> = s.iter().map(|&v| f(v)).collect();
            let r = ranking_per_label(&ScoreMatrix::new(&t, t.len(), 1).unwrap(), &tm).unwrap()[0];
            prop_assert!(close(r.roc_auc, base.roc_auc, 1e-15));
            prop_assert!(close(r.average_precision, base.average_precision, 1e-15));
        }
    }

    #[test]
    fn curves_agree_with_the_scalar_metrics((s, y) in label_data(60)) {
        let p = y.iter().filter(|&&v| v == 1).count();
        if p > 0 && p < y.len() {
            let roc = roc_curve(&s, &y, true).unwrap();
            let area: f64 = roc.fpr.windows(2).zip(roc.tpr.windows(2))
                .map(|(f, t)| (f[1] - f[0]) * (t[1] + t[0]) / 2.0).sum();
            prop_assert!(close(Some(area), auc1(&s, &y), 1e-12));
            prop_assert_eq!(roc.fpr.last().copied(), Some(1.0));
        }
        let pr = precision_recall_curve(&s, &y).unwrap();
        if p > 0 {
            // AP = sum (R_n - R_{n+1}) P_n with recall decreasing along the curve.
            let ap: f64 = (0..pr.thresholds.len())
                .map(|k| (pr.recall[k] - pr.recall[k + 1]) * pr.precision[k]).sum();
            prop_assert!(close(Some(ap), brute_ap(&s, &y), 1e-12));
        }
    }

    #[test]
    fn threshold_metrics_match_direct_counts(
        (n, l, seed) in (1usize..30, 1usize..6, any::<u64>()),
        threshold in 0.0f32..1.0,
    ) {
        let mut rng = StdRng::seed_from_u64(seed);
        let s: Vec<f32> = (0..n * l).map(|_| (rng.random_range(0..11) as f32) / 10.0).collect();
        let y: Vec<u8> = (0..n * l).map(|_| rng.random_range(0..2)).collect();
        let m = threshold_metrics(
            &ScoreMatrix::new(&s, n, l).unwrap(), &TargetMatrix::new(&y, n, l).unwrap(), threshold, 0.0,
        ).unwrap();
        let pred: Vec<bool> = s.iter().map(|&v| v >= threshold).collect();
        let mut f1_sum = 0.0;
        for j in 0..l {
            let (mut tp, mut fp, mut fneg) = (0, 0, 0);
            for i in 0..n {
                match (pred[i * l + j], y[i * l + j] == 1) {
                    (true, true) => tp += 1,
                    (true, false) => fp += 1,
                    (false, true) => fneg += 1,
                    _ => {}
                }
            }
            let f1 = if 2 * tp + fp + fneg == 0 { 0.0 } else { 2.0 * tp as f64 / (2 * tp + fp + fneg) as f64 };
            prop_assert!((m.f1.per_label[j] - f1).abs() < 1e-12);
            f1_sum += f1;
        }
        prop_assert!((m.f1.macro_average - f1_sum / l as f64).abs() < 1e-12);
        let wrong = pred.iter().zip(&y).filter(|(p, t)| **p != (**t == 1)).count();
        prop_assert!((m.hamming_loss - wrong as f64 / (n * l) as f64).abs() < 1e-12);
        let exact = (0..n).filter(|i| (0..l).all(|j| pred[i * l + j] == (y[i * l + j] == 1))).count();
        prop_assert!((m.subset_accuracy - exact as f64 / n as f64).abs() < 1e-12);
    }

    #[test]
    fn best_threshold_is_optimal_and_reproducible((s, y) in label_data(50)) {
        let sm = ScoreMatrix::new(&s, s.len(), 1).unwrap();
        let tm = TargetMatrix::new(&y, y.len(), 1).unwrap();
        let best = best_f1_thresholds(&sm, &tm).unwrap()[0];
        match best.threshold {
            None => prop_assert!(y.iter().all(|&v| v == 0)),
            Some(t) => {
                let at = threshold_metrics(&sm, &tm, t, 0.0).unwrap();
                prop_assert!((at.f1.per_label[0] - best.f1).abs() < 1e-12);
                for &other in &s {
                    let f = threshold_metrics(&sm, &tm, other, 0.0).unwrap().f1.per_label[0];
                    prop_assert!(f <= best.f1 + 1e-12);
                }
            }
        }
    }

    #[test]
    fn streaming_exact_equals_batch(
        (n, l, seed) in (2usize..200, 1usize..5, any::<u64>()),
        cut in 0.0f64..1.0,
    ) {
        let mut rng = StdRng::seed_from_u64(seed);
        let s: Vec<f32> = (0..n * l).map(|_| rng.random_range(0..50) as f32 / 49.0).collect();
        let y: Vec<u8> = (0..n * l).map(|_| rng.random_range(0..2)).collect();
        let k = ((n as f64 * cut) as usize).min(n);
        let mut acc = StreamingRanking::exact(l);
        acc.push(&ScoreMatrix::new(&s[..k * l], k, l).unwrap(), &TargetMatrix::new(&y[..k * l], k, l).unwrap()).unwrap();
        acc.push(&ScoreMatrix::new(&s[k * l..], n - k, l).unwrap(), &TargetMatrix::new(&y[k * l..], n - k, l).unwrap()).unwrap();
        let streamed = acc.finish();
        let batch = ranking_metrics(&ScoreMatrix::new(&s, n, l).unwrap(), &TargetMatrix::new(&y, n, l).unwrap()).unwrap();
        prop_assert_eq!(streamed.n_samples, n);
        prop_assert_eq!(streamed.metrics, batch);
    }

    #[test]
    fn binned_streaming_stays_within_its_bound(
        (n, seed) in (50usize..2000, any::<u64>()),
        n_bins in 1usize..200,
    ) {
        let l = 3;
        let mut rng = StdRng::seed_from_u64(seed);
        let y: Vec<u8> = (0..n * l).map(|_| rng.random_range(0..2)).collect();
        let s: Vec<f32> = y.iter().map(|&t| {
            let z = if t == 1 { 0.8 } else { -0.8 } + 2.0 * (rng.random::<f64>() - 0.5) * 2.0;
            (1.0 / (1.0 + (-z).exp())) as f32
        }).collect();
        let sm = ScoreMatrix::new(&s, n, l).unwrap();
        let tm = TargetMatrix::new(&y, n, l).unwrap();
        let exact = ranking_metrics(&sm, &tm).unwrap();
        let mut acc = StreamingRanking::binned(l, BinnedConfig { n_bins, lower: 0.0, upper: 1.0 }).unwrap();
        acc.push(&sm, &tm).unwrap();
        let out = acc.finish();
        let bound = out.error_bound.unwrap();
        for j in 0..l {
            if let (Some(e), Some(b), Some(err)) = (exact.roc_auc.per_label[j], out.metrics.roc_auc.per_label[j], bound.roc_auc_per_label[j]) {
                prop_assert!((e - b).abs() <= err + 1e-12, "AUC label {}: |{} - {}| > {}", j, e, b, err);
            }
            if let (Some(e), Some(b), Some(err)) = (exact.average_precision.per_label[j], out.metrics.average_precision.per_label[j], bound.average_precision_per_label[j]) {
                prop_assert!((e - b).abs() <= err + 1e-12, "AP label {}: |{} - {}| > {}", j, e, b, err);
            }
        }
        if let (Some(e), Some(b), Some(err)) = (exact.roc_auc.micro_average, out.metrics.roc_auc.micro_average, bound.roc_auc_micro) {
            prop_assert!((e - b).abs() <= err + 1e-12);
        }
    }
}

/// Miscalibrated generator: true logit t ~ N(shift, 1.5^2), y ~ Bernoulli(sigmoid(t)); the model
/// reports `scale * t + offset`.
fn generate(rng: &mut StdRng, n: usize, l: usize, scale: f64, offset: f64) -> (Vec<f32>, Vec<u8>) {
    let mut z = Vec::with_capacity(n * l);
    let mut y = Vec::with_capacity(n * l);
    for _ in 0..n * l {
        let u1: f64 = rng.random::<f64>().max(1e-300);
        let u2: f64 = rng.random();
        let t = 1.5 * (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos() - 0.5;
        y.push(u8::from(rng.random::<f64>() < 1.0 / (1.0 + (-t).exp())));
        z.push((scale * t + offset) as f32);
    }
    (z, y)
}

fn held_out_ece(calibrator: &Calibrator, z: &[f32], y: &[u8], n: usize, l: usize) -> f64 {
    let p = calibrator
        .probabilities(&ScoreMatrix::new(z, n, l).unwrap())
        .unwrap();
    calibration_error(&p, y, 15).unwrap().ece
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// The generator is miscalibrated by a scale only: a fitted temperature must not make the
    /// held-out ECE worse.
    #[test]
    fn temperature_does_not_worsen_held_out_ece(
        seed in any::<u64>(),
        scale in prop_oneof![0.3f64..0.6, 1.8f64..4.0],
    ) {
        let mut rng = StdRng::seed_from_u64(seed);
        let (n, l) = (4000, 2);
        let (z_fit, y_fit) = generate(&mut rng, n, l, scale, 0.0);
        let (z_test, y_test) = generate(&mut rng, n, l, scale, 0.0);
        let fit = (ScoreMatrix::new(&z_fit, n, l).unwrap(), TargetMatrix::new(&y_fit, n, l).unwrap());
        let raw = held_out_ece(&Calibrator::Identity, &z_test, &y_test, n, l);
        let (one, _) = Calibrator::fit_temperature(&fit.0, &fit.1, &TemperatureOptions::default()).unwrap();
        let (per_label, _) = Calibrator::fit_per_label_temperature(&fit.0, &fit.1, &TemperatureOptions::default()).unwrap();
        let one_ece = held_out_ece(&one, &z_test, &y_test, n, l);
        let per_label_ece = held_out_ece(&per_label, &z_test, &y_test, n, l);
        prop_assert!(one_ece <= raw, "temperature {} vs raw {}", one_ece, raw);
        prop_assert!(per_label_ece <= raw, "per-label temperature {} vs raw {}", per_label_ece, raw);
    }

    /// The generator is miscalibrated by a scale and an offset: Platt scaling must not make the
    /// held-out ECE worse, and must bring it near the sampling noise.
    #[test]
    fn platt_does_not_worsen_held_out_ece(
        seed in any::<u64>(),
        scale in prop_oneof![0.3f64..0.6, 1.8f64..4.0],
        offset in -1.0f64..1.0,
    ) {
        let mut rng = StdRng::seed_from_u64(seed);
        let (n, l) = (4000, 2);
        let (z_fit, y_fit) = generate(&mut rng, n, l, scale, offset);
        let (z_test, y_test) = generate(&mut rng, n, l, scale, offset);
        let fit = (ScoreMatrix::new(&z_fit, n, l).unwrap(), TargetMatrix::new(&y_fit, n, l).unwrap());
        let raw = held_out_ece(&Calibrator::Identity, &z_test, &y_test, n, l);
        let (platt, _) = Calibrator::fit_platt(&fit.0, &fit.1, &PlattOptions::default()).unwrap();
        let platt_ece = held_out_ece(&platt, &z_test, &y_test, n, l);
        prop_assert!(platt_ece <= raw, "Platt {} vs raw {}", platt_ece, raw);
        prop_assert!(platt_ece < 0.03, "Platt ECE {}", platt_ece);
    }
}

/// AUC by mid-ranks after a standard comparison sort (an implementation independent of the
/// crate's radix sort and group walk).
fn rank_sum_auc(s: &[f32], y: &[u8]) -> Option<f64> {
    let mut idx: Vec<usize> = (0..s.len()).collect();
    idx.sort_by(|&a, &b| s[a].partial_cmp(&s[b]).expect("no NaN"));
    let (mut rank_sum, mut i) = (0.0f64, 0usize);
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && s[idx[j + 1]] == s[idx[i]] {
            j += 1;
        }
        let mid_rank = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += mid_rank * idx[i..=j].iter().filter(|&&k| y[k] == 1).count() as f64;
        i = j + 1;
    }
    let p = y.iter().filter(|&&v| v == 1).count() as f64;
    let n = y.len() as f64 - p;
    (p > 0.0 && n > 0.0).then(|| (rank_sum - p * (p + 1.0) / 2.0) / (p * n))
}

#[test]
fn large_inputs_take_the_radix_path_and_agree_with_a_reference() {
    // 100,000 samples: above the radix-sort cut-off. Scores mix signs, -0.0 and 0.0, exact
    // ties and infinities.
    let (n, l) = (100_000, 3);
    let mut rng = StdRng::seed_from_u64(42);
    let s: Vec<f32> = (0..n * l)
        .map(|i| match i % 97 {
            0 => 0.0,
            1 => -0.0,
            2 => f32::INFINITY,
            3 => f32::NEG_INFINITY,
            4 => 0.25,
            _ => (rng.random::<f64>() * 20.0 - 10.0) as f32,
        })
        .collect();
    let y: Vec<u8> = s
        .iter()
        .map(|&v| {
            u8::from(rng.random::<f64>() < 1.0 / (1.0 + (-f64::from(v).clamp(-30.0, 30.0)).exp()))
        })
        .collect();
    let sm = ScoreMatrix::new(&s, n, l).unwrap();
    let tm = TargetMatrix::new(&y, n, l).unwrap();
    let ours = ranking_metrics(&sm, &tm).unwrap();
    for j in 0..l {
        let col: Vec<f32> = s[j..].iter().step_by(l).copied().collect();
        let ycol: Vec<u8> = y[j..].iter().step_by(l).copied().collect();
        let expected = rank_sum_auc(&col, &ycol).unwrap();
        let got = ours.roc_auc.per_label[j].unwrap();
        assert!(
            (got - expected).abs() < 1e-12,
            "label {j}: {got} vs {expected}"
        );
    }
    let expected_micro = rank_sum_auc(&s, &y).unwrap();
    assert!((ours.roc_auc.micro_average.unwrap() - expected_micro).abs() < 1e-12);
    // The exact streaming mode sorts concatenated batches with the same radix sort.
    let mut acc = StreamingRanking::exact(l);
    let half = n / 2;
    acc.push(
        &ScoreMatrix::new(&s[..half * l], half, l).unwrap(),
        &TargetMatrix::new(&y[..half * l], half, l).unwrap(),
    )
    .unwrap();
    acc.push(
        &ScoreMatrix::new(&s[half * l..], n - half, l).unwrap(),
        &TargetMatrix::new(&y[half * l..], n - half, l).unwrap(),
    )
    .unwrap();
    assert_eq!(acc.finish().metrics, ours);
}
