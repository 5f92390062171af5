//! A built-in synthetic multilabel dataset for examples, tests and the quickstart.
//!
//! Each clip is a low-level noise floor with zero or more of five sound events mixed in at
//! random signal-to-noise ratios: steady tones, chirps, noise bursts, click trains and
//! amplitude-modulated tones. A clip depends only on the seed and its index, so any subset
//! of a dataset can be regenerated exactly, in any order and in parallel.
//!
//! ```
//! use sonotag::synthetic::{SyntheticConfig, SYNTHETIC_LABELS};
//!
//! let config = SyntheticConfig { n_clips: 4, ..SyntheticConfig::default() };
//! let clips = config.generate();
//! assert_eq!(clips.len(), 4);
//! assert!(clips.iter().all(|c| c.labels.iter().all(|l| SYNTHETIC_LABELS.contains(&l.as_str()))));
//! // Deterministic: the same index gives the same clip.
//! assert_eq!(config.clip(2), clips[2]);
//! ```

use std::f32::consts::PI;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::dataset::Clip;

/// The labels of the synthetic dataset, in label order.
pub const SYNTHETIC_LABELS: [&str; 5] = ["tone", "chirp", "noise_burst", "click", "am_tone"];

/// Parameters of the synthetic dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SyntheticConfig {
    /// Number of clips.
    pub n_clips: usize,
    /// Length of every clip in seconds.
    pub clip_seconds: f32,
    /// Sample rate in Hz.
    pub sample_rate: u32,
    /// Probability that each event type is present in a clip (independently).
    pub event_probability: f32,
    /// Range of event signal-to-noise ratios in dB, relative to the noise floor.
    pub snr_db: (f32, f32),
    /// Standard deviation of the white-noise floor.
    pub noise_std: f32,
    /// Seed: clip `i` depends only on `(seed, i)`.
    pub seed: u64,
}

impl Default for SyntheticConfig {
    fn default() -> Self {
        Self {
            n_clips: 600,
            clip_seconds: 1.0,
            sample_rate: 16_000,
            event_probability: 0.4,
            snr_db: (0.0, 20.0),
            noise_std: 0.02,
            seed: 0,
        }
    }
}

impl SyntheticConfig {
    /// Generates all clips, in parallel; the result does not depend on the thread count.
    pub fn generate(&self) -> Vec<Clip> {
        (0..self.n_clips)
            .into_par_iter()
            .map(|i| self.clip(i))
            .collect()
    }

    /// Writes the clips as 16-bit WAV files plus a `manifest.csv` (`path,labels`) into `dir`,
    /// ready for `sonotag train`; returns the manifest's path. Clips are generated and written
    /// one per thread at a time, so a dataset of any length can be written.
    pub fn write_to_folder(&self, dir: &std::path::Path) -> crate::Result<std::path::PathBuf> {
        std::fs::create_dir_all(dir).map_err(crate::Error::io(dir))?;
        let rows = (0..self.n_clips)
            .into_par_iter()
            .map(|i| self.write_clip(dir, i))
            .collect::<crate::Result<Vec<String>>>()?;
        let mut manifest = String::from("path,labels\n");
        for row in rows {
            manifest.push_str(&row);
        }
        let path = dir.join("manifest.csv");
        crate::atomic::write_file(&path, manifest.as_bytes())?;
        Ok(path)
    }

    /// Writes clip `index` into `dir` and returns its manifest row.
    fn write_clip(&self, dir: &std::path::Path, index: usize) -> crate::Result<String> {
        let clip = self.clip(index);
        let name = format!("{}.wav", clip.id);
        let path = dir.join(&name);
        let (samples, rate) = clip.load()?;
        let mut bytes = std::io::Cursor::new(Vec::new());
        sonotag_audio::wav::write_pcm16(&mut bytes, rate, &samples).map_err(|e| {
            crate::Error::Io {
                path: path.clone(),
                source: std::io::Error::other(e),
            }
        })?;
        crate::atomic::write_file(&path, bytes.get_ref())?;
        Ok(format!("{name},{}\n", clip.labels.join(";")))
    }

    /// Generates clip `index` alone.
    pub fn clip(&self, index: usize) -> Clip {
        // Mix seed and index through SplitMix64 so neighbouring indices get unrelated streams.
        let mut rng = ChaCha8Rng::seed_from_u64(splitmix64(self.seed ^ splitmix64(index as u64)));
        let sr = self.sample_rate as f32;
        let n = ((self.clip_seconds * sr).round() as usize).max(1);
        let floor_std = if self.noise_std.is_finite() {
            self.noise_std.max(0.0)
        } else {
            0.0
        };
        let mut samples: Vec<f32> = (0..n)
            .map(|_| {
                let z: f32 = StandardNormal.sample(&mut rng);
                floor_std * z
            })
            .collect();
        let mut labels = Vec::new();
        for (kind, name) in SYNTHETIC_LABELS.iter().enumerate() {
            if rng.random::<f32>() >= self.event_probability {
                continue;
            }
            let event = render_event(kind, n, sr, &mut rng);
            let (lo, hi) = self.snr_db;
            let snr_db = if hi > lo {
                rng.random_range(lo..hi)
            } else {
                lo
            };
            let event_rms = rms(&event).max(1e-12);
            let gain = self.noise_std.max(1e-4) * 10f32.powf(snr_db / 20.0) / event_rms;
            for (s, e) in samples.iter_mut().zip(&event) {
                *s += gain * e;
            }
            labels.push((*name).to_string());
        }
        // Keep the mix inside [-1, 1) like a decoded WAV.
        let peak = samples.iter().fold(0.0f32, |m, s| m.max(s.abs()));
        if peak > 0.99 {
            let scale = 0.99 / peak;
            samples.iter_mut().for_each(|s| *s *= scale);
        }
        Clip::from_samples(
            format!("synthetic-{index:06}"),
            samples,
            self.sample_rate,
            labels,
        )
    }
}

/// Renders one event of type `kind` (index into [`SYNTHETIC_LABELS`]) into a zero buffer of
/// `n` samples, active over a random span of the clip.
fn render_event(kind: usize, n: usize, sr: f32, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let mut out = vec![0.0f32; n];
    // Events cover between 30% and 90% of the clip so every 1-second window sees them.
    let len = ((rng.random_range(0.3f32..0.9)) * n as f32) as usize;
    let len = len.clamp(1, n);
    let start = rng.random_range(0..=(n - len));
    let span = &mut out[start..start + len];
    let fade = (0.005 * sr) as usize;
    match kind {
        0 => {
            // Steady tone, 300-1200 Hz.
            let f = rng.random_range(300.0f32..1200.0);
            let phase = rng.random_range(0.0..2.0 * PI);
            for (i, s) in span.iter_mut().enumerate() {
                *s = (2.0 * PI * f * i as f32 / sr + phase).sin();
            }
        }
        1 => {
            // Linear chirp sweeping up or down across 500-6000 Hz.
            let (mut f0, mut f1) = (
                rng.random_range(500.0f32..2000.0),
                rng.random_range(3000.0f32..6000.0),
            );
            if rng.random::<bool>() {
                std::mem::swap(&mut f0, &mut f1);
            }
            let dur = len as f32 / sr;
            for (i, s) in span.iter_mut().enumerate() {
                let t = i as f32 / sr;
                *s = (2.0 * PI * (f0 * t + 0.5 * (f1 - f0) / dur * t * t)).sin();
            }
        }
        2 => {
            // Bursts of white noise, 50-150 ms each, separated by silence.
            let mut i = 0;
            while i < len {
                let burst = (rng.random_range(0.05f32..0.15) * sr) as usize;
                let gap = (rng.random_range(0.05f32..0.2) * sr) as usize;
                for s in span.iter_mut().skip(i).take(burst) {
                    *s = StandardNormal.sample(rng);
                }
                i += burst + gap;
            }
        }
        3 => {
            // Click train: decaying impulses at 5-20 Hz.
            let rate = rng.random_range(5.0f32..20.0);
            let period = (sr / rate) as usize;
            let decay = (-1.0 / (0.002 * sr)).exp();
            let mut amp = 0.0f32;
            for (i, s) in span.iter_mut().enumerate() {
                if i % period.max(1) == 0 {
                    amp = 1.0;
                }
                *s = amp * if i % 2 == 0 { 1.0 } else { -1.0 };
                amp *= decay;
            }
        }
        _ => {
            // Amplitude-modulated tone: 1.5-4 kHz carrier, 4-12 Hz modulation, full depth.
            let fc = rng.random_range(1500.0f32..4000.0);
            let fm = rng.random_range(4.0f32..12.0);
            for (i, s) in span.iter_mut().enumerate() {
                let t = i as f32 / sr;
                *s = (0.5 + 0.5 * (2.0 * PI * fm * t).sin()) * (2.0 * PI * fc * t).sin();
            }
        }
    }
    // Short fades keep onsets from adding broadband clicks to non-click events.
    if kind != 3 {
        let f = fade.min(len / 2);
        for i in 0..f {
            let g = i as f32 / f as f32;
            span[i] *= g;
            span[len - 1 - i] *= g;
        }
    }
    out
}

fn rms(x: &[f32]) -> f32 {
    let nz: Vec<f32> = x.iter().copied().filter(|v| *v != 0.0).collect();
    if nz.is_empty() {
        return 0.0;
    }
    (nz.iter().map(|v| v * v).sum::<f32>() / nz.len() as f32).sqrt()
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clips_are_deterministic_and_independent_of_order() {
        let config = SyntheticConfig {
            n_clips: 8,
            seed: 7,
            ..Default::default()
        };
        let all = config.generate();
        assert_eq!(all[5], config.clip(5));
        let other_seed = SyntheticConfig {
            seed: 8,
            ..config.clone()
        };
        assert_ne!(all[5].audio, other_seed.clip(5).audio);
    }

    #[test]
    fn clips_have_requested_length_and_range() {
        let config = SyntheticConfig {
            n_clips: 20,
            clip_seconds: 0.5,
            ..Default::default()
        };
        for clip in config.generate() {
            let (samples, _) = clip.load().unwrap();
            assert_eq!(samples.len(), 8000);
            assert!(samples.iter().all(|s| s.is_finite() && s.abs() < 1.0));
        }
    }

    #[test]
    fn every_label_occurs_and_frequencies_follow_the_probability() {
        let config = SyntheticConfig {
            n_clips: 400,
            clip_seconds: 0.2,
            ..Default::default()
        };
        let clips = config.generate();
        for name in SYNTHETIC_LABELS {
            let count = clips
                .iter()
                .filter(|c| c.labels.iter().any(|l| l == name))
                .count();
            let rate = count as f32 / clips.len() as f32;
            assert!((rate - 0.4).abs() < 0.1, "{name}: rate {rate}");
        }
    }

    #[test]
    fn an_event_raises_the_energy_above_the_noise_floor() {
        let config = SyntheticConfig {
            n_clips: 50,
            snr_db: (10.0, 10.0),
            ..Default::default()
        };
        for clip in config.generate() {
            let energy = rms(&clip.load().unwrap().0);
            if clip.labels.is_empty() {
                assert!((energy - 0.02).abs() < 0.002, "noise-only rms {energy}");
            } else {
                // Well above the noise-only range (0.02 +- 0.002), even for sparse bursts.
                assert!(energy > 0.026, "rms {energy} with labels {:?}", clip.labels);
            }
        }
    }
}
