//! Loss values and gradients: analytic forms, finite differences (in float64), extreme logits,
//! and input validation.

use burn::tensor::{DType, Device, Int, Tensor, TensorData};
use sonotag_metrics::loss::{
    BceWithLogitsConfig, FocalLossConfig, Reduction, SoftmaxCrossEntropyConfig,
};

const LOGITS: [f32; 12] = [
    0.0, 1e-3, -1e-3, 2.5, -2.5, 30.0, -30.0, 88.0, -88.0, 1e4, -1e4, 0.7,
];
const HARD: [f32; 12] = [1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0];
const SOFT: [f32; 12] = [
    0.5, 0.1, 0.9, 0.25, 0.75, 0.3, 0.6, 1.0, 0.0, 0.05, 0.95, 0.4,
];

fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        x.exp() / (1.0 + x.exp())
    }
}

fn t32(v: &[f32], shape: [usize; 2], device: &Device) -> Tensor<2> {
    Tensor::<2>::from_data(TensorData::new(v.to_vec(), shape), device)
}

fn t64(v: &[f64], shape: [usize; 2], device: &Device) -> Tensor<2> {
    Tensor::<2>::from_data(TensorData::new(v.to_vec(), shape), (device, DType::F64))
}

fn vec32(t: Tensor<2>) -> Vec<f64> {
    t.into_data()
        .try_to_vec::<f32>()
        .unwrap()
        .into_iter()
        .map(f64::from)
        .collect()
}

fn vec64(t: Tensor<2>) -> Vec<f64> {
    t.into_data().convert::<f64>().try_to_vec::<f64>().unwrap()
}

#[test]
fn bce_gradient_is_sigmoid_minus_target_over_n() {
    let device = Device::flex().autodiff();
    let loss = BceWithLogitsConfig::new().init(&device).unwrap();
    let x = t32(&LOGITS, [3, 4], &device).require_grad();
    let grads = loss
        .forward(x.clone(), t32(&HARD, [3, 4], &device))
        .unwrap()
        .backward();
    let g = vec32(x.grad(&grads).unwrap());
    for i in 0..12 {
        let expected = (sigmoid(f64::from(LOGITS[i])) - f64::from(HARD[i])) / 12.0;
        assert!(g[i].is_finite(), "gradient {i} not finite");
        assert!(
            (g[i] - expected).abs() < 1e-8,
            "logit {}: grad {} vs {expected}",
            LOGITS[i],
            g[i]
        );
    }
    // At x = 0 with y = 1 the gradient is -1/2 / N, not 0 (the max/abs form's failure).
    assert!((g[0] + 0.5 / 12.0).abs() < 1e-8);
}

#[test]
fn weighted_smoothed_soft_gradient_matches_closed_form() {
    let device = Device::flex().autodiff();
    let pw = [0.5f32, 2.0, 3.0, 1.0];
    let eps = 0.1f32;
    let loss = BceWithLogitsConfig::new()
        .with_pos_weight(pw.to_vec())
        .with_label_smoothing(eps)
        .with_reduction(Reduction::Sum)
        .init(&device)
        .unwrap();
    let x = t32(&LOGITS, [3, 4], &device).require_grad();
    let grads = loss
        .forward(x.clone(), t32(&SOFT, [3, 4], &device))
        .unwrap()
        .backward();
    let g = vec32(x.grad(&grads).unwrap());
    for i in 0..12 {
        let (z, w) = (f64::from(LOGITS[i]), f64::from(pw[i % 4]));
        let y = f64::from(SOFT[i]) * (1.0 - f64::from(eps)) + f64::from(eps) / 2.0;
        // d/dz [-(w y log s(z) + (1 - y) log s(-z))] = w y (s(z) - 1) + (1 - y) s(z)
        let expected = w * y * (sigmoid(z) - 1.0) + (1.0 - y) * sigmoid(z);
        assert!(
            (g[i] - expected).abs() < 1e-6 + 1e-6 * expected.abs(),
            "{i}: {} vs {expected}",
            g[i]
        );
    }
}

/// Central finite differences of the elementwise loss in float64 against autodiff of the sum.
fn finite_difference_check(
    elementwise: impl Fn(Tensor<2>, Tensor<2>) -> Tensor<2>,
    logits: &[f64],
    targets: &[f64],
    tol: f64,
) {
    let device = Device::flex();
    let ad = device.clone().autodiff();
    let n = logits.len();
    let x = t64(logits, [1, n], &ad).require_grad();
    let grads = elementwise(x.clone(), t64(targets, [1, n], &ad))
        .sum()
        .backward();
    let g = vec64(x.grad(&grads).unwrap());
    let h: Vec<f64> = logits.iter().map(|&z| 1e-5 * z.abs().max(1.0)).collect();
    let plus: Vec<f64> = logits.iter().zip(&h).map(|(z, h)| z + h).collect();
    let minus: Vec<f64> = logits.iter().zip(&h).map(|(z, h)| z - h).collect();
    let lp = vec64(elementwise(
        t64(&plus, [1, n], &device),
        t64(targets, [1, n], &device),
    ));
    let lm = vec64(elementwise(
        t64(&minus, [1, n], &device),
        t64(targets, [1, n], &device),
    ));
    for i in 0..n {
        let fd = (lp[i] - lm[i]) / (2.0 * h[i]);
        assert!(
            g[i].is_finite() && lp[i].is_finite(),
            "non-finite at logit {}",
            logits[i]
        );
        assert!(
            (g[i] - fd).abs() < tol,
            "logit {} target {}: autodiff {} vs FD {fd}",
            logits[i],
            targets[i],
            g[i]
        );
    }
}

#[test]
fn bce_gradient_matches_finite_differences_in_f64() {
    let device = Device::flex();
    let loss = BceWithLogitsConfig::new()
        .with_reduction(Reduction::None)
        .init(&device)
        .unwrap();
    let logits: Vec<f64> = LOGITS.iter().map(|&v| f64::from(v)).collect();
    for targets in [&HARD, &SOFT] {
        let y: Vec<f64> = targets.iter().map(|&v| f64::from(v)).collect();
        finite_difference_check(|x, t| loss.elementwise(x, t).unwrap(), &logits, &y, 1e-7);
    }
}

#[test]
fn focal_gradient_matches_finite_differences_in_f64() {
    let device = Device::flex();
    let logits: Vec<f64> = LOGITS.iter().map(|&v| f64::from(v)).collect();
    let y: Vec<f64> = HARD.iter().map(|&v| f64::from(v)).collect();
    for gamma in [0.5, 1.0, 2.0] {
        let focal = FocalLossConfig {
            gamma,
            alpha: Some(0.25),
            reduction: Reduction::None,
        }
        .init(&device)
        .unwrap();
        finite_difference_check(|x, t| focal.elementwise(x, t).unwrap(), &logits, &y, 1e-6);
    }
}

/// torchvision's sigmoid_focal_loss, scalar float64.
fn focal_reference(z: f64, y: f64, gamma: f64, alpha: Option<f64>) -> f64 {
    let p = sigmoid(z);
    let ce = y * softplus(-z) + (1.0 - y) * softplus(z);
    let p_t = p * y + (1.0 - p) * (1.0 - y);
    let mut l = ce * (1.0 - p_t).powf(gamma);
    if let Some(a) = alpha {
        l *= a * y + (1.0 - a) * (1.0 - y);
    }
    l
}

fn softplus(x: f64) -> f64 {
    if x > 0.0 {
        x + (-x).exp().ln_1p()
    } else {
        x.exp().ln_1p()
    }
}

#[test]
fn focal_matches_reference_and_reduces_to_bce() {
    let device = Device::flex();
    // Moderate logits, where 1 - p_t is representable and the reference formula is accurate.
    let z = [0.0f32, 0.5, -1.5, 3.0, -4.0, 2.0];
    let y = [1.0f32, 0.0, 1.0, 1.0, 0.0, 0.3];
    for (gamma, alpha) in [(2.0, Some(0.25)), (0.5, None), (1.0, Some(0.9))] {
        let focal = FocalLossConfig {
            gamma,
            alpha,
            reduction: Reduction::None,
        }
        .init(&device)
        .unwrap();
        let got = vec32(
            focal
                .elementwise(t32(&z, [1, 6], &device), t32(&y, [1, 6], &device))
                .unwrap(),
        );
        for i in 0..6 {
            let e = focal_reference(f64::from(z[i]), f64::from(y[i]), gamma, alpha);
            assert!(
                (got[i] - e).abs() < 1e-6 + 1e-5 * e,
                "gamma {gamma}: {} vs {e}",
                got[i]
            );
        }
    }
    let plain = FocalLossConfig {
        gamma: 0.0,
        alpha: None,
        reduction: Reduction::None,
    }
    .init(&device)
    .unwrap();
    let bce = BceWithLogitsConfig::new().init(&device).unwrap();
    let a = vec32(
        plain
            .elementwise(t32(&LOGITS, [3, 4], &device), t32(&SOFT, [3, 4], &device))
            .unwrap(),
    );
    let b = vec32(
        bce.elementwise(t32(&LOGITS, [3, 4], &device), t32(&SOFT, [3, 4], &device))
            .unwrap(),
    );
    assert_eq!(a, b);
}

#[test]
fn losses_are_finite_at_extreme_logits() {
    let device = Device::flex().autodiff();
    let x = || t32(&LOGITS, [3, 4], &device).require_grad();
    let y = || t32(&HARD, [3, 4], &device);
    for gamma in [0.0, 0.5, 2.0] {
        let focal = FocalLossConfig {
            gamma,
            ..Default::default()
        }
        .init(&device)
        .unwrap();
        let xv = x();
        let loss = focal.forward(xv.clone(), y()).unwrap();
        let grads = loss.backward();
        assert!(
            vec32(xv.grad(&grads).unwrap())
                .iter()
                .all(|g| g.is_finite()),
            "focal gamma {gamma}"
        );
    }
    let ce = SoftmaxCrossEntropyConfig::default().init(&device).unwrap();
    let xv = x();
    let classes = Tensor::<1, Int>::from_ints([3, 0, 2], &device);
    let loss = ce.forward_classes(xv.clone(), classes).unwrap();
    let grads = loss.backward();
    assert!(
        vec32(xv.grad(&grads).unwrap())
            .iter()
            .all(|g| g.is_finite())
    );
}

fn log_softmax_ref(row: &[f64]) -> Vec<f64> {
    let m = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let lse = m + row.iter().map(|v| (v - m).exp()).sum::<f64>().ln();
    row.iter().map(|v| v - lse).collect()
}

#[test]
fn softmax_cross_entropy_matches_reference_and_gradient() {
    let device = Device::flex().autodiff();
    let z = [
        2.0f32, -1.0, 0.5, 0.0, 1e4, -1e4, 0.0, 0.0, 3.0, 3.0, -2.0, 1.0,
    ];
    let classes = [0i64, 1, 3];
    let eps = 0.2;
    let loss = SoftmaxCrossEntropyConfig {
        reduction: Reduction::None,
        label_smoothing: eps,
    }
    .init(&device)
    .unwrap();
    let got = loss
        .forward_classes(
            t32(&z, [3, 4], &device),
            Tensor::<1, Int>::from_ints(classes, &device),
        )
        .unwrap()
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    let one_hot: Vec<f32> = (0..12)
        .map(|i| f32::from(classes[i / 4] == (i % 4) as i64))
        .collect();
    let got_probs = loss
        .forward_probabilities(t32(&z, [3, 4], &device), t32(&one_hot, [3, 4], &device))
        .unwrap()
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    for r in 0..3 {
        let row: Vec<f64> = z[4 * r..4 * r + 4].iter().map(|&v| f64::from(v)).collect();
        let lsm = log_softmax_ref(&row);
        let e_eps = f64::from(eps);
        let expected =
            (1.0 - e_eps) * -lsm[classes[r] as usize] + e_eps * -lsm.iter().sum::<f64>() / 4.0;
        assert!(
            (f64::from(got[r]) - expected).abs() < 1e-6 * expected.abs().max(1.0),
            "row {r}"
        );
        assert!(
            (got_probs[r] - got[r]).abs() <= 1e-6 * got[r].abs().max(1.0),
            "indices vs probabilities, row {r}"
        );
    }
    // Gradient of the mean unsmoothed loss: (softmax - one_hot) / N.
    let plain = SoftmaxCrossEntropyConfig::default().init(&device).unwrap();
    let x = t32(&z, [3, 4], &device).require_grad();
    let grads = plain
        .forward_classes(x.clone(), Tensor::<1, Int>::from_ints(classes, &device))
        .unwrap()
        .backward();
    let g = vec32(x.grad(&grads).unwrap());
    for r in 0..3 {
        let row: Vec<f64> = z[4 * r..4 * r + 4].iter().map(|&v| f64::from(v)).collect();
        let lsm = log_softmax_ref(&row);
        for k in 0..4 {
            let expected = (lsm[k].exp() - f64::from(classes[r] == k as i64)) / 3.0;
            assert!((g[4 * r + k] - expected).abs() < 1e-7, "row {r} class {k}");
        }
    }
}

#[test]
fn invalid_inputs_are_errors_not_panics() {
    let device = Device::flex();
    assert!(
        BceWithLogitsConfig::new()
            .with_label_smoothing(1.0)
            .init(&device)
            .is_err()
    );
    assert!(
        BceWithLogitsConfig::new()
            .with_pos_weight(vec![1.0, -2.0])
            .init(&device)
            .is_err()
    );
    assert!(
        BceWithLogitsConfig::new()
            .with_pos_weight(vec![1.0, f32::NAN])
            .init(&device)
            .is_err()
    );
    let bce = BceWithLogitsConfig::new()
        .with_pos_weight(vec![1.0, 2.0])
        .init(&device)
        .unwrap();
    let err = bce
        .elementwise(t32(&LOGITS, [3, 4], &device), t32(&HARD, [3, 4], &device))
        .unwrap_err();
    assert!(err.to_string().contains("pos_weight"), "{err}");
    let bce = BceWithLogitsConfig::new().init(&device).unwrap();
    assert!(
        bce.forward(t32(&LOGITS, [3, 4], &device), t32(&HARD, [4, 3], &device))
            .is_err()
    );
    assert!(
        FocalLossConfig {
            gamma: -1.0,
            ..Default::default()
        }
        .init(&device)
        .is_err()
    );
    assert!(
        FocalLossConfig {
            alpha: Some(1.5),
            ..Default::default()
        }
        .init(&device)
        .is_err()
    );
    let ce = SoftmaxCrossEntropyConfig::default().init(&device).unwrap();
    let err = ce
        .forward_classes(
            t32(&LOGITS, [3, 4], &device),
            Tensor::<1, Int>::from_ints([0, 4, 1], &device),
        )
        .unwrap_err();
    assert!(err.to_string().contains("outside 0..4"), "{err}");
    assert!(
        ce.forward_classes(
            t32(&LOGITS, [3, 4], &device),
            Tensor::<1, Int>::from_ints([0, -1, 1], &device)
        )
        .is_err()
    );
}

#[test]
fn configs_round_trip_through_json() {
    let c = BceWithLogitsConfig::new()
        .with_pos_weight(vec![1.0, 3.0])
        .with_label_smoothing(0.05)
        .with_reduction(Reduction::Sum);
    let json = serde_json::to_string(&c).unwrap();
    assert_eq!(
        serde_json::from_str::<BceWithLogitsConfig>(&json).unwrap(),
        c
    );
    let partial: BceWithLogitsConfig = serde_json::from_str(r#"{"reduction":"none"}"#).unwrap();
    assert_eq!(partial.reduction, Reduction::None);
    assert_eq!(partial.label_smoothing, 0.0);
    let f: FocalLossConfig = serde_json::from_str(r#"{"gamma":1.5}"#).unwrap();
    assert_eq!((f.gamma, f.alpha), (1.5, Some(0.25)));
}
