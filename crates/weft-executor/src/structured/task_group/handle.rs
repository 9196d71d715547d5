//! [`GroupHandle`]: one child's handle (await its value, cancel just it).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::state::{Out, Shared, Slot};
use crate::lock::lock;
use crate::task::TaskInfo;
#[cfg(doc)]
use {super::TaskGroup, crate::Task};

/// Type-erased control of a group, for [`GroupHandle::cancel`].
pub(super) trait Ctl: Send + Sync {
    fn cancel_child(&self, seq: u64);
    fn forget(&self, seq: u64);
}

impl<T: Send, E: Send> Ctl for Shared<T, E> {
    fn cancel_child(&self, seq: u64) {
        let t = lock(&self.st).tasks.remove(&seq);
        drop(t);
    }

    fn forget(&self, seq: u64) {
        lock(&self.st).slots.remove(&seq);
    }
}

/// A handle to a child of a [`TaskGroup`].
///
/// Awaiting it waits for the child and gives `Some(value)` if it succeeded: the value is then
/// **taken** (it will not be in the `Vec` of [`TaskGroup::join`]). It gives `None` if the child
/// failed (the failure is reported by `join`, once), was cancelled, never ran, or its value was
/// already collected by `join`.
///
/// **Dropping the handle only stops observing**: the child keeps running and the group still
/// joins it (unlike a top-level [`Task`], whose drop cancels). [`GroupHandle::cancel`] cancels
/// just this child (not a failure).
///
/// Awaiting it is cancel-safe: the value stays in the group if the await is dropped.
pub struct GroupHandle<T> {
    pub(super) slot: Arc<Slot<T>>,
    pub(super) info: Option<TaskInfo>,
    pub(super) ctl: Option<Arc<dyn Ctl>>,
}

impl<T> GroupHandle<T> {
    /// The child's task info (id, name, spawn location); `None` if the spawn was refused.
    pub fn info(&self) -> Option<&TaskInfo> {
        self.info.as_ref()
    }

    /// Whether the child has finished (succeeded, failed, been cancelled or never run).
    pub fn is_finished(&self) -> bool {
        !matches!(lock(&self.slot.st).0, Out::Pending)
    }

    /// Cancels this child only (its future is dropped at its next await). Not a failure: the
    /// group goes on. Awaiting the handle then gives `None`, unless the child had already
    /// succeeded.
    pub fn cancel(&self) {
        if let Some(ctl) = &self.ctl {
            ctl.cancel_child(self.slot.seq);
        }
    }
}

impl<T> Future for GroupHandle<T> {
    type Output = Option<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut g = lock(&self.slot.st);
        let taken = match std::mem::replace(&mut g.0, Out::Taken) {
            Out::Pending => {
                g.0 = Out::Pending;
                match &g.1 {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => g.1 = Some(cx.waker().clone()),
                }
                return Poll::Pending;
            }
            Out::Value(v) => v,
            other => {
                g.0 = other;
                return Poll::Ready(None);
            }
        };
        drop(g);
        if let Some(ctl) = &self.ctl {
            ctl.forget(self.slot.seq);
        }
        Poll::Ready(Some(taken))
    }
}

impl<T> fmt::Debug for GroupHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupHandle")
            .field("task", &self.info)
            .field("finished", &self.is_finished())
            .finish()
    }
}
