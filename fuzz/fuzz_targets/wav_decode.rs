//! Fuzz target: `sonotag_audio::wav` decoding of arbitrary bytes.
//!
//! Besides "no panic" (libFuzzer reports any panic as a crash) and bounded allocation (run.sh
//! passes `-malloc_limit_mb`, so one oversized allocation is a crash too), it checks that a
//! successful decode is self-consistent and that decoding from a stream that does not start at
//! offset 0 gives the same answer.
#![no_main]

use std::io::{Cursor, Seek, SeekFrom};

use libfuzzer_sys::fuzz_target;
use sonotag_audio::wav::{self, MAX_CHANNELS};

fuzz_target!(|data: &[u8]| {
    let decoded = wav::decode_bytes(data);
    match &decoded {
        Ok(w) => {
            assert!(w.sample_rate() > 0);
            assert!((1..=usize::from(MAX_CHANNELS)).contains(&w.n_channels()));
            let frames = w.n_frames();
            assert!(w.channels().iter().all(|c| c.len() == frames));
            let needed = frames * w.n_channels() * w.encoding().bytes_per_sample();
            assert!(
                needed <= data.len(),
                "{frames} frames out of {} bytes",
                data.len()
            );
            assert!(w.channels().iter().flatten().all(|x| x.is_finite()));
            assert_eq!(w.to_mono().len(), frames);
        }
        Err(e) => assert!(!e.to_string().contains('\n'), "multi-line message: {e}"),
    }

    // The same bytes after 3 bytes of junk, read from offset 3: chunk offsets are relative to
    // where the stream starts, so the outcome must be identical (errors included).
    let mut shifted = Vec::with_capacity(data.len() + 3);
    shifted.extend_from_slice(b"xyz");
    shifted.extend_from_slice(data);
    let mut cursor = Cursor::new(shifted.as_slice());
    if cursor.seek(SeekFrom::Start(3)).is_ok() {
        match (&decoded, wav::decode_reader(cursor)) {
            (Ok(a), Ok(b)) => assert!(*a == b, "decodes differ at offset 3"),
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
            (a, b) => panic!("offset 0 gave {a:?}, offset 3 gave {b:?}"),
        }
    }
});
