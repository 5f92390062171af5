//! One folded convolution of the inference engine and its GEMM path.

use super::direct;
use crate::engine::kernels::{Strided, matmul, oihw_to_rows};
use crate::engine::winograd::Winograd;

/// Input channels from which a 3 x 3 convolution runs as Winograd F(2x2, 3x3): below it the
/// GEMMs are too thin for the transforms to pay.
const WINOGRAD_MIN_C_IN: usize = 8;

/// Bytes of a GEMM tile's working set (output rows plus the input rows they read): small
/// enough to stay in a core's L2 cache across the `k` accumulating GEMMs.
const TILE_BYTES: usize = 192 * 1024;

/// One k x k "same" convolution with batch norm folded in.
#[derive(Debug, Clone)]
pub(crate) struct HostConv {
    pub(super) c_in: usize,
    pub(super) c_out: usize,
    pub(super) k: usize,
    /// `[k*k*c_in, c_out]` row-major (rows tap-major, channel-minor).
    weight: Vec<f32>,
    /// For the direct kernel: the same rows widened by [`direct::widen`].
    direct: Option<Vec<f32>>,
    /// For 3 x 3 kernels with enough input channels: the kernel in the Winograd domain.
    pub(super) winograd: Option<Winograd>,
    pub(super) bias: Vec<f32>,
}

impl HostConv {
    /// From an OIHW weight (`[c_out, c_in, k, k]`, row-major) and a bias.
    pub fn from_oihw(weight: &[f32], bias: Vec<f32>, c_out: usize, c_in: usize, k: usize) -> Self {
        let weight = oihw_to_rows(weight, c_out, c_in, k);
        let direct = (k * k * c_in <= direct::MAX_TAPS).then(|| direct::widen(&weight, c_out));
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

    pub(super) fn pad(&self) -> usize {
        crate::block::same_padding(self.k)
    }

    /// `xp`: one example's padded input (see [`super::finish::pad_layout`]). Writes the
    /// convolution without bias into `y` at the padded row stride: output pixel `(r, c)` starts
    /// at `(r * (w + pad) + c) * c_out`.
    pub(super) fn forward(&self, xp: &[f32], h: usize, w: usize, y: &mut Vec<f32>) {
        if h == 0 || w == 0 {
            y.clear();
            return;
        }
        let wp = w + self.pad();
        let m = (h - 1) * wp + w;
        y.resize(m * self.c_out, 0.0);
        match &self.direct {
            Some(weight) => direct::run(
                [self.k, self.c_in, self.c_out, wp],
                weight,
                xp,
                &mut y[..m * self.c_out],
            ),
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
}
