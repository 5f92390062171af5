//! The library side of `sonotag features`: one WAV file in, its log-mel spectrogram out as
//! JSON, written through the crate's one atomic writer.
//!
//! ```no_run
//! use std::path::Path;
//! let summary = sonotag::features::extract_to_json(
//!     Path::new("in.wav"),
//!     Some(Path::new("mel.json")),
//!     Path::new("out.json"),
//! )?;
//! println!("{} bands x {} frames", summary.n_mels, summary.n_frames);
//! # Ok::<(), sonotag::Error>(())
//! ```

use std::io::{BufWriter, Write};
use std::path::Path;

use sonotag_audio::MelConfig;
use sonotag_audio::features::{extract_file, load_mel_config};

pub use sonotag_audio::features::FeatureSummary;

use crate::atomic::PendingFile;
use crate::error::{Error, Result};

/// Reads `input` (any rate: resampled to the config's), computes its log-mel spectrogram with
/// the [`MelConfig`] in the JSON file `config_json` (`None`: the defaults; omitted fields take
/// their defaults) and writes `{"n_mels": M, "n_frames": T, "data": [[T values] x M]}` (dB,
/// mel-major, one line) to `output`.
///
/// The output is written like every file of this crate: under a fresh temporary name next to
/// it, flushed to disk, made readable by others (0644 on Unix), then renamed into place. On
/// any error no output file is created or changed, and no temporary file is left.
pub fn extract_to_json(
    input: &Path,
    config_json: Option<&Path>,
    output: &Path,
) -> Result<FeatureSummary> {
    if output.is_dir() {
        return Err(Error::Io {
            path: output.to_path_buf(),
            source: std::io::Error::new(
                std::io::ErrorKind::IsADirectory,
                "the output path is a directory",
            ),
        });
    }
    let config = match config_json {
        Some(path) => load_mel_config(path)?,
        None => MelConfig::default(),
    };
    let (mel, summary) = extract_file(input, &config)?;
    // The temporary file's errors name its folder; the user named the output file.
    let named = |e: Error| match e {
        Error::Io { source, .. } => Error::Io {
            path: output.to_path_buf(),
            source,
        },
        other => other,
    };
    let mut pending = PendingFile::new(output, "").map_err(named)?;
    {
        let mut w = BufWriter::with_capacity(1 << 20, pending.file());
        serde_json::to_writer(&mut w, &mel).map_err(|e| Error::io(output)(e.into()))?;
        w.write_all(b"\n").map_err(Error::io(output))?;
        w.flush().map_err(Error::io(output))?;
    }
    pending.commit().map(|()| summary).map_err(named)
}
