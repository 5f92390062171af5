//! Folder walks: the one policy for finding audio files under a folder, used by
//! [`folder_tree`](super::folder_tree) and by `sonotag predict` on folders.
//!
//! **Symbolic links are not followed by default**: a link inside the walked tree, to a file or
//! to a folder, is skipped, so a walk always ends and lists each file once (a link back to an
//! ancestor would otherwise make it endless, a link to a sibling would list clips twice, and a
//! link could lead out of the tree the user named). The folder a walk starts from may itself be
//! a link: the user named it.
//!
//! With [`WalkOptions::follow_links`], links are followed, and a link to one of its own
//! ancestor folders is an error ([`DatasetError::LinkLoop`](super::DatasetError::LinkLoop))
//! naming the link, as is a dangling link (an [`Io`](super::DatasetError::Io) error naming
//! it). A file reachable through several paths is then listed once per path.

use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use super::DatasetError;

/// How a folder walk ([`audio_files`], [`folder_tree`](super::folder_tree),
/// [`expand_inputs`]) treats symbolic links.
///
/// **Links are not followed by default**: a link inside the walked tree, to a file or to a
/// folder, is skipped, so a walk always ends and lists each file once. The folder a walk starts
/// from may itself be a link (the user named it). With `follow_links`, links are followed; a
/// link to one of its own ancestor folders is [`DatasetError::LinkLoop`] naming the link, a
/// dangling link an [`Io`](DatasetError::Io) error naming it, and a file reachable through
/// several paths is listed once per path.
///
/// ```
/// use sonotag::dataset::WalkOptions;
/// assert!(!WalkOptions::default().follow_links);
/// assert!(WalkOptions::default().with_follow_links(true).follow_links);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WalkOptions {
    /// Follow symbolic links inside the tree (default false: skip them).
    pub follow_links: bool,
}

impl WalkOptions {
    /// These options with `follow_links` set.
    #[must_use]
    pub fn with_follow_links(mut self, follow: bool) -> Self {
        self.follow_links = follow;
        self
    }
}

/// Whether `path` names an audio file sonotag decodes, by its extension (any case; see
/// [`sonotag_audio::decode::AUDIO_EXTENSIONS`]). Only walks look at names: decoding chooses
/// the format by the file's content.
pub(super) fn is_audio(path: &Path) -> bool {
    sonotag_audio::decode::has_audio_extension(path)
}

/// The audio files under `root` (recursively, sorted by path): every file whose extension is
/// one of [`sonotag_audio::decode::AUDIO_EXTENSIONS`] (`.wav`, `.flac`, `.mp3`, `.ogg`,
/// `.m4a`, `.aiff`, `.caf`, ..., any case), found under the link policy of `options`. `root`
/// must be a readable folder; an empty list is not an error here.
///
/// ```
/// use sonotag::dataset::{WalkOptions, audio_files};
/// let dir = tempfile::tempdir()?;
/// std::fs::create_dir(dir.path().join("birds"))?;
/// std::fs::write(dir.path().join("birds/robin.WAV"), b"")?;
/// std::fs::write(dir.path().join("birds/wren.flac"), b"")?;
/// std::fs::write(dir.path().join("notes.txt"), b"")?;
/// let files = audio_files(dir.path(), &WalkOptions::default())?;
/// assert_eq!(files, [dir.path().join("birds/robin.WAV"), dir.path().join("birds/wren.flac")]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn audio_files(root: &Path, options: &WalkOptions) -> Result<Vec<PathBuf>, DatasetError> {
    let mut found = Vec::new();
    let walk = WalkDir::new(root).follow_links(options.follow_links);
    for entry in walk {
        let entry = entry.map_err(|e| walk_error(root, e))?;
        // Without follow_links, walkdir reports a link as a link (it does not descend into
        // one): skip it, whatever it points to.
        if entry.path_is_symlink() && !options.follow_links && entry.depth() > 0 {
            continue;
        }
        if entry.file_type().is_file() && is_audio(entry.path()) {
            found.push(entry.into_path());
        }
    }
    found.sort();
    Ok(found)
}

fn walk_error(root: &Path, e: walkdir::Error) -> DatasetError {
    let path = e.path().unwrap_or(root).to_path_buf();
    if let Some(ancestor) = e.loop_ancestor() {
        return DatasetError::LinkLoop {
            link: path,
            ancestor: ancestor.to_path_buf(),
        };
    }
    let source = e
        .into_io_error()
        .unwrap_or_else(|| std::io::Error::other("folder walk failed"));
    DatasetError::Io { path, source }
}

/// Files as given (whatever their name), folders replaced by their audio files
/// ([`audio_files`]): the inputs of `sonotag predict`. A missing input is an
/// [`Io`](DatasetError::Io) error naming it, a folder without audio files a
/// [`NoAudioFiles`](DatasetError::NoAudioFiles) error.
pub fn expand_inputs(
    inputs: &[PathBuf],
    options: &WalkOptions,
) -> Result<Vec<PathBuf>, DatasetError> {
    let mut files = Vec::new();
    for input in inputs {
        let meta = std::fs::metadata(input).map_err(|source| DatasetError::Io {
            path: input.clone(),
            source,
        })?;
        if meta.is_dir() {
            let found = audio_files(input, options)?;
            if found.is_empty() {
                return Err(DatasetError::NoAudioFiles {
                    path: input.clone(),
                });
            }
            files.extend(found);
        } else {
            files.push(input.clone());
        }
    }
    Ok(files)
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    /// root/a.wav, root/sub/b.wav, root/other/c.wav.
    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for file in ["a.wav", "sub/b.wav", "other/c.wav"] {
            let path = dir.path().join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, b"").unwrap();
        }
        dir
    }

    fn relative(root: &Path, files: &[PathBuf]) -> Vec<String> {
        files
            .iter()
            .map(|f| f.strip_prefix(root).unwrap().display().to_string())
            .collect()
    }

    const FOLLOW: WalkOptions = WalkOptions { follow_links: true };

    #[test]
    fn a_link_to_itself_is_skipped_by_default_and_a_loop_error_when_followed() {
        let dir = tree();
        let root = dir.path();
        symlink(root, root.join("sub/self")).unwrap();
        let files = audio_files(root, &WalkOptions::default()).unwrap();
        assert_eq!(
            relative(root, &files),
            ["a.wav", "other/c.wav", "sub/b.wav"]
        );
        let err = audio_files(root, &FOLLOW).unwrap_err();
        assert!(
            matches!(&err, DatasetError::LinkLoop { link, .. } if link.ends_with("sub/self")),
            "{err}"
        );
        assert!(err.to_string().contains("self"), "{err}");
    }

    #[test]
    fn two_links_to_itself_finish() {
        let dir = tree();
        let root = dir.path();
        symlink(root, root.join("loop1")).unwrap();
        symlink(root, root.join("sub/loop2")).unwrap();
        let files = audio_files(root, &WalkOptions::default()).unwrap();
        assert_eq!(files.len(), 3);
        assert!(matches!(
            audio_files(root, &FOLLOW),
            Err(DatasetError::LinkLoop { .. })
        ));
    }

    #[test]
    fn links_to_a_sibling_folder_and_to_a_file_are_followed_only_on_request() {
        let dir = tree();
        let root = dir.path();
        symlink(root.join("other"), root.join("sub/sibling")).unwrap();
        symlink(root.join("a.wav"), root.join("sub/alias.wav")).unwrap();
        let files = audio_files(root, &WalkOptions::default()).unwrap();
        assert_eq!(
            relative(root, &files),
            ["a.wav", "other/c.wav", "sub/b.wav"]
        );
        let files = audio_files(root, &FOLLOW).unwrap();
        assert_eq!(
            relative(root, &files),
            [
                "a.wav",
                "other/c.wav",
                "sub/alias.wav",
                "sub/b.wav",
                "sub/sibling/c.wav"
            ]
        );
    }

    #[test]
    fn a_dangling_link_is_skipped_by_default_and_named_when_followed() {
        let dir = tree();
        let root = dir.path();
        symlink(root.join("gone.wav"), root.join("sub/dangling.wav")).unwrap();
        let files = audio_files(root, &WalkOptions::default()).unwrap();
        assert_eq!(files.len(), 3);
        let err = audio_files(root, &FOLLOW).unwrap_err();
        assert!(err.to_string().contains("dangling.wav"), "{err}");
    }

    #[test]
    fn the_named_root_may_be_a_link() {
        let dir = tree();
        let link = dir.path().join("sub/root-link");
        symlink(dir.path().join("other"), &link).unwrap();
        let files = audio_files(&link, &WalkOptions::default()).unwrap();
        assert_eq!(files, [link.join("c.wav")]);
    }

    #[test]
    fn inputs_expand_folders_and_refuse_missing_paths_and_empty_folders() {
        let dir = tree();
        let root = dir.path();
        let files = expand_inputs(
            &[root.join("a.wav"), root.join("other")],
            &WalkOptions::default(),
        )
        .unwrap();
        assert_eq!(relative(root, &files), ["a.wav", "other/c.wav"]);
        let err = expand_inputs(&[root.join("nope.wav")], &WalkOptions::default()).unwrap_err();
        assert!(matches!(err, DatasetError::Io { .. }) && err.to_string().contains("nope.wav"));
        std::fs::create_dir(root.join("empty")).unwrap();
        let err = expand_inputs(&[root.join("empty")], &WalkOptions::default()).unwrap_err();
        assert!(matches!(err, DatasetError::NoAudioFiles { .. }), "{err}");
    }
}
