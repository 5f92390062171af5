//! The direct convolution kernel for convolutions with very few weights per output channel
//! (a 3 x 3 kernel over a 1-channel spectrogram, or 1 x 1 over a few channels), where a GEMM
//! with K = 3 would be mostly overhead.

/// Lanes of the kernel's accumulator (one AVX register of f32).
const LANES: usize = 8;

/// Convolutions with at most this many weights per output channel (`k * k * c_in`) use the
/// direct kernel.
pub(super) const MAX_TAPS: usize = 9;

/// The engine's `[taps, c_out]` weight rows with `c_out` rounded up to whole [`LANES`].
pub(super) fn widen(weight: &[f32], c_out: usize) -> Vec<f32> {
    let wide = c_out.div_ceil(LANES) * LANES;
    let mut d = vec![0f32; weight.len() / c_out.max(1) * wide];
    for (src, dst) in weight.chunks_exact(c_out).zip(d.chunks_exact_mut(wide)) {
        dst[..c_out].copy_from_slice(src);
    }
    d
}

/// The convolution (without bias) of the padded input `xp` into `y` at the padded row stride
/// `wp`; `shape` is `[k, c_in, c_out, wp]`, `weight` from [`widen`].
pub(super) fn run(shape: [usize; 4], weight: &[f32], xp: &[f32], y: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has the features `direct_avx2` is compiled for (checked above).
        unsafe { direct_avx2(shape, weight, xp, y) };
        return;
    }
    direct(shape, weight, xp, y);
}

/// [`direct`] with AVX2 + FMA intrinsics (the crate itself targets baseline x86-64, where the
/// portable loop does not vectorise well): for each [`LANES`] output channels the tap weights
/// stay in registers while [`PIXELS`] output pixels accumulate side by side, which hides the
/// FMA latency. The tap count is a compile-time constant so the tap loop unrolls.
///
/// # Safety
/// The CPU must support AVX2 and FMA. Every memory access is a bounds-checked slice access
/// (loads and stores go through slices of exactly [`LANES`] values).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn direct_avx2(shape: [usize; 4], weight: &[f32], xp: &[f32], y: &mut [f32]) {
    let [k, c_in, ..] = shape;
    // With at most MAX_TAPS (9) taps, a direct convolution is 3 x 3 over 1 channel or
    // 1 x 1 over up to 9.
    // SAFETY: (each arm) AVX2 and FMA are this function's own requirement.
    unsafe {
        match (k, c_in) {
            (3, 1) => direct_taps::<9, 1>(shape, weight, xp, y),
            (1, 1) => direct_taps::<1, 1>(shape, weight, xp, y),
            (1, 2) => direct_taps::<2, 2>(shape, weight, xp, y),
            (1, 3) => direct_taps::<3, 3>(shape, weight, xp, y),
            (1, 4) => direct_taps::<4, 4>(shape, weight, xp, y),
            (1, 5) => direct_taps::<5, 5>(shape, weight, xp, y),
            (1, 6) => direct_taps::<6, 6>(shape, weight, xp, y),
            (1, 7) => direct_taps::<7, 7>(shape, weight, xp, y),
            (1, 8) => direct_taps::<8, 8>(shape, weight, xp, y),
            (1, 9) => direct_taps::<9, 9>(shape, weight, xp, y),
            _ => direct(shape, weight, xp, y),
        }
    }
}

/// [`direct_avx2`] for `T = k * k * c_in` taps and `C = c_in` channels.
///
/// # Safety
/// The CPU must support AVX2 and FMA. Every memory access is a bounds-checked slice access
/// (loads and stores go through slices of exactly [`LANES`] values).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn direct_taps<const T: usize, const C: usize>(
    [k, c_in, c_out, wp]: [usize; 4],
    weight: &[f32],
    xp: &[f32],
    y: &mut [f32],
) {
    use std::arch::x86_64::{__m256, _mm256_loadu_ps, _mm256_setzero_ps, _mm256_storeu_ps};
    const _: () = assert!(LANES == 8);
    let wide = c_out.div_ceil(LANES) * LANES;
    // Where each tap reads, relative to the output pixel's first padded input value.
    let mut offsets = [0usize; T];
    for i in 0..k {
        for j in 0..k {
            for ci in 0..c_in {
                offsets[(i * k + j) * c_in + ci] = (i * wp + j) * c_in + ci;
            }
        }
    }
    let m = y.len() / c_out;
    let mut spill = [0f32; LANES];
    for lane0 in (0..c_out).step_by(LANES) {
        let lanes = LANES.min(c_out - lane0);
        let mut wv = [_mm256_setzero_ps(); T];
        for (t, w) in wv.iter_mut().enumerate() {
            let row = &weight[t * wide + lane0..t * wide + lane0 + LANES];
            // SAFETY: `row` holds LANES (8) f32 values; unaligned load.
            *w = unsafe { _mm256_loadu_ps(row.as_ptr()) };
        }
        let mut store = |q: usize, acc: &[__m256]| {
            for (p, a) in acc.iter().enumerate() {
                let at = (q + p) * c_out + lane0;
                let dst = &mut y[at..at + lanes];
                if lanes == LANES {
                    // SAFETY: `dst` holds LANES (8) f32 values; unaligned store.
                    unsafe { _mm256_storeu_ps(dst.as_mut_ptr(), *a) };
                } else {
                    // SAFETY: `spill` holds LANES (8) f32 values; unaligned store.
                    unsafe { _mm256_storeu_ps(spill.as_mut_ptr(), *a) };
                    dst.copy_from_slice(&spill[..lanes]);
                }
            }
        };
        let whole = m / PIXELS * PIXELS;
        for q in (0..whole).step_by(PIXELS) {
            // SAFETY: AVX2 and FMA are this function's own requirement.
            store(q, &unsafe {
                direct_pixels::<T, C, PIXELS>(&wv, &offsets, xp, q * C)
            });
        }
        for q in whole..m {
            // SAFETY: as above.
            store(q, &unsafe {
                direct_pixels::<T, C, 1>(&wv, &offsets, xp, q * C)
            });
        }
    }
}

/// Output pixels per step of the direct kernel.
#[cfg(target_arch = "x86_64")]
const PIXELS: usize = 4;

/// `P` consecutive output pixels of one lane group: pixel `p` reads `xp[at + p * c_in + o]`
/// for each tap offset `o`.
///
/// # Safety
/// The CPU must support AVX2 and FMA. Every memory access is a bounds-checked slice access
/// (loads and stores go through slices of exactly [`LANES`] values).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn direct_pixels<const T: usize, const C: usize, const P: usize>(
    wv: &[std::arch::x86_64::__m256; T],
    offsets: &[usize; T],
    xp: &[f32],
    at: usize,
) -> [std::arch::x86_64::__m256; P] {
    use std::arch::x86_64::{_mm256_fmadd_ps, _mm256_set1_ps, _mm256_setzero_ps};
    let mut acc = [_mm256_setzero_ps(); P];
    for (w, &o) in wv.iter().zip(offsets) {
        // One bounds check per tap; the compile-time stride lets the pixel reads go unchecked.
        let xs = &xp[at + o..=at + o + (P - 1) * C];
        for (p, a) in acc.iter_mut().enumerate() {
            *a = _mm256_fmadd_ps(_mm256_set1_ps(xs[p * C]), *w, *a);
        }
    }
    acc
}

/// The direct convolution kernel: for each output pixel and each [`LANES`] output channels,
/// `k * k * c_in` multiply-adds into one register-sized accumulator. `weight` has `c_out`
/// rounded up to whole lanes.
fn direct([k, c_in, c_out, wp]: [usize; 4], weight: &[f32], xp: &[f32], y: &mut [f32]) {
    let wide = c_out.div_ceil(LANES) * LANES;
    for (q, out) in y.chunks_exact_mut(c_out).enumerate() {
        for (lane0, out) in (0..).step_by(LANES).zip(out.chunks_mut(LANES)) {
            let mut acc = [0f32; LANES];
            for i in 0..k {
                for j in 0..k {
                    let base = (q + i * wp + j) * c_in;
                    for (ci, &v) in xp[base..base + c_in].iter().enumerate() {
                        let r = ((i * k + j) * c_in + ci) * wide + lane0;
                        for (a, w) in acc.iter_mut().zip(&weight[r..r + LANES]) {
                            *a += v * w;
                        }
                    }
                }
            }
            out.copy_from_slice(&acc[..out.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The dispatched kernel (AVX2 where the CPU has it) and the portable one both match the
    /// convolution sum written out, for a 3 x 3 kernel over 1 channel and a 1 x 1 over 3, with
    /// a channel count that leaves a partial lane group and a pixel count that leaves a
    /// partial pixel block.
    #[test]
    fn kernels_match_the_sum_written_out() {
        let mut state = 7u32;
        let mut next = move || {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 8) as f32 / (1u32 << 23) as f32 - 1.0
        };
        for (k, c_in) in [(3usize, 1usize), (1, 3)] {
            let (h, w, c_out) = (5, 7, 13);
            let pad = (k - 1) / 2;
            // The engine's padded layout: `pad` rows above and below, rows `w + pad` apart
            // with the side border shared, `pad` trailing pixels.
            let wp = w + pad;
            let mut xp = vec![0f32; ((h + 2 * pad) * wp + pad) * c_in];
            for r in 0..h {
                for c in 0..w {
                    for ci in 0..c_in {
                        xp[((r + pad) * wp + pad + c) * c_in + ci] = next();
                    }
                }
            }
            let rows: Vec<f32> = (0..k * k * c_in * c_out).map(|_| next()).collect();
            let weight = widen(&rows, c_out);
            let m = (h - 1) * wp + w;
            let shape = [k, c_in, c_out, wp];
            let (mut fast, mut portable) = (vec![0f32; m * c_out], vec![0f32; m * c_out]);
            run(shape, &weight, &xp, &mut fast);
            direct(shape, &weight, &xp, &mut portable);
            for r in 0..h {
                for c in 0..w {
                    for co in 0..c_out {
                        let mut want = 0f32;
                        for i in 0..k {
                            for j in 0..k {
                                for ci in 0..c_in {
                                    want += xp[((r + i) * wp + c + j) * c_in + ci]
                                        * rows[((i * k + j) * c_in + ci) * c_out + co];
                                }
                            }
                        }
                        let at = (r * wp + c) * c_out + co;
                        for got in [fast[at], portable[at]] {
                            assert!((got - want).abs() < 1e-5, "k {k}: {got} vs {want}");
                        }
                    }
                }
            }
        }
    }
}
