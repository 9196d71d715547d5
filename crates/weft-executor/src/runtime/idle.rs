//! The worker sleep/notify protocol of a multi-threaded runtime.
//!
//! A worker that finds no task goes to sleep with [`Idle::sleep`] (which puts it on the sleeper
//! list, then issues a `SeqCst` fence), **then re-checks every queue**; whoever makes work
//! available pushes it, issues a `SeqCst` fence, then calls [`Idle::notify_fenced`]. With both
//! fences, either the sleeper's re-check sees the work or the notifier sees the sleeper, so no
//! wake-up is lost. A woken worker is counted as *searching* until it finds a task or gives up
//! ([`Idle::stop_searching`]); while some worker searches, `notify_fenced` wakes nobody (the
//! searcher will find the work), and the last searcher to find work wakes the next sleeper if
//! work is left (the caller's job), so a burst fans out one worker at a time.
//!
//! Written against `super::sync` so that `tests/loom.rs` runs this very file under loom.

use std::task::Waker;

use super::sync::{fence, lock, AtomicUsize, Mutex, Ordering};

/// The sleeping and searching workers of one runtime.
pub(crate) struct Idle {
    /// Sleeping workers: (index, the waker of its `block_on`).
    sleepers: Mutex<Vec<(usize, Waker)>>,
    num_sleeping: AtomicUsize,
    num_searching: AtomicUsize,
}

impl Idle {
    /// No worker sleeping or searching yet.
    pub(crate) fn new(workers: usize) -> Idle {
        Idle {
            sleepers: Mutex::new(Vec::with_capacity(workers)),
            num_sleeping: AtomicUsize::new(0),
            num_searching: AtomicUsize::new(0),
        }
    }

    /// Called after making work available and issuing a `SeqCst` fence: wakes one sleeping
    /// worker, counted as searching from now on, unless some worker is searching already.
    pub(crate) fn notify_fenced(&self) {
        if self.num_searching.load(Ordering::SeqCst) > 0
            || self.num_sleeping.load(Ordering::SeqCst) == 0
        {
            return;
        }
        let w = {
            let mut sleepers = lock(&self.sleepers);
            if self.num_searching.load(Ordering::SeqCst) > 0 {
                return;
            }
            match sleepers.pop() {
                Some((_, w)) => {
                    self.num_sleeping.fetch_sub(1, Ordering::SeqCst);
                    self.num_searching.fetch_add(1, Ordering::SeqCst);
                    w
                }
                None => return,
            }
        };
        w.wake();
    }

    /// Worker `index` found no work: it goes on the sleeper list with `waker` (the fence
    /// follows). The caller must then re-check every queue, and call [`Idle::wake_up`] if it
    /// finds work after all.
    pub(crate) fn sleep(&self, index: usize, waker: Waker) {
        {
            let mut sleepers = lock(&self.sleepers);
            sleepers.push((index, waker));
            self.num_sleeping.fetch_add(1, Ordering::SeqCst);
        }
        fence(Ordering::SeqCst);
    }

    /// Worker `index` runs again (it was woken, or its re-check found work): it leaves the
    /// sleeper list if it is still on it. Either way it is now counted as searching.
    pub(crate) fn wake_up(&self, index: usize) {
        let mut sleepers = lock(&self.sleepers);
        if let Some(pos) = sleepers.iter().position(|(i, _)| *i == index) {
            sleepers.swap_remove(pos);
            self.num_sleeping.fetch_sub(1, Ordering::SeqCst);
            self.num_searching.fetch_add(1, Ordering::SeqCst);
        }
        // Else a notifier took us off the list and already counted us as searching.
    }

    /// A searching worker stops searching (it found a task, or goes to sleep). True if it was
    /// the last searcher: then a fence orders the caller's following queue checks after the
    /// decrement, pairing with the notifier's fence.
    pub(crate) fn stop_searching(&self) -> bool {
        let last = self.num_searching.fetch_sub(1, Ordering::SeqCst) == 1;
        if last {
            fence(Ordering::SeqCst);
        }
        last
    }

    /// Wakes every sleeping worker (shutdown). Each is counted as searching, as
    /// [`Idle::notify_fenced`] counts the worker it wakes: it leaves that state itself, so the
    /// counters stay balanced instead of `num_searching` wrapping below zero.
    pub(crate) fn wake_all(&self) {
        let all = {
            let mut sleepers = lock(&self.sleepers);
            let all = std::mem::take(&mut *sleepers);
            self.num_sleeping.fetch_sub(all.len(), Ordering::SeqCst);
            self.num_searching.fetch_add(all.len(), Ordering::SeqCst);
            all
        };
        for (_, w) in all {
            w.wake();
        }
    }

    /// (sleeping, searching) workers.
    #[allow(dead_code)] // tests and diagnostics
    pub(crate) fn counts(&self) -> (usize, usize) {
        (
            self.num_sleeping.load(Ordering::SeqCst),
            self.num_searching.load(Ordering::SeqCst),
        )
    }
}
