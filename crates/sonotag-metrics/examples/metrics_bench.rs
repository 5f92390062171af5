//! Times sonotag-metrics' ROC-AUC + average precision on a large score matrix and prints one
//! JSON line.
//!
//! ```text
//! cargo run --release -p sonotag-metrics --example metrics_bench -- \
//!     [--scores S.f32 --targets T.u8] [--n-samples 1000000] [--n-labels 50] [--repeats 3]
//! ```
//! With `--scores/--targets`, reads raw little-endian f32 scores and u8 0/1 targets (row-major,
//! `n_samples x n_labels`), as written by `benches/compare_metrics.py`; otherwise generates a
//! deterministic synthetic matrix. Timings cover the metric computation only, not loading.

use std::time::Instant;

use sonotag_metrics::{ScoreMatrix, TargetMatrix, ranking_metrics, ranking_per_label};

struct Args {
    scores: Option<String>,
    targets: Option<String>,
    n_samples: usize,
    n_labels: usize,
    repeats: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        scores: None,
        targets: None,
        n_samples: 1_000_000,
        n_labels: 50,
        repeats: 3,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        let number = |v: String| v.parse::<usize>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--scores" => args.scores = Some(value()?),
            "--targets" => args.targets = Some(value()?),
            "--n-samples" => args.n_samples = number(value()?)?,
            "--n-labels" => args.n_labels = number(value()?)?,
            "--repeats" => args.repeats = number(value()?)?.max(1),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(args)
}

/// Deterministic synthetic data: label prevalence from 1% to 30%, scores = sigmoid(signal +
/// noise) rounded to f32 (a few exact ties, like a real model's outputs).
fn generate(n: usize, l: usize) -> (Vec<f32>, Vec<u8>) {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut uniform = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut scores = Vec::with_capacity(n * l);
    let mut targets = Vec::with_capacity(n * l);
    for _ in 0..n {
        for j in 0..l {
            let prevalence = 0.01 + 0.29 * j as f64 / l.max(2).saturating_sub(1).max(1) as f64;
            let y = uniform() < prevalence;
            // Box-Muller normal noise.
            let noise = (-2.0 * uniform().max(1e-300).ln()).sqrt()
                * (2.0 * std::f64::consts::PI * uniform()).cos();
            let z = if y { 1.0 } else { -1.0 } + 1.5 * noise;
            scores.push((1.0 / (1.0 + (-z).exp())) as f32);
            targets.push(u8::from(y));
        }
    }
    (scores, targets)
}

fn read_raw(args: &Args) -> Result<(Vec<f32>, Vec<u8>), String> {
    let (Some(sp), Some(tp)) = (&args.scores, &args.targets) else {
        return Err("--scores and --targets go together".into());
    };
    let bytes = std::fs::read(sp).map_err(|e| format!("{sp}: {e}"))?;
    if bytes.len() % 4 != 0 {
        return Err(format!(
            "{sp}: length {} is not a multiple of 4",
            bytes.len()
        ));
    }
    let scores = bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let targets = std::fs::read(tp).map_err(|e| format!("{tp}: {e}"))?;
    Ok((scores, targets))
}

/// CPU seconds (user + system, all threads) used by this process so far, from
/// `/proc/self/stat` (Linux); `None` elsewhere. Unlike wall time it does not count time spent
/// waiting for a core, so it is the fairer figure on a shared machine.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // The kernel reports USER_HZ ticks, 100 per second on every mainstream Linux.
    Some(ticks / 100.0)
}

fn main() {
    if let Err(e) = run() {
        eprintln!("metrics_bench: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let args = parse_args()?;
    let (scores, targets) = if args.scores.is_some() || args.targets.is_some() {
        read_raw(&args)?
    } else {
        generate(args.n_samples, args.n_labels)
    };
    let (n, l) = (args.n_samples, args.n_labels);
    let s = ScoreMatrix::new(&scores, n, l).map_err(|e| e.to_string())?;
    let t = TargetMatrix::new(&targets, n, l).map_err(|e| e.to_string())?;

    let mut per_label_times = Vec::new();
    let mut per_label = Vec::new();
    let cpu_start = cpu_seconds();
    for _ in 0..args.repeats {
        let start = Instant::now();
        per_label = ranking_per_label(&s, &t).map_err(|e| e.to_string())?;
        per_label_times.push(start.elapsed().as_secs_f64());
    }
    let cpu_per_run = cpu_start
        .zip(cpu_seconds())
        .map(|(a, b)| (b - a) / args.repeats as f64);
    let start = Instant::now();
    let full = ranking_metrics(&s, &t).map_err(|e| e.to_string())?;
    let full_time = start.elapsed().as_secs_f64();

    per_label_times.sort_by(f64::total_cmp);
    let json = serde_json::json!({
        "n_samples": n,
        "n_labels": l,
        "threads": rayon::current_num_threads(),
        "repeats": args.repeats,
        "auc_and_ap_per_label_seconds_best": per_label_times[0],
        "auc_and_ap_per_label_seconds_median": per_label_times[per_label_times.len() / 2],
        "auc_and_ap_per_label_cpu_seconds_mean": cpu_per_run,
        "all_averages_including_micro_seconds": full_time,
        "roc_auc_per_label": per_label.iter().map(|r| r.roc_auc).collect::<Vec<_>>(),
        "average_precision_per_label": per_label.iter().map(|r| r.average_precision).collect::<Vec<_>>(),
        "roc_auc_macro": full.roc_auc.macro_average,
        "roc_auc_micro": full.roc_auc.micro_average,
        "average_precision_macro": full.average_precision.macro_average,
    });
    println!("{json}");
    Ok(())
}
