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
