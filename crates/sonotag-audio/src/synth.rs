//! Deterministic test signals (benches, examples, the demo clip): no files needed.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

/// `seconds` of audio at `sample_rate`: three tones (440 Hz, 1.5 kHz, a 200 Hz -> 6 kHz chirp
/// repeating every 2 s) over white Gaussian noise (std 0.05), peak below 1. Same `seed`, same
/// samples.
pub fn tones_and_noise(seconds: f64, sample_rate: u32, seed: u64) -> Vec<f32> {
    let n = (seconds * f64::from(sample_rate)).round().max(0.0) as usize;
    let sr = f64::from(sample_rate);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // std 0.05 is a valid Normal; the fallback keeps this function infallible anyway.
    let noise = Normal::new(0.0f64, 0.05).unwrap_or_else(|_| unreachable!());
    let tau = std::f64::consts::TAU;
    (0..n)
        .map(|i| {
            let t = i as f64 / sr;
            let tc = t % 2.0;
            // Linear chirp phase: 2 pi (f0 t + (f1 - f0) t^2 / (2 T)).
            let chirp = (tau * (200.0 * tc + (6000.0 - 200.0) * tc * tc / 4.0)).sin();
            let v = 0.25 * (tau * 440.0 * t).sin()
                + 0.15 * (tau * 1500.0 * t).sin()
                + 0.2 * chirp
                + noise.sample(&mut rng);
            v.clamp(-0.99, 0.99) as f32
        })
        .collect()
}

/// The 4 s demo clip shipped as `data/demo_16k.wav` (16 kHz, mono): a harmonic 220 Hz tone,
/// then bird-like 2.5 -> 4.5 kHz chirps, then a burst of noise, then near silence, so each
/// second looks different in a log-mel spectrogram. Deterministic.
pub fn demo_clip() -> Vec<f32> {
    let sr = 16_000.0;
    let tau = std::f64::consts::TAU;
    let mut rng = ChaCha8Rng::seed_from_u64(2024);
    let noise = Normal::new(0.0f64, 1.0).unwrap_or_else(|_| unreachable!());
    (0..64_000)
        .map(|i| {
            let t = f64::from(i) / sr;
            let fade = |a: f64, b: f64| ((t - a).min(b - t) / 0.02).clamp(0.0, 1.0);
            let n = noise.sample(&mut rng);
            let v = if t < 1.0 {
                let f0 = 220.0;
                fade(0.0, 1.0)
                    * (0.3 * (tau * f0 * t).sin()
                        + 0.15 * (tau * 2.0 * f0 * t).sin()
                        + 0.08 * (tau * 3.0 * f0 * t).sin())
            } else if t < 2.0 {
                // Four 0.2 s chirps, 2.5 -> 4.5 kHz, with 0.05 s gaps.
                let u = (t - 1.0) % 0.25;
                if u < 0.2 {
                    let phase = tau * (2500.0 * u + 2000.0 / 0.2 * u * u / 2.0);
                    0.25 * (u / 0.2 * std::f64::consts::PI).sin() * phase.sin()
                } else {
                    0.0
                }
            } else if t < 3.0 {
                0.15 * fade(2.0, 3.0) * n
            } else {
                0.002 * n
            };
            v as f32
        })
        .collect()
}
