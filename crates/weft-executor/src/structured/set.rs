//! `FutureSet`: a fixed set of futures polled by one task, each with its own waker, so a wake-up
//! re-polls only the future it belongs to (the core of `gather`, `race`, `wait`, `as_completed`).

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use crate::lock::lock;

/// Indices whose future was woken, plus the waker of the task polling the set.
struct Ready {
    queue: Mutex<VecDeque<usize>>,
    queued: Box<[AtomicBool]>,
    parent: Mutex<Option<Waker>>,
}

impl Ready {
    fn push(&self, i: usize) {
        if !self.queued[i].swap(true, Ordering::AcqRel) {
            lock(&self.queue).push_back(i);
            let w = lock(&self.parent).clone();
            if let Some(w) = w {
                w.wake();
            }
        }
    }
}

struct ChildWake {
    index: usize,
    ready: Arc<Ready>,
}

impl Wake for ChildWake {
    fn wake(self: Arc<Self>) {
        self.ready.push(self.index);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.ready.push(self.index);
    }
}

/// A fixed set of futures, polled in place (one allocation for all of them).
pub(crate) struct FutureSet<F> {
    futs: Pin<Box<[Option<F>]>>,
    wakers: Box<[Waker]>,
    ready: Arc<Ready>,
    remaining: usize,
}

impl<F> FutureSet<F> {
    /// Number of futures given to [`FutureSet::new`].
    pub(crate) fn len(&self) -> usize {
        self.wakers.len()
    }

    /// Futures not yet completed nor removed.
    pub(crate) fn remaining(&self) -> usize {
        self.remaining
    }
}

impl<F: Future> FutureSet<F> {
    pub(crate) fn new(futs: impl IntoIterator<Item = F>) -> FutureSet<F> {
        let futs: Box<[Option<F>]> = futs.into_iter().map(Some).collect();
        let n = futs.len();
        let ready = Arc::new(Ready {
            queue: Mutex::new((0..n).collect()),
            queued: (0..n).map(|_| AtomicBool::new(true)).collect(),
            parent: Mutex::new(None),
        });
        let wakers = (0..n)
            .map(|index| {
                Waker::from(Arc::new(ChildWake {
                    index,
                    ready: ready.clone(),
                }))
            })
            .collect();
        FutureSet {
            futs: Box::into_pin(futs),
            wakers,
            ready,
            remaining: n,
        }
    }

    fn slot(&mut self, i: usize) -> Pin<&mut Option<F>> {
        // SAFETY: the boxed slice is pinned and never reallocated or moved; we hand out a pinned
        // reference to one element, which is only ever replaced through `Pin::set` (dropping the
        // old value in place), never moved out, except by `take` which requires `F: Unpin`.
        unsafe { self.futs.as_mut().map_unchecked_mut(|s| &mut s[i]) }
    }

    /// Drops future `i` in place (cancelling it) if it is still there.
    pub(crate) fn remove(&mut self, i: usize) {
        let mut s = self.slot(i);
        if s.is_some() {
            s.set(None);
            self.remaining -= 1;
        }
    }

    /// Drops every remaining future, in index order.
    pub(crate) fn clear(&mut self) {
        for i in 0..self.len() {
            self.remove(i);
        }
    }

    /// Polls woken futures (in wake order) until one completes; `Ready(None)` once all are done.
    /// `poll_one` polls a single future; it may catch panics.
    pub(crate) fn poll_next_with<R>(
        &mut self,
        cx: &mut Context<'_>,
        mut poll_one: impl FnMut(Pin<&mut F>, &mut Context<'_>) -> Poll<R>,
    ) -> Poll<Option<(usize, R)>> {
        if self.remaining == 0 {
            return Poll::Ready(None);
        }
        {
            let mut p = lock(&self.ready.parent);
            match &*p {
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => *p = Some(cx.waker().clone()),
            }
        }
        // Fairness: at most one round over the set per poll, then yield.
        let mut budget = self.len().max(1);
        loop {
            let next = lock(&self.ready.queue).pop_front();
            let Some(i) = next else {
                return Poll::Pending;
            };
            self.ready.queued[i].store(false, Ordering::Release);
            let waker = self.wakers[i].clone();
            let mut ccx = Context::from_waker(&waker);
            let mut slot = self.slot(i);
            if let Some(fut) = slot.as_mut().as_pin_mut() {
                if let Poll::Ready(v) = poll_one(fut, &mut ccx) {
                    slot.set(None);
                    self.remaining -= 1;
                    return Poll::Ready(Some((i, v)));
                }
            }
            budget -= 1;
            if budget == 0 {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
        }
    }

    /// [`FutureSet::poll_next_with`] with a plain poll.
    pub(crate) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<(usize, F::Output)>> {
        self.poll_next_with(cx, |f, cx| f.poll(cx))
    }
}

impl<F: Future + Unpin> FutureSet<F> {
    /// Takes future `i` out (not cancelled: the caller owns it now).
    pub(crate) fn take(&mut self, i: usize) -> Option<F> {
        let s = Pin::into_inner(self.slot(i));
        let f = s.take();
        if f.is_some() {
            self.remaining -= 1;
        }
        f
    }
}
