//! Borrowed, validated views of score and target matrices ([n_samples, n_labels], row-major).

use crate::error::{MetricsError, Result};

/// A validated view of scores: `n_samples x n_labels`, row-major (sample-major), no NaN.
///
/// Scores may be probabilities or logits: ranking metrics only need their order. Infinite
/// values are allowed (they rank first or last).
///
/// ```
/// use sonotag_metrics::ScoreMatrix;
/// let s = ScoreMatrix::new(&[0.1, 0.9, 0.4, 0.3], 2, 2).unwrap();
/// assert_eq!(s.get(1, 0), 0.4);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ScoreMatrix<'a> {
    data: &'a [f32],
    n_samples: usize,
    n_labels: usize,
}

impl<'a> ScoreMatrix<'a> {
    /// Wraps `data`; fails if its length is not `n_samples * n_labels` or a value is NaN.
    pub fn new(data: &'a [f32], n_samples: usize, n_labels: usize) -> Result<Self> {
        check_len("scores", data.len(), n_samples, n_labels)?;
        if let Some(i) = data.iter().position(|v| v.is_nan()) {
            return Err(MetricsError::NanScore {
                row: i / n_labels,
                label: i % n_labels,
            });
        }
        Ok(Self {
            data,
            n_samples,
            n_labels,
        })
    }

    /// Like [`ScoreMatrix::new`] but also requires every value to lie in [0, 1].
    pub fn probabilities(data: &'a [f32], n_samples: usize, n_labels: usize) -> Result<Self> {
        let m = Self::new(data, n_samples, n_labels)?;
        if let Some(i) = data.iter().position(|v| !(0.0..=1.0).contains(v)) {
            return Err(MetricsError::ProbabilityOutOfRange {
                row: i / n_labels,
                label: i % n_labels,
                value: f64::from(data[i]),
            });
        }
        Ok(m)
    }

    /// Number of samples (rows).
    pub fn n_samples(&self) -> usize {
        self.n_samples
    }

    /// Number of labels (columns).
    pub fn n_labels(&self) -> usize {
        self.n_labels
    }

    /// The flat row-major buffer.
    pub fn as_slice(&self) -> &'a [f32] {
        self.data
    }

    /// The score of sample `row` for label `label`.
    ///
    /// # Panics
    /// If `row` or `label` is out of range.
    pub fn get(&self, row: usize, label: usize) -> f32 {
        self.data[row * self.n_labels + label]
    }

    /// Iterates over one label's column.
    pub fn column(&self, label: usize) -> impl Iterator<Item = f32> + '_ {
        self.data
            .iter()
            .skip(label)
            .step_by(self.n_labels.max(1))
            .copied()
    }
}

/// A validated view of 0/1 targets: `n_samples x n_labels`, row-major.
///
/// ```
/// use sonotag_metrics::TargetMatrix;
/// let t = TargetMatrix::new(&[0, 1, 1, 0], 2, 2).unwrap();
/// assert!(t.is_positive(0, 1));
/// assert!(TargetMatrix::new(&[0, 2], 1, 2).is_err());
/// ```
#[derive(Debug, Clone, Copy)]
pub struct TargetMatrix<'a> {
    data: &'a [u8],
    n_samples: usize,
    n_labels: usize,
}

impl<'a> TargetMatrix<'a> {
    /// Wraps `data`; fails if its length is not `n_samples * n_labels` or a value is not 0 or 1.
    pub fn new(data: &'a [u8], n_samples: usize, n_labels: usize) -> Result<Self> {
        check_len("targets", data.len(), n_samples, n_labels)?;
        if let Some(i) = data.iter().position(|&v| v > 1) {
            return Err(MetricsError::InvalidTarget {
                row: i / n_labels,
                label: i % n_labels,
                value: f64::from(data[i]),
            });
        }
        Ok(Self {
            data,
            n_samples,
            n_labels,
        })
    }

    /// Number of samples (rows).
    pub fn n_samples(&self) -> usize {
        self.n_samples
    }

    /// Number of labels (columns).
    pub fn n_labels(&self) -> usize {
        self.n_labels
    }

    /// The flat row-major buffer of 0/1 values.
    pub fn as_slice(&self) -> &'a [u8] {
        self.data
    }

    /// Whether sample `row` is positive for `label`.
    ///
    /// # Panics
    /// If `row` or `label` is out of range.
    pub fn is_positive(&self, row: usize, label: usize) -> bool {
        self.data[row * self.n_labels + label] == 1
    }

    /// Number of positives per label.
    pub fn positives_per_label(&self) -> Vec<usize> {
        let mut counts = vec![0usize; self.n_labels];
        for row in self.data.chunks_exact(self.n_labels.max(1)) {
            for (c, &v) in counts.iter_mut().zip(row) {
                *c += usize::from(v);
            }
        }
        counts
    }
}

/// Converts float targets (exactly 0.0 or 1.0) to the `u8` form [`TargetMatrix`] borrows.
///
/// `n_labels` is only used to name the row and label of a bad value.
///
/// ```
/// let t = sonotag_metrics::targets_from_f32(&[0.0, 1.0, 1.0], 3).unwrap();
/// assert_eq!(t, vec![0, 1, 1]);
/// assert!(sonotag_metrics::targets_from_f32(&[0.5], 1).is_err());
/// ```
pub fn targets_from_f32(values: &[f32], n_labels: usize) -> Result<Vec<u8>> {
    let n_labels = n_labels.max(1);
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            if v == 0.0 {
                Ok(0)
            } else if v == 1.0 {
                Ok(1)
            } else {
                Err(MetricsError::InvalidTarget {
                    row: i / n_labels,
                    label: i % n_labels,
                    value: f64::from(v),
                })
            }
        })
        .collect()
}

/// Requires `scores` and `targets` to have the same shape.
pub(crate) fn check_same_shape(scores: &ScoreMatrix<'_>, targets: &TargetMatrix<'_>) -> Result<()> {
    if scores.n_samples != targets.n_samples || scores.n_labels != targets.n_labels {
        return Err(MetricsError::ShapeMismatch {
            what: "scores vs targets".into(),
            expected: format!("{} x {}", scores.n_samples, scores.n_labels),
            got: format!("{} x {}", targets.n_samples, targets.n_labels),
        });
    }
    Ok(())
}

fn check_len(what: &str, len: usize, n_samples: usize, n_labels: usize) -> Result<()> {
    let expected = n_samples.checked_mul(n_labels);
    if expected != Some(len) {
        return Err(MetricsError::ShapeMismatch {
            what: format!("{what} buffer"),
            expected: format!("{n_samples} x {n_labels} values"),
            got: format!("{len} values"),
        });
    }
    Ok(())
}
