//! Fuzz target: `decode::decode_bytes_within` (every format: WAV, FLAC, MP3, Ogg Vorbis,
//! MP4/M4A, ADTS AAC, AIFF, CAF) on arbitrary bytes, with `max_decode_frames` lowered so that
//! a tiny file of digital silence cannot legitimately expand past the 64 MB allocation limit.
//! The seeds are the fixtures of crates/sonotag-audio/tests/fixtures/formats.
//!
//! Besides "no panic out of `decode`" and bounded allocation, the harness,
//! shared with the property test of sonotag-audio, checks the outcome: see
//! `crates/sonotag-audio/tests/harness/audio_decode.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../crates/sonotag-audio/tests/harness/audio_decode.rs"]
mod harness;

fuzz_target!(
    init: {
        // The decoder catches panics inside Symphonia (e.g. its MP4 `stts` sum overflowing,
        // the first finding, now a regression seed) and returns a typed error. libFuzzer's
        // panic hook would abort on those caught panics too; this quiet hook lets the run
        // go on, while a panic escaping `decode` still aborts (libfuzzer-sys checks the
        // closure with catch_unwind). Set AUDIO_DECODE_ALL_PANICS=1 to report every panic.
        if std::env::var_os("AUDIO_DECODE_ALL_PANICS").is_none() {
            std::panic::set_hook(Box::new(|_| {}));
        }
    },
    |data: &[u8]| harness::run(data)
);
