//! Train on the GPU (wgpu: Vulkan, Metal or DX12), then serve the saved model on the CPU.
//!
//! ```sh
//! cargo run --release --features sonotag/wgpu --example gpu
//! ```
//!
//! The backend is a compile-time choice: the `wgpu` cargo feature adds the GPU device, and
//! `sonotag::backend::default_device()` prefers it when it is compiled in. The same model code
//! runs on every device; a model trained on one loads on any other.

use std::error::Error;

use sonotag::backend;
use sonotag::dataset::Dataset;
use sonotag::synthetic::{SYNTHETIC_LABELS, SyntheticConfig};
use sonotag::{ModelSpec, PresetName, Tagger};

fn main() -> Result<(), Box<dyn Error>> {
    let gpu = backend::gpu()?;
    println!("training on {}", backend::describe(&gpu));
    let train = Dataset::from_clips(
        SyntheticConfig {
            n_clips: 400,
            seed: 31,
            ..Default::default()
        }
        .generate(),
    );
    let (tagger, report) = Tagger::builder()
        .labels(SYNTHETIC_LABELS)
        .model(ModelSpec::Preset(PresetName::Cnn6))
        .epochs(5)
        .device(gpu)
        .train(&train)?;
    println!(
        "trained in {:.1} s, validation mAP {:.3}",
        report.summary.train_seconds,
        report
            .validation
            .calibrated
            .average_precision
            .macro_average
            .unwrap_or(f64::NAN)
    );

    // Train on the GPU, serve on the CPU: the model folder is backend-neutral.
    let dir = std::env::temp_dir().join(format!("sonotag-gpu-{}", std::process::id()));
    tagger.save(&dir)?;
    let on_cpu = Tagger::load_on(&dir, &backend::cpu()?)?;
    let clip = &train.clips[0];
    let (samples, rate) = clip.load()?;
    let prediction = on_cpu.predict_samples(&samples, rate)?;
    println!(
        "clip {} (truth {:?}): {:?}",
        clip.id,
        clip.labels,
        prediction.top_k(3)
    );
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}
