//! A `data` chunk claiming ~4 GiB in a tiny file must be refused without allocating the
//! claimed size. The binary's counting global allocator (tests/common/alloc.rs) records the
//! largest single allocation this thread makes while decoding.

use crate::common::alloc::measure_allocs;
use crate::common::{fmt16, riff};
use sonotag_audio::{WavError, wav};

#[test]
fn huge_claimed_data_chunk_is_refused_without_allocating_it() {
    let mut bytes = riff(&[(b"fmt ", fmt16(1, 2, 44_100, 16)), (b"data", vec![0; 400])]);
    let at = bytes.windows(4).position(|w| w == b"data").unwrap();
    bytes[at + 4..at + 8].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.wav");
    std::fs::write(&path, &bytes).unwrap();
    let (result, allocs) = measure_allocs(|| wav::decode_file(&path));
    let err = result.unwrap_err();
    let largest = allocs.largest;
    assert!(
        matches!(
            &err,
            sonotag_audio::AudioError::Wav {
                source: WavError::Truncated {
                    claimed: 0xFFFF_FFF0,
                    available: 400
                },
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("huge.wav"), "{err}");
    assert!(
        largest < 1 << 20,
        "largest allocation while decoding: {largest} bytes"
    );
}
