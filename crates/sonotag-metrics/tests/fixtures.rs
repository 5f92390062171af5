//! Every case of the golden fixtures (tests/fixtures: metrics/, loss/, calibration/), compared
//! with the scikit-learn / torchmetrics / torch / scipy values they were generated with.

use crate::common::*;
use burn::tensor::{Device, Tensor, TensorData};
use serde_json::Value;
use sonotag_metrics::loss::{BceWithLogitsConfig, Reduction};
use sonotag_metrics::{
    Calibrator, FitStatus, PlattOptions, ReportOptions, ScoreMatrix, TargetMatrix,
    TemperatureOptions, brier_score, calibration_error, fit_platt_per_label, fit_temperature,
    metrics_report, ranking_metrics, threshold_metrics,
};

const TOL: f64 = 1e-6;

fn expected<'a>(case: &'a Value, key: &str, name: &str) -> &'a Value {
    case["expected"]
        .get(key)
        .unwrap_or_else(|| panic!("{name}: fixture lacks expected.{key}"))
}

#[test]
fn metrics_fixtures_match_sklearn_and_torchmetrics() {
    for (name, case) in cases("metrics") {
        let inputs = &case["inputs"];
        let (n, l) = shape(&inputs["y_score"]);
        let scores = vec_f32(&inputs["y_score"]);
        let targets = vec_u8(&inputs["y_true"]);
        let s = ScoreMatrix::new(&scores, n, l).unwrap();
        let t = TargetMatrix::new(&targets, n, l).unwrap();
        let exp = |k: &str| expected(&case, k, &name);

        let ranking = ranking_metrics(&s, &t).unwrap();
        let auc = &ranking.roc_auc;
        let expected_auc = vec_opt_f64(exp("roc_auc_per_label"));
        for (j, (&g, &e)) in auc.per_label.iter().zip(&expected_auc).enumerate() {
            assert_opt_close(&format!("{name} AUC label {j}"), g, e, TOL);
        }
        assert_opt_close(
            &format!("{name} AUC macro"),
            auc.macro_average,
            exp("roc_auc_macro_valid_labels").as_f64(),
            TOL,
        );
        assert_opt_close(
            &format!("{name} AUC weighted"),
            auc.weighted_average,
            exp("roc_auc_weighted_valid_labels").as_f64(),
            TOL,
        );
        assert_opt_close(
            &format!("{name} AUC micro"),
            auc.micro_average,
            exp("roc_auc_micro").as_f64(),
            TOL,
        );
        let valid = exp("valid_auc_labels").as_array().unwrap().len();
        assert_eq!(
            auc.labels_left_out,
            l - valid,
            "{name}: labels left out of AUC"
        );

        // AP: sklearn reports 0.0 for a label without positives; ours is None (left out).
        let ap = &ranking.average_precision;
        let support = vec_f64(exp("label_support"));
        let expected_ap = vec_f64(exp("average_precision_per_label"));
        for j in 0..l {
            let e = (support[j] > 0.0).then_some(expected_ap[j]);
            assert_opt_close(&format!("{name} AP label {j}"), ap.per_label[j], e, TOL);
        }
        assert_opt_close(
            &format!("{name} mAP"),
            ap.macro_average,
            exp("average_precision_macro_labels_with_positives").as_f64(),
            TOL,
        );
        assert_opt_close(
            &format!("{name} AP micro"),
            ap.micro_average,
            exp("average_precision_micro").as_f64(),
            TOL,
        );
        assert_eq!(
            ap.labels_left_out,
            support.iter().filter(|&&c| c == 0.0).count()
        );

        let ce = calibration_error(&scores, &targets, 15).unwrap();
        assert_close(
            &format!("{name} ECE"),
            ce.ece,
            exp("ece_l1_15bins").as_f64().unwrap(),
            TOL,
            0.0,
        );
        assert_close(
            &format!("{name} MCE"),
            ce.mce,
            exp("mce_max_15bins").as_f64().unwrap(),
            TOL,
            0.0,
        );
        assert_close(
            &format!("{name} RMSCE"),
            ce.rmsce,
            exp("rmsce_l2_15bins").as_f64().unwrap(),
            TOL,
            0.0,
        );

        let brier = brier_score(&scores, &targets).unwrap();
        assert_close(
            &format!("{name} Brier"),
            brier,
            exp("brier_flat").as_f64().unwrap(),
            TOL,
            0.0,
        );
        for (j, &e) in vec_f64(exp("brier_per_label")).iter().enumerate() {
            let col: Vec<f32> = s.column(j).collect();
            let tcol: Vec<u8> = targets[j..].iter().step_by(l).copied().collect();
            assert_close(
                &format!("{name} Brier label {j}"),
                brier_score(&col, &tcol).unwrap(),
                e,
                TOL,
                0.0,
            );
        }

        let m0 = threshold_metrics(&s, &t, 0.5, 0.0).unwrap();
        for (j, (&g, &e)) in m0
            .f1
            .per_label
            .iter()
            .zip(&vec_f64(exp("f1_per_label_zero_division_0")))
            .enumerate()
        {
            assert_close(&format!("{name} F1 label {j}"), g, e, TOL, 0.0);
        }
        assert_close(
            &format!("{name} F1 macro zd0"),
            m0.f1.macro_average,
            exp("f1_macro_zero_division_0").as_f64().unwrap(),
            TOL,
            0.0,
        );
        assert_close(
            &format!("{name} F1 micro"),
            m0.f1.micro_average,
            exp("f1_micro").as_f64().unwrap(),
            TOL,
            0.0,
        );
        assert_close(
            &format!("{name} Hamming"),
            m0.hamming_loss,
            exp("hamming_loss").as_f64().unwrap(),
            TOL,
            0.0,
        );
        let m1 = threshold_metrics(&s, &t, 0.5, 1.0).unwrap();
        assert_close(
            &format!("{name} F1 macro zd1"),
            m1.f1.macro_average,
            exp("f1_macro_zero_division_1").as_f64().unwrap(),
            TOL,
            0.0,
        );

        // The report assembles the same numbers under the label names.
        let labels: Vec<String> = (0..l).map(|j| format!("label_{j}")).collect();
        let report = metrics_report(&s, &t, &labels, &ReportOptions::default()).unwrap();
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["roc_auc"]["labels_left_out"], l - valid);
        assert_close(
            &format!("{name} report ECE"),
            json["ece"].as_f64().unwrap(),
            exp("ece_l1_15bins").as_f64().unwrap(),
            TOL,
            0.0,
        );
        assert_close(
            &format!("{name} report F1 micro"),
            json["f1"]["micro"].as_f64().unwrap(),
            exp("f1_micro").as_f64().unwrap(),
            TOL,
            0.0,
        );
        for j in 0..l {
            let e = expected_auc[j];
            assert_opt_close(
                &format!("{name} report AUC {j}"),
                json["roc_auc"]["per_label"][&labels[j]].as_f64(),
                e,
                TOL,
            );
        }
    }
}

fn tensor(v: &[f32], shape: [usize; 2], device: &Device) -> Tensor<2> {
    Tensor::<2>::from_data(TensorData::new(v.to_vec(), shape), device)
}

fn to_vec(t: Tensor<2>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().unwrap()
}

fn scalar(t: Tensor<1>) -> f64 {
    f64::from(t.into_scalar::<f32>())
}

/// float32 results against torch's float32 values (|d| <= 1e-6 + 1e-6 |e|) and against the
/// float64 reference (rel 1e-6), as the loss README prescribes.
fn check_loss(what: &str, got: &[f32], f32_ref: &[f64], f64_ref: &[f64]) {
    for (i, ((&g, &e32), &e64)) in got.iter().zip(f32_ref).zip(f64_ref).enumerate() {
        let g = f64::from(g);
        assert!(g.is_finite(), "{what}[{i}] not finite");
        assert_close(&format!("{what}[{i}] vs torch f32"), g, e32, 1e-6, 1e-6);
        assert_close(&format!("{what}[{i}] vs f64 reference"), g, e64, 1e-6, 1e-6);
    }
}

#[test]
fn loss_fixtures_match_torch() {
    let device = Device::flex();
    for (name, case) in cases("loss") {
        let inputs = &case["inputs"];
        let (n, c) = shape(&inputs["logits"]);
        let logits = vec_f32(&inputs["logits"]);
        let targets = vec_f32(&inputs["targets"]);
        let pos_weight = vec_f32(&inputs["pos_weight"]);
        let exp = |k: &str| vec_f64(expected(&case, k, &name));
        let x = || tensor(&logits, [n, c], &device);
        let y = || tensor(&targets, [n, c], &device);

        let plain = BceWithLogitsConfig::new().init(&device).unwrap();
        let none = to_vec(plain.elementwise(x(), y()).unwrap());
        check_loss(
            &format!("{name} loss_none"),
            &none,
            &exp("loss_none"),
            &exp("loss_none_float64_reference"),
        );
        let mean = scalar(plain.forward(x(), y()).unwrap());
        check_loss(
            &format!("{name} loss_mean"),
            &[mean as f32],
            &exp("loss_mean"),
            &exp("loss_mean_float64_reference"),
        );
        let sum_loss = BceWithLogitsConfig::new()
            .with_reduction(Reduction::Sum)
            .init(&device)
            .unwrap();
        let sum = scalar(sum_loss.forward(x(), y()).unwrap());
        check_loss(
            &format!("{name} loss_sum"),
            &[sum as f32],
            &exp("loss_sum"),
            &exp("loss_sum_float64_reference"),
        );
        let flat = BceWithLogitsConfig::new()
            .with_reduction(Reduction::None)
            .init(&device)
            .unwrap();
        let flat_values = flat
            .forward(x(), y())
            .unwrap()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        assert_eq!(
            flat_values, none,
            "{name}: reduction none is the flattened elementwise loss"
        );

        let weighted = BceWithLogitsConfig::new()
            .with_pos_weight(pos_weight.clone())
            .init(&device)
            .unwrap();
        let none_pw = to_vec(weighted.elementwise(x(), y()).unwrap());
        check_loss(
            &format!("{name} loss_none_pos_weight"),
            &none_pw,
            &exp("loss_none_pos_weight"),
            &exp("loss_none_pos_weight_float64_reference"),
        );
        let mean_pw = scalar(weighted.forward(x(), y()).unwrap());
        check_loss(
            &format!("{name} loss_mean_pos_weight"),
            &[mean_pw as f32],
            &exp("loss_mean_pos_weight"),
            &exp("loss_mean_pos_weight_float64_reference"),
        );

        // Gradient of the mean loss, by autodiff.
        let ad = device.clone().autodiff();
        let xa = tensor(&logits, [n, c], &ad).require_grad();
        let loss = plain
            .forward(xa.clone(), tensor(&targets, [n, c], &ad))
            .unwrap();
        let grads = loss.backward();
        let g = to_vec(xa.grad(&grads).expect("gradient of the logits"));
        check_loss(
            &format!("{name} grad"),
            &g,
            &exp("grad_mean_wrt_logits"),
            &exp("grad_mean_wrt_logits_float64_reference"),
        );

        // Sigmoid (the identity calibrator) is exact to 1 ulp of float32.
        let probs = Calibrator::Identity
            .probabilities(&ScoreMatrix::new(&logits, n, c).unwrap())
            .unwrap();
        for (i, (&p, &e)) in probs.iter().zip(&exp("sigmoid")).enumerate() {
            let e = e as f32;
            let ulps = (p.to_bits() as i64 - e.to_bits() as i64).abs();
            assert!(ulps <= 1, "{name} sigmoid[{i}]: {p} vs {e}");
        }
    }
}

#[test]
fn calibration_fixtures_match_scipy() {
    let mut seen = (0, 0);
    for (name, case) in cases("calibration") {
        let inputs = &case["inputs"];
        let exp = &case["expected"];
        if let Some(t_star) = exp.get("T_star") {
            seen.0 += 1;
            let z = vec_f32(&inputs["logits"]);
            let y = vec_u8(&inputs["labels"]);
            let fit = fit_temperature(&z, &y, &TemperatureOptions::default()).unwrap();
            assert_eq!(fit.status, FitStatus::Converged, "{name}");
            assert_close(
                &format!("{name} T*"),
                fit.temperature,
                t_star.as_f64().unwrap(),
                1e-4,
                0.0,
            );
            assert_close(
                &format!("{name} NLL at T*"),
                fit.nll_after,
                exp["bce_at_T_star"].as_f64().unwrap(),
                1e-9,
                0.0,
            );
            assert_close(
                &format!("{name} NLL at T=1"),
                fit.nll_before,
                exp["bce_at_T_1"].as_f64().unwrap(),
                1e-9,
                0.0,
            );
        } else if let Some(per_label) = exp.get("per_label") {
            seen.1 += 1;
            let (n, l) = shape(&inputs["logits"]);
            let z = vec_f32(&inputs["logits"]);
            let y = vec_u8(&inputs["labels"]);
            let fits = fit_platt_per_label(
                &ScoreMatrix::new(&z, n, l).unwrap(),
                &TargetMatrix::new(&y, n, l).unwrap(),
                &PlattOptions::default(),
            )
            .unwrap();
            for e in per_label.as_array().unwrap() {
                let j = e["label"].as_u64().unwrap() as usize;
                let fit = fits[j];
                assert_eq!(fit.status, FitStatus::Converged, "{name} label {j}");
                assert_close(
                    &format!("{name} a[{j}]"),
                    fit.a,
                    e["a"].as_f64().unwrap(),
                    1e-3,
                    0.0,
                );
                assert_close(
                    &format!("{name} b[{j}]"),
                    fit.b,
                    e["b"].as_f64().unwrap(),
                    1e-3,
                    0.0,
                );
                // Much tighter in practice: both solvers reach the optimum to rounding.
                assert_close(
                    &format!("{name} a[{j}] tight"),
                    fit.a,
                    e["a"].as_f64().unwrap(),
                    1e-7,
                    0.0,
                );
                assert_close(
                    &format!("{name} BCE[{j}]"),
                    fit.nll_after,
                    e["bce_at_optimum"].as_f64().unwrap(),
                    1e-10,
                    0.0,
                );
                assert_close(
                    &format!("{name} BCE(1,0)[{j}]"),
                    fit.nll_before,
                    e["bce_at_a1_b0"].as_f64().unwrap(),
                    1e-10,
                    0.0,
                );
            }
        } else {
            panic!("{name}: unknown calibration fixture layout");
        }
    }
    assert!(
        seen.0 >= 1 && seen.1 >= 1,
        "expected temperature and Platt cases, saw {seen:?}"
    );
}
