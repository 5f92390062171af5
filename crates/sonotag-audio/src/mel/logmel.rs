//! [`LogMel`]: a mel-major `[n_mels][n_frames]` matrix of f32.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A (log-)mel spectrogram, mel-major like librosa: `data[m * n_frames + t]` is band `m`
/// (low to high) at frame `t`.
///
/// Serialises as `{"n_mels": M, "n_frames": T, "data": [[T values] x M]}` (the format of the
/// `sonotag features` command).
#[derive(Debug, Clone, PartialEq)]
pub struct LogMel {
    n_mels: usize,
    n_frames: usize,
    data: Vec<f32>,
}

impl LogMel {
    /// Wraps mel-major `data`; `None` if `data.len() != n_mels * n_frames`.
    pub fn new(n_mels: usize, n_frames: usize, data: Vec<f32>) -> Option<Self> {
        (n_mels.checked_mul(n_frames) == Some(data.len())).then_some(Self {
            n_mels,
            n_frames,
            data,
        })
    }

    pub(crate) fn from_parts(n_mels: usize, n_frames: usize, data: Vec<f32>) -> Self {
        debug_assert_eq!(data.len(), n_mels * n_frames);
        Self {
            n_mels,
            n_frames,
            data,
        }
    }

    /// Number of mel bands.
    pub fn n_mels(&self) -> usize {
        self.n_mels
    }

    /// Number of frames.
    pub fn n_frames(&self) -> usize {
        self.n_frames
    }

    /// The flat mel-major data.
    pub fn data(&self) -> &[f32] {
        &self.data
    }

    /// The flat mel-major data, mutable.
    pub fn data_mut(&mut self) -> &mut [f32] {
        &mut self.data
    }

    /// Consumes `self`, returning the flat mel-major data.
    pub fn into_data(self) -> Vec<f32> {
        self.data
    }

    /// Band `m` over time.
    ///
    /// # Panics
    /// If `m >= n_mels`.
    pub fn band(&self, m: usize) -> &[f32] {
        &self.data[m * self.n_frames..(m + 1) * self.n_frames]
    }

    /// Value of band `m` at frame `t`.
    ///
    /// # Panics
    /// If out of range.
    pub fn get(&self, m: usize, t: usize) -> f32 {
        assert!(t < self.n_frames, "frame {t} out of range");
        self.data[m * self.n_frames + t]
    }

    /// Rows (bands) as slices.
    pub fn rows(&self) -> impl Iterator<Item = &[f32]> {
        // chunks_exact(0) would panic; a 0-frame matrix has n_mels empty rows.
        (0..self.n_mels).map(|m| self.band(m))
    }
}

#[derive(Serialize)]
struct NestedRef<'a> {
    n_mels: usize,
    n_frames: usize,
    data: Vec<&'a [f32]>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Nested {
    n_mels: usize,
    n_frames: usize,
    data: Vec<Vec<f32>>,
}

impl Serialize for LogMel {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        NestedRef {
            n_mels: self.n_mels,
            n_frames: self.n_frames,
            data: self.rows().collect(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for LogMel {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = Nested::deserialize(d)?;
        if n.data.len() != n.n_mels {
            return Err(D::Error::custom(format!(
                "`data` has {} rows but n_mels is {}",
                n.data.len(),
                n.n_mels
            )));
        }
        let mut flat = Vec::with_capacity(n.n_mels * n.n_frames);
        for (m, row) in n.data.into_iter().enumerate() {
            if row.len() != n.n_frames {
                return Err(D::Error::custom(format!(
                    "row {m} of `data` has {} values but n_frames is {}",
                    row.len(),
                    n.n_frames
                )));
            }
            flat.extend(row);
        }
        Ok(Self::from_parts(n.n_mels, n.n_frames, flat))
    }
}
