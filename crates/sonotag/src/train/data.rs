//! The data of a run: clip targets, the train/validation split, and the batches an epoch
//! draws from the training segments.

use rand::distr::Distribution;
use rand::distr::weighted::WeightedIndex;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::features::TrainSegments;
use super::plan::Plan;
use crate::config::{TaskKind, TrainConfig};
use crate::dataset::{Clip, ClipAudio, Dataset};
use crate::error::{Error, Result};
use crate::infer::InputShape;
use crate::split::{SplitError, iterative_stratification};

/// `[n_clips][n_labels]` 0/1 targets; a label not in `labels` is an error.
pub(crate) fn targets_of(data: &Dataset, labels: &[String]) -> Result<Vec<f32>> {
    let mut targets = vec![0.0f32; data.len() * labels.len()];
    for (i, clip) in data.clips.iter().enumerate() {
        for label in &clip.labels {
            let j = labels.iter().position(|l| l == label).ok_or_else(|| {
                Error::config(
                    "labels",
                    format!(
                        "clip `{}` has label `{label}`, which is not one of: {}",
                        clip.id,
                        labels.join(", ")
                    ),
                )
            })?;
            targets[i * labels.len() + j] = 1.0;
        }
    }
    Ok(targets)
}

/// Which clips train and which validate, with their targets.
pub(super) struct Split<'a> {
    /// Indices of the training clips in the training data.
    pub train: Vec<usize>,
    /// `[train.len()][n_labels]` 0/1 targets.
    pub train_targets: Vec<f32>,
    /// The validation clips.
    pub val: Vec<&'a Clip>,
    /// `[val.len()][n_labels]` 0/1 targets.
    pub val_targets: Vec<f32>,
}

/// Splits `data`: an explicit validation set, or iterative stratification of the training
/// data. Checks the targets (known labels, one class per clip for multiclass) and the audio.
pub(super) fn split<'a>(
    plan: &Plan,
    data: &'a Dataset,
    validation: Option<&'a Dataset>,
) -> Result<Split<'a>> {
    let n_labels = plan.n_labels();
    let all_targets = targets_of(data, &plan.labels)?;
    if plan.config.task == TaskKind::MultiClass {
        check_one_class_each(data, &plan.labels)?;
        if let Some(v) = validation {
            check_one_class_each(v, &plan.labels)?;
        }
    }
    let (train, val, val_targets): (Vec<usize>, Vec<&Clip>, Vec<f32>) = match validation {
        Some(v) => {
            if v.is_empty() {
                return Err(Error::invalid_data("the validation set", "is empty"));
            }
            let targets = targets_of(v, &plan.labels)?;
            ((0..data.len()).collect(), v.clips.iter().collect(), targets)
        }
        None => {
            let (train, val) = stratify(&all_targets, n_labels, &plan.config)?;
            let targets = rows(&all_targets, &val, n_labels);
            (
                train,
                val.iter().map(|&i| &data.clips[i]).collect(),
                targets,
            )
        }
    };
    // Audio in memory is checked now; a file's audio when it is decoded.
    for clip in train
        .iter()
        .map(|&i| &data.clips[i])
        .chain(val.iter().copied())
    {
        if let ClipAudio::Samples { samples, .. } = &clip.audio {
            Error::check_finite_audio(&clip.id, samples)?;
        }
    }
    Ok(Split {
        train_targets: rows(&all_targets, &train, n_labels),
        train,
        val,
        val_targets,
    })
}

/// Iterative stratification of clips with these targets into (train, validation) indices.
fn stratify(
    targets: &[f32],
    n_labels: usize,
    config: &TrainConfig,
) -> Result<(Vec<usize>, Vec<usize>)> {
    let label_sets: Vec<Vec<usize>> = targets
        .chunks(n_labels)
        .map(|row| (0..n_labels).filter(|&j| row[j] > 0.5).collect())
        .collect();
    iterative_stratification(
        &label_sets,
        n_labels,
        config.validation_fraction,
        config.seed,
    )
    .map_err(|e| match e {
        SplitError::TooFewSamples(n) => Error::invalid_data(
            "the training set",
            format!(
                "has {n} clip(s): holding out a validation split needs at least 2 (or give a \
                 validation set)"
            ),
        ),
        other => Error::config("validation_fraction", other.to_string()),
    })
}

/// The rows `indices` of a `[n][n_labels]` matrix.
fn rows(matrix: &[f32], indices: &[usize], n_labels: usize) -> Vec<f32> {
    indices
        .iter()
        .flat_map(|&i| matrix[i * n_labels..(i + 1) * n_labels].iter().copied())
        .collect()
}

/// A multiclass task needs exactly one label per clip, and at least two classes.
fn check_one_class_each(data: &Dataset, labels: &[String]) -> Result<()> {
    if labels.len() < 2 {
        return Err(Error::config(
            "task",
            format!(
                "multiclass needs at least 2 classes, got {}; a yes/no question is a multilabel \
                 task with one label",
                labels.len()
            ),
        ));
    }
    if let Some(clip) = data.clips.iter().find(|c| c.labels.len() != 1) {
        return Err(Error::config(
            "task",
            format!(
                "multiclass needs exactly one label per clip; clip `{}` has {} ({:?})",
                clip.id,
                clip.labels.len(),
                clip.labels
            ),
        ));
    }
    Ok(())
}

/// The batches of an epoch: the order in which it draws the training segments, and the
/// buffers a batch is read into.
pub(super) struct Batches<'a> {
    train: &'a TrainSegments,
    /// Balanced sampling (draws with replacement); `None` shuffles.
    sampler: Option<WeightedIndex<f64>>,
    order: Vec<usize>,
    batch_size: usize,
    n_labels: usize,
    x: Vec<f32>,
    y: Vec<f32>,
}

impl<'a> Batches<'a> {
    pub fn new(
        train: &'a TrainSegments,
        config: &TrainConfig,
        shape: InputShape,
        n_labels: usize,
    ) -> Result<Self> {
        let sampler = if config.balanced_sampling {
            Some(balanced_sampler(&train.targets, &train.clip_of, n_labels)?)
        } else {
            None
        };
        Ok(Self {
            train,
            sampler,
            order: (0..train.n_segments()).collect(),
            batch_size: config.batch_size,
            n_labels,
            x: Vec::with_capacity(config.batch_size * shape.len()),
            y: Vec::with_capacity(config.batch_size * n_labels),
        })
    }

    /// Batches per epoch.
    pub fn len(&self) -> usize {
        self.train.n_segments().div_ceil(self.batch_size)
    }

    /// Draws an epoch's order of segments from `rng`.
    pub fn shuffle(&mut self, rng: &mut ChaCha8Rng) {
        let n = self.train.n_segments();
        self.order.clear();
        self.order.extend(0..n);
        match &self.sampler {
            Some(weights) => {
                self.order.clear();
                self.order.extend((0..n).map(|_| weights.sample(rng)));
            }
            None => self.order.shuffle(rng),
        }
    }

    /// Batch `b` (0-based) of the epoch's order: normalised features
    /// `[segments][n_mels * n_frames]` and the clip targets `[segments][n_labels]`.
    pub fn read(&mut self, b: usize) -> Result<(&[f32], &[f32])> {
        let start = b * self.batch_size;
        let end = (start + self.batch_size).min(self.order.len());
        self.x.clear();
        self.y.clear();
        let n = self.n_labels;
        for &i in &self.order[start..end] {
            self.train.read_normalized(i, &mut self.x)?;
            let clip = self.train.clip_of[i];
            self.y
                .extend_from_slice(&self.train.targets[clip * n..(clip + 1) * n]);
        }
        Ok((&self.x, &self.y))
    }
}

/// Sampling weights that balance the labels: each segment gets the inverse frequency (in
/// clips) of its clip's rarest label; clips without any label count as one more class.
fn balanced_sampler(
    targets: &[f32],
    clip_of: &[usize],
    n_labels: usize,
) -> Result<WeightedIndex<f64>> {
    let rows: Vec<&[f32]> = targets.chunks(n_labels.max(1)).collect();
    let mut counts = vec![0usize; n_labels + 1];
    for row in &rows {
        let mut any = false;
        for (j, &t) in row.iter().enumerate() {
            if t >= 0.5 {
                counts[j] += 1;
                any = true;
            }
        }
        if !any {
            counts[n_labels] += 1;
        }
    }
    let clip_weight: Vec<f64> = rows
        .iter()
        .map(|row| {
            let rarest = row
                .iter()
                .enumerate()
                .filter(|(_, t)| **t >= 0.5)
                .map(|(j, _)| counts[j])
                .min()
                .unwrap_or(counts[n_labels]);
            1.0 / rarest.max(1) as f64
        })
        .collect();
    WeightedIndex::new(clip_of.iter().map(|&c| clip_weight[c]))
        .map_err(|e| Error::config("balanced_sampling", format!("cannot weigh segments: {e}")))
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;
    use crate::train::ModelSettings;

    #[test]
    fn balanced_sampling_draws_rare_labels_as_often_as_common_ones() {
        // Clip 0 has the rare label 0; clips 1..=9 the common label 1; clip 10 has none.
        let mut targets = vec![1.0, 0.0];
        for _ in 0..9 {
            targets.extend([0.0, 1.0]);
        }
        targets.extend([0.0, 0.0]);
        let clip_of: Vec<usize> = (0..11).collect();
        let weights = balanced_sampler(&targets, &clip_of, 2).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut drawn = [0usize; 3];
        for _ in 0..30_000 {
            match weights.sample(&mut rng) {
                0 => drawn[0] += 1,
                10 => drawn[2] += 1,
                _ => drawn[1] += 1,
            }
        }
        // Each group (rare label, common label, no label) gets about a third.
        for count in drawn {
            assert!((9_000..11_000).contains(&count), "{drawn:?}");
        }
    }

    fn clip(id: &str, nan_at: Option<usize>) -> Clip {
        let mut samples = vec![0.0; 16_000];
        if let Some(i) = nan_at {
            samples[i] = f32::NAN;
        }
        Clip::from_samples(id, samples, 16_000, vec!["a".into()])
    }

    #[test]
    fn unusable_data_is_invalid_data_or_non_finite_audio_naming_the_clip() {
        let empty = Dataset::default();
        let err = Plan::new(ModelSettings::default(), &empty, &crate::Limits::default())
            .err()
            .unwrap();
        assert!(
            matches!(&err, Error::InvalidData { what, .. } if what == "the training set"),
            "{err}"
        );

        let data = Dataset::from_clips(vec![clip("x", None), clip("y", Some(7)), clip("z", None)]);
        let plan = Plan::new(ModelSettings::default(), &data, &crate::Limits::default()).unwrap();
        let err = split(&plan, &data, None).err().unwrap();
        assert!(
            matches!(&err, Error::NonFiniteAudio { clip, index: 7, .. } if clip == "y"),
            "{err}"
        );
        assert!(err.to_string().contains("y: sample 7 is NaN"), "{err}");

        let one = Dataset::from_clips(vec![clip("only", None)]);
        let plan = Plan::new(ModelSettings::default(), &one, &crate::Limits::default()).unwrap();
        let err = split(&plan, &one, None).err().unwrap();
        assert!(
            matches!(&err, Error::InvalidData { what, .. } if what == "the training set"),
            "{err}"
        );
        let err = split(&plan, &one, Some(&empty)).err().unwrap();
        assert!(
            matches!(&err, Error::InvalidData { what, .. } if what == "the validation set"),
            "{err}"
        );
        assert!(
            split(&plan, &one, Some(&data)).is_err(),
            "a NaN in validation is refused"
        );
    }

    #[test]
    fn rows_picks_whole_rows_in_order() {
        let matrix = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(rows(&matrix, &[2, 0], 2), [4.0, 5.0, 0.0, 1.0]);
    }
}
