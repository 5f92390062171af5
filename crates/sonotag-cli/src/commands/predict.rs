//! `sonotag predict`: per-segment and clip-level probabilities for audio files of any
//! supported format and length (each file is streamed: memory does not grow with it).

use std::collections::HashSet;
use std::path::PathBuf;

use sonotag::dataset::{WalkOptions, expand_inputs};
use sonotag::{Prediction, Tagger};

use crate::output::{CliError, Stdout, note};

/// Arguments of `sonotag predict`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The model directory.
    #[arg(long)]
    model: PathBuf,
    /// Audio files (any supported format, told apart by content), or folders searched
    /// recursively for files named .wav .flac .mp3 .ogg .m4a .aiff .caf ... (symbolic links
    /// inside a folder are skipped unless --follow-links).
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Follow symbolic links inside input folders (a link to its own ancestor is an error).
    #[arg(long)]
    follow_links: bool,
    /// Output format: csv (one row per segment and label) or json (one object per file).
    #[arg(long, default_value = "csv")]
    format: String,
    /// Leave out rows whose probability is below this.
    #[arg(long, default_value_t = 0.0)]
    min_conf: f32,
    /// Keep only the k most probable labels of each clip.
    #[arg(long)]
    top_k: Option<usize>,
}

/// Runs the command.
pub fn run(args: Args) -> Result<(), CliError> {
    if args.format != "csv" && args.format != "json" {
        return Err(format!("--format: unknown format `{}` (csv, json)", args.format).into());
    }
    let tagger = Tagger::load(&args.model).map_err(|e| e.to_string())?;
    let walk = WalkOptions::default().with_follow_links(args.follow_links);
    let files = expand_inputs(&args.inputs, &walk).map_err(|e| e.to_string())?;
    let mut predictions = Vec::new();
    for result in tagger.predict_files(&files) {
        let mut prediction = result.map_err(|e| e.to_string())?;
        for warning in &prediction.warnings {
            note(&format!("warning: {}: {warning}", prediction.source));
        }
        if let Some(k) = args.top_k {
            keep_top_k(&mut prediction, k);
        }
        predictions.push(prediction);
    }
    let mut out = Stdout::new();
    if args.format == "json" {
        let json = serde_json::to_string(&predictions).map_err(|e| e.to_string())?;
        out.line(&json)?;
        return out.finish();
    }
    {
        let mut w = csv::Writer::from_writer(out.writer());
        w.write_record(["file", "start_s", "end_s", "label", "probability"])
            .map_err(CliError::csv)?;
        for p in &predictions {
            for row in p.rows(args.min_conf) {
                w.write_record([
                    p.source.clone(),
                    format!("{:.3}", row.start_s),
                    format!("{:.3}", row.end_s),
                    row.label,
                    format!("{:.6}", row.probability),
                ])
                .map_err(CliError::csv)?;
            }
        }
        w.flush().map_err(CliError::stdout)?;
    }
    out.finish()
}

/// Keeps only the `k` most probable labels of a prediction (in the model's label order).
fn keep_top_k(prediction: &mut Prediction, k: usize) {
    let keep: HashSet<String> = prediction
        .top_k(k)
        .into_iter()
        .map(|(l, _)| l.to_string())
        .collect();
    let idx: Vec<usize> = prediction
        .labels
        .iter()
        .enumerate()
        .filter(|(_, l)| keep.contains(*l))
        .map(|(i, _)| i)
        .collect();
    let pick = |v: &[f32]| idx.iter().map(|&i| v[i]).collect::<Vec<f32>>();
    prediction.clip = pick(&prediction.clip);
    prediction.thresholds = pick(&prediction.thresholds);
    for s in &mut prediction.segments {
        s.probabilities = pick(&s.probabilities);
    }
    prediction.labels = idx.iter().map(|&i| prediction.labels[i].clone()).collect();
}
