//! Fuzz target: the features pipeline (WAV decode -> resample -> log-mel) on arbitrary bytes,
//! with the default `AudioLimits`. The sample-rate field is fuzzed like every other byte (the
//! seeds are valid files at 1 kHz-768 kHz, and wav_features.dict holds boundary rates).
//!
//! Besides "no panic" and bounded allocation (before issue 14 a 60-byte file at 4294967291 Hz
//! asked the resampler for 17 GB), the harness, shared with the property test of
//! sonotag-audio, checks the outcome: see `crates/sonotag-audio/tests/harness/wav_features.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../crates/sonotag-audio/tests/harness/wav_features.rs"]
mod harness;

fuzz_target!(|data: &[u8]| harness::run(data));
