//! Backend names and availability.

use sonotag_nn::BackendKind;

#[test]
fn backend_names_parse_and_round_trip() {
    for kind in BackendKind::ALL {
        assert_eq!(kind.name().parse::<BackendKind>().unwrap(), kind);
        assert_eq!(kind.to_string(), kind.name());
    }
    assert_eq!(" FLEX ".parse::<BackendKind>().unwrap(), BackendKind::Flex);
    let err = "cuda".parse::<BackendKind>().unwrap_err();
    assert!(err.to_string().contains("flex, ndarray, wgpu"), "{err}");
}

#[test]
fn compiled_backends_give_devices_and_missing_ones_say_which_feature() {
    for kind in BackendKind::ALL {
        match kind.device() {
            Ok(_) => assert!(kind.is_compiled()),
            Err(e) => {
                assert!(!kind.is_compiled());
                assert!(
                    e.to_string()
                        .contains(&format!("feature `{}`", kind.name())),
                    "{e}"
                );
            }
        }
    }
    // The default CPU backend is flex whenever it is compiled in.
    if BackendKind::Flex.is_compiled() {
        assert_eq!(BackendKind::default_cpu(), Some(BackendKind::Flex));
    }
}

/// The backend-generic path (build, forward, one training step) on the GPU backend, where this
/// build has it and the machine has an adapter; otherwise the test says why it skips.
#[cfg(feature = "wgpu")]
#[test]
fn tiny_net_trains_one_step_on_wgpu_when_an_adapter_exists() {
    use burn::module::Module;
    use burn::optim::{AdamConfig, GradientsParams};
    use burn::tensor::{Distribution, Tensor};
    use sonotag_nn::{MultiLabel, MultiLabelTargets, Preset, Task};

    let probe = std::panic::catch_unwind(|| {
        let device = BackendKind::Wgpu.device().expect("compiled in");
        // Touching a tensor initialises the adapter; without one this panics.
        let _ = Tensor::<1>::zeros([1], &device).into_data();
        device
    });
    let Ok(device) = probe else {
        eprintln!(
            "skipping: wgpu found no adapter (no GPU and no software Vulkan such as lavapipe)"
        );
        return;
    };
    let train = device.clone().autodiff();
    let model = Preset::Tiny.config(3).init(&train).unwrap();
    let x = Tensor::<4>::random([2, 1, 32, 40], Distribution::Normal(0.0, 1.0), &train);
    let y = MultiLabelTargets::from_rows(&[1.0, 0.0, 1.0, 0.0, 1.0, 0.0], 3, &train).unwrap();
    let loss = MultiLabel::default().loss(model.forward(x), &y).unwrap();
    let grads = GradientsParams::from_grads(loss.backward(), &model);
    let model = AdamConfig::new().init().step(1e-3, model, grads);
    let logits = model
        .valid()
        .forward(Tensor::<4>::zeros([1, 1, 32, 40], &device));
    let values = logits.into_data().try_to_vec::<f32>().unwrap();
    assert!(values.iter().all(|v| v.is_finite()));
}
