//! Segmentation of a stream: samples pushed in chunks, segments out as soon as they are full.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

use super::{PadFill, Segment, SegmentConfig, SegmentSamples};
use crate::error::ConfigError;
use crate::limits::AudioLimits;

/// Cuts a stream of mono samples into the segments [`segment`](super::segment) would give for
/// the whole stream at once (equal segments, in order), holding less than one window plus
/// one pushed chunk of samples, whatever the stream's length.
///
/// ```
/// use sonotag_audio::{SegmentConfig, SegmentStream, AudioLimits};
/// let mut stream = SegmentStream::new(16_000, &SegmentConfig::default(), &AudioLimits::default())?;
/// let mut segments = Vec::new();
/// for _ in 0..5 {
///     stream.push(&[0.1; 8_000], &mut segments); // half a second at a time
/// }
/// assert_eq!(segments.len(), 2); // two full seconds so far
/// segments.extend(stream.finish()?); // the 0.5 s residual, zero-padded
/// assert_eq!(segments[2].content_end_s, 2.5);
/// # Ok::<(), sonotag_audio::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct SegmentStream {
    s: SegmentSamples,
    sample_rate: u32,
    pad: PadFill,
    pad_short: bool,
    /// Samples from `buf_start` on (at least those from `next_start` on).
    buf: Vec<f32>,
    buf_start: usize,
    /// Start of the next segment.
    next_start: usize,
    /// Samples pushed so far.
    n: usize,
    /// Full segments given so far.
    full: usize,
}

impl SegmentStream {
    /// A stream at `sample_rate` Hz cut per `config`, checked against `limits` as
    /// [`SegmentConfig::in_samples_within`] does. The number of segments is not limited
    /// (`max_segments_per_clip` bounds a list held at once; a stream holds none).
    pub fn new(
        sample_rate: u32,
        config: &SegmentConfig,
        limits: &AudioLimits,
    ) -> Result<Self, ConfigError> {
        let s = config.in_samples_within(sample_rate, limits)?;
        Ok(Self {
            s,
            sample_rate,
            pad: config.pad,
            pad_short: false,
            buf: Vec::new(),
            buf_start: 0,
            next_start: 0,
            n: 0,
            full: 0,
        })
    }

    /// With `true`, a stream too short to give any segment under the residual rule (shorter
    /// than both the window and `min_residual_s`, but not empty) still gives one, padded, so
    /// that every non-empty recording can be scored.
    pub fn pad_short_streams(mut self, yes: bool) -> Self {
        self.pad_short = yes;
        self
    }

    /// Samples pushed so far.
    pub fn samples_pushed(&self) -> usize {
        self.n
    }

    /// Appends `samples` to the stream and every segment they complete to `out`.
    pub fn push(&mut self, samples: &[f32], out: &mut Vec<Segment>) {
        self.buf.extend_from_slice(samples);
        self.n += samples.len();
        while self.n - self.next_start >= self.s.window {
            let at = self.next_start - self.buf_start;
            let window = self.buf[at..at + self.s.window].to_vec();
            out.push(self.segment(self.next_start, self.s.window, window));
            self.full += 1;
            self.next_start += self.s.hop;
        }
        // Keep only what a later segment can still use; drop in bulk (amortised O(1)).
        let unused = self.next_start - self.buf_start;
        if unused > 0 && unused >= self.buf.len() / 2 {
            self.buf.drain(..unused);
            self.buf_start = self.next_start;
        }
    }

    /// Ends the stream: the padded residual segment, if the residual rule keeps one.
    pub fn finish(self) -> Result<Option<Segment>, ConfigError> {
        let covered = match self.full {
            0 => 0,
            k => (k - 1) * self.s.hop + self.s.window,
        };
        let residual = self.n - covered;
        let kept = residual > 0 && residual >= self.s.min_residual;
        let short = self.pad_short && self.full == 0 && self.n > 0;
        if !(kept || short) || self.next_start >= self.n {
            return Ok(None);
        }
        let at = self.next_start - self.buf_start;
        let content_len = self.n - self.next_start;
        let mut samples = Vec::with_capacity(self.s.window);
        samples.extend_from_slice(&self.buf[at..at + content_len]);
        match self.pad {
            PadFill::Noise { std, seed } => {
                let normal =
                    Normal::new(0.0f32, std).map_err(|e| ConfigError::new("pad", e.to_string()))?;
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                samples.extend((content_len..self.s.window).map(|_| normal.sample(&mut rng)));
            }
            PadFill::Zeros => samples.resize(self.s.window, 0.0),
        }
        Ok(Some(self.segment(self.next_start, content_len, samples)))
    }

    fn segment(&self, start: usize, content_len: usize, samples: Vec<f32>) -> Segment {
        let sr = f64::from(self.sample_rate);
        Segment {
            index: self.full,
            start_sample: start,
            start_s: start as f64 / sr,
            end_s: (start + self.s.window) as f64 / sr,
            content_end_s: (start + content_len) as f64 / sr,
            content_len,
            samples,
        }
    }
}
