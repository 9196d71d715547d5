//! Wake-ups of an [`Unblock`](super::Unblock) used by more than one task: its halves after
//! `futures_lite::io::split`, one task reading and another writing.
//!
//! Both halves wait for the same pool job (one value, one operation at a time), and a job
//! remembers one waker: the last task to poll it. Polled by the reader and then by the writer,
//! it would wake only the writer when it ends, and the reader would wait forever. So the job
//! is polled with a [`Waiters`] waker instead, which remembers every task that waited since the
//! job started and wakes them all.

use std::sync::{Arc, Mutex};
use std::task::{Context, Wake, Waker};

/// The tasks waiting for the current pool job of one `Unblock`.
#[derive(Default)]
pub(super) struct Waiters {
    tasks: Mutex<Vec<Waker>>,
}

impl Waiters {
    /// Remembers the task polling `cx` (once: a task polling again replaces its old waker) and
    /// returns the waker to poll the job with, which wakes every remembered task.
    pub(super) fn register(self: &Arc<Self>, cx: &Context<'_>) -> Waker {
        let me = cx.waker();
        let mut tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
        match tasks.iter_mut().find(|w| w.will_wake(me)) {
            Some(w) => w.clone_from(me),
            None => tasks.push(me.clone()),
        }
        drop(tasks);
        Waker::from(self.clone())
    }
}

impl Wake for Waiters {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        for w in tasks {
            w.wake();
        }
    }
}
