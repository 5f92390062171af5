//! `sonotag features`: an audio file in (any supported format), log-mel JSON out.

use std::path::PathBuf;

use crate::output::CliError;

/// Arguments of `sonotag features`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The audio file to read: WAV, FLAC, MP3, Ogg Vorbis, AAC/ALAC in MP4/M4A, AIFF or CAF,
    /// told apart by content (resampled first if its rate differs from the config's).
    #[arg(long)]
    input: PathBuf,
    /// A JSON file with MelConfig fields; omitted fields (or no file) take the defaults.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Where to write `{"n_mels": M, "n_frames": T, "data": [[...] x M]}`.
    #[arg(long)]
    output: PathBuf,
}

/// Runs the command; the error is the one line to print.
/// (Nothing goes to standard output: the features go to `--output`, written atomically.)
pub fn run(args: Args) -> Result<(), CliError> {
    sonotag::features::extract_to_json(&args.input, args.config.as_deref(), &args.output)
        .map(|_| ())
        .map_err(|e| CliError::Failed(e.to_string()))
}
