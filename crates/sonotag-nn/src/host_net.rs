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
        Self {
            c_in,
            c_out,
            k,
            weight,
            direct,
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
/// FMA latency.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn direct_avx2([k, c_in, c_out, wp]: [usize; 4], weight: &[f32], xp: &[f32], y: &mut [f32]) {
    use std::arch::x86_64::{_mm256_loadu_ps, _mm256_setzero_ps, _mm256_storeu_ps};
    const _: () = assert!(LANES == 8);
    let taps = k * k * c_in;
    let wide = c_out.div_ceil(LANES) * LANES;
    // Where each tap reads, relative to the output pixel's first padded input value.
    let mut offsets = [0usize; DIRECT_MAX_TAPS];
    for i in 0..k {
        for j in 0..k {
            for ci in 0..c_in {
                offsets[(i * k + j) * c_in + ci] = (i * wp + j) * c_in + ci;
            }
        }
    }
    let offsets = &offsets[..taps];
    let m = y.len() / c_out;
    let mut spill = [0f32; LANES];
    for lane0 in (0..c_out).step_by(LANES) {
        let lanes = LANES.min(c_out - lane0);
        let mut wv = [_mm256_setzero_ps(); DIRECT_MAX_TAPS];
        for (t, w) in wv.iter_mut().take(taps).enumerate() {
            let row = &weight[t * wide + lane0..t * wide + lane0 + LANES];
            // SAFETY: `row` holds LANES (8) f32 values; unaligned load.
            *w = unsafe { _mm256_loadu_ps(row.as_ptr()) };
        }
        let mut store = |q: usize, acc: &[std::arch::x86_64::__m256]| {
            for (p, a) in acc.iter().enumerate() {
                // SAFETY: `spill` holds LANES (8) f32 values; unaligned store.
                unsafe { _mm256_storeu_ps(spill.as_mut_ptr(), *a) };
                let at = (q + p) * c_out + lane0;
                y[at..at + lanes].copy_from_slice(&spill[..lanes]);
            }
        };
        let whole = m / PIXELS * PIXELS;
        for q in (0..whole).step_by(PIXELS) {
            // SAFETY: AVX2 and FMA are this function's own requirement.
            store(q, &unsafe {
                direct_pixels::<PIXELS>(&wv, offsets, xp, q * c_in, c_in)
            });
        }
        for q in whole..m {
            // SAFETY: as above.
            store(q, &unsafe {
                direct_pixels::<1>(&wv, offsets, xp, q * c_in, c_in)
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
unsafe fn direct_pixels<const P: usize>(
    wv: &[std::arch::x86_64::__m256; DIRECT_MAX_TAPS],
    offsets: &[usize],
    xp: &[f32],
    at: usize,
    c_in: usize,
) -> [std::arch::x86_64::__m256; P] {
    use std::arch::x86_64::{_mm256_fmadd_ps, _mm256_set1_ps, _mm256_setzero_ps};
    let mut acc = [_mm256_setzero_ps(); P];
    for (w, &o) in wv.iter().zip(offsets) {
        let xs = &xp[at + o..=at + o + (P - 1) * c_in];
        for (p, a) in acc.iter_mut().enumerate() {
            *a = _mm256_fmadd_ps(_mm256_set1_ps(xs[p * c_in]), *w, *a);
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
    /// The next convolution's padded NHWC input.
    input: Vec<f32>,
    /// The current convolution's output at padded width.
    output: Vec<f32>,
    /// One pooled pixel on its way to an NCHW destination.
    pixel: Vec<f32>,
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
    fn example(&self, x: &[f32], [c, h, w]: [usize; 3], out: &mut [f32], s: &mut Scratch) {
        let Some(first) = self.blocks.first().and_then(|b| b.convs.first()) else {
            out.copy_from_slice(x);
            return;
        };
        pad_nchw(x, [c, h, w], first.pad(), &mut s.input);
        let (mut h, mut w) = (h, w);
        for (bi, block) in self.blocks.iter().enumerate() {
            for (ci, conv) in block.convs.iter().enumerate() {
                conv.forward(&s.input, h, w, &mut s.output);
                let last = ci + 1 == block.convs.len();
                let next = match last {
                    false => block.convs.get(ci + 1),
                    true => self.blocks.get(bi + 1).and_then(|b| b.convs.first()),
                };
                let sink = match next {
                    Some(next) => Sink::Padded {
                        buf: &mut s.input,
                        pad: next.pad(),
                    },
                    None => Sink::Nchw(out),
                };
                let pool = if last { block.pool } else { Pool::Identity };
                let layout = Layout {
                    h,
                    w,
                    stride: w + conv.pad(),
                    c: conv.c_out,
                };
                (h, w) = finish(
                    &s.output,
                    layout,
                    &conv.bias,
                    block.activation,
                    pool,
                    sink,
                    &mut s.pixel,
                );
            }
        }
    }
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
fn zero_border(buf: &mut [f32], [h, w, c]: [usize; 3], pad: usize) {
    let row = (w + pad) * c;
    buf[..pad * row].fill(0.0);
    buf[(h + pad) * row..].fill(0.0);
    for y in pad..h + pad {
        buf[y * row..y * row + pad * c].fill(0.0);
    }
}

/// Bias, activation and pooling of one convolution output `y` into `sink`, in one pass;
/// returns the pooled height and width.
fn finish(
    y: &[f32],
    layout: Layout,
    bias: &[f32],
    activation: Activation,
    pool: Pool,
    sink: Sink<'_>,
    pixel: &mut Vec<f32>,
) -> (usize, usize) {
    match activation {
        Activation::Relu => finish_with(y, layout, bias, |v| v.max(0.0), true, pool, sink, pixel),
        Activation::LeakyRelu { negative_slope } => {
            let slope = negative_slope as f32;
            let act = move |v: f32| if v > 0.0 { v } else { v * slope };
            finish_with(y, layout, bias, act, slope >= 0.0, pool, sink, pixel)
        }
        Activation::Silu => {
            let act = |v: f32| v / (1.0 + (-v).exp());
            finish_with(y, layout, bias, act, false, pool, sink, pixel)
        }
        // Refused by `HostNet::supports`; the identity keeps this total.
        Activation::Gelu => finish_with(y, layout, bias, |v| v, true, pool, sink, pixel),
    }
}

/// [`finish`] for one activation; `monotone` (non-decreasing) lets max pooling run before
/// bias and activation, on a quarter of the values.
#[allow(clippy::too_many_arguments)]
fn finish_with(
    y: &[f32],
    Layout { h, w, stride, c }: Layout,
    bias: &[f32],
    act: impl Fn(f32) -> f32 + Copy,
    monotone: bool,
    pool: Pool,
    sink: Sink<'_>,
    pixel: &mut Vec<f32>,
) -> (usize, usize) {
    let [kh, kw] = pool.kernel();
    let is_max = !matches!(pool, Pool::Avg { .. });
    let (oh, ow) = (h / kh, w / kw);
    let scale = 1.0 / (kh * kw) as f32;
    let window = |oy: usize, ox: usize, dst: &mut [f32]| {
        let tap = |i: usize, j: usize| {
            let at = ((oy * kh + i) * stride + ox * kw + j) * c;
            &y[at..at + c]
        };
        if is_max && monotone {
            dst.copy_from_slice(tap(0, 0));
            for (i, j) in (0..kh).flat_map(|i| (0..kw).map(move |j| (i, j))).skip(1) {
                for (d, v) in dst.iter_mut().zip(tap(i, j)) {
                    *d = d.max(*v);
                }
            }
            for (d, b) in dst.iter_mut().zip(bias) {
                *d = act(*d + b);
            }
            return;
        }
        dst.fill(if is_max { f32::NEG_INFINITY } else { 0.0 });
        for i in 0..kh {
            for j in 0..kw {
                for ((d, v), b) in dst.iter_mut().zip(tap(i, j)).zip(bias) {
                    let a = act(*v + b);
                    *d = if is_max { d.max(a) } else { *d + a };
                }
            }
        }
        if !is_max {
            dst.iter_mut().for_each(|d| *d *= scale);
        }
    };
    match sink {
        Sink::Padded { buf, pad } => {
            let row = ow + pad;
            buf.resize(pad_layout([oh, ow, c], pad), 0.0);
            zero_border(buf, [oh, ow, c], pad);
            for oy in 0..oh {
                for ox in 0..ow {
                    let at = ((oy + pad) * row + ox + pad) * c;
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
                        out[(ch * oh + oy) * ow + ox] = *v;
                    }
                }
            }
        }
    }
    (oh, ow)
}
