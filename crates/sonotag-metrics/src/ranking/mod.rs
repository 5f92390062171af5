//! Ranking metrics: ROC-AUC, average precision, their curves, and the sort they share.
//!
//! Every metric here is a walk over the *distinct* score values of one label, from the highest
//! to the lowest, with the number of positives and negatives at each value (a `Group`). Tied
//! scores form one group, i.e. one threshold, as in scikit-learn. The walk is fed either by two
//! radix-sorted key arrays (exact) or by a histogram (the binned streaming mode).

mod averages;
mod curves;

pub(crate) use averages::mean_defined;
pub use averages::{
    AveragePrecision, LabelRanking, RankingMetrics, RocAuc, average_precision, ranking_metrics,
    ranking_per_label, roc_auc,
};
pub use curves::{PrCurve, RocCurve, precision_recall_curve, roc_curve};

use rayon::prelude::*;

use crate::error::Result;
use crate::matrix::{ScoreMatrix, TargetMatrix, check_same_shape};
use crate::sort::{f32_key, radix_sort_slice, radix_sort_u32};

/// One distinct threshold: how many positives and negatives share this score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Group {
    /// Order key of the score ([`crate::sort::f32_key`]) or bin index.
    pub key: u32,
    pub pos: u64,
    pub neg: u64,
}

/// Iterates the groups of two ascending key arrays from the highest key down.
pub(crate) struct SortedGroups<'a> {
    pos: &'a [u32],
    neg: &'a [u32],
}

impl<'a> SortedGroups<'a> {
    pub(crate) fn new(pos: &'a [u32], neg: &'a [u32]) -> Self {
        Self { pos, neg }
    }
}

impl Iterator for SortedGroups<'_> {
    type Item = Group;

    fn next(&mut self) -> Option<Group> {
        let key = match (self.pos.last(), self.neg.last()) {
            (None, None) => return None,
            (Some(&p), None) => p,
            (None, Some(&n)) => n,
            (Some(&p), Some(&n)) => p.max(n),
        };
        let pos = take_equal_tail(&mut self.pos, key);
        let neg = take_equal_tail(&mut self.neg, key);
        Some(Group { key, pos, neg })
    }
}

fn take_equal_tail(keys: &mut &[u32], key: u32) -> u64 {
    let mut end = keys.len();
    while end > 0 && keys[end - 1] == key {
        end -= 1;
    }
    let count = (keys.len() - end) as u64;
    *keys = &keys[..end];
    count
}

/// ROC-AUC and AP of one label, computed in one pass over its groups.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct LabelStats {
    pub n_pos: u64,
    pub n_neg: u64,
    /// `None` when the label lacks positives or negatives.
    pub auc: Option<f64>,
    /// `None` when the label has no positive.
    pub ap: Option<f64>,
}

/// Walks groups (highest score first) accumulating the trapezoidal ROC area and the step AP.
///
/// ROC area: twice the area is `sum dFP * (TP_prev + TP)`, an exact integer, so the AUC equals
/// scikit-learn's trapezoid (a tie between a positive and a negative counts 1/2) up to one
/// rounding. AP: `sum dTP/P * TP/(TP+FP)` over distinct thresholds (scikit-learn's definition,
/// no interpolation).
pub(crate) fn label_stats(
    groups: impl Iterator<Item = Group>,
    n_pos: u64,
    n_neg: u64,
) -> LabelStats {
    let mut tp = 0u64;
    let mut fp = 0u64;
    let mut area2: u128 = 0;
    let mut ap = 0.0f64;
    for g in groups {
        let tp_new = tp + g.pos;
        let fp_new = fp + g.neg;
        area2 += u128::from(g.neg) * u128::from(tp + tp_new);
        if g.pos > 0 {
            ap += g.pos as f64 * (tp_new as f64 / (tp_new + fp_new) as f64);
        }
        tp = tp_new;
        fp = fp_new;
    }
    let auc = (n_pos > 0 && n_neg > 0).then(|| area2 as f64 / (2.0 * n_pos as f64 * n_neg as f64));
    let ap = (n_pos > 0).then(|| ap / n_pos as f64);
    LabelStats {
        n_pos,
        n_neg,
        auc,
        ap,
    }
}

/// [`label_stats`] specialised to two ascending key arrays: the same integer ROC area and the
/// same AP, but the negatives between two positive thresholds are skipped in a tight loop
/// (they all add `2 TP` per negative to the doubled area), which avoids a hard-to-predict
/// branch per sample.
pub(crate) fn sorted_stats(pos: &[u32], neg: &[u32]) -> LabelStats {
    let (n_pos, n_neg) = (pos.len() as u64, neg.len() as u64);
    let (mut ip, mut ineg) = (pos.len(), neg.len());
    let (mut tp, mut fp) = (0u64, 0u64);
    let mut area2: u128 = 0;
    let mut ap = 0.0f64;
    while ip > 0 {
        let key = pos[ip - 1];
        let above = ineg;
        while ineg > 0 && neg[ineg - 1] > key {
            ineg -= 1;
        }
        let d_above = (above - ineg) as u64;
        area2 += u128::from(d_above) * u128::from(2 * tp);
        fp += d_above;
        let mut d_pos = 0u64;
        while ip > 0 && pos[ip - 1] == key {
            ip -= 1;
            d_pos += 1;
        }
        let mut d_tied = 0u64;
        while ineg > 0 && neg[ineg - 1] == key {
            ineg -= 1;
            d_tied += 1;
        }
        // A tie between a positive and a negative counts 1/2: trapezoid over the tied group.
        area2 += u128::from(d_tied) * u128::from(2 * tp + d_pos);
        tp += d_pos;
        fp += d_tied;
        ap += d_pos as f64 * (tp as f64 / (tp + fp) as f64);
    }
    // Negatives below every positive.
    area2 += u128::from(ineg as u64) * u128::from(2 * tp);
    let auc = (n_pos > 0 && n_neg > 0).then(|| area2 as f64 / (2.0 * n_pos as f64 * n_neg as f64));
    let ap = (n_pos > 0).then(|| ap / n_pos as f64);
    LabelStats {
        n_pos,
        n_neg,
        auc,
        ap,
    }
}

/// Reusable buffers holding one label's keys, split by target and sorted ascending.
///
/// The key arrays keep their full length between uses (only `n_pos`/`n_neg` are reset), so
/// filling them needs no capacity checks and no branch on the target.
#[derive(Default)]
pub(crate) struct LabelBuffers {
    pos: Vec<u32>,
    neg: Vec<u32>,
    n_pos: usize,
    n_neg: usize,
}

impl LabelBuffers {
    /// The sorted keys of the positives.
    pub(crate) fn pos(&self) -> &[u32] {
        &self.pos[..self.n_pos]
    }

    /// The sorted keys of the negatives.
    pub(crate) fn neg(&self) -> &[u32] {
        &self.neg[..self.n_neg]
    }

    /// Makes room for `n` keys and resets the counts.
    fn reset(&mut self, n: usize) {
        for v in [&mut self.pos, &mut self.neg] {
            if v.len() < n {
                v.resize(n, 0);
            }
        }
        self.n_pos = 0;
        self.n_neg = 0;
    }

    #[inline]
    fn push(&mut self, key: u32, positive: bool) {
        // Write to both arrays and advance one index: no unpredictable branch on the target.
        self.pos[self.n_pos] = key;
        self.neg[self.n_neg] = key;
        self.n_pos += usize::from(positive);
        self.n_neg += usize::from(!positive);
    }

    fn sort(&mut self, scratch: &mut Vec<u32>) {
        let n = self.n_pos.max(self.n_neg);
        if scratch.len() < n {
            scratch.resize(n, 0);
        }
        radix_sort_slice(&mut self.pos[..self.n_pos], scratch);
        radix_sort_slice(&mut self.neg[..self.n_neg], scratch);
    }

    pub(crate) fn groups(&self) -> SortedGroups<'_> {
        SortedGroups::new(self.pos(), self.neg())
    }
}

/// Loads the keys of the labels in `labels` into `bufs` (one buffer per label) and sorts them,
/// reading the row-major matrix once for the whole group: consecutive labels share cache lines,
/// so a group costs about one pass over memory instead of one pass per label.
pub(crate) fn load_group(
    scores: &ScoreMatrix<'_>,
    targets: &TargetMatrix<'_>,
    labels: std::ops::Range<usize>,
    bufs: &mut Vec<LabelBuffers>,
    scratch: &mut Vec<u32>,
) {
    let width = labels.len();
    if bufs.len() < width {
        bufs.resize_with(width, LabelBuffers::default);
    }
    for b in bufs.iter_mut().take(width) {
        b.reset(scores.n_samples());
    }
    let l = scores.n_labels();
    let rows = scores
        .as_slice()
        .chunks_exact(l)
        .zip(targets.as_slice().chunks_exact(l));
    for (srow, trow) in rows {
        let part = srow[labels.clone()].iter().zip(&trow[labels.clone()]);
        for (b, (&s, &t)) in bufs.iter_mut().zip(part) {
            b.push(f32_key(s), t == 1);
        }
    }
    for b in bufs.iter_mut().take(width) {
        b.sort(scratch);
    }
}

/// Runs `f` on every label's sorted keys, in label order, in parallel over groups of labels.
pub(crate) fn map_labels<T: Send>(
    scores: &ScoreMatrix<'_>,
    targets: &TargetMatrix<'_>,
    f: impl Fn(&LabelBuffers) -> T + Sync,
) -> Result<Vec<T>> {
    check_same_shape(scores, targets)?;
    let l = scores.n_labels();
    // Few passes over the matrix (groups of up to 16 labels), but at least two groups per thread
    // to balance the load, and at most ~128 MiB of keys per group (8 bytes per sample and label).
    let by_memory = ((128usize << 20) / (8 * scores.n_samples().max(1))).max(1);
    let n_groups = (2 * rayon::current_num_threads())
        .max(l.div_ceil(16))
        .max(l.div_ceil(by_memory))
        .min(l.max(1));
    let group = l.div_ceil(n_groups).max(1);
    let ranges: Vec<std::ops::Range<usize>> = (0..l)
        .step_by(group)
        .map(|s| s..(s + group).min(l))
        .collect();
    Ok(ranges
        .into_par_iter()
        .map_init(
            || (Vec::new(), Vec::new()),
            |(bufs, scratch), range| {
                let width = range.len();
                load_group(scores, targets, range, bufs, scratch);
                bufs[..width].iter().map(&f).collect::<Vec<T>>()
            },
        )
        .flatten_iter()
        .collect())
}

/// Per-label statistics for every label, in parallel over labels.
pub(crate) fn per_label_stats(
    scores: &ScoreMatrix<'_>,
    targets: &TargetMatrix<'_>,
) -> Result<Vec<LabelStats>> {
    map_labels(scores, targets, |buf| sorted_stats(buf.pos(), buf.neg()))
}

/// Statistics of all (sample, label) pairs pooled (the "micro" average).
pub(crate) fn pooled_stats(
    scores: &ScoreMatrix<'_>,
    targets: &TargetMatrix<'_>,
) -> Result<LabelStats> {
    check_same_shape(scores, targets)?;
    let n_pos = targets
        .as_slice()
        .iter()
        .map(|&t| usize::from(t))
        .sum::<usize>();
    let mut pos = Vec::with_capacity(n_pos);
    let mut neg = Vec::with_capacity(targets.as_slice().len() - n_pos);
    for (&s, &t) in scores.as_slice().iter().zip(targets.as_slice()) {
        if t == 1 {
            pos.push(f32_key(s));
        } else {
            neg.push(f32_key(s));
        }
    }
    rayon::join(
        || radix_sort_u32(&mut pos, &mut Vec::new()),
        || radix_sort_u32(&mut neg, &mut Vec::new()),
    );
    Ok(sorted_stats(&pos, &neg))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(scores: &[f32], targets: &[u8]) -> LabelStats {
        let s = ScoreMatrix::new(scores, scores.len(), 1).unwrap();
        let t = TargetMatrix::new(targets, targets.len(), 1).unwrap();
        per_label_stats(&s, &t).unwrap()[0]
    }

    #[test]
    fn hand_computed_auc_and_ap() {
        // sklearn: roc_auc_score([0,0,1,1],[0.1,0.4,0.35,0.8]) = 0.75,
        // average_precision_score(...) = 0.8333333333333333.
        let st = stats(&[0.1, 0.4, 0.35, 0.8], &[0, 0, 1, 1]);
        assert_eq!(st.auc, Some(0.75));
        assert!((st.ap.unwrap() - 0.8333333333333333).abs() < 1e-15);
    }

    #[test]
    fn all_tied_is_half_and_base_rate() {
        let st = stats(&[0.5; 4], &[0, 1, 0, 0]);
        assert_eq!(st.auc, Some(0.5));
        assert_eq!(st.ap, Some(0.25));
    }

    #[test]
    fn single_class_is_undefined() {
        let st = stats(&[0.1, 0.2], &[0, 0]);
        assert_eq!((st.auc, st.ap), (None, None));
        let st = stats(&[0.1, 0.2], &[1, 1]);
        assert_eq!((st.auc, st.ap), (None, Some(1.0)));
    }
}
