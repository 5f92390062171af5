//! Tasks, losses, targets and initialisation.

use crate::common::{device, fixtures, mean_std, randn, values};
use burn::tensor::{Tensor, TensorData};
use serde_json::Value;
use sonotag_nn::init::{PRIOR_CLAMP, log_odds_bias, log_prior_bias};
use sonotag_nn::loss::{BceWithLogits, LogitLoss, SoftmaxCrossEntropy};
use sonotag_nn::{
    Binary, BinaryTargets, ClassTargets, MultiClass, MultiLabel, MultiLabelTargets, NnError,
    Preset, Task, WeightInit,
};

fn matrix(v: &Value) -> (Vec<f32>, [usize; 2]) {
    let rows = v.as_array().unwrap();
    let cols = rows[0].as_array().unwrap().len();
    let flat = rows
        .iter()
        .flat_map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
        })
        .collect();
    (flat, [rows.len(), cols])
}

fn close(got: f64, expected: f64, what: &str) {
    assert!(
        (got - expected).abs() <= 1e-6 + 1e-6 * expected.abs(),
        "{what}: {got} vs {expected}"
    );
}

/// The multilabel task's loss and gradient match torch's `binary_cross_entropy_with_logits`
/// (fixtures/loss, float64 references), including logits of +-1000 and soft targets.
#[test]
fn multilabel_loss_and_gradient_match_torch() {
    let dev = device().autodiff();
    for case in [
        "bce_with_logits_hard_targets.json",
        "bce_with_logits_soft_targets.json",
    ] {
        let path = fixtures().join("loss").join(case);
        let json: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let (logits, shape) = matrix(&json["inputs"]["logits"]);
        let (targets, _) = matrix(&json["inputs"]["targets"]);
        let pos_weight: Vec<f32> = json["inputs"]["pos_weight"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect();
        let expected = &json["expected"];
        let y = MultiLabelTargets::from_rows(&targets, shape[1], &dev).unwrap();

        let x = Tensor::<2>::from_data(TensorData::new(logits.clone(), shape), &dev).require_grad();
        let loss = MultiLabel::default().loss(x.clone(), &y).unwrap();
        close(
            values(loss.clone())[0] as f64,
            expected["loss_mean_float64_reference"].as_f64().unwrap(),
            case,
        );
        let grads = loss.backward();
        let grad = values(x.grad(&grads).unwrap());
        let (expected_grad, _) = matrix(&expected["grad_mean_wrt_logits_float64_reference"]);
        for (g, e) in grad.iter().zip(&expected_grad) {
            close(*g as f64, *e as f64, "gradient");
        }

        let weighted = MultiLabel {
            loss: BceWithLogits::new().with_pos_weight(pos_weight).unwrap(),
        };
        let x = Tensor::<2>::from_data(TensorData::new(logits, shape), &dev);
        close(
            values(weighted.loss(x, &y).unwrap())[0] as f64,
            expected["loss_mean_pos_weight_float64_reference"]
                .as_f64()
                .unwrap(),
            "pos_weight",
        );
    }
}

/// Cross-entropy against an independent float64 evaluation of `-sum t log softmax(x)`.
#[test]
fn multiclass_loss_matches_a_float64_reference_and_its_gradient_is_softmax_minus_target() {
    let dev = device().autodiff();
    let logits = vec![2.0f32, -1.0, 0.5, 30.0, -30.0, 0.0];
    let classes = [0usize, 2];
    let x = Tensor::<2>::from_data(TensorData::new(logits.clone(), [2, 3]), &dev).require_grad();
    let y = ClassTargets::from_indices(&classes, 3, &dev).unwrap();
    let loss = MultiClass::default().loss(x.clone(), &y).unwrap();

    let mut expected = 0.0;
    let mut expected_grad = vec![];
    for (row, &c) in logits.chunks(3).zip(&classes) {
        let m = row.iter().cloned().fold(f32::MIN, f32::max) as f64;
        let lse = m + row.iter().map(|&v| (v as f64 - m).exp()).sum::<f64>().ln();
        expected += (lse - row[c] as f64) / 2.0;
        for (j, &v) in row.iter().enumerate() {
            expected_grad.push(((v as f64 - lse).exp() - (j == c) as u8 as f64) / 2.0);
        }
    }
    close(values(loss.clone())[0] as f64, expected, "cross-entropy");
    let grad = values(x.grad(&loss.backward()).unwrap());
    for (g, e) in grad.iter().zip(&expected_grad) {
        assert!((*g as f64 - e).abs() < 1e-6, "{g} vs {e}");
    }

    // Label smoothing s: targets t (1 - s) + s / C.
    let smoothed = MultiClass {
        loss: SoftmaxCrossEntropy::new().with_smoothing(0.1).unwrap(),
    };
    let soft = ClassTargets::from_probabilities(
        &[
            0.9 + 0.1 / 3.0,
            0.1 / 3.0,
            0.1 / 3.0,
            0.1 / 3.0,
            0.1 / 3.0,
            0.9 + 0.1 / 3.0,
        ],
        3,
        &dev,
    )
    .unwrap();
    let a = values(smoothed.loss(x.clone(), &y).unwrap())[0];
    let b = values(MultiClass::default().loss(x, &soft).unwrap())[0];
    assert!((a - b).abs() < 1e-5, "{a} vs {b}");
}

#[test]
fn binary_task_is_the_one_column_multilabel_task() {
    let dev = device();
    let logits = vec![3.0f32, -2.0, 0.0, 12.0];
    let labels = vec![1.0f32, 0.0, 1.0, 0.0];
    let x = Tensor::<2>::from_data(TensorData::new(logits, [4, 1]), &dev);
    let binary = Binary::default()
        .loss(
            x.clone(),
            &BinaryTargets::from_values(&labels, &dev).unwrap(),
        )
        .unwrap();
    let multi = MultiLabel::default()
        .loss(x, &MultiLabelTargets::from_rows(&labels, 1, &dev).unwrap())
        .unwrap();
    assert_eq!(values(binary), values(multi));
}

#[test]
fn tasks_own_their_head_width() {
    assert_eq!(MultiLabel::head_width(70).unwrap(), 70);
    assert!(MultiLabel::head_width(0).is_err());
    assert_eq!(MultiClass::head_width(10).unwrap(), 10);
    assert!(MultiClass::head_width(1).is_err());
    assert_eq!(Binary::head_width(1).unwrap(), 1);
    assert!(Binary::head_width(2).is_err());
    assert_eq!(
        (MultiLabel::NAME, MultiClass::NAME, Binary::NAME),
        ("multilabel", "multiclass", "binary")
    );
}

#[test]
fn probabilities_follow_the_task_link() {
    let dev = device();
    let x = Tensor::<2>::from_data(
        TensorData::new(vec![0.0f32, 2.0, -1000.0, 1000.0, 1.0, 1.0], [2, 3]),
        &dev,
    );
    let sig = values(MultiLabel::probabilities(x.clone()));
    assert!((sig[0] - 0.5).abs() < 1e-7);
    assert!((sig[1] - 1.0 / (1.0 + (-2f32).exp())).abs() < 1e-6);
    assert_eq!(sig[2], 0.0);
    let soft = values(MultiClass::probabilities(x));
    for row in soft.chunks(3) {
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(row.iter().all(|p| p.is_finite()));
    }
}

#[test]
fn shape_and_value_mistakes_in_targets_are_errors() {
    let dev = device();
    let x = Tensor::<2>::zeros([2, 3], &dev);
    let y = MultiLabelTargets::from_rows(&[1.0, 0.0, 1.0, 0.0], 2, &dev).unwrap();
    assert!(matches!(
        MultiLabel::default().loss(x, &y),
        Err(NnError::InvalidLabels { .. })
    ));
    assert!(MultiLabelTargets::from_rows(&[0.5, f32::NAN], 2, &dev).is_err());
    assert!(MultiLabelTargets::from_rows(&[0.5, 0.5, 1.0], 2, &dev).is_err());
    assert!(BinaryTargets::from_values(&[-0.1], &dev).is_err());
    assert!(ClassTargets::from_probabilities(&[0.5, 0.4], 2, &dev).is_err());
    let err = ClassTargets::from_indices(&[0, 5], 3, &dev).unwrap_err();
    assert!(err.to_string().contains("row 1"), "{err}");
    assert!(
        BceWithLogits::<MultiLabelTargets>::new()
            .with_pos_weight(vec![1.0, 0.0])
            .is_err()
    );
    assert!(
        BceWithLogits::<MultiLabelTargets>::new()
            .with_smoothing(1.0)
            .is_err()
    );
    let wrong_width = BceWithLogits::<MultiLabelTargets>::new()
        .with_pos_weight(vec![1.0])
        .unwrap();
    let y = MultiLabelTargets::from_rows(&[1.0, 0.0], 2, &dev).unwrap();
    assert!(
        wrong_width
            .forward(Tensor::zeros([1, 2], &dev), &y)
            .is_err()
    );
}

// ---------------------------------------------------------------- initialisation

#[test]
fn prior_bias_makes_an_untrained_head_predict_the_priors() {
    let priors = [0.5, 0.1, 0.01, 0.9, 0.3];
    let bias = MultiLabel::prior_bias(&priors).unwrap();
    for (b, p) in bias.iter().zip(priors) {
        let sigmoid = 1.0 / (1.0 + (-*b as f64).exp());
        assert!(
            (sigmoid - p).abs() < 1e-6,
            "sigmoid({b}) = {sigmoid} != {p}"
        );
    }
    // The bias lands in the model, and with zero features the probabilities are the priors.
    let dev = device();
    let model = Preset::Tiny
        .config(5)
        .init(&dev)
        .unwrap()
        .with_output_bias(&bias)
        .unwrap();
    let in_model = values(model.head.output.bias.as_ref().unwrap().val());
    assert_eq!(in_model, bias);
    let probs = values(MultiLabel::probabilities(
        model.head.output.forward(Tensor::<2>::zeros([1, 16], &dev)),
    ));
    for (q, p) in probs.iter().zip(priors) {
        assert!((*q as f64 - p).abs() < 1e-6);
    }

    // Softmax: the class frequencies.
    let class_priors = [0.7, 0.2, 0.1];
    let bias = MultiClass::prior_bias(&class_priors).unwrap();
    let z: f64 = bias.iter().map(|&b| (b as f64).exp()).sum();
    for (b, p) in bias.iter().zip(class_priors) {
        assert!(((*b as f64).exp() / z - p).abs() < 1e-6);
    }
}

#[test]
fn priors_are_clamped_and_checked() {
    let bias = log_odds_bias(&[0.0, 1.0]).unwrap();
    let expected = (PRIOR_CLAMP / (1.0 - PRIOR_CLAMP)).ln() as f32;
    assert_eq!(bias, vec![expected, -expected]);
    assert!(log_odds_bias(&[]).is_err());
    assert!(log_odds_bias(&[1.5]).is_err());
    assert!(log_odds_bias(&[f64::NAN]).is_err());
    assert!(log_prior_bias(&[0.5, 0.4]).is_err());
    let dev = device();
    let model = Preset::Tiny.config(3).init(&dev).unwrap();
    assert!(model.with_output_bias(&[0.0, 1.0]).is_err());
}

/// He initialisation: conv weights have std sqrt(2 / fan_in) (normal) or lie within
/// sqrt(6 / fan_in) (uniform); Linear weights are Xavier (within sqrt(6 / (in + out)), times
/// sqrt(1 - p) after dropout p);
/// biases zero; batch norm at (1, 0).
#[test]
fn weights_follow_kaiming_and_xavier() {
    let dev = device();
    let model = Preset::SeedNet.config(70).init(&dev).unwrap();
    let w = values(model.blocks[2].convs[0].weight.val()); // 128 x 64 x 3 x 3
    let (mean, std) = mean_std(&w);
    let he = (2.0f64 / (64.0 * 9.0)).sqrt();
    assert!(mean.abs() < 0.01 * he * 10.0, "mean {mean}");
    assert!((std / he - 1.0).abs() < 0.02, "std {std} vs He {he}");
    assert!(
        values(model.blocks[2].convs[0].bias.as_ref().unwrap().val())
            .iter()
            .all(|&b| b == 0.0)
    );
    assert!(
        values(model.blocks[1].norms[0].gamma.val())
            .iter()
            .all(|&g| g == 1.0)
    );
    assert!(
        values(model.blocks[1].norms[0].beta.val())
            .iter()
            .all(|&b| b == 0.0)
    );
    // Xavier with gain sqrt(1 - p) for the dropout p = 0.2 feeding the output layer.
    let lin = values(model.head.output.weight.val());
    let xavier = (0.8f64).sqrt() * (6.0f64 / (256.0 + 70.0)).sqrt();
    assert!(lin.iter().all(|&v| (v as f64).abs() <= xavier));
    let (_, lin_std) = mean_std(&lin);
    assert!(
        (lin_std / (xavier / 3f64.sqrt()) - 1.0).abs() < 0.05,
        "{lin_std}"
    );

    let uniform = Preset::SeedNet
        .config(70)
        .with_init(WeightInit::KaimingUniform)
        .init(&dev)
        .unwrap();
    let w = values(uniform.blocks[3].convs[0].weight.val());
    let bound = (6.0f64 / (128.0 * 9.0)).sqrt();
    assert!(w.iter().all(|&v| (v as f64).abs() <= bound));
    let (_, std) = mean_std(&w);
    assert!((std / (bound / 3f64.sqrt()) - 1.0).abs() < 0.02);
}

fn outside_share(logits: &[f32]) -> f64 {
    logits
        .iter()
        .filter(|&&z| {
            let p = 1.0 / (1.0 + (-z as f64).exp());
            !(0.01..=0.99).contains(&p) || p == 0.01 || p == 0.99
        })
        .count() as f64
        / logits.len() as f64
}

/// A fresh network on N(0,1) input gives moderate logits. "Fresh" means training mode, the
/// state a network starts training in (and PyTorch's default for a new module): batch norm on
/// batch statistics, dropout active. (In eval mode a fresh network's batch norms use placeholder
/// running statistics (0, 1) and normalise nothing yet; with max pooling the activations then
/// grow block after block: a fresh SeedNet's eval-mode logits have a std of about 4 on this
/// input. The running statistics are estimated during training.)
#[test]
fn fresh_network_logits_are_moderate() {
    let dev = device().autodiff();
    dev.seed(11);
    for preset in [Preset::SeedNet, Preset::Cnn6, Preset::Cnn10, Preset::Tiny] {
        let model = preset.config(70).init(&dev).unwrap();
        let logits = values(model.forward(randn([32, 1, 64, 101], &dev)));
        let (_, std) = mean_std(&logits);
        let share = outside_share(&logits);
        assert!(std < 2.0, "{preset:?}: logit std {std}");
        assert!(share < 0.01, "{preset:?}: {share} of the outputs saturated");
    }
}

/// The classic failure: every weight drawn from N(0, 1). The saturation diagnostic of
/// sonotag-metrics flags it, and does not flag the same network with He/Xavier weights.
#[test]
fn naive_normal_weights_are_flagged_saturated_by_the_metrics_diagnostic() {
    use sonotag_metrics::{ScoreMatrix, saturation_report};
    let dev = device().autodiff();
    dev.seed(3);
    let x = randn([32, 1, 64, 101], &dev);
    let report = |init: WeightInit| {
        let model = Preset::SeedNet
            .config(70)
            .with_init(init)
            .init(&dev)
            .unwrap();
        let logits = values(model.forward(x.clone()));
        saturation_report(&ScoreMatrix::new(&logits, 32, 70).unwrap(), None, 1e-3).unwrap()
    };
    let naive = report(WeightInit::Normal { std: 1.0 });
    assert!(naive.is_saturated(), "{}", naive.verdict);
    assert!(naive.verdict.contains("saturated"), "{}", naive.verdict);
    let he = report(WeightInit::KaimingNormal);
    assert!(!he.is_saturated(), "{}", he.verdict);
    assert!(he.saturated_share < 0.01, "{}", he.saturated_share);
}

#[test]
fn focal_loss_is_available_to_sigmoid_tasks() {
    let dev = device();
    let task = MultiLabel {
        loss: BceWithLogits::focal(2.0, Some(0.25)).unwrap(),
    };
    let x = Tensor::<2>::from_data(TensorData::new(vec![3.0f32, -3.0], [1, 2]), &dev);
    let y = MultiLabelTargets::from_rows(&[1.0, 0.0], 2, &dev).unwrap();
    let focal = values(task.loss(x.clone(), &y).unwrap())[0] as f64;
    // torchvision.ops.sigmoid_focal_loss: alpha_t (1 - p_t)^2 BCE, mean; p_t = sigmoid(3) here.
    let p_t = 1.0 / (1.0 + (-3f64).exp());
    let bce = -(p_t.ln());
    let expected = (0.25 * (1.0 - p_t).powi(2) * bce + 0.75 * (1.0 - p_t).powi(2) * bce) / 2.0;
    assert!((focal - expected).abs() < 1e-6, "{focal} vs {expected}");
    assert!(BceWithLogits::<MultiLabelTargets>::focal(-1.0, None).is_err());
    assert!(
        BceWithLogits::<MultiLabelTargets>::focal(2.0, None)
            .unwrap()
            .with_pos_weight(vec![1.0])
            .is_err()
    );
}
