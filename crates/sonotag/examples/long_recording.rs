//! Tag a long recording: it is cut into the same windows as in training, each window gets
//! probabilities, and the clip-level result pools them (max by default).
//!
//! ```sh
//! cargo run --release --example long_recording -- [MODEL_DIR] [WAV]
//! ```
//!
//! Without arguments it trains a small tagger on the synthetic data and tags a 20-second
//! recording made by chaining synthetic clips.

use std::error::Error;

use sonotag::dataset::Dataset;
use sonotag::synthetic::{SYNTHETIC_LABELS, SyntheticConfig};
use sonotag::{ModelSpec, PresetName, Tagger};

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let (tagger, recording) = match (args.next(), args.next()) {
        (Some(model), Some(wav)) => (Tagger::load(&model)?, Some(wav)),
        _ => {
            let train = Dataset::from_clips(
                SyntheticConfig {
                    n_clips: 400,
                    seed: 21,
                    ..Default::default()
                }
                .generate(),
            );
            let (tagger, _) = Tagger::builder()
                .labels(SYNTHETIC_LABELS)
                .model(ModelSpec::Preset(PresetName::Tiny))
                .epochs(5)
                .learning_rate(5e-3)
                .train(&train)?;
            (tagger, None)
        }
    };

    let prediction = match recording {
        Some(path) => tagger.predict_file(&path)?,
        None => {
            // 20 one-second synthetic clips back to back: the labels change every second.
            let clips = SyntheticConfig {
                n_clips: 20,
                seed: 22,
                ..Default::default()
            }
            .generate();
            for (i, clip) in clips.iter().enumerate() {
                println!(
                    "{:>4.1}-{:>4.1} s truth {:?}",
                    i as f64,
                    i as f64 + 1.0,
                    clip.labels
                );
            }
            let mut samples: Vec<f32> = Vec::new();
            for clip in &clips {
                samples.extend_from_slice(&clip.load()?.0);
            }
            tagger.predict_samples(&samples, 16_000)?
        }
    };

    println!("\nsegments with a label at probability >= 0.5:");
    for row in prediction.rows(0.5) {
        println!(
            "{:>6.2}-{:>6.2} s  {:<12} {:.3}",
            row.start_s, row.end_s, row.label, row.probability
        );
    }
    println!("\nwhole recording (max over segments):");
    for (label, p) in prediction.top_k(tagger.labels().len()) {
        println!("  {label:<12} {p:.3}");
    }
    Ok(())
}
