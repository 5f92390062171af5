//! Fuzz target: loading a model folder (`sonotag::Tagger::load_on`).
//!
//! A small model is trained once and saved. Each input then replaces either `sonotag.json`
//! (first byte even) or the weights file (first byte odd; the card's size and SHA-256 are
//! updated to match, so the bytes reach burn's record parser instead of stopping at the hash
//! check). Loading must give a typed error or a model that predicts finite probabilities.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};
use sonotag::dataset::Dataset;
use sonotag::synthetic::{SYNTHETIC_LABELS, SyntheticConfig};
use sonotag::{ModelSpec, PresetName, Tagger, backend};

struct Fixture {
    _dir: tempfile::TempDir,
    model: PathBuf,
    card: serde_json::Value,
    work: PathBuf,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let data = Dataset::from_clips(
            SyntheticConfig {
                n_clips: 12,
                ..Default::default()
            }
            .generate(),
        );
        let (tagger, _) = Tagger::builder()
            .labels(SYNTHETIC_LABELS)
            .model(ModelSpec::Preset(PresetName::Tiny))
            .epochs(1)
            .train(&data)
            .unwrap();
        let model = dir.path().join("model");
        tagger.save(&model).unwrap();
        let card = serde_json::from_slice(&std::fs::read(model.join("sonotag.json")).unwrap())
            .unwrap();
        let work = dir.path().join("work");
        Fixture {
            model,
            card,
            work,
            _dir: dir,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, bytes)) = data.split_first() else {
        return;
    };
    let f = fixture();
    let _ = std::fs::remove_dir_all(&f.work);
    std::fs::create_dir_all(&f.work).unwrap();
    let weights_name = f.card["weights"]["file"].as_str().unwrap().to_string();
    std::fs::copy(f.model.join(&weights_name), f.work.join(&weights_name)).unwrap();
    if mode % 2 == 0 {
        std::fs::write(f.work.join("sonotag.json"), bytes).unwrap();
    } else {
        let mut card = f.card.clone();
        card["weights"]["bytes"] = bytes.len().into();
        let sha: String = Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        card["weights"]["sha256"] = sha.into();
        std::fs::write(f.work.join(&weights_name), bytes).unwrap();
        std::fs::write(f.work.join("sonotag.json"), card.to_string()).unwrap();
    }
    let device = backend::cpu().unwrap();
    match Tagger::load_on(&f.work, &device) {
        Ok(tagger) => {
            // Whatever loaded must predict, or refuse with a typed error, without panicking.
            if let Ok(p) = tagger.predict_samples(&[0.01; 16_000], 16_000) {
                assert_eq!(p.clip.len(), tagger.labels().len());
            }
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});
