//! Which burn backends this build has, chosen by cargo features, and their devices.
//!
//! burn 0.22 modules carry no backend type: the same [`crate::Cnn`] runs on whatever
//! [`Device`] it is built on or moved to. Cargo features (`flex`, `ndarray`, `wgpu`) decide which
//! devices exist in a build; this module names them and picks a default.

use core::fmt;
use core::str::FromStr;

use burn::tensor::Device;

use crate::error::NnError;

/// A backend burn can run on, compiled in or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BackendKind {
    /// burn-flex: pure-Rust CPU backend (im2col + gemm convolutions); the default CPU backend.
    Flex,
    /// burn-ndarray: the older CPU backend, deprecated upstream.
    NdArray,
    /// burn-wgpu: GPU through Vulkan, Metal or DX12.
    Wgpu,
}

impl BackendKind {
    /// Every kind, compiled in or not.
    pub const ALL: [BackendKind; 3] = [Self::Flex, Self::NdArray, Self::Wgpu];

    /// The name used on command lines (`flex`, `ndarray`, `wgpu`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Flex => "flex",
            Self::NdArray => "ndarray",
            Self::Wgpu => "wgpu",
        }
    }

    /// Whether this build has the backend (its cargo feature is on).
    pub fn is_compiled(self) -> bool {
        match self {
            Self::Flex => cfg!(feature = "flex"),
            Self::NdArray => cfg!(feature = "ndarray"),
            Self::Wgpu => cfg!(feature = "wgpu"),
        }
    }

    /// The backends compiled into this build.
    pub fn compiled() -> Vec<BackendKind> {
        Self::ALL.into_iter().filter(|k| k.is_compiled()).collect()
    }

    /// The default CPU backend of this build: Flex when compiled in (it is faster, see
    /// docs/architecture.md), else NdArray.
    pub fn default_cpu() -> Option<BackendKind> {
        [Self::Flex, Self::NdArray]
            .into_iter()
            .find(|k| k.is_compiled())
    }

    /// An inference device of this backend (use `device.autodiff()` to train on it).
    pub fn device(self) -> Result<Device, NnError> {
        match self {
            #[cfg(feature = "flex")]
            Self::Flex => Ok(Device::flex()),
            #[cfg(feature = "ndarray")]
            #[allow(deprecated)]
            // burn-ndarray is deprecated upstream; kept selectable on purpose.
            Self::NdArray => Ok(Device::ndarray()),
            #[cfg(feature = "wgpu")]
            Self::Wgpu => Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice)),
            #[allow(unreachable_patterns)] // reachable only when a feature is off
            other => Err(NnError::Backend {
                name: other.name().to_string(),
                reason: format!(
                    "this build was compiled without it; enable the cargo feature `{}` \
                     (compiled in: {})",
                    other.name(),
                    compiled_names()
                ),
            }),
        }
    }
}

fn compiled_names() -> String {
    let names: Vec<_> = BackendKind::compiled()
        .into_iter()
        .map(BackendKind::name)
        .collect();
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for BackendKind {
    type Err = NnError;

    /// Parses `flex`, `ndarray` or `wgpu` (case-insensitive).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| NnError::Backend {
                name: s.to_string(),
                reason: "unknown backend; expected one of flex, ndarray, wgpu".into(),
            })
    }
}
