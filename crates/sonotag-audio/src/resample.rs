//! Band-limited resampling with rubato's windowed-sinc resampler.
//!
//! The output of a clip of `n` samples has exactly `round(n * to / from)` samples, with the
//! filter delay removed: output sample `i` lies at time `i / to`, exactly as input sample `j`
//! lies at `j / from` (no fractional shift either).
//!
//! Both rates must lie within [`AudioLimits`]' `min_sample_rate..=max_sample_rate` and their
//! ratio (either way) must be at most `max_resample_ratio`: the resampler's buffers and its
//! output grow with the ratio, and the filter delay compensation below allocates up to
//! `from / gcd(from, to)` samples, so unchecked rates from a WAV header could ask for
//! gigabytes. [`Resampler::new`] and [`resample`] use the default limits, the `_within`/
//! `with_limits` twins take explicit ones.
//!
//! ```
//! let x: Vec<f32> = (0..44_100).map(|i| (i as f32 * 0.1).sin()).collect();
//! let y = sonotag_audio::resample(&x, 44_100, 16_000)?;
//! assert_eq!(y.len(), 16_000);
//! # Ok::<(), sonotag_audio::ResampleError>(())
//! ```

use rubato::{
    Resampler as _, SincFixedIn, SincInterpolationParameters, SincInterpolationType,
    WindowFunction, calculate_cutoff,
};

use crate::error::ResampleError;
use crate::limits::AudioLimits;

/// Sinc filter length (taps per output sample): 256 with a Blackman-Harris window keeps
/// aliases far below -60 dB (measured about -100 dB, see the tests).
const SINC_LEN: usize = 256;
/// Input frames per rubato call.
const CHUNK: usize = 4096;

/// A resampler between two fixed rates, planned once (the sinc table is the costly part) and
/// reusable for many clips.
pub struct Resampler {
    from: u32,
    to: u32,
    inner: SincFixedIn<f32>,
    out_buf: Vec<Vec<f32>>,
}

impl std::fmt::Debug for Resampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resampler")
            .field("from", &self.from)
            .field("to", &self.to)
            .finish_non_exhaustive()
    }
}

impl Resampler {
    /// Plans a mono resampler from `from` Hz to `to` Hz, within [`AudioLimits::default`].
    pub fn new(from: u32, to: u32) -> Result<Self, ResampleError> {
        Self::with_limits(from, to, &AudioLimits::default())
    }

    /// Plans a mono resampler from `from` Hz to `to` Hz after checking both rates and their
    /// ratio against `limits` ([`ResampleError::Limit`] names the input or output rate).
    pub fn with_limits(from: u32, to: u32, limits: &AudioLimits) -> Result<Self, ResampleError> {
        check_rates(from, to, limits)?;
        let params = SincInterpolationParameters {
            sinc_len: SINC_LEN,
            f_cutoff: calculate_cutoff(SINC_LEN, WindowFunction::BlackmanHarris2),
            oversampling_factor: 256,
            interpolation: SincInterpolationType::Cubic,
            window: WindowFunction::BlackmanHarris2,
        };
        let ratio = f64::from(to) / f64::from(from);
        let inner = SincFixedIn::<f32>::new(ratio, 1.0, params, CHUNK, 1)
            .map_err(|e| ResampleError::Backend(e.to_string()))?;
        let out_buf = inner.output_buffer_allocate(true);
        Ok(Self {
            from,
            to,
            inner,
            out_buf,
        })
    }

    /// Input rate in Hz.
    pub fn from_rate(&self) -> u32 {
        self.from
    }

    /// Output rate in Hz.
    pub fn to_rate(&self) -> u32 {
        self.to
    }

    /// Number of output samples for `n` input samples: `round(n * to / from)`, saturating at
    /// `usize::MAX` (never reached: the ratio is bounded and `n` is a slice length).
    pub fn output_len(&self, n: usize) -> usize {
        // Integer arithmetic: exact for any clip length (round half up); u128 cannot overflow.
        let num = n as u128 * u128::from(self.to);
        let den = u128::from(self.from);
        usize::try_from((num + den / 2) / den).unwrap_or(usize::MAX)
    }

    /// Resamples one mono clip.
    pub fn process(&mut self, input: &[f32]) -> Result<Vec<f32>, ResampleError> {
        let backend = |e: rubato::ResampleError| ResampleError::Backend(e.to_string());
        self.inner.reset();
        let want = self.output_len(input.len());
        // rubato 0.16's SincFixedIn puts output sample i at input position
        // (i + 1) * r - 1, r = from / to (measured, and checked by the `output_is_not_delayed`
        // test). With r = a / b in lowest terms, prepending a - 1 zeros and dropping the first
        // b - 1 outputs puts output i exactly at input position i * r.
        let g = gcd(self.from, self.to);
        let (a, b) = ((self.from / g) as usize, (self.to / g) as usize);
        let (lead_in, drop) = (a - 1, b - 1);
        // The rates were checked in `with_limits`, so lead_in and drop are below
        // max_sample_rate; the sums only overflow for impossible slice lengths.
        let overflow = || ResampleError::Backend("clip too long to resample".into());
        let mut padded =
            crate::buffer::with_capacity(lead_in.checked_add(input.len()).ok_or_else(overflow)?);
        padded.resize(lead_in, 0.0);
        padded.extend_from_slice(input);
        let out_cap = want
            .checked_add(drop)
            .and_then(|n| n.checked_add(self.out_buf[0].len()))
            .ok_or_else(overflow)?;
        let mut out = crate::buffer::with_capacity(out_cap);
        let mut chunks = padded.chunks_exact(CHUNK);
        for chunk in &mut chunks {
            let (_, n) = self
                .inner
                .process_into_buffer(&[chunk], &mut self.out_buf, None)
                .map_err(backend)?;
            out.extend_from_slice(&self.out_buf[0][..n]);
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let (_, n) = self
                .inner
                .process_partial_into_buffer(Some(&[rest]), &mut self.out_buf, None)
                .map_err(backend)?;
            out.extend_from_slice(&self.out_buf[0][..n]);
        }
        // Flush the filter's tail (zeros in) until the last wanted sample is out.
        while out.len() < want + drop {
            let (_, n) = self
                .inner
                .process_partial_into_buffer(None::<&[&[f32]]>, &mut self.out_buf, None)
                .map_err(backend)?;
            if n == 0 {
                return Err(ResampleError::Backend(
                    "resampler produced no output while flushing".into(),
                ));
            }
            out.extend_from_slice(&self.out_buf[0][..n]);
        }
        out.drain(..drop);
        out.truncate(want);
        Ok(out)
    }
}

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Zero rates (the historical [`ResampleError::ZeroRate`]), then each rate against the
/// sample-rate range, then their ratio.
fn check_rates(from: u32, to: u32, limits: &AudioLimits) -> Result<(), ResampleError> {
    if from == 0 || to == 0 {
        return Err(ResampleError::ZeroRate { from, to });
    }
    limits.check_sample_rate("input sample rate", from)?;
    limits.check_sample_rate("output sample rate", to)?;
    limits.check_resample_ratio(from, to)?;
    Ok(())
}

/// Resamples a mono clip from `from` Hz to `to` Hz (a copy when the rates are equal), within
/// [`AudioLimits::default`].
pub fn resample(input: &[f32], from: u32, to: u32) -> Result<Vec<f32>, ResampleError> {
    resample_within(input, from, to, &AudioLimits::default())
}

/// [`resample`] with explicit limits. Equal rates are checked too (a copy at 4 GHz is still a
/// rate no audio has).
pub fn resample_within(
    input: &[f32],
    from: u32,
    to: u32,
    limits: &AudioLimits,
) -> Result<Vec<f32>, ResampleError> {
    check_rates(from, to, limits)?;
    if from == to {
        return Ok(input.to_vec());
    }
    Resampler::with_limits(from, to, limits)?.process(input)
}
