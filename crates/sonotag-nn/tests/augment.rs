//! SpecAugment and mixup: bounds, exact effect, label mixing, determinism.

use crate::common::{self, device, randn, values};
use burn::tensor::{Tensor, TensorData};
use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use sonotag_nn::augment::{Augmenter, MixupConfig, SpecAugmentConfig};
use sonotag_nn::{ClassTargets, MultiLabelTargets, Targets};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Every mask lies inside the spectrogram, no wider than configured, and applying the plan
    /// sets exactly the masked cells (and only them) to the mask value.
    #[test]
    fn spec_augment_masks_stay_in_bounds_and_hit_exactly_the_planned_cells(
        seed in any::<u64>(),
        freq_masks in 0usize..4,
        time_masks in 0usize..4,
        max_f in 0usize..12,
        max_t in 0usize..40,
        n_mels in 1usize..20,
        n_frames in 1usize..30,
    ) {
        let sa = SpecAugmentConfig::new()
            .with_freq_masks(freq_masks)
            .with_time_masks(time_masks)
            .with_max_freq_width(max_f)
            .with_max_time_width(max_t)
            .with_mask_value(-3.0)
            .init()
            .unwrap();
        let mut rng = StdRng::seed_from_u64(seed);
        let plan = sa.plan(2, n_mels, n_frames, &mut rng);
        let mut expected = vec![1.0f32; 2 * n_mels * n_frames];
        for (i, masks) in plan.samples.iter().enumerate() {
            prop_assert_eq!(masks.freq.len(), freq_masks);
            prop_assert_eq!(masks.time.len(), time_masks);
            for s in &masks.freq {
                prop_assert!(s.width <= max_f && s.start + s.width <= n_mels);
                for f in s.start..s.start + s.width {
                    for t in 0..n_frames {
                        expected[(i * n_mels + f) * n_frames + t] = -3.0;
                    }
                }
            }
            for s in &masks.time {
                prop_assert!(s.width <= max_t && s.start + s.width <= n_frames);
                for f in 0..n_mels {
                    for t in s.start..s.start + s.width {
                        expected[(i * n_mels + f) * n_frames + t] = -3.0;
                    }
                }
            }
        }
        let x = Tensor::<4>::ones([2, 1, n_mels, n_frames], &device());
        prop_assert_eq!(values(sa.apply(x, &plan).unwrap()), expected);
    }

    /// Mixed examples are elementwise convex combinations of their pair, and the targets are
    /// mixed with the same weight and partner.
    #[test]
    fn mixup_is_convex_and_mixes_labels_the_same_way(seed in any::<u64>(), alpha in 0.05f64..4.0) {
        let dev = device();
        let b = 6;
        let mixup = MixupConfig::new().with_alpha(alpha).init().unwrap();
        let plan = mixup.plan(b, &mut StdRng::seed_from_u64(seed));
        let mut sorted = plan.partners.clone();
        sorted.sort_unstable();
        prop_assert_eq!(sorted, (0..b).collect::<Vec<_>>());
        prop_assert!(plan.lambdas.iter().all(|l| (0.0..=1.0).contains(l)));

        let x = randn([b, 1, 4, 5], &dev);
        let labels: Vec<f32> = (0..b * 3).map(|i| ((i * 7) % 5 < 2) as u8 as f32).collect();
        let y = MultiLabelTargets::from_rows(&labels, 3, &dev).unwrap();
        let xv = values(x.clone());
        let (mx, my) = mixup.apply(x, y, &plan).unwrap();
        let (mx, my) = (values(mx), values(my.matrix()));
        let per = 20;
        for i in 0..b {
            let (l, p) = (plan.lambdas[i], plan.partners[i]);
            for k in 0..per {
                let (a, c) = (xv[i * per + k], xv[p * per + k]);
                let v = mx[i * per + k];
                prop_assert!(v >= a.min(c) - 1e-5 && v <= a.max(c) + 1e-5);
                prop_assert!((v - (l * a + (1.0 - l) * c)).abs() < 1e-5);
            }
            for k in 0..3 {
                let expected = l * labels[i * 3 + k] + (1.0 - l) * labels[p * 3 + k];
                prop_assert!((my[i * 3 + k] - expected).abs() < 1e-6);
            }
        }
    }
}

#[test]
fn mixup_weights_follow_beta_alpha_alpha() {
    // Beta(a, a) has mean 1/2 and variance 1 / (4 (2a + 1)).
    for alpha in [0.2, 1.0, 4.0] {
        let mixup = MixupConfig::new().with_alpha(alpha).init().unwrap();
        let l = mixup.plan(20_000, &mut StdRng::seed_from_u64(3)).lambdas;
        let (mean, std) = common::mean_std(&l);
        let var = 1.0 / (4.0 * (2.0 * alpha + 1.0));
        assert!((mean - 0.5).abs() < 0.01, "alpha {alpha}: mean {mean}");
        assert!(
            (std * std / var - 1.0).abs() < 0.05,
            "alpha {alpha}: var {}",
            std * std
        );
    }
    assert!(MixupConfig::new().with_alpha(0.0).init().is_err());
    assert!(MixupConfig::new().with_alpha(f64::NAN).init().is_err());
    assert!(MixupConfig::new().with_alpha(f64::INFINITY).init().is_err());
}

#[test]
fn mixed_class_targets_stay_distributions() {
    let dev = device();
    let mixup = MixupConfig::new().with_alpha(1.0).init().unwrap();
    let y = ClassTargets::from_indices(&[0, 1, 2, 1], 3, &dev).unwrap();
    let plan = mixup.plan(4, &mut StdRng::seed_from_u64(9));
    let (_, mixed) = mixup
        .apply(Tensor::<4>::zeros([4, 1, 2, 2], &dev), y, &plan)
        .unwrap();
    for row in values(mixed.matrix()).chunks(3) {
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    }
}

fn augmented(seed: u64) -> (Vec<f32>, Vec<f32>) {
    let dev = device();
    let x: Vec<f32> = (0..4 * 16 * 24).map(|i| (i % 97) as f32 / 97.0).collect();
    let x = Tensor::<4>::from_data(TensorData::new(x, [4, 1, 16, 24]), &dev);
    let y =
        MultiLabelTargets::from_rows(&[1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0], 2, &dev).unwrap();
    let mut aug = Augmenter::new(
        Some(
            SpecAugmentConfig::new()
                .with_max_freq_width(4)
                .with_max_time_width(6),
        ),
        Some(MixupConfig::new()),
        seed,
    )
    .unwrap();
    let (x, y) = aug.apply(x, y).unwrap();
    (values(x), values(y.matrix()))
}

#[test]
fn augmentation_is_deterministic_given_the_seed() {
    assert_eq!(augmented(1), augmented(1));
    assert_ne!(augmented(1), augmented(2));
}

#[test]
fn plans_for_another_batch_are_rejected() {
    let dev = device();
    let sa = SpecAugmentConfig::new().init().unwrap();
    let plan = sa.plan(2, 8, 10, &mut StdRng::seed_from_u64(0));
    assert!(
        sa.apply(Tensor::<4>::zeros([3, 1, 8, 10], &dev), &plan)
            .is_err()
    );
    assert!(
        sa.apply(Tensor::<4>::zeros([2, 1, 8, 11], &dev), &plan)
            .is_err()
    );
    let mixup = MixupConfig::new().init().unwrap();
    let plan = mixup.plan(2, &mut StdRng::seed_from_u64(0));
    let y = MultiLabelTargets::from_rows(&[1.0, 0.0, 1.0], 1, &dev).unwrap();
    assert!(
        mixup
            .apply(Tensor::<4>::zeros([3, 1, 2, 2], &dev), y, &plan)
            .is_err()
    );
}
