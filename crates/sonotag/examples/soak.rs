//! Soak test: trains and predicts over and over for a while and prints the resident memory
//! after each round, to show that memory stays flat (no leak across trainings, predictions,
//! saves and loads). Not part of CI; see docs/reliability.md for the recorded figures.
//!
//! ```sh
//! cargo run --release --example soak -- [MINUTES]   # default 30
//! ```
//!
//! Each round: train a tiny tagger on fresh synthetic clips, save it, load it back, predict
//! 50 clips. The last line is `soak rounds=N rss_first_mib=X rss_last_mib=Y rss_max_mib=Z`.

use std::error::Error;
use std::time::{Duration, Instant};

use sonotag::dataset::Dataset;
use sonotag::synthetic::{SYNTHETIC_LABELS, SyntheticConfig};
use sonotag::{ModelSpec, PresetName, Tagger};

/// Resident set size in MiB (Linux: /proc/self/statm; elsewhere 0).
fn rss_mib() -> f64 {
    let pages = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<f64>().ok())
        .unwrap_or(0.0);
    pages * 4096.0 / (1024.0 * 1024.0)
}

fn main() -> Result<(), Box<dyn Error>> {
    let minutes: f64 = match std::env::args().nth(1) {
        Some(m) => m
            .parse()
            .map_err(|e| format!("MINUTES must be a number: {e}"))?,
        None => 30.0,
    };
    let deadline = Instant::now() + Duration::from_secs_f64(minutes * 60.0);
    let dir = std::env::temp_dir().join(format!("sonotag-soak-{}", std::process::id()));
    let mut rss = Vec::new();
    let mut round = 0u64;
    while Instant::now() < deadline {
        let clips = SyntheticConfig {
            n_clips: 120,
            seed: round,
            ..Default::default()
        }
        .generate();
        let data = Dataset::from_clips(clips);
        let (tagger, _) = Tagger::builder()
            .labels(SYNTHETIC_LABELS)
            .model(ModelSpec::Preset(PresetName::Tiny))
            .epochs(2)
            .seed(round)
            .train(&data)?;
        tagger.save(&dir)?;
        let loaded = Tagger::load(&dir)?;
        for clip in data.clips.iter().take(50) {
            let (samples, rate) = clip.load()?;
            loaded.predict_samples(&samples, rate)?;
        }
        round += 1;
        let now = rss_mib();
        rss.push(now);
        println!("round {round}: rss {now:.1} MiB");
    }
    std::fs::remove_dir_all(&dir).ok();
    let first = rss.first().copied().unwrap_or(0.0);
    let last = rss.last().copied().unwrap_or(0.0);
    let max = rss.iter().copied().fold(0.0, f64::max);
    println!(
        "soak rounds={round} rss_first_mib={first:.1} rss_last_mib={last:.1} rss_max_mib={max:.1}"
    );
    Ok(())
}
