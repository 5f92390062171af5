//! sonotag-audio's integration tests, in one binary (one link instead of one per file): each
//! file of this folder is a module, so a test's full name is `module::test`; run one module
//! with `cargo test -p sonotag-audio --test integration hostile_wav::`. `common` holds what
//! they share: the fixture readers, WAV byte builders and the binary's allocation accounting.

mod common;

mod demo_clip;
mod features;
mod formats;
mod harness;
mod hostile_formats;
mod hostile_limits;
mod hostile_wav;
mod limits_props;
mod mel_fixtures;
mod mel_props;
mod normalize;
mod resample;
mod segment;
mod wav_errors;
mod wav_fixtures;
mod wav_huge_claim;
