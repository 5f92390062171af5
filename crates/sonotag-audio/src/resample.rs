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
        let mut stream = ResampleStream::start(self);
        // Reserve the whole output once (plus what rubato may hand out past it before the
        // truncation): a clip's output is bounded by the checked ratio times its length.
        let want = self.output_len(input.len());
        let mut out = crate::buffer::with_capacity(want);
        stream.push(self, input, &mut out)?;
        stream.finish(self, &mut out)?;
        Ok(out)
    }

    /// Starts resampling a stream: samples go in with [`ResampleStream::push`] in chunks of
    /// any size and come out as soon as they are final; [`ResampleStream::finish`] flushes
    /// the rest. The output is bit-for-bit the output of [`Self::process`] on the
    /// concatenated input, whatever the chunking, and memory does not grow with the stream.
    ///
    /// ```
    /// let x: Vec<f32> = (0..44_100).map(|i| (i as f32 * 0.1).sin()).collect();
    /// let mut resampler = sonotag_audio::Resampler::new(44_100, 16_000)?;
    /// let whole = resampler.process(&x)?;
    /// let mut stream = resampler.stream();
    /// let mut out = Vec::new();
    /// for chunk in x.chunks(1000) {
    ///     stream.push(&mut resampler, chunk, &mut out)?;
    /// }
    /// stream.finish(&mut resampler, &mut out)?;
    /// assert_eq!(out, whole);
    /// # Ok::<(), sonotag_audio::ResampleError>(())
    /// ```
    pub fn stream(&mut self) -> ResampleStream {
        ResampleStream::start(self)
    }
}

/// The state of one stream through a [`Resampler`] (see [`Resampler::stream`]).
///
/// The resampler is passed to each call rather than borrowed for the stream's life, so one
/// planned resampler can serve many streams in turn (each [`Resampler::stream`] resets it).
#[derive(Debug)]
pub struct ResampleStream {
    /// Input not yet handed to rubato: shorter than one rubato chunk between pushes (the
    /// lead-in zeros alone may be longer until the first push).
    pending: Vec<f32>,
    /// Leading outputs still to discard (the filter-delay compensation).
    to_drop: usize,
    /// Input samples pushed so far.
    n_in: u64,
    /// Outputs produced by rubato but not yet known to lie within the final length.
    held: Vec<f32>,
    /// Outputs handed to the caller so far.
    n_out: u64,
}

impl ResampleStream {
    fn start(resampler: &mut Resampler) -> Self {
        resampler.inner.reset();
        // rubato 0.16's SincFixedIn puts output sample i at input position
        // (i + 1) * r - 1, r = from / to (measured, and checked by the `output_is_not_delayed`
        // test). With r = a / b in lowest terms, prepending a - 1 zeros and dropping the first
        // b - 1 outputs puts output i exactly at input position i * r.
        let (a, b) = resampler.reduced_ratio();
        // The rates were checked when the resampler was planned, so a and b are below
        // max_sample_rate: a bounded allocation.
        let pending = vec![0.0; a - 1];
        Self {
            pending,
            to_drop: b - 1,
            n_in: 0,
            held: Vec::new(),
            n_out: 0,
        }
    }

    /// Resamples `input`, appending to `out` every output sample that is now final.
    pub fn push(
        &mut self,
        resampler: &mut Resampler,
        input: &[f32],
        out: &mut Vec<f32>,
    ) -> Result<(), ResampleError> {
        self.n_in += input.len() as u64;
        self.pending.extend_from_slice(input);
        self.run_whole_chunks(resampler)?;
        // Outputs below floor(n_in * to / from) are final: the final length, round(n * to /
        // from) with n >= n_in, can only be larger.
        let safe = resampler.output_len_floor(self.n_in);
        self.release(safe, out);
        Ok(())
    }

    /// Flushes the filter and appends the last output samples, so that the whole stream has
    /// given exactly `round(n * to / from)` samples for `n` samples pushed.
    pub fn finish(
        mut self,
        resampler: &mut Resampler,
        out: &mut Vec<f32>,
    ) -> Result<(), ResampleError> {
        let want = resampler.output_len(usize::try_from(self.n_in).unwrap_or(usize::MAX)) as u64;
        self.run_whole_chunks(resampler)?;
        if !self.pending.is_empty() {
            let pending = std::mem::take(&mut self.pending);
            let n = resampler.run(Some(&pending), true)?;
            self.take_output(resampler, n);
        }
        // Flush the filter's tail (zeros in) until the last wanted sample is out.
        while self.n_out + (self.held.len() as u64) < want {
            let n = resampler.run(None, true)?;
            if n == 0 {
                return Err(ResampleError::Backend(
                    "resampler produced no output while flushing".into(),
                ));
            }
            self.take_output(resampler, n);
        }
        self.release(want, out);
        Ok(())
    }

    /// Hands rubato every whole chunk of `pending`, counted from the start of the lead-in
    /// zeros: the chunking of the whole-clip path whatever the pushes (the lead-in alone may
    /// be several chunks).
    fn run_whole_chunks(&mut self, resampler: &mut Resampler) -> Result<(), ResampleError> {
        let mut start = 0;
        while self.pending.len() - start >= CHUNK {
            let n = resampler.run(Some(&self.pending[start..start + CHUNK]), false)?;
            self.take_output(resampler, n);
            start += CHUNK;
        }
        self.pending.drain(..start);
        Ok(())
    }

    /// Moves rubato's `n` new outputs past the ones still to drop into `held`.
    fn take_output(&mut self, resampler: &Resampler, n: usize) {
        let produced = &resampler.out_buf[0][..n];
        let skip = self.to_drop.min(n);
        self.to_drop -= skip;
        self.held.extend_from_slice(&produced[skip..]);
    }

    /// Hands out held outputs up to a total of `limit` samples; the rest stays held (or, once
    /// the limit is the final length, is the filter tail and never handed out).
    fn release(&mut self, limit: u64, out: &mut Vec<f32>) {
        let room = limit.saturating_sub(self.n_out);
        let n = usize::try_from(room)
            .unwrap_or(usize::MAX)
            .min(self.held.len());
        out.extend_from_slice(&self.held[..n]);
        self.held.drain(..n);
        self.n_out += n as u64;
    }
}

impl Resampler {
    /// `(a, b)` with `from / to = a / b` in lowest terms.
    fn reduced_ratio(&self) -> (usize, usize) {
        let g = gcd(self.from, self.to);
        ((self.from / g) as usize, (self.to / g) as usize)
    }

    /// `floor(n * to / from)`.
    fn output_len_floor(&self, n: u64) -> u64 {
        let num = u128::from(n) * u128::from(self.to);
        u64::try_from(num / u128::from(self.from)).unwrap_or(u64::MAX)
    }

    /// One rubato call: a full chunk, a partial last chunk, or (`input` None) a flush of the
    /// filter tail. Returns the number of outputs now in `out_buf[0]`.
    fn run(&mut self, input: Option<&[f32]>, partial: bool) -> Result<usize, ResampleError> {
        let backend = |e: rubato::ResampleError| ResampleError::Backend(e.to_string());
        let (_, n) = match (input, partial) {
            (Some(chunk), false) => {
                self.inner
                    .process_into_buffer(&[chunk], &mut self.out_buf, None)
            }
            (Some(chunk), true) => {
                self.inner
                    .process_partial_into_buffer(Some(&[chunk]), &mut self.out_buf, None)
            }
            (None, _) => {
                self.inner
                    .process_partial_into_buffer(None::<&[&[f32]]>, &mut self.out_buf, None)
            }
        }
        .map_err(backend)?;
        Ok(n)
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
