//! Datasets: labelled clips from a manifest CSV, a folder-per-label tree, or memory.
//!
//! A dataset read from files only lists them: each clip's audio is decoded when it is used
//! (training and evaluation decode a chunk of clips at a time, in parallel, and drop the
//! samples once the features are made), so a dataset need not fit in memory.

mod manifest;
mod walk;

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;
use sonotag_audio::AudioLimits;
use sonotag_audio::decode::{DecodeWarning, DecodedAudio, decode_file_within};

pub use manifest::{DEFAULT_MAX_LABELS, Manifest, ManifestEntry, check_label_count};
pub use walk::{WalkOptions, audio_files, expand_inputs};

/// Labelled clips: audio in memory or files decoded when used, ready to train on or evaluate.
///
/// ```
/// use sonotag::dataset::{Clip, Dataset};
///
/// let clip = Clip::from_samples("a", vec![0.0; 16000], 16000, vec!["dog".into()]);
/// let data = Dataset::from_clips(vec![clip]);
/// assert_eq!(data.labels(), ["dog"]);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dataset {
    /// The clips.
    pub clips: Vec<Clip>,
}

impl Dataset {
    /// Wraps clips already built.
    pub fn from_clips(clips: Vec<Clip>) -> Self {
        Self { clips }
    }

    /// Reads the manifest at `path` and lists its audio files without decoding them: each is
    /// decoded when training or evaluation uses it, and an undecodable file is then an error
    /// naming the manifest line ([`DatasetError::Audio`]). A missing file is that error now,
    /// before any work. [`Self::load_audio`] decodes them all now instead.
    pub fn from_manifest(path: &Path) -> Result<Self, crate::Error> {
        let manifest = Manifest::read(path)?;
        // One metadata call per file: cheap next to decoding, and a typo in a manifest is
        // named before hours of feature extraction.
        if let Some(entry) = manifest.entries.par_iter().find_first(|e| !e.path.exists()) {
            return Err(DatasetError::Audio {
                path: manifest.source.clone(),
                line: entry.line,
                source: sonotag_audio::AudioError::NotFound {
                    path: entry.path.clone(),
                },
            }
            .into());
        }
        let source: Arc<Path> = Arc::from(manifest.source.as_path());
        let clips = manifest
            .entries
            .into_iter()
            .map(|entry| {
                let mut clip = Clip::from_file(entry.path, entry.labels);
                clip.manifest_line = Some((Arc::clone(&source), entry.line));
                clip
            })
            .collect();
        Ok(Self { clips })
    }

    /// Lists a folder-per-label tree (see [`folder_tree`]) without decoding it; symbolic links
    /// inside it are skipped (see [`WalkOptions`]).
    pub fn from_folder(root: &Path) -> Result<Self, crate::Error> {
        Self::from_folder_with(root, &WalkOptions::default())
    }

    /// Lists a folder-per-label tree (see [`folder_tree`]) under the link policy of `options`,
    /// without decoding it.
    pub fn from_folder_with(root: &Path, options: &WalkOptions) -> Result<Self, crate::Error> {
        let clips = folder_tree(root, options)?
            .into_iter()
            .map(|entry| Clip::from_file(entry.path, entry.labels))
            .collect();
        Ok(Self { clips })
    }

    /// Decodes every clip that is still a file, in parallel, so that the whole dataset is
    /// held in memory (for repeated use of a small dataset). A file that cannot be decoded is
    /// an error naming it (and its manifest line).
    pub fn load_audio(&mut self) -> Result<(), crate::Error> {
        self.clips.par_iter_mut().try_for_each(|clip| {
            if let ClipAudio::File(path) = &clip.audio {
                let audio = decode_clip(clip, path, &AudioLimits::default())?;
                clip.audio = ClipAudio::Samples {
                    sample_rate: audio.sample_rate(),
                    samples: audio.into_mono(),
                };
            }
            Ok(())
        })
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

/// A labelled clip: samples in memory, or an audio file decoded when the clip is used.
///
/// Build one with [`Clip::from_samples`] or [`Clip::from_file`]; [`Clip::load`] gives its
/// samples either way.
#[derive(Debug, Clone, PartialEq)]
pub struct Clip {
    /// A name for the clip (a file path, or any identifier), used in reports and errors.
    pub id: String,
    /// The clip's audio.
    pub audio: ClipAudio,
    /// The labels present in the clip (possibly none).
    pub labels: Vec<String>,
    /// The manifest and 1-based line the clip was listed on, named by decoding errors.
    manifest_line: Option<(Arc<Path>, u64)>,
}

/// Where a [`Clip`]'s audio is.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ClipAudio {
    /// Mono samples in memory.
    Samples {
        /// Mono samples in [-1, 1).
        samples: Vec<f32>,
        /// Sample rate of `samples` in Hz.
        sample_rate: u32,
    },
    /// An audio file, decoded (and mixed down to mono) each time the clip is used.
    File(PathBuf),
}

impl Clip {
    /// A clip of mono `samples` at `sample_rate` Hz held in memory.
    pub fn from_samples(
        id: impl Into<String>,
        samples: Vec<f32>,
        sample_rate: u32,
        labels: Vec<String>,
    ) -> Self {
        Self {
            id: id.into(),
            audio: ClipAudio::Samples {
                samples,
                sample_rate,
            },
            labels,
            manifest_line: None,
        }
    }

    /// A clip of the audio file at `path`, decoded when used; its id is the path.
    pub fn from_file(path: impl Into<PathBuf>, labels: Vec<String>) -> Self {
        let path = path.into();
        Self {
            id: path.display().to_string(),
            audio: ClipAudio::File(path),
            labels,
            manifest_line: None,
        }
    }

    /// The manifest and 1-based line this clip was read from, if it came from a manifest.
    pub fn manifest_line(&self) -> Option<(&Path, u64)> {
        self.manifest_line.as_ref().map(|(p, l)| (&**p, *l))
    }

    /// The clip's mono samples and their rate: borrowed when in memory, decoded from the
    /// file otherwise (an error names the file and, for a manifest clip, its line).
    ///
    /// ```
    /// use sonotag::dataset::Clip;
    /// let clip = Clip::from_samples("a", vec![0.5; 4], 8000, vec![]);
    /// let (samples, rate) = clip.load()?;
    /// assert_eq!((&samples[..], rate), (&[0.5; 4][..], 8000));
    /// # Ok::<(), sonotag::Error>(())
    /// ```
    pub fn load(&self) -> Result<(Cow<'_, [f32]>, u32), crate::Error> {
        self.load_within(&AudioLimits::default())
    }

    /// [`Self::load`] with explicit limits for decoding (the sample-rate range and the most
    /// frames a file may decode to, [`AudioLimits::max_decode_frames`]). Corrupt packets the
    /// decoder skipped are not reported here: [`Self::load_with_warnings`] gives them.
    pub fn load_within(&self, limits: &AudioLimits) -> Result<(Cow<'_, [f32]>, u32), crate::Error> {
        let loaded = self.load_with_warnings(limits)?;
        Ok((loaded.samples, loaded.sample_rate))
    }

    /// [`Self::load_within`], with the corrupt packets the decoder skipped, each with its time
    /// in the recording (none for a clip in memory). Training reports them as
    /// [`TrainEvent::DecodeWarning`](crate::TrainEvent::DecodeWarning).
    pub fn load_with_warnings(
        &self,
        limits: &AudioLimits,
    ) -> Result<LoadedAudio<'_>, crate::Error> {
        match &self.audio {
            ClipAudio::Samples {
                samples,
                sample_rate,
            } => Ok(LoadedAudio {
                samples: Cow::Borrowed(samples),
                sample_rate: *sample_rate,
                warnings: Vec::new(),
            }),
            ClipAudio::File(path) => {
                let audio = decode_clip(self, path, limits)?;
                Ok(LoadedAudio {
                    sample_rate: audio.sample_rate(),
                    warnings: audio.warnings().to_vec(),
                    samples: Cow::Owned(audio.into_mono()),
                })
            }
        }
    }

    /// How errors name the clip: its id, with the manifest line when it has one.
    pub(crate) fn describe(&self) -> String {
        match &self.manifest_line {
            Some((manifest, line)) => {
                format!("clip `{}` ({}, line {line})", self.id, manifest.display())
            }
            None => format!("clip `{}`", self.id),
        }
    }
}

/// A clip's audio as loaded ([`Clip::load_with_warnings`]).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct LoadedAudio<'a> {
    /// Mono samples: borrowed from a clip in memory, decoded from a file clip.
    pub samples: Cow<'a, [f32]>,
    /// Their rate in Hz.
    pub sample_rate: u32,
    /// Corrupt packets the decoder skipped (empty for a clip in memory).
    pub warnings: Vec<DecodeWarning>,
}

/// Decodes the file of a file clip. The one place clip files are decoded, so that a change
/// of decoder (formats, limits) reaches training, evaluation and [`Dataset::load_audio`] alike;
/// an error names the file and, for a manifest clip, its line.
fn decode_clip(
    clip: &Clip,
    path: &Path,
    limits: &AudioLimits,
) -> Result<DecodedAudio, crate::Error> {
    decode_file_within(path, limits).map_err(|e| match &clip.manifest_line {
        Some((manifest, line)) => crate::Error::from(DatasetError::Audio {
            path: manifest.to_path_buf(),
            line: *line,
            source: e,
        }),
        None => crate::Error::from(e),
    })
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
