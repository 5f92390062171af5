//! The CPU inference engine for folded convolution blocks, used by [`crate::fused::FusedCnn`]
//! on CPU devices.
//!
//! Every convolution reads its input as NHWC with the zero border of "same" padding already in
//! place, so a k x k convolution needs no im2col matrix: for kernel row `i` the patches of all
//! output pixels form one strided view of the padded input (row stride `c_in`, `k * c_in`
//! values each), and the convolution is `k` accumulating GEMMs. The output is computed at the
//! padded row stride (the `(k - 1) / 2` extra columns of each row are never read), and one
//! pass applies bias, activation and pooling and writes the next convolution's padded input
//! directly. A
//! first convolution with very few input values per pixel (a 1-channel spectrogram) runs as a
//! direct kernel instead, where a GEMM with K = 3 would be mostly overhead, and 3 x 3
//! convolutions with 8 or more input channels as Winograd F(2x2, 3x3) (`crate::engine::winograd`).
//!
//! Why: profiling the previous im2col engine on the reference network put a third of inference
//! time outside the GEMM kernels: building im2col matrices (9x the activations), a separate
//! bias/activation pass, and fresh zeroed buffers for every layer. See docs/benchmarks.md.

mod conv;
mod direct;
mod finish;

use std::sync::{Mutex, PoisonError};

use rayon::prelude::*;

pub(crate) use conv::HostConv;
use finish::{Layout, Rows, Sink, Step, finish, pad_layout, pad_nchw, zero_border};

use crate::activation::Activation;
use crate::block::Pool;
use crate::engine::winograd::{Tiles, Winograd};

/// Output tiles (2 x 2 pixels each) per Winograd band. Measured on the reference network:
/// 75 to 200 are alike; 25 to 48 make the 16 GEMMs too thin (their weights are repacked per
/// call) and lose 5-10%.
const WINOGRAD_TILES: usize = 100;

/// Bytes of convolution output per band: pooled while still in a core's L2 cache.
const BAND_BYTES: usize = 128 * 1024;

/// The convolution part of a folded network.
#[derive(Debug, Clone)]
pub(crate) struct HostBlock {
    pub convs: Vec<HostConv>,
    pub activation: Activation,
    pub pool: Pool,
}

/// Folded convolution blocks on host memory, with the buffers their examples run in.
#[derive(Debug, Clone)]
pub(crate) struct HostNet {
    pub blocks: Vec<HostBlock>,
    scratch: ScratchPool,
}

/// One running example's buffers, kept between batches: fresh large buffers cost page faults
/// and zeroing.
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

/// The [`Scratch`] buffers of a [`HostNet`], owned by the network (so by the model that holds
/// it), not by threads or the process: they are freed with the model, and two models never
/// share them. Holds at most one set per example that ran at the same time (about one per
/// thread of the pool).
#[derive(Default)]
struct ScratchPool(Mutex<Vec<Scratch>>);

impl ScratchPool {
    /// A set of buffers for one task, handed back when the lease drops.
    fn lease(&self) -> Lease<'_> {
        let kept = self.0.lock().unwrap_or_else(PoisonError::into_inner).pop();
        Lease {
            pool: self,
            scratch: kept.unwrap_or_default(),
        }
    }
}

impl Clone for ScratchPool {
    /// A copy of a network starts with no buffers of its own.
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl std::fmt::Debug for ScratchPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kept = self.0.lock().map_or(0, |v| v.len());
        f.debug_struct("ScratchPool").field("kept", &kept).finish()
    }
}

/// Buffers taken from a [`ScratchPool`] for one rayon task.
struct Lease<'a> {
    pool: &'a ScratchPool,
    scratch: Scratch,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        let scratch = std::mem::take(&mut self.scratch);
        // A panic elsewhere leaves the list consistent (push/pop only).
        let mut kept = self.pool.0.lock().unwrap_or_else(PoisonError::into_inner);
        kept.push(scratch);
    }
}

impl HostNet {
    /// The network of `blocks`, with no buffers yet.
    pub fn new(blocks: Vec<HostBlock>) -> Self {
        Self {
            blocks,
            scratch: ScratchPool::default(),
        }
    }

    /// The `[c, h, w]` feature shape for an input of `[c, h, w]`.
    fn feature_shape(&self, [mut c, mut h, mut w]: [usize; 3]) -> [usize; 3] {
        for block in &self.blocks {
            c = block.convs.last().map_or(c, |conv| conv.c_out);
            [h, w] = block.pool.output_hw([h, w]);
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
                .for_each_init(
                    || self.scratch.lease(),
                    |lease, (dst, src)| self.example(src, [c, h, w], dst, &mut lease.scratch),
                );
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

    /// [`HostNet::example`] as built; inlined into [`example_avx2`] so that the passes between
    /// the GEMMs (padding, bias, activation, pooling) are compiled for AVX2 there. (The
    /// closure-taking `crate::engine::kernels::with_avx2` does not serve here: a closure this large is
    /// not inlined, and measured 2% slower.)
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
                let [oh, ow] = pool.output_hw([h, w]);
                if let Some(next) = next {
                    s.next
                        .resize(pad_layout([oh, ow, conv.c_out], next.pad()), 0.0);
                    zero_border(&mut s.next, [oh, ow, conv.c_out], next.pad());
                }
                let run = ConvRun {
                    conv,
                    step: Step {
                        bias: &conv.bias,
                        activation: block.activation,
                        pool,
                    },
                    next_pad: next.map(HostConv::pad),
                    hw: [h, w],
                    oh,
                };
                // The rows and columns that complete pooling windows.
                let used = [oh * kh, ow * kw];
                match &conv.winograd {
                    Some(winograd)
                        if used[0].is_multiple_of(2)
                            && used[1].is_multiple_of(2)
                            && used[1] > 0 =>
                    {
                        run.winograd_bands(winograd, used, s, out)
                    }
                    _ => run.gemm_bands(s, out),
                }
                if next.is_some() {
                    std::mem::swap(&mut s.input, &mut s.next);
                }
                (h, w) = (oh, ow);
            }
        }
    }
}

/// One convolution of an example, with what follows it.
struct ConvRun<'a> {
    conv: &'a HostConv,
    step: Step<'a>,
    /// Border of the next convolution's input, or `None` when the output is the feature map.
    next_pad: Option<usize>,
    /// Input height and width.
    hw: [usize; 2],
    /// Pooled height.
    oh: usize,
}

impl ConvRun<'_> {
    /// Runs the convolution as Winograd F(2x2, 3x3) over the `used` rows and columns (both
    /// even), in bands of whole tiles and whole pooling windows.
    #[inline(always)]
    fn winograd_bands(
        &self,
        winograd: &Winograd,
        [h_used, w_used]: [usize; 2],
        s: &mut Scratch,
        out: &mut [f32],
    ) {
        let kh = self.step.pool.kernel()[0];
        let unit = if kh.is_multiple_of(2) { kh } else { 2 * kh };
        let tw = w_used / 2;
        let band = ((2 * (WINOGRAD_TILES / tw).max(1)) / unit).max(1) * unit;
        let stride = self.hw[1] + self.conv.pad();
        for r0 in (0..h_used).step_by(band) {
            let rows = band.min(h_used - r0);
            let tiles = [r0 / 2, rows / 2, tw];
            winograd.forward_rows(&s.input, stride, tiles, &mut s.output, &mut s.tiles);
            let layout = Layout {
                h: rows,
                w: w_used,
                stride: w_used,
                c: self.conv.c_out,
            };
            self.finish_band(r0, layout, s, out);
        }
    }

    /// Runs the convolution as strided GEMMs, in bands of whole pooling windows, so that each
    /// band's output is still in cache when it is pooled.
    #[inline(always)]
    fn gemm_bands(&self, s: &mut Scratch, out: &mut [f32]) {
        let ([h, w], conv) = (self.hw, self.conv);
        let kh = self.step.pool.kernel()[0];
        let stride = w + conv.pad();
        let band = (BAND_BYTES / (4 * stride * conv.c_out) / kh).max(1) * kh;
        for r0 in (0..h).step_by(band) {
            let rows = band.min(h - r0);
            conv.forward(&s.input[r0 * stride * conv.c_in..], rows, w, &mut s.output);
            let layout = Layout {
                h: rows,
                w,
                stride,
                c: conv.c_out,
            };
            self.finish_band(r0, layout, s, out);
        }
    }

    /// Bias, activation and pooling of the band of output rows from `r0` now in `s.output`.
    #[inline(always)]
    fn finish_band(&self, r0: usize, layout: Layout, s: &mut Scratch, out: &mut [f32]) {
        let sink = match self.next_pad {
            Some(pad) => Sink::Padded {
                buf: &mut s.next,
                pad,
            },
            None => Sink::Nchw(out),
        };
        let rows = Rows {
            first: r0 / self.step.pool.kernel()[0],
            total: self.oh,
        };
        finish(&s.output, layout, self.step, sink, rows, &mut s.pixel);
    }
}

/// [`HostNet::example`] compiled for AVX2 + FMA.
///
/// # Safety
/// The CPU must support AVX2 and FMA. Memory safety does not depend on it: every access is a
/// bounds-checked slice access.
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
