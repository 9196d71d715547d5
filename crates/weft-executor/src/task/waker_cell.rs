//! The protocol around a task's own waker, kept in its metadata from spawn until its future is
//! dropped: readers (an [`AbortHandle`](super::AbortHandle) being made, shutdown waking every
//! waiting task) clone it from any thread, and the thread dropping the future takes it out
//! (the allocation's reference to itself must go with the future, or the task would never be
//! freed).
//!
//! Two bits of the metadata's flag byte guard the cell: [`READING`], held by a reader for the
//! length of one clone, and [`GONE`], set once by the dropper. A reader that sees `GONE` leaves
//! the cell alone; the dropper, after setting `GONE`, waits for a reader already inside to
//! leave, then takes the waker. Both are one atomic read-modify-write when uncontended, so a
//! finishing task pays one `fetch_or`. Other bits of the byte are left alone.
//!
//! Written against `super::sync` so that `tests/loom.rs` runs this very file under loom.

use std::task::Waker;

use super::sync::{spin, AtomicU8, Ordering, UnsafeCell};

/// A reader is cloning the waker.
pub(crate) const READING: u8 = 1;
/// The waker was taken (or is being taken): the future is gone.
pub(crate) const GONE: u8 = 2;

/// A clone of the waker in `cell`, or `None` once the dropper set [`GONE`] (or if the cell was
/// never filled).
pub(crate) fn clone_waker(cell: &UnsafeCell<Option<Waker>>, flags: &AtomicU8) -> Option<Waker> {
    loop {
        let prev = flags.fetch_or(READING, Ordering::Acquire);
        if prev & GONE != 0 {
            if prev & READING == 0 {
                flags.fetch_and(!READING, Ordering::Release);
            }
            return None;
        }
        if prev & READING != 0 {
            // Another reader is inside; its bit is not ours to clear.
            spin();
            continue;
        }
        // SAFETY: we hold `READING` and `GONE` was clear when we took it, so the dropper
        // (the only writer after the task was shared) waits for us before it takes the waker:
        // this is a shared read with no concurrent write.
        let w = cell.with(|p| unsafe { (*p).clone() });
        flags.fetch_and(!READING, Ordering::Release);
        return w;
    }
}

/// Sets [`GONE`] and takes the waker out of `cell`, once a reader inside has left.
///
/// # Safety
/// Called at most once per cell, by the thread dropping the task's future.
pub(crate) unsafe fn take_waker(
    cell: &UnsafeCell<Option<Waker>>,
    flags: &AtomicU8,
) -> Option<Waker> {
    let mut prev = flags.fetch_or(GONE, Ordering::AcqRel);
    while prev & READING != 0 {
        // A reader that came before `GONE` is cloning; one that comes after sets `READING`
        // only for a moment and never touches the cell.
        spin();
        prev = flags.load(Ordering::Acquire);
    }
    // SAFETY: `GONE` is set, so no reader enters the cell any more, and the last one that
    // entered before has released `READING` (its `Release` pairs with our `Acquire`); the
    // caller is the only writer.
    cell.with_mut(|p| unsafe { (*p).take() })
}
