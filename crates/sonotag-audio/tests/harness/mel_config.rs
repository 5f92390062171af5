//! The `mel_config` harness, shared by the fuzz target (fuzz/fuzz_targets/mel_config.rs,
//! through `#[path]`) and the property test `limits_props::mel_config_harness`: arbitrary
//! bytes as a MelConfig JSON -> validate (default `AudioLimits`) -> extractor -> log-mel of a
//! fixed short clip. Every refusal is one line naming its field (and its limit when it is
//! one), and every accepted config plans and extracts finite features of the predicted size.

use sonotag_audio::{MelConfig, MelExtractor};

/// Parses, validates and runs the config in `data` (panics on a violated property).
pub fn run(data: &[u8]) {
    let Ok(config) = serde_json::from_slice::<MelConfig>(data) else {
        return;
    };
    if let Err(e) = config.validate() {
        let text = e.to_string();
        assert!(!text.contains('\n') && text.contains(e.field), "{text}");
        if let Some(limit) = &e.limit {
            assert!(text.contains(limit.setting), "{text}");
        }
        assert!(MelExtractor::new(&config).is_err());
        return;
    }
    let mut extractor = MelExtractor::new(&config).expect("a validated config plans");
    // A few frames whatever the hop; uncentred analysis needs n_fft samples.
    let extra = if config.center { 0 } else { config.n_fft };
    let n = config
        .hop_length
        .saturating_mul(4)
        .saturating_add(extra)
        .min(200_000);
    let clip: Vec<f32> = (0..n).map(|i| ((i % 97) as f32 / 97.0) - 0.5).collect();
    let mel = extractor
        .extract(&clip)
        .expect("a long enough finite clip extracts");
    assert_eq!(Some(mel.n_frames()), config.n_frames(n));
    assert!(mel.data().iter().all(|v| v.is_finite()));
}
