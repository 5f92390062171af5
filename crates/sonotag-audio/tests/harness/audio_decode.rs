//! The `audio_decode` harness, shared by the fuzz target (fuzz/fuzz_targets/audio_decode.rs,
//! through `#[path]`) and the property test `hostile_formats::mutated_fixtures_never_panic`:
//! `decode::decode_bytes_within` on arbitrary bytes, with `max_decode_frames` lowered to
//! [`MAX_FRAMES`] so that a tiny file of digital silence cannot legitimately expand beyond
//! what the fuzzer's allocation limit allows. A decode either fails with a one-line message
//! or gives consistent audio within the limits.

use sonotag_audio::AudioLimits;
use sonotag_audio::decode;

/// Frames a harness decode may produce (16 s at 64 kHz).
pub const MAX_FRAMES: u64 = 1 << 20;

/// The largest single allocation a harness decode may make: one channel of [`MAX_FRAMES`]
/// grown by doubling (8 MiB) plus decoder tables, well under the fuzzer's 64 MB limit.
#[allow(dead_code)]
pub const MAX_SINGLE_ALLOC: usize = 32 << 20;

/// Runs one decode and checks the outcome (panics on a violated property).
pub fn run(data: &[u8]) {
    let mut limits = AudioLimits::default();
    limits.max_decode_frames = MAX_FRAMES;
    match decode::decode_bytes_within(data, &limits) {
        Ok(audio) => {
            let info = audio.info();
            assert!(audio.n_channels() >= 1 && audio.n_channels() <= 1024);
            assert_eq!(info.n_channels, audio.n_channels());
            assert!(audio.n_frames() as u64 <= MAX_FRAMES);
            assert!(audio.channels().iter().all(|c| c.len() == audio.n_frames()));
            assert!(
                limits
                    .check_sample_rate("rate", audio.sample_rate())
                    .is_ok()
            );
            assert!(audio.warnings().len() <= decode::MAX_WARNINGS);
        }
        Err(e) => {
            let text = e.to_string();
            assert!(!text.is_empty() && !text.contains('\n'), "{text:?}");
        }
    }
}

/// The fixture files the property test mutates (the fuzz corpus holds the same seeds).
#[allow(dead_code)]
pub fn seed_files() -> Vec<std::path::PathBuf> {
    let dir = std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/formats"
    ));
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("formats fixtures")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            !matches!(
                p.extension().and_then(|x| x.to_str()),
                Some("json" | "f32" | "sh")
            )
        })
        .collect();
    files.sort();
    files
}
