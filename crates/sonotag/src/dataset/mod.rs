//! Datasets: labelled clips from a manifest CSV, a folder-per-label tree, or memory.

mod manifest;
mod walk;

use std::path::{Path, PathBuf};

use rayon::prelude::*;

pub use manifest::{DEFAULT_MAX_LABELS, Manifest, ManifestEntry, check_label_count};
pub use walk::{WalkOptions, audio_files, expand_inputs};

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

    /// Reads a folder-per-label tree (see [`folder_tree`]); symbolic links inside it are
    /// skipped (see [`WalkOptions`]).
    pub fn from_folder(root: &Path) -> Result<Self, crate::Error> {
        Self::from_folder_with(root, &WalkOptions::default())
    }

    /// Reads a folder-per-label tree (see [`folder_tree`]) under the link policy of `options`.
    pub fn from_folder_with(root: &Path, options: &WalkOptions) -> Result<Self, crate::Error> {
        Self::from_entries(&folder_tree(root, options)?, None)
    }

    fn from_entries(
        entries: &[ManifestEntry],
        manifest: Option<&Path>,
    ) -> Result<Self, crate::Error> {
        let clips = entries
            .par_iter()
            .map(|entry| {
                let audio =
                    sonotag_audio::decode::decode_file(&entry.path).map_err(
                        |e| match manifest {
                            Some(m) => crate::Error::from(DatasetError::Audio {
                                path: m.to_path_buf(),
                                line: entry.line,
                                source: e,
                            }),
                            None => crate::Error::from(e),
                        },
                    )?;
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
    /// A manifest uses more distinct labels than the limit.
    #[error("{path}: {count} distinct labels, more than the limit of {limit}")]
    TooManyLabels {
        /// The manifest file.
        path: PathBuf,
        /// Distinct labels in the manifest.
        count: usize,
        /// The limit ([`DEFAULT_MAX_LABELS`] unless set otherwise).
        limit: usize,
    },
    /// A folder walk that follows symbolic links met a link to one of its own ancestors.
    #[error(
        "{link}: a symbolic link to its own ancestor folder {ancestor}; the walk would never end"
    )]
    LinkLoop {
        /// The link.
        link: PathBuf,
        /// The ancestor folder it leads back to.
        ancestor: PathBuf,
    },
    /// A folder given as input holds no audio file (no name with an extension of
    /// [`sonotag_audio::decode::AUDIO_EXTENSIONS`]).
    #[error(
        "{path}: no audio files (.wav, .flac, .mp3, .ogg, .m4a, .aiff, .caf, ...) in this folder"
    )]
    NoAudioFiles {
        /// The folder.
        path: PathBuf,
    },
    /// A folder-per-label tree holds no audio.
    #[error("{path}: no audio files found in any label folder")]
    EmptyTree {
        /// The root folder.
        path: PathBuf,
    },
}

/// Lists a folder-per-label tree: each subfolder of `root` is a label, and each audio file ([`audio_files`])
/// inside it (recursively) is a clip carrying that one label; files directly in `root` and
/// folders whose name is not UTF-8 are ignored. Entries are sorted by path so the result does
/// not depend on the file system's order. Symbolic links follow the policy of `options` (by
/// default they are skipped; see [`WalkOptions`]).
pub fn folder_tree(root: &Path, options: &WalkOptions) -> Result<Vec<ManifestEntry>, DatasetError> {
    let entries: Vec<ManifestEntry> = audio_files(root, options)?
        .into_iter()
        .filter_map(|path| {
            let relative = path.strip_prefix(root).ok()?;
            let mut parts = relative.components();
            let label = parts.next()?.as_os_str().to_str()?.to_string();
            // A file directly in the root has no label folder.
            parts.next()?;
            Some(ManifestEntry {
                path,
                labels: vec![label],
                line: 0,
            })
        })
        .collect();
    if entries.is_empty() {
        return Err(DatasetError::EmptyTree {
            path: root.to_path_buf(),
        });
    }
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
        std::fs::write(dir.path().join("top.wav"), b"").unwrap();
        let entries = folder_tree(dir.path(), &WalkOptions::default()).unwrap();
        let labels: Vec<_> = entries.iter().map(|e| e.labels[0].as_str()).collect();
        assert_eq!(labels, ["cat", "dog", "dog"]);
    }

    #[cfg(unix)]
    #[test]
    fn folder_tree_skips_links_by_default_and_reports_loops_when_following() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("dog/deep")).unwrap();
        std::fs::write(root.join("dog/deep/a.wav"), b"").unwrap();
        symlink(root, root.join("dog/deep/up")).unwrap();
        symlink(root.join("dog"), root.join("cat")).unwrap();
        let entries = folder_tree(root, &WalkOptions::default()).unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].labels, ["dog"]);
        let follow = WalkOptions::default().with_follow_links(true);
        assert!(matches!(
            folder_tree(root, &follow),
            Err(DatasetError::LinkLoop { .. })
        ));
    }

    #[test]
    fn an_empty_tree_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("dog")).unwrap();
        assert!(matches!(
            folder_tree(dir.path(), &WalkOptions::default()),
            Err(DatasetError::EmptyTree { .. })
        ));
    }
}
