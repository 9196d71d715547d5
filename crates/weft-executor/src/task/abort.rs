//! [`AbortHandle`]: cancels a task from anywhere.

use std::fmt;
use std::sync::atomic::Ordering;
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
    pub(super) meta: MetaRef,
    pub(super) waker: Waker,
}

impl AbortHandle {
    fn meta(&self) -> &Meta {
        // SAFETY: `self.waker` is a reference to the task for as long as `self` lives.
        unsafe { self.meta.get() }
    }

    /// Requests the task's cancellation (see [`AbortHandle`]).
    pub fn abort(&self) {
        self.meta().aborted.store(true, Ordering::Release);
        // Scheduling the task makes the executor look at the flag (and drop it) soon; a task
        // woken while running is re-scheduled after its poll.
        self.waker.wake_by_ref();
    }

    /// The task's id.
    pub fn id(&self) -> Id {
        self.meta().info.id()
    }
}

impl fmt::Debug for AbortHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbortHandle")
            .field("id", &self.id().as_u64())
            .finish()
    }
}
