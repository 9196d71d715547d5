//! The process-wide table of live registries: a task's future names its executor's
//! [`Registry`] by a 4-byte index into this table instead of an 8-byte pointer, which (with the
//! 4-byte entry key next to it) keeps a task's bookkeeping inside its future to one word. For
//! the tasks of `rt_memory` that word decides malloc's size class: 16 bytes less per task.
//!
//! Indices are reused once their registry is dropped. The table grows in buckets (bucket `b`
//! holds `2^b` slots) that are never freed or moved, so a lookup is two loads and no lock; it
//! is as large as the most registries alive at once (one per runtime, `LocalRuntime` and
//! running `block_on`), never more.

use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::Mutex;

use super::Registry;
use crate::lock::lock;

/// Bucket `b` holds indices `2^b - 1 .. 2^(b+1) - 1`; 33 buckets cover every `u32`.
const BUCKETS: usize = 33;

/// A slot: the registry at that index, or null while the index is free.
type Slot = AtomicPtr<Registry>;

static BUCKET: [AtomicPtr<Slot>; BUCKETS] = [const { AtomicPtr::new(ptr::null_mut()) }; BUCKETS];

/// Free indices, and the next index never handed out.
static FREE: Mutex<(Vec<u32>, u32)> = Mutex::new((Vec::new(), 0));

/// The bucket and offset of `index`.
fn locate(index: u32) -> (usize, usize) {
    let n = u64::from(index) + 1;
    let b = 63 - n.leading_zeros() as usize;
    (b, (n - (1u64 << b)) as usize)
}

/// The slot of `index`, allocating its bucket if needed (only under the `FREE` lock).
fn slot(index: u32, alloc: bool) -> &'static Slot {
    let (b, off) = locate(index);
    let mut p = BUCKET[b].load(Ordering::Acquire);
    if p.is_null() {
        assert!(alloc, "weft: registry index {index} was never handed out");
        let slots: Box<[Slot]> = (0..1usize << b)
            .map(|_| AtomicPtr::new(ptr::null_mut()))
            .collect();
        p = Box::leak(slots).as_mut_ptr();
        BUCKET[b].store(p, Ordering::Release);
    }
    // SAFETY: bucket `b` is an array of `2^b` slots, leaked (never freed or moved), and
    // `off < 2^b` by `locate`.
    unsafe { &*p.add(off) }
}

/// Reserves an index (for a registry about to be created).
pub(super) fn reserve() -> u32 {
    let mut free = lock(&FREE);
    if let Some(i) = free.0.pop() {
        return i;
    }
    let i = free.1;
    free.1 = i
        .checked_add(1)
        .expect("weft: more than 4 billion executors alive at once");
    // Allocate the bucket now, under the lock, so `publish` and `get` never have to.
    slot(i, true);
    i
}

/// Makes `index` name `reg` (whose address is stable: it is inside an `Arc`).
pub(super) fn publish(index: u32, reg: &Registry) {
    let _free = lock(&FREE);
    slot(index, false).store(ptr::from_ref(reg).cast_mut(), Ordering::Release);
}

/// Frees `index` (its registry is being dropped).
pub(super) fn release(index: u32) {
    let mut free = lock(&FREE);
    slot(index, false).store(ptr::null_mut(), Ordering::Release);
    free.0.push(index);
}

/// The registry at `index`, null if none.
pub(super) fn get(index: u32) -> *const Registry {
    slot(index, false).load(Ordering::Acquire)
}

#[cfg(test)]
mod tests {
    #[test]
    fn buckets_cover_every_index_without_overlap() {
        assert_eq!(super::locate(0), (0, 0));
        assert_eq!(super::locate(1), (1, 0));
        assert_eq!(super::locate(2), (1, 1));
        assert_eq!(super::locate(3), (2, 0));
        assert_eq!(super::locate(6), (2, 3));
        assert_eq!(super::locate(u32::MAX), (32, 0));
        assert!(super::locate(u32::MAX).0 < super::BUCKETS);
    }
}
