//! The compute devices this build offers, chosen at compile time by cargo features.
//!
//! burn 0.22 modules carry no backend type: a tagger runs on whatever [`Device`] it is given.
//! The `flex` (default), `ndarray` and `wgpu` features decide which devices exist.
//!
//! ```
//! let device = sonotag::backend::default_device();
//! println!("training on {}", sonotag::backend::describe(&device));
//! ```

pub use burn::tensor::Device;
pub use sonotag_nn::BackendKind;

use crate::error::{Error, Result};

/// The default CPU device of this build (burn-flex when compiled in, else burn-ndarray).
pub fn cpu() -> Result<Device> {
    let kind = BackendKind::default_cpu().ok_or_else(|| Error::Backend {
        reason: "no CPU backend is compiled in; enable the cargo feature `flex` or `ndarray`"
            .into(),
    })?;
    Ok(kind.device()?)
}

/// The GPU device (wgpu's default adapter). Needs the `wgpu` cargo feature.
pub fn gpu() -> Result<Device> {
    Ok(BackendKind::Wgpu.device()?)
}

/// The device training and prediction use when none is given: the GPU when the `wgpu` feature
/// is on, otherwise the default CPU backend.
pub fn default_device() -> Device {
    if BackendKind::Wgpu.is_compiled()
        && let Ok(device) = gpu()
    {
        return device;
    }
    // A build always has a CPU backend unless every CPU feature was switched off; flex then
    // remains the safest fallback burn offers.
    cpu().unwrap_or_else(|_| fallback_device())
}

#[cfg(feature = "flex")]
fn fallback_device() -> Device {
    Device::flex()
}

#[cfg(all(not(feature = "flex"), feature = "ndarray"))]
#[allow(deprecated)]
fn fallback_device() -> Device {
    Device::ndarray()
}

#[cfg(all(not(feature = "flex"), not(feature = "ndarray"), feature = "wgpu"))]
fn fallback_device() -> Device {
    Device::wgpu(burn::tensor::DeviceKind::DefaultDevice)
}

#[cfg(not(any(feature = "flex", feature = "ndarray", feature = "wgpu")))]
compile_error!("sonotag needs at least one backend feature: `flex`, `ndarray` or `wgpu`");

/// A short human-readable name for a device, for logs.
pub fn describe(device: &Device) -> String {
    format!("{device:?}")
}
