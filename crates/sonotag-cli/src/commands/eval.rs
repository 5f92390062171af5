//! `sonotag eval`: score a model on a labelled manifest.

use std::path::PathBuf;

use sonotag::dataset::{Dataset, Manifest};
use sonotag::metrics::ReportOptions;
use sonotag::{Evaluation, Tagger};

use super::metric;
use crate::output::{CliError, Stdout, note};

/// Arguments of `sonotag eval`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The model directory.
    #[arg(long)]
    model: PathBuf,
    /// Test manifest: CSV with columns `path,labels`.
    #[arg(long)]
    manifest: PathBuf,
    /// Also write a report folder (metrics.json, ROC/PR curves, reliability diagram).
    #[arg(long)]
    report: Option<PathBuf>,
    /// Print exactly the JSON object of `sonotag metrics` (calibrated clip-level scores).
    #[arg(long)]
    json: bool,
    /// Decision threshold for F1 and Hamming loss in the JSON report.
    #[arg(long, default_value_t = 0.5)]
    threshold: f32,
}

/// Runs the command.
pub fn run(args: Args) -> Result<(), CliError> {
    let err = |e: sonotag::Error| e.to_string();
    let tagger = Tagger::load(&args.model).map_err(err)?;
    let manifest = Manifest::read(&args.manifest).map_err(|e| e.to_string())?;
    manifest
        .check_labels(tagger.labels())
        .map_err(|e| e.to_string())?;
    let data = Dataset::from_manifest(&args.manifest).map_err(err)?;
    // Each path decodes the files once: `--json` alone needs only the metrics report.
    if let Some(dir) = &args.report {
        let evaluation = tagger.evaluate_to_folder(&data, dir).map_err(err)?;
        if !args.json {
            return print_table(&tagger, &evaluation);
        }
    } else if !args.json {
        return print_table(&tagger, &tagger.evaluate(&data).map_err(err)?);
    }
    let options = ReportOptions {
        threshold: args.threshold,
        ..ReportOptions::default()
    };
    let report = tagger.metrics_report(&data, &options).map_err(err)?;
    let json = serde_json::to_string(&report).map_err(|e| e.to_string())?;
    let mut out = Stdout::new();
    out.line(&json)?;
    out.finish()
}

/// The decoder's warnings on stderr, then the per-label table and the summary on stdout.
fn print_table(tagger: &Tagger, evaluation: &Evaluation) -> Result<(), CliError> {
    for warning in &evaluation.warnings {
        note(&format!("warning: {warning}"));
    }
    let mut out = Stdout::new();
    out.text(&evaluation.per_label_table(tagger.labels()))?;
    out.line(&format!(
        "macro ROC-AUC {}, mAP {}, ECE {} (uncalibrated {}), Brier {}",
        metric(evaluation.calibrated.roc_auc.macro_average),
        metric(evaluation.calibrated.average_precision.macro_average),
        metric(evaluation.calibrated.ece),
        metric(evaluation.raw.ece),
        metric(evaluation.calibrated.brier)
    ))?;
    out.finish()
}
