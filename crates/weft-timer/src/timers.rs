//! `Timers`: a timing wheel bound to a clock, its driver protocol, and the fallback driver thread.

use std::cell::RefCell;
use std::fmt;
use std::marker::PhantomData;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError, Weak};
use std::task::Waker;
use std::time::{Duration, Instant};

use crate::shards::{Key, Shards};
use crate::Clock;

/// A callback the driver calls to make a parked driver recompute its timeout.
pub(crate) type Unpark = Arc<dyn Fn() + Send + Sync>;

pub(crate) const HANDLE_PENDING: u8 = 0;
pub(crate) const HANDLE_FIRED: u8 = 1;
pub(crate) const HANDLE_CANCELLED: u8 = 2;

/// What a timer does when it fires. 16 bytes: the rare callback is boxed so that the common
/// sleep entry (a waker) stays small in the wheel's slab.
pub(crate) enum Entry {
    Wake(Waker),
    Call(Box<CallEntry>),
}

/// A `call_later` callback and its handle's state.
pub(crate) struct CallEntry {
    pub(crate) f: Box<dyn FnOnce() + Send>,
    pub(crate) state: Arc<AtomicU8>,
}

/// A timing wheel plus the [`Clock`] it reads: the thing every timer future registers with.
///
/// Cheap to clone (an `Arc` inside). Every future and helper of this crate ([`sleep`](crate::sleep),
/// [`interval`](crate::interval), [`timeout`](crate::timeout), [`call_later`](crate::call_later),
/// ...) captures [`Timers::current()`] when it is created: the `Timers` entered on this thread
/// with [`enter`](Timers::enter), else the process-wide [`Timers::global()`].
///
/// # Driving
///
/// Someone must call [`process`](Timers::process) when deadlines pass. A reactor does that by
/// calling [`set_driver`](Timers::set_driver) and then, in its loop, sleeping no longer than
/// [`next_timeout`](Timers::next_timeout) and calling `process`. Without a driver, a lazily
/// started background thread named `weft-timer` drives every `Timers` whose clock is running
/// (so timers fire even when no weft reactor runs). While a clock is paused, the fallback
/// thread leaves it alone: virtual time moves, and its timers fire, through
/// [`advance`](Timers::advance) / [`advance_to_next`](Timers::advance_to_next) (or a driver's
/// `process`).
///
/// ```
/// use std::time::Duration;
/// use weft_timer::{Clock, Timers};
///
/// let timers = Timers::new(Clock::paused());
/// let _guard = timers.enter(); // futures created on this thread now use `timers`
/// let mut sleep = Box::pin(weft_timer::sleep(Duration::from_secs(60)));
/// assert!(futures_lite::future::block_on(futures_lite::future::poll_once(&mut sleep)).is_none());
/// timers.advance(Duration::from_secs(60)); // virtual: returns at once
/// futures_lite::future::block_on(sleep);
/// ```
#[derive(Clone)]
pub struct Timers {
    inner: Handle,
}

/// How a [`Timers`] refers to its state: `None` is the process-wide timers ([`global_inner`]),
/// so `Timers::current()`, which every sleep calls, clones no reference count on a cache line
/// all threads share; any other by an `Arc`. One word (the `Arc`'s niche), which keeps every
/// [`Sleep`](crate::Sleep) and so every sleeping task's allocation small.
type Handle = Option<Arc<Inner>>;

/// A fallback-list entry: like [`Handle`], but not keeping `Arc`ed timers alive.
type WeakHandle = Option<Weak<Inner>>;

/// The process-wide timers' state (real clock), created on first use.
fn global_inner() -> &'static Inner {
    static INNER: OnceLock<Inner> = OnceLock::new();
    INNER.get_or_init(|| Inner::new(Clock::real()))
}

fn upgrade(weak: &WeakHandle) -> Option<Timers> {
    let inner = match weak {
        None => None,
        Some(w) => Some(w.upgrade()?),
    };
    Some(Timers { inner })
}

fn is_alive(weak: &WeakHandle) -> bool {
    weak.as_ref().is_none_or(|w| w.strong_count() > 0)
}

/// The wheel's tick: 1 µs. Fine enough that rounding a deadline up to a tick costs a sleep
/// nothing next to the OS's wake-up latency, and a divisor of a millisecond, so
/// whole-millisecond deadlines on a virtual clock are whole ticks (`advance(1 ms)` fires a
/// `sleep(1 ms)`). The wheel's 6 levels then position deadlines up to 2^35 µs (9.5 hours)
/// ahead exactly; later ones are re-positioned once on the way.
pub(crate) const TICK_NS: u64 = 1_000;

pub(crate) struct Inner {
    clock: Clock,
    origin: Instant,
    /// The wheels, one per registering-thread shard.
    wheels: Shards<Entry>,
    /// The earliest expiration (tick) the driver was last told about (by `process`,
    /// `next_deadline` or an unparking insert), `NONE` if none; an insert earlier than this
    /// unparks the driver.
    cached_next: AtomicU64,
    state: Mutex<State>,
    has_driver: AtomicBool,
    registered: AtomicBool,
    /// Live [`AutoAdvanceGuard`]s: while non-zero, [`Timers::auto_advance`] does nothing.
    inhibit: AtomicUsize,
}

impl Inner {
    fn new(clock: Clock) -> Inner {
        Inner {
            origin: clock.now(),
            clock,
            wheels: Shards::new(),
            cached_next: AtomicU64::new(NONE),
            state: Mutex::new(State { driver: None }),
            has_driver: AtomicBool::new(false),
            registered: AtomicBool::new(false),
            inhibit: AtomicUsize::new(0),
        }
    }
}

/// `cached_next` when nothing is cached.
const NONE: u64 = u64::MAX;

struct State {
    driver: Option<Unpark>,
}

thread_local! {
    static CURRENT: RefCell<Option<Timers>> = const { RefCell::new(None) };
}

/// Makes a [`Timers`] current on this thread until dropped; see [`Timers::enter`].
///
/// Guards nest: dropping one restores the `Timers` that was current before it. Not `Send`.
#[must_use = "the Timers stays current only while the guard is alive"]
pub struct EnterGuard {
    prev: Option<Timers>,
    _not_send: PhantomData<*const ()>,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let prev = self.prev.take();
        let _ = CURRENT.try_with(|c| *c.borrow_mut() = prev);
    }
}

impl fmt::Debug for EnterGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnterGuard").finish_non_exhaustive()
    }
}

fn far_future(from: Instant) -> Instant {
    // About 30 years: far enough to never fire, small enough to never overflow arithmetic.
    from.checked_add(Duration::from_secs(86_400 * 365 * 30))
        .unwrap_or(from)
}

pub(crate) fn add_or_far(t: Instant, d: Duration) -> Instant {
    t.checked_add(d).unwrap_or_else(|| far_future(t))
}

impl Timers {
    /// A new, independent set of timers reading `clock`.
    pub fn new(clock: Clock) -> Timers {
        Timers {
            inner: Some(Arc::new(Inner::new(clock))),
        }
    }

    /// The process-wide timers (real clock), created on first use.
    ///
    /// Pausing or advancing the global timers affects every thread that has not entered its own
    /// [`Timers`].
    pub fn global() -> &'static Timers {
        static GLOBAL: Timers = Timers { inner: None };
        &GLOBAL
    }

    fn inner(&self) -> &Inner {
        match &self.inner {
            None => global_inner(),
            Some(a) => a,
        }
    }

    /// The `Timers` entered on this thread (see [`enter`](Self::enter)), else a clone of
    /// [`global()`](Self::global).
    pub fn current() -> Timers {
        CURRENT
            .try_with(|c| c.borrow().clone())
            .ok()
            .flatten()
            .unwrap_or_else(|| Timers::global().clone())
    }

    /// Makes `self` the [`current`](Self::current) timers on this thread until the guard drops.
    pub fn enter(&self) -> EnterGuard {
        let prev = CURRENT
            .try_with(|c| c.borrow_mut().replace(self.clone()))
            .ok()
            .flatten();
        EnterGuard {
            prev,
            _not_send: PhantomData,
        }
    }

    /// The clock these timers read.
    pub fn clock(&self) -> &Clock {
        &self.inner().clock
    }

    /// The current time of [`clock()`](Self::clock).
    pub fn now(&self) -> Instant {
        self.inner().clock.now()
    }

    /// Whether two handles refer to the same timers.
    pub fn ptr_eq(&self, other: &Timers) -> bool {
        std::ptr::eq(self.inner(), other.inner())
    }

    /// Number of timers waiting (sleeps registered, callbacks not yet fired).
    pub fn len(&self) -> usize {
        self.inner().wheels.len()
    }

    /// Whether no timer is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.inner()
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Nanoseconds from the origin to `t` (0 before it; saturating after ~584 years).
    fn nanos_since_origin(&self, t: Instant) -> u64 {
        let d = t.saturating_duration_since(self.inner().origin);
        d.as_secs()
            .saturating_mul(1_000_000_000)
            .saturating_add(u64::from(d.subsec_nanos()))
    }

    /// Deadline rounded UP to whole ticks since the origin: never fires early.
    fn deadline_tick(&self, deadline: Instant) -> u64 {
        self.nanos_since_origin(deadline).div_ceil(TICK_NS)
    }

    /// Current time rounded DOWN to whole ticks since the origin.
    fn now_tick(&self) -> u64 {
        self.instant_tick_floor(self.now())
    }

    fn instant_tick_floor(&self, t: Instant) -> u64 {
        self.nanos_since_origin(t) / TICK_NS
    }

    fn tick_to_instant(&self, tick: u64) -> Instant {
        match tick.checked_mul(TICK_NS) {
            Some(ns) => add_or_far(self.inner().origin, Duration::from_nanos(ns)),
            None => far_future(self.inner().origin),
        }
    }

    // ----- registration (crate-internal) -----

    pub(crate) fn insert(&self, deadline: Instant, entry: Entry) -> Key {
        self.insert_at(deadline, self.now(), entry)
    }

    /// [`insert`](Self::insert) with the current time already read by the caller (a clock
    /// read is a good part of a timer's cost).
    pub(crate) fn insert_at(&self, deadline: Instant, now: Instant, entry: Entry) -> Key {
        // Already due: fire at the next `process` instead of rounding up past `now`.
        let tick = if deadline <= now {
            self.instant_tick_floor(now)
        } else {
            self.deadline_tick(deadline)
        };
        self.insert_tick(tick, entry)
    }

    /// [`insert`](Self::insert) for a caller that knows `deadline` was later than the clock
    /// when it read it (no clock read here; a deadline that passed since fires at the next
    /// `process`, as the wheel places a past tick in its current slot).
    pub(crate) fn insert_later(&self, deadline: Instant, entry: Entry) -> Key {
        self.insert_tick(self.deadline_tick(deadline), entry)
    }

    fn insert_tick(&self, tick: u64, entry: Entry) -> Key {
        let key = self.inner().wheels.insert(tick, entry);
        // Earlier than what the driver waits for: tell it (outside every lock). The plain load
        // first keeps the common insert (later than the earliest) from writing a cache line
        // that every thread shares.
        let cached = &self.inner().cached_next;
        if tick < cached.load(Ordering::SeqCst) && tick < cached.fetch_min(tick, Ordering::SeqCst) {
            let driver = self.state().driver.clone();
            match driver {
                Some(driver) => driver(),
                None => self.notify_fallback(),
            }
        }
        key
    }

    /// Removes a timer; returns true if it was still waiting.
    pub(crate) fn cancel(&self, key: Key) -> bool {
        match self.inner().wheels.remove(key) {
            Some(Entry::Call(call)) => {
                call.state.store(HANDLE_CANCELLED, Ordering::Release);
                true
            }
            Some(Entry::Wake(_)) => true,
            None => false,
        }
    }

    /// Stores `waker` in a waiting sleep entry; false if the entry already fired.
    pub(crate) fn update_waker(&self, key: Key, waker: &Waker) -> bool {
        let old = self.inner().wheels.with(key, |entry| match entry {
            Entry::Wake(w) if w.will_wake(waker) => Some(None),
            Entry::Wake(slot) => Some(Some(std::mem::replace(slot, waker.clone()))),
            Entry::Call(..) => None,
        });
        match old.flatten() {
            // Dropped outside the lock: a waker's drop may run arbitrary code.
            Some(old) => {
                drop(old);
                true
            }
            None => false,
        }
    }

    /// Moves a waiting sleep entry to a new deadline, keeping its waker.
    pub(crate) fn reschedule(&self, key: Key, deadline: Instant) -> Option<Key> {
        let entry = self.inner().wheels.remove(key)?;
        Some(self.insert(deadline, entry))
    }

    // ----- driver protocol -----

    /// Fires every timer whose deadline is `<= now()`, in deadline order (equal deadlines in
    /// insertion order, see the crate docs). Wakers are woken and callbacks run after the internal lock is
    /// released, on the calling thread. Returns how many timers fired.
    pub fn process(&self) -> usize {
        let mut fired = Vec::new();
        let next = self.inner().wheels.poll(self.now_tick(), &mut fired);
        self.inner()
            .cached_next
            .store(next.unwrap_or(NONE), Ordering::SeqCst);
        let n = fired.len();
        for entry in fired {
            match entry {
                Entry::Wake(w) => {
                    // A panicking waker must not skip the rest of the batch: those entries are
                    // already out of the wheel and would never fire, and the panic would unwind
                    // through the driver (the reactor) while it holds its locks.
                    if catch_unwind(AssertUnwindSafe(|| w.wake())).is_err() {
                        eprintln!("weft-timer: a timer's waker panicked (ignored)");
                    }
                }
                Entry::Call(call) => {
                    let CallEntry { f, state } = *call;
                    if catch_unwind(AssertUnwindSafe(f)).is_err() {
                        eprintln!("weft-timer: a call_later/call_at callback panicked");
                    }
                    state.store(HANDLE_FIRED, Ordering::Release);
                }
            }
        }
        n
    }

    /// The instant at which the next timer needs [`process`](Self::process), or `None` when no
    /// timer waits. It may be earlier than any deadline (internal bookkeeping), never later.
    /// Under a paused clock this is virtual time.
    pub fn next_deadline(&self) -> Option<Instant> {
        let tick = self.inner().wheels.next_expiration();
        // Remember what the driver now waits for: an insert earlier than this must unpark it
        // (keeping an older, smaller value could miss that after a cancel).
        self.inner()
            .cached_next
            .store(tick.unwrap_or(NONE), Ordering::SeqCst);
        Some(self.tick_to_instant(tick?))
    }

    /// How long a driver may sleep in *real* time before calling [`process`](Self::process):
    /// `None` = no timer needs it (sleep until woken), `Some(Duration::ZERO)` = process now.
    /// Under a paused clock, waiting never makes a timer due, so this is `None` unless one is
    /// already due.
    pub fn next_timeout(&self) -> Option<Duration> {
        let next = self.next_deadline()?;
        let now = self.now();
        if next <= now {
            Some(Duration::ZERO)
        } else if self.inner().clock.is_paused() {
            None
        } else {
            Some(next - now)
        }
    }

    /// Declares an external driver (the reactor). It promises to call [`process`](Self::process)
    /// and to sleep no longer than [`next_timeout`](Self::next_timeout). `unpark` is called
    /// (outside any lock) whenever a timer is inserted with a deadline earlier than the earliest
    /// one so far, so a parked driver recomputes its timeout. From now on the fallback thread
    /// no longer drives these timers. Replaces a previous driver.
    pub fn set_driver(&self, unpark: Arc<dyn Fn() + Send + Sync>) {
        self.state().driver = Some(unpark);
        self.inner().has_driver.store(true, Ordering::Release);
    }

    /// Removes the external driver (e.g. when the reactor shuts down); the fallback thread
    /// drives these timers again.
    pub fn clear_driver(&self) {
        self.state().driver = None;
        self.inner().has_driver.store(false, Ordering::Release);
        self.notify_fallback();
    }

    /// Whether an external driver is set.
    pub fn has_driver(&self) -> bool {
        self.inner().has_driver.load(Ordering::Acquire)
    }

    // ----- virtual time -----

    /// Pauses the clock (see [`Clock::pause`]).
    pub fn pause(&self) {
        self.inner().clock.pause();
    }

    /// Resumes the clock (see [`Clock::resume`]).
    pub fn resume(&self) {
        self.inner().clock.resume();
        self.notify_fallback();
    }

    /// Moves the clock forward by `d`, firing timers in deadline order as time passes them: each
    /// timer fires while `now()` equals its deadline rounded up to the wheel's tick of 1 µs
    /// (callbacks see exactly that time; a whole-millisecond deadline is a whole tick). Wakers are only woken; the woken tasks run when their executor polls
    /// them, after this returns. Works on a running clock too (it jumps forward).
    pub fn advance(&self, d: Duration) {
        let target = add_or_far(self.now(), d);
        loop {
            let next = self.next_deadline();
            match next {
                Some(t) if t <= target => {
                    self.inner().clock.advance_to(t);
                    self.process();
                }
                _ => break,
            }
        }
        self.inner().clock.advance_to(target);
        self.process();
    }

    /// Jumps the clock to the next timer's deadline (if it lies in the future) and fires the
    /// timers due then. Returns false, without moving time, if no timer waits.
    pub fn advance_to_next(&self) -> bool {
        loop {
            let Some(t) = self.next_deadline() else {
                return false;
            };
            self.inner().clock.advance_to(t);
            if self.process() > 0 {
                return true;
            }
            // `t` was only a re-positioning point on a coarse level; keep going.
        }
    }

    /// The auto-advance step of a driver (the reactor's `block_on` calls it when every task is
    /// idle): like [`advance_to_next`](Self::advance_to_next), but does nothing and returns
    /// false while an [`AutoAdvanceGuard`] of these timers is alive (work is in flight outside
    /// the timers' view, e.g. on a blocking pool), or when the clock is not paused.
    pub fn auto_advance(&self) -> bool {
        if !self.inner().clock.is_paused() || self.is_auto_advance_inhibited() {
            return false;
        }
        self.advance_to_next()
    }

    /// Keeps [`auto_advance`](Self::auto_advance) from moving these timers' paused clock until
    /// the returned guard is dropped. Guards count: auto-advance resumes when the last one
    /// drops. The guard is `Send`, so it can travel with the work it stands for (a job on a
    /// blocking pool) and drop on whichever thread finishes it. Explicit
    /// [`advance`](Self::advance)/[`advance_to_next`](Self::advance_to_next) calls are not
    /// affected.
    ///
    /// ```
    /// use std::time::Duration;
    /// use weft_timer::{Clock, Timers};
    ///
    /// let timers = Timers::new(Clock::paused());
    /// let guard = timers.inhibit_auto_advance();
    /// assert!(timers.is_auto_advance_inhibited());
    /// drop(guard);
    /// assert!(!timers.is_auto_advance_inhibited());
    /// ```
    pub fn inhibit_auto_advance(&self) -> AutoAdvanceGuard {
        self.inner().inhibit.fetch_add(1, Ordering::SeqCst);
        AutoAdvanceGuard {
            timers: self.clone(),
        }
    }

    /// Whether an [`AutoAdvanceGuard`] of these timers is alive.
    pub fn is_auto_advance_inhibited(&self) -> bool {
        self.inner().inhibit.load(Ordering::SeqCst) > 0
    }

    // ----- fallback driver -----

    fn notify_fallback(&self) {
        if self.has_driver() {
            return;
        }
        let fb = fallback();
        if !self.inner().registered.swap(true, Ordering::AcqRel) {
            let mut st = fb.lock();
            st.list.push(self.inner.as_ref().map(Arc::downgrade));
        }
        fb.notify();
    }
}

/// Keeps a paused clock from auto-advancing while alive; see [`Timers::inhibit_auto_advance`]
/// and [`inhibit_auto_advance`](crate::inhibit_auto_advance).
#[must_use = "auto-advance is inhibited only while the guard is alive"]
pub struct AutoAdvanceGuard {
    timers: Timers,
}

impl Drop for AutoAdvanceGuard {
    fn drop(&mut self) {
        if self.timers.inner().inhibit.fetch_sub(1, Ordering::SeqCst) == 1 {
            // A driver waiting for the guard to go may be parked: let it re-evaluate.
            let driver = self.timers.state().driver.clone();
            if let Some(d) = driver {
                d();
            }
        }
    }
}

impl fmt::Debug for AutoAdvanceGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AutoAdvanceGuard").finish_non_exhaustive()
    }
}

impl fmt::Debug for Timers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Timers");
        d.field("clock", &self.inner().clock)
            .field("has_driver", &self.has_driver());
        d.field("len", &self.len());
        d.finish()
    }
}

struct Fallback {
    state: Mutex<FallbackState>,
    cv: Condvar,
}

struct FallbackState {
    started: bool,
    notified: bool,
    list: Vec<WeakHandle>,
}

fn fallback() -> &'static Fallback {
    static FALLBACK: OnceLock<Fallback> = OnceLock::new();
    FALLBACK.get_or_init(|| Fallback {
        state: Mutex::new(FallbackState {
            started: false,
            notified: false,
            list: Vec::new(),
        }),
        cv: Condvar::new(),
    })
}

/// Wakes the fallback thread (if it runs) so it recomputes its timeout, e.g. after a clock
/// moved or resumed.
pub(crate) fn wake_fallback() {
    let fb = fallback();
    let started = fb.lock().started;
    if started {
        fb.notify();
    }
}

impl Fallback {
    fn lock(&self) -> MutexGuard<'_, FallbackState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn notify(&'static self) {
        let mut st = self.lock();
        st.notified = true;
        if !st.started {
            let spawned = std::thread::Builder::new()
                .name("weft-timer".into())
                .spawn(move || self.run());
            match spawned {
                Ok(_) => st.started = true,
                Err(e) => eprintln!("weft-timer: cannot start the fallback timer thread: {e}"),
            }
        }
        drop(st);
        self.cv.notify_one();
    }

    fn run(&'static self) {
        loop {
            let list: Vec<Timers> = {
                let mut st = self.lock();
                st.notified = false;
                st.list.retain(is_alive);
                st.list.iter().filter_map(upgrade).collect()
            };
            let mut wait: Option<Duration> = None;
            for timers in &list {
                // Virtual time is moved (and its timers fired) by `advance`; driving it from
                // here too would race with the test that owns it.
                if timers.has_driver() || timers.clock().is_paused() {
                    continue;
                }
                timers.process();
                if let Some(t) = timers.next_timeout() {
                    wait = Some(wait.map_or(t, |w| w.min(t)));
                }
            }
            drop(list);
            let mut st = self.lock();
            if st.notified {
                continue;
            }
            match wait {
                Some(d) if d.is_zero() => {}
                Some(d) => {
                    let _ = self
                        .cv
                        .wait_timeout(st, d)
                        .unwrap_or_else(PoisonError::into_inner);
                }
                None => {
                    st = self.cv.wait(st).unwrap_or_else(PoisonError::into_inner);
                    drop(st);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sleep_entry_is_two_words() {
        // The wheel's slab holds one of these per waiting timer: a waker, not a boxed enum.
        assert_eq!(std::mem::size_of::<Entry>(), 16);
    }

    #[test]
    fn a_timers_handle_is_one_word() {
        // Every `Sleep` holds one, and so does every sleeping task's allocation: a second word
        // here moved weft's task into the next malloc size class (16 bytes more per task).
        assert_eq!(std::mem::size_of::<Timers>(), std::mem::size_of::<usize>());
        assert!(std::mem::size_of::<crate::Sleep>() <= 40);
    }

    #[test]
    fn the_global_timers_are_one_instance() {
        let (a, b) = (Timers::global().clone(), Timers::global().clone());
        assert!(a.ptr_eq(&b));
        assert!(!a.ptr_eq(&Timers::new(Clock::real())));
    }
}
