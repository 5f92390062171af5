//! A streaming accumulator for ROC-AUC and AP: feed batches, compute at the end.
//!
//! Two modes:
//! - **Exact** keeps one 4-byte key per (sample, label) score, split by target, so memory is
//!   proportional to the scores kept; the result equals [`crate::ranking_metrics`] on the
//!   concatenated batches.
//! - **Binned** keeps, per label, a histogram of positives and negatives over `n_bins`
//!   equal-width bins on `[lower, upper]` (values outside are clamped into the end bins), so
//!   memory is `2 * n_bins * n_labels` counters whatever the number of samples.
//!
//! # Error of the binned mode
//! Binning merges the scores of a bin into one tied threshold; everything else is exact.
//! - ROC-AUC: only (positive, negative) pairs falling in the same bin change their
//!   contribution, from 0, 1/2 or 1 to 1/2. Hence `|AUC_binned - AUC_exact| <=
//!   sum_b pos_b neg_b / (2 P N) <= max_b neg_b / (2 N)`: at most half the largest share of
//!   negatives in one bin. For scores with a density at most `f` on `[lower, upper]` and
//!   `B` bins, that is about `f (upper - lower) / (2 B)`; e.g. `<= 5e-5` for uniform
//!   probabilities and `B = 10^4`.
//! - AP: each positive of bin `b` is credited the precision at the end of its bin instead of a
//!   precision reached inside it, which lies in `[(TP0 + 1)/(D0 + fp_b + 1), (TP0 + tp_b)/(D0 +
//!   tp_b)]` (`TP0`, `D0`: positives and predictions above the bin). The bound is the sum over
//!   bins of `tp_b / P` times the largest distance from the end-of-bin precision to that range.
//!
//! Both bounds are computed from the histograms and returned in [`StreamingMetrics::error_bound`],
//! so a caller knows how far the binned figures can be from the exact ones on *these* data.

use serde::{Deserialize, Serialize};

use crate::error::{MetricsError, Result, invalid};
use crate::matrix::{ScoreMatrix, TargetMatrix, check_same_shape};
use crate::ranking::{Group, LabelStats, RankingMetrics, label_stats, sorted_stats};
use crate::sort::{f32_key, radix_sort_u32};

/// Most histogram bins per label in binned mode (2^20): far finer than any score resolution
/// that matters for ROC/PR areas (the default is 10,000).
pub const MAX_HISTOGRAM_BINS: usize = 1 << 20;

/// Most histogram bins over all labels in binned mode (2^26, two `u64` counters each: 1 GiB),
/// so that a bin count and a label count from outside cannot size an unbounded allocation.
pub const MAX_HISTOGRAM_COUNTERS: usize = 1 << 26;

/// Histogram settings of the binned mode.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BinnedConfig {
    /// Number of equal-width bins per label (memory: 16 bytes per bin and label).
    pub n_bins: usize,
    /// Lower end of the score range (scores below fall in the first bin).
    pub lower: f32,
    /// Upper end of the score range (scores above fall in the last bin).
    pub upper: f32,
}

impl Default for BinnedConfig {
    /// 10,000 bins on [0, 1], for probabilities.
    fn default() -> Self {
        Self {
            n_bins: 10_000,
            lower: 0.0,
            upper: 1.0,
        }
    }
}

/// Upper bounds on `|binned - exact|`, per label and for the pooled figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBound {
    /// Bound on the ROC-AUC error of each label (`None` where the AUC is undefined).
    pub roc_auc_per_label: Vec<Option<f64>>,
    /// Bound on the AP error of each label (`None` where the AP is undefined).
    pub average_precision_per_label: Vec<Option<f64>>,
    /// Bound on the macro ROC-AUC error (the mean of the label bounds).
    pub roc_auc_macro: Option<f64>,
    /// Bound on the mAP error (the mean of the label bounds).
    pub average_precision_macro: Option<f64>,
    /// Bound on the micro ROC-AUC error.
    pub roc_auc_micro: Option<f64>,
    /// Bound on the micro AP error.
    pub average_precision_micro: Option<f64>,
}

/// What [`StreamingRanking::finish`] returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamingMetrics {
    /// ROC-AUC and AP per label and averaged.
    pub metrics: RankingMetrics,
    /// Number of samples accumulated.
    pub n_samples: usize,
    /// `None` in exact mode; the data-dependent error bounds in binned mode.
    pub error_bound: Option<ErrorBound>,
}

#[derive(Debug, Clone)]
enum Store {
    Exact {
        pos: Vec<Vec<u32>>,
        neg: Vec<Vec<u32>>,
    },
    Binned {
        config: BinnedConfig,
        /// `[label][bin]` counts, flattened.
        pos: Vec<u64>,
        neg: Vec<u64>,
    },
}

/// Accumulates scores and targets batch by batch for ROC-AUC and AP.
///
/// ```
/// use sonotag_metrics::{ScoreMatrix, StreamingRanking, TargetMatrix};
/// let mut acc = StreamingRanking::exact(1);
/// acc.push(&ScoreMatrix::new(&[0.1, 0.8], 2, 1)?, &TargetMatrix::new(&[0, 1], 2, 1)?)?;
/// acc.push(&ScoreMatrix::new(&[0.4, 0.35], 2, 1)?, &TargetMatrix::new(&[0, 1], 2, 1)?)?;
/// let out = acc.finish();
/// assert_eq!(out.metrics.roc_auc.per_label[0], Some(0.75));
/// # Ok::<(), sonotag_metrics::MetricsError>(())
/// ```
#[derive(Debug, Clone)]
pub struct StreamingRanking {
    n_labels: usize,
    n_samples: usize,
    store: Store,
}

impl StreamingRanking {
    /// Exact mode for `n_labels` labels.
    pub fn exact(n_labels: usize) -> Self {
        Self {
            n_labels,
            n_samples: 0,
            store: Store::Exact {
                pos: vec![Vec::new(); n_labels],
                neg: vec![Vec::new(); n_labels],
            },
        }
    }

    /// Binned mode for `n_labels` labels (see the module docs for its error).
    pub fn binned(n_labels: usize, config: BinnedConfig) -> Result<Self> {
        if !(1..=MAX_HISTOGRAM_BINS).contains(&config.n_bins) {
            return Err(MetricsError::OutOfRange {
                field: "n_bins",
                value: config.n_bins,
                min: 1,
                max: MAX_HISTOGRAM_BINS,
            });
        }
        if !(config.lower.is_finite() && config.upper.is_finite() && config.lower < config.upper) {
            return Err(invalid(
                "lower/upper",
                format!(
                    "[{}, {}] is not a finite, non-empty range",
                    config.lower, config.upper
                ),
            ));
        }
        // Two u64 counters per bin and label: bounded before they are allocated.
        let size = config.n_bins.saturating_mul(n_labels);
        if size > MAX_HISTOGRAM_COUNTERS {
            return Err(MetricsError::OutOfRange {
                field: "n_bins x n_labels",
                value: size,
                min: 1,
                max: MAX_HISTOGRAM_COUNTERS,
            });
        }
        Ok(Self {
            n_labels,
            n_samples: 0,
            store: Store::Binned {
                config,
                pos: vec![0; size],
                neg: vec![0; size],
            },
        })
    }

    /// Number of samples pushed so far.
    pub fn n_samples(&self) -> usize {
        self.n_samples
    }

    /// Adds a batch; its number of labels must match the accumulator's.
    pub fn push(&mut self, scores: &ScoreMatrix<'_>, targets: &TargetMatrix<'_>) -> Result<()> {
        check_same_shape(scores, targets)?;
        if scores.n_labels() != self.n_labels {
            return Err(MetricsError::ShapeMismatch {
                what: "streaming batch".into(),
                expected: format!("{} labels", self.n_labels),
                got: format!("{} labels", scores.n_labels()),
            });
        }
        let l = self.n_labels.max(1);
        let rows = scores
            .as_slice()
            .chunks_exact(l)
            .zip(targets.as_slice().chunks_exact(l));
        match &mut self.store {
            Store::Exact { pos, neg } => {
                for (srow, trow) in rows {
                    for (j, (&s, &t)) in srow.iter().zip(trow).enumerate() {
                        if t == 1 {
                            pos[j].push(f32_key(s));
                        } else {
                            neg[j].push(f32_key(s));
                        }
                    }
                }
            }
            Store::Binned { config, pos, neg } => {
                let nb = config.n_bins;
                for (srow, trow) in rows {
                    for (j, (&s, &t)) in srow.iter().zip(trow).enumerate() {
                        let idx = j * nb + bin_of(s, config);
                        if t == 1 {
                            pos[idx] += 1;
                        } else {
                            neg[idx] += 1;
                        }
                    }
                }
            }
        }
        self.n_samples += scores.n_samples();
        Ok(())
    }

    /// Computes ROC-AUC and AP over everything pushed.
    pub fn finish(self) -> StreamingMetrics {
        let n_samples = self.n_samples;
        match self.store {
            Store::Exact { mut pos, mut neg } => {
                use rayon::prelude::*;
                let per_label: Vec<LabelStats> = pos
                    .par_iter_mut()
                    .zip(neg.par_iter_mut())
                    .map_init(Vec::new, |scratch, (p, n)| {
                        radix_sort_u32(p, scratch);
                        radix_sort_u32(n, scratch);
                        sorted_stats(p, n)
                    })
                    .collect();
                let mut all_pos: Vec<u32> = pos.concat();
                let mut all_neg: Vec<u32> = neg.concat();
                drop((pos, neg));
                rayon::join(
                    || radix_sort_u32(&mut all_pos, &mut Vec::new()),
                    || radix_sort_u32(&mut all_neg, &mut Vec::new()),
                );
                let pooled = sorted_stats(&all_pos, &all_neg);
                StreamingMetrics {
                    metrics: RankingMetrics::from_stats(&per_label, &pooled),
                    n_samples,
                    error_bound: None,
                }
            }
            Store::Binned { config, pos, neg } => {
                binned_metrics(self.n_labels, config.n_bins, &pos, &neg, n_samples)
            }
        }
    }
}

/// Bin index of a score: equal-width bins, out-of-range values clamped to the end bins.
fn bin_of(s: f32, config: &BinnedConfig) -> usize {
    let x = (f64::from(s) - f64::from(config.lower))
        / (f64::from(config.upper) - f64::from(config.lower));
    let b = (x * config.n_bins as f64).floor();
    // NaN cannot reach here (ScoreMatrix rejects it); infinities clamp.
    b.clamp(0.0, (config.n_bins - 1) as f64) as usize
}

fn histogram_groups<'a>(pos: &'a [u64], neg: &'a [u64]) -> impl Iterator<Item = Group> + 'a {
    (0..pos.len())
        .rev()
        .filter(move |&b| pos[b] + neg[b] > 0)
        .map(move |b| Group {
            key: b as u32,
            pos: pos[b],
            neg: neg[b],
        })
}

/// Error bounds of one histogram (see the module docs).
fn histogram_bounds(pos: &[u64], neg: &[u64]) -> (Option<f64>, Option<f64>) {
    let n_pos: u64 = pos.iter().sum();
    let n_neg: u64 = neg.iter().sum();
    let mut same_bin_pairs = 0u128;
    let mut ap_bound = 0.0f64;
    let (mut tp0, mut d0) = (0u64, 0u64);
    for g in histogram_groups(pos, neg) {
        same_bin_pairs += u128::from(g.pos) * u128::from(g.neg);
        if g.pos > 0 {
            let end = (tp0 + g.pos) as f64 / (d0 + g.pos + g.neg) as f64;
            let hi = (tp0 + g.pos) as f64 / (d0 + g.pos) as f64;
            let lo = (tp0 + 1) as f64 / (d0 + g.neg + 1) as f64;
            ap_bound += g.pos as f64 * (hi - end).max(end - lo).max(0.0);
        }
        tp0 += g.pos;
        d0 += g.pos + g.neg;
    }
    let auc = (n_pos > 0 && n_neg > 0)
        .then(|| same_bin_pairs as f64 / (2.0 * n_pos as f64 * n_neg as f64));
    let ap = (n_pos > 0).then(|| ap_bound / n_pos as f64);
    (auc, ap)
}

fn binned_metrics(
    n_labels: usize,
    n_bins: usize,
    pos: &[u64],
    neg: &[u64],
    n_samples: usize,
) -> StreamingMetrics {
    let mut per_label = Vec::with_capacity(n_labels);
    let (mut auc_bounds, mut ap_bounds) = (Vec::new(), Vec::new());
    let mut pooled_pos = vec![0u64; n_bins];
    let mut pooled_neg = vec![0u64; n_bins];
    for j in 0..n_labels {
        let p = &pos[j * n_bins..(j + 1) * n_bins];
        let n = &neg[j * n_bins..(j + 1) * n_bins];
        per_label.push(label_stats(
            histogram_groups(p, n),
            p.iter().sum(),
            n.iter().sum(),
        ));
        let (a, b) = histogram_bounds(p, n);
        auc_bounds.push(a);
        ap_bounds.push(b);
        pooled_pos.iter_mut().zip(p).for_each(|(acc, &c)| *acc += c);
        pooled_neg.iter_mut().zip(n).for_each(|(acc, &c)| *acc += c);
    }
    let pooled = label_stats(
        histogram_groups(&pooled_pos, &pooled_neg),
        pooled_pos.iter().sum(),
        pooled_neg.iter().sum(),
    );
    let (auc_micro, ap_micro) = histogram_bounds(&pooled_pos, &pooled_neg);
    StreamingMetrics {
        metrics: RankingMetrics::from_stats(&per_label, &pooled),
        n_samples,
        error_bound: Some(ErrorBound {
            roc_auc_macro: crate::ranking::mean_defined(&auc_bounds),
            average_precision_macro: crate::ranking::mean_defined(&ap_bounds),
            roc_auc_per_label: auc_bounds,
            average_precision_per_label: ap_bounds,
            roc_auc_micro: auc_micro,
            average_precision_micro: ap_micro,
        }),
    }
}
