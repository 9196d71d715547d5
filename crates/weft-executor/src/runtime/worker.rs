//! The worker threads of a multi-threaded runtime: their scheduling loop ([`Worker`], polled by
//! `weft_reactor::block_on`), task picking (LIFO slot, local queue, global batches, stealing),
//! driving the reactor in the worker's own context, and the check that refuses `block_on`
//! inside a task.
//!
//! Who drives I/O: a worker that finds no task first polls the reactor with a zero timeout
//! (`weft_reactor::try_react`) *inside its loop*, so the tasks that poll wakes are scheduled
//! onto its own LIFO slot and local queue (no global queue, no unpark of another worker). If
//! that found nothing it goes on the idle list and blocks in the reactor as its driver (the wait
//! bounded by the next timer); whoever schedules work for it wakes it through [`SleepWake`],
//! which interrupts the poller. If another thread drives already, the worker parks in its
//! `block_on` as before. A busy worker polls the reactor (zero timeout) every
//! [`IO_INTERVAL`] tasks, then hands a surplus in its queue to a sleeping worker (`spread`):
//! that is also when the yields it queued on itself, which wake nobody (`Shared::after_push`),
//! get another worker.

use std::cell::Cell;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use weft_timer::Timers;

use super::config::ThreadHook;
use super::queue::Picker;
use super::shared::Shared;
use super::wake::SleepWake;
use crate::context::{self, Ctx, Spawner};
use crate::lock::lock;
use crate::task::{run_runnable, Runnable};

/// Tasks a worker runs per poll of its loop before returning `Pending` to `block_on`, which
/// then gets a chance to poll I/O and timers (it does so at least every
/// [`weft_reactor::IO_POLL_BUDGET`] self-wakes).
pub(crate) const WORKER_BUDGET: u32 = 16;
/// A busy worker polls the reactor (zero timeout, in its own context) after this many tasks.
pub(crate) const IO_INTERVAL: u32 = 61;

pub(super) fn worker_main(
    sh: Arc<Shared>,
    index: usize,
    timers: Option<Timers>,
    start: Option<ThreadHook>,
    stop: Option<ThreadHook>,
) {
    // Counted as exited however this thread ends, so `shutdown` never waits for a dead worker.
    let _exit = ExitGuard(&sh);
    let _t = timers.as_ref().map(|t| t.enter());
    let _c = context::enter(Ctx {
        spawner: Spawner::Multi(sh.clone()),
        local: None,
    });
    if let Some(f) = &start {
        f();
    }
    while !sh.closed.load(Ordering::Acquire) {
        // Tasks catch their own panics; this only guards against a panicking hook.
        let r = catch_unwind(AssertUnwindSafe(|| {
            weft_reactor::block_on(Worker {
                shared: sh.clone(),
                index,
                picker: Picker::new(index),
                searching: false,
                in_idle: false,
                ticks: 0,
                sleep_wake: None,
            })
        }));
        if r.is_ok() {
            break;
        }
    }
    if let Some(f) = &stop {
        f();
    }
}

/// Counts a worker thread as exited when dropped (also when it unwinds).
struct ExitGuard<'a>(&'a Shared);

impl Drop for ExitGuard<'_> {
    fn drop(&mut self) {
        *lock(&self.0.exited) += 1;
        self.0.exited_cv.notify_all();
    }
}

thread_local! {
    /// (runtime pointer, worker index) while this thread runs a worker loop poll.
    pub(super) static WORKER: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
    /// The LIFO slot of the worker running on this thread (only used with `lifo_slot(true)`).
    pub(super) static LIFO: Cell<Option<Runnable>> = const { Cell::new(None) };
    /// Set while the worker on this thread drives the reactor: tasks it wakes go to its own
    /// queues without waking another worker (it runs them next, and wakes one afterwards if it
    /// has more than it can run at once).
    pub(super) static DRIVING: Cell<bool> = const { Cell::new(false) };
}

/// Whether the worker on this thread is driving the reactor (see [`DRIVING`]).
pub(super) fn driving_here() -> bool {
    DRIVING.try_with(|d| d.get()).unwrap_or(false)
}

/// The idle-list waker of a worker: wakes its `block_on`, and interrupts the reactor's poller
/// if the worker is blocked in it.
impl Wake for SleepWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        SleepWake::wake(self, weft_reactor::notify);
    }
}

/// Clears [`DRIVING`] when dropped (also on unwind).
struct DrivingGuard;

impl Drop for DrivingGuard {
    fn drop(&mut self) {
        let _ = DRIVING.try_with(|d| d.set(false));
    }
}

/// Whether this thread is inside a worker's scheduling loop (running a task of a multi-threaded
/// runtime).
pub(crate) fn on_worker() -> bool {
    WORKER.try_with(|w| w.get().0 != 0).unwrap_or(false)
}

/// Panics if called from a task on a worker thread: blocking there stalls the worker and
/// deadlocks if the awaited work is queued on it (its LIFO slot cannot be stolen).
#[track_caller]
pub(crate) fn assert_not_on_worker(what: &str) {
    if on_worker() {
        panic!(
            "weft: {what} called inside a task on a worker thread of a multi-threaded Runtime:              blocking there stalls the worker and deadlocks on work queued on it; `.await`              the future instead, or move blocking code to spawn_blocking"
        );
    }
}

/// One worker's scheduling loop, driven by `weft_reactor::block_on` so that an idle worker parks
/// in the reactor (driving I/O and timers).
struct Worker {
    shared: Arc<Shared>,
    index: usize,
    /// LIFO streak, tick and random victim choice (`queue.rs`).
    picker: Picker,
    searching: bool,
    in_idle: bool,
    /// Tasks run by this worker (wrapping): every [`IO_INTERVAL`]-th polls the reactor.
    /// Other reactor polls (out of work) do not reset it: a worker whose batches end before
    /// the interval would otherwise only harvest I/O once it has run dry, and both workers
    /// then run dry together and one of them sleeps (tokio's `event_interval` ticks alike).
    ticks: u32,
    /// The idle-list waker (made once per `block_on`, whose waker it wraps).
    sleep_wake: Option<(Arc<SleepWake>, Waker)>,
}

impl Worker {
    /// The next task (see [`super::queue::RunQueues::pick`]).
    fn find_task(&mut self) -> Option<Runnable> {
        let sh = &*self.shared;
        let lifo = sh.lifo;
        LIFO.with(|l| {
            sh.queues
                .pick(&mut self.picker, lifo.then_some(l), || sh.notify())
        })
    }

    /// Drives the reactor once on this thread, in this worker's context (see the module
    /// docs); `None` if another thread drives it.
    fn react_here(&mut self, timeout: Option<Duration>) -> Option<std::io::Result<usize>> {
        self.react_here_unless(timeout, None)
    }

    /// [`Worker::react_here`]; with `woken`, checked again once the reactor lock is held
    /// (`weft_reactor::try_react_unless`): a worker that blocks as the driver publishes that
    /// before it takes the lock, and the notification its waker writes meanwhile may be
    /// consumed by the thread that held the lock.
    fn react_here_unless(
        &mut self,
        timeout: Option<Duration>,
        woken: Option<&dyn Fn() -> bool>,
    ) -> Option<std::io::Result<usize>> {
        DRIVING.with(|d| d.set(true));
        let _g = DrivingGuard;
        match woken {
            Some(w) => weft_reactor::try_react_unless(timeout, w),
            None => weft_reactor::try_react(timeout),
        }
    }

    /// After driving: tasks queued beyond the one this worker runs next go to another worker
    /// (the usual one-searcher rule applies).
    fn spread(&self) {
        if !self.shared.queues.local_is_empty(self.index) {
            self.shared.notify();
        }
    }

    /// The idle-list waker, made on first use from the `block_on` waker.
    fn sleep_waker(&mut self, cx: &Context<'_>) -> (Arc<SleepWake>, Waker) {
        let (sw, w) = self.sleep_wake.get_or_insert_with(|| {
            let sw = Arc::new(SleepWake::new(cx.waker().clone()));
            let w = Waker::from(sw.clone());
            (sw, w)
        });
        (sw.clone(), w.clone())
    }

    /// Leaves the idle list (if still on it) and becomes a searching worker.
    fn leave_idle(&mut self) {
        self.shared.idle.wake_up(self.index);
        self.in_idle = false;
        self.searching = true;
    }

    /// Leaves the searching state; true if this was the last searcher (see
    /// [`Idle::stop_searching`]).
    fn stop_searching(&mut self) -> bool {
        if self.searching {
            self.searching = false;
            self.shared.idle.stop_searching()
        } else {
            false
        }
    }
}

impl Future for Worker {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        if this.shared.closed.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        if this.in_idle {
            this.leave_idle();
        }
        let me = Arc::as_ptr(&this.shared) as usize;
        let prev = WORKER.with(|w| w.replace((me, this.index)));
        let _restore = RestoreWorker(prev);
        let mut budget = WORKER_BUDGET;
        // Whether this poll already polled the reactor after running out of tasks.
        let mut harvested = false;
        loop {
            if this.shared.closed.load(Ordering::Acquire) {
                return Poll::Ready(());
            }
            if budget == 0 {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            match this.find_task() {
                Some(r) => {
                    budget -= 1;
                    // The last searcher to find work wakes another worker if work is left.
                    if this.stop_searching() && this.shared.has_work() {
                        this.shared.notify();
                    }
                    run_runnable(r, &this.shared.cfg);
                    this.ticks = this.ticks.wrapping_add(1);
                    if this.ticks % IO_INTERVAL == 0 {
                        #[cfg(test)]
                        this.shared.interval_polls.fetch_add(1, Ordering::Relaxed);
                        // Fairness: a busy worker still harvests I/O and timers. Then the
                        // surplus (what that woke, and the yields `schedule` queued without a
                        // notify) goes to another worker.
                        let _ = this.react_here(Some(Duration::ZERO));
                        this.spread();
                    }
                }
                None => {
                    this.stop_searching();
                    if !harvested {
                        // Out of work: harvest ready I/O and due timers here first; what they
                        // wake lands in this worker's own queues.
                        harvested = true;
                        if let Some(Ok(n)) = this.react_here(Some(Duration::ZERO)) {
                            if n > 0 {
                                this.spread();
                                continue;
                            }
                        }
                    }
                    let (sw, waker) = this.sleep_waker(cx);
                    sw.reset();
                    this.shared.idle.sleep(this.index, waker);
                    this.in_idle = true;
                    if this.shared.closed.load(Ordering::SeqCst) {
                        return Poll::Ready(());
                    }
                    if this.shared.has_work() {
                        this.leave_idle();
                        continue;
                    }
                    if !Timers::current().clock().is_paused() {
                        // Block in the reactor as its driver, until I/O, a timer, or a notifier
                        // (through `sw`, which then interrupts the poller). A paused clock is
                        // left to `block_on`, which advances it when everything is idle.
                        let r = if sw.start_driving() {
                            #[cfg(test)]
                            if let Some(f) = super::tests::BEFORE_DRIVE.with(|h| h.take()) {
                                f();
                            }
                            this.react_here_unless(None, Some(&|| sw.is_woken()))
                        } else {
                            Some(Ok(0))
                        };
                        sw.stop_driving();
                        if let Some(Ok(_)) = r {
                            this.leave_idle();
                            this.spread();
                            continue;
                        }
                        // Another thread drives (or the poller failed): park in `block_on`.
                    }
                    return Poll::Pending;
                }
            }
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if self.in_idle {
            self.leave_idle();
        }
        self.stop_searching();
        // A task left in the LIFO slot goes to the global queue (or is dropped once shutdown
        // cancels, which cancels it).
        if let Some(r) = LIFO.try_with(|l| l.take()).ok().flatten() {
            self.shared.requeue(r);
        }
        // The shutdown check of this worker's quiet pushes (`Shared::after_push`): a task it
        // queued on itself after shutdown drained the queues is cancelled here.
        self.shared.settle();
    }
}

struct RestoreWorker((usize, usize));

impl Drop for RestoreWorker {
    fn drop(&mut self) {
        let _ = WORKER.try_with(|w| w.set(self.0));
    }
}
