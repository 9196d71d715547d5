//! The global reactor: the OS poller, the registered sources, and the reactor lock.

use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::sync::atomic::{fence, AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, TryLockError};
use std::task::Waker;
use std::time::Duration;

use slab::Slab;

use crate::error::{poller_error, register_error};
use crate::source::Source;
use crate::sys::{Event, Events, Poller};

/// Who currently holds the reactor lock (see [`Reactor::holder`]).
pub(crate) const HOLDER_NONE: u8 = 0;
/// A `block_on` thread holds the reactor lock.
pub(crate) const HOLDER_BLOCK_ON: u8 = 1;
/// The fallback driver thread holds the reactor lock.
pub(crate) const HOLDER_FALLBACK: u8 = 2;
/// An executor's worker holds the reactor lock through [`crate::try_react`]: it comes back to the
/// poller whenever it runs out of work, so `block_on` threads park without queuing for a
/// hand-off (which would cost a thread wake-up per release).
pub(crate) const HOLDER_WORKER: u8 = 3;

/// Events taken from the OS per wait.
const EVENTS_PER_WAIT: usize = 1024;

/// Locks a mutex, ignoring poisoning (the reactor's state stays consistent across panics because
/// wakers run inside `catch_unwind`).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What the reactor lock protects: the event buffer and scratch space for one batch.
struct Turn {
    events: Events,
    batch: Vec<(Arc<Source>, Event)>,
    wakers: Vec<Waker>,
}

/// The process-wide reactor.
pub(crate) struct Reactor {
    /// The OS poller. Only the holder of the reactor lock waits on it.
    poller: Poller,
    /// Bumped before every wait: lets the fallback thread see whether anyone drives I/O.
    ticker: AtomicUsize,
    /// Registered sources; the slab key is the poller key. Locked briefly per registration and
    /// once per batch of events (to look the batch's sources up), never across a syscall.
    sources: Mutex<Slab<Arc<Source>>>,
    /// Holding this mutex is "holding the reactor lock".
    turn: Mutex<Turn>,
    /// Which kind of thread holds the reactor lock (`HOLDER_*`).
    pub(crate) holder: AtomicU8,
    /// True from just before the holder computes its poller timeout until its wait returns:
    /// only then can a new earliest timer leave a thread waiting too long, so only then does
    /// the timer driver hook write the notifier (see `timer_glue::install_driver`).
    pub(crate) in_wait: AtomicBool,
    /// How many times the timer driver hook interrupted a waiting poller (a test hook).
    pub(crate) timer_notifies: AtomicUsize,
}

impl fmt::Debug for Reactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reactor")
            .field("ticker", &self.ticker.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

static REACTOR: OnceLock<Reactor> = OnceLock::new();
static INIT: Mutex<()> = Mutex::new(());

impl Reactor {
    /// Returns the global reactor, creating it (and registering it as the timer driver) on first
    /// use. Fails if the OS poller cannot be created (e.g. out of descriptors); a later call
    /// tries again.
    pub(crate) fn get() -> io::Result<&'static Reactor> {
        if let Some(r) = REACTOR.get() {
            return Ok(r);
        }
        let _init = lock(&INIT);
        if let Some(r) = REACTOR.get() {
            return Ok(r);
        }
        let poller = Poller::new().map_err(poller_error)?;
        let r = REACTOR.get_or_init(|| Reactor {
            poller,
            ticker: AtomicUsize::new(0),
            sources: Mutex::new(Slab::new()),
            turn: Mutex::new(Turn {
                events: Events::with_capacity(EVENTS_PER_WAIT),
                batch: Vec::new(),
                wakers: Vec::new(),
            }),
            holder: AtomicU8::new(HOLDER_NONE),
            in_wait: AtomicBool::new(false),
            timer_notifies: AtomicUsize::new(0),
        });
        crate::driver::on_reactor_created(r);
        Ok(r)
    }

    /// The reactor if it exists already (never creates it).
    pub(crate) fn existing() -> Option<&'static Reactor> {
        REACTOR.get()
    }

    /// Wakes the thread blocked in the poller, if any (coalesced).
    pub(crate) fn notify(&self) {
        // An error means the notifier is broken; the waiter still wakes on its next event or
        // timeout, and nothing better can be done from a waker.
        let _ = self.poller.notify();
    }

    /// Current value of the reactor ticker.
    pub(crate) fn ticker(&self) -> usize {
        self.ticker.load(Ordering::SeqCst)
    }

    /// Registers a descriptor (once, both directions, edge-triggered) and returns its source.
    ///
    /// The caller must call [`Reactor::remove_io`] before the descriptor is closed.
    pub(crate) fn insert_io(&self, fd: BorrowedFd<'_>, ready: bool) -> io::Result<Arc<Source>> {
        let raw: RawFd = fd.as_raw_fd();
        let source = {
            let mut sources = lock(&self.sources);
            let entry = sources.vacant_entry();
            let source = Arc::new(Source::new(raw, entry.key(), ready));
            entry.insert(source.clone());
            source
        };
        // SAFETY: `Async` deregisters the descriptor (`remove_io`) in its `Drop`/`into_inner`,
        // before the descriptor can be closed.
        if let Err(e) = unsafe { self.poller.add(raw, source.key) } {
            lock(&self.sources).remove(source.key);
            return Err(register_error(raw, e));
        }
        Ok(source)
    }

    /// Deregisters a source. `fd` is the descriptor as it is now (still open).
    pub(crate) fn remove_io(&self, source: &Source, fd: BorrowedFd<'_>) -> io::Result<()> {
        lock(&self.sources).try_remove(source.key);
        self.poller.delete(fd.as_raw_fd())
    }

    /// Tries to take the reactor lock without blocking. A lock poisoned by a panic is taken
    /// anyway: its state (an event buffer) is valid whatever the panic interrupted.
    pub(crate) fn try_lock(&'static self, holder: u8) -> Option<ReactorLock> {
        let turn = match self.turn.try_lock() {
            Ok(g) => g,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => return None,
        };
        self.holder.store(holder, Ordering::SeqCst);
        Some(ReactorLock {
            reactor: self,
            turn: Some(turn),
        })
    }
}

/// Proof of holding the reactor lock; `react` may only be called through it.
pub(crate) struct ReactorLock {
    reactor: &'static Reactor,
    turn: Option<MutexGuard<'static, Turn>>,
}

impl Drop for ReactorLock {
    fn drop(&mut self) {
        self.reactor.holder.store(HOLDER_NONE, Ordering::SeqCst);
        drop(self.turn.take());
        // Every release hands the lock to a parked block_on thread, so I/O never goes undriven
        // while some thread waits for it.
        crate::driver::handoff();
    }
}

impl ReactorLock {
    /// Waits for I/O events for at most `timeout` (`None`: until an event or a notification),
    /// also bounded by the earliest timer deadline, then fires due timers and wakes the wakers
    /// of every ready source of the batch. Returns how many wakers were woken and timers fired.
    ///
    /// `blocked`, if given, is the calling `block_on`'s state: it leaves the poller as soon as
    /// the wait returns, so wakers run by this very batch on this thread do not interrupt a
    /// poller nobody waits in.
    pub(crate) fn react(
        &mut self,
        timeout: Option<Duration>,
        blocked: Option<&crate::park::Shared>,
    ) -> io::Result<usize> {
        let r = self.reactor;
        let Some(turn) = self.turn.as_mut() else {
            return Ok(0);
        };
        let turn = &mut **turn;
        // Published before the timers are read for the timeout (Dekker with the timer hook,
        // which inserts, then reads `in_wait`): either the timeout sees the new timer or the
        // hook sees `in_wait` and interrupts the wait.
        r.in_wait.store(true, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        let timeout = crate::timer_glue::timer_bounded_timeout(timeout);
        r.ticker.fetch_add(1, Ordering::SeqCst);
        let res = r.poller.wait(&mut turn.events, timeout);
        r.in_wait.store(false, Ordering::SeqCst);
        if let Some(sh) = blocked {
            sh.leave_poller();
        }
        let mut fired = crate::timer_glue::process_timers();

        if res.is_ok() {
            {
                // One short critical section per batch: look the sources up, nothing else.
                let sources = lock(&r.sources);
                for ev in turn.events.iter() {
                    if let Some(s) = sources.get(ev.key) {
                        turn.batch.push((s.clone(), ev));
                    }
                }
            }
            for (source, ev) in turn.batch.drain(..) {
                source.set_ready(&ev, &mut turn.wakers);
            }
        }
        fired += turn.wakers.len();
        wake_all(turn.wakers.drain(..));
        res.map(|_| fired)
    }
}

/// Wakes every waker, containing panics from misbehaving wakers.
pub(crate) fn wake_all(wakers: impl Iterator<Item = Waker>) {
    for w in wakers {
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| w.wake())).is_err() {
            eprintln!("weft-reactor: a waker panicked (ignored)");
        }
    }
}
