//! Target batches, typed per task so that class indices cannot be fed to a sigmoid head or
//! independent 0/1 labels to a softmax head.

use burn::tensor::{Device, Tensor, TensorData};

use crate::error::NnError;

/// A batch of targets stored as a `[batch, width]` float matrix.
///
/// Every implementation keeps an invariant (entries in `[0, 1]`; rows summing to one for
/// classes) that convex combinations preserve, which is what lets mixup mix any of them.
pub trait Targets: Clone + core::fmt::Debug + Sized {
    /// The `[batch, width]` matrix.
    fn matrix(&self) -> Tensor<2>;

    /// Rebuilds targets from a matrix produced by a convex combination of valid targets of this
    /// type (mixup). Not a validating constructor: use the type's own constructors for data.
    fn from_convex_combination(matrix: Tensor<2>) -> Self;

    /// Number of examples.
    fn batch_size(&self) -> usize {
        self.matrix().dims()[0]
    }
}

/// Targets of a sigmoid head (independent binary decisions); see
/// [`crate::loss::BceWithLogits`].
pub trait SigmoidTargets: Targets {}

fn check_unit_interval(values: &[f32], what: &'static str, width: usize) -> Result<(), NnError> {
    if let Some(i) = values
        .iter()
        .position(|v| !(v.is_finite() && (0.0..=1.0).contains(v)))
    {
        return Err(NnError::InvalidLabels {
            what,
            reason: format!(
                "value at row {}, column {} is {}; targets must be in [0, 1]",
                i / width.max(1),
                i % width.max(1),
                values[i]
            ),
        });
    }
    Ok(())
}

fn rows_of(len: usize, width: usize, what: &'static str) -> Result<usize, NnError> {
    if width == 0 || len == 0 || !len.is_multiple_of(width) {
        return Err(NnError::InvalidLabels {
            what,
            reason: format!(
                "{len} values cannot form rows of {width}; give batch x width values, row-major"
            ),
        });
    }
    Ok(len / width)
}

/// Multilabel targets: `[batch, n_labels]`, each entry in `[0, 1]` (0/1, or soft after mixup or
/// label smoothing).
#[derive(Clone, Debug)]
pub struct MultiLabelTargets {
    matrix: Tensor<2>,
}

impl MultiLabelTargets {
    /// Targets from row-major values (`batch x n_labels`), checked to lie in `[0, 1]`.
    ///
    /// ```
    /// use burn::tensor::Device;
    /// use sonotag_nn::{MultiLabelTargets, Targets};
    ///
    /// let device = Device::flex();
    /// let y = MultiLabelTargets::from_rows(&[1.0, 0.0, 0.0, 1.0], 2, &device).unwrap();
    /// assert_eq!(y.matrix().dims(), [2, 2]);
    /// assert!(MultiLabelTargets::from_rows(&[2.0, 0.0], 2, &device).is_err());
    /// ```
    pub fn from_rows(values: &[f32], n_labels: usize, device: &Device) -> Result<Self, NnError> {
        let rows = rows_of(values.len(), n_labels, "targets")?;
        check_unit_interval(values, "targets", n_labels)?;
        Ok(Self {
            matrix: Tensor::from_data(TensorData::new(values.to_vec(), [rows, n_labels]), device),
        })
    }

    /// Wraps a tensor the caller has already checked (entries in `[0, 1]`).
    pub fn from_tensor_unchecked(matrix: Tensor<2>) -> Self {
        Self { matrix }
    }
}

impl Targets for MultiLabelTargets {
    fn matrix(&self) -> Tensor<2> {
        self.matrix.clone()
    }
    fn from_convex_combination(matrix: Tensor<2>) -> Self {
        Self { matrix }
    }
}
impl SigmoidTargets for MultiLabelTargets {}

/// Binary targets: `[batch, 1]`, the probability of the positive class (0/1 or soft).
#[derive(Clone, Debug)]
pub struct BinaryTargets {
    matrix: Tensor<2>,
}

impl BinaryTargets {
    /// One value in `[0, 1]` per example.
    pub fn from_values(values: &[f32], device: &Device) -> Result<Self, NnError> {
        let rows = rows_of(values.len(), 1, "targets")?;
        check_unit_interval(values, "targets", 1)?;
        Ok(Self {
            matrix: Tensor::from_data(TensorData::new(values.to_vec(), [rows, 1]), device),
        })
    }
}

impl Targets for BinaryTargets {
    fn matrix(&self) -> Tensor<2> {
        self.matrix.clone()
    }
    fn from_convex_combination(matrix: Tensor<2>) -> Self {
        Self { matrix }
    }
}
impl SigmoidTargets for BinaryTargets {}

/// Single-label (multiclass) targets: `[batch, n_classes]` rows that are probability
/// distributions (one-hot from class indices, or mixed by mixup).
#[derive(Clone, Debug)]
pub struct ClassTargets {
    matrix: Tensor<2>,
}

impl ClassTargets {
    /// One-hot targets from class indices.
    ///
    /// ```
    /// use burn::tensor::Device;
    /// use sonotag_nn::{ClassTargets, Targets};
    ///
    /// let device = Device::flex();
    /// let y = ClassTargets::from_indices(&[2, 0], 3, &device).unwrap();
    /// let rows = y.matrix().into_data().try_to_vec::<f32>().unwrap();
    /// assert_eq!(rows, vec![0.0, 0.0, 1.0, 1.0, 0.0, 0.0]);
    /// assert!(ClassTargets::from_indices(&[3], 3, &device).is_err());
    /// ```
    pub fn from_indices(
        classes: &[usize],
        n_classes: usize,
        device: &Device,
    ) -> Result<Self, NnError> {
        if let Some(i) = classes.iter().position(|&c| c >= n_classes) {
            return Err(NnError::InvalidLabels {
                what: "targets",
                reason: format!(
                    "class index {} at row {i} is out of range for {n_classes} classes",
                    classes[i]
                ),
            });
        }
        rows_of(classes.len() * n_classes, n_classes, "targets")?;
        let mut one_hot = vec![0f32; classes.len() * n_classes];
        for (row, &c) in classes.iter().enumerate() {
            one_hot[row * n_classes + c] = 1.0;
        }
        Ok(Self {
            matrix: Tensor::from_data(TensorData::new(one_hot, [classes.len(), n_classes]), device),
        })
    }

    /// Class probabilities, row-major `batch x n_classes`; each row must be in `[0, 1]` and sum
    /// to one (within 1e-4).
    pub fn from_probabilities(
        values: &[f32],
        n_classes: usize,
        device: &Device,
    ) -> Result<Self, NnError> {
        let rows = rows_of(values.len(), n_classes, "targets")?;
        check_unit_interval(values, "targets", n_classes)?;
        for (r, row) in values.chunks(n_classes).enumerate() {
            let sum: f32 = row.iter().sum();
            if (sum - 1.0).abs() > 1e-4 {
                return Err(NnError::InvalidLabels {
                    what: "targets",
                    reason: format!("row {r} sums to {sum}; class probabilities must sum to 1"),
                });
            }
        }
        Ok(Self {
            matrix: Tensor::from_data(TensorData::new(values.to_vec(), [rows, n_classes]), device),
        })
    }
}

impl Targets for ClassTargets {
    fn matrix(&self) -> Tensor<2> {
        self.matrix.clone()
    }
    fn from_convex_combination(matrix: Tensor<2>) -> Self {
        Self { matrix }
    }
}
