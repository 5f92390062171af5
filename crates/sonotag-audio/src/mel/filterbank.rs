//! Mel scale conversions and the sparse triangular filterbank (`librosa.filters.mel`).
//!
//! The edges and triangle slopes are computed in f64 with the same operations as librosa
//! (numpy `linspace`, `rfftfreq`, the same Slaney constants), the weights rounded to f32 as
//! librosa stores them. Each band keeps only its non-zero run of FFT bins, so applying the
//! bank costs about two multiply-adds per FFT bin instead of `n_mels` of them.

use crate::mel::config::{MelNorm, MelScale};

/// Slaney scale: linear part slope (Hz per mel).
const F_SP: f64 = 200.0 / 3.0;
/// Slaney scale: where the log part starts (Hz).
const MIN_LOG_HZ: f64 = 1000.0;

fn slaney_min_log_mel() -> f64 {
    (MIN_LOG_HZ - 0.0) / F_SP
}

fn slaney_logstep() -> f64 {
    6.4f64.ln() / 27.0
}

/// Frequency in Hz to mel (`librosa.hz_to_mel`).
pub fn hz_to_mel(f: f64, scale: MelScale) -> f64 {
    match scale {
        MelScale::Htk => 2595.0 * (1.0 + f / 700.0).log10(),
        MelScale::Slaney => {
            if f >= MIN_LOG_HZ {
                slaney_min_log_mel() + (f / MIN_LOG_HZ).ln() / slaney_logstep()
            } else {
                (f - 0.0) / F_SP
            }
        }
    }
}

/// Mel to frequency in Hz (`librosa.mel_to_hz`).
pub fn mel_to_hz(m: f64, scale: MelScale) -> f64 {
    match scale {
        MelScale::Htk => 700.0 * (10f64.powf(m / 2595.0) - 1.0),
        MelScale::Slaney => {
            if m >= slaney_min_log_mel() {
                MIN_LOG_HZ * (slaney_logstep() * (m - slaney_min_log_mel())).exp()
            } else {
                0.0 + F_SP * m
            }
        }
    }
}

/// `n` frequencies evenly spaced on the mel scale from `f_min` to `f_max`
/// (`librosa.mel_frequencies`, numpy `linspace` arithmetic).
pub fn mel_frequencies(n: usize, f_min: f64, f_max: f64, scale: MelScale) -> Vec<f64> {
    let lo = hz_to_mel(f_min, scale);
    let hi = hz_to_mel(f_max, scale);
    linspace(lo, hi, n)
        .into_iter()
        .map(|m| mel_to_hz(m, scale))
        .collect()
}

/// numpy `linspace(start, stop, n)` with `endpoint=True`.
fn linspace(start: f64, stop: f64, n: usize) -> Vec<f64> {
    if n == 0 {
        return Vec::new();
    }
    if n == 1 {
        return vec![start];
    }
    let step = (stop - start) / (n - 1) as f64;
    let mut y: Vec<f64> = (0..n).map(|i| i as f64 * step + start).collect();
    y[n - 1] = stop;
    y
}

/// Centre frequencies of the FFT bins, `np.fft.rfftfreq(n_fft, 1 / sr)`.
pub fn fft_frequencies(sample_rate: f64, n_fft: usize) -> Vec<f64> {
    let val = 1.0 / (n_fft as f64 * (1.0 / sample_rate));
    (0..=n_fft / 2).map(|k| k as f64 * val).collect()
}

/// A mel filterbank stored sparsely: band `m` covers FFT bins
/// `starts[m] .. starts[m] + len(m)` with weights `weights[offsets[m]..offsets[m + 1]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct MelFilterbank {
    n_bins: usize,
    starts: Vec<usize>,
    offsets: Vec<usize>,
    weights: Vec<f32>,
    band_edges_hz: Vec<f64>,
}

impl MelFilterbank {
    /// Builds the bank like `librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax, htk, norm)`.
    /// Parameters are assumed valid (see [`crate::MelConfig::validate`]).
    pub fn new(
        sample_rate: f64,
        n_fft: usize,
        n_mels: usize,
        f_min: f64,
        f_max: f64,
        scale: MelScale,
        norm: Option<MelNorm>,
    ) -> Self {
        let fft_freqs = fft_frequencies(sample_rate, n_fft);
        let mel_f = mel_frequencies(n_mels + 2, f_min, f_max, scale);
        let mut starts = Vec::with_capacity(n_mels);
        let mut offsets = Vec::with_capacity(n_mels + 1);
        let mut weights = Vec::new();
        offsets.push(0);
        let mut row = vec![0f32; fft_freqs.len()];
        for i in 0..n_mels {
            let fdiff_lo = mel_f[i + 1] - mel_f[i];
            let fdiff_hi = mel_f[i + 2] - mel_f[i + 1];
            let enorm = norm.map(|MelNorm::Slaney| 2.0 / (mel_f[i + 2] - mel_f[i]));
            for (w, &f) in row.iter_mut().zip(&fft_freqs) {
                let lower = -(mel_f[i] - f) / fdiff_lo;
                let upper = (mel_f[i + 2] - f) / fdiff_hi;
                // librosa stores the triangle as f32, then scales it in f64 and rounds again.
                let tri = 0f64.max(lower.min(upper)) as f32;
                *w = match enorm {
                    Some(e) => (f64::from(tri) * e) as f32,
                    None => tri,
                };
            }
            let first = row.iter().position(|&w| w != 0.0);
            let last = row.iter().rposition(|&w| w != 0.0);
            match (first, last) {
                (Some(a), Some(b)) => {
                    starts.push(a);
                    weights.extend_from_slice(&row[a..=b]);
                }
                _ => starts.push(0),
            }
            offsets.push(weights.len());
        }
        Self {
            n_bins: fft_freqs.len(),
            starts,
            offsets,
            weights,
            band_edges_hz: mel_f,
        }
    }

    /// Number of mel bands.
    pub fn n_mels(&self) -> usize {
        self.starts.len()
    }

    /// Number of FFT bins (`1 + n_fft / 2`).
    pub fn n_bins(&self) -> usize {
        self.n_bins
    }

    /// The `n_mels + 2` band edge frequencies in Hz (`librosa.mel_frequencies`).
    pub fn band_edges_hz(&self) -> &[f64] {
        &self.band_edges_hz
    }

    /// Band `m` as (first non-zero bin, weights of its non-zero run).
    pub fn band(&self, m: usize) -> (usize, &[f32]) {
        (
            self.starts[m],
            &self.weights[self.offsets[m]..self.offsets[m + 1]],
        )
    }

    /// Bands whose weights are all zero (librosa warns "Empty filters detected").
    pub fn empty_bands(&self) -> Vec<usize> {
        (0..self.n_mels())
            .filter(|&m| self.offsets[m] == self.offsets[m + 1])
            .collect()
    }

    /// The dense `[n_mels][n_bins]` matrix, row-major (as `librosa.filters.mel` returns it).
    pub fn to_dense(&self) -> Vec<f32> {
        let mut out = vec![0f32; self.n_mels() * self.n_bins];
        for m in 0..self.n_mels() {
            let (start, w) = self.band(m);
            out[m * self.n_bins + start..m * self.n_bins + start + w.len()].copy_from_slice(w);
        }
        out
    }

    /// `out[m] = sum_k W[m][k] * spectrum[k]`, touching only the non-zero weights.
    ///
    /// # Panics
    /// If `spectrum.len() != self.n_bins()` or `out.len() != self.n_mels()`.
    #[inline]
    pub fn apply(&self, spectrum: &[f32], out: &mut [f32]) {
        assert_eq!(spectrum.len(), self.n_bins);
        assert_eq!(out.len(), self.n_mels());
        for (m, o) in out.iter_mut().enumerate() {
            let start = self.starts[m];
            let w = &self.weights[self.offsets[m]..self.offsets[m + 1]];
            let s = &spectrum[start..start + w.len()];
            *o = dot(w, s);
        }
    }
}

/// Dot product with four independent accumulators (lets the compiler use SIMD lanes).
#[inline]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 4];
    let mut ca = a.chunks_exact(4);
    let mut cb = b.chunks_exact(4);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for i in 0..4 {
            acc[i] += x[i] * y[i];
        }
    }
    let mut tail = 0f32;
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        tail += x * y;
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slaney_scale_is_linear_below_1k_and_invertible() {
        assert!((hz_to_mel(600.0, MelScale::Slaney) - 9.0).abs() < 1e-12);
        for f in [0.0, 50.0, 999.0, 1000.0, 4321.0, 11025.0] {
            for s in [MelScale::Slaney, MelScale::Htk] {
                let back = mel_to_hz(hz_to_mel(f, s), s);
                assert!((back - f).abs() < 1e-9 * f.max(1.0), "{f} {s:?} -> {back}");
            }
        }
    }

    #[test]
    fn sparse_apply_equals_dense_product() {
        let fb = MelFilterbank::new(
            16_000.0,
            512,
            64,
            50.0,
            8000.0,
            MelScale::Slaney,
            Some(MelNorm::Slaney),
        );
        let spec: Vec<f32> = (0..fb.n_bins())
            .map(|k| (k as f32 * 0.37).sin().abs())
            .collect();
        let mut out = vec![0f32; 64];
        fb.apply(&spec, &mut out);
        let dense = fb.to_dense();
        for m in 0..64 {
            let want: f64 = (0..fb.n_bins())
                .map(|k| f64::from(dense[m * fb.n_bins() + k]) * f64::from(spec[k]))
                .sum();
            assert!((f64::from(out[m]) - want).abs() <= 1e-5 * want.abs().max(1e-6));
        }
        assert!(fb.empty_bands().is_empty());
    }
}
