//! Blocks, heads, shape inference and presets on the CPU backend (flex).

use crate::common::{self, device, randn, values};
use burn::module::{Module, Param};
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Tensor, TensorData};
use proptest::prelude::*;
use sonotag_nn::fused::FusedCnn;
use sonotag_nn::{
    Activation, CnnConfig, ConvBlockConfig, ConvBlockSpec, HeadConfig, HeadPool, MultiLabel,
    MultiLabelTargets, NnError, Pool, Preset, Task,
};

/// A block that only pools: one 1x1 convolution with weight 1, no bias, no batch norm, ReLU on
/// a positive input is the identity.
fn pooling_block(pool: Pool) -> sonotag_nn::ConvBlock {
    let dev = device();
    let mut block = ConvBlockConfig::new(1, 1)
        .with_spec(
            ConvBlockSpec::new()
                .with_kernel_size(1)
                .with_batch_norm(false)
                .with_conv_bias(false)
                .with_pool(pool),
        )
        .init(&dev)
        .unwrap();
    block.convs[0].weight = Param::from_data(TensorData::new(vec![1f32], [1, 1, 1, 1]), &dev);
    block
}

#[test]
fn pooling_matches_a_hand_computed_reference() {
    let dev = device();
    // 4 x 6 map with distinct positive values.
    let x: Vec<f32> = (0..24).map(|i| 1.0 + ((i * 7) % 24) as f32).collect();
    let input = Tensor::<4>::from_data(TensorData::new(x.clone(), [1, 1, 4, 6]), &dev);
    let at = |r: usize, c: usize| x[r * 6 + c];

    // Max over [2, 3] windows -> 2 x 2.
    let got = values(pooling_block(Pool::Max { kernel: [2, 3] }).forward(input.clone()));
    let mut expected = vec![];
    for r in 0..2 {
        for c in 0..2 {
            let window: Vec<f32> = (0..2)
                .flat_map(|i| (0..3).map(move |j| (i, j)))
                .map(|(i, j)| at(2 * r + i, 3 * c + j))
                .collect();
            expected.push(window.iter().cloned().fold(f32::MIN, f32::max));
        }
    }
    assert_eq!(got, expected);

    // Average over [1, 2] windows -> 4 x 3.
    let got = values(pooling_block(Pool::Avg { kernel: [1, 2] }).forward(input.clone()));
    let expected: Vec<f32> = (0..4)
        .flat_map(|r| (0..3).map(move |c| (r, c)))
        .map(|(r, c)| (at(r, 2 * c) + at(r, 2 * c + 1)) / 2.0)
        .collect();
    assert_eq!(got, expected);

    // Odd sizes drop the partial window, as torch's MaxPool2d(2).
    let input = Tensor::<4>::ones([1, 1, 5, 7], &dev);
    let y = pooling_block(Pool::Max { kernel: [2, 2] }).forward(input);
    assert_eq!(y.dims(), [1, 1, 2, 3]);
}

#[test]
fn blocks_with_one_or_two_convs_keep_same_padding() {
    let dev = device();
    for (n_convs, kernel) in [(1, 3), (2, 3), (1, 5), (2, 1)] {
        let spec = ConvBlockSpec::new()
            .with_n_convs(n_convs)
            .with_kernel_size(kernel)
            .with_pool(Pool::Identity);
        let block = ConvBlockConfig::new(3, 4)
            .with_spec(spec.clone())
            .init(&dev)
            .unwrap();
        assert_eq!(block.convs.len(), n_convs);
        assert_eq!(block.norms.len(), n_convs);
        assert_eq!(block.convs[0].weight.dims(), [4, 3, kernel, kernel]);
        if n_convs == 2 {
            assert_eq!(block.convs[1].weight.dims(), [4, 4, kernel, kernel]);
        }
        let y = block.forward(randn([2, 3, 9, 13], &dev));
        assert_eq!(y.dims(), [2, 4, 9, 13], "n_convs {n_convs} kernel {kernel}");
        assert_eq!(spec.output_hw([9, 13]), Some([9, 13]));
    }
}

#[test]
fn block_without_batch_norm_has_no_norm_layers() {
    let block = ConvBlockConfig::new(1, 2)
        .with_spec(ConvBlockSpec::new().with_batch_norm(false).with_n_convs(2))
        .init(&device())
        .unwrap();
    assert!(block.norms.is_empty());
}

#[test]
fn activations_behave_as_defined() {
    let dev = device();
    let x = Tensor::<1>::from_data(TensorData::new(vec![-2f32, 0.0, 3.0], [3]), &dev);
    assert_eq!(
        values(Activation::Relu.forward(x.clone())),
        vec![0.0, 0.0, 3.0]
    );
    let leaky = values(
        Activation::LeakyRelu {
            negative_slope: 0.1,
        }
        .forward(x.clone()),
    );
    assert!((leaky[0] + 0.2).abs() < 1e-6 && leaky[2] == 3.0);
    // SiLU(3) = 3 * sigmoid(3); GELU(3) = 3 * Phi(3) = 2.995950.
    let silu = values(Activation::Silu.forward(x.clone()))[2];
    assert!((silu - 3.0 / (1.0 + (-3f32).exp())).abs() < 1e-5);
    let gelu = values(Activation::Gelu.forward(x))[2];
    assert!((gelu - 2.995_95).abs() < 1e-4);
}

#[test]
fn invalid_block_specs_are_rejected_with_the_field_named() {
    let dev = device();
    let cases: Vec<(ConvBlockSpec, &str)> = vec![
        (ConvBlockSpec::new().with_kernel_size(4), "kernel_size"),
        (ConvBlockSpec::new().with_kernel_size(0), "kernel_size"),
        (ConvBlockSpec::new().with_n_convs(3), "n_convs"),
        (ConvBlockSpec::new().with_n_convs(0), "n_convs"),
        (ConvBlockSpec::new().with_dropout(1.0), "dropout"),
        (ConvBlockSpec::new().with_dropout(-0.1), "dropout"),
        (
            ConvBlockSpec::new().with_pool(Pool::Avg { kernel: [0, 2] }),
            "pool.kernel",
        ),
        (
            ConvBlockSpec::new().with_activation(Activation::LeakyRelu {
                negative_slope: 1.5,
            }),
            "negative_slope",
        ),
    ];
    for (spec, field) in cases {
        let err = ConvBlockConfig::new(1, 4)
            .with_spec(spec)
            .init(&dev)
            .unwrap_err();
        let message = err.to_string();
        assert!(message.contains(field), "{message} should name {field}");
    }
    let err = CnnConfig::new(vec![8, 0], 3).init(&dev).unwrap_err();
    assert!(err.to_string().contains("widths[1]"), "{err}");
    let err = CnnConfig::new(vec![], 3).init(&dev).unwrap_err();
    assert!(err.to_string().contains("widths"), "{err}");
    let err = CnnConfig::new(vec![8], 0).init(&dev).unwrap_err();
    assert!(err.to_string().contains("n_outputs"), "{err}");
}

#[test]
fn head_pooling_matches_a_hand_computed_reference() {
    let dev = device();
    // [1, 2, 2, 3]: channel 0 = 0..6, channel 1 = 6..12 (row-major frequency x time).
    let x: Vec<f32> = (0..12).map(|v| v as f32).collect();
    let t = Tensor::<4>::from_data(TensorData::new(x, [1, 2, 2, 3]), &dev);
    assert_eq!(values(HeadPool::Mean.forward(t.clone())), vec![2.5, 8.5]);
    assert_eq!(values(HeadPool::Max.forward(t.clone())), vec![5.0, 11.0]);
    // Channel 0: mean over frequency = [1.5, 2.5, 3.5]; max 3.5 + mean 2.5 = 6.
    // Channel 1: [7.5, 8.5, 9.5] -> 9.5 + 8.5 = 18.
    assert_eq!(
        values(HeadPool::MeanMaxTime.forward(t.clone())),
        vec![6.0, 18.0]
    );
    assert_eq!(HeadPool::Flatten.forward(t).dims(), [1, 12]);
}

#[test]
fn global_pooling_accepts_variable_lengths() {
    let dev = device();
    for preset in [Preset::SeedNet, Preset::Tiny] {
        let config = preset.config(7);
        let model = config.init(&dev).unwrap();
        for n_frames in [101, 157] {
            let input = [2, 1, 64, n_frames];
            let y = model.try_forward(randn(input, &dev)).unwrap();
            assert_eq!(y.dims(), config.output_shape(input).unwrap());
        }
    }
}

#[test]
fn flatten_head_sizes_its_linear_layer_and_refuses_other_sizes() {
    let dev = device();
    let config = CnnConfig::new(vec![4, 8], 3)
        .with_head(HeadConfig::new().with_pool(HeadPool::Flatten))
        .with_input_hw(Some([32, 40]));
    // 32 x 40 -> 16 x 20 -> 8 x 10 with 8 channels.
    assert_eq!(config.head_in_features().unwrap(), 8 * 8 * 10);
    let model = config.init(&dev).unwrap();
    assert_eq!(model.head.output.weight.dims(), [640, 3]);
    assert_eq!(
        model
            .try_forward(randn([2, 1, 32, 40], &dev))
            .unwrap()
            .dims(),
        [2, 3]
    );
    let err = model.try_forward(randn([2, 1, 32, 44], &dev)).unwrap_err();
    assert!(matches!(err, NnError::InputShape { .. }), "{err}");

    // Without the fixed size the flatten head cannot be built.
    let err = CnnConfig::new(vec![4], 3)
        .with_head(HeadConfig::new().with_pool(HeadPool::Flatten))
        .init(&dev)
        .unwrap_err();
    assert!(err.to_string().contains("input_hw"), "{err}");
}

#[test]
fn inputs_too_small_or_with_wrong_channels_are_errors_not_panics() {
    let dev = device();
    let model = Preset::SeedNet.config(5).init(&dev).unwrap();
    // 4 blocks of 2x2 pooling need at least 16 frames.
    let err = model.try_forward(randn([1, 1, 64, 12], &dev)).unwrap_err();
    assert!(err.to_string().contains("block 3"), "{err}");
    let err = model.try_forward(randn([1, 2, 64, 101], &dev)).unwrap_err();
    assert!(err.to_string().contains("channel"), "{err}");
    let fused = FusedCnn::new(&model).unwrap();
    assert!(fused.try_forward(randn([1, 2, 64, 101], &dev)).is_err());
    assert!(fused.try_forward(randn([1, 1, 64, 12], &dev)).is_err());
}

#[test]
fn config_survives_a_json_round_trip() {
    for preset in [Preset::SeedNet, Preset::Cnn6, Preset::Cnn10, Preset::Tiny] {
        let config = preset.config(11);
        let json = serde_json::to_string(&config).unwrap();
        let back: CnnConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(back, config);
    }
    let json = serde_json::to_string(&Preset::Cnn10).unwrap();
    assert_eq!(
        serde_json::from_str::<Preset>(&json).unwrap(),
        Preset::Cnn10
    );
}

/// Parameter counts of the same architectures in PyTorch, printed by
/// `python3 benches/compare_refcnn.py --param-counts`: the refcnn.md network with 70 labels, and
/// PANNs' `Cnn6`/`Cnn10` (without the input `bn0` over mel bins) with 527 outputs. burn's
/// `num_params` also counts batch norm's running mean and variance (torch buffers), so the
/// comparison uses torch's parameters plus those buffers (`parameters_and_bn_stats`).
#[test]
fn presets_have_the_parameter_counts_of_their_pytorch_originals() {
    let dev = device();
    assert_eq!(
        Preset::SeedNet.config(70).init(&dev).unwrap().num_params(),
        407_750
    );
    assert_eq!(
        Preset::Cnn6.config(527).init(&dev).unwrap().num_params(),
        4_839_247
    );
    assert_eq!(
        Preset::Cnn10.config(527).init(&dev).unwrap().num_params(),
        5_222_991
    );
}

#[test]
fn every_preset_runs_forward_with_the_shape_it_predicts() {
    let dev = device();
    for preset in [Preset::SeedNet, Preset::Cnn6, Preset::Cnn10, Preset::Tiny] {
        let config = preset.config(4);
        let model = config.init(&dev).unwrap();
        let input = [2, 1, 64, 101];
        let features = model.features(randn(input, &dev));
        assert_eq!(
            features.dims(),
            config.feature_shape(input).unwrap(),
            "{preset:?}"
        );
        let logits = model.forward(randn(input, &dev));
        assert_eq!(logits.dims(), [2, 4]);
        assert!(values(logits).iter().all(|v| v.is_finite()), "{preset:?}");
    }
}

#[test]
fn eval_mode_is_deterministic_and_training_lowers_the_loss() {
    let dev = device();
    let train_dev = dev.clone().autodiff();
    dev.seed(7);
    let task = MultiLabel::default();
    let mut model = Preset::Tiny
        .config(3)
        .with_head(HeadConfig::new().with_dropout(0.3))
        .init(&train_dev)
        .unwrap();
    let x = randn([8, 1, 32, 40], &train_dev);
    let y = MultiLabelTargets::from_rows(
        &(0..24)
            .map(|i| ((i * 5) % 3 == 0) as u8 as f32)
            .collect::<Vec<_>>(),
        3,
        &train_dev,
    )
    .unwrap();
    let mut optim = AdamConfig::new().init();
    let mut losses = vec![];
    for _ in 0..15 {
        let loss = task.loss(model.forward(x.clone()), &y).unwrap();
        losses.push(values(loss.clone())[0]);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(1e-2, model, grads);
    }
    assert!(
        losses[14] < 0.7 * losses[0],
        "loss did not fall on a fixed batch: {losses:?}"
    );

    // Eval mode: dropout off, batch norm on running statistics, the same output twice.
    let eval = model.valid();
    let x = x.inner();
    let a = values(eval.forward(x.clone()));
    let b = values(eval.forward(x.clone()));
    assert_eq!(a, b);

    // The batch-norm-folded inference path agrees with eval mode on trained statistics, on the
    // CPU engine and on burn operations.
    let fused = FusedCnn::new(&eval).unwrap();
    assert_eq!(fused.uses_host_engine(), common::on_cpu());
    for fused in [fused.clone(), fused.without_host_engine()] {
        let c = values(fused.forward(x.clone()));
        for (u, v) in a.iter().zip(&c) {
            assert!((u - v).abs() < 1e-4 * (1.0 + u.abs()), "{u} vs {v}");
        }
    }
}

/// The model with non-trivial batch norm statistics and affine parameters, as after training.
fn with_trained_statistics(mut model: sonotag_nn::Cnn) -> sonotag_nn::Cnn {
    let dev = device();
    for block in &mut model.blocks {
        for norm in &mut block.norms {
            let c = norm.gamma.dims()[0];
            let ramp = |a: f32, b: f32| {
                Tensor::<1>::from_data(
                    TensorData::new((0..c).map(|i| a + b * i as f32).collect::<Vec<_>>(), [c]),
                    &dev,
                )
            };
            norm.running_mean = burn::module::RunningState::new(ramp(-0.2, 0.05));
            norm.running_var = burn::module::RunningState::new(ramp(0.5, 0.1));
            norm.gamma = Param::from_tensor(ramp(0.8, 0.02));
            norm.beta = Param::from_tensor(ramp(0.1, -0.01));
        }
    }
    model
}

/// The folded CPU engine reproduces eval-mode logits for every pooling, activation, kernel and
/// head the blocks support (against burn's own layers as the reference).
#[test]
fn fused_inference_matches_eval_mode_for_every_block_variant() {
    let dev = device();
    dev.seed(5);
    let variants = [
        (Preset::SeedNet.config(6), [3, 1, 64, 101]),
        (Preset::Cnn6.config(6), [2, 1, 64, 101]),
        (Preset::Cnn10.config(6), [2, 1, 64, 101]),
        (
            CnnConfig::new(vec![5, 7], 3)
                .with_in_channels(2)
                .with_block(
                    ConvBlockSpec::new()
                        .with_batch_norm(false)
                        .with_activation(Activation::LeakyRelu {
                            negative_slope: 0.1,
                        })
                        .with_pool(Pool::Max { kernel: [2, 3] }),
                )
                .with_head(HeadConfig::new().with_pool(HeadPool::Max)),
            [2, 2, 17, 31],
        ),
        (
            CnnConfig::new(vec![4, 4, 6], 2)
                .with_block(
                    ConvBlockSpec::new()
                        .with_activation(Activation::Silu)
                        .with_n_convs(2)
                        .with_pool(Pool::Identity),
                )
                .with_head(HeadConfig::new().with_pool(HeadPool::Flatten))
                .with_input_hw(Some([9, 11])),
            [2, 1, 9, 11],
        ),
        (
            Preset::Tiny
                .config(2)
                .with_block(ConvBlockSpec::new().with_activation(Activation::Gelu)),
            [2, 1, 16, 16],
        ),
    ];
    for (config, input) in variants {
        let model = with_trained_statistics(config.init(&dev).unwrap());
        let x = randn(input, &dev);
        let expected = values(model.forward(x.clone()));
        let fused = FusedCnn::new(&model).unwrap();
        let got = values(fused.try_forward(x).unwrap());
        for (u, v) in expected.iter().zip(&got) {
            assert!(
                (u - v).abs() < 1e-4 * (1.0 + u.abs()),
                "{config:?}: {u} vs {v}"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// The folded engine (direct kernel for few input values, strided GEMMs otherwise; shared
    /// padding; pooling before or after the activation) agrees with eval mode on random stacks.
    #[test]
    fn fused_engine_matches_eval_mode_on_random_stacks(
        widths in prop::collection::vec(1usize..20, 1..4),
        in_channels in 1usize..4,
        kernel in prop::sample::select(vec![1usize, 3, 5]),
        n_convs in 1usize..3,
        batch_norm in any::<bool>(),
        pool in prop::sample::select(vec![
            Pool::Identity,
            Pool::Max { kernel: [2, 2] },
            Pool::Avg { kernel: [2, 2] },
            Pool::Max { kernel: [1, 3] },
            Pool::Avg { kernel: [3, 1] },
        ]),
        activation in prop::sample::select(vec![
            Activation::Relu,
            Activation::LeakyRelu { negative_slope: 0.1 },
            Activation::Silu,
        ]),
        batch in 1usize..4,
        f in 12usize..40,
        t in 12usize..40,
    ) {
        let dev = device();
        let config = CnnConfig::new(widths, 3)
            .with_in_channels(in_channels)
            .with_block(
                ConvBlockSpec::new()
                    .with_kernel_size(kernel)
                    .with_n_convs(n_convs)
                    .with_batch_norm(batch_norm)
                    .with_activation(activation)
                    .with_pool(pool),
            );
        let input = [batch, in_channels, f, t];
        prop_assume!(config.feature_shape(input).is_ok(), "the pooling windows do not fit");
        let model = with_trained_statistics(config.init(&dev).unwrap());
        let x = randn(input, &dev);
        let expected = values(model.forward(x.clone()));
        let fused = FusedCnn::new(&model).unwrap();
        prop_assert_eq!(fused.uses_host_engine(), common::on_cpu());
        let got = values(fused.try_forward(x).unwrap());
        for (u, v) in expected.iter().zip(&got) {
            prop_assert!((u - v).abs() < 1e-4 * (1.0 + u.abs()), "{} vs {}", u, v);
        }
    }

    /// `output_shape` predicts what running the network gives, for any valid configuration
    /// and input size (and says "error" exactly when the pooling windows do not fit).
    #[test]
    fn shape_inference_matches_running(
        n_blocks in 1usize..4,
        kernel in prop::sample::select(vec![1usize, 3, 5]),
        n_convs in 1usize..3,
        pool in prop::sample::select(vec![
            Pool::Identity,
            Pool::Max { kernel: [2, 2] },
            Pool::Avg { kernel: [2, 1] },
            Pool::Max { kernel: [1, 3] },
        ]),
        head in prop::sample::select(vec![HeadPool::Mean, HeadPool::Max, HeadPool::MeanMaxTime]),
        f in 1usize..24,
        t in 1usize..30,
    ) {
        let dev = device();
        let config = CnnConfig::new(vec![3; n_blocks], 2)
            .with_block(
                ConvBlockSpec::new()
                    .with_kernel_size(kernel)
                    .with_n_convs(n_convs)
                    .with_pool(pool),
            )
            .with_head(HeadConfig::new().with_pool(head));
        let input = [2, 1, f, t];
        let [kh, kw] = pool.kernel();
        let fits = (0..n_blocks).all(|i| f / kh.pow(i as u32) >= kh && t / kw.pow(i as u32) >= kw);
        match config.feature_shape(input) {
            Ok(shape) => {
                prop_assert!(fits);
                let model = config.init(&dev).unwrap();
                prop_assert_eq!(model.features(randn(input, &dev)).dims(), shape);
                prop_assert_eq!(model.forward(randn(input, &dev)).dims(), [2, 2]);
            }
            Err(NnError::InputShape { .. }) => prop_assert!(!fits),
            Err(other) => prop_assert!(false, "unexpected error {other}"),
        }
    }
}
