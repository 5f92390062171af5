//! Fuzz target: arbitrary bytes as a MelConfig JSON -> validate (default `AudioLimits`) ->
//! extractor -> log-mel of a fixed short clip.
//!
//! Before issue 14 a 21-byte config (`{"n_fft":1073741824}`) made the extractor allocate 8 GB
//! and `n_mels` near `u64::MAX` panicked with a capacity overflow. The harness, shared with the
//! property test of sonotag-audio, checks the outcome: see
//! `crates/sonotag-audio/tests/harness/mel_config.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../crates/sonotag-audio/tests/harness/mel_config.rs"]
mod harness;

fuzz_target!(|data: &[u8]| harness::run(data));
