//! A `data` chunk claiming ~4 GiB in a tiny file must be refused without allocating the
//! claimed size. A counting global allocator (this test binary only) records the largest
//! single allocation made while decoding.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{fmt16, riff};
use sonotag_audio::{WavError, wav};

struct MaxAlloc;

static LARGEST: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for MaxAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarding the caller's layout to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: MaxAlloc = MaxAlloc;

#[test]
fn huge_claimed_data_chunk_is_refused_without_allocating_it() {
    let mut bytes = riff(&[(b"fmt ", fmt16(1, 2, 44_100, 16)), (b"data", vec![0; 400])]);
    let at = bytes.windows(4).position(|w| w == b"data").unwrap();
    bytes[at + 4..at + 8].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.wav");
    std::fs::write(&path, &bytes).unwrap();
    LARGEST.store(0, Ordering::Relaxed);
    let err = wav::decode_file(&path).unwrap_err();
    let largest = LARGEST.load(Ordering::Relaxed);
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
