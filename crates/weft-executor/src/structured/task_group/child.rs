//! [`Child`]: what runs inside each child's task, recording its outcome with the group.

use std::any::Any;
use std::sync::Arc;

use super::super::group_error::{Failure, FailureKind};
use super::cancel::report;
use super::state::{Out, Shared, Slot};
use crate::lock::lock;

/// Lives in a child's task; records the outcome, and when the child's future is dropped
/// (completed or cancelled) tells the group, after the user's future has been dropped.
pub(super) struct Child<F, T, E> {
    pub(super) fut: Option<F>,
    pub(super) slot: Arc<Slot<T>>,
    pub(super) shared: Arc<Shared<T, E>>,
}

impl<F, T, E> Child<F, T, E> {
    pub(super) fn complete(&mut self, out: Result<Result<T, E>, Box<dyn Any + Send>>) {
        let failure = match out {
            Ok(Ok(v)) => {
                self.slot.set(Out::Value(v));
                None
            }
            Ok(Err(e)) => Some(FailureKind::Error(e)),
            Err(p) => Some(FailureKind::Panic(p)),
        };
        let (to_drop, joiner, unreported, fmt) = {
            let mut st = lock(&self.shared.st);
            let mut to_drop = Vec::new();
            let mut joiner = None;
            let mut unreported = None;
            if let Some(t) = st.tasks.remove(&self.slot.seq) {
                t.detach();
            }
            if let Some(kind) = failure {
                self.slot.set(Out::Failed);
                st.slots.remove(&self.slot.seq);
                let f = Failure {
                    task: crate::task::try_current(),
                    kind,
                };
                (to_drop, unreported) = self.shared.fail(&mut st, f, Arc::downgrade(&self.shared));
                // Wake the scoped form's body poller (it stops the body on a failure).
                joiner = st.joiner.take();
            }
            (to_drop, joiner, unreported, st.fmt_err)
        };
        drop(to_drop);
        if let Some(w) = joiner {
            w.wake();
        }
        if let Some(f) = unreported {
            report(fmt, f);
        }
    }
}

impl<F, T, E> Drop for Child<F, T, E> {
    fn drop(&mut self) {
        // The user's future (and its destructors) first, then the accounting.
        self.fut = None;
        self.slot.set(Out::Cancelled);
        let (joiner, own) = {
            let mut st = lock(&self.shared.st);
            // Still there if the child never completed (refused start, runtime shutdown).
            let own = st.tasks.remove(&self.slot.seq);
            st.live -= 1;
            if !matches!(lock(&self.slot.st).0, Out::Value(_)) {
                st.slots.remove(&self.slot.seq);
            }
            let joiner = if st.live == 0 { st.joiner.take() } else { None };
            (joiner, own)
        };
        if let Some(t) = own {
            t.detach();
        }
        if let Some(w) = joiner {
            w.wake();
        }
    }
}
