//! Write a synthetic labelled dataset of a given length as WAV files plus `manifest.csv`, for
//! trying training at scale (benches/large_dataset.sh uses it).
//!
//! ```sh
//! cargo run --release --example make_dataset -- OUT_DIR HOURS [CLIP_SECONDS] [SAMPLE_RATE]
//! ```
//!
//! Clips are 10 s at 16 kHz unless told otherwise; one hour at 16 kHz is about 115 MB of
//! 16-bit WAV. Clips are generated and written a few at a time, so any length fits in memory.

use std::error::Error;
use std::path::PathBuf;

use sonotag::synthetic::SyntheticConfig;

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: make_dataset OUT_DIR HOURS [CLIP_SECONDS] [SAMPLE_RATE]";
    let dir = PathBuf::from(args.next().ok_or(usage)?);
    let hours: f64 = args.next().ok_or(usage)?.parse()?;
    let clip_seconds: f32 = args.next().map_or(Ok(10.0), |s| s.parse())?;
    let sample_rate: u32 = args.next().map_or(Ok(16_000), |s| s.parse())?;
    if !(hours > 0.0 && clip_seconds > 0.0) {
        return Err(format!("{usage}: HOURS and CLIP_SECONDS must be positive").into());
    }
    let config = SyntheticConfig {
        n_clips: (hours * 3600.0 / f64::from(clip_seconds)).ceil() as usize,
        clip_seconds,
        sample_rate,
        seed: 1,
        ..Default::default()
    };
    let manifest = config.write_to_folder(&dir)?;
    println!(
        "wrote {} clips of {clip_seconds} s at {sample_rate} Hz ({hours} h) and {}",
        config.n_clips,
        manifest.display()
    );
    Ok(())
}
