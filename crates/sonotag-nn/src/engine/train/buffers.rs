//! The training engine's reusable buffers, owned by the caller.
//!
//! Large buffers freed by one training step are kept for the next: fresh allocations of this
//! size come from `mmap`, and faulting their pages in again cost about an eighth of a step. The
//! pool belongs to a [`TrainWorkspace`] that the training run owns (not to the process), so two
//! runs in one process never share or lock each other's buffers, and dropping the workspace
//! frees them.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use rayon::prelude::*;

/// Smaller buffers are left to the allocator.
const MIN_LEN: usize = 1 << 16;
/// At most this many buffers are kept (about the large buffers of one step).
const MAX_KEPT: usize = 48;

/// Buffers that CPU training steps reuse, owned by whoever runs the steps (a training loop).
///
/// Pass the same workspace to every step of a run ([`crate::Cnn::forward_train_with`]); drop it
/// (or call [`TrainWorkspace::release`]) when training is over. Cloning is cheap and shares the
/// buffers: use one workspace per concurrent run, so runs never wait on each other's lock.
///
/// ```
/// use sonotag_nn::TrainWorkspace;
///
/// let workspace = TrainWorkspace::new();
/// assert_eq!(workspace.kept_bytes(), 0);
/// ```
#[derive(Debug, Clone, Default)]
pub struct TrainWorkspace {
    free: Arc<Mutex<Vec<Vec<f32>>>>,
}

impl TrainWorkspace {
    /// An empty workspace; buffers are kept as the steps free them.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes held for reuse.
    pub fn kept_bytes(&self) -> usize {
        self.free_list()
            .iter()
            .map(|v| v.capacity() * size_of::<f32>())
            .sum()
    }

    /// Frees every kept buffer; the next step allocates them again.
    pub fn release(&self) {
        self.free_list().clear();
    }

    fn free_list(&self) -> MutexGuard<'_, Vec<Vec<f32>>> {
        // A panic while the list was held left it consistent (push/remove only).
        self.free.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A zeroed buffer of `len` values, reusing a freed one when one is large enough.
    pub(crate) fn zeroed(&self, len: usize) -> Vec<f32> {
        match self.reuse(len) {
            Some(mut v) => {
                // In parallel: a step's large buffers would otherwise be cleared on one thread.
                v.par_chunks_mut(1 << 16).for_each(|c| c.fill(0.0));
                v
            }
            // Fresh memory from the allocator is zero already.
            None => vec![0f32; len],
        }
    }

    /// A buffer of `len` values with unspecified (stale but initialised) contents, for
    /// callers that overwrite every value: zeroing a large buffer first costs a full pass.
    pub(crate) fn scratch(&self, len: usize) -> Vec<f32> {
        self.reuse(len).unwrap_or_else(|| vec![0f32; len])
    }

    /// A kept buffer resized to `len` (values beyond its old length are zero), if one fits.
    fn reuse(&self, len: usize) -> Option<Vec<f32>> {
        if len < MIN_LEN {
            return None;
        }
        let mut free = self.free_list();
        let best = free
            .iter()
            .enumerate()
            .filter(|(_, v)| v.capacity() >= len)
            .min_by_key(|(_, v)| v.capacity())
            .map(|(i, _)| i)?;
        let mut v = free.swap_remove(best);
        // Only values beyond the old length are written (zeros).
        v.truncate(len);
        v.resize(len, 0.0);
        Some(v)
    }

    /// Hands a buffer back for reuse.
    pub(crate) fn recycle(&self, v: Vec<f32>) {
        if v.capacity() < MIN_LEN {
            return;
        }
        let mut free = self.free_list();
        free.push(v);
        if free.len() > MAX_KEPT
            && let Some(i) = (0..free.len()).min_by_key(|&i| free[i].capacity())
        {
            free.swap_remove(i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_are_reused_and_released() {
        let ws = TrainWorkspace::new();
        let mut v = ws.scratch(MIN_LEN);
        v[0] = 3.0;
        ws.recycle(v);
        assert_eq!(ws.kept_bytes(), MIN_LEN * 4);
        // A reused buffer handed out as zeroed is zero again.
        assert!(ws.zeroed(MIN_LEN).iter().all(|&x| x == 0.0));
        assert_eq!(ws.kept_bytes(), 0);
        ws.recycle(vec![1.0; MIN_LEN]);
        ws.release();
        assert_eq!(ws.kept_bytes(), 0);
        // Small buffers are not kept.
        ws.recycle(vec![0.0; 8]);
        assert_eq!(ws.kept_bytes(), 0);
    }

    #[test]
    fn clones_share_and_separate_workspaces_do_not() {
        let (a, b) = (TrainWorkspace::new(), TrainWorkspace::new());
        a.clone().recycle(vec![0.0; MIN_LEN]);
        assert_eq!(a.kept_bytes(), MIN_LEN * 4);
        assert_eq!(b.kept_bytes(), 0);
    }
}
