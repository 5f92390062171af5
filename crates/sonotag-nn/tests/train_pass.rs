//! `Cnn::forward_train` + `TrainPass::gradients` (the CPU NHWC training engine) against burn's
//! own autodiff (`forward` + `GradientsParams::from_grads`): same logits, same gradient for every
//! parameter, same running statistics.

use burn::optim::GradientsParams;
use burn::tensor::{Device, Distribution, Tensor};
use sonotag_nn::{
    Activation, Cnn, CnnConfig, ConvBlockSpec, HeadConfig, HeadPool, MultiLabel, MultiLabelTargets,
    Pool, Preset, Task,
};

fn train_device() -> Device {
    Device::flex().autodiff()
}

fn host_values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().expect("f32 tensor")
}

/// Max |a - b| relative to max |b| (with a floor for all-zero gradients).
fn rel_diff(a: &[f32], b: &[f32]) -> f32 {
    rel_diff_floor(a, b, 1e-6)
}

/// Max |a - b| relative to max(max |b|, floor).
fn rel_diff_floor(a: &[f32], b: &[f32], floor: f32) -> f32 {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(0f32, |m, v| m.max(v.abs())).max(floor);
    a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs())) / scale
}

/// Every trainable parameter's gradient, named, in model order.
fn named_grads(model: &Cnn, grads: &GradientsParams) -> Vec<(String, Vec<f32>)> {
    let mut out = vec![];
    let mut push = |name: String, g: Option<Vec<f32>>| {
        out.push((
            name.clone(),
            g.unwrap_or_else(|| panic!("no gradient for {name}")),
        ));
    };
    for (bi, block) in model.blocks.iter().enumerate() {
        for (ci, conv) in block.convs.iter().enumerate() {
            push(
                format!("block {bi} conv {ci} weight"),
                grads.get::<4>(conv.weight.id).map(host_values),
            );
            if let Some(b) = &conv.bias {
                push(
                    format!("block {bi} conv {ci} bias"),
                    grads.get::<1>(b.id).map(host_values),
                );
            }
        }
        for (ni, norm) in block.norms.iter().enumerate() {
            push(
                format!("block {bi} norm {ni} gamma"),
                grads.get::<1>(norm.gamma.id).map(host_values),
            );
            push(
                format!("block {bi} norm {ni} beta"),
                grads.get::<1>(norm.beta.id).map(host_values),
            );
        }
    }
    push(
        "head weight".into(),
        grads.get::<2>(model.head.output.weight.id).map(host_values),
    );
    out
}

fn running_stats(model: &Cnn) -> Vec<f32> {
    model
        .blocks
        .iter()
        .flat_map(|b| b.norms.iter())
        .flat_map(|n| {
            let mut v = host_values(n.running_mean.value_sync());
            v.extend(host_values(n.running_var.value_sync()));
            v
        })
        .collect()
}

/// Runs one step both ways on copies of the same model and compares everything.
fn check(config: CnnConfig, input: [usize; 4]) {
    let device = train_device();
    // Two independent copies (a clone would share the running statistics).
    let model = config.init_seeded(&device, 5).expect("valid config");
    let reference = config.init_seeded(&device, 5).expect("valid config");
    let n_out = config.n_outputs;
    let x = Tensor::<4>::random(input, Distribution::Normal(0.0, 1.0), &device);
    let rows: Vec<f32> = (0..input[0] * n_out)
        .map(|i| ((i * 7) % 3 == 0) as u8 as f32)
        .collect();
    let y = MultiLabelTargets::from_rows(&rows, n_out, &device).unwrap();
    let task = MultiLabel::default();

    let ref_logits = reference.forward(x.clone());
    let ref_loss = task.loss(ref_logits.clone(), &y).unwrap();
    let ref_grads = GradientsParams::from_grads(ref_loss.backward(), &reference);

    // A first step on a third copy leaves its buffers, full of stale values, for the checked
    // step to reuse: whatever the engine must zero, it has to zero itself.
    let warm = config.init_seeded(&device, 5).expect("valid config");
    let (warm_logits, warm_pass) = warm.forward_train(x.clone(), 1);
    let warm_loss = task.loss(warm_logits, &y).unwrap();
    warm_pass.gradients(warm_loss.backward(), &warm).unwrap();

    let (logits, pass) = model.forward_train(x, 1);
    assert!(
        pass.uses_host_engine(),
        "the CPU engine should run this model"
    );
    let loss = task.loss(logits.clone(), &y).unwrap();
    let grads = pass.gradients(loss.backward(), &model).unwrap();

    let logit_diff = rel_diff(
        &host_values(logits.inner()),
        &host_values(ref_logits.inner()),
    );
    assert!(
        logit_diff < 1e-4,
        "logits differ by {logit_diff} (relative)"
    );
    let ours = named_grads(&model, &grads);
    let theirs = named_grads(&reference, &ref_grads);
    assert_eq!(grads.len(), ref_grads.len(), "same set of parameters");
    // Before batch norm, a convolution's bias has a zero gradient (the norm subtracts the batch
    // mean), and so does the weight of a 1 x 1 convolution with one input channel (the norm
    // undoes its scale): both sides are rounding noise there, so differences are measured
    // against at least 1% of the largest gradient of the network.
    let largest = theirs
        .iter()
        .flat_map(|(_, g)| g.iter())
        .fold(0f32, |m, v| m.max(v.abs()));
    for ((name, a), (_, b)) in ours.iter().zip(&theirs) {
        let d = rel_diff_floor(a, b, 1e-2 * largest);
        assert!(
            d < 2e-3,
            "{name}: gradients differ by {d} (relative to the largest)"
        );
    }
    let stats_diff = rel_diff(&running_stats(&model), &running_stats(&reference));
    assert!(
        stats_diff < 1e-4,
        "running statistics differ by {stats_diff}"
    );
}

fn spec() -> ConvBlockSpec {
    ConvBlockSpec::new()
}

#[test]
fn reused_buffers_leave_nothing_stale_where_pooling_drops_values() {
    // Maps large enough for the engine to keep and reuse their buffers (64 Ki values and up),
    // with an odd width and height, so that 2x2 pooling drops the last row and column, whose
    // gradient must be zero even in a buffer left over from the warm-up step.
    let config = CnnConfig::new(vec![8, 8], 3)
        .with_block(spec().with_pool(Pool::Max { kernel: [2, 2] }))
        .with_head(HeadConfig::new().with_pool(HeadPool::Mean));
    check(config, [4, 1, 41, 55]);
}

#[test]
fn seednet_like_blocks_match_burn_autodiff() {
    // conv bias + batch norm + ReLU + 2x2 max pool, mean head (SeedNet's shape, narrower).
    let config = CnnConfig::new(vec![8, 16, 12], 5)
        .with_block(spec().with_pool(Pool::Max { kernel: [2, 2] }))
        .with_head(HeadConfig::new().with_pool(HeadPool::Mean));
    check(config, [6, 1, 20, 27]);
}

#[test]
fn two_convs_without_bias_leaky_relu_and_average_pooling_match() {
    let config = CnnConfig::new(vec![6, 10], 4)
        .with_block(
            spec()
                .with_n_convs(2)
                .with_conv_bias(false)
                .with_activation(Activation::LeakyRelu {
                    negative_slope: 0.1,
                })
                .with_pool(Pool::Avg { kernel: [2, 2] }),
        )
        .with_head(HeadConfig::new().with_pool(HeadPool::MeanMaxTime));
    check(config, [5, 1, 16, 21]);
}

#[test]
fn no_batch_norm_silu_kernel_five_and_uneven_pooling_match() {
    let config = CnnConfig::new(vec![4, 7], 3)
        .with_in_channels(2)
        .with_block(
            spec()
                .with_kernel_size(5)
                .with_batch_norm(false)
                .with_activation(Activation::Silu)
                .with_pool(Pool::Max { kernel: [2, 1] }),
        )
        .with_head(HeadConfig::new().with_pool(HeadPool::Max));
    check(config, [3, 2, 12, 9]);
}

#[test]
fn identity_pooling_and_a_flatten_head_match() {
    let config = CnnConfig::new(vec![5], 2)
        .with_input_hw(Some([8, 6]))
        .with_block(spec().with_pool(Pool::Identity))
        .with_head(HeadConfig::new().with_pool(HeadPool::Flatten));
    check(config, [4, 1, 8, 6]);
}

#[test]
fn the_tiny_preset_matches_burn_autodiff() {
    check(Preset::Tiny.config(3), [4, 1, 32, 40]);
}

#[test]
fn block_dropout_is_seeded_scaled_and_only_in_training() {
    let device = train_device();
    let config = CnnConfig::new(vec![6], 2)
        .with_block(spec().with_dropout(0.5).with_pool(Pool::Identity))
        .with_head(HeadConfig::new().with_pool(HeadPool::Mean));
    let model = config.init(&device).unwrap();
    let x = Tensor::<4>::random([3, 1, 10, 12], Distribution::Normal(0.0, 1.0), &device);
    let features = |seed| {
        let (logits, pass) = model.forward_train(x.clone(), seed);
        assert!(pass.uses_host_engine());
        host_values(logits.inner())
    };
    assert_eq!(features(3), features(3), "same seed, same masks");
    assert_ne!(features(3), features(4), "another seed, other masks");
    // Without dropout the two seeds agree: the seed only draws masks.
    let plain = CnnConfig::new(vec![6], 2)
        .with_block(spec().with_pool(Pool::Identity))
        .with_head(HeadConfig::new().with_pool(HeadPool::Mean))
        .init(&device)
        .unwrap();
    let run = |seed| host_values(plain.forward_train(x.clone(), seed).0.inner());
    assert_eq!(run(3), run(4));
}

#[test]
fn other_devices_and_unsupported_settings_fall_back_to_burn() {
    // A plain (inference) device has no backward: burn's forward, no engine.
    let plain = Device::flex();
    let model = Preset::Tiny.config(2).init(&plain).unwrap();
    let x = Tensor::<4>::zeros([1, 1, 16, 16], &plain);
    assert!(!model.forward_train(x, 0).1.uses_host_engine());

    // GELU is not implemented by the engine.
    let device = train_device();
    let gelu = CnnConfig::new(vec![4], 2)
        .with_block(spec().with_activation(Activation::Gelu))
        .init(&device)
        .unwrap();
    let x = Tensor::<4>::random([2, 1, 8, 8], Distribution::Normal(0.0, 1.0), &device);
    let (logits, pass) = gelu.forward_train(x, 0);
    assert!(!pass.uses_host_engine());
    let loss = logits.sum();
    let grads = pass.gradients(loss.backward(), &gelu).unwrap();
    assert!(grads.len() > 2, "burn's gradients are returned");
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    fn pool() -> impl Strategy<Value = Pool> {
        prop_oneof![
            Just(Pool::Identity),
            (1usize..=3, 1usize..=3).prop_map(|(h, w)| Pool::Max { kernel: [h, w] }),
            (1usize..=3, 1usize..=3).prop_map(|(h, w)| Pool::Avg { kernel: [h, w] }),
        ]
    }

    fn activation() -> impl Strategy<Value = Activation> {
        prop_oneof![
            Just(Activation::Relu),
            Just(Activation::Silu),
            (0.01f64..0.5).prop_map(|a| Activation::LeakyRelu { negative_slope: a }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

        /// Any block the engine accepts gives burn's gradients.
        #[test]
        fn random_block_stacks_match_burn_autodiff(
            widths in proptest::collection::vec(2usize..7, 1..3),
            kernel in prop_oneof![Just(1usize), Just(3), Just(5)],
            n_convs in 1usize..=2,
            batch_norm in any::<bool>(),
            conv_bias in any::<bool>(),
            activation in activation(),
            pool in pool(),
            head in prop_oneof![Just(HeadPool::Mean), Just(HeadPool::Max), Just(HeadPool::MeanMaxTime)],
            batch in 2usize..5,
            h in 9usize..16,
            w in 9usize..16,
        ) {
            let config = CnnConfig::new(widths, 3)
                .with_block(
                    spec()
                        .with_kernel_size(kernel)
                        .with_n_convs(n_convs)
                        .with_batch_norm(batch_norm)
                        .with_conv_bias(conv_bias)
                        .with_activation(activation)
                        .with_pool(pool),
                )
                .with_head(HeadConfig::new().with_pool(head));
            prop_assume!(config.feature_shape([batch, 1, h, w]).is_ok());
            check(config, [batch, 1, h, w]);
        }
    }
}
