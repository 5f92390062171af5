//! The CPU inference engine for folded convolution blocks, used by [`crate::fused::FusedCnn`]
//! on CPU devices.
//!
//! Every convolution reads its input as NHWC with the zero border of "same" padding already in
//! place, so a k x k convolution needs no im2col matrix: for kernel row `i` the patches of all
//! output pixels form one strided view of the padded input (row stride `c_in`, `k * c_in`
//! values each), and the convolution is `k` accumulating GEMMs. The output is computed at the
//! padded row stride (the `(k - 1) / 2` extra columns of each row are never read), and one pass applies
//! bias, activation and pooling and writes the next convolution's padded input directly. A
//! first convolution with very few input values per pixel (a 1-channel spectrogram) runs as a
//! direct kernel instead, where a GEMM with K = 3 would be mostly overhead.
//!
//! Why: profiling the previous im2col engine on the reference network put a third of inference
//! time outside the GEMM kernels: building im2col matrices (9x the activations), a separate
//! bias/activation pass, and fresh zeroed buffers for every layer. See docs/benchmarks.md.

use std::cell::RefCell;

use rayon::prelude::*;

use crate::activation::Activation;
use crate::block::Pool;
use crate::host::{Strided, matmul, oihw_to_rows};
use crate::winograd::{Tiles, Winograd};

/// Input channels from which a 3 x 3 convolution runs as Winograd F(2x2, 3x3): below it the
/// GEMMs are too thin for the transforms to pay.
const WINOGRAD_MIN_C_IN: usize = 8;

/// Output tiles (2 x 2 pixels each) per Winograd band. Measured on the reference network:
/// 75 to 200 are alike; 25 to 48 make the 16 GEMMs too thin (their weights are repacked per
/// call) and lose 5-10%.
const WINOGRAD_TILES: usize = 100;

/// Bytes of convolution output per band: pooled while still in a core's L2 cache.
const BAND_BYTES: usize = 128 * 1024;

/// Bytes of a GEMM tile's working set (output rows plus the input rows they read): small
/// enough to stay in a core's L2 cache across the `k` accumulating GEMMs.
const TILE_BYTES: usize = 192 * 1024;

/// Lanes of the direct kernel's accumulator (one AVX register of f32).
const LANES: usize = 8;

/// Convolutions with at most this many weights per output channel (`k * k * c_in`) use the
/// direct kernel.
const DIRECT_MAX_TAPS: usize = 9;

/// One k x k "same" convolution with batch norm folded in.
#[derive(Debug, Clone)]
pub(crate) struct HostConv {
    c_in: usize,
    c_out: usize,
    k: usize,
    /// `[k*k*c_in, c_out]` row-major (rows tap-major, channel-minor).
    weight: Vec<f32>,
    /// For the direct kernel: the same rows with `c_out` rounded up to whole [`LANES`].
    direct: Option<Vec<f32>>,
    /// For 3 x 3 kernels with enough input channels: the kernel in the Winograd domain.
    winograd: Option<Winograd>,
    bias: Vec<f32>,
}

impl HostConv {
    /// From an OIHW weight (`[c_out, c_in, k, k]`, row-major) and a bias.
    pub fn from_oihw(weight: &[f32], bias: Vec<f32>, c_out: usize, c_in: usize, k: usize) -> Self {
        let weight = oihw_to_rows(weight, c_out, c_in, k);
        let direct = (k * k * c_in <= DIRECT_MAX_TAPS).then(|| {
            let wide = c_out.div_ceil(LANES) * LANES;
            let mut d = vec![0f32; k * k * c_in * wide];
            for (src, dst) in weight.chunks_exact(c_out).zip(d.chunks_exact_mut(wide)) {
                dst[..c_out].copy_from_slice(src);
            }
            d
        });
        let winograd = (k == 3 && direct.is_none() && c_in >= WINOGRAD_MIN_C_IN)
            .then(|| Winograd::new(&weight, c_in, c_out));
        Self {
            c_in,
            c_out,
            k,
            weight,
            direct,
            winograd,
            bias,
        }
    }

    fn pad(&self) -> usize {
        (self.k - 1) / 2
    }

    /// `xp`: one example's padded input (see [`pad_layout`]). Writes the convolution without
    /// bias into `y` at the padded row stride: output pixel `(r, c)` starts at
    /// `(r * (w + pad) + c) * c_out`.
    fn forward(&self, xp: &[f32], h: usize, w: usize, y: &mut Vec<f32>) {
        if h == 0 || w == 0 {
            y.clear();
            return;
        }
        let wp = w + self.pad();
        let m = (h - 1) * wp + w;
        y.resize(m * self.c_out, 0.0);
        match &self.direct {
            Some(weight) => self.forward_direct(weight, xp, wp, &mut y[..m * self.c_out]),
            None => self.forward_gemm(xp, wp, &mut y[..m * self.c_out]),
        }
    }

    fn forward_gemm(&self, xp: &[f32], wp: usize, y: &mut [f32]) {
        let (k, c_in, c_out) = (self.k, self.c_in, self.c_out);
        let row = k * c_in;
        let m = y.len() / c_out;
        let tile = (TILE_BYTES / (4 * (c_out + k * c_in))).max(16);
        for start in (0..m).step_by(tile) {
            let n = tile.min(m - start);
            let dst = &mut y[start * c_out..(start + n) * c_out];
            for i in 0..k {
                // Patch rows of kernel row i: pixel q reads `row` values from (q + i * wp) * c_in.
                let patches = Strided {
                    data: &xp[(start + i * wp) * c_in..],
                    row: c_in,
                    col: 1,
                };
                let weights = &self.weight[i * row * c_out..(i + 1) * row * c_out];
                matmul(
                    dst,
                    [n, c_out, row],
                    patches,
                    Strided::row_major(weights, c_out),
                    i > 0,
                );
            }
        }
    }

    fn forward_direct(&self, weight: &[f32], xp: &[f32], wp: usize, y: &mut [f32]) {
        let shape = [self.k, self.c_in, self.c_out, wp];
        #[cfg(target_arch = "x86_64")]
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            // SAFETY: the CPU has the features `direct_avx2` is compiled for (checked above).
            unsafe { direct_avx2(shape, weight, xp, y) };
            return;
        }
        direct(shape, weight, xp, y);
    }
}

/// [`direct`] with AVX2 + FMA intrinsics (the crate itself targets baseline x86-64, where the
/// portable loop does not vectorise well): for each [`LANES`] output channels the tap weights
/// stay in registers while [`PIXELS`] output pixels accumulate side by side, which hides the
/// FMA latency. The tap count is a compile-time constant so the tap loop unrolls.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn direct_avx2(shape: [usize; 4], weight: &[f32], xp: &[f32], y: &mut [f32]) {
    let [k, c_in, ..] = shape;
    // SAFETY (each arm): AVX2 and FMA are this function's own requirement.
    // With at most DIRECT_MAX_TAPS (9) taps, a direct convolution is 3 x 3 over 1 channel or
    // 1 x 1 over up to 9.
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

/// The convolution part of a folded network.
#[derive(Debug, Clone)]
pub(crate) struct HostBlock {
    pub convs: Vec<HostConv>,
    pub activation: Activation,
    pub pool: Pool,
}

/// Folded convolution blocks on host memory.
#[derive(Debug, Clone)]
pub(crate) struct HostNet {
    pub blocks: Vec<HostBlock>,
}

/// Per-thread buffers, kept between batches: fresh large buffers cost page faults and zeroing.
#[derive(Default)]
struct Scratch {
    /// The current convolution's padded NHWC input.
    input: Vec<f32>,
    /// The next convolution's padded NHWC input, filled band by band.
    next: Vec<f32>,
    /// One band of the current convolution's output, at the padded row stride.
    output: Vec<f32>,
    /// One pooled pixel on its way to an NCHW destination.
    pixel: Vec<f32>,
    /// Winograd-domain tiles of one band.
    tiles: Tiles,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Where a convolution's finished (biased, activated, pooled) output goes.
enum Sink<'a> {
    /// NHWC with a zero border of `pad`: the next convolution's input.
    Padded { buf: &'a mut Vec<f32>, pad: usize },
    /// NCHW: the network's feature map for the head.
    Nchw(&'a mut [f32]),
}

impl HostNet {
    /// Whether the engine implements this activation.
    pub fn supports(activation: &Activation) -> bool {
        !matches!(activation, Activation::Gelu)
    }

    /// The `[c, h, w]` feature shape for an input of `[c, h, w]`.
    fn feature_shape(&self, [mut c, mut h, mut w]: [usize; 3]) -> [usize; 3] {
        for block in &self.blocks {
            c = block.convs.last().map_or(c, |conv| conv.c_out);
            let [kh, kw] = block.pool.kernel();
            (h, w) = (h / kh, w / kw);
        }
        [c, h, w]
    }

    /// `x`: NCHW batch (row-major `[b, c, h, w]`); returns the NCHW feature map and its shape.
    pub fn features(&self, x: &[f32], [b, c, h, w]: [usize; 4]) -> (Vec<f32>, [usize; 4]) {
        let [c_out, h_out, w_out] = self.feature_shape([c, h, w]);
        let (per_in, per_out) = (c * h * w, c_out * h_out * w_out);
        let mut out = vec![0f32; b * per_out];
        if per_out > 0 {
            out.par_chunks_mut(per_out)
                .zip(x.par_chunks(per_in.max(1)))
                .for_each(|(dst, src)| {
                    SCRATCH.with(|s| match s.try_borrow_mut() {
                        Ok(mut s) => self.example(src, [c, h, w], dst, &mut s),
                        Err(_) => self.example(src, [c, h, w], dst, &mut Scratch::default()),
                    })
                });
        }
        (out, [b, c_out, h_out, w_out])
    }

    /// One NCHW example `x` (`[c, h, w]`) to its NCHW feature map `out`.
    fn example(&self, x: &[f32], shape: [usize; 3], out: &mut [f32], s: &mut Scratch) {
        #[cfg(target_arch = "x86_64")]
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            // SAFETY: the CPU has the features `example_avx2` is compiled for (checked above).
            unsafe { example_avx2(self, x, shape, out, s) };
            return;
        }
        self.example_portable(x, shape, out, s);
    }

    /// [`HostNet::example`]; inlined into [`example_avx2`] so that the passes between the
    /// GEMMs (padding, bias, activation, pooling) are compiled for AVX2 there.
    #[inline(always)]
    fn example_portable(&self, x: &[f32], [c, h, w]: [usize; 3], out: &mut [f32], s: &mut Scratch) {
        let Some(first) = self.blocks.first().and_then(|b| b.convs.first()) else {
            out.copy_from_slice(x);
            return;
        };
        pad_nchw(x, [c, h, w], first.pad(), &mut s.input);
        let (mut h, mut w) = (h, w);
        for (bi, block) in self.blocks.iter().enumerate() {
            for (ci, conv) in block.convs.iter().enumerate() {
                let last = ci + 1 == block.convs.len();
                let next = match last {
                    false => block.convs.get(ci + 1),
                    true => self.blocks.get(bi + 1).and_then(|b| b.convs.first()),
                };
                let pool = if last { block.pool } else { Pool::Identity };
                let [kh, kw] = pool.kernel();
                let (oh, ow) = (h / kh, w / kw);
                if let Some(next) = next {
                    s.next
                        .resize(pad_layout([oh, ow, conv.c_out], next.pad()), 0.0);
                    zero_border(&mut s.next, [oh, ow, conv.c_out], next.pad());
                }
                let step = Step {
                    bias: &conv.bias,
                    activation: block.activation,
                    pool,
                };
                // The rows and columns that complete pooling windows.
                let (h_used, w_used) = (oh * kh, ow * kw);
                let stride = w + conv.pad();
                if let Some(winograd) = conv
                    .winograd
                    .as_ref()
                    .filter(|_| h_used % 2 == 0 && w_used % 2 == 0 && w_used > 0)
                {
                    // Bands of whole tiles and whole pooling windows.
                    let unit = if kh % 2 == 0 { kh } else { 2 * kh };
                    let tw = w_used / 2;
                    let band = ((2 * (WINOGRAD_TILES / tw).max(1)) / unit).max(1) * unit;
                    for r0 in (0..h_used).step_by(band) {
                        let rows = band.min(h_used - r0);
                        winograd.forward_rows(
                            &s.input,
                            stride,
                            [r0 / 2, rows / 2, tw],
                            &mut s.output,
                            &mut s.tiles,
                        );
                        let layout = Layout {
                            h: rows,
                            w: w_used,
                            stride: w_used,
                            c: conv.c_out,
                        };
                        let rows = Rows {
                            first: r0 / kh,
                            total: oh,
                        };
                        let sink = match next {
                            Some(next) => Sink::Padded {
                                buf: &mut s.next,
                                pad: next.pad(),
                            },
                            None => Sink::Nchw(out),
                        };
                        finish(&s.output, layout, step, sink, rows, &mut s.pixel);
                    }
                } else {
                    // Bands of whole pooling windows, so that each band's output is still in
                    // cache when it is pooled.
                    let band = (BAND_BYTES / (4 * stride * conv.c_out) / kh).max(1) * kh;
                    for r0 in (0..h).step_by(band) {
                        let rows = band.min(h - r0);
                        conv.forward(&s.input[r0 * stride * conv.c_in..], rows, w, &mut s.output);
                        let sink = match next {
                            Some(next) => Sink::Padded {
                                buf: &mut s.next,
                                pad: next.pad(),
                            },
                            None => Sink::Nchw(out),
                        };
                        let layout = Layout {
                            h: rows,
                            w,
                            stride,
                            c: conv.c_out,
                        };
                        let rows = Rows {
                            first: r0 / kh,
                            total: oh,
                        };
                        finish(&s.output, layout, step, sink, rows, &mut s.pixel);
                    }
                }
                if next.is_some() {
                    std::mem::swap(&mut s.input, &mut s.next);
                }
                (h, w) = (oh, ow);
            }
        }
    }
}

/// [`HostNet::example`] compiled for AVX2 + FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn example_avx2(
    net: &HostNet,
    x: &[f32],
    shape: [usize; 3],
    out: &mut [f32],
    s: &mut Scratch,
) {
    net.example_portable(x, shape, out, s);
}

/// A convolution output of `h x w` pixels of `c` values, rows `stride` pixels apart.
#[derive(Debug, Clone, Copy)]
struct Layout {
    h: usize,
    w: usize,
    stride: usize,
    c: usize,
}

/// One NCHW example as NHWC with a zero border of `pad` in `buf`.
#[inline(always)]
fn pad_nchw(x: &[f32], [c, h, w]: [usize; 3], pad: usize, buf: &mut Vec<f32>) {
    let wp = w + pad;
    buf.resize(pad_layout([h, w, c], pad), 0.0);
    zero_border(buf, [h, w, c], pad);
    for y in 0..h {
        for xo in 0..w {
            let dst = ((y + pad) * wp + xo + pad) * c;
            for (ch, d) in buf[dst..dst + c].iter_mut().enumerate() {
                *d = x[(ch * h + y) * w + xo];
            }
        }
    }
}

/// Values in a padded NHWC buffer for an `h x w` interior of `c` channels and a "same" border
/// of `pad`: `pad` zero rows above and below, and `pad` zero pixels at the start of each row,
/// which also serve as the right border of the row before (rows are `w + pad` pixels apart),
/// plus `pad` trailing zero pixels for the last row's right border. Sharing the side border
/// halves the wasted output columns of a convolution computed at the padded row stride.
fn pad_layout([h, w, c]: [usize; 3], pad: usize) -> usize {
    ((h + 2 * pad) * (w + pad) + pad) * c
}

/// Zeroes the border (see [`pad_layout`]) around an `h x w` NHWC interior of `c` channels.
#[inline(always)]
fn zero_border(buf: &mut [f32], [h, w, c]: [usize; 3], pad: usize) {
    let row = (w + pad) * c;
    buf[..pad * row].fill(0.0);
    buf[(h + pad) * row..].fill(0.0);
    for y in pad..h + pad {
        buf[y * row..y * row + pad * c].fill(0.0);
    }
}

/// What follows a convolution: bias, activation, pooling.
#[derive(Debug, Clone, Copy)]
struct Step<'a> {
    bias: &'a [f32],
    activation: Activation,
    pool: Pool,
}

/// Which pooled rows a band produces: from `first`, of `total` in the whole output.
#[derive(Debug, Clone, Copy)]
struct Rows {
    first: usize,
    total: usize,
}

/// Bias, activation and pooling of one band of a convolution's output `y` into `sink`, in
/// one pass. A padded sink must already have its size and zero border.
#[inline(always)]
fn finish(
    y: &[f32],
    layout: Layout,
    step: Step<'_>,
    sink: Sink<'_>,
    rows: Rows,
    pixel: &mut Vec<f32>,
) {
    let Step {
        bias,
        activation,
        pool,
    } = step;
    match activation {
        Activation::Relu => finish_with(
            y,
            layout,
            bias,
            |v| v.max(0.0),
            true,
            pool,
            sink,
            rows,
            pixel,
        ),
        Activation::LeakyRelu { negative_slope } => {
            let slope = negative_slope as f32;
            let act = move |v: f32| if v > 0.0 { v } else { v * slope };
            finish_with(y, layout, bias, act, slope >= 0.0, pool, sink, rows, pixel)
        }
        Activation::Silu => {
            let act = |v: f32| v / (1.0 + (-v).exp());
            finish_with(y, layout, bias, act, false, pool, sink, rows, pixel)
        }
        // Refused by `HostNet::supports`; the identity keeps this total.
        Activation::Gelu => finish_with(y, layout, bias, |v| v, true, pool, sink, rows, pixel),
    }
}

/// [`finish`] for one activation; `monotone` (non-decreasing) lets max pooling run before
/// bias and activation, on a quarter of the values.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn finish_with(
    y: &[f32],
    Layout { h, w, stride, c }: Layout,
    bias: &[f32],
    act: impl Fn(f32) -> f32 + Copy,
    monotone: bool,
    pool: Pool,
    sink: Sink<'_>,
    Rows { first, total }: Rows,
    pixel: &mut Vec<f32>,
) {
    let [kh, kw] = pool.kernel();
    let (oh, ow) = (h / kh, w / kw);
    let pooling = Pooling {
        y,
        stride,
        c,
        kernel: [kh, kw],
        bias,
        is_max: !matches!(pool, Pool::Avg { .. }),
        monotone,
    };
    let window = |oy: usize, ox: usize, dst: &mut [f32]| pooling.window(oy, ox, dst, act);
    match sink {
        Sink::Padded { buf, pad } => {
            let row = ow + pad;
            for oy in 0..oh {
                for ox in 0..ow {
                    let at = ((first + oy + pad) * row + ox + pad) * c;
                    window(oy, ox, &mut buf[at..at + c]);
                }
            }
        }
        Sink::Nchw(out) => {
            pixel.resize(c, 0.0);
            for oy in 0..oh {
                for ox in 0..ow {
                    window(oy, ox, pixel);
                    for (ch, v) in pixel.iter().enumerate() {
                        out[(ch * total + first + oy) * ow + ox] = *v;
                    }
                }
            }
        }
    }
}

/// One band's pooling windows over the convolution output `y` (see [`finish_with`]).
struct Pooling<'a> {
    y: &'a [f32],
    stride: usize,
    c: usize,
    kernel: [usize; 2],
    bias: &'a [f32],
    is_max: bool,
    monotone: bool,
}

impl Pooling<'_> {
    /// The pooled, biased, activated pixel `(oy, ox)` into `dst`. A method rather than a
    /// closure so that it inlines into `example_avx2` and is compiled for AVX2 there.
    #[inline(always)]
    fn window(&self, oy: usize, ox: usize, dst: &mut [f32], act: impl Fn(f32) -> f32) {
        let [kh, kw] = self.kernel;
        let c = self.c;
        let tap = |i: usize, j: usize| {
            let at = ((oy * kh + i) * self.stride + ox * kw + j) * c;
            &self.y[at..at + c]
        };
        if self.is_max && self.monotone {
            dst.copy_from_slice(tap(0, 0));
            for i in 0..kh {
                for j in (0..kw).skip(usize::from(i == 0)) {
                    for (d, v) in dst.iter_mut().zip(tap(i, j)) {
                        *d = d.max(*v);
                    }
                }
            }
            for (d, b) in dst.iter_mut().zip(self.bias) {
                *d = act(*d + b);
            }
            return;
        }
        dst.fill(if self.is_max { f32::NEG_INFINITY } else { 0.0 });
        for i in 0..kh {
            for j in 0..kw {
                for ((d, v), b) in dst.iter_mut().zip(tap(i, j)).zip(self.bias) {
                    let a = act(*v + b);
                    *d = if self.is_max { d.max(a) } else { *d + a };
                }
            }
        }
        if !self.is_max {
            let scale = 1.0 / (kh * kw) as f32;
            dst.iter_mut().for_each(|d| *d *= scale);
        }
    }
}
