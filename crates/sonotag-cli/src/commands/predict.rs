//! `sonotag predict`: per-segment and clip-level probabilities for WAV files.

use std::path::{Path, PathBuf};

use sonotag::Tagger;

/// Arguments of `sonotag predict`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The model directory.
    #[arg(long)]
    model: PathBuf,
    /// WAV files, or folders searched recursively for `.wav` files.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
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
pub fn run(args: Args) -> Result<(), String> {
    if args.format != "csv" && args.format != "json" {
        return Err(format!(
            "--format: unknown format `{}` (csv, json)",
            args.format
        ));
    }
    let tagger = Tagger::load(&args.model).map_err(|e| e.to_string())?;
    let files = expand(&args.inputs)?;
    let mut out = Vec::new();
    for result in tagger.predict_files(&files) {
        let mut prediction = result.map_err(|e| e.to_string())?;
        if let Some(k) = args.top_k {
            let keep: Vec<String> = prediction
                .top_k(k)
                .into_iter()
                .map(|(l, _)| l.to_string())
                .collect();
            let idx: Vec<usize> = prediction
                .labels
                .iter()
                .enumerate()
                .filter(|(_, l)| keep.contains(l))
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
        out.push(prediction);
    }
    if args.format == "json" {
        println!(
            "{}",
            serde_json::to_string(&out).map_err(|e| e.to_string())?
        );
        return Ok(());
    }
    let mut w = csv::Writer::from_writer(std::io::stdout());
    let io = |e: csv::Error| e.to_string();
    w.write_record(["file", "start_s", "end_s", "label", "probability"])
        .map_err(io)?;
    for p in &out {
        for row in p.rows(args.min_conf) {
            w.write_record([
                p.source.clone(),
                format!("{:.3}", row.start_s),
                format!("{:.3}", row.end_s),
                row.label,
                format!("{:.6}", row.probability),
            ])
            .map_err(io)?;
        }
    }
    w.flush().map_err(|e| e.to_string())
}

/// Files as given, folders expanded to their `.wav` files (sorted, recursive).
fn expand(inputs: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for input in inputs {
        if input.is_dir() {
            let mut found = Vec::new();
            walk(input, &mut found)?;
            if found.is_empty() {
                return Err(format!("{}: no .wav files in this folder", input.display()));
            }
            found.sort();
            files.extend(found);
        } else if input.exists() {
            files.push(input.clone());
        } else {
            return Err(format!("{}: no such file or folder", input.display()));
        }
    }
    Ok(files)
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| format!("{}: {e}", dir.display()))?.path();
        if path.is_dir() {
            walk(&path, found)?;
        } else if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("wav"))
        {
            found.push(path);
        }
    }
    Ok(())
}
