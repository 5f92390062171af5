//! Bounds on network configurations read from outside (a model card, a checkpoint, a user's
//! config file), checked before any weight is allocated.
//!
//! A configuration written in code is trusted: [`CnnConfig::init`] builds what it is given.
//! One that arrives from a file is checked first with [`CnnConfig::check_limits`], so that an
//! edited model card asking for convolutions 200,000 channels wide is a typed error instead of
//! a 160 GB allocation. Shape arithmetic is checked on every path (no wrapping).

use crate::block::Pool;
use crate::cnn::CnnConfig;
use crate::error::NnError;

/// The largest network a configuration from outside may describe.
///
/// The defaults admit every preset and PANNs CNN14 (about 80 M parameters, widths up to 2048,
/// 527 labels) with room to spare; raise a field where a real network needs more.
///
/// ```
/// use sonotag_nn::{CnnConfig, NetLimits};
///
/// let limits = NetLimits::default();
/// assert!(CnnConfig::new(vec![64, 128, 256, 512, 1024, 2048], 527).check_limits(&limits).is_ok());
/// let err = CnnConfig::new(vec![200_000], 10).check_limits(&limits).unwrap_err();
/// assert!(err.to_string().contains("max_width"));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct NetLimits {
    /// Most convolution blocks (default 64; CNN14 has 6).
    pub max_blocks: usize,
    /// Most channels of a block, of the input and of the head's hidden layer (default 8192;
    /// CNN14's widest is 2048).
    pub max_width: usize,
    /// Most logits (default 1,048,576, the dataset label limit; AudioSet has 527).
    pub max_outputs: usize,
    /// Largest convolution kernel side (default 255; audio CNNs use 3 to 9, raw-waveform front
    /// ends up to about 80).
    pub max_kernel_size: usize,
    /// Largest pooling window side (default 1024).
    pub max_pool_size: usize,
    /// Largest fixed input side of a flatten head, `input_hw` (default 1,048,576).
    pub max_input_side: usize,
    /// Most stored values (weights, biases, batch-norm statistics) in the whole network
    /// (default 200 M, 800 MB of `f32`; CNN14 has about 80 M).
    pub max_params: u64,
}

impl Default for NetLimits {
    fn default() -> Self {
        Self {
            max_blocks: 64,
            max_width: 8192,
            max_outputs: 1 << 20,
            max_kernel_size: 255,
            max_pool_size: 1024,
            max_input_side: 1 << 20,
            max_params: 200_000_000,
        }
    }
}

impl CnnConfig {
    /// Checks the configuration's structure ([`Self::validate`]) and every size in it against
    /// `limits`, then the total number of stored values. The error names the field, its value
    /// and the [`NetLimits`] field that bounds it.
    pub fn check_limits(&self, limits: &NetLimits) -> Result<(), NnError> {
        self.validate()?;
        let over = |field: String, value: u64, limit: u64, name: &str| {
            (value > limit).then(|| NnError::Limit {
                field,
                value,
                limit,
                name: format!("NetLimits::{name}"),
            })
        };
        let mut checks = vec![
            over(
                "widths".into(),
                len(self.widths.len()),
                len(limits.max_blocks),
                "max_blocks",
            ),
            over(
                "n_outputs".into(),
                len(self.n_outputs),
                len(limits.max_outputs),
                "max_outputs",
            ),
            over(
                "in_channels".into(),
                len(self.in_channels),
                len(limits.max_width),
                "max_width",
            ),
            over(
                "block.kernel_size".into(),
                len(self.block.kernel_size),
                len(limits.max_kernel_size),
                "max_kernel_size",
            ),
        ];
        for (i, &w) in self.widths.iter().enumerate() {
            checks.push(over(
                format!("widths[{i}]"),
                len(w),
                len(limits.max_width),
                "max_width",
            ));
        }
        if let Some(hidden) = self.head.hidden {
            checks.push(over(
                "head.hidden".into(),
                len(hidden),
                len(limits.max_width),
                "max_width",
            ));
        }
        if let Pool::Max { kernel } | Pool::Avg { kernel } = self.block.pool {
            for side in kernel {
                let limit = len(limits.max_pool_size);
                checks.push(over(
                    "block.pool.kernel".into(),
                    len(side),
                    limit,
                    "max_pool_size",
                ));
            }
        }
        for side in self.input_hw.into_iter().flatten() {
            let limit = len(limits.max_input_side);
            checks.push(over("input_hw".into(), len(side), limit, "max_input_side"));
        }
        if let Some(err) = checks.into_iter().flatten().next() {
            return Err(err);
        }
        let params = self.param_count()?;
        match over("model".into(), params, limits.max_params, "max_params") {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }

    /// The number of values the network stores: convolution weights and biases, batch-norm
    /// scale, shift and running statistics, and the head's Linear layers. A configuration whose
    /// count does not fit in a `u64` is an error, never a wrapped number.
    ///
    /// ```
    /// use sonotag_nn::CnnConfig;
    /// // One 3x3 conv 1 -> 4 with bias (40), batch norm (16), a Linear 4 -> 2 with bias (10).
    /// assert_eq!(CnnConfig::new(vec![4], 2).param_count().unwrap(), 66);
    /// ```
    pub fn param_count(&self) -> Result<u64, NnError> {
        self.validate()?;
        let overflow = || NnError::config("model", "has more parameters than fit in 64 bits");
        let k = len(self.block.kernel_size);
        let mut total: u64 = 0;
        let mut add = |n: Option<u64>| -> Result<(), NnError> {
            total = n.and_then(|n| total.checked_add(n)).ok_or_else(overflow)?;
            Ok(())
        };
        for cfg in self.block_configs() {
            let (mut c_in, c_out) = (len(cfg.in_channels), len(cfg.out_channels));
            for _ in 0..cfg.spec.n_convs {
                let weights = k.checked_mul(k).and_then(|kk| kk.checked_mul(c_in));
                add(weights.and_then(|w| w.checked_mul(c_out)))?;
                if cfg.spec.conv_bias {
                    add(Some(c_out))?;
                }
                if cfg.spec.batch_norm {
                    add(c_out.checked_mul(4))?;
                }
                c_in = c_out;
            }
        }
        let linear = |d_in: u64, d_out: u64| d_in.checked_mul(d_out)?.checked_add(d_out);
        let in_features = len(self.head_in_features()?);
        let out_in = match self.head.hidden {
            Some(hidden) => {
                add(linear(in_features, len(hidden)))?;
                len(hidden)
            }
            None => in_features,
        };
        add(linear(out_in, len(self.n_outputs)))?;
        Ok(total)
    }
}

/// A `usize` size as `u64` (lossless on every supported platform; saturates otherwise).
fn len(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{HeadConfig, HeadPool, Preset};

    #[test]
    fn every_preset_and_a_cnn14_sized_network_fit_the_defaults() {
        let limits = NetLimits::default();
        for preset in [Preset::SeedNet, Preset::Cnn6, Preset::Cnn10, Preset::Tiny] {
            preset.config(527).check_limits(&limits).unwrap();
        }
        let cnn14 = CnnConfig::new(vec![64, 128, 256, 512, 1024, 2048], 527)
            .with_head(HeadConfig::new().with_hidden(Some(2048)));
        let cnn14 = CnnConfig {
            block: cnn14.block.clone().with_n_convs(2).with_conv_bias(false),
            ..cnn14
        };
        let params = cnn14.param_count().unwrap();
        assert!((75_000_000..85_000_000).contains(&params), "{params}");
        cnn14.check_limits(&limits).unwrap();
    }

    #[test]
    fn each_size_names_its_field_value_and_limit() {
        let limits = NetLimits::default();
        let cases = [
            (CnnConfig::new(vec![200_000], 10), "widths[0]", "max_width"),
            (CnnConfig::new(vec![8; 65], 10), "widths", "max_blocks"),
            (
                CnnConfig::new(vec![8], 2_000_000),
                "n_outputs",
                "max_outputs",
            ),
            (
                CnnConfig::new(vec![8], 2).with_in_channels(100_000),
                "in_channels",
                "max_width",
            ),
            (
                CnnConfig::new(vec![8], 2).with_head(HeadConfig::new().with_hidden(Some(1 << 40))),
                "head.hidden",
                "max_width",
            ),
            (CnnConfig::new(vec![8192; 8], 2), "model", "max_params"),
        ];
        for (config, field, name) in cases {
            let err = config.check_limits(&limits).unwrap_err();
            let NnError::Limit {
                field: f,
                value,
                limit,
                ..
            } = &err
            else {
                panic!("{field}: {err}");
            };
            assert_eq!(f, field);
            assert!(value > limit, "{err}");
            let message = err.to_string();
            assert!(message.contains(name), "{message}");
            assert!(message.contains(&value.to_string()), "{message}");
        }
    }

    #[test]
    fn a_flatten_head_over_a_huge_input_overflows_to_an_error_not_a_wrap() {
        let config = CnnConfig::new(vec![8192], 2)
            .with_block(crate::ConvBlockSpec::new().with_pool(Pool::Identity))
            .with_head(HeadConfig::new().with_pool(HeadPool::Flatten))
            .with_input_hw(Some([usize::MAX / 2, usize::MAX / 2]));
        assert!(config.check_limits(&NetLimits::default()).is_err());
        assert!(config.param_count().is_err());
    }

    #[test]
    fn raised_limits_admit_a_bigger_network() {
        let config = CnnConfig::new(vec![10_000], 2);
        assert!(config.check_limits(&NetLimits::default()).is_err());
        let limits = NetLimits {
            max_width: 16_384,
            ..NetLimits::default()
        };
        config.check_limits(&limits).unwrap();
    }
}
