//! Stopping a group: fail-fast on the first failure, `cancel`, the grace period and its reaper,
//! dropping an unjoined group, and reporting failures nobody will see.

use std::fmt;
use std::sync::{Arc, Weak};
use std::time::Duration;

use super::super::group_error::{Failure, FailureKind};
use super::state::{Phase, Shared, State};
use super::{GroupSpawner, TaskGroup};
use crate::lock::lock;
use crate::task::{report_unhandled, UnhandledError};
use crate::Task;

/// Sends a failure that no `join` will return to the unhandled-error hook.
pub(super) fn report<E>(fmt_err: Option<fn(&E) -> String>, f: Failure<E>) {
    let err = match f.kind {
        FailureKind::Panic(p) => UnhandledError::panic(f.task, p),
        FailureKind::Error(e) => UnhandledError::error(
            f.task,
            match fmt_err {
                Some(fmt) => fmt(&e),
                None => "error".to_string(),
            },
        ),
    };
    report_unhandled(err);
}

impl<T, E> Shared<T, E> {
    /// Records a failure; in a fail-fast group the first one cancels every other child.
    /// Returns the tasks to drop (outside the lock).
    /// If the group was dropped, hands the failure back: the caller reports it to the
    /// unhandled-error hook once the lock is released (the hook is user code).
    pub(super) fn fail(
        &self,
        st: &mut State<T, E>,
        f: Failure<E>,
        me: Weak<Shared<T, E>>,
    ) -> (Vec<Task<()>>, Option<Failure<E>>) {
        if st.phase == Phase::Dropped {
            return (Vec::new(), Some(f));
        }
        st.failures.push(f);
        if st.phase == Phase::Open && !self.supervisor {
            st.phase = Phase::Aborting;
            return (stop(st, me), None);
        }
        (Vec::new(), None)
    }
}

/// Stops the children: cancels the group's token (cooperative cancellation), then takes every
/// child task out of the group, to be dropped (hard-cancelled) outside the lock, or, with a grace
/// period, schedules that for later. A running child that completes detaches its own task first,
/// so it is never among them.
pub(super) fn stop<T, E>(st: &mut State<T, E>, shared: Weak<Shared<T, E>>) -> Vec<Task<()>> {
    st.token.cancel();
    match st.grace {
        None => std::mem::take(&mut st.tasks).into_values().collect(),
        Some(d) => {
            if !st.reaper && !st.tasks.is_empty() {
                st.reaper = true;
                (st.spawn_reaper)(shared, d);
            }
            Vec::new()
        }
    }
}

/// After the grace period, hard-cancels the children that are still running.
pub(super) fn spawn_reaper<T: Send + 'static, E: Send + 'static>(
    shared: Weak<Shared<T, E>>,
    d: Duration,
) {
    crate::spawn(async move {
        weft_timer::sleep(d).await;
        let Some(sh) = shared.upgrade() else {
            return;
        };
        let tasks: Vec<Task<()>> = std::mem::take(&mut lock(&sh.st).tasks)
            .into_values()
            .collect();
        drop(sh);
        if crate::context::debug_mode() {
            for t in &tasks {
                eprintln!(
                    "weft: {} ignored its task group's cancellation for {d:?}; dropping it",
                    t.info()
                );
            }
        }
        drop(tasks);
    })
    .detach();
}

impl<T, E> GroupSpawner<T, E>
where
    T: Send + 'static,
    E: fmt::Display + Send + 'static,
{
    /// See [`TaskGroup::cancel`].
    pub fn cancel(&self) {
        let tasks = {
            let mut st = lock(&self.shared.st);
            if st.phase != Phase::Open {
                return;
            }
            st.phase = Phase::Cancelled;
            let j = st.joiner.take();
            let tasks = stop(&mut st, Arc::downgrade(&self.shared));
            (tasks, j)
        };
        if let Some(w) = tasks.1 {
            w.wake();
        }
        drop(tasks.0);
    }
}

impl<T, E> TaskGroup<T, E>
where
    T: Send + 'static,
    E: fmt::Display + Send + 'static,
{
    /// Records the body's failure (scoped form) and cancels the children.
    pub(super) fn fail_body(&self, e: E) {
        let tasks = {
            let mut st = lock(&self.sp.shared.st);
            st.failures.push(Failure {
                task: None,
                kind: FailureKind::Error(e),
            });
            if matches!(st.phase, Phase::Open | Phase::Cancelled) {
                st.phase = Phase::Aborting;
            }
            stop(&mut st, Arc::downgrade(&self.sp.shared))
        };
        drop(tasks);
    }
}

impl<T, E> Drop for TaskGroup<T, E> {
    fn drop(&mut self) {
        let (tasks, failures, fmt) = {
            let mut st = lock(&self.sp.shared.st);
            if st.phase == Phase::Finished {
                return;
            }
            st.phase = Phase::Dropped;
            let tasks = stop(&mut st, Arc::downgrade(&self.sp.shared));
            if st.live > 0 && crate::context::debug_mode() {
                eprintln!(
                    "weft: TaskGroup dropped while {} child(ren) still running; they were \
                     cancelled without being waited for (await `join()` to wait for them)",
                    st.live
                );
            }
            (tasks, std::mem::take(&mut st.failures), st.fmt_err)
        };
        drop(tasks);
        for f in failures {
            report(fmt, f);
        }
    }
}
