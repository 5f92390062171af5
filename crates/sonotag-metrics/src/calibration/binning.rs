//! Reliability curves and binned calibration errors (ECE, MCE, RMSCE).

use serde::{Deserialize, Serialize};

use super::check_pairs;
use crate::error::{MetricsError, Result};

/// The largest number of calibration bins any function of this crate accepts.
///
/// A bin array (and an edge array) is allocated per call, so an outside number of bins (a
/// command-line flag, a config file) must be bounded before it sizes an allocation. More than
/// 100,000 equal-width bins is never meaningful for calibration: each bin needs many samples
/// for its observed rate to mean anything, and torchmetrics' float32 edges stop being distinct
/// long before that.
pub const MAX_BINS: usize = 100_000;

/// Checks a number of bins named `field`: at least 1 and at most [`MAX_BINS`].
///
/// ```
/// use sonotag_metrics::calibration::{MAX_BINS, check_bins};
/// assert!(check_bins("bins", 15).is_ok());
/// assert!(check_bins("bins", 0).is_err());
/// let err = check_bins("bins", MAX_BINS + 1).unwrap_err();
/// assert!(err.to_string().contains("100000"), "{err}");
/// ```
pub fn check_bins(field: &'static str, bins: usize) -> Result<()> {
    if (1..=MAX_BINS).contains(&bins) {
        Ok(())
    } else {
        Err(MetricsError::OutOfRange {
            field,
            value: bins,
            min: 1,
            max: MAX_BINS,
        })
    }
}

/// How probabilities are grouped into bins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Binning {
    /// `n` bins of equal width on [0, 1] (torchmetrics' edges, see [`calibration_error`]).
    EqualWidth(usize),
    /// `n` bins holding equal numbers of samples (sizes differ by at most one, as
    /// `numpy.array_split` of the sorted probabilities; tied probabilities may straddle bins).
    EqualMass(usize),
}

/// One non-empty bin of a reliability curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ReliabilityBin {
    /// Lower edge (equal width) or smallest probability (equal mass).
    pub lower: f64,
    /// Upper edge (equal width) or largest probability (equal mass).
    pub upper: f64,
    /// Number of samples in the bin.
    pub count: usize,
    /// Mean predicted probability ("confidence").
    pub mean_predicted: f64,
    /// Observed fraction of positives ("accuracy").
    pub observed_rate: f64,
}

/// Binned calibration errors.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CalibrationError {
    /// Expected calibration error: `sum_b n_b/N |observed_b - predicted_b|` (L1).
    pub ece: f64,
    /// Maximum calibration error: `max_b |observed_b - predicted_b|` over non-empty bins.
    pub mce: f64,
    /// Root-mean-square calibration error: `sqrt(sum_b n_b/N (observed_b - predicted_b)^2)`.
    pub rmsce: f64,
}

/// The `n_bins + 1` bin edges torchmetrics uses: `torch.linspace(0, 1, n_bins + 1)` in float32,
/// reproduced bit for bit (its step is rounded to f32 first, and the upper half is computed
/// from 1 downwards), which matters when probabilities sit on an edge such as 0.2.
///
/// `n_bins` must be in `1..=`[`MAX_BINS`] ([`check_bins`]).
pub fn torch_linspace_edges(n_bins: usize) -> Result<Vec<f32>> {
    check_bins("n_bins", n_bins)?;
    let steps = n_bins + 1;
    let step = f64::from(1.0f32 / n_bins as f32);
    let half = steps / 2;
    Ok((0..steps)
        .map(|i| {
            if i < half {
                (step * i as f64) as f32
            } else {
                (1.0 - step * (steps - i - 1) as f64) as f32
            }
        })
        .collect())
}

/// Per-bin sums: count, sum of probabilities, sum of targets.
#[derive(Debug, Default, Clone, Copy)]
struct BinSums {
    count: usize,
    sum_p: f64,
    sum_y: f64,
}

impl BinSums {
    fn gap(&self) -> f64 {
        (self.sum_y / self.count as f64 - self.sum_p / self.count as f64).abs()
    }
}

/// Equal-width sums with torchmetrics' rule: bin `b` holds `edges[b] <= p < edges[b+1]`, and
/// `p == 1.0` gets an extra bin of its own (index `n_bins`), exactly as
/// `torch.bucketize(p, edges, right=True) - 1` in `BinaryCalibrationError`.
fn torch_bins(probs: &[f32], targets: &[u8], n_bins: usize) -> Result<Vec<BinSums>> {
    let edges = torch_linspace_edges(n_bins)?;
    let mut bins = vec![BinSums::default(); n_bins + 1];
    for (&p, &y) in probs.iter().zip(targets) {
        // Number of edges <= p, minus one.
        let b = edges.partition_point(|&e| e <= p) - 1;
        let s = &mut bins[b];
        s.count += 1;
        s.sum_p += f64::from(p);
        s.sum_y += f64::from(y);
    }
    Ok(bins)
}

fn errors(bins: &[BinSums], total: usize) -> CalibrationError {
    let (mut ece, mut mce, mut sq) = (0.0f64, 0.0f64, 0.0f64);
    for b in bins.iter().filter(|b| b.count > 0) {
        let gap = b.gap();
        let w = b.count as f64 / total as f64;
        ece += w * gap;
        sq += w * gap * gap;
        mce = mce.max(gap);
    }
    CalibrationError {
        ece,
        mce,
        rmsce: sq.sqrt(),
    }
}

/// ECE, MCE and RMSCE with `n_bins` equal-width bins, matching torchmetrics'
/// `BinaryCalibrationError(n_bins)` (norm `l1`, `max`, `l2`) on flattened probabilities.
///
/// As in torchmetrics, a probability of exactly 1.0 forms a bin of its own (it falls past the
/// last edge); probabilities equal to an inner edge go to the bin above it.
///
/// ```
/// let e = sonotag_metrics::calibration_error(&[0.9, 0.9, 0.1, 0.1], &[1, 0, 0, 0], 10).unwrap();
/// // Two bins of two samples: |0.5 - 0.9| / 2 + |0.0 - 0.1| / 2.
/// assert!((e.ece - 0.25).abs() < 1e-7);
/// assert!((e.mce - 0.4).abs() < 1e-7);
/// ```
pub fn calibration_error(probs: &[f32], targets: &[u8], n_bins: usize) -> Result<CalibrationError> {
    check_pairs(probs, targets)?;
    check_bins("n_bins", n_bins)?;
    Ok(errors(&torch_bins(probs, targets, n_bins)?, probs.len()))
}

/// ECE, MCE and RMSCE of the bins of a reliability curve (any binning).
pub fn calibration_error_from_bins(bins: &[ReliabilityBin]) -> CalibrationError {
    let sums: Vec<BinSums> = bins
        .iter()
        .map(|b| BinSums {
            count: b.count,
            sum_p: b.mean_predicted * b.count as f64,
            sum_y: b.observed_rate * b.count as f64,
        })
        .collect();
    errors(&sums, bins.iter().map(|b| b.count).sum())
}

/// The reliability curve: for each non-empty bin, the mean predicted probability against the
/// observed rate of positives.
///
/// Equal-width bins use torchmetrics' edges, except that a probability of 1.0 is kept in the
/// last bin (a plot should not show a bin of zero width).
///
/// ```
/// use sonotag_metrics::{Binning, reliability_curve};
/// let bins = reliability_curve(&[0.1, 0.2, 0.8, 0.9], &[0, 0, 1, 0], Binning::EqualMass(2)).unwrap();
/// assert_eq!(bins.len(), 2);
/// assert_eq!(bins[1].observed_rate, 0.5);
/// ```
pub fn reliability_curve(
    probs: &[f32],
    targets: &[u8],
    binning: Binning,
) -> Result<Vec<ReliabilityBin>> {
    check_pairs(probs, targets)?;
    match binning {
        Binning::EqualWidth(n) | Binning::EqualMass(n) => check_bins("bins", n)?,
    }
    match binning {
        Binning::EqualWidth(n) => {
            let edges = torch_linspace_edges(n)?;
            let mut sums = torch_bins(probs, targets, n)?;
            let top = sums.pop().unwrap_or_default();
            if let Some(last) = sums.last_mut() {
                last.count += top.count;
                last.sum_p += top.sum_p;
                last.sum_y += top.sum_y;
            }
            Ok(sums
                .iter()
                .enumerate()
                .filter(|(_, s)| s.count > 0)
                .map(|(b, s)| ReliabilityBin {
                    lower: f64::from(edges[b]),
                    upper: f64::from(edges[b + 1]),
                    count: s.count,
                    mean_predicted: s.sum_p / s.count as f64,
                    observed_rate: s.sum_y / s.count as f64,
                })
                .collect())
        }
        Binning::EqualMass(n) => {
            let mut order: Vec<(f32, u8)> =
                probs.iter().copied().zip(targets.iter().copied()).collect();
            order.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
            let (size, extra) = (order.len() / n, order.len() % n);
            let mut out = Vec::with_capacity(n);
            let mut start = 0;
            for b in 0..n {
                let len = size + usize::from(b < extra);
                let chunk = &order[start..start + len];
                start += len;
                if let (Some(first), Some(last)) = (chunk.first(), chunk.last()) {
                    let sum_p: f64 = chunk.iter().map(|c| f64::from(c.0)).sum();
                    let sum_y: f64 = chunk.iter().map(|c| f64::from(c.1)).sum();
                    out.push(ReliabilityBin {
                        lower: f64::from(first.0),
                        upper: f64::from(last.0),
                        count: len,
                        mean_predicted: sum_p / len as f64,
                        observed_rate: sum_y / len as f64,
                    });
                }
            }
            Ok(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges_match_torch_linspace_15() {
        // torch.linspace(0, 1, 16) (float32), printed as f64.
        let torch = [
            0.0,
            0.06666667014360428,
            0.13333334028720856,
            0.20000001788139343,
            0.2666666805744171,
            0.3333333432674408,
            0.40000003576278687,
            0.46666669845581055,
            0.5333333015441895,
            0.5999999642372131,
            0.6666666269302368,
            0.7333333492279053,
            0.800000011920929,
            0.8666666746139526,
            0.9333333373069763,
            1.0,
        ];
        let ours = torch_linspace_edges(15).unwrap();
        for (a, b) in ours.iter().zip(torch) {
            assert_eq!(f64::from(*a), b);
        }
    }

    #[test]
    fn one_is_its_own_bin_like_torchmetrics() {
        // p = 1.0 with y = 0 alone: gap 1 in its own bin; p = 0.95 with y = 1: gap 0.05.
        let e = calibration_error(&[1.0, 0.95], &[0, 1], 10).unwrap();
        assert!((e.mce - 1.0).abs() < 1e-12);
        assert!((e.ece - (0.5 + 0.5 * 0.050000011920928955)).abs() < 1e-9);
    }
}
