//! Datasets: labelled clips from a manifest CSV, a folder-per-label tree, or memory.

mod manifest;

use std::path::{Path, PathBuf};

use rayon::prelude::*;

pub use manifest::{Manifest, ManifestEntry};

/// Labelled clips in memory, ready to train on or evaluate.
///
/// ```
/// use sonotag::dataset::{Clip, Dataset};
///
/// let clip = Clip { id: "a".into(), samples: vec![0.0; 16000], sample_rate: 16000, labels: vec!["dog".into()] };
/// let data = Dataset::from_clips(vec![clip]);
/// assert_eq!(data.labels(), ["dog"]);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dataset {
    /// The clips.
    pub clips: Vec<Clip>,
}

impl Dataset {
    /// Wraps clips already in memory.
    pub fn from_clips(clips: Vec<Clip>) -> Self {
        Self { clips }
    }

    /// Reads the manifest at `path` and decodes its audio files in parallel. A missing or
    /// undecodable file is an error naming the manifest line.
    pub fn from_manifest(path: &Path) -> Result<Self, crate::Error> {
        let manifest = Manifest::read(path)?;
        Self::from_entries(&manifest.entries, Some(&manifest.source))
    }

    /// Reads a folder-per-label tree (see [`folder_tree`]).
    pub fn from_folder(root: &Path) -> Result<Self, crate::Error> {
        Self::from_entries(&folder_tree(root)?, None)
    }

    fn from_entries(
        entries: &[ManifestEntry],
        manifest: Option<&Path>,
    ) -> Result<Self, crate::Error> {
        let clips = entries
            .par_iter()
            .map(|entry| {
                let audio =
                    sonotag_audio::wav::decode_file(&entry.path).map_err(|e| match manifest {
                        Some(m) => crate::Error::from(DatasetError::Audio {
                            path: m.to_path_buf(),
                            line: entry.line,
                            source: e,
                        }),
                        None => crate::Error::from(e),
                    })?;
                Ok(Clip {
                    id: entry.path.display().to_string(),
                    sample_rate: audio.sample_rate(),
                    samples: audio.into_mono(),
                    labels: entry.labels.clone(),
                })
            })
            .collect::<Result<Vec<_>, crate::Error>>()?;
        Ok(Self { clips })
    }

    /// Number of clips.
    pub fn len(&self) -> usize {
        self.clips.len()
    }

    /// Whether there are no clips.
    pub fn is_empty(&self) -> bool {
        self.clips.is_empty()
    }

    /// The sorted set of labels present in any clip.
    pub fn labels(&self) -> Vec<String> {
        let set: std::collections::BTreeSet<&String> =
            self.clips.iter().flat_map(|c| &c.labels).collect();
        set.into_iter().cloned().collect()
    }
}

/// A labelled clip held in memory.
#[derive(Debug, Clone, PartialEq)]
pub struct Clip {
    /// A name for the clip (a file path, or any identifier), used in reports and errors.
    pub id: String,
    /// Mono samples in [-1, 1).
    pub samples: Vec<f32>,
    /// Sample rate of `samples` in Hz.
    pub sample_rate: u32,
    /// The labels present in the clip (possibly none).
    pub labels: Vec<String>,
}

/// What went wrong while reading a dataset.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DatasetError {
    /// A file or folder could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A manifest row (or the whole manifest) is invalid.
    #[error("{path}, line {line}: {message}")]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// The 1-based line.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// The audio file of a manifest row is missing or cannot be decoded.
    #[error("{path}, line {line}: {source}")]
    Audio {
        /// The manifest file.
        path: PathBuf,
        /// The 1-based line of the row.
        line: u64,
        /// Why the audio could not be read (names the audio file).
        source: sonotag_audio::AudioError,
    },
    /// A folder-per-label tree holds no audio.
    #[error("{path}: no WAV files found in any label folder")]
    EmptyTree {
        /// The root folder.
        path: PathBuf,
    },
}

/// Lists a folder-per-label tree: each subfolder of `root` is a label, and each `.wav` file
/// inside it (recursively) is a clip carrying that one label. Entries are sorted by path so the
/// result does not depend on the file system's order.
pub fn folder_tree(root: &Path) -> Result<Vec<ManifestEntry>, DatasetError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| DatasetError::Io { path, source }
    };
    let mut entries = Vec::new();
    let mut label_dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .map_err(io(root))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    label_dirs.sort();
    for dir in label_dirs {
        let Some(label) = dir.file_name().and_then(|n| n.to_str()).map(str::to_string) else {
            continue;
        };
        let mut stack = vec![dir.clone()];
        while let Some(folder) = stack.pop() {
            for entry in std::fs::read_dir(&folder).map_err(io(&folder))? {
                let path = entry.map_err(io(&folder))?.path();
                if path.is_dir() {
                    stack.push(path);
                } else if path
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("wav"))
                {
                    entries.push(ManifestEntry {
                        path,
                        labels: vec![label.clone()],
                        line: 0,
                    });
                }
            }
        }
    }
    if entries.is_empty() {
        return Err(DatasetError::EmptyTree {
            path: root.to_path_buf(),
        });
    }
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_tree_labels_by_subfolder() {
        let dir = tempfile::tempdir().unwrap();
        for (label, file) in [("dog", "a.wav"), ("dog", "deep/b.WAV"), ("cat", "c.wav")] {
            let path = dir.path().join(label).join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, b"").unwrap();
        }
        std::fs::write(dir.path().join("dog").join("notes.txt"), b"").unwrap();
        let entries = folder_tree(dir.path()).unwrap();
        let labels: Vec<_> = entries.iter().map(|e| e.labels[0].as_str()).collect();
        assert_eq!(labels, ["cat", "dog", "dog"]);
    }

    #[test]
    fn an_empty_tree_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("dog")).unwrap();
        assert!(matches!(
            folder_tree(dir.path()),
            Err(DatasetError::EmptyTree { .. })
        ));
    }
}
