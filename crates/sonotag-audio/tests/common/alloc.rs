//! Allocation accounting for the integration binary: its one `#[global_allocator]` forwards to
//! the system allocator and, while `measure_allocs` runs on a thread, records that thread's
//! largest single allocation and the total bytes it allocated. The counters are thread-local
//! (const-initialised `Cell`s, which never allocate), so the other tests of the binary, running
//! in parallel, do not pollute each other's figures. Used by hostile_wav and wav_huge_claim.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct CountingAlloc;

thread_local! {
    static TRACKING: Cell<bool> = const { Cell::new(false) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
    static TOTAL: Cell<usize> = const { Cell::new(0) };
}

fn note_alloc(size: usize) {
    // `try_with`: allocations during thread teardown must not panic inside the allocator.
    let _ = TRACKING.try_with(|t| {
        if t.get() {
            let _ = LARGEST.try_with(|l| l.set(l.get().max(size)));
            let _ = TOTAL.try_with(|s| s.set(s.get().saturating_add(size)));
        }
    });
}

unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_alloc(layout.size());
        // SAFETY: forwarding the caller's layout to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_alloc(layout.size());
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_alloc(new_size);
        // SAFETY: `ptr` was allocated by `System` with `layout` (every path above forwards to it).
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// Allocation figures of one call.
#[derive(Debug, Clone, Copy)]
pub struct Allocs {
    /// The largest single allocation (bytes).
    pub largest: usize,
    /// All bytes allocated, frees not subtracted.
    pub total: usize,
}

/// Runs `f` and returns what this thread allocated meanwhile.
pub fn measure_allocs<T>(f: impl FnOnce() -> T) -> (T, Allocs) {
    LARGEST.with(|l| l.set(0));
    TOTAL.with(|t| t.set(0));
    TRACKING.with(|t| t.set(true));
    let out = f();
    TRACKING.with(|t| t.set(false));
    let allocs = Allocs {
        largest: LARGEST.with(Cell::get),
        total: TOTAL.with(Cell::get),
    };
    (out, allocs)
}
