//! Allocation of large sample and feature buffers.
//!
//! A 10-minute 16 kHz clip is 38 MB of f32. Touching that much fresh memory page by page
//! costs one page fault per 4 KiB, which measured about 3x the cost of converting the samples
//! (about 30 ms of a 40 ms decode). On Linux, buffers of at least [`HUGE_MIN_BYTES`] are
//! therefore advised to use transparent huge pages (2 MiB, `MADV_HUGEPAGE`) before they are
//! first written. The advice is only a hint: if the kernel ignores it, nothing changes.

/// Buffers smaller than this are left alone (the hint only pays for many pages).
const HUGE_MIN_BYTES: usize = 4 << 20;

/// An empty `Vec<f32>` with room for `n` values, huge-page advised when large.
pub(crate) fn with_capacity(n: usize) -> Vec<f32> {
    let mut v = Vec::with_capacity(n);
    advise_huge(&mut v);
    v
}

/// `n` zeros, huge-page advised when large (before the caller writes them).
pub(crate) fn zeros(n: usize) -> Vec<f32> {
    // calloc-backed: a large zeroed buffer is fresh, untouched mapped memory, so the advice
    // still applies to every page the caller writes.
    let mut v = vec![0f32; n];
    advise_huge(&mut v);
    v
}

#[cfg(target_os = "linux")]
fn advise_huge(v: &mut Vec<f32>) {
    const HUGE: usize = 2 << 20;
    // Every step is checked: these numbers bound the range handed to the kernel, so an
    // overflow must skip the advice, never wrap into a range outside the allocation.
    let Some(bytes) = v.capacity().checked_mul(std::mem::size_of::<f32>()) else {
        return;
    };
    if bytes < HUGE_MIN_BYTES {
        return;
    }
    let addr = v.as_mut_ptr() as usize;
    // Only whole 2 MiB pages inside the allocation can become huge pages.
    let Some(start) = addr.checked_next_multiple_of(HUGE) else {
        return;
    };
    let Some(end) = addr.checked_add(bytes).map(|e| e & !(HUGE - 1)) else {
        return;
    };
    let Some(len) = end.checked_sub(start).filter(|&len| len > 0) else {
        return;
    };
    // SAFETY: `addr <= start` and `start + len = end <= addr + bytes`, so [start, end) lies
    // inside this Vec's own allocation of `bytes` bytes, which stays alive (borrowed mutably)
    // for the call; MADV_HUGEPAGE changes no contents and no access rights, only how the
    // kernel backs the pages, and failure (e.g. THP disabled) is harmless and ignored.
    unsafe {
        libc::madvise(start as *mut libc::c_void, len, libc::MADV_HUGEPAGE);
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge(_: &mut Vec<f32>) {}
