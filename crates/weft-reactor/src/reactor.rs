//! The global reactor: one `polling::Poller`, a slab of registered sources, and the reactor lock.

use std::fmt;
use std::io;
use std::os::fd::{BorrowedFd, RawFd};
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use polling::{Event, Events, Poller};
use slab::Slab;

/// Index of the read direction in [`Source::state`].
pub(crate) const READ: usize = 0;
/// Index of the write direction in [`Source::state`].
pub(crate) const WRITE: usize = 1;

/// Who currently holds the reactor lock (see [`Reactor::holder`]).
pub(crate) const HOLDER_NONE: u8 = 0;
/// A `block_on` thread holds the reactor lock.
pub(crate) const HOLDER_BLOCK_ON: u8 = 1;
/// The fallback driver thread holds the reactor lock.
pub(crate) const HOLDER_FALLBACK: u8 = 2;

/// Locks a mutex, ignoring poisoning (the reactor's state stays consistent across panics because
/// wakers are always invoked outside the locks).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The process-wide reactor.
pub(crate) struct Reactor {
    /// The OS poller (epoll/kqueue/...). Only one thread may `wait` on it at a time.
    pub(crate) poller: Poller,
    /// Bumped before every `wait`; used with per-direction ticks to discard stale readiness.
    ticker: AtomicUsize,
    /// Registered sources; the slab key is the poller key.
    sources: Mutex<Slab<Arc<Source>>>,
    /// The event buffer. Holding this mutex is "holding the reactor lock".
    events: Mutex<Events>,
    /// Which kind of thread holds the reactor lock (`HOLDER_*`).
    pub(crate) holder: AtomicU8,
}

impl fmt::Debug for Reactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reactor")
            .field("ticker", &self.ticker.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

static REACTOR: OnceLock<Reactor> = OnceLock::new();

impl Reactor {
    /// Returns the global reactor, creating it (and registering it as the timer driver) on first use.
    pub(crate) fn get() -> &'static Reactor {
        let mut created = false;
        let r = REACTOR.get_or_init(|| {
            created = true;
            Reactor {
                poller: Poller::new().expect("weft-reactor: cannot create the OS poller"),
                ticker: AtomicUsize::new(0),
                sources: Mutex::new(Slab::new()),
                events: Mutex::new(Events::new()),
                holder: AtomicU8::new(HOLDER_NONE),
            }
        });
        if created {
            crate::driver::on_reactor_created(r);
        }
        r
    }

    /// Wakes the thread blocked in the poller, if any (coalesced by `polling`).
    pub(crate) fn notify(&self) {
        // An error here means the notification pipe is broken; nothing sensible can be done and
        // the waiter will wake on its next event or timeout.
        let _ = self.poller.notify();
    }

    /// Current value of the reactor ticker.
    pub(crate) fn ticker(&self) -> usize {
        self.ticker.load(Ordering::SeqCst)
    }

    /// Registers a file descriptor and returns its source.
    ///
    /// The caller must call [`Reactor::remove_io`] before the descriptor is closed.
    pub(crate) fn insert_io(&self, fd: BorrowedFd<'_>) -> io::Result<Arc<Source>> {
        let raw: RawFd = std::os::fd::AsRawFd::as_raw_fd(&fd);
        let source = {
            let mut sources = lock(&self.sources);
            let key = sources.vacant_entry().key();
            let source = Arc::new(Source {
                raw,
                key,
                state: Mutex::new(Default::default()),
            });
            sources.insert(source.clone());
            source
        };
        // SAFETY: the source is deleted from the poller in `remove_io`, which `Async` calls in its
        // `Drop`/`into_inner` before the descriptor can be closed.
        let res = unsafe { self.poller.add(raw, Event::none(source.key)) };
        if let Err(e) = res {
            lock(&self.sources).remove(source.key);
            return Err(e);
        }
        Ok(source)
    }

    /// Deregisters a source. Must be called while its descriptor is still open.
    pub(crate) fn remove_io(&self, source: &Source, fd: BorrowedFd<'_>) -> io::Result<()> {
        lock(&self.sources).try_remove(source.key);
        self.poller.delete(fd)
    }

    /// Tries to take the reactor lock without blocking.
    pub(crate) fn try_lock(&'static self, holder: u8) -> Option<ReactorLock> {
        let events = self.events.try_lock().ok()?;
        self.holder.store(holder, Ordering::SeqCst);
        Some(ReactorLock {
            reactor: self,
            events: Some(events),
        })
    }
}

/// Proof of holding the reactor lock; `react` may only be called through it.
pub(crate) struct ReactorLock {
    reactor: &'static Reactor,
    events: Option<MutexGuard<'static, Events>>,
}

impl Drop for ReactorLock {
    fn drop(&mut self) {
        self.reactor.holder.store(HOLDER_NONE, Ordering::SeqCst);
        drop(self.events.take());
        // Every release hands the lock to a parked block_on thread, so I/O never goes undriven
        // while some thread waits for it.
        crate::driver::handoff();
    }
}

impl ReactorLock {
    /// Waits for I/O events for at most `timeout` (`None`: until an event or a notification),
    /// also bounded by the earliest timer deadline, then processes timers and wakes the wakers of
    /// ready sources. Returns the number of I/O events and timers that fired.
    pub(crate) fn react(&mut self, timeout: Option<Duration>) -> io::Result<usize> {
        let r = self.reactor;
        let mut wakers: Vec<Waker> = Vec::new();

        let timeout = crate::driver::timer_bounded_timeout(timeout);
        let Some(events) = self.events.as_mut() else {
            return Ok(0);
        };
        events.clear();
        let tick = r.ticker.fetch_add(1, Ordering::SeqCst).wrapping_add(1);
        let res = match r.poller.wait(events, timeout) {
            Ok(n) => Ok(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(0),
            Err(e) => Err(e),
        };
        let mut fired = crate::driver::process_timers();

        {
            let sources = lock(&r.sources);
            for ev in events.iter() {
                let Some(source) = sources.get(ev.key) else {
                    continue;
                };
                let mut state = lock(&source.state);
                let err = ev.is_err().unwrap_or(false);
                for (dir, ready) in [(READ, ev.readable || err), (WRITE, ev.writable || err)] {
                    if ready {
                        state[dir].tick = tick;
                        state[dir].drain_into(&mut wakers);
                    }
                }
                if state[READ].has_interest() || state[WRITE].has_interest() {
                    // The descriptor is still open: it is in `sources`, and `Async` removes it from
                    // `sources` before closing it, while we hold the `sources` lock.
                    let _ = source.rearm(r, &state);
                }
            }
        }
        fired += wakers.len();
        wake_all(wakers);
        res.map(|_| fired)
    }
}

/// Wakes every waker, outside all locks, containing panics from misbehaving wakers.
pub(crate) fn wake_all(wakers: Vec<Waker>) {
    for w in wakers {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| w.wake()));
    }
}

/// One registered file descriptor.
pub(crate) struct Source {
    raw: RawFd,
    key: usize,
    /// Per-direction waiters, `[READ, WRITE]`.
    state: Mutex<[Direction; 2]>,
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Source")
            .field("fd", &self.raw)
            .field("key", &self.key)
            .finish()
    }
}

/// Waiters for one direction of a source.
#[derive(Default)]
struct Direction {
    /// The reactor tick at which this direction last became ready.
    tick: usize,
    /// `(reactor ticker, direction tick)` observed when the poll-style waiter registered.
    ticks: Option<(usize, usize)>,
    /// The waker of `poll_ready` (used by `AsyncRead`/`AsyncWrite`): one waiter.
    waker: Option<Waker>,
    /// Wakers of `readable()`/`writable()` futures: many tasks may wait on one source.
    wakers: Slab<Option<Waker>>,
}

impl Direction {
    fn has_interest(&self) -> bool {
        self.waker.is_some() || self.wakers.iter().any(|(_, w)| w.is_some())
    }

    fn drain_into(&mut self, out: &mut Vec<Waker>) {
        out.extend(self.waker.take());
        for (_, w) in self.wakers.iter_mut() {
            out.extend(w.take());
        }
    }
}

/// Readiness happened after a registration recorded `ticks` iff the direction's tick moved to a
/// value different from both recorded ones: an event from the reactor round that was running when
/// we registered might predate our registration, so it does not count (the re-armed oneshot
/// interest reports the readiness again if it still holds, so nothing is lost).
fn fired_since(ticks: Option<(usize, usize)>, tick: usize) -> bool {
    matches!(ticks, Some((a, b)) if tick != a && tick != b)
}

impl Source {
    /// Poll-style readiness for one direction with a single waker slot (AsyncRead/AsyncWrite).
    pub(crate) fn poll_ready(&self, dir: usize, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let r = Reactor::get();
        let mut state = lock(&self.state);
        if fired_since(state[dir].ticks, state[dir].tick) {
            state[dir].ticks = None;
            return Poll::Ready(Ok(()));
        }
        let was_interested = state[dir].has_interest();
        match &mut state[dir].waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            slot => {
                if let Some(old) = slot.replace(cx.waker().clone()) {
                    // A different task took over this direction; let the old one re-check.
                    drop(state);
                    old.wake();
                    state = lock(&self.state);
                }
            }
        }
        if state[dir].ticks.is_none() {
            state[dir].ticks = Some((r.ticker(), state[dir].tick));
        }
        if !was_interested {
            self.rearm(r, &state)?;
        }
        Poll::Pending
    }

    /// Future-style readiness: `slot` is the future's key in the direction's waker slab.
    pub(crate) fn poll_ready_slot(
        &self,
        dir: usize,
        slot: &mut Option<(usize, usize, usize)>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        let r = Reactor::get();
        let mut state = lock(&self.state);
        if let Some((key, a, b)) = *slot {
            if fired_since(Some((a, b)), state[dir].tick) {
                state[dir].wakers.try_remove(key);
                *slot = None;
                return Poll::Ready(Ok(()));
            }
            let was_interested = state[dir].has_interest();
            match state[dir].wakers.get_mut(key) {
                Some(Some(w)) if w.will_wake(cx.waker()) => {}
                Some(w) => *w = Some(cx.waker().clone()),
                None => {}
            }
            if !was_interested {
                self.rearm(r, &state)?;
            }
            return Poll::Pending;
        }
        let key = state[dir].wakers.insert(Some(cx.waker().clone()));
        *slot = Some((key, r.ticker(), state[dir].tick));
        self.rearm(r, &state)?;
        Poll::Pending
    }

    /// Drops a future's waker slot (on completion or cancellation).
    pub(crate) fn cancel_slot(&self, dir: usize, slot: &mut Option<(usize, usize, usize)>) {
        if let Some((key, _, _)) = slot.take() {
            lock(&self.state)[dir].wakers.try_remove(key);
        }
    }

    /// Re-arms the oneshot interest so the poller reports current readiness of both directions.
    fn rearm(&self, r: &Reactor, state: &[Direction; 2]) -> io::Result<()> {
        let interest = Event::new(
            self.key,
            state[READ].has_interest(),
            state[WRITE].has_interest(),
        );
        // SAFETY: the descriptor is registered and open. Callers either hold a reference to the
        // `Async` owning it (it stays open until `Async` deregisters it), or, like the reactor
        // loop, hold the `sources` lock while the source is in `sources` (`Async` removes it from
        // there before closing it).
        let fd = unsafe { BorrowedFd::borrow_raw(self.raw) };
        r.poller.modify(fd, interest)
    }
}

/// Rounds a duration up to whole milliseconds, so a timer wait never returns early.
pub(crate) fn round_up_ms(d: Duration) -> Duration {
    let ms = d.as_nanos().div_ceil(1_000_000);
    Duration::from_millis(u64::try_from(ms).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_up_never_shortens() {
        assert_eq!(round_up_ms(Duration::ZERO), Duration::ZERO);
        assert_eq!(
            round_up_ms(Duration::from_nanos(1)),
            Duration::from_millis(1)
        );
        assert_eq!(
            round_up_ms(Duration::from_millis(3)),
            Duration::from_millis(3)
        );
        assert_eq!(
            round_up_ms(Duration::from_micros(3001)),
            Duration::from_millis(4)
        );
        assert_eq!(round_up_ms(Duration::MAX), Duration::from_millis(u64::MAX));
    }

    #[test]
    fn readiness_from_the_registration_round_does_not_count() {
        // Registered during reactor round 5 when the direction tick was 3.
        let ticks = Some((5, 3));
        assert!(!fired_since(None, 9));
        assert!(!fired_since(ticks, 3)); // nothing new
        assert!(!fired_since(ticks, 5)); // same round as registration: may predate it
        assert!(fired_since(ticks, 6)); // a later round
    }
}
