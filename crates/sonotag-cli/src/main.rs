//! The `sonotag` command: train, evaluate and predict with taggers, extract features and score
//! predictions. Every failure prints one line naming the file and the problem, and
//! exits non-zero.
#![warn(missing_docs)]
#![forbid(unsafe_code)]
// Standard output and error go through `output` only: the print macros panic when stdout is closed
// or full.
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod commands;
mod output;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use output::CliError;

/// Train and use calibrated multilabel audio taggers.
#[derive(Debug, Parser)]
#[command(name = "sonotag", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Train a tagger on a manifest and save it as a model directory.
    Train(Box<commands::train::Args>),
    /// Evaluate a saved tagger on a labelled manifest.
    Eval(commands::eval::Args),
    /// Predict per-segment and clip-level probabilities for audio files (WAV, FLAC, MP3, Ogg,
    /// M4A, AIFF, CAF) of any length.
    Predict(commands::predict::Args),
    /// Extract a log-mel spectrogram (dB, mel-major) from an audio file into JSON.
    Features(commands::features::Args),
    /// Score predictions against targets (ROC-AUC, AP, F1, ECE, Brier) from two CSV files.
    Metrics(commands::metrics::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train(args) => commands::train::run(*args),
        Command::Eval(args) => commands::eval::run(args),
        Command::Predict(args) => commands::predict::run(args),
        Command::Features(args) => commands::features::run(args),
        Command::Metrics(args) => commands::metrics::run(args),
    };
    match result {
        Ok(()) | Err(CliError::StdoutClosed) => ExitCode::SUCCESS,
        Err(CliError::Failed(message)) => {
            output::note(&format!("error: {message}"));
            ExitCode::FAILURE
        }
        Err(CliError::Stdout(e)) => {
            output::note(&format!("error: cannot write to standard output: {e}"));
            ExitCode::FAILURE
        }
    }
}
