//! `block_on`, the thread parker, reactor-lock hand-off and the fallback driver thread.

use std::cell::RefCell;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use crate::park::{Handoff, Parker, Shared};
use crate::reactor::{Reactor, ReactorLock, HOLDER_BLOCK_ON, HOLDER_FALLBACK, HOLDER_WORKER};
use crate::timer_glue;

/// How long a thread waits before re-checking a paused clock whose auto-advance is inhibited
/// (blocking work in flight): the guard's release is not a wake-up of its own.
const INHIBITED_RECHECK: Duration = Duration::from_millis(1);

/// How many consecutive self-wakes `block_on` tolerates before it polls I/O (zero timeout) and
/// processes timers anyway. A prime, so it does not resonate with common batch sizes.
pub const IO_POLL_BUDGET: u32 = 61;

/// Number of `block_on` calls currently running (on any thread).
static BLOCK_ON_COUNT: AtomicUsize = AtomicUsize::new(0);

/// Number of `block_on` calls running in passive mode ([`block_on_passive`]): they never drive.
static PASSIVE_COUNT: AtomicUsize = AtomicUsize::new(0);

/// Number of threads inside a `block_on` that have driven the reactor through [`try_react`]
/// (an executor's workers). While there are none, nobody comes back to the poller on their
/// own account, so the fallback thread must drive it for the passive threads, and for threads
/// that parked without queuing while a worker held the lock.
static WORKERS: AtomicUsize = AtomicUsize::new(0);

/// Set when a worker leaves (see [`WORKERS`]): threads may be parked without having queued for
/// a hand-off, counting on that worker to come back to the poller (it may have held the lock
/// when they parked, possibly a worker of another runtime), so the fallback thread takes the
/// reactor over at once. Cleared when a worker takes the reactor lock again (it will come
/// back) or no `block_on` runs.
static TAKEOVER: AtomicBool = AtomicBool::new(false);

/// How many times the fallback thread took the reactor over as the blocking driver while
/// `block_on` threads existed (a test hook, see [`__fallback_takeovers`]).
static TAKEOVERS: AtomicUsize = AtomicUsize::new(0);

/// How many times the fallback thread resumed from a blocking wait (a park or a poller wait):
/// its wake-ups (a test hook, see [`__fallback_wakes`]).
static FALLBACK_WAKES: AtomicUsize = AtomicUsize::new(0);

/// `block_on` threads parked because another thread held the reactor lock, oldest first.
/// Whoever releases the lock hands it to the oldest (see [`handoff`]).
fn waiters() -> &'static Handoff {
    static WAITERS: OnceLock<Handoff> = OnceLock::new();
    WAITERS.get_or_init(Handoff::new)
}

/// The fallback driver thread's parker.
static FALLBACK: OnceLock<Arc<Parker>> = OnceLock::new();

impl Wake for Shared {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // See `park`: either the thread sees `woken` and does not block in the poller, or we
        // see `io_blocked` and interrupt the poller.
        Shared::wake(self, || {
            if let Some(r) = Reactor::existing() {
                r.notify();
            }
        });
    }
}

thread_local! {
    /// Set during [`block_on_passive`]: this thread leaves the poller to the executor's workers.
    static PASSIVE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// Set once this thread drove the reactor through [`try_react`] inside a `block_on` (it is
    /// counted in [`WORKERS`] until that `block_on` returns).
    static IS_WORKER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// How many `block_on` calls are running on this thread (nested ones count).
    static DEPTH: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
    /// This thread's cached block_on state (taken while in use, so nested calls get a fresh one).
    static CACHE: RefCell<Option<(Arc<Shared>, Waker)>> = const { RefCell::new(None) };
}

/// Called once when the reactor is created: registers it as the timer driver and starts the
/// fallback driver thread.
pub(crate) fn on_reactor_created(r: &'static Reactor) {
    timer_glue::install_driver(r);
    let parker = FALLBACK.get_or_init(|| Arc::new(Parker::new())).clone();
    let spawned = std::thread::Builder::new()
        .name("weft-reactor".into())
        .spawn(move || fallback_main(r, &parker));
    if let Err(e) = spawned {
        // Without the fallback thread, I/O is still driven by every `block_on`.
        eprintln!("weft-reactor: cannot start the fallback driver thread: {e}");
    }
}

/// Hands the just-released reactor lock to the oldest parked `block_on` thread, if any.
pub(crate) fn handoff() {
    waiters().handoff();
}

fn push_waiter(sh: &Arc<Shared>) {
    waiters().push(sh);
}

fn remove_waiter(sh: &Shared) {
    waiters().remove(sh);
}

/// Decrements the block_on count when a `block_on` returns or unwinds.
struct CountGuard(Arc<Shared>);

impl Drop for CountGuard {
    fn drop(&mut self) {
        remove_waiter(&self.0);
        if self.0.take_baton() {
            handoff();
        }
        let outermost = DEPTH
            .try_with(|d| {
                d.set(d.get().saturating_sub(1));
                d.get() == 0
            })
            .unwrap_or(true);
        let worker_left = outermost && IS_WORKER.try_with(|w| w.replace(false)).unwrap_or(false);
        if worker_left {
            WORKERS.fetch_sub(1, Ordering::SeqCst);
            // Threads that parked without queuing while this worker held the lock wait for it
            // to come back, which it never will: the fallback thread drives until a live
            // worker takes the lock again.
            TAKEOVER.store(true, Ordering::SeqCst);
        }
        if BLOCK_ON_COUNT.fetch_sub(1, Ordering::SeqCst) == 1 || worker_left {
            // Nobody runs block_on any more (or nobody comes back to the poller): the fallback
            // thread takes over I/O right away.
            unpark_fallback();
        }
    }
}

fn unpark_fallback() {
    if let Some(p) = FALLBACK.get() {
        p.unpark();
    }
}

/// Whether the fallback thread should drive the reactor as its blocking driver: nobody runs
/// `block_on`, a worker left while threads may be parked behind it (see [`TAKEOVER`]), or no
/// worker will come back to the poller while passive `block_on` threads depend on someone
/// driving.
fn fallback_should_drive() -> bool {
    BLOCK_ON_COUNT.load(Ordering::SeqCst) == 0
        || TAKEOVER.load(Ordering::SeqCst)
        || (WORKERS.load(Ordering::SeqCst) == 0 && PASSIVE_COUNT.load(Ordering::SeqCst) > 0)
}

/// How many times the fallback thread has taken the reactor over as its blocking driver while
/// some `block_on` was running (because no executor worker was left to come back to the
/// poller). A test hook; not part of the API.
#[doc(hidden)]
pub fn __fallback_takeovers() -> usize {
    TAKEOVERS.load(Ordering::SeqCst)
}

/// How many times the fallback thread has woken up (returned from a park or from a poller wait
/// it started), whatever woke it. While executor workers drive the reactor it sleeps without a
/// timeout, so this stays put. A test hook; not part of the API.
#[doc(hidden)]
pub fn __fallback_wakes() -> usize {
    FALLBACK_WAKES.load(Ordering::SeqCst)
}

/// How many times inserting a new earliest global timer interrupted a thread waiting in the
/// poller. A test hook; not part of the API.
#[doc(hidden)]
pub fn __timer_notifies() -> usize {
    Reactor::existing().map_or(0, |r| r.timer_notifies.load(Ordering::SeqCst))
}

/// How many poller waits have started (the reactor's ticker). A test hook; not part of the API.
#[doc(hidden)]
pub fn __poller_waits() -> usize {
    Reactor::existing().map_or(0, |r| r.ticker())
}

/// Whether a plain `block_on` thread (not an executor worker, not the fallback thread) is
/// waiting in the reactor's poller right now. A test hook; not part of the API.
#[doc(hidden)]
pub fn __block_on_in_poller_wait() -> bool {
    Reactor::existing().is_some_and(|r| {
        r.in_wait.load(Ordering::SeqCst) && r.holder.load(Ordering::SeqCst) == HOLDER_BLOCK_ON
    })
}

/// Runs `fut` to completion on the current thread, driving I/O and timers while it waits.
///
/// While the future is pending, the thread parks *in the reactor* when it can take the reactor
/// lock: it waits in the OS poller with a timeout no longer than the next timer deadline, so this
/// one thread drives sockets, timers and the future. If another thread already drives the reactor,
/// this thread parks cheaply and is woken by its waker (or handed the reactor lock when the driver
/// leaves). A waker called from another thread unparks this thread, and interrupts the poller
/// with `notify()` only if this thread may be blocked in it; a wake-up is never lost.
///
/// Fairness: if the future keeps waking itself, `block_on` still polls I/O (zero timeout) and
/// processes timers after every [`IO_POLL_BUDGET`] consecutive polls, so busy work cannot starve
/// socket and timer wake-ups. Except on a thread that drives the reactor through
/// [`try_react`] (an executor worker, which polls I/O in its own context): there only this
/// thread's own non-global timers are processed.
///
/// Virtual time: if [`weft_timer::Timers::current`] is paused and the future is idle (a zero-timeout
/// I/O poll found nothing to do), `block_on` advances the virtual clock to the next deadline
/// instead of sleeping.
///
/// ```
/// assert_eq!(weft_reactor::block_on(async { 1 + 1 }), 2);
/// ```
pub fn block_on<T>(fut: impl Future<Output = T>) -> T {
    // Without a reactor (the OS poller could not be created) `block_on` still runs futures
    // and timers; only I/O registration fails, with an error saying why.
    let reactor = Reactor::get().ok();
    let (sh, waker) = CACHE.with(|c| c.borrow_mut().take()).unwrap_or_else(|| {
        let sh = Arc::new(Shared::new());
        let waker = Waker::from(sh.clone());
        (sh, waker)
    });
    BLOCK_ON_COUNT.fetch_add(1, Ordering::SeqCst);
    let _ = DEPTH.try_with(|d| d.set(d.get() + 1));
    let guard = CountGuard(sh.clone());

    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(&waker);
    let mut self_wakes = 0u32;
    let out = loop {
        sh.reset();
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            break v;
        }
        if sh.is_woken() {
            // The future woke itself (or was woken) while being polled: poll it again, but not
            // forever without looking at I/O and timers.
            self_wakes += 1;
            if self_wakes >= IO_POLL_BUDGET {
                self_wakes = 0;
                if is_worker() {
                    // An executor worker polls I/O in its own context (every few dozen
                    // tasks): polling here, outside its loop, would send every woken task
                    // through its global queue and wake another worker. Only timers no
                    // driver serves (this thread's own) are due here.
                    timer_glue::process_current_only();
                } else {
                    poll_io_now(reactor);
                }
            }
            continue;
        }
        self_wakes = 0;
        wait_until_woken(reactor, &sh);
    };
    drop(guard);
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.is_none() {
            *c = Some((sh, waker));
        }
    });
    out
}

/// [`block_on`] for a thread whose I/O is driven by an executor's workers (which drive the
/// reactor through [`try_react`] whenever they run out of work): while the future is pending,
/// the thread parks until its waker fires, without taking the reactor lock or queuing for it.
/// So the wakers of the tasks it waits for run on the workers, in their context, instead of on
/// this thread (which would send every woken task through a global queue and a thread
/// wake-up). While no worker exists, the fallback thread drives instead. A paused clock is
/// still advanced when this thread and the reactor are idle.
///
/// ```
/// assert_eq!(weft_reactor::block_on_passive(async { 1 + 1 }), 2);
/// ```
pub fn block_on_passive<T>(fut: impl Future<Output = T>) -> T {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = PASSIVE.try_with(|p| p.set(self.0));
        }
    }
    struct Counted;
    impl Drop for Counted {
        fn drop(&mut self) {
            PASSIVE_COUNT.fetch_sub(1, Ordering::SeqCst);
        }
    }
    let _r = Restore(PASSIVE.with(|p| p.replace(true)));
    PASSIVE_COUNT.fetch_add(1, Ordering::SeqCst);
    let _c = Counted;
    if WORKERS.load(Ordering::SeqCst) == 0 {
        // Nobody may come back to the poller for us: let the fallback thread drive.
        unpark_fallback();
    }
    block_on(fut)
}

/// Whether this thread drove the reactor through [`try_react`] inside its running `block_on`
/// (an executor worker, see [`IS_WORKER`]).
fn is_worker() -> bool {
    IS_WORKER.try_with(|w| w.get()).unwrap_or(false)
}

/// A worker thread took the reactor lock (through `try_react` or its `block_on`): it comes
/// back to the poller, so the fallback thread may stop driving for threads parked behind a
/// worker that left ([`TAKEOVER`]). Without this, a fallback thread that won the lock back
/// between a worker's `block_on` drive and its next `try_react` kept the reactor for good.
fn clear_takeover_if_worker() {
    if is_worker() && TAKEOVER.load(Ordering::Relaxed) {
        TAKEOVER.store(false, Ordering::SeqCst);
    }
}

fn is_passive() -> bool {
    PASSIVE.try_with(|p| p.get()).unwrap_or(false)
}

/// A zero-timeout I/O poll plus timer processing, used by the fairness rule.
fn poll_io_now(reactor: Option<&'static Reactor>) {
    match reactor.and_then(|r| r.try_lock(HOLDER_BLOCK_ON)) {
        Some(mut l) => {
            let _ = l.react(Some(Duration::ZERO), None);
        }
        None => {
            // Another thread drives I/O and the global timers; ours may be thread-local.
            timer_glue::process_current_only();
        }
    }
}

/// How long a thread parked outside the poller may sleep.
fn park_timeout() -> Option<Duration> {
    if timer_glue::current_is_paused() && timer_glue::current_is_inhibited() {
        return Some(INHIBITED_RECHECK);
    }
    timer_glue::current_only_timeout()
}

/// Parks the thread until `sh.woken` is set, driving the reactor if the lock is free.
fn wait_until_woken(reactor: Option<&'static Reactor>, sh: &Arc<Shared>) {
    loop {
        if sh.is_woken() {
            if sh.take_baton() {
                handoff();
            }
            return;
        }
        let passive = is_passive();
        if let Some(l) = reactor
            .filter(|_| !passive)
            .and_then(|r| r.try_lock(HOLDER_BLOCK_ON))
        {
            sh.take_baton();
            clear_takeover_if_worker();
            drive(l, sh);
            return;
        }
        if let Some(reactor) =
            reactor.filter(|r| !passive && r.holder.load(Ordering::SeqCst) != HOLDER_WORKER)
        {
            // Someone else drives. Queue up for a hand-off, then re-check the lock so a release
            // that happened before we queued is not missed. (An executor worker driving through
            // `try_react` returns to the poller whenever it runs out of work: we park without
            // queuing, and its release wakes nobody. If it never returns, the fallback thread
            // polls the reactor when it sees nobody did.)
            push_waiter(sh);
            if let Some(l) = reactor.try_lock(HOLDER_BLOCK_ON) {
                remove_waiter(sh);
                sh.take_baton();
                clear_takeover_if_worker();
                drive(l, sh);
                return;
            }
            if reactor.holder.load(Ordering::SeqCst) == HOLDER_FALLBACK {
                // The fallback thread yields the lock to block_on threads when notified.
                reactor.notify();
            }
        }
        if timer_glue::current_is_paused() && !sh.is_woken() && timer_glue::advance_current() {
            // The driver polls I/O for us; with nothing else to do, virtual time jumps ahead.
            remove_waiter(sh);
            continue;
        }
        sh.parker.park(park_timeout());
        remove_waiter(sh);
        timer_glue::process_current_only();
    }
}

/// Holds the reactor lock and waits in the poller until this thread's future is woken.
fn drive(mut l: ReactorLock, sh: &Shared) {
    while sh.enter_poller() {
        let mut timeout = None;
        if timer_glue::current_is_paused() {
            let _ = l.react(Some(Duration::ZERO), Some(sh));
            if sh.is_woken() {
                break;
            }
            if timer_glue::advance_current() {
                continue;
            }
            if timer_glue::current_is_inhibited() {
                timeout = Some(INHIBITED_RECHECK);
            }
            if !sh.enter_poller() {
                break;
            }
        }
        // `react` clears `io_blocked` as soon as its wait returns.
        if let Err(e) = l.react(timeout, Some(sh)) {
            // A broken poller cannot be fixed here; avoid spinning on it.
            eprintln!("weft-reactor: poller wait failed: {e}");
            sh.leave_poller();
            drop(l);
            sh.parker.park(Some(Duration::from_millis(10)));
            return;
        }
    }
    sh.leave_poller();
    drop(l);
}

/// Drives the reactor once on the calling thread, if no other thread is driving it.
///
/// This is the hook for an executor whose worker ran out of work and wants to drive I/O itself
/// *while keeping its worker context*: wakers fired here (socket readiness, due timers) run on
/// this thread, so a waker that schedules onto "the current worker's local queue" does exactly
/// that, instead of pushing to a global queue and unparking another worker.
///
/// - `timeout`: `Some(Duration::ZERO)` harvests ready events without blocking (one
///   `epoll_wait` syscall, nothing else); `None` blocks until an event, a due timer or
///   [`notify`]; `Some(d)` blocks at most `d`. The wait is always also bounded by the next timer
///   deadline.
/// - Returns `None` without doing anything when another thread holds the reactor (it is
///   driving; the caller should park on its own means), else `Some(Ok(n))` with the number of
///   wakers woken and timers fired, or `Some(Err(_))` if the poller failed.
///
/// While a thread drives through `try_react`, other threads' `block_on` park without queuing
/// for a hand-off of the reactor lock: the caller is expected to come back whenever it runs out
/// of work (an executor worker). While such workers exist the fallback thread sleeps, as tokio
/// has no watchdog either: a task that blocks its worker for long delays I/O for the threads
/// parked meanwhile until a worker comes back to the poller (a busy one does every few dozen
/// tasks; debug mode's slow-poll warning names the blocking task).
///
/// A thread blocked in here for a long time is woken only by I/O, timers or [`notify`]: an
/// executor that schedules work onto it from another thread must call [`notify`] (cheap:
/// coalesced, one `eventfd` write at most per wait). When the call returns, the reactor lock
/// is handed to a parked `block_on` thread if one waits for it.
///
/// ```
/// use std::time::Duration;
/// // Nothing registered, nothing due: returns at once with no wake-ups.
/// if let Some(r) = weft_reactor::try_react(Some(Duration::ZERO)) {
///     assert_eq!(r.unwrap(), 0);
/// }
/// ```
pub fn try_react(timeout: Option<Duration>) -> Option<std::io::Result<usize>> {
    try_react_inner(timeout, None)
}

/// [`try_react`] for a caller that published, *before* taking the reactor lock, that it is
/// about to block in the poller (so its wakers interrupt the poller with [`notify`]), and
/// checked then that it was not woken: once the lock is held, `woken` is checked again, and if
/// it returns true the call returns `Some(Ok(0))` without waiting.
///
/// The second check is what makes that hand-shake sound: a notification written for this
/// caller between its first check and its taking the lock can be consumed by the thread that
/// held the lock meanwhile (one poller serves every thread), and this caller would then block
/// with its wake-up already spent. The waker stores its flag before it notifies, and the other
/// thread consumed the notification before releasing the lock, so the check under the lock
/// sees the flag.
///
/// ```
/// use std::time::Duration;
/// // Already woken: returns at once without polling (if it got the lock at all).
/// if let Some(r) = weft_reactor::try_react_unless(None, &|| true) {
///     assert_eq!(r.unwrap(), 0);
/// }
/// ```
pub fn try_react_unless(
    timeout: Option<Duration>,
    woken: &dyn Fn() -> bool,
) -> Option<std::io::Result<usize>> {
    try_react_inner(timeout, Some(woken))
}

fn try_react_inner(
    timeout: Option<Duration>,
    woken: Option<&dyn Fn() -> bool>,
) -> Option<std::io::Result<usize>> {
    let reactor = match Reactor::get() {
        Ok(r) => r,
        Err(e) => return Some(Err(e)),
    };
    let in_block_on = DEPTH.try_with(|d| d.get() > 0).unwrap_or(false);
    if in_block_on && !IS_WORKER.with(|w| w.replace(true)) {
        // This thread now counts as a worker until its `block_on` returns (`CountGuard`).
        WORKERS.fetch_add(1, Ordering::SeqCst);
        TAKEOVER.store(false, Ordering::SeqCst);
    }
    let Some(mut l) = reactor.try_lock(HOLDER_WORKER) else {
        if reactor.holder.load(Ordering::SeqCst) == HOLDER_FALLBACK {
            // The fallback thread yields the lock when notified.
            reactor.notify();
        }
        return None;
    };
    if in_block_on {
        clear_takeover_if_worker();
    }
    if woken.is_some_and(|w| w()) {
        return Some(Ok(0));
    }
    Some(l.react(timeout, None))
}

/// Interrupts the thread waiting in the reactor's poller (in [`block_on`] or [`try_react`]), if
/// any, so it re-checks its work. Coalesced: many calls before that thread wakes cost one
/// syscall. A no-op before the reactor exists.
pub fn notify() {
    if let Some(r) = Reactor::existing() {
        r.notify();
    }
}

/// The "weft-reactor" thread: drives I/O and timers while no `block_on` runs (or no worker is
/// left for passive ones); while workers exist it sleeps with no timeout; while only plain
/// `block_on` threads run, it polls (zero timeout, with back-off) when the reactor seems not to
/// be driven by anyone.
fn fallback_main(r: &'static Reactor, me: &Parker) {
    const MIN: Duration = Duration::from_micros(50);
    const MAX: Duration = Duration::from_millis(10);
    let mut backoff = MIN;
    let mut last_tick = r.ticker();
    loop {
        if fallback_should_drive() {
            if let Some(mut l) = r.try_lock(HOLDER_FALLBACK) {
                if BLOCK_ON_COUNT.load(Ordering::SeqCst) > 0 {
                    TAKEOVERS.fetch_add(1, Ordering::SeqCst);
                }
                // After publishing HOLDER_FALLBACK, re-check for block_on threads (they notify
                // the poller when they see us holding the lock) and for workers (`try_react`
                // notifies us too).
                let mut failed = false;
                while fallback_should_drive() && waiters().is_empty() {
                    let r = l.react(None, None);
                    FALLBACK_WAKES.fetch_add(1, Ordering::SeqCst);
                    if let Err(e) = r {
                        eprintln!("weft-reactor: poller wait failed: {e}");
                        failed = true;
                        break;
                    }
                }
                if BLOCK_ON_COUNT.load(Ordering::SeqCst) == 0 {
                    TAKEOVER.store(false, Ordering::SeqCst);
                }
                drop(l);
                if failed {
                    // Do not spin on a broken poller.
                    me.park(Some(MAX));
                    FALLBACK_WAKES.fetch_add(1, Ordering::SeqCst);
                }
                backoff = MIN;
                continue;
            }
            if r.holder.load(Ordering::SeqCst) == HOLDER_WORKER
                && WORKERS.load(Ordering::SeqCst) > 0
            {
                // A live worker drives and comes back to the poller (taking the lock clears
                // TAKEOVER); if it leaves instead, its leaving unparks us. (A `try_react`
                // outside any `block_on` counts as no worker: its release unparks nobody, so
                // that case keeps the back-off.)
                me.park(None);
            } else {
                me.park(Some(backoff));
            }
            FALLBACK_WAKES.fetch_add(1, Ordering::SeqCst);
        } else if WORKERS.load(Ordering::SeqCst) > 0 {
            // Executor workers drive: a busy one polls every few dozen tasks, an idle one
            // blocks in the poller, so nobody needs this thread until the last worker leaves
            // or a passive `block_on` starts with none left, and both unpark it (a task that
            // blocks its worker delays I/O as in tokio; see `try_react`). Sleep, no timeout.
            me.park(None);
            FALLBACK_WAKES.fetch_add(1, Ordering::SeqCst);
            backoff = MIN;
            last_tick = r.ticker();
            continue;
        } else {
            me.park(Some(backoff));
            FALLBACK_WAKES.fetch_add(1, Ordering::SeqCst);
            let t = r.ticker();
            if t == last_tick && BLOCK_ON_COUNT.load(Ordering::SeqCst) > 0 {
                // Nobody drove the reactor since our last look: harvest events ourselves.
                if let Some(mut l) = r.try_lock(HOLDER_FALLBACK) {
                    let _ = l.react(Some(Duration::ZERO), None);
                }
            }
            last_tick = r.ticker();
        }
        backoff = (backoff * 2).min(MAX);
    }
}
