//! Winograd F(2x2, 3x3) for the inference engine's 3 x 3 convolutions (Lavin & Gray, "Fast
//! Algorithms for Convolutional Neural Networks", 2016).
//!
//! Each 2 x 2 block of output pixels comes from a 4 x 4 input tile: the tile is transformed
//! (`V = Bt d B`), multiplied element-wise by the transformed kernel (`U = G g Gt`) and summed
//! over input channels, which is 16 GEMMs of `[tiles, c_in] x [c_in, c_out]`, then transformed
//! back (`Y = At M A`). That is 16 multiplications per 4 outputs instead of 36: 2.25x fewer
//! than a direct or im2col convolution, for a few additions per value in the transforms. The
//! transforms of F(2x2, 3x3) have small integer and half coefficients, so float32 rounding
//! stays close to that of the direct sum.

use crate::engine::kernels::{Strided, matmul};

/// A 3 x 3 convolution's kernel in the Winograd domain.
#[derive(Debug, Clone)]
pub(crate) struct Winograd {
    c_in: usize,
    c_out: usize,
    /// `U`, as 16 row-major `[c_in, c_out]` matrices (one per tile position).
    u: Vec<f32>,
}

/// Per-thread buffers of the transformed tiles.
#[derive(Debug, Default)]
pub(crate) struct Tiles {
    v: Vec<f32>,
    m: Vec<f32>,
}

impl Winograd {
    /// From the engine's `[9 * c_in, c_out]` weight rows (tap-major, channel-minor).
    pub fn new(rows: &[f32], c_in: usize, c_out: usize) -> Self {
        let mut u = vec![0f32; 16 * c_in * c_out];
        for ci in 0..c_in {
            for co in 0..c_out {
                let g = |i: usize, j: usize| rows[((i * 3 + j) * c_in + ci) * c_out + co];
                // G applied to a column (or row) of 3: (a, (a + b + c) / 2, (a - b + c) / 2, c).
                let gt = |a: f32, b: f32, c: f32| [a, 0.5 * (a + b + c), 0.5 * (a - b + c), c];
                // G g, by columns: gg[j][i] = (G g)[i][j].
                let gg = [0, 1, 2].map(|j| gt(g(0, j), g(1, j), g(2, j)));
                // (G g) Gt, by rows.
                for i in 0..4 {
                    let row = gt(gg[0][i], gg[1][i], gg[2][i]);
                    for (j, value) in row.into_iter().enumerate() {
                        u[((i * 4 + j) * c_in + ci) * c_out + co] = value;
                    }
                }
            }
        }
        Self { c_in, c_out, u }
    }

    /// Output rows `2 * ty0 .. 2 * (ty0 + n_ty)` and columns `0 .. 2 * tw` of the
    /// convolution (without bias), written to `y` as rows of `2 * tw` pixels of `c_out`
    /// values. `xp` is the padded input (border 1, rows `stride` pixels apart, as the engine
    /// lays it out); every tile must lie inside it.
    #[inline(always)]
    pub fn forward_rows(
        &self,
        xp: &[f32],
        stride: usize,
        [ty0, n_ty, tw]: [usize; 3],
        y: &mut Vec<f32>,
        tiles: &mut Tiles,
    ) {
        let (c_in, c_out) = (self.c_in, self.c_out);
        let t_n = n_ty * tw;
        #[cfg(target_arch = "x86_64")]
        let avx2 = is_x86_feature_detected!("avx2");
        #[cfg(not(target_arch = "x86_64"))]
        let avx2 = false;
        tiles.v.resize(16 * t_n * c_in, 0.0);
        tiles.m.resize(16 * t_n * c_out, 0.0);
        for ty in 0..n_ty {
            for tx in 0..tw {
                let t = ty * tw + tx;
                // Input pixel (2ty - 1 + r, 2tx - 1 + s) is padded pixel (2ty + r, 2tx + s).
                let at = |r: usize, s: usize| {
                    let p = ((2 * (ty0 + ty) + r) * stride + 2 * tx + s) * c_in;
                    &xp[p..p + c_in]
                };
                // Written out: array `map` is not always inlined, and then not compiled for AVX2.
                let row = |r: usize| [at(r, 0), at(r, 1), at(r, 2), at(r, 3)];
                let d = [row(0), row(1), row(2), row(3)];
                input_tile(&d, &mut tiles.v, t * c_in, t_n * c_in, avx2);
            }
        }
        for xi in 0..16 {
            matmul(
                &mut tiles.m[xi * t_n * c_out..(xi + 1) * t_n * c_out],
                [t_n, c_out, c_in],
                Strided::row_major(&tiles.v[xi * t_n * c_in..(xi + 1) * t_n * c_in], c_in),
                Strided::row_major(&self.u[xi * c_in * c_out..(xi + 1) * c_in * c_out], c_out),
                false,
            );
        }
        let row = 2 * tw;
        y.resize(2 * n_ty * row * c_out, 0.0);
        for ty in 0..n_ty {
            for tx in 0..tw {
                let t = ty * tw + tx;
                let px = |a: usize, b: usize| ((2 * ty + a) * row + 2 * tx + b) * c_out;
                let out = [px(0, 0), px(0, 1), px(1, 0), px(1, 1)];
                output_tile(&tiles.m, [t * c_out, t_n * c_out], c_out, y, out, avx2);
            }
        }
    }
}

/// `V = Bt d B` for one tile: `d` is 4 rows of 4 pixels (`c_in` values each); tile position
/// `xi` goes to `v[xi * plane + offset..]`.
#[inline(always)]
fn input_tile(d: &[[&[f32]; 4]; 4], v: &mut [f32], offset: usize, plane: usize, avx2: bool) {
    let c_in = d[0][0].len();
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    if avx2 {
        // SAFETY: `avx2` is true only where the CPU has AVX2.
        done = unsafe { simd::input_tile(d, v, offset, plane) };
    }
    let _ = avx2;
    for c in done..c_in {
        let x = |r: usize, s: usize| d[r][s][c];
        // Bt d (rows), then the same on columns: (a0 - a2, a1 + a2, a2 - a1, a1 - a3).
        let bt = |a: [f32; 4]| [a[0] - a[2], a[1] + a[2], a[2] - a[1], a[1] - a[3]];
        let col = |s: usize| bt([x(0, s), x(1, s), x(2, s), x(3, s)]);
        let cols = [col(0), col(1), col(2), col(3)];
        for i in 0..4 {
            let row = bt([cols[0][i], cols[1][i], cols[2][i], cols[3][i]]);
            for (j, value) in row.into_iter().enumerate() {
                v[(i * 4 + j) * plane + offset + c] = value;
            }
        }
    }
}

/// `Y = At M A` for one tile: tile position `xi` of `M` is at `m[xi * plane + offset..]`;
/// output pixel `(a, b)` goes to `y[out[2 * a + b]..]`.
#[inline(always)]
fn output_tile(
    m: &[f32],
    at: [usize; 2],
    c_out: usize,
    y: &mut [f32],
    out: [usize; 4],
    avx2: bool,
) {
    let [offset, plane] = at;
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    if avx2 {
        // SAFETY: `avx2` is true only where the CPU has AVX2.
        done = unsafe { simd::output_tile(m, at, c_out, y, out) };
    }
    let _ = avx2;
    for c in done..c_out {
        let mm = |xi: usize| m[xi * plane + offset + c];
        // At applied to a column of 4: (a0 + a1 + a2, a1 - a2 - a3).
        let at2 = |a: [f32; 4]| [a[0] + a[1] + a[2], a[1] - a[2] - a[3]];
        let col = |j: usize| at2([mm(j), mm(4 + j), mm(8 + j), mm(12 + j)]);
        let cols = [col(0), col(1), col(2), col(3)];
        for a in 0..2 {
            let row = at2([cols[0][a], cols[1][a], cols[2][a], cols[3][a]]);
            for (b, value) in row.into_iter().enumerate() {
                y[out[2 * a + b] + c] = value;
            }
        }
    }
}

/// The transforms on AVX2 registers, 8 channels at a time; each returns how many channels it
/// did (the rest, fewer than 8, go through the scalar loop).
#[cfg(target_arch = "x86_64")]
mod simd {
    use std::arch::x86_64::{
        __m256, _mm256_add_ps, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_sub_ps,
    };

    const LANES: usize = 8;

    /// Loads 8 values from `s[at..]` (panics if fewer are there).
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[inline(always)]
    unsafe fn load(s: &[f32], at: usize) -> __m256 {
        let s = &s[at..at + LANES];
        // SAFETY: `s` holds 8 f32 values; unaligned load; AVX2 is the caller's requirement.
        unsafe { _mm256_loadu_ps(s.as_ptr()) }
    }

    /// Stores 8 values to `s[at..]` (panics if fewer are there).
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[inline(always)]
    unsafe fn store(s: &mut [f32], at: usize, v: __m256) {
        let s = &mut s[at..at + LANES];
        // SAFETY: `s` holds 8 f32 values; unaligned store; AVX2 is the caller's requirement.
        unsafe { _mm256_storeu_ps(s.as_mut_ptr(), v) }
    }

    /// (a0 - a2, a1 + a2, a2 - a1, a1 - a3): `Bt` applied to a column of 4.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[inline(always)]
    unsafe fn bt(a: [__m256; 4]) -> [__m256; 4] {
        // SAFETY: AVX2 is the caller's requirement.
        unsafe {
            [
                _mm256_sub_ps(a[0], a[2]),
                _mm256_add_ps(a[1], a[2]),
                _mm256_sub_ps(a[2], a[1]),
                _mm256_sub_ps(a[1], a[3]),
            ]
        }
    }

    /// (a0 + a1 + a2, a1 - a2 - a3): `At` applied to a column of 4.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[inline(always)]
    unsafe fn at(a: [__m256; 4]) -> [__m256; 2] {
        // SAFETY: AVX2 is the caller's requirement.
        unsafe {
            [
                _mm256_add_ps(_mm256_add_ps(a[0], a[1]), a[2]),
                _mm256_sub_ps(_mm256_sub_ps(a[1], a[2]), a[3]),
            ]
        }
    }

    /// See [`super::input_tile`].
    ///
    /// # Safety
    /// The CPU must support AVX2; every slice access is bounds-checked.
    #[allow(clippy::needless_range_loop)] // a 4 x 4 transpose reads best with indices
    #[target_feature(enable = "avx2")]
    pub unsafe fn input_tile(
        d: &[[&[f32]; 4]; 4],
        v: &mut [f32],
        offset: usize,
        plane: usize,
    ) -> usize {
        let c_in = d[0][0].len();
        let whole = c_in / LANES * LANES;
        for c in (0..whole).step_by(LANES) {
            // SAFETY: (all below) AVX2 is this function's requirement; slices are bounds-checked.
            unsafe {
                let x = |r: usize, s: usize| load(d[r][s], c);
                let col = |s: usize| bt([x(0, s), x(1, s), x(2, s), x(3, s)]);
                let cols = [col(0), col(1), col(2), col(3)];
                for i in 0..4 {
                    let row = bt([cols[0][i], cols[1][i], cols[2][i], cols[3][i]]);
                    for (j, value) in row.into_iter().enumerate() {
                        store(v, (i * 4 + j) * plane + offset + c, value);
                    }
                }
            }
        }
        whole
    }

    /// See [`super::output_tile`].
    ///
    /// # Safety
    /// The CPU must support AVX2; every slice access is bounds-checked.
    #[allow(clippy::needless_range_loop)] // a 4 x 2 transpose reads best with indices
    #[target_feature(enable = "avx2")]
    pub unsafe fn output_tile(
        m: &[f32],
        [offset, plane]: [usize; 2],
        c_out: usize,
        y: &mut [f32],
        out: [usize; 4],
    ) -> usize {
        let whole = c_out / LANES * LANES;
        for c in (0..whole).step_by(LANES) {
            // SAFETY: (all below) AVX2 is this function's requirement; slices are bounds-checked.
            unsafe {
                let mm = |xi: usize| load(m, xi * plane + offset + c);
                let col = |j: usize| at([mm(j), mm(4 + j), mm(8 + j), mm(12 + j)]);
                let cols = [col(0), col(1), col(2), col(3)];
                for a in 0..2 {
                    let row = at([cols[0][a], cols[1][a], cols[2][a], cols[3][a]]);
                    for (b, value) in row.into_iter().enumerate() {
                        store(y, out[2 * a + b] + c, value);
                    }
                }
            }
        }
        whole
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against the convolution sum written out, with channel counts that use both the 8-lane
    /// and the scalar remainder paths of the transforms.
    #[test]
    fn matches_the_direct_sum() {
        let (c_in, c_out, h, w) = (11, 13, 6, 8);
        // A deterministic pseudo-random sequence in [-1, 1).
        let mut state = 12345u32;
        let mut next = move || {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (state >> 8) as f32 / (1u32 << 23) as f32 - 1.0
        };
        let x: Vec<f32> = (0..h * w * c_in).map(|_| next()).collect(); // NHWC
        let rows: Vec<f32> = (0..9 * c_in * c_out).map(|_| next()).collect();
        // The engine's padded layout: border 1, rows w + 1 pixels apart, side border shared.
        let stride = w + 1;
        let mut xp = vec![0f32; ((h + 2) * stride + 1) * c_in];
        for r in 0..h {
            for c in 0..w {
                let at = ((r + 1) * stride + 1 + c) * c_in;
                xp[at..at + c_in].copy_from_slice(&x[(r * w + c) * c_in..][..c_in]);
            }
        }
        let winograd = Winograd::new(&rows, c_in, c_out);
        let (mut y, mut tiles) = (Vec::new(), Tiles::default());
        // Two bands of tile rows, to check the band offset too.
        let mut got = Vec::new();
        for (ty0, n_ty) in [(0, 2), (2, 1)] {
            winograd.forward_rows(&xp, stride, [ty0, n_ty, w / 2], &mut y, &mut tiles);
            got.extend_from_slice(&y);
        }
        for r in 0..h {
            for c in 0..w {
                for co in 0..c_out {
                    let mut want = 0f32;
                    for i in 0..3 {
                        for j in 0..3 {
                            let (ri, cj) = (r + i, c + j);
                            if ri < 1 || ri > h || cj < 1 || cj > w {
                                continue;
                            }
                            for ci in 0..c_in {
                                want += x[((ri - 1) * w + cj - 1) * c_in + ci]
                                    * rows[((i * 3 + j) * c_in + ci) * c_out + co];
                            }
                        }
                    }
                    let value = got[(r * w + c) * c_out + co];
                    assert!(
                        (value - want).abs() < 1e-4,
                        "({r}, {c}, {co}): {value} vs {want}"
                    );
                }
            }
        }
    }
}
