//! Streaming prediction: samples pushed in chunks, segment predictions out as the segments
//! complete, memory independent of the recording's length.

use sonotag_audio::{MelExtractor, ResampleStream, Resampler, Segment, SegmentStream};

use super::Tagger;
use super::predict::SegmentPrediction;
use crate::config::ClipPooling;
use crate::error::{Error, Result};

/// A prediction over a stream of audio: live input, or a recording read a chunk at a time.
/// Made by [`Tagger::stream`].
///
/// Each [`push`](Self::push) resamples, segments and scores as far as the audio allows and
/// returns the predictions of the segments it completed; [`finish`](Self::finish) scores the
/// residual (padded as in training) and pools the clip. Segments, their probabilities and the
/// clip probabilities are those [`Tagger::predict_samples`] gives for the whole recording at
/// once. Memory holds less than one segment window of audio plus one pushed chunk and, at
/// most, one batch of segment features.
///
/// ```no_run
/// # fn main() -> Result<(), sonotag::Error> {
/// let tagger = sonotag::Tagger::load("model")?;
/// let mut stream = tagger.stream(48_000)?;
/// let microphone = std::iter::repeat_n(vec![0.0f32; 4_800], 50); // 5 s in 100 ms chunks
/// for chunk in microphone {
///     for segment in stream.push(&chunk)? {
///         println!("{:.1}-{:.1} s: {:?}", segment.start_s, segment.end_s, segment.probabilities);
///     }
/// }
/// let end = stream.finish()?;
/// println!("clip: {:?}", end.clip);
/// # Ok(()) }
/// ```
pub struct PredictionStream<'a> {
    tagger: &'a Tagger,
    resampler: Option<(Resampler, ResampleStream)>,
    segmenter: SegmentStream,
    extractor: MelExtractor,
    batch_size: usize,
    /// Samples pushed so far (at the input rate).
    samples_in: usize,
    /// Resampled audio of the current push.
    resampled: Vec<f32>,
    /// Segments completed by the current push.
    completed: Vec<Segment>,
    /// Normalised features of segments not yet scored, with their times.
    pending: Vec<f32>,
    pending_times: Vec<(f64, f64)>,
    pool: ClipPool,
}

impl std::fmt::Debug for PredictionStream<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PredictionStream")
            .field("samples_in", &self.samples_in)
            .field("segments", &self.pool.count)
            .field("batch_size", &self.batch_size)
            .finish_non_exhaustive()
    }
}

/// What is left when a [`PredictionStream`] ends.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct StreamEnd {
    /// Predictions of the segments completed at the end (the residual, and any segments
    /// still waiting for a full batch).
    pub segments: Vec<SegmentPrediction>,
    /// Calibrated clip-level probability per label, pooled over every segment of the stream.
    pub clip: Vec<f32>,
    /// Segments in the whole stream.
    pub n_segments: usize,
    /// Samples pushed, at the input rate.
    pub n_samples: usize,
}

impl Tagger {
    /// Starts a prediction over a stream of mono samples at `sample_rate` Hz (see
    /// [`PredictionStream`]).
    ///
    /// # Errors
    /// [`Error::Audio`] (a resampling limit) when audio at `sample_rate` cannot be brought to
    /// the model's rate within the limits the model was loaded with.
    pub fn stream(&self, sample_rate: u32) -> Result<PredictionStream<'_>> {
        let pipeline = &self.pipeline;
        let config = pipeline.config();
        let target = config.mel.sample_rate;
        let limits = pipeline.limits();
        pipeline.check_input_rate(sample_rate)?;
        let resampler = if sample_rate == target {
            None
        } else {
            let mut r = Resampler::with_limits(sample_rate, target, limits)?;
            let s = r.stream();
            Some((r, s))
        };
        Ok(PredictionStream {
            tagger: self,
            resampler,
            segmenter: SegmentStream::new(target, &config.segment, limits)?.pad_short_streams(true),
            extractor: MelExtractor::with_limits(&config.mel, limits)?,
            batch_size: 1,
            samples_in: 0,
            resampled: Vec::new(),
            completed: Vec::new(),
            pending: Vec::new(),
            pending_times: Vec::new(),
            pool: ClipPool::new(self.clip_pooling, self.labels.len()),
        })
    }
}

impl PredictionStream<'_> {
    /// Scores segments `n` at a time (default 1: each as soon as it is complete, for the
    /// least latency). Larger batches run faster on some backends; segments waiting for a
    /// full batch come out with a later push or at [`finish`](Self::finish).
    pub fn with_batch_size(mut self, n: usize) -> Self {
        self.batch_size = n.max(1);
        self
    }

    /// Pushes the next `samples` and returns the predictions of the segments they complete
    /// (and batch), in time order.
    ///
    /// # Errors
    /// [`Error::NonFiniteAudio`] (its index counted from the start of the stream) for a NaN or
    /// infinite sample; the stream should then be dropped.
    pub fn push(&mut self, samples: &[f32]) -> Result<Vec<SegmentPrediction>> {
        if let Err(Error::NonFiniteAudio { clip, index, value }) =
            Error::check_finite_audio("stream", samples)
        {
            return Err(Error::NonFiniteAudio {
                clip,
                index: self.samples_in + index,
                value,
            });
        }
        self.samples_in += samples.len();
        match &mut self.resampler {
            Some((resampler, stream)) => {
                self.resampled.clear();
                stream.push(resampler, samples, &mut self.resampled)?;
                self.segmenter.push(&self.resampled, &mut self.completed);
            }
            None => self.segmenter.push(samples, &mut self.completed),
        }
        self.featurize_completed()?;
        self.score(false)
    }

    /// Ends the stream: the remaining segments' predictions and the clip's.
    ///
    /// # Errors
    /// [`Error::InvalidData`] when no sample was pushed (nothing to score).
    pub fn finish(mut self) -> Result<StreamEnd> {
        if let Some((mut resampler, stream)) = self.resampler.take() {
            self.resampled.clear();
            stream.finish(&mut resampler, &mut self.resampled)?;
            self.segmenter.push(&self.resampled, &mut self.completed);
        }
        // The segmenter holds less than one window: cloning it to end it is cheap.
        self.completed.extend(self.segmenter.clone().finish()?);
        self.featurize_completed()?;
        let segments = self.score(true)?;
        if self.pool.count == 0 {
            return Err(Error::invalid_data(
                "a stream",
                "is empty (0 samples): it has no segment to score",
            ));
        }
        let clip = self.tagger.calibrated(&self.pool.logits())?;
        Ok(StreamEnd {
            segments,
            clip,
            n_segments: self.pool.count,
            n_samples: self.samples_in,
        })
    }

    /// Log-mel features of the completed segments, normalised, onto the pending batch.
    fn featurize_completed(&mut self) -> Result<()> {
        for segment in self.completed.drain(..) {
            let mut mel = self.extractor.extract(&segment.samples)?;
            self.tagger.normalizer.apply(&mut mel)?;
            self.pending.extend_from_slice(mel.data());
            self.pending_times.push((segment.start_s, segment.end_s));
        }
        Ok(())
    }

    /// Scores the pending segments in whole batches (and, with `all`, the last partial one).
    fn score(&mut self, all: bool) -> Result<Vec<SegmentPrediction>> {
        let per_segment = self.tagger.input_shape().len();
        let n_pending = self.pending_times.len();
        let n = if all {
            n_pending
        } else {
            n_pending - n_pending % self.batch_size
        };
        if n == 0 {
            return Ok(Vec::new());
        }
        let scorer = self.tagger.scorer();
        let n_labels = self.tagger.labels.len();
        let mut out = Vec::with_capacity(n);
        for (batch, times) in self.pending[..n * per_segment]
            .chunks(self.batch_size * per_segment)
            .zip(self.pending_times[..n].chunks(self.batch_size))
        {
            // Segment indices in errors count from the start of the stream.
            let scored = self.pool.count;
            let logits = scorer
                .segment_logits(batch)
                .map_err(|e| e.offset_segment(scored))?;
            self.pool.add(&logits);
            let probabilities = self.tagger.calibrated(&logits)?;
            out.extend(times.iter().zip(probabilities.chunks(n_labels)).map(
                |(&(start_s, end_s), p)| SegmentPrediction {
                    start_s,
                    end_s,
                    probabilities: p.to_vec(),
                },
            ));
        }
        self.pending.drain(..n * per_segment);
        self.pending_times.drain(..n);
        Ok(out)
    }
}

/// Running max or sum of segment logits, in segment order (so the mean equals the
/// whole-clip pooling's, rounding included).
struct ClipPool {
    pooling: ClipPooling,
    acc: Vec<f32>,
    count: usize,
}

impl ClipPool {
    fn new(pooling: ClipPooling, n_labels: usize) -> Self {
        let init = match pooling {
            ClipPooling::Max => f32::NEG_INFINITY,
            ClipPooling::Mean => 0.0,
        };
        Self {
            pooling,
            acc: vec![init; n_labels],
            count: 0,
        }
    }

    fn add(&mut self, logits: &[f32]) {
        for row in logits.chunks(self.acc.len().max(1)) {
            self.count += 1;
            for (a, &z) in self.acc.iter_mut().zip(row) {
                match self.pooling {
                    ClipPooling::Max => *a = a.max(z),
                    ClipPooling::Mean => *a += z,
                }
            }
        }
    }

    fn logits(&self) -> Vec<f32> {
        match self.pooling {
            ClipPooling::Max => self.acc.clone(),
            ClipPooling::Mean => self
                .acc
                .iter()
                .map(|a| a / self.count.max(1) as f32)
                .collect(),
        }
    }
}
