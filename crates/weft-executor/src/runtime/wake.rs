//! The waker a sleeping worker leaves on the idle list, and its handshake with the reactor.
//!
//! A worker that runs out of work may block *in the reactor* (`weft_reactor::try_react(None)`)
//! as its driver instead of parking. A notifier that schedules work for it must then interrupt
//! the poller, which a plain unpark does not do. The worker stores `driving` and then reads
//! `woken`; the waker stores `woken` and then reads `driving` (each pair separated by a `SeqCst`
//! fence, as in `idle.rs`): either the worker sees `woken` and does not block, or the waker sees
//! `driving` and interrupts the poller. A worker that is not driving is woken through `inner`
//! (the waker of the worker's `block_on`, which unparks it).
//!
//! Written against `super::sync` so that `tests/loom.rs` runs this very file under loom; the
//! interrupt is a parameter for the same reason.

use std::task::Waker;

use super::sync::{fence, AtomicBool, Ordering};

/// One worker's sleep waker state.
pub(crate) struct SleepWake {
    woken: AtomicBool,
    driving: AtomicBool,
    /// Wakes the worker's `block_on` (unparks the thread if it parked outside the reactor).
    inner: Waker,
}

impl SleepWake {
    /// A waker state that wakes `inner` (the worker's `block_on`).
    pub(crate) fn new(inner: Waker) -> SleepWake {
        SleepWake {
            woken: AtomicBool::new(false),
            driving: AtomicBool::new(false),
            inner,
        }
    }

    /// Before going on the idle list: forget earlier wake-ups.
    pub(crate) fn reset(&self) {
        self.woken.store(false, Ordering::SeqCst);
    }

    /// Whether the waker ran since the last [`reset`](Self::reset) (checked again under the
    /// reactor lock before blocking, see `Worker::react_here_unless`).
    pub(crate) fn is_woken(&self) -> bool {
        self.woken.load(Ordering::SeqCst)
    }

    /// The waker: marks the worker woken, wakes its `block_on`, and calls `interrupt` (the
    /// reactor's `notify`) only if the worker may be blocked in the poller.
    pub(crate) fn wake(&self, interrupt: impl FnOnce()) {
        self.woken.store(true, Ordering::SeqCst);
        self.inner.wake_by_ref();
        fence(Ordering::SeqCst);
        if self.driving.load(Ordering::SeqCst) {
            interrupt();
        }
    }

    /// About to block in the reactor: publishes that, and returns false if the worker was
    /// woken meanwhile (then it must not block). Call [`stop_driving`](Self::stop_driving)
    /// after the wait either way.
    pub(crate) fn start_driving(&self) -> bool {
        self.driving.store(true, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        !self.woken.load(Ordering::SeqCst)
    }

    /// The reactor wait returned: wakers no longer need to interrupt it.
    pub(crate) fn stop_driving(&self) {
        self.driving.store(false, Ordering::SeqCst);
    }
}
