//! From clips to network inputs: resample, segment, log-mel, normalise.
//!
//! Training and prediction go through the same [`FeaturePipeline`], so a model always sees
//! features made exactly as during training.

use std::borrow::Cow;

use rayon::prelude::*;
use sonotag_audio::{
    AudioLimits, ConfigError, LogMel, MelExtractor, Normalizer, NormalizerFit, ResampleError,
    SegmentConfig, resample_within, segment_within,
};

use crate::cache::FeatureCache;
pub(crate) use crate::config::FeatureConfig;
use crate::dataset::{Clip, LoadedAudio};
use crate::error::{Error, Result};

/// The log-mel features of one fixed-length segment of a clip.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SegmentFeatures {
    /// Start of the window in seconds.
    pub start_s: f64,
    /// End of the window in seconds.
    pub end_s: f64,
    /// `[n_mels][n_frames]` log-mel values (normalised once a normaliser is applied).
    pub mel: Vec<f32>,
}

/// All segments of one clip.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ClipFeatures {
    /// The clip's segments, in time order (at least one).
    pub segments: Vec<SegmentFeatures>,
}

/// Turns audio into fixed-shape segment features.
#[derive(Debug, Clone)]
pub(crate) struct FeaturePipeline {
    config: FeatureConfig,
    /// The bounds input rates, sizes and segment counts are checked against.
    limits: AudioLimits,
    n_frames: usize,
    /// Segment hop in samples at the feature sample rate.
    hop: usize,
}

impl FeaturePipeline {
    /// Checks the configuration against `limits` and computes the per-segment frame count.
    pub fn new(config: FeatureConfig, limits: &AudioLimits) -> Result<Self> {
        config.mel.validate_within(limits)?;
        let samples = config
            .segment
            .in_samples_within(config.mel.sample_rate, limits)?;
        let window = samples.window;
        limits.check_segment_values(&config.mel, window)?;
        if window < config.mel.n_fft {
            return Err(Error::config(
                "segment.window_s",
                format!(
                    "is {} s = {window} samples at {} Hz, shorter than one frame (n_fft = {})",
                    config.segment.window_s, config.mel.sample_rate, config.mel.n_fft
                ),
            ));
        }
        // Frame count of one window: measured on silence so it follows the extractor's own
        // centring and padding rules exactly.
        let mut extractor = MelExtractor::with_limits(&config.mel, limits)?;
        let probe = extractor
            .extract(&vec![0.0; window])
            .map_err(|e| Error::config("segment.window_s", format!("gives no frame: {e}")))?;
        Ok(Self {
            n_frames: probe.n_frames(),
            hop: samples.hop,
            config,
            limits: limits.clone(),
        })
    }

    /// Checks that audio at `sample_rate` can be brought to the features' rate within the
    /// limits, before any of it is resampled.
    pub fn check_input_rate(&self, sample_rate: u32) -> std::result::Result<(), ResampleError> {
        let target = self.config.mel.sample_rate;
        if sample_rate != target {
            self.limits
                .check_sample_rate("input sample rate", sample_rate)
                .and_then(|()| self.limits.check_resample_ratio(sample_rate, target))?;
        }
        Ok(())
    }

    /// The limits the pipeline checks against.
    pub fn limits(&self) -> &AudioLimits {
        &self.limits
    }

    /// The configuration.
    pub fn config(&self) -> &FeatureConfig {
        &self.config
    }

    /// Mel bands per frame.
    pub fn n_mels(&self) -> usize {
        self.config.mel.n_mels
    }

    /// Frames per segment.
    pub fn n_frames(&self) -> usize {
        self.n_frames
    }

    /// Features of one clip (`samples` mono at `sample_rate`). A clip too short to give a
    /// segment under the residual rule is padded to one window, so every clip can be scored.
    pub fn clip(&self, samples: &[f32], sample_rate: u32) -> Result<ClipFeatures> {
        let mut extractor = MelExtractor::with_limits(&self.config.mel, &self.limits)?;
        self.clip_with(&mut extractor, samples, sample_rate)
    }

    /// Features of `n` clips in parallel, clip `i`'s audio fetched by `audio(i)` right before
    /// its features are made and dropped right after, so only about one clip per thread is
    /// decoded at a time; `done(seconds)` hears of each clip finished, with its length. Through
    /// the cache when one is given; the result is independent of the thread count.
    pub fn clips_fetched<'a, A, D>(
        &self,
        n: usize,
        audio: A,
        done: D,
        cache: Option<&FeatureCache>,
    ) -> Result<Vec<ClipFeatures>>
    where
        A: Fn(usize) -> Result<(Cow<'a, [f32]>, u32)> + Sync,
        D: Fn(f64) + Sync,
    {
        let mel = &self.config.mel;
        (0..n)
            .into_par_iter()
            .map_init(
                || MelExtractor::with_limits(mel, &self.limits),
                |extractor, i| {
                    let (samples, rate) = audio(i)?;
                    let features = self.clip_cached(extractor, &samples, rate, cache)?;
                    done(samples.len() as f64 / f64::from(rate.max(1)));
                    Ok(features)
                },
            )
            .collect()
    }

    /// The audio of `clip`, checked: its rate can be brought to the features' rate within the
    /// limits and every sample is finite (errors name the clip and any manifest line).
    pub fn clip_audio<'c>(&self, clip: &'c Clip) -> Result<LoadedAudio<'c>> {
        let loaded = clip.load_with_warnings(&self.limits)?;
        self.check_input_rate(loaded.sample_rate)
            .map_err(|e| Error::invalid_data(clip.describe(), e.to_string()))?;
        Error::check_finite_audio(&clip.id, &loaded.samples)?;
        Ok(loaded)
    }

    /// Features of one clip, read from and written to the cache when one is given.
    fn clip_cached(
        &self,
        extractor: &mut std::result::Result<MelExtractor, ConfigError>,
        samples: &[f32],
        rate: u32,
        cache: Option<&FeatureCache>,
    ) -> Result<ClipFeatures> {
        let extractor = extractor.as_mut().map_err(|e| Error::from(e.clone()))?;
        let Some(cache) = cache else {
            return self.clip_with(extractor, samples, rate);
        };
        let path = cache.path_for(samples, rate);
        let max_segments = self.max_segments(samples.len(), rate);
        let segment_len = self.n_mels() * self.n_frames;
        if let Some(hit) = cache.get(&path, segment_len, max_segments) {
            return Ok(hit);
        }
        let features = self.clip_with(extractor, samples, rate)?;
        cache.put(&path, &features)?;
        Ok(features)
    }

    /// The most segments a clip of `n_samples` at `sample_rate` can give (an upper bound: the
    /// resampled length rounded up, one segment per hop, plus the residual).
    fn max_segments(&self, n_samples: usize, sample_rate: u32) -> usize {
        let target = u128::from(self.config.mel.sample_rate);
        let resampled = (n_samples as u128 * target).div_ceil(u128::from(sample_rate.max(1)));
        let segments = resampled / self.hop.max(1) as u128 + 2;
        usize::try_from(segments).unwrap_or(usize::MAX)
    }

    fn clip_with(
        &self,
        extractor: &mut MelExtractor,
        samples: &[f32],
        sample_rate: u32,
    ) -> Result<ClipFeatures> {
        let target = self.config.mel.sample_rate;
        let resampled;
        let audio: &[f32] = if sample_rate == target {
            samples
        } else {
            resampled = resample_within(samples, sample_rate, target, &self.limits)?;
            &resampled
        };
        let mut segments = segment_within(audio, target, &self.config.segment, &self.limits)?;
        if segments.is_empty() {
            // Shorter than `min_residual`: score it padded rather than not at all.
            let padding = SegmentConfig {
                min_residual_s: 0.0,
                ..self.config.segment.clone()
            };
            segments = segment_within(audio, target, &padding, &self.limits)?;
        }
        if segments.is_empty() {
            return Err(Error::invalid_data(
                "a clip",
                "is empty (0 samples): it has no segment to score",
            ));
        }
        let segments = segments
            .into_iter()
            .map(|s| {
                let mel = extractor.extract(&s.samples)?;
                Ok(SegmentFeatures {
                    start_s: s.start_s,
                    end_s: s.end_s,
                    mel: mel.into_data(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(ClipFeatures { segments })
    }

    /// Adds one (training) segment to a normaliser fit.
    pub fn fit_update(&self, fit: &mut NormalizerFit, segment: &SegmentFeatures) -> Result<()> {
        Ok(fit.update(&self.as_log_mel(segment.mel.clone())?)?)
    }

    /// Applies `normalizer` to every segment in place.
    pub fn normalize(&self, normalizer: &Normalizer, clips: &mut [ClipFeatures]) -> Result<()> {
        clips.par_iter_mut().try_for_each(|clip| {
            for segment in &mut clip.segments {
                let mut mel = self.as_log_mel(std::mem::take(&mut segment.mel))?;
                normalizer.apply(&mut mel)?;
                segment.mel = mel.into_data();
            }
            Ok(())
        })
    }

    fn as_log_mel(&self, data: Vec<f32>) -> Result<LogMel> {
        let len = data.len();
        LogMel::new(self.n_mels(), self.n_frames, data).ok_or_else(|| {
            Error::config(
                "features",
                format!(
                    "{len} values do not form {} x {}",
                    self.n_mels(),
                    self.n_frames
                ),
            )
        })
    }
}
