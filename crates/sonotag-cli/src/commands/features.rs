//! `sonotag features`: WAV in, log-mel JSON out.

use std::path::PathBuf;

/// Arguments of `sonotag features`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The WAV file to read (resampled first if its rate differs from the config's).
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
pub fn run(args: Args) -> Result<(), String> {
    sonotag::audio::features::extract_file_to_json(
        &args.input,
        args.config.as_deref(),
        &args.output,
    )
    .map(|_| ())
    .map_err(|e| e.to_string())
}
