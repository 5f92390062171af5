//! Framing of a clip exactly as `librosa.stft` 0.11 does it: window, centre padding and the
//! frame count, including librosa's head/tail trick (with `center = true` it pads only two
//! short chunks at the ends, not the whole signal, which changes what `reflect` padding
//! mirrors when a chunk is shorter than the pad).

use crate::error::MelError;
use crate::mel::config::PadMode;

/// Periodic Hann window of `win_length` (scipy `get_window('hann', N, fftbins=True)`),
/// computed in f64 the way scipy does: `0.5 + 0.5 * cos(linspace(-pi, pi, N + 1)[:N])`.
pub fn periodic_hann(win_length: usize) -> Vec<f64> {
    if win_length <= 1 {
        // scipy's length guard: windows of length 0/1 are all ones.
        return vec![1.0; win_length];
    }
    let m = win_length + 1;
    let start = -std::f64::consts::PI;
    let stop = std::f64::consts::PI;
    let step = (stop - start) / (m - 1) as f64;
    (0..win_length)
        .map(|n| {
            let fac = n as f64 * step + start;
            0.5 + 0.5 * fac.cos()
        })
        .collect()
}

/// numpy `np.pad(x, (left, right), mode)` for `constant` (zeros) and `reflect`.
///
/// `reflect` mirrors around the edge samples without repeating them; numpy repeats the
/// reflection when the pad is longer than the signal, which is the same as indexing the
/// signal periodically with period `2 * (len - 1)`. A single sample is repeated (numpy's
/// legacy behaviour); an empty signal cannot be reflected.
pub fn numpy_pad(
    x: &[f32],
    left: usize,
    right: usize,
    mode: PadMode,
) -> Result<Vec<f32>, MelError> {
    let n = x.len();
    let mut out = Vec::with_capacity(n + left + right);
    match mode {
        PadMode::Constant => {
            out.resize(left, 0.0);
            out.extend_from_slice(x);
            out.resize(n + left + right, 0.0);
        }
        PadMode::Reflect => {
            if n == 0 {
                if left + right == 0 {
                    return Ok(out);
                }
                return Err(MelError::EmptyReflect);
            }
            let at = |i: i64| -> f32 {
                if n == 1 {
                    return x[0];
                }
                let period = 2 * (n as i64 - 1);
                let m = i.rem_euclid(period);
                let j = if m >= n as i64 { period - m } else { m };
                x[j as usize]
            };
            out.extend((0..left).map(|k| at(k as i64 - left as i64)));
            out.extend_from_slice(x);
            out.extend((0..right).map(|k| at((n + k) as i64)));
        }
    }
    Ok(out)
}

/// Where each frame's samples come from, mirroring librosa's framing.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FramePlan {
    /// Total number of frames.
    pub n_frames: usize,
    hop: usize,
    kind: PlanKind,
}

#[derive(Debug, Clone, PartialEq)]
enum PlanKind {
    /// `center = false`: frame `t` is `y[t * hop ..]`.
    Uncentered,
    /// Short clip: the whole padded signal.
    Full { padded: Vec<f32> },
    /// Long clip: `n_head` frames from the padded head chunk, then frames read straight from
    /// `y` starting at `mid_start`, then the frames of the padded tail chunk.
    Split {
        head: Vec<f32>,
        n_head: usize,
        mid_start: usize,
        n_mid: usize,
        tail: Vec<f32>,
    },
}

/// Floor division for a positive divisor (Python's `//`).
fn floor_div(a: i64, b: i64) -> i64 {
    a.div_euclid(b)
}

/// Number of frames of `frame` (librosa.util.frame) over a buffer of `len` samples.
fn n_util_frames(len: usize, n_fft: usize, hop: usize) -> Result<usize, MelError> {
    if len < n_fft {
        return Err(MelError::TooShort { len, n_fft });
    }
    Ok(1 + (len - n_fft) / hop)
}

impl FramePlan {
    /// Plans the frames of `y`. Errors where librosa raises.
    pub fn new(
        y: &[f32],
        n_fft: usize,
        hop: usize,
        center: bool,
        pad_mode: PadMode,
    ) -> Result<Self, MelError> {
        let len = y.len();
        if !center {
            let n_frames = n_util_frames(len, n_fft, hop)?;
            return Ok(Self {
                n_frames,
                hop,
                kind: PlanKind::Uncentered,
            });
        }
        let half = n_fft / 2;
        let (li, hi, ni) = (len as i64, hop as i64, n_fft as i64);
        let start_k = half.div_ceil(hop);
        let tail_k = floor_div(li + half as i64 - ni, hi) + 1;
        if tail_k <= start_k as i64 {
            let padded = numpy_pad(y, half, half, pad_mode)?;
            let n_frames = n_util_frames(padded.len(), n_fft, hop)?;
            return Ok(Self {
                n_frames,
                hop,
                kind: PlanKind::Full { padded },
            });
        }
        // Head: pad only the samples the first `start_k` frames can touch (+1, librosa #1567).
        let head_end = ((start_k as i64 - 1) * hi - half as i64 + ni + 1).clamp(0, li) as usize;
        let head = numpy_pad(&y[..head_end], half, 0, pad_mode)?;
        let n_head = n_util_frames(head.len(), n_fft, hop)?.min(start_k);
        let mid_start = start_k * hop - half;
        let n_mid = n_util_frames(len - mid_start, n_fft, hop)?;
        let tail_k = tail_k as usize;
        let (tail, n_tail) = if tail_k * hop - half + n_fft <= len + half {
            let tail = numpy_pad(&y[tail_k * hop - half..], 0, half, pad_mode)?;
            let n = n_util_frames(tail.len(), n_fft, hop)?;
            (tail, n)
        } else {
            (Vec::new(), 0)
        };
        Ok(Self {
            n_frames: n_head + n_mid + n_tail,
            hop,
            kind: PlanKind::Split {
                head,
                n_head,
                mid_start,
                n_mid,
                tail,
            },
        })
    }

    /// True when the clip is so short that every frame touches the padding (librosa pads the
    /// whole clip at once).
    pub fn is_short(&self) -> bool {
        matches!(self.kind, PlanKind::Full { .. })
    }

    /// The samples of frame `t`, starting at its first sample (at least `n_fft` long).
    #[inline(always)]
    pub fn frame<'a>(&'a self, y: &'a [f32], t: usize) -> &'a [f32] {
        match &self.kind {
            PlanKind::Uncentered => &y[t * self.hop..],
            PlanKind::Full { padded } => &padded[t * self.hop..],
            PlanKind::Split {
                head,
                n_head,
                mid_start,
                n_mid,
                tail,
            } => {
                if t < *n_head {
                    &head[t * self.hop..]
                } else if t < n_head + n_mid {
                    &y[mid_start + (t - n_head) * self.hop..]
                } else {
                    &tail[(t - n_head - n_mid) * self.hop..]
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflect_matches_numpy_examples() {
        // Outputs of numpy 2.4: np.pad([1, 2, 3], (4, 5), 'reflect') (pad longer than the
        // signal: the reflection repeats) and np.pad([7], (2, 1), 'reflect').
        let x = [1.0, 2.0, 3.0];
        let got = numpy_pad(&x, 4, 5, PadMode::Reflect).unwrap();
        assert_eq!(
            got,
            vec![1.0, 2.0, 3.0, 2.0, 1.0, 2.0, 3.0, 2.0, 1.0, 2.0, 3.0, 2.0]
        );
        assert_eq!(
            numpy_pad(&[7.0], 2, 1, PadMode::Reflect).unwrap(),
            vec![7.0; 4]
        );
        assert_eq!(
            numpy_pad(&[], 2, 2, PadMode::Reflect),
            Err(MelError::EmptyReflect)
        );
        assert_eq!(
            numpy_pad(&[1.0], 1, 2, PadMode::Constant).unwrap(),
            vec![0.0, 1.0, 0.0, 0.0]
        );
    }

    #[test]
    fn hann_is_periodic() {
        let w = periodic_hann(4);
        let want = [0.0, 0.5, 1.0, 0.5];
        for (a, b) in w.iter().zip(want) {
            assert!((a - b).abs() < 1e-15, "{w:?}");
        }
    }

    #[test]
    fn frame_counts_follow_librosa() {
        let y = vec![0.0f32; 16_000];
        let p = FramePlan::new(&y, 512, 160, true, PadMode::Constant).unwrap();
        assert_eq!(p.n_frames, 1 + 16_000 / 160);
        let p = FramePlan::new(&y, 512, 160, false, PadMode::Constant).unwrap();
        assert_eq!(p.n_frames, 1 + (16_000 - 512) / 160);
        let short = vec![0.0f32; 389];
        let p = FramePlan::new(&short, 512, 160, true, PadMode::Reflect).unwrap();
        assert_eq!(p.n_frames, 3);
        assert_eq!(
            FramePlan::new(&short, 512, 160, false, PadMode::Constant),
            Err(MelError::TooShort {
                len: 389,
                n_fft: 512
            })
        );
    }
}
