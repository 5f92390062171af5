//! Quickstart: train a calibrated multilabel tagger on the built-in synthetic dataset, evaluate
//! it on a held-out test split, save it, load it back and predict.
//!
//! ```sh
//! cargo run --release --example quickstart
//! ```
//!
//! The last line is machine-readable:
//! `summary macro_roc_auc=X map=X ece_raw=X ece_calibrated=X train_seconds=X`.

use std::error::Error;

use sonotag::dataset::Dataset;
use sonotag::nn::{CnnConfig, HeadConfig, HeadPool};
use sonotag::synthetic::{SYNTHETIC_LABELS, SyntheticConfig};
use sonotag::{CalibrationMethod, ModelSpec, Tagger, TrainEvent};

fn main() -> Result<(), Box<dyn Error>> {
    // Train/validation clips and a disjoint test split (another seed).
    let train = Dataset::from_clips(
        SyntheticConfig {
            n_clips: 800,
            seed: 1,
            ..Default::default()
        }
        .generate(),
    );
    let test = Dataset::from_clips(
        SyntheticConfig {
            n_clips: 300,
            seed: 2,
            ..Default::default()
        }
        .generate(),
    );
    println!(
        "synthetic data: {} training clips, {} test clips, labels {:?}",
        train.len(),
        test.len(),
        SYNTHETIC_LABELS
    );

    // A small network: three conv blocks, then mean+max pooling over time.
    let network = CnnConfig::new(vec![16, 32, 64], SYNTHETIC_LABELS.len())
        .with_head(HeadConfig::new().with_pool(HeadPool::MeanMaxTime));
    let (tagger, report) = Tagger::builder()
        .labels(SYNTHETIC_LABELS)
        .model(ModelSpec::Custom(network))
        .epochs(10)
        .batch_size(32)
        .learning_rate(5e-3)
        // Per-label Platt scaling: the labels differ in how over- or underconfident they are.
        .calibration(CalibrationMethod::Platt)
        .seed(7)
        .on_event(|event| {
            if let TrainEvent::EpochEnd(m) = event {
                println!(
                    "epoch {:>2}: train loss {:.4}, val loss {:.4}, val mAP {:.3}, val ECE {:.3} ({:.1} s)",
                    m.epoch,
                    m.train_loss,
                    m.val_loss,
                    m.val_map.unwrap_or(f64::NAN),
                    m.val_ece,
                    m.seconds
                );
            }
        })
        .train(&train)?;
    let train_seconds = report.summary.train_seconds;
    println!(
        "trained in {train_seconds:.1} s, kept epoch {}, calibrator {:?}",
        report.summary.best_epoch,
        tagger.calibrator()
    );

    let evaluation = tagger.evaluate(&test)?;
    println!("\ntest split ({} clips):", test.len());
    print!("{}", evaluation.per_label_table(tagger.labels()));
    let ece_raw = evaluation.raw.ece.unwrap_or(f64::NAN);
    let ece_calibrated = evaluation.calibrated.ece.unwrap_or(f64::NAN);
    println!("ECE before calibration {ece_raw:.4}, after {ece_calibrated:.4}");

    // Save, load back (as a server would) and predict one test clip.
    let dir = std::env::temp_dir().join(format!("sonotag-quickstart-{}", std::process::id()));
    tagger.save(&dir)?;
    let loaded = Tagger::load(&dir)?;
    let clip = &test.clips[0];
    let (samples, rate) = clip.load()?;
    let prediction = loaded.predict_samples(&samples, rate)?;
    println!("\nclip {} (true labels {:?}):", clip.id, clip.labels);
    for (label, p) in prediction.top_k(3) {
        println!("  {label:<12} {p:.3}");
    }
    std::fs::remove_dir_all(&dir).ok();

    let macro_auc = evaluation
        .calibrated
        .roc_auc
        .macro_average
        .unwrap_or(f64::NAN);
    let map = evaluation
        .calibrated
        .average_precision
        .macro_average
        .unwrap_or(f64::NAN);
    println!(
        "summary macro_roc_auc={macro_auc:.4} map={map:.4} ece_raw={ece_raw:.4} \
         ece_calibrated={ece_calibrated:.4} train_seconds={train_seconds:.1}"
    );
    Ok(())
}
