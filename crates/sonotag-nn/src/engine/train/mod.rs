//! Training (forward with batch statistics, then backward) of convolution blocks on the CPU
//! NHWC engine of [`crate::engine::kernels`]. Used by [`crate::Cnn::forward_train`] on CPU devices.
//!
//! Why it exists: burn-flex 0.22.1 trains the reference network at under half of PyTorch's eager
//! speed, and profiling put the time in the same places as at inference (a layout conversion
//! around every convolution and its backward, scalar pooling kernels, one pass per batch-norm and
//! activation op and per op of their backward). Here the whole block stack stays in NHWC, each
//! convolution and its two backward products are single GEMMs over L2-sized im2col tiles, and
//! batch norm, activation and pooling each take one fused pass forward and one backward.
//!
//! Work is split over examples in fixed groups and partial sums are added in a fixed order, so
//! results do not depend on the number of threads or their timing.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::activation::Activation;
use crate::block::Pool;
use crate::engine::kernels::{
    Strided, conv_gemm, dropout_mask, im2col, matmul, tile_pixels, with_activation, with_avx2,
};

mod buffers;

pub use buffers::TrainWorkspace;

/// Values per task when adding the groups' partial weight gradients.
const REDUCE_CHUNK: usize = 16 * 1024;

/// Examples per work item: partial gradient sums are formed per group, then added in order.
/// Fixed (not derived from the thread count) so that seeded runs give the same bits on any
/// machine; 2 gives a batch of 32 sixteen work items, enough for 16 cores (with 4, training
/// stopped scaling at 8 threads on a 16-core machine).
const GROUP: usize = 2;

/// Like [`crate::engine::kernels::with_activation`], with `$f` bound to the activation's derivative (as a function of
/// the activation's input).
macro_rules! with_slope {
    ($act:expr, $f:ident => $body:expr) => {
        match $act {
            Activation::Relu => {
                let $f = |y: f32| if y > 0.0 { 1.0f32 } else { 0.0 };
                with_avx2(|| $body)
            }
            Activation::LeakyRelu { negative_slope } => {
                let a = *negative_slope as f32;
                let $f = move |y: f32| if y > 0.0 { 1.0f32 } else { a };
                with_avx2(|| $body)
            }
            Activation::Silu => {
                let $f = |y: f32| {
                    let s = 1.0 / (1.0 + (-y).exp());
                    s * (1.0 + y * (1.0 - s))
                };
                with_avx2(|| $body)
            }
            // Refused by lowering (`crate::engine::lower`).
            Activation::Gelu => {
                let $f = |_: f32| 1.0f32;
                with_avx2(|| $body)
            }
        }
    };
}

/// Batch norm of one convolution, in training mode.
#[derive(Debug, Clone)]
pub(crate) struct TrainNorm {
    pub gamma: Vec<f32>,
    pub beta: Vec<f32>,
    pub epsilon: f64,
}

/// One k x k "same" convolution (odd k, stride 1), optionally followed by batch norm. The weight
/// is a `[k*k*c_in, c_out]` row-major matrix, rows tap-major and channel-minor, as in
/// [`crate::engine::infer::HostConv`].
#[derive(Debug, Clone)]
pub(crate) struct TrainConv {
    pub c_in: usize,
    pub c_out: usize,
    pub k: usize,
    pub weight: Vec<f32>,
    pub bias: Option<Vec<f32>>,
    pub norm: Option<TrainNorm>,
}

/// A block: convolutions (each followed by its norm and the activation), pooling, dropout.
#[derive(Debug, Clone)]
pub(crate) struct TrainBlock {
    pub convs: Vec<TrainConv>,
    pub activation: Activation,
    pub pool: Pool,
    pub dropout: f64,
}

/// The block stack of a network, on host memory.
#[derive(Debug, Clone)]
pub(crate) struct TrainNet {
    pub blocks: Vec<TrainBlock>,
    /// Where the step's large buffers come from and go back to (owned by the training run).
    pub buffers: TrainWorkspace,
}

/// Gradients (and, with batch norm, the batch statistics) of one convolution.
#[derive(Debug, Clone, Default)]
pub(crate) struct ConvGrads {
    /// `[k*k*c_in, c_out]`, the layout of [`TrainConv::weight`].
    pub weight: Vec<f32>,
    pub bias: Option<Vec<f32>>,
    pub gamma: Option<Vec<f32>>,
    pub beta: Option<Vec<f32>>,
    /// Batch mean and biased variance of the convolution's output (batch norm only).
    pub batch_mean: Option<Vec<f32>>,
    pub batch_var: Option<Vec<f32>>,
}

/// What the backward pass needs from one convolution's forward.
struct ConvTape {
    /// The convolution's input, NHWC.
    input: Vec<f32>,
    /// Normalised output `xhat` with batch norm, else the convolution's output (pre-activation).
    pre: Vec<f32>,
    inv_std: Option<Vec<f32>>,
    batch_mean: Option<Vec<f32>>,
    batch_var: Option<Vec<f32>>,
}

struct BlockTape {
    convs: Vec<ConvTape>,
    /// Spatial size before pooling.
    hw: [usize; 2],
    /// For each max-pooled output, the tap of its window that held the maximum.
    argmax: Option<Vec<u16>>,
    /// Dropout multipliers (0 or 1/keep), one per pooled value.
    dropout: Option<Vec<f32>>,
}

/// Everything one forward pass saved for its backward pass.
pub(crate) struct Tape {
    batch: usize,
    blocks: Vec<BlockTape>,
    out_shape: [usize; 3],
}

impl Tape {
    /// `[h, w, c]` of one example's output map.
    pub fn out_shape(&self) -> [usize; 3] {
        self.out_shape
    }
}

impl TrainNet {
    /// Forward in training mode. `x`: NHWC batch `[b, h, w, c_in]`; returns the NHWC output and
    /// the tape for [`TrainNet::backward`]. Dropout masks come from a generator seeded with
    /// `seed`.
    pub fn forward(&self, x: Vec<f32>, [b, h, w, c]: [usize; 4], seed: u64) -> (Vec<f32>, Tape) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (mut hh, mut ww, mut cc) = (h, w, c);
        let mut cur = x;
        let mut blocks = Vec::with_capacity(self.blocks.len());
        for block in &self.blocks {
            let hw = [hh, ww];
            let mut convs = Vec::with_capacity(block.convs.len());
            for conv in &block.convs {
                let (out, tape) = conv.forward(cur, b, hw, &block.activation, &self.buffers);
                convs.push(tape);
                cur = out;
                cc = conv.c_out;
            }
            let (pooled, argmax, ph, pw) =
                pool_forward(&cur, b, hw, cc, &block.pool, &self.buffers);
            self.buffers.recycle(std::mem::replace(&mut cur, pooled));
            hh = ph;
            ww = pw;
            let dropout = (block.dropout > 0.0).then(|| {
                let mask = dropout_mask(&mut rng, cur.len(), block.dropout);
                cur.iter_mut().zip(&mask).for_each(|(v, m)| *v *= m);
                mask
            });
            blocks.push(BlockTape {
                convs,
                hw,
                argmax,
                dropout,
            });
        }
        let tape = Tape {
            batch: b,
            blocks,
            out_shape: [hh, ww, cc],
        };
        (cur, tape)
    }

    /// Backward: `grad` is the gradient of the loss with respect to the NHWC output of
    /// [`TrainNet::forward`]; returns each convolution's gradients, block by block.
    pub fn backward(&self, tape: Tape, grad: Vec<f32>) -> Vec<Vec<ConvGrads>> {
        let b = tape.batch;
        let mut grad = grad;
        let mut out: Vec<Vec<ConvGrads>> = Vec::with_capacity(self.blocks.len());
        for (bi, (block, bt)) in self.blocks.iter().zip(tape.blocks).enumerate().rev() {
            if let Some(mask) = &bt.dropout {
                grad.iter_mut().zip(mask).for_each(|(g, m)| *g *= m);
            }
            let c = block.convs.last().map_or(0, |cv| cv.c_out);
            let pooled_grad = pool_backward(
                &grad,
                b,
                bt.hw,
                c,
                &block.pool,
                bt.argmax.as_deref(),
                &self.buffers,
            );
            self.buffers
                .recycle(std::mem::replace(&mut grad, pooled_grad));
            let mut grads = Vec::with_capacity(block.convs.len());
            for (ci, (conv, ct)) in block.convs.iter().zip(bt.convs).enumerate().rev() {
                // The network's input needs no gradient.
                let first = bi == 0 && ci == 0;
                let (g, dx) = conv.backward(
                    ct,
                    grad,
                    [b, bt.hw[0], bt.hw[1]],
                    &block.activation,
                    !first,
                    &self.buffers,
                );
                grads.push(g);
                grad = dx;
            }
            grads.reverse();
            out.push(grads);
        }
        out.reverse();
        out
    }
}

impl TrainConv {
    fn rows(&self) -> usize {
        self.k * self.k * self.c_in
    }

    /// Convolution (+ bias) of one NHWC example into `out` (`[h, w, c_out]`).
    fn conv_example(&self, x: &[f32], [h, w]: [usize; 2], out: &mut [f32], cols: &mut Vec<f32>) {
        let geometry = ([h, w, self.c_in], self.k, self.c_out);
        conv_gemm(x, geometry, &self.weight, out, cols, |dst| {
            if let Some(bias) = &self.bias {
                for px in dst.chunks_exact_mut(self.c_out) {
                    px.iter_mut().zip(bias).for_each(|(v, b)| *v += b);
                }
            }
        });
    }

    /// Convolution, batch norm (batch statistics) and activation over the batch.
    fn forward(
        &self,
        input: Vec<f32>,
        b: usize,
        [h, w]: [usize; 2],
        act: &Activation,
        buffers: &TrainWorkspace,
    ) -> (Vec<f32>, ConvTape) {
        let c_out = self.c_out;
        let (per_in, per_out) = (h * w * self.c_in, h * w * c_out);
        // Both overwritten in full: by the convolution, then by batch norm + activation.
        let mut z = buffers.scratch(b * per_out);
        z.par_chunks_mut(per_out)
            .zip(input.par_chunks(per_in))
            .for_each_init(Vec::new, |cols, (out, x)| {
                self.conv_example(x, [h, w], out, cols)
            });
        let mut a = buffers.scratch(z.len());
        let (inv_std, batch_mean, batch_var) = match &self.norm {
            Some(norm) => {
                let n = (b * h * w) as f64;
                let sums = channel_sums(&z, c_out);
                let mean: Vec<f64> = sums.iter().map(|s| s / n).collect();
                let mean32: Vec<f32> = mean.iter().map(|&m| m as f32).collect();
                let sq = channel_sums_centered(&z, c_out, &mean32);
                let var: Vec<f64> = sq.iter().map(|s| s / n).collect();
                let inv_std: Vec<f32> = var
                    .iter()
                    .map(|v| (1.0 / (v + norm.epsilon).sqrt()) as f32)
                    .collect();
                // z becomes xhat; a = act(gamma * xhat + beta).
                let (gamma, beta) = (&norm.gamma, &norm.beta);
                z.par_chunks_mut(per_out)
                    .zip(a.par_chunks_mut(per_out))
                    .for_each(|(zs, out)| {
                        with_activation!(act, f => with_avx2(|| {
                            for (zp, op) in
                                zs.chunks_exact_mut(c_out).zip(out.chunks_exact_mut(c_out))
                            {
                                for (((((zv, ov), m), s), g), bt) in zp
                                    .iter_mut()
                                    .zip(op.iter_mut())
                                    .zip(&mean32)
                                    .zip(&inv_std)
                                    .zip(gamma)
                                    .zip(beta)
                                {
                                    let xh = (*zv - m) * s;
                                    *zv = xh;
                                    *ov = f(g * xh + bt);
                                }
                            }
                        }))
                    });
                (
                    Some(inv_std),
                    Some(mean32),
                    Some(var.iter().map(|&v| v as f32).collect()),
                )
            }
            None => {
                a.par_chunks_mut(per_out)
                    .zip(z.par_chunks(per_out))
                    .for_each(|(out, zs)| {
                        with_activation!(act, f => with_avx2(|| {
                            out.iter_mut().zip(zs).for_each(|(o, &v)| *o = f(v))
                        }))
                    });
                (None, None, None)
            }
        };
        let tape = ConvTape {
            input,
            pre: z,
            inv_std,
            batch_mean,
            batch_var,
        };
        (a, tape)
    }

    /// Backward of activation, batch norm and convolution. `grad`: gradient with respect to
    /// the activation's output. Returns the parameter gradients and, when `need_input_grad`,
    /// the gradient with respect to the convolution's input (else an empty vector).
    fn backward(
        &self,
        tape: ConvTape,
        grad: Vec<f32>,
        [b, h, w]: [usize; 3],
        act: &Activation,
        need_input_grad: bool,
        buffers: &TrainWorkspace,
    ) -> (ConvGrads, Vec<f32>) {
        let c_out = self.c_out;
        let per_out = h * w * c_out;
        let mut dz = grad;
        let pre = &tape.pre;
        let mut grads = ConvGrads::default();
        match (&self.norm, &tape.inv_std) {
            (Some(n), Some(inv_std)) => {
                // One pass: dy = grad * act'(gamma * xhat + beta), with the per-channel sums of
                // dy (beta's gradient) and dy * xhat (gamma's gradient).
                let partials: Vec<(Vec<f64>, Vec<f64>)> = dz
                    .par_chunks_mut(per_out)
                    .zip(pre.par_chunks(per_out))
                    .map(|(ds, ps)| {
                        let mut sum_dy = vec![0f32; c_out];
                        let mut sum_dyx = vec![0f32; c_out];
                        with_slope!(act, slope => {
                            for (dp, xp) in ds.chunks_exact_mut(c_out).zip(ps.chunks_exact(c_out))
                            {
                                for (((((d, &xh), g), bt), sb), sg) in dp
                                    .iter_mut()
                                    .zip(xp)
                                    .zip(&n.gamma)
                                    .zip(&n.beta)
                                    .zip(sum_dy.iter_mut())
                                    .zip(sum_dyx.iter_mut())
                                {
                                    let dy = *d * slope(g * xh + bt);
                                    *d = dy;
                                    *sb += dy;
                                    *sg += dy * xh;
                                }
                            }
                        });
                        (
                            sum_dy.iter().map(|&v| v as f64).collect(),
                            sum_dyx.iter().map(|&v| v as f64).collect(),
                        )
                    })
                    .collect();
                let mut dbeta = vec![0f64; c_out];
                let mut dgamma = vec![0f64; c_out];
                for (pb, pg) in partials {
                    dbeta.iter_mut().zip(pb).for_each(|(a, v)| *a += v);
                    dgamma.iter_mut().zip(pg).for_each(|(a, v)| *a += v);
                }
                let count = (b * h * w) as f64;
                let scale: Vec<f32> = (0..c_out).map(|ch| n.gamma[ch] * inv_std[ch]).collect();
                let mean_dy: Vec<f32> = dbeta.iter().map(|v| (v / count) as f32).collect();
                let mean_dyx: Vec<f32> = dgamma.iter().map(|v| (v / count) as f32).collect();
                dz.par_chunks_mut(per_out)
                    .zip(pre.par_chunks(per_out))
                    .for_each(|(ds, ps)| {
                        with_avx2(|| {
                            for (dp, xp) in ds.chunks_exact_mut(c_out).zip(ps.chunks_exact(c_out)) {
                                for ((((d, x), s), md), mx) in dp
                                    .iter_mut()
                                    .zip(xp)
                                    .zip(&scale)
                                    .zip(&mean_dy)
                                    .zip(&mean_dyx)
                                {
                                    *d = s * (*d - md - x * mx);
                                }
                            }
                        })
                    });
                grads.gamma = Some(dgamma.iter().map(|&v| v as f32).collect());
                grads.beta = Some(dbeta.iter().map(|&v| v as f32).collect());
                grads.batch_mean = tape.batch_mean;
                grads.batch_var = tape.batch_var;
            }
            _ => {
                dz.par_chunks_mut(per_out)
                    .zip(pre.par_chunks(per_out))
                    .for_each(|(ds, ps)| {
                        with_slope!(act, slope => {
                            ds.iter_mut().zip(ps).for_each(|(d, &y)| *d *= slope(y))
                        })
                    });
            }
        }
        if self.bias.is_some() {
            grads.bias = Some(
                channel_sums(&dz, c_out)
                    .into_iter()
                    .map(|v| v as f32)
                    .collect(),
            );
        }
        let (dw, dx) = self.conv_backward(&tape.input, &dz, b, [h, w], need_input_grad, buffers);
        grads.weight = dw;
        buffers.recycle(dz);
        buffers.recycle(tape.input);
        buffers.recycle(tape.pre);
        (grads, dx)
    }

    /// Weight gradient `sum over pixels of im2col(x)^T dz` and, when asked, the input gradient
    /// `col2im(dz W^T)`.
    fn conv_backward(
        &self,
        input: &[f32],
        dz: &[f32],
        b: usize,
        [h, w]: [usize; 2],
        need_input_grad: bool,
        buffers: &TrainWorkspace,
    ) -> (Vec<f32>, Vec<f32>) {
        let (rows, c_in, c_out, k) = (self.rows(), self.c_in, self.c_out, self.k);
        let pixels = h * w;
        let (per_in, per_out) = (pixels * c_in, pixels * c_out);
        let tile = tile_pixels(rows, pixels);
        // Zeroed group by group inside the parallel work below, not here on one thread.
        let mut dx = if need_input_grad {
            buffers.scratch(b * per_in)
        } else {
            Vec::new()
        };
        let dx_groups: Vec<&mut [f32]> = if need_input_grad {
            dx.chunks_mut(GROUP * per_in).collect()
        } else {
            Vec::new()
        };
        let n_groups = b.div_ceil(GROUP);
        let work = |g: usize, mut dxg: Option<&mut [f32]>| -> Vec<f32> {
            if let Some(dxg) = dxg.as_deref_mut() {
                dxg.fill(0.0);
            }
            let mut dw = vec![0f32; rows * c_out];
            let mut cols = vec![0f32; tile * rows];
            let mut dcols = vec![0f32; if need_input_grad { tile * rows } else { 0 }];
            for e in g * GROUP..((g + 1) * GROUP).min(b) {
                let x = &input[e * per_in..(e + 1) * per_in];
                let d = &dz[e * per_out..(e + 1) * per_out];
                for start in (0..pixels).step_by(tile) {
                    let n = tile.min(pixels - start);
                    im2col(x, [h, w, c_in], k, start, n, &mut cols);
                    let dtile = &d[start * c_out..(start + n) * c_out];
                    // Weight gradient: dw += cols^T dtile.
                    matmul(
                        &mut dw,
                        [rows, c_out, n],
                        Strided::transposed(&cols, rows),
                        Strided::row_major(dtile, c_out),
                        true,
                    );
                    if let Some(dxg) = dxg.as_deref_mut() {
                        // Input gradient, in im2col rows: dcols = dtile weight^T.
                        matmul(
                            &mut dcols,
                            [n, rows, c_out],
                            Strided::row_major(dtile, c_out),
                            Strided::transposed(&self.weight, c_out),
                            false,
                        );
                        let local = e - g * GROUP;
                        col2im_add(
                            &dcols,
                            &mut dxg[local * per_in..(local + 1) * per_in],
                            [h, w, c_in],
                            k,
                            start,
                            n,
                        );
                    }
                }
            }
            dw
        };
        let partials: Vec<Vec<f32>> = if need_input_grad {
            dx_groups
                .into_par_iter()
                .enumerate()
                .map(|(g, dxg)| work(g, Some(dxg)))
                .collect()
        } else {
            (0..n_groups)
                .into_par_iter()
                .map(|g| work(g, None))
                .collect()
        };
        // Partials added in group order for every value (deterministic), values in parallel.
        let mut dw = vec![0f32; rows * c_out];
        dw.par_chunks_mut(REDUCE_CHUNK)
            .enumerate()
            .for_each(|(i, chunk)| {
                for p in &partials {
                    let part = &p[i * REDUCE_CHUNK..i * REDUCE_CHUNK + chunk.len()];
                    chunk.iter_mut().zip(part).for_each(|(a, v)| *a += v);
                }
            });
        (dw, dx)
    }
}

/// Adds im2col rows back into the NHWC example gradient (the adjoint of [`im2col`]).
fn col2im_add(
    dcols: &[f32],
    dx: &mut [f32],
    [h, w, c_in]: [usize; 3],
    k: usize,
    start: usize,
    n: usize,
) {
    let pad = (k - 1) / 2;
    let rows = k * k * c_in;
    for p in 0..n {
        let (oh, ow) = ((start + p) / w, (start + p) % w);
        let row = &dcols[p * rows..(p + 1) * rows];
        for i in 0..k {
            let ih = oh + i;
            if ih < pad || ih - pad >= h {
                continue;
            }
            for j in 0..k {
                let iw = ow + j;
                if iw < pad || iw - pad >= w {
                    continue;
                }
                let dst = ((ih - pad) * w + (iw - pad)) * c_in;
                let src = &row[(i * k + j) * c_in..(i * k + j + 1) * c_in];
                dx[dst..dst + c_in]
                    .iter_mut()
                    .zip(src)
                    .for_each(|(d, s)| *d += s);
            }
        }
    }
}

/// Per-channel sums over an NHWC batch of what `add(acc, pixel)` adds for each pixel; partial
/// sums per example group, added in a fixed order.
fn channel_sums_with(x: &[f32], c: usize, add: impl Fn(&mut [f32], &[f32]) + Sync) -> Vec<f64> {
    let chunk = (GROUP * 4096 * c).min(x.len().max(c));
    let partials: Vec<Vec<f64>> = x
        .par_chunks(chunk)
        .map(|part| {
            with_avx2(|| {
                let mut acc = vec![0f32; c];
                let mut total = vec![0f64; c];
                // f32 runs of 256 pixels keep the inner loop vectorised and the rounding small.
                for run in part.chunks(256 * c) {
                    acc.iter_mut().for_each(|a| *a = 0.0);
                    for px in run.chunks_exact(c) {
                        add(&mut acc, px);
                    }
                    total
                        .iter_mut()
                        .zip(&acc)
                        .for_each(|(t, &a)| *t += a as f64);
                }
                total
            })
        })
        .collect();
    sum_partials(partials, c)
}

/// Per-channel sums.
fn channel_sums(x: &[f32], c: usize) -> Vec<f64> {
    channel_sums_with(x, c, |acc, px| {
        acc.iter_mut().zip(px).for_each(|(a, &v)| *a += v)
    })
}

/// Per-channel sums of `(v - mean)^2`.
fn channel_sums_centered(x: &[f32], c: usize, mean: &[f32]) -> Vec<f64> {
    channel_sums_with(x, c, |acc, px| {
        for ((a, &v), &m) in acc.iter_mut().zip(px).zip(mean) {
            let d = v - m;
            *a += d * d;
        }
    })
}

fn sum_partials(partials: Vec<Vec<f64>>, c: usize) -> Vec<f64> {
    let mut out = vec![0f64; c];
    for p in partials {
        out.iter_mut().zip(p).for_each(|(o, v)| *o += v);
    }
    out
}

/// NHWC pooling with stride = kernel, partial windows dropped; max pooling also returns, for
/// each output value, which tap of its window (`i * kw + j`) held the maximum (the first on ties).
fn pool_forward(
    x: &[f32],
    b: usize,
    [h, w]: [usize; 2],
    c: usize,
    pool: &Pool,
    buffers: &TrainWorkspace,
) -> (Vec<f32>, Option<Vec<u16>>, usize, usize) {
    let ([kh, kw], is_max) = match pool {
        Pool::Identity => return (x.to_vec(), None, h, w),
        Pool::Max { kernel } => (*kernel, true),
        Pool::Avg { kernel } => (*kernel, false),
    };
    let [oh, ow] = pool.output_hw([h, w]);
    let (per_in, per_out) = (h * w * c, oh * ow * c);
    // Every output value is written (the first tap, or zero before averaging).
    let mut out = buffers.scratch(b * per_out);
    let mut taps = if is_max {
        vec![0u16; b * per_out]
    } else {
        Vec::new()
    };
    let scale = 1.0 / (kh * kw) as f32;
    let run_avg = |e: usize, dst: &mut [f32]| {
        let src = &x[e * per_in..(e + 1) * per_in];
        for y in 0..oh {
            for xo in 0..ow {
                let o = (y * ow + xo) * c;
                let d = &mut dst[o..o + c];
                d.fill(0.0);
                for i in 0..kh {
                    for j in 0..kw {
                        let s = ((y * kh + i) * w + xo * kw + j) * c;
                        d.iter_mut().zip(&src[s..s + c]).for_each(|(a, v)| *a += v);
                    }
                }
                d.iter_mut().for_each(|a| *a *= scale);
            }
        }
    };
    let run_max = |e: usize, dst: &mut [f32], idx: &mut [u16]| {
        let src = &x[e * per_in..(e + 1) * per_in];
        for y in 0..oh {
            for xo in 0..ow {
                let o = (y * ow + xo) * c;
                let (d, ix) = (&mut dst[o..o + c], &mut idx[o..o + c]);
                let first = ((y * kh) * w + xo * kw) * c;
                d.copy_from_slice(&src[first..first + c]);
                ix.fill(0);
                for i in 0..kh {
                    for j in 0..kw {
                        let s = ((y * kh + i) * w + xo * kw + j) * c;
                        let tap = (i * kw + j) as u16;
                        // Selects, not branches, so that the channel loop vectorises.
                        for ((d, t), &v) in d.iter_mut().zip(ix.iter_mut()).zip(&src[s..s + c]) {
                            let take = v > *d;
                            *d = if take { v } else { *d };
                            *t = if take { tap } else { *t };
                        }
                    }
                }
            }
        }
    };
    if is_max {
        out.par_chunks_mut(per_out.max(1))
            .zip(taps.par_chunks_mut(per_out.max(1)))
            .enumerate()
            .for_each(|(e, (dst, idx))| with_avx2(|| run_max(e, dst, idx)));
    } else {
        out.par_chunks_mut(per_out.max(1))
            .enumerate()
            .for_each(|(e, dst)| with_avx2(|| run_avg(e, dst)));
    }
    (out, is_max.then_some(taps), oh, ow)
}

/// Gradient of [`pool_forward`] with respect to its input.
fn pool_backward(
    grad: &[f32],
    b: usize,
    [h, w]: [usize; 2],
    c: usize,
    pool: &Pool,
    taps: Option<&[u16]>,
    buffers: &TrainWorkspace,
) -> Vec<f32> {
    let [kh, kw] = match pool {
        Pool::Identity => return grad.to_vec(),
        Pool::Max { kernel } | Pool::Avg { kernel } => *kernel,
    };
    let [oh, ow] = pool.output_hw([h, w]);
    let (per_in, per_out) = (h * w * c, oh * ow * c);
    let scale = 1.0 / (kh * kw) as f32;
    // Windows do not overlap and tile the map from its top-left corner: every input inside a
    // full window is written below; only those in a dropped partial window (the last rows and
    // columns) are zeroed here, by each example's own task.
    let mut dx = buffers.scratch(b * per_in);
    dx.par_chunks_mut(per_in)
        .zip(grad.par_chunks(per_out.max(1)))
        .enumerate()
        .for_each(|(e, (d, g))| {
            for (y, row) in d.chunks_exact_mut(w * c).enumerate() {
                let covered = if y < oh * kh { ow * kw * c } else { 0 };
                row[covered..].fill(0.0);
            }
            with_avx2(|| {
                for y in 0..oh {
                    for xo in 0..ow {
                        let o = (y * ow + xo) * c;
                        for i in 0..kh {
                            for j in 0..kw {
                                let s = ((y * kh + i) * w + xo * kw + j) * c;
                                let dst = d[s..s + c].iter_mut().zip(&g[o..o + c]);
                                match taps {
                                    Some(taps) => {
                                        let tap = (i * kw + j) as u16;
                                        let t = &taps[e * per_out + o..e * per_out + o + c];
                                        for ((a, v), &t) in dst.zip(t) {
                                            *a = if t == tap { *v } else { 0.0 };
                                        }
                                    }
                                    None => dst.for_each(|(a, v)| *a = v * scale),
                                }
                            }
                        }
                    }
                }
            })
        });
    dx
}
