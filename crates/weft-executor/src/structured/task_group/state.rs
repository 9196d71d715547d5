//! A group's shared state: its phase, each child's output slot, and the bookkeeping behind the
//! lock every other part of the group takes.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, Weak};
use std::task::Waker;
use std::time::Duration;

use weft_sync::{CancellationToken, Semaphore};

use super::super::group_error::Failure;
use crate::lock::lock;
use crate::Task;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Phase {
    Open,
    Aborting,
    Cancelled,
    /// Joined: every child is done and the results were collected.
    Finished,
    /// The group was dropped before its join completed.
    Dropped,
}

pub(super) enum Out<T> {
    Pending,
    Value(T),
    Failed,
    Cancelled,
    Taken,
}

/// One child's output, shared with its [`GroupHandle`].
pub(super) struct Slot<T> {
    /// Spawn sequence number (the key in `State::slots`).
    pub(super) seq: u64,
    pub(super) st: Mutex<(Out<T>, Option<Waker>)>,
}

impl<T> Slot<T> {
    pub(super) fn set(&self, out: Out<T>) {
        let w = {
            let mut g = lock(&self.st);
            if !matches!(g.0, Out::Pending) {
                return;
            }
            g.0 = out;
            g.1.take()
        };
        if let Some(w) = w {
            w.wake();
        }
    }
}

pub(super) struct State<T, E> {
    pub(super) phase: Phase,
    /// Children whose future has not been dropped yet.
    pub(super) live: usize,
    /// Children still running or holding a value for `join`, in spawn order (finished children
    /// with nothing to collect are removed, so a long-lived group does not grow).
    pub(super) slots: BTreeMap<u64, Arc<Slot<T>>>,
    pub(super) next_seq: u64,
    pub(super) failures: Vec<Failure<E>>,
    /// Child tasks still running, keyed by spawn sequence number (never reused, so a stale
    /// handle can never reach another child's task).
    pub(super) tasks: BTreeMap<u64, Task<()>>,
    pub(super) joiner: Option<Waker>,
    /// The concurrency limit for children spawned from now on.
    pub(super) limit: Option<Arc<Semaphore>>,
    /// Formats an error for the unhandled-error hook.
    pub(super) fmt_err: Option<fn(&E) -> String>,
    /// Cancelled when the group stops (failure, `cancel`, drop): cooperative cancellation.
    pub(super) token: CancellationToken,
    /// How long children get to finish after `token` is cancelled before they are dropped.
    pub(super) grace: Option<Duration>,
    /// Whether the delayed hard cancellation has been scheduled.
    pub(super) reaper: bool,
    pub(super) spawn_reaper: fn(Weak<Shared<T, E>>, Duration),
}

pub(super) struct Shared<T, E> {
    pub(super) supervisor: bool,
    pub(super) st: Mutex<State<T, E>>,
}

impl<T, E> Shared<T, E> {
    /// An open group with no children; `limit` children at a time (0 counts as 1), if given.
    pub(super) fn new(
        supervisor: bool,
        limit: Option<usize>,
        spawn_reaper: fn(Weak<Shared<T, E>>, Duration),
    ) -> Arc<Shared<T, E>> {
        Arc::new(Shared {
            supervisor,
            st: Mutex::new(State {
                phase: Phase::Open,
                live: 0,
                slots: BTreeMap::new(),
                next_seq: 0,
                failures: Vec::new(),
                tasks: BTreeMap::new(),
                joiner: None,
                limit: limit.map(|n| Arc::new(Semaphore::new(n.max(1)))),
                fmt_err: None,
                token: CancellationToken::new(),
                grace: None,
                reaper: false,
                spawn_reaper,
            }),
        })
    }
}
