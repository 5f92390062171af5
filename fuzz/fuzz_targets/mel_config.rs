//! Fuzz target: arbitrary bytes as a MelConfig JSON -> validate (default `AudioLimits`) ->
//! extractor -> log-mel of a fixed short clip.
//!
//! Before issue 14 a 21-byte config (`{"n_fft":1073741824}`) made the extractor allocate 8 GB
//! and `n_mels` near `u64::MAX` panicked with a capacity overflow. Checks: no panic, bounded
//! allocation (run.sh's `-malloc_limit_mb=64`), every refusal one line naming its field (and
//! its limit when it is one), and every accepted config plans and extracts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sonotag_audio::{MelConfig, MelExtractor};

fuzz_target!(|data: &[u8]| {
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
});
