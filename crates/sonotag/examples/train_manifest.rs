//! Train a tagger from a manifest CSV (`path,labels`, labels separated by `;`) and save it.
//!
//! ```sh
//! cargo run --release --example train_manifest -- [MANIFEST] [MODEL_DIR]
//! ```
//!
//! Without a manifest it writes the synthetic dataset as WAV files plus `manifest.csv` into a
//! temporary folder first, so the example runs anywhere. The saved model folder is what
//! `sonotag predict --model MODEL_DIR` and `Tagger::load` read.

use std::error::Error;
use std::path::PathBuf;

use sonotag::dataset::Dataset;
use sonotag::nn::{CnnConfig, HeadConfig, HeadPool};
use sonotag::synthetic::SyntheticConfig;
use sonotag::{ModelSpec, Tagger, TrainEvent};

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let scratch = std::env::temp_dir().join(format!("sonotag-manifest-{}", std::process::id()));
    let manifest = match args.next() {
        Some(path) => PathBuf::from(path),
        None => {
            let config = SyntheticConfig {
                n_clips: 400,
                seed: 11,
                ..Default::default()
            };
            let path = config.write_to_folder(&scratch.join("data"))?;
            println!(
                "wrote {} synthetic clips and {}",
                config.n_clips,
                path.display()
            );
            path
        }
    };
    let model_dir = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| scratch.join("model"));

    // Paths in the manifest are relative to the manifest's folder; a missing file or an
    // unreadable row is an error naming the manifest line.
    let data = Dataset::from_manifest(&manifest)?;
    println!("{} clips, labels {:?}", data.len(), data.labels());

    let (tagger, report) = Tagger::builder()
        .model(ModelSpec::Custom(
            CnnConfig::new(vec![16, 32, 64], data.labels().len())
                .with_head(HeadConfig::new().with_pool(HeadPool::MeanMaxTime)),
        ))
        .epochs(8)
        .learning_rate(5e-3)
        // A second run over the same audio reads its features from here.
        .feature_cache(scratch.join("feature-cache"))
        .on_event(|event| {
            if let TrainEvent::EpochEnd(m) = event {
                println!(
                    "epoch {}: train loss {:.4}, val mAP {:.3}",
                    m.epoch,
                    m.train_loss,
                    m.val_map.unwrap_or(f64::NAN)
                );
            }
        })
        .train(&data)?;
    println!(
        "validation macro ROC-AUC {:.3}",
        report
            .validation
            .calibrated
            .roc_auc
            .macro_average
            .unwrap_or(f64::NAN)
    );
    tagger.save(&model_dir)?;
    println!("saved the model to {}", model_dir.display());
    Ok(())
}
