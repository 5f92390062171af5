//! Windowed power (or magnitude) spectrum of one frame, `|rfft(w * x)|^power`.
//!
//! For even `n_fft` (the usual case) the frame is packed as `n_fft / 2` complex samples
//! (even samples real, odd samples imaginary), transformed in place with rustfft, and the two
//! interleaved half-spectra are separated while computing `|X[k]|^2` directly. The separation
//! loop is written over split re/im arrays so it vectorises; this is about twice as fast as
//! realfft's generic out-of-place path plus a separate power loop.
//!
//! The *precise* path computes like librosa: f64 window times the f32 samples, f64 real FFT
//! (realfft), rounded to complex64, then `|X|^power` in f32. It is used for odd `n_fft` and
//! for clips too short to reach the middle of the signal (fewer than about `n_fft` samples),
//! where f32 round-off on near-constant frames would otherwise show in the dB values far
//! below the peak; there are only a handful of such frames, so its cost does not matter.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};
use rustfft::{Fft, FftPlanner};

use crate::error::MelError;

/// Computes one frame's spectrum at a time; owns its plan and scratch buffers.
#[derive(Clone)]
pub(crate) struct PowerSpectrum {
    /// Window of length `n_fft` (zero outside the Hann part).
    window: Vec<f32>,
    magnitude: bool,
    /// Fast f32 path, for even `n_fft`.
    packed: Option<Box<Packed>>,
    /// librosa-exact f64 path.
    precise: Box<Precise>,
}

#[derive(Clone)]
struct Packed {
    fft: Arc<dyn Fft<f32>>,
    buf: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
    /// Twiddles `exp(-2 pi i k / n_fft)` for k = 1..=M/2, split.
    tw_re: Vec<f32>,
    tw_im: Vec<f32>,
    /// |X[k]|^2 and |X[M - k]|^2, k = 1..=M/2.
    lo: Vec<f32>,
    hi: Vec<f32>,
}

#[derive(Clone)]
struct Precise {
    window: Vec<f64>,
    fft: Arc<dyn RealToComplex<f64>>,
    frame: Vec<f64>,
    spectrum: Vec<Complex<f64>>,
    scratch: Vec<Complex<f64>>,
}

impl PowerSpectrum {
    /// Plans for frames of `window.len()` samples (`window` in f64, as librosa computes it).
    pub fn new(window: Vec<f64>, magnitude: bool) -> Self {
        let n = window.len();
        let packed = (n.is_multiple_of(2) && n >= 4).then(|| {
            let m = n / 2;
            let h = m / 2;
            let fft = FftPlanner::<f32>::new().plan_fft_forward(m);
            let scratch = vec![Complex::new(0.0, 0.0); fft.get_inplace_scratch_len()];
            let (tw_re, tw_im) = (1..=h)
                .map(|k| {
                    let a = -std::f64::consts::TAU * k as f64 / n as f64;
                    (a.cos() as f32, a.sin() as f32)
                })
                .unzip();
            Box::new(Packed {
                fft,
                buf: vec![Complex::new(0.0, 0.0); m],
                scratch,
                tw_re,
                tw_im,
                lo: vec![0.0; h],
                hi: vec![0.0; h],
            })
        });
        let fft = RealFftPlanner::<f64>::new().plan_fft_forward(n);
        let precise = Box::new(Precise {
            frame: fft.make_input_vec(),
            spectrum: fft.make_output_vec(),
            scratch: fft.make_scratch_vec(),
            fft,
            window: window.clone(),
        });
        Self {
            window: window.iter().map(|&w| w as f32).collect(),
            magnitude,
            packed,
            precise,
        }
    }

    /// Whether the fast f32 path exists (even `n_fft`).
    #[cfg(test)]
    pub fn has_fast_path(&self) -> bool {
        self.packed.is_some()
    }

    /// Spectrum of `src[..n_fft]` (windowed here), bin `k` written to `out[k * stride + j]`;
    /// `precise` selects the f64 path (always taken for odd `n_fft`).
    #[inline(always)]
    pub fn compute(
        &mut self,
        src: &[f32],
        out: &mut [f32],
        stride: usize,
        j: usize,
        precise: bool,
    ) -> Result<(), MelError> {
        let n = self.window.len();
        let src = &src[..n];
        match self.packed.as_mut().filter(|_| !precise) {
            Some(p) => {
                p.compute(src, &self.window);
                let m = n / 2;
                let z0 = p.buf[0];
                let mut first = (z0.re + z0.im) * (z0.re + z0.im);
                let mut last = (z0.re - z0.im) * (z0.re - z0.im);
                if self.magnitude {
                    first = first.sqrt();
                    last = last.sqrt();
                    for v in p.lo.iter_mut().chain(p.hi.iter_mut()) {
                        *v = v.sqrt();
                    }
                }
                // Scatter into column j of the bin-major block: bins 1..=h from `lo`, bins
                // h+1..m from `hi` (for even m, bin h = m - h is in both; `lo` has it).
                let h = p.lo.len();
                let (top, bottom) = out.split_at_mut((h + 1) * stride);
                let mut top_rows = top.chunks_exact_mut(stride);
                if let Some(row) = top_rows.next() {
                    row[j] = first;
                }
                for (row, &v) in top_rows.zip(&p.lo) {
                    row[j] = v;
                }
                let n_hi = m - 1 - h;
                let bottom_rows = bottom.chunks_exact_mut(stride).take(n_hi);
                for (row, &v) in bottom_rows.zip(p.hi[..n_hi].iter().rev()) {
                    row[j] = v;
                }
                if let Some(row) = bottom.chunks_exact_mut(stride).nth(n_hi) {
                    row[j] = last;
                }
            }
            None => {
                let r = &mut self.precise;
                for ((f, &s), &w) in r.frame.iter_mut().zip(src).zip(&r.window) {
                    *f = f64::from(s) * w;
                }
                r.fft
                    .process_with_scratch(&mut r.frame, &mut r.spectrum, &mut r.scratch)
                    .map_err(|e| MelError::Fft(e.to_string()))?;
                for (k, c) in r.spectrum.iter().enumerate() {
                    // librosa stores the STFT as complex64, then takes |X| in f32.
                    let (re, im) = (c.re as f32, c.im as f32);
                    let mag = re.hypot(im);
                    out[k * stride + j] = if self.magnitude { mag } else { mag * mag };
                }
            }
        }
        Ok(())
    }
}

impl Packed {
    /// Windows and packs `src`, transforms, and fills `lo`/`hi` with |X[k]|^2, |X[M-k]|^2.
    #[inline(always)]
    fn compute(&mut self, src: &[f32], window: &[f32]) {
        // Even samples go to the real parts, odd samples to the imaginary parts: that is just
        // the frame's f32 layout, so window straight into the complex buffer viewed as f32.
        for ((z, &s), &w) in as_f32_mut(&mut self.buf).iter_mut().zip(src).zip(window) {
            *z = s * w;
        }
        self.fft
            .process_with_scratch(&mut self.buf, &mut self.scratch);
        let m = self.buf.len();
        let h = self.lo.len();
        // Z = E + i O with E, O the spectra of the even and odd samples:
        // E[k] = (Z[k] + conj Z[M-k]) / 2, O[k] = (Z[k] - conj Z[M-k]) / 2i,
        // X[k] = E[k] + W^k O[k], X[M-k] = conj(E[k] - W^k O[k]).
        // Iterators (no indexing) keep the loop free of bounds checks so it vectorises.
        let ahead = &self.buf[1..=h];
        let behind = &self.buf[m - h..m];
        let twiddles = self.tw_re.iter().zip(&self.tw_im);
        let outs = self.lo.iter_mut().zip(self.hi.iter_mut());
        for (((a, b), (&wr, &wi)), (lo, hi)) in ahead
            .iter()
            .zip(behind.iter().rev())
            .zip(twiddles)
            .zip(outs)
        {
            let er = 0.5 * (a.re + b.re);
            let ei = 0.5 * (a.im - b.im);
            let or = 0.5 * (a.im + b.im);
            let oi = 0.5 * (b.re - a.re);
            let tr = wr * or - wi * oi;
            let ti = wr * oi + wi * or;
            let (r1, i1) = (er + tr, ei + ti);
            let (r2, i2) = (er - tr, ei - ti);
            *lo = r1 * r1 + i1 * i1;
            *hi = r2 * r2 + i2 * i2;
        }
    }
}

// The layout `as_f32_mut` relies on, checked at compile time.
const _: () = assert!(
    std::mem::size_of::<Complex<f32>>() == 2 * std::mem::size_of::<f32>()
        && std::mem::align_of::<Complex<f32>>() == std::mem::align_of::<f32>()
);

/// Views complex samples as their interleaved re/im f32 values.
fn as_f32_mut(buf: &mut [Complex<f32>]) -> &mut [f32] {
    // The f32 count from the byte size of the slice: no multiplication that could wrap.
    let len = std::mem::size_of_val(buf) / std::mem::size_of::<f32>();
    // SAFETY: `Complex<f32>` is `#[repr(C)] { re: f32, im: f32 }` (num-complex guarantees it;
    // size and alignment are asserted above), so the `size_of_val(buf)` bytes of `buf` are
    // exactly `len` valid, aligned f32 values; the result has `buf`'s lifetime and exclusive
    // borrow, so nothing else can access the values while it lives.
    unsafe { std::slice::from_raw_parts_mut(buf.as_mut_ptr().cast::<f32>(), len) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The packed f32 path must agree with the f64 realfft path (an independent
    /// implementation) for every even length and both powers.
    #[test]
    fn packed_path_matches_realfft() {
        for n in [4usize, 6, 8, 30, 256, 400, 512, 1024, 2048] {
            let window: Vec<f64> = (0..n)
                .map(|i| 0.5 + 0.4 * ((i * 7) % 11) as f64 / 11.0)
                .collect();
            let x: Vec<f32> = (0..n)
                .map(|i| ((i * 7919 + 13) % 1009) as f32 / 1009.0 - 0.5)
                .collect();
            for magnitude in [false, true] {
                let bins = n / 2 + 1;
                let mut a = vec![0f32; bins * 3];
                let mut b = vec![0f32; bins * 3];
                let mut ps = PowerSpectrum::new(window.clone(), magnitude);
                assert!(ps.has_fast_path());
                ps.compute(&x, &mut a, 3, 1, false).unwrap();
                ps.compute(&x, &mut b, 3, 1, true).unwrap();
                let peak = b.iter().copied().fold(0f32, f32::max);
                for k in 0..bins {
                    let (u, v) = (a[k * 3 + 1], b[k * 3 + 1]);
                    assert!(
                        (u - v).abs() <= 2e-6 * peak,
                        "n {n} mag {magnitude} bin {k}: {u} vs {v}"
                    );
                }
            }
        }
    }

    proptest::proptest! {
        /// Parseval: the one-sided power spectrum carries the windowed frame's energy,
        /// sum_k c_k |X[k]|^2 = n * sum_i (w_i x_i)^2 with c = 1 at DC/Nyquist, 2 elsewhere.
        #[test]
        fn power_spectrum_satisfies_parseval(
            half in 2usize..300,
            seed in 0u64..10_000,
            amp in 1e-3f32..10.0,
        ) {
            let n = 2 * half;
            let window: Vec<f64> = (0..n).map(|i| 0.5 - 0.5 * (std::f64::consts::TAU * i as f64 / n as f64).cos()).collect();
            let mut s = seed;
            let x: Vec<f32> = (0..n).map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1);
                amp * (((s >> 40) as f32 / (1u64 << 24) as f32) - 0.5)
            }).collect();
            let energy: f64 = x.iter().zip(&window).map(|(&v, &w)| (f64::from(v) * w).powi(2)).sum::<f64>() * n as f64;
            let mut ps = PowerSpectrum::new(window, false);
            for precise in [false, true] {
                let mut p = vec![0f32; n / 2 + 1];
                ps.compute(&x, &mut p, 1, 0, precise).unwrap();
                let total: f64 = p.iter().enumerate().map(|(k, &v)| {
                    let c = if k == 0 || k == n / 2 { 1.0 } else { 2.0 };
                    c * f64::from(v)
                }).sum();
                proptest::prop_assert!((total - energy).abs() <= 1e-5 * energy, "{} vs {}", total, energy);
            }
        }
    }
}
