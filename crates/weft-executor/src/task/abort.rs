//! [`AbortHandle`]: cancels a task from anywhere.

use std::fmt;
use std::task::Waker;

use super::meta::{Meta, MetaRef};
use super::Id;

/// Cancels a task from anywhere (from [`Task::abort_handle`](super::Task::abort_handle); cloneable, `Send`, `Sync`).
///
/// [`AbortHandle::abort`] requests cancellation now: the task's future is dropped instead of
/// being polled again (a poll in progress finishes first), and its [`Task`](super::Task) resolves to
/// [`JoinError::Cancelled`](super::JoinError::Cancelled) unless the task had completed. Aborting a finished task does
/// nothing. Holding an `AbortHandle` keeps the task's allocation (not its future) alive.
#[derive(Clone)]
pub struct AbortHandle {
    pub(super) id: Id,
    /// The task's metadata and a waker of it (which keeps the allocation alive); `None` if the
    /// task's future was already gone when the handle was made (aborting it does nothing).
    pub(super) target: Option<(MetaRef, Waker)>,
}

impl AbortHandle {
    /// A handle for the task whose metadata is `meta` (the caller holds a reference to the
    /// task).
    pub(super) fn new(meta: MetaRef) -> AbortHandle {
        // SAFETY: the caller holds a reference to the task during this call.
        let m: &Meta = unsafe { meta.get() };
        AbortHandle {
            id: m.info.id(),
            target: m.waker().map(|w| (meta, w)),
        }
    }

    /// Requests the task's cancellation (see [`AbortHandle`]).
    pub fn abort(&self) {
        if let Some((meta, waker)) = &self.target {
            // SAFETY: `waker` is a reference to the task for as long as `self` lives.
            unsafe { meta.get() }.set_aborted();
            // Scheduling the task makes the executor look at the flag (and drop it) soon; a
            // task woken while running is re-scheduled after its poll.
            waker.wake_by_ref();
        }
    }

    /// The task's id.
    pub fn id(&self) -> Id {
        self.id
    }
}

impl fmt::Debug for AbortHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbortHandle")
            .field("id", &self.id().as_u64())
            .finish()
    }
}
