//! The passes between convolutions: padding the input, and bias, activation and pooling of a
//! band of convolution output written straight into the next convolution's padded input.

use crate::activation::Activation;
use crate::block::Pool;
use crate::engine::kernels::with_activation;

/// Where a convolution's finished (biased, activated, pooled) output goes.
pub(super) enum Sink<'a> {
    /// NHWC with a zero border of `pad`: the next convolution's input.
    Padded { buf: &'a mut Vec<f32>, pad: usize },
    /// NCHW: the network's feature map for the head.
    Nchw(&'a mut [f32]),
}

/// A convolution output of `h x w` pixels of `c` values, rows `stride` pixels apart.
#[derive(Debug, Clone, Copy)]
pub(super) struct Layout {
    pub h: usize,
    pub w: usize,
    pub stride: usize,
    pub c: usize,
}

/// One NCHW example as NHWC with a zero border of `pad` in `buf`.
#[inline(always)]
pub(super) fn pad_nchw(x: &[f32], [c, h, w]: [usize; 3], pad: usize, buf: &mut Vec<f32>) {
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
pub(super) fn pad_layout([h, w, c]: [usize; 3], pad: usize) -> usize {
    ((h + 2 * pad) * (w + pad) + pad) * c
}

/// Zeroes the border (see [`pad_layout`]) around an `h x w` NHWC interior of `c` channels.
#[inline(always)]
pub(super) fn zero_border(buf: &mut [f32], [h, w, c]: [usize; 3], pad: usize) {
    let row = (w + pad) * c;
    buf[..pad * row].fill(0.0);
    buf[(h + pad) * row..].fill(0.0);
    for y in pad..h + pad {
        buf[y * row..y * row + pad * c].fill(0.0);
    }
}

/// What follows a convolution: bias, activation, pooling.
#[derive(Debug, Clone, Copy)]
pub(super) struct Step<'a> {
    pub bias: &'a [f32],
    pub activation: Activation,
    pub pool: Pool,
}

/// Which pooled rows a band produces: from `first`, of `total` in the whole output.
#[derive(Debug, Clone, Copy)]
pub(super) struct Rows {
    pub first: usize,
    pub total: usize,
}

/// Bias, activation and pooling of one band of a convolution's output `y` into `sink`, in
/// one pass. A padded sink must already have its size and zero border.
#[inline(always)]
pub(super) fn finish(
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
    let monotone = activation.is_non_decreasing();
    with_activation!(&activation, act => {
        finish_with(y, layout, bias, act, monotone, pool, sink, rows, pixel)
    })
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
    let [oh, ow] = pool.output_hw([h, w]);
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
    /// closure so that it inlines into the AVX2 build of the engine's example loop.
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
