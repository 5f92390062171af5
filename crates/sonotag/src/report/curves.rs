//! Plot-ready per-label ROC and precision-recall curves, thinned to what a plot can show.

use crate::metrics::{MetricsError, MetricsReport, precision_recall_curve, roc_curve};

use super::ReportInput;

/// One label's curve, in plot coordinates.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct LabelCurve {
    /// Column of the label (keeps its colour the same in every plot).
    pub index: usize,
    /// Label name.
    pub name: String,
    /// `(x, y)` points in drawing order.
    pub points: Vec<(f64, f64)>,
    /// The summary shown in the legend (ROC-AUC or AP).
    pub value: Option<f64>,
}

/// A label left out of a plot, and why.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Skipped {
    /// Label name.
    pub name: String,
    /// Short reason, e.g. "no positives".
    pub reason: &'static str,
}

/// The curves of one plot.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct CurveSet {
    pub curves: Vec<LabelCurve>,
    pub skipped: Vec<Skipped>,
}

/// Grid resolution of thinning: a 1000 x 1000 grid is finer than any plot we draw.
const CELLS: f64 = 1000.0;

/// The calibrated scores and targets of one label.
fn column(input: &ReportInput<'_>, label: usize) -> (Vec<f32>, Vec<u8>) {
    let l = input.labels.len();
    let scores = input
        .scores_calibrated
        .iter()
        .skip(label)
        .step_by(l)
        .copied()
        .collect();
    let targets = input
        .targets
        .iter()
        .skip(label)
        .step_by(l)
        .copied()
        .collect();
    (scores, targets)
}

fn class_balance(targets: &[u8]) -> (usize, usize) {
    let pos = targets.iter().filter(|&&t| t == 1).count();
    (pos, targets.len() - pos)
}

/// ROC curves of the calibrated scores; labels with a single class are skipped.
pub(super) fn roc_curves(
    input: &ReportInput<'_>,
    report: &MetricsReport,
) -> Result<CurveSet, MetricsError> {
    let mut set = CurveSet::default();
    for (index, name) in input.labels.iter().enumerate() {
        let (scores, targets) = column(input, index);
        match class_balance(&targets) {
            (0, _) => set.skipped.push(skipped(name, "no positives")),
            (_, 0) => set.skipped.push(skipped(name, "no negatives")),
            _ => {
                let c = roc_curve(&scores, &targets, true)?;
                let points = c.fpr.iter().copied().zip(c.tpr.iter().copied()).collect();
                set.curves.push(LabelCurve {
                    index,
                    name: name.clone(),
                    points: thin(points),
                    value: report.roc_auc.per_label.0.get(index).and_then(|v| v.1),
                });
            }
        }
    }
    Ok(set)
}

/// Precision-recall curves of the calibrated scores, drawn as steps (the area under the steps is
/// the average precision); labels without positives are skipped.
pub(super) fn pr_curves(
    input: &ReportInput<'_>,
    report: &MetricsReport,
) -> Result<CurveSet, MetricsError> {
    let mut set = CurveSet::default();
    for (index, name) in input.labels.iter().enumerate() {
        let (scores, targets) = column(input, index);
        if class_balance(&targets).0 == 0 {
            set.skipped.push(skipped(name, "no positives"));
            continue;
        }
        let c = precision_recall_curve(&scores, &targets)?;
        set.curves.push(LabelCurve {
            index,
            name: name.clone(),
            points: thin(steps(&c.recall, &c.precision)),
            value: report
                .average_precision
                .per_label
                .0
                .get(index)
                .and_then(|v| v.1),
        });
    }
    Ok(set)
}

fn skipped(name: &str, reason: &'static str) -> Skipped {
    Skipped {
        name: name.to_string(),
        reason,
    }
}

/// Step path through scikit-learn's PR points (recall decreasing): precision `p[i]` holds over
/// the recall interval `(r[i+1], r[i]]`, as in `PrecisionRecallDisplay` ("steps-post").
fn steps(recall: &[f64], precision: &[f64]) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(2 * recall.len());
    for i in 0..recall.len() {
        out.push((recall[i], precision[i]));
        if let Some(&next) = recall.get(i + 1) {
            out.push((next, precision[i]));
        }
    }
    out
}

/// Drops points that fall in the same grid cell as the last kept point (keeping the last point),
/// so a curve over a large evaluation set stays small in SVG without visible change.
fn thin(points: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    let cell = |p: (f64, f64)| ((p.0 * CELLS).round() as i64, (p.1 * CELLS).round() as i64);
    let Some(&last) = points.last() else {
        return points;
    };
    let mut out: Vec<(f64, f64)> = Vec::new();
    for p in points {
        if out.last().is_none_or(|&q| cell(q) != cell(p)) {
            out.push(p);
        }
    }
    if out.last() != Some(&last) {
        out.push(last);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_follow_sklearn_steps_post() {
        // sklearn: precision [0.5, 1, 1], recall [1, 0.5, 0] for scores [0.1, 0.9], targets [0, 1]...
        let s = steps(&[1.0, 0.5, 0.0], &[0.5, 1.0, 1.0]);
        assert_eq!(
            s,
            vec![(1.0, 0.5), (0.5, 0.5), (0.5, 1.0), (0.0, 1.0), (0.0, 1.0)]
        );
    }

    #[test]
    fn thinning_keeps_ends_and_shape() {
        let dense: Vec<(f64, f64)> = (0..=100_000)
            .map(|i| (i as f64 / 1e5, (i as f64 / 1e5).sqrt()))
            .collect();
        let t = thin(dense.clone());
        assert!(t.len() < 2100, "{}", t.len());
        assert_eq!(t.first(), dense.first());
        assert_eq!(t.last(), dense.last());
        // A corner survives thinning.
        let corner = thin(vec![(0.0, 0.0), (0.0, 1.0), (1.0, 1.0)]);
        assert_eq!(corner.len(), 3);
    }
}
