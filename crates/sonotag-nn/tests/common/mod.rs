//! Helpers shared by the integration tests.
#![allow(dead_code)]

use burn::tensor::{Device, Distribution, Tensor};

/// The test device: flex (always compiled in for tests through the dev-dependency), or the
/// backend named by `SONOTAG_TEST_BACKEND` (`flex`, `ndarray`, `wgpu`), so the same
/// backend-generic tests run on a GPU where a build has `--features wgpu` and the machine has
/// one. A named backend this build lacks fails loudly rather than testing flex twice.
pub fn device() -> Device {
    match std::env::var("SONOTAG_TEST_BACKEND") {
        Ok(name) if !name.trim().is_empty() => {
            let kind: sonotag_nn::BackendKind = name
                .parse()
                .unwrap_or_else(|e| panic!("SONOTAG_TEST_BACKEND={name}: {e}"));
            kind.device()
                .unwrap_or_else(|e| panic!("SONOTAG_TEST_BACKEND={name}: {e}"))
        }
        _ => Device::flex(),
    }
}

/// Whether the test device computes on the CPU (where the NHWC engines of `fused` and
/// `forward_train` apply).
pub fn on_cpu() -> bool {
    !std::env::var("SONOTAG_TEST_BACKEND").is_ok_and(|b| b.trim().eq_ignore_ascii_case("wgpu"))
}

/// Host copy of a tensor's values.
pub fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().expect("f32 tensor")
}

/// Standard normal input `[b, 1, f, t]`.
pub fn randn(shape: [usize; 4], device: &Device) -> Tensor<4> {
    Tensor::random(shape, Distribution::Normal(0.0, 1.0), device)
}

/// Mean and (population) standard deviation.
pub fn mean_std(v: &[f32]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n;
    let var = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// The golden fixtures folder (`tests/fixtures` in this package; fails loudly when missing).
pub fn fixtures() -> std::path::PathBuf {
    let dir = std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures"));
    assert!(
        dir.is_dir(),
        "fixtures folder {} is missing: the reference tests cannot run",
        dir.display()
    );
    dir
}
