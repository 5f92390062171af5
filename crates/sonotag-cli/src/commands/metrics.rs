//! `sonotag metrics`: score CSV + target CSV in, one JSON object out.

use std::path::PathBuf;

use sonotag::metrics::{ReportOptions, metrics_report_from_csv};

use crate::output::{CliError, Stdout};

/// Arguments of `sonotag metrics`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// CSV of scores: a header row of label names, one row per sample.
    #[arg(long)]
    scores: PathBuf,
    /// CSV of 0/1 targets with the same header and row count.
    #[arg(long)]
    targets: PathBuf,
    /// Probability at or above which a label is predicted present (F1, Hamming loss).
    #[arg(long, default_value_t = 0.5)]
    threshold: f32,
    /// Number of equal-width bins for ECE and MCE (1 to 100000).
    #[arg(long, default_value_t = 15)]
    bins: usize,
    /// The scores are logits: apply a sigmoid instead of rejecting values outside [0, 1].
    #[arg(long)]
    logits: bool,
}

/// Runs the command; prints the report as one JSON object on stdout.
pub fn run(args: Args) -> Result<(), CliError> {
    let options = ReportOptions {
        threshold: args.threshold,
        bins: args.bins,
        logits: args.logits,
    };
    let report = metrics_report_from_csv(&args.scores, &args.targets, &options)
        .map_err(|e| e.to_string())?;
    let json = serde_json::to_string(&report).map_err(|e| e.to_string())?;
    let mut out = Stdout::new();
    out.line(&json)?;
    out.finish()
}
