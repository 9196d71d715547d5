//! The park/hand-off protocol of `block_on` threads, written against a `sync` facade so that
//! `tests/loom.rs` model-checks this very code under `--cfg loom`.
//!
//! Three pieces:
//!
//! - [`Parker`]: a thread parker; an `unpark` before `park` makes `park` return at once.
//! - [`Shared`]: one `block_on`'s wake-up state. Its waker stores `woken` and then reads
//!   `io_blocked`; the thread about to block in the poller stores `io_blocked` and then reads
//!   `woken` (all SeqCst). So either the thread sees `woken` and does not block, or the waker
//!   sees `io_blocked` and interrupts the poller: no lost wake-up, and a wake from the driving
//!   thread itself (after its wait returned) costs no syscall.
//! - [`Handoff`]: the FIFO of threads parked because another thread holds the reactor lock.
//!   Whoever releases the lock pops the oldest and gives it the *baton* (set under the queue's
//!   lock, so a waiter that finds itself dequeued is sure to see it and passes it on if it no
//!   longer needs the reactor).

use std::time::Duration;

#[cfg(loom)]
use loom::sync::{
    atomic::{fence, AtomicBool, AtomicU8, AtomicUsize, Ordering},
    Condvar, Mutex, MutexGuard,
};
#[cfg(not(loom))]
use std::sync::{
    atomic::{fence, AtomicBool, AtomicU8, AtomicUsize, Ordering},
    Condvar, Mutex, MutexGuard,
};
// `Arc` stays std's: the reference counts are not what the model checks.
use std::sync::Arc;

use crate::waitlist::{WaitList, NOT_QUEUED};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

const EMPTY: u8 = 0;
const NOTIFIED: u8 = 1;
const PARKED: u8 = 2;

/// A thread parker: `unpark` before `park` makes `park` return at once.
#[derive(Debug)]
pub struct Parker {
    state: AtomicU8,
    mutex: Mutex<()>,
    cv: Condvar,
}

impl Default for Parker {
    fn default() -> Self {
        Self::new()
    }
}

impl Parker {
    /// A parker with no pending notification.
    pub fn new() -> Parker {
        Parker {
            state: AtomicU8::new(EMPTY),
            mutex: Mutex::new(()),
            cv: Condvar::new(),
        }
    }

    /// Blocks until unparked or `timeout` passes (it may also return early; callers re-check).
    pub fn park(&self, timeout: Option<Duration>) {
        if self
            .state
            .compare_exchange(NOTIFIED, EMPTY, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            return;
        }
        if timeout == Some(Duration::ZERO) {
            return;
        }
        let mut g = lock(&self.mutex);
        if self
            .state
            .compare_exchange(EMPTY, PARKED, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            // Notified between the fast path and here.
            self.state.store(EMPTY, Ordering::SeqCst);
            return;
        }
        #[cfg(loom)]
        if timeout.is_some() {
            // loom has no time: a timed park is modelled as one that times out at once.
            self.state.store(EMPTY, Ordering::SeqCst);
            return;
        }
        let deadline = timeout.and_then(|t| std::time::Instant::now().checked_add(t));
        loop {
            g = match deadline {
                None => self.cv.wait(g).unwrap_or_else(|e| e.into_inner()),
                Some(d) => {
                    let now = std::time::Instant::now();
                    if now >= d {
                        // Timed out: consume a racing notification too (the caller re-checks).
                        self.state.store(EMPTY, Ordering::SeqCst);
                        return;
                    }
                    self.wait_timeout(g, d - now)
                }
            };
            if self
                .state
                .compare_exchange(NOTIFIED, EMPTY, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
            {
                return;
            }
        }
    }

    #[cfg(not(loom))]
    fn wait_timeout<'a>(&self, g: MutexGuard<'a, ()>, d: Duration) -> MutexGuard<'a, ()> {
        self.cv
            .wait_timeout(g, d)
            .unwrap_or_else(|e| e.into_inner())
            .0
    }

    #[cfg(loom)]
    fn wait_timeout<'a>(&self, g: MutexGuard<'a, ()>, _d: Duration) -> MutexGuard<'a, ()> {
        g // unreachable under loom: timed parks return before waiting
    }

    /// Wakes the parked thread (or makes its next `park` return at once).
    pub fn unpark(&self) {
        if self.state.swap(NOTIFIED, Ordering::SeqCst) == PARKED {
            // Taking the mutex orders this notify after the parker's wait started.
            drop(lock(&self.mutex));
            self.cv.notify_one();
        }
    }
}

/// One `block_on`'s wake-up state, shared with its waker.
#[derive(Debug)]
pub struct Shared {
    /// Parks the thread while it is not in the poller.
    pub parker: Parker,
    woken: AtomicBool,
    io_blocked: AtomicBool,
    baton: AtomicBool,
    /// This thread's key in its [`Handoff`] queue (`NOT_QUEUED` if absent); accessed under the
    /// queue's lock.
    wait_key: AtomicUsize,
}

impl Default for Shared {
    fn default() -> Self {
        Self::new()
    }
}

impl Shared {
    /// Fresh state: not woken, not in the poller, no baton.
    pub fn new() -> Shared {
        Shared {
            parker: Parker::new(),
            woken: AtomicBool::new(false),
            io_blocked: AtomicBool::new(false),
            baton: AtomicBool::new(false),
            wait_key: AtomicUsize::new(NOT_QUEUED),
        }
    }

    /// The waker: marks the future woken, unparks the thread, and calls `interrupt_poller`
    /// only if the thread may be blocked in the poller.
    pub fn wake(&self, interrupt_poller: impl FnOnce()) {
        self.woken.store(true, Ordering::SeqCst);
        self.parker.unpark();
        // A store-then-load on two locations on each side (Dekker): the SeqCst fences are what
        // forbid both loads from missing the other side's store (loom checks exactly this;
        // SeqCst accesses without fences are not enough for it).
        fence(Ordering::SeqCst);
        if self.io_blocked.load(Ordering::SeqCst) {
            interrupt_poller();
        }
    }

    /// Whether the waker ran since the last [`reset`](Self::reset).
    pub fn is_woken(&self) -> bool {
        self.woken.load(Ordering::SeqCst)
    }

    /// Before polling the future: forget earlier wake-ups.
    pub fn reset(&self) {
        self.woken.store(false, Ordering::SeqCst);
    }

    /// About to block in the poller: publishes that (so wakers interrupt it) and returns false
    /// if the future was woken meanwhile, in which case the caller must not block.
    pub fn enter_poller(&self) -> bool {
        self.io_blocked.store(true, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        !self.woken.load(Ordering::SeqCst)
    }

    /// The poller wait returned: wakers no longer need to interrupt it.
    pub fn leave_poller(&self) {
        self.io_blocked.store(false, Ordering::SeqCst);
    }

    /// Takes the baton (a hand-off of the reactor lock), if this thread was given one.
    pub fn take_baton(&self) -> bool {
        self.baton.swap(false, Ordering::SeqCst)
    }
}

/// The queue of threads waiting to be handed the reactor lock, oldest first.
#[derive(Default)]
pub struct Handoff {
    waiters: Mutex<WaitList<Arc<Shared>>>,
}

impl std::fmt::Debug for Handoff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handoff").finish_non_exhaustive()
    }
}

impl Handoff {
    /// An empty queue.
    pub fn new() -> Handoff {
        Handoff::default()
    }

    /// Queues `sh` (no effect if it is queued already).
    pub fn push(&self, sh: &Arc<Shared>) {
        let mut waiters = lock(&self.waiters);
        if sh.wait_key.load(Ordering::Relaxed) == NOT_QUEUED {
            let key = waiters.push_back(sh.clone());
            sh.wait_key.store(key, Ordering::Relaxed);
        }
    }

    /// Dequeues `sh` if it is still queued.
    pub fn remove(&self, sh: &Shared) {
        let mut waiters = lock(&self.waiters);
        let key = sh.wait_key.swap(NOT_QUEUED, Ordering::Relaxed);
        if key != NOT_QUEUED {
            waiters.remove(key);
        }
    }

    /// Whether nobody waits.
    pub fn is_empty(&self) -> bool {
        lock(&self.waiters).is_empty()
    }

    /// The reactor lock was just released: gives the baton to the oldest waiter and unparks it.
    pub fn handoff(&self) {
        let next = {
            let mut waiters = lock(&self.waiters);
            let next = waiters.pop_front();
            // Set while the queue is locked: a waiter that finds itself gone from the queue
            // (`remove` takes the same lock) is then sure to see the baton. Set after
            // unlocking, the waiter could return in between and the hand-off would be lost.
            if let Some(sh) = &next {
                sh.wait_key.store(NOT_QUEUED, Ordering::Relaxed);
                sh.baton.store(true, Ordering::SeqCst);
            }
            next
        };
        if let Some(sh) = next {
            sh.parker.unpark();
        }
    }
}
