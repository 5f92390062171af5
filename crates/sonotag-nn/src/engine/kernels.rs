//! Host-memory building blocks of the CPU engine (inference in `infer`, training in `train`):
//! the one wrapper around the `gemm` crate, the activations as concrete closures,
//! the AVX2 runner, layout conversions and weight reshapes, and the im2col tiles of the training
//! engine's convolutions.
//!
//! Why NHWC engines exist at all: profiling burn-flex 0.22.1 on the reference network showed
//! that only about a quarter of its inference time is spent in GEMM; the rest goes to converting
//! every activation to NHWC and back around each convolution, a scalar generic max-pool kernel
//! and a separate pass per batch norm and activation.

use gemm::{Parallelism, gemm};
use rayon::prelude::*;

/// Evaluates `$body` with `$f` bound to the activation as a concrete closure (one copy of the
/// body per activation, so that loops over it vectorise). The one definition of the
/// activations on host memory, for both engines. GELU, which neither engine implements (lowering
/// refuses it), is bound to the identity to keep the match total.
macro_rules! with_activation {
    ($act:expr, $f:ident => $body:expr) => {
        match $act {
            $crate::activation::Activation::Relu => {
                let $f = |y: f32| y.max(0.0);
                $body
            }
            $crate::activation::Activation::LeakyRelu { negative_slope } => {
                let a = *negative_slope as f32;
                let $f = move |y: f32| if y > 0.0 { y } else { y * a };
                $body
            }
            $crate::activation::Activation::Silu => {
                let $f = |y: f32| y / (1.0 + (-y).exp());
                $body
            }
            $crate::activation::Activation::Gelu => {
                let $f = |y: f32| y;
                $body
            }
        }
    };
}
pub(crate) use with_activation;

/// Dropout multipliers for `n` values: `1 / keep` with probability `keep = 1 - prob`, else 0,
/// one uniform draw from `rng` per value in order. The one definition of a dropout mask, for the
/// engine and for burn's kernels (`crate::dropout`), so both draw alike from a step's seed.
pub(crate) fn dropout_mask(rng: &mut impl rand::Rng, n: usize, prob: f64) -> Vec<f32> {
    let keep = 1.0 - prob;
    let scale = (1.0 / keep) as f32;
    (0..n)
        .map(|_| {
            if rng.random::<f64>() < keep {
                scale
            } else {
                0.0
            }
        })
        .collect()
}

/// Bytes of im2col scratch per tile: small enough to stay in a core's L2 cache.
const TILE_BYTES: usize = 256 * 1024;

/// `out = im2col(x) weight` for a k x k "same" convolution of one NHWC example `x`
/// (`[h, w, c_in]`; `weight` is `[k*k*c_in, c_out]`, `out` is `[h, w, c_out]`), one L2-sized
/// im2col tile (in `cols`) at a time; `epilogue` runs on each finished tile of `out` while it is
/// in cache.
pub(crate) fn conv_gemm(
    x: &[f32],
    ([h, w, c_in], k, c_out): ([usize; 3], usize, usize),
    weight: &[f32],
    out: &mut [f32],
    cols: &mut Vec<f32>,
    mut epilogue: impl FnMut(&mut [f32]),
) {
    let rows = k * k * c_in;
    let pixels = h * w;
    let tile = tile_pixels(rows, pixels);
    cols.resize(tile * rows, 0.0);
    for start in (0..pixels).step_by(tile) {
        let n = tile.min(pixels - start);
        im2col(x, [h, w, c_in], k, start, n, cols);
        let dst = &mut out[start * c_out..(start + n) * c_out];
        matmul(
            dst,
            [n, c_out, rows],
            Strided::row_major(cols, rows),
            Strided::row_major(weight, c_out),
            false,
        );
        epilogue(dst);
    }
}

/// A read-only f32 matrix in a slice: element `(i, j)` is `data[i * row + j * col]`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Strided<'a> {
    pub data: &'a [f32],
    pub row: usize,
    pub col: usize,
}

impl<'a> Strided<'a> {
    /// A row-major matrix with `cols` columns.
    pub fn row_major(data: &'a [f32], cols: usize) -> Self {
        Self {
            data,
            row: cols,
            col: 1,
        }
    }

    /// The transpose of a row-major matrix with `cols` columns.
    pub fn transposed(data: &'a [f32], cols: usize) -> Self {
        Self {
            data,
            row: 1,
            col: cols,
        }
    }

    /// Whether an `r x c` matrix fits in the slice with these strides (and its strides fit an
    /// `isize`, as gemm takes them). Checked arithmetic: this guards an unsafe call, so an
    /// overflow must mean "does not fit", never wrap into a small offset.
    fn fits(&self, r: usize, c: usize) -> bool {
        if isize::try_from(self.row).is_err() || isize::try_from(self.col).is_err() {
            return false;
        }
        if r == 0 || c == 0 {
            return true;
        }
        let last = (r - 1)
            .checked_mul(self.row)
            .and_then(|rows| (c - 1).checked_mul(self.col)?.checked_add(rows));
        last.is_some_and(|last| last < self.data.len())
    }
}

/// `dst = a b`, or `dst += a b` when `accumulate`: `a` is `m x k`, `b` is `k x n`, `dst` is
/// `m x n` row-major; on the calling thread (callers parallelise over examples). The one place
/// the engines call the `gemm` crate, whose raw-pointer API this wraps with bounds checks.
///
/// Panics if a slice is shorter than its shape needs (an internal bug, never user input).
pub(crate) fn matmul(
    dst: &mut [f32],
    [m, n, k]: [usize; 3],
    a: Strided<'_>,
    b: Strided<'_>,
    accumulate: bool,
) {
    assert!(
        m.checked_mul(n).is_some_and(|mn| dst.len() >= mn) && isize::try_from(n).is_ok(),
        "matmul: dst holds {} < {m} x {n}",
        dst.len()
    );
    assert!(
        a.fits(m, k) && b.fits(k, n),
        "matmul: an operand is too short for {m}x{k}x{n}"
    );
    if m == 0 || n == 0 {
        return;
    }
    // SAFETY: the asserts above guarantee that every element gemm reads or writes lies inside
    // the slices: dst (i, j) at i * n + j, a (i, l) and b (l, j) at their strides.
    unsafe {
        gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.data.as_ptr(),
            a.col as isize,
            a.row as isize,
            b.data.as_ptr(),
            b.col as isize,
            b.row as isize,
            if accumulate { 1.0 } else { 0.0 },
            1.0,
            false,
            false,
            false,
            Parallelism::None,
        );
    }
}

// The layout conversions and weight reorderings run once per training step on the whole
// batch or model; on one thread they held up 16 cores for part of every step
// (docs/benchmarks.md, "On 16 cores"). Each runs in parallel over examples (or weight rows).

/// One NCHW batch (`[b, c, h, w]`) as NHWC.
pub(crate) fn nchw_to_nhwc(x: &[f32], [b, c, h, w]: [usize; 4], out: &mut [f32]) {
    transpose_each(x, b, [c, h * w], out);
}

/// One NHWC batch (`[b, h, w, c]`) as NCHW.
pub(crate) fn nhwc_to_nchw(x: &[f32], [b, h, w, c]: [usize; 4], out: &mut [f32]) {
    transpose_each(x, b, [h * w, c], out);
}

/// Transposes each of `b` row-major `[rows, cols]` matrices in `x` into `out`.
fn transpose_each(x: &[f32], b: usize, [rows, cols]: [usize; 2], out: &mut [f32]) {
    let per = rows * cols;
    if rows == 1 || cols == 1 {
        // The same order: a copy (a log-mel input has one channel).
        out[..b * per].copy_from_slice(&x[..b * per]);
        return;
    }
    out[..b * per]
        .par_chunks_mut(per.max(1))
        .zip(x[..b * per].par_chunks(per.max(1)))
        .for_each(|(dst, src)| {
            for r in 0..rows {
                for k in 0..cols {
                    dst[k * rows + r] = src[r * cols + k];
                }
            }
        });
}

/// An OIHW weight (`[c_out, c_in, k, k]`, row-major) as the engine's `[k*k*c_in, c_out]`
/// matrix (rows tap-major, channel-minor).
pub(crate) fn oihw_to_rows(weight: &[f32], c_out: usize, c_in: usize, k: usize) -> Vec<f32> {
    let taps = k * k;
    let mut w = vec![0f32; taps * c_in * c_out];
    // One row per (tap, input channel): written in order, read with stride c_in * k * k.
    w.par_chunks_mut(c_out.max(1))
        .enumerate()
        .for_each(|(row, dst)| {
            let (t, ci) = (row / c_in, row % c_in);
            for (co, d) in dst.iter_mut().enumerate() {
                *d = weight[(co * c_in + ci) * taps + t];
            }
        });
    w
}

/// The inverse of [`oihw_to_rows`].
pub(crate) fn rows_to_oihw(rows: &[f32], c_out: usize, c_in: usize, k: usize) -> Vec<f32> {
    let taps = k * k;
    let mut w = vec![0f32; taps * c_in * c_out];
    // One output channel's `[c_in, k, k]` block per task.
    w.par_chunks_mut((c_in * taps).max(1))
        .enumerate()
        .for_each(|(co, dst)| {
            for ci in 0..c_in {
                for t in 0..taps {
                    dst[ci * taps + t] = rows[(t * c_in + ci) * c_out + co];
                }
            }
        });
    w
}

/// Pixels per im2col tile for `rows` values per pixel: the tile stays in a core's L2 cache.
pub(crate) fn tile_pixels(rows: usize, pixels: usize) -> usize {
    (TILE_BYTES / (4 * rows)).clamp(16, pixels.max(16))
}

/// im2col for a k x k "same" convolution of one NHWC example `x` (`[h, w, c_in]`): for output
/// pixels `start..start + n`, one row of `k*k*c_in` values each (tap-major, channel-minor), zero
/// outside the image.
pub(crate) fn im2col(
    x: &[f32],
    [h, w, c_in]: [usize; 3],
    k: usize,
    start: usize,
    n: usize,
    cols: &mut [f32],
) {
    let pad = (k - 1) / 2;
    let rows = k * k * c_in;
    for p in 0..n {
        let (oh, ow) = ((start + p) / w, (start + p) % w);
        let row = &mut cols[p * rows..(p + 1) * rows];
        for i in 0..k {
            let ih = oh + i;
            for j in 0..k {
                let iw = ow + j;
                let dst = &mut row[(i * k + j) * c_in..(i * k + j + 1) * c_in];
                if ih < pad || ih - pad >= h || iw < pad || iw - pad >= w {
                    dst.fill(0.0);
                } else {
                    let src = ((ih - pad) * w + (iw - pad)) * c_in;
                    dst.copy_from_slice(&x[src..src + c_in]);
                }
            }
        }
    }
}

/// Runs `f` compiled for AVX2 + FMA where the CPU has them (checked at run time), else as
/// built. The crate targets baseline x86-64, as users' builds do, so the element-wise passes
/// between GEMMs would otherwise use 4-lane SSE2; `f` is called once, and so inlined into the
/// AVX2 function. Results are the same bits either way: Rust never fuses or reorders float
/// operations on its own.
#[inline(always)]
pub(crate) fn with_avx2<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has the features `avx2_fma` is compiled for (checked above).
        return unsafe { avx2_fma(f) };
    }
    f()
}

///
/// # Safety
/// The CPU must support AVX2 and FMA (check with `is_x86_feature_detected!`).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn avx2_fma<R>(f: impl FnOnce() -> R) -> R {
    f()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distinct values, so that a misplaced element cannot go unnoticed.
    fn ramp(n: usize) -> Vec<f32> {
        (0..n).map(|i| i as f32).collect()
    }

    #[test]
    fn layout_conversions_match_the_index_formulas() {
        // One channel (the copy path) and several.
        for [b, c, h, w] in [[3, 1, 4, 5], [2, 3, 4, 5], [1, 7, 1, 3]] {
            let nchw = ramp(b * c * h * w);
            let mut nhwc = vec![f32::NAN; nchw.len()];
            nchw_to_nhwc(&nchw, [b, c, h, w], &mut nhwc);
            for e in 0..b {
                for ch in 0..c {
                    for y in 0..h {
                        for x in 0..w {
                            assert_eq!(
                                nhwc[((e * h + y) * w + x) * c + ch],
                                nchw[((e * c + ch) * h + y) * w + x]
                            );
                        }
                    }
                }
            }
            let mut back = vec![f32::NAN; nchw.len()];
            nhwc_to_nchw(&nhwc, [b, h, w, c], &mut back);
            assert_eq!(back, nchw);
        }
    }

    #[test]
    fn weight_reordering_matches_the_index_formula() {
        for (c_out, c_in, k) in [(5, 3, 3), (4, 1, 3), (2, 6, 1)] {
            let oihw = ramp(c_out * c_in * k * k);
            let rows = oihw_to_rows(&oihw, c_out, c_in, k);
            for co in 0..c_out {
                for ci in 0..c_in {
                    for t in 0..k * k {
                        assert_eq!(
                            rows[(t * c_in + ci) * c_out + co],
                            oihw[(co * c_in + ci) * k * k + t]
                        );
                    }
                }
            }
            assert_eq!(rows_to_oihw(&rows, c_out, c_in, k), oihw);
        }
    }
}
