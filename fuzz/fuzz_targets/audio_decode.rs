//! Fuzz target: `decode::decode_bytes_within` (every format: WAV, FLAC, MP3, Ogg Vorbis,
//! MP4/M4A, ADTS AAC, AIFF, CAF) on arbitrary bytes, with `max_decode_frames` lowered so that
//! a tiny file of digital silence cannot legitimately expand past the 64 MB allocation limit.
//! The seeds are the fixtures of crates/sonotag-audio/tests/fixtures/formats.
//!
//! Besides "no panic" (a panic inside Symphonia is caught by the decoder, but libFuzzer's
//! panic hook still reports it, so the fuzzer finds them) and bounded allocation, the harness,
//! shared with the property test of sonotag-audio, checks the outcome: see
//! `crates/sonotag-audio/tests/harness/audio_decode.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../crates/sonotag-audio/tests/harness/audio_decode.rs"]
mod harness;

fuzz_target!(|data: &[u8]| harness::run(data));
