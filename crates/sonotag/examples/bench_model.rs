//! Trains a model of the default architecture (SeedNet) for one epoch on synthetic clips and
//! saves it: the model that prediction benchmarks (`benches/streaming_flac.sh`) run. Its
//! weights are barely trained; prediction speed and memory do not depend on them.
//!
//! ```sh
//! cargo run --release --example bench_model -- OUT_DIR
//! ```

use std::error::Error;

use sonotag::Tagger;
use sonotag::dataset::Dataset;
use sonotag::synthetic::{SYNTHETIC_LABELS, SyntheticConfig};

fn main() -> Result<(), Box<dyn Error>> {
    let out = std::env::args()
        .nth(1)
        .ok_or("usage: bench_model OUT_DIR")?;
    let data = Dataset::from_clips(
        SyntheticConfig {
            n_clips: 48,
            seed: 5,
            ..Default::default()
        }
        .generate(),
    );
    let (tagger, _) = Tagger::builder()
        .labels(SYNTHETIC_LABELS)
        .epochs(1)
        .train(&data)?;
    tagger.save(&out)?;
    println!("saved a {} model to {out}", tagger.labels().len());
    Ok(())
}
