//! An async counting semaphore with strict FIFO fairness.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use std::time::{Duration, Instant};

use crate::loom::atomic::{AtomicBool, AtomicUsize, Ordering};
use crate::loom::{Arc, Mutex};
use crate::waitlist::{WaitList, WaitState, WakeList};

/// An async counting semaphore (asyncio's `Semaphore` / `BoundedSemaphore` without the bound).
///
/// Permits are handed out in strict FIFO order: a request for `n` permits at the head of the queue
/// blocks every later request, even smaller ones that could be satisfied, so large
/// [`acquire_many`](Semaphore::acquire_many) calls are never starved. [`try_acquire`](Semaphore::try_acquire)
/// does not barge either: it fails while anyone is queued.
///
/// Permits are returned when the permit guard is dropped; [`SemaphorePermit::forget`] keeps them
/// out of circulation instead.
///
/// ```
/// use weft_sync::Semaphore;
/// # futures_lite::future::block_on(async {
/// let sem = Semaphore::new(2);
/// let a = sem.acquire().await.unwrap();
/// let b = sem.acquire_many(1).await.unwrap();
/// assert!(sem.try_acquire().is_err());
/// drop(a);
/// assert_eq!(sem.available_permits(), 1);
/// # drop(b);
/// # });
/// ```
pub struct Semaphore {
    /// `(permits << SHIFT) | CLOSED | WAITERS`. Uncontended acquire/release are one CAS on this
    /// word. While `WAITERS` is set (exactly when the queue is non-empty; both change only under
    /// the `waiters` lock) the fast paths stand aside, so the count changes only under the lock
    /// and permits go to the queue in FIFO order.
    count: AtomicUsize,
    waiters: Mutex<Queue>,
    /// `Some` for the Go-style barging mode used by [`Mutex`](crate::Mutex); `None` (strict
    /// FIFO hand-off) for `Semaphore` and `RwLock`.
    barging: Option<Barging>,
}

/// Go's `sync.Mutex` rule: while no waiter has waited [`STARVE_AFTER`], a release does not hand
/// the permit over; it frees it and wakes the head waiter, and anyone may take it (the releasing
/// task re-locking at once, typically: no task switch). A head waiter that fails to get it after
/// waiting that long switches the semaphore to strict FIFO hand-off (`starving`) until the queue
/// is empty or its head has waited less than that.
#[derive(Debug, Default)]
struct Barging {
    /// The head waiter was woken to retry and has not polled since. While set, releases need
    /// not take the lock to wake it again. Cleared (then the count re-checked) by whoever polls
    /// or re-dispatches, so a release racing with it either sees it clear or its permit is seen.
    poked: AtomicBool,
    starving: AtomicBool,
}

/// How long the head waiter may lose to bargers before hand-off becomes strict.
#[cfg(not(loom))]
const STARVE_AFTER: Duration = Duration::from_millis(1);
/// Under loom a real-time threshold makes the model nondeterministic (loom then aborts with
/// "unexpected exploration state"): the models explore the barging path, never the switch.
#[cfg(loom)]
const STARVE_AFTER: Duration = Duration::MAX;

/// The lock-protected half of a [`Semaphore`].
#[derive(Debug, Default)]
struct Queue {
    list: WaitList<Waiter>,
    /// Waiters that were handed permits and have not resumed (or been dropped) yet. While any
    /// exist, `WAITERS` stays set: a newcomer cannot complete ahead of them (asyncio's order).
    woken: usize,
}

const WAITERS: usize = 1;
const CLOSED: usize = 2;
const SHIFT: usize = 2;

fn permits(count: usize) -> usize {
    count >> SHIFT
}

/// `count` with `n` more permits, saturating at `MAX_PERMITS`.
fn plus(count: usize, n: usize) -> usize {
    let p = permits(count).saturating_add(n).min(Semaphore::MAX_PERMITS);
    (p << SHIFT) | (count & (WAITERS | CLOSED))
}

#[derive(Debug)]
struct Waiter {
    need: usize,
    granted: bool,
    /// When it queued (barging mode only, for the starvation rule).
    since: Option<Instant>,
}

/// An `acquire*` failed: the semaphore was closed (no permit will ever be handed out again), or
/// more than [`Semaphore::MAX_PERMITS`] permits were requested at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AcquireError(AcquireErrorKind);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AcquireErrorKind {
    Closed,
    TooMany(usize),
}

impl AcquireError {
    pub(crate) const CLOSED: AcquireError = AcquireError(AcquireErrorKind::Closed);

    /// `true` if the semaphore was closed (rather than the request being too large).
    pub fn is_closed(&self) -> bool {
        self.0 == AcquireErrorKind::Closed
    }
}

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            AcquireErrorKind::Closed => {
                f.write_str("semaphore closed: no permits will be handed out; stop acquiring")
            }
            AcquireErrorKind::TooMany(n) => write!(
                f,
                "requested {n} permits at once, more than Semaphore::MAX_PERMITS ({}): it could \
                 never be satisfied; request fewer",
                Semaphore::MAX_PERMITS
            ),
        }
    }
}

impl std::error::Error for AcquireError {}

/// Why a `try_acquire*` call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryAcquireError {
    /// The semaphore was closed.
    Closed,
    /// Not enough permits are free right now (or other acquirers are queued ahead).
    NoPermits,
}

impl fmt::Display for TryAcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryAcquireError::Closed => f.write_str("semaphore closed: stop acquiring"),
            TryAcquireError::NoPermits => {
                f.write_str("no permits available now: await `acquire` to wait for one")
            }
        }
    }
}

impl std::error::Error for TryAcquireError {}

impl Semaphore {
    /// The largest number of permits a semaphore can hold; `add_permits` saturates here.
    pub const MAX_PERMITS: usize = usize::MAX >> 3;

    /// Creates a semaphore with `permits` permits (capped at [`Semaphore::MAX_PERMITS`]).
    pub fn new(permits: usize) -> Self {
        Semaphore {
            count: AtomicUsize::new(permits.min(Self::MAX_PERMITS) << SHIFT),
            waiters: Mutex::new(Queue::default()),
            barging: None,
        }
    }

    /// A semaphore in barging mode (see [`Barging`]), for `Mutex`.
    pub(crate) fn new_barging(permits: usize) -> Self {
        Semaphore {
            barging: Some(Barging::default()),
            ..Semaphore::new(permits)
        }
    }

    /// `true` when newcomers may take free permits past queued waiters right now.
    fn may_barge(&self) -> bool {
        self.barging
            .as_ref()
            .is_some_and(|b| !b.starving.load(Ordering::SeqCst))
    }

    /// The count, read with a read-modify-write: unlike a load, it cannot return a value older
    /// than the latest in the word's modification order, which the `poked` protocol relies on
    /// (clear `poked`, then read the count; a release adds to the count, then swaps `poked`:
    /// one of the two sides must see the other).
    fn count_now(&self) -> usize {
        self.count.fetch_add(0, Ordering::SeqCst)
    }

    /// Takes `n` free permits by CAS regardless of `WAITERS` (barging); `false` if too few.
    fn barge(&self, n: usize) -> bool {
        let mut c = self.count_now();
        loop {
            if c & CLOSED != 0 || permits(c) < n {
                return false;
            }
            match self.count.compare_exchange_weak(
                c,
                c - (n << SHIFT),
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => return true,
                Err(actual) => c = actual,
            }
        }
    }

    /// Number of permits free right now.
    pub fn available_permits(&self) -> usize {
        permits(self.count.load(Ordering::Acquire))
    }

    /// Adds `n` permits (saturating at [`Semaphore::MAX_PERMITS`]) and wakes the waiters they satisfy.
    #[doc(alias = "release")]
    pub fn add_permits(&self, n: usize) {
        self.release(n);
    }

    /// Closes the semaphore: every pending and future `acquire*` fails with [`AcquireError`].
    /// Permits already held stay valid and are still returned on drop.
    pub fn close(&self) {
        let mut wakes = WakeList::new();
        let mut q = self.waiters.lock();
        self.count.fetch_or(CLOSED, Ordering::AcqRel);
        q.list.notify_all(&mut wakes, |w| w.granted = false);
        self.settle(&q);
        drop(q);
        wakes.wake_all();
    }

    /// `true` when an `acquire` would not complete at once: no permit is free, or others are
    /// queued (or were handed permits and have not resumed yet). asyncio's `Semaphore.locked`.
    ///
    /// ```
    /// use weft_sync::Semaphore;
    /// let sem = Semaphore::new(1);
    /// assert!(!sem.locked());
    /// let p = sem.try_acquire().unwrap();
    /// assert!(sem.locked());
    /// drop(p);
    /// assert!(!sem.locked());
    /// ```
    pub fn locked(&self) -> bool {
        let c = self.count.load(Ordering::Acquire);
        permits(c) == 0 || (c & WAITERS != 0 && !self.may_barge())
    }

    /// Removes up to `n` free permits from circulation for good and returns how many it removed
    /// (fewer than `n` if fewer are free). Permits held by guards are not affected.
    ///
    /// ```
    /// use weft_sync::Semaphore;
    /// let sem = Semaphore::new(5);
    /// assert_eq!(sem.forget_permits(3), 3);
    /// assert_eq!(sem.forget_permits(3), 2);
    /// assert_eq!(sem.available_permits(), 0);
    /// ```
    pub fn forget_permits(&self, n: usize) -> usize {
        let mut c = self.count.load(Ordering::Acquire);
        loop {
            let k = permits(c).min(n);
            match self.count.compare_exchange_weak(
                c,
                c - (k << SHIFT),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return k,
                Err(actual) => c = actual,
            }
        }
    }

    /// Clears `WAITERS` once nobody is queued and no woken waiter is still to resume. Call with
    /// the `waiters` lock held.
    fn settle(&self, q: &Queue) {
        if q.list.is_empty() && q.woken == 0 {
            self.count.fetch_and(!WAITERS, Ordering::AcqRel);
        }
    }

    /// `true` once [`close`](Semaphore::close) was called.
    pub fn is_closed(&self) -> bool {
        self.count.load(Ordering::Acquire) & CLOSED != 0
    }

    /// Hands permits to queued waiters in FIFO order, stopping at the first that cannot be
    /// served; clears `WAITERS` once the queue is empty. Call with the `waiters` lock held.
    fn dispatch(&self, q: &mut Queue, wakes: &mut WakeList) {
        if let Some(b) = &self.barging {
            if !b.starving.load(Ordering::SeqCst) {
                // Barging: wake the head to retry if it could proceed. Clear `poked` before
                // reading the count (see `Barging::poked`).
                b.poked.store(false, Ordering::SeqCst);
                if let Some(w) = q.list.front() {
                    if permits(self.count_now()) >= w.need {
                        b.poked.store(true, Ordering::SeqCst);
                        q.list.wake_front(wakes);
                    }
                }
                self.settle(q);
                return;
            }
        }
        while let Some(w) = q.list.front() {
            let need = w.need;
            // `WAITERS` is set, so only lock holders change the count (but `forget_permits`
            // may lower it, hence the CAS).
            let c = self.count.load(Ordering::Acquire);
            if permits(c) < need
                || self
                    .count
                    .compare_exchange(c, c - (need << SHIFT), Ordering::AcqRel, Ordering::Acquire)
                    .is_err()
            {
                if permits(self.count.load(Ordering::Acquire)) < need {
                    break;
                }
                continue;
            }
            q.list.notify_front(wakes, |w| w.granted = true);
            q.woken += 1;
        }
        if let Some(b) = &self.barging {
            // Starving: leave strict mode once the head has not waited long (or none is left).
            let calm = q
                .list
                .front()
                .and_then(|w| w.since)
                .is_none_or(|t| t.elapsed() < STARVE_AFTER);
            if calm {
                b.starving.store(false, Ordering::SeqCst);
                return self.dispatch(q, wakes);
            }
        }
        self.settle(q);
    }

    /// Adds permits with the `waiters` lock held, then dispatches.
    fn release_locked(&self, n: usize, q: &mut Queue, wakes: &mut WakeList) {
        let mut c = self.count.load(Ordering::Acquire);
        while let Err(actual) =
            self.count
                .compare_exchange_weak(c, plus(c, n), Ordering::AcqRel, Ordering::Acquire)
        {
            c = actual;
        }
        self.dispatch(q, wakes);
    }

    pub(crate) fn release(&self, n: usize) {
        if n == 0 {
            return;
        }
        if let Some(b) = &self.barging {
            // Free the permits whether or not anyone waits; then wake the head unless it was
            // already woken and has not polled since (`poked`), or hand over when starving.
            let mut c = self.count.load(Ordering::SeqCst);
            while let Err(actual) =
                self.count
                    .compare_exchange_weak(c, plus(c, n), Ordering::SeqCst, Ordering::SeqCst)
            {
                c = actual;
            }
            if c & WAITERS == 0
                || (!b.starving.load(Ordering::SeqCst) && b.poked.swap(true, Ordering::SeqCst))
            {
                return;
            }
            let mut wakes = WakeList::new();
            let mut q = self.waiters.lock();
            self.dispatch(&mut q, &mut wakes);
            drop(q);
            wakes.wake_all();
            return;
        }
        // Fast path: nobody is queued.
        let mut c = self.count.load(Ordering::Acquire);
        while c & WAITERS == 0 {
            match self.count.compare_exchange_weak(
                c,
                plus(c, n),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return,
                Err(actual) => c = actual,
            }
        }
        let mut wakes = WakeList::new();
        let mut q = self.waiters.lock();
        self.release_locked(n, &mut q, &mut wakes);
        drop(q);
        wakes.wake_all();
    }

    /// Adds `n` permits unless that would make more than `bound` free; returns whether it did.
    pub(crate) fn release_bounded(&self, n: usize, bound: usize) -> bool {
        let mut wakes = WakeList::new();
        let mut q = self.waiters.lock();
        let mut c = self.count.load(Ordering::Acquire);
        loop {
            if permits(c).saturating_add(n) > bound {
                return false;
            }
            match self.count.compare_exchange_weak(
                c,
                plus(c, n),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(actual) => c = actual,
            }
        }
        self.dispatch(&mut q, &mut wakes);
        drop(q);
        wakes.wake_all();
        true
    }

    pub(crate) fn try_acquire_raw(&self, n: usize) -> Result<(), TryAcquireError> {
        let barge = self.may_barge();
        let mut c = self.count.load(Ordering::Acquire);
        loop {
            if c & CLOSED != 0 {
                return Err(TryAcquireError::Closed);
            }
            if (c & WAITERS != 0 && !barge) || permits(c) < n {
                return Err(TryAcquireError::NoPermits);
            }
            match self.count.compare_exchange_weak(
                c,
                c - (n << SHIFT),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Ok(()),
                Err(actual) => c = actual,
            }
        }
    }

    pub(crate) fn acquire_raw(&self, n: usize) -> AcquireRaw<'_> {
        AcquireRaw {
            sem: self,
            st: AcquireState::new(n),
        }
    }

    /// Waits for one permit.
    ///
    /// # Cancel safety
    /// Cancel-safe: dropping the future before it completes loses no permit and no place in line
    /// is kept; permits already handed to it are passed to the next waiter.
    pub async fn acquire(&self) -> Result<SemaphorePermit<'_>, AcquireError> {
        self.acquire_many(1).await
    }

    /// Waits for `n` permits at once (strict FIFO: it will not be overtaken by smaller requests).
    ///
    /// `n == 0` completes at once. `n > MAX_PERMITS` fails at once with an [`AcquireError`]
    /// (it could never be satisfied); a request for more than the semaphore holds now but at
    /// most `MAX_PERMITS` waits until enough are added, or until `close()`.
    ///
    /// ```
    /// use weft_sync::Semaphore;
    /// # futures_lite::future::block_on(async {
    /// let sem = Semaphore::new(3);
    /// let p = sem.acquire_many(2).await.unwrap();
    /// assert_eq!(p.num_permits(), 2);
    /// let err = sem.acquire_many(Semaphore::MAX_PERMITS + 1).await.unwrap_err();
    /// assert!(!err.is_closed());
    /// # });
    /// ```
    ///
    /// # Cancel safety
    /// Cancel-safe, as [`acquire`](Semaphore::acquire).
    pub async fn acquire_many(&self, n: usize) -> Result<SemaphorePermit<'_>, AcquireError> {
        self.acquire_raw(n).await?;
        Ok(SemaphorePermit { sem: self, n })
    }

    /// Takes one permit if one is free and nobody is queued.
    pub fn try_acquire(&self) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.try_acquire_many(1)
    }

    /// Takes `n` permits if they are free and nobody is queued.
    pub fn try_acquire_many(&self, n: usize) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.try_acquire_raw(n)?;
        Ok(SemaphorePermit { sem: self, n })
    }

    /// Waits for one permit and returns a guard that owns an `Arc` of the semaphore.
    ///
    /// # Cancel safety
    /// Cancel-safe, as [`acquire`](Semaphore::acquire).
    pub async fn acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, AcquireError> {
        self.acquire_many_owned(1).await
    }

    /// Waits for `n` permits and returns a guard that owns an `Arc` of the semaphore.
    ///
    /// # Cancel safety
    /// Cancel-safe, as [`acquire`](Semaphore::acquire).
    pub async fn acquire_many_owned(
        self: Arc<Self>,
        n: usize,
    ) -> Result<OwnedSemaphorePermit, AcquireError> {
        self.acquire_raw(n).await?;
        Ok(OwnedSemaphorePermit { sem: self, n })
    }

    /// Owned version of [`try_acquire`](Semaphore::try_acquire).
    pub fn try_acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        self.try_acquire_many_owned(1)
    }

    /// Owned version of [`try_acquire_many`](Semaphore::try_acquire_many).
    pub fn try_acquire_many_owned(
        self: Arc<Self>,
        n: usize,
    ) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        self.try_acquire_raw(n)?;
        Ok(OwnedSemaphorePermit { sem: self, n })
    }

    /// Blocks the current thread until one permit is free. For threads outside the runtime; do not
    /// call it from async code.
    pub fn acquire_blocking(&self) -> Result<SemaphorePermit<'_>, AcquireError> {
        crate::block::block_on(self.acquire())
    }

    /// Blocking version of [`acquire_many`](Semaphore::acquire_many).
    pub fn acquire_many_blocking(&self, n: usize) -> Result<SemaphorePermit<'_>, AcquireError> {
        crate::block::block_on(self.acquire_many(n))
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.count.load(Ordering::Acquire);
        let mut d = f.debug_struct("Semaphore");
        d.field("permits", &permits(c))
            .field("closed", &(c & CLOSED != 0));
        match self.waiters.try_lock() {
            Some(q) => d.field("waiters", &q.list.len()).finish(),
            None => d.finish_non_exhaustive(),
        }
    }
}

/// The state machine of one pending acquire, shared by the borrowed and owned futures and by the
/// Mutex/RwLock lock futures.
#[derive(Debug)]
pub(crate) struct AcquireState {
    n: usize,
    key: Option<usize>,
    done: bool,
}

impl AcquireState {
    pub(crate) fn new(n: usize) -> Self {
        AcquireState {
            n,
            key: None,
            done: false,
        }
    }

    pub(crate) fn poll(
        &mut self,
        sem: &Semaphore,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), AcquireError>> {
        assert!(!self.done, "acquire future polled after completion");
        let Some(key) = self.key else {
            return self.first_poll(sem, cx);
        };
        let mut wakes = WakeList::new();
        let mut q = sem.waiters.lock();
        match q.list.state(key) {
            WaitState::Waiting => {
                if let Some(b) = &sem.barging {
                    if q.list.front_key() == Some(key) && !b.starving.load(Ordering::SeqCst) {
                        // The head retries; clear `poked` before looking at the count.
                        b.poked.store(false, Ordering::SeqCst);
                        if sem.barge(self.n) {
                            q.list.remove(key, &mut wakes);
                            self.key = None;
                            self.done = true;
                            sem.dispatch(&mut q, &mut wakes);
                            return Poll::Ready(Ok(()));
                        }
                        let since = q.list.front().and_then(|w| w.since);
                        if since.is_some_and(|t| t.elapsed() >= STARVE_AFTER) {
                            // Lost to bargers for too long: strict hand-off from now on.
                            b.starving.store(true, Ordering::SeqCst);
                            sem.dispatch(&mut q, &mut wakes);
                            if q.list.state(key) == WaitState::Notified {
                                q.list.take_notified(key);
                                q.woken -= 1;
                                sem.settle(&q);
                                self.key = None;
                                self.done = true;
                                return Poll::Ready(Ok(()));
                            }
                        }
                    }
                }
                q.list.update_waker(key, cx.waker(), &mut wakes);
                Poll::Pending
            }
            WaitState::Notified => {
                let w = q.list.take_notified(key);
                self.key = None;
                self.done = true;
                if w.granted {
                    q.woken -= 1;
                    sem.settle(&q);
                    Poll::Ready(Ok(()))
                } else {
                    Poll::Ready(Err(AcquireError::CLOSED))
                }
            }
        }
    }

    fn first_poll(
        &mut self,
        sem: &Semaphore,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), AcquireError>> {
        let n = self.n;
        if n > Semaphore::MAX_PERMITS {
            self.done = true;
            return Poll::Ready(Err(AcquireError(AcquireErrorKind::TooMany(n))));
        }
        match sem.try_acquire_raw(n) {
            Ok(()) => {
                self.done = true;
                return Poll::Ready(Ok(()));
            }
            Err(TryAcquireError::Closed) => {
                self.done = true;
                return Poll::Ready(Err(AcquireError::CLOSED));
            }
            Err(TryAcquireError::NoPermits) if n == 0 => {
                // Zero permits never wait, even behind a queue.
                self.done = true;
                return Poll::Ready(Ok(()));
            }
            Err(TryAcquireError::NoPermits) => {}
        }
        let mut wakes = WakeList::new();
        let mut q = sem.waiters.lock();
        let mut c = sem.count.load(Ordering::Acquire);
        let queued_behind = loop {
            if c & CLOSED != 0 {
                self.done = true;
                return Poll::Ready(Err(AcquireError::CLOSED));
            }
            if c & WAITERS != 0 {
                if sem.may_barge() && sem.barge(n) {
                    self.done = true;
                    return Poll::Ready(Ok(()));
                }
                break true; // queue behind the others
            }
            // Nobody queued: take the permits, or announce that we queue. Either CAS fails if a
            // fast-path release/acquire changed the count meanwhile; then re-check.
            let (new, acquired) = if permits(c) >= n {
                (c - (n << SHIFT), true)
            } else {
                (c | WAITERS, false)
            };
            match sem
                .count
                .compare_exchange_weak(c, new, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) if acquired => {
                    self.done = true;
                    return Poll::Ready(Ok(()));
                }
                Ok(_) => break false,
                Err(actual) => c = actual,
            }
        };
        let key = q.list.push_back(
            Waiter {
                need: n,
                granted: false,
                since: sem.barging.is_some().then(Instant::now),
            },
            cx.waker(),
        );
        self.key = Some(key);
        if queued_behind || sem.barging.is_some() {
            // Permits may be free while earlier waiters that were handed theirs have not resumed
            // yet: this waiter may be served right away, but it completes only on its next poll,
            // after a wake-up, so it runs after them (asyncio's order), never ahead.
            sem.dispatch(&mut q, &mut wakes);
        }
        Poll::Pending
    }

    /// Called on drop: leaves the queue, passing on anything that was handed over.
    pub(crate) fn cancel(&mut self, sem: &Semaphore) {
        if let Some(key) = self.key.take() {
            let mut wakes = WakeList::new();
            let mut q = sem.waiters.lock();
            let (state, w) = q.list.remove(key, &mut wakes);
            if state == WaitState::Notified && w.granted {
                q.woken -= 1;
                sem.release_locked(w.need, &mut q, &mut wakes);
            } else {
                // The removed waiter may have been blocking the head of the queue; this also
                // clears `WAITERS` if the queue is now empty.
                sem.dispatch(&mut q, &mut wakes);
            }
            drop(q);
            wakes.wake_all();
        }
    }
}

/// Future that acquires raw permits from a borrowed semaphore.
#[derive(Debug)]
pub(crate) struct AcquireRaw<'a> {
    sem: &'a Semaphore,
    st: AcquireState,
}

impl Future for AcquireRaw<'_> {
    type Output = Result<(), AcquireError>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        this.st.poll(this.sem, cx)
    }
}

impl Drop for AcquireRaw<'_> {
    fn drop(&mut self) {
        self.st.cancel(self.sem);
    }
}

/// Permits borrowed from a [`Semaphore`]; returned when dropped.
#[must_use = "permits are released as soon as the guard is dropped"]
#[clippy::has_significant_drop]
pub struct SemaphorePermit<'a> {
    sem: &'a Semaphore,
    n: usize,
}

impl SemaphorePermit<'_> {
    /// Keeps the permits out of the semaphore forever (they are not returned on drop).
    pub fn forget(mut self) {
        self.n = 0;
    }

    /// Moves the permits of `other` into this guard.
    ///
    /// # Panics
    /// If `other` belongs to a different semaphore (a bug in the caller: the permits would be
    /// returned to the wrong one).
    ///
    /// ```
    /// use weft_sync::Semaphore;
    /// let sem = Semaphore::new(3);
    /// let mut a = sem.try_acquire().unwrap();
    /// a.merge(sem.try_acquire_many(2).unwrap());
    /// assert_eq!(a.num_permits(), 3);
    /// let b = a.split(1).unwrap();
    /// assert_eq!((a.num_permits(), b.num_permits()), (2, 1));
    /// assert!(a.split(5).is_none());
    /// ```
    pub fn merge(&mut self, mut other: Self) {
        assert!(
            std::ptr::eq(self.sem, other.sem),
            "SemaphorePermit::merge: the permits belong to different semaphores"
        );
        self.n += std::mem::take(&mut other.n);
    }

    /// Splits `n` permits off into a new guard; `None` (and nothing changes) if this guard holds
    /// fewer than `n`.
    pub fn split(&mut self, n: usize) -> Option<Self> {
        self.n = self.n.checked_sub(n)?;
        Some(SemaphorePermit { sem: self.sem, n })
    }

    /// How many permits this guard holds.
    pub fn num_permits(&self) -> usize {
        self.n
    }
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        self.sem.release(self.n);
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermit")
            .field("permits", &self.n)
            .finish()
    }
}

/// Permits owned through an `Arc<Semaphore>`; returned when dropped.
#[must_use = "permits are released as soon as the guard is dropped"]
#[clippy::has_significant_drop]
pub struct OwnedSemaphorePermit {
    sem: Arc<Semaphore>,
    n: usize,
}

impl OwnedSemaphorePermit {
    /// Keeps the permits out of the semaphore forever (they are not returned on drop).
    pub fn forget(mut self) {
        self.n = 0;
    }

    /// Moves the permits of `other` into this guard.
    ///
    /// # Panics
    /// If `other` belongs to a different semaphore.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use weft_sync::Semaphore;
    /// let sem = Arc::new(Semaphore::new(2));
    /// let mut a = sem.clone().try_acquire_owned().unwrap();
    /// a.merge(sem.clone().try_acquire_owned().unwrap());
    /// let b = a.split(1).unwrap();
    /// assert_eq!((a.num_permits(), b.num_permits()), (1, 1));
    /// ```
    pub fn merge(&mut self, mut other: Self) {
        assert!(
            Arc::ptr_eq(&self.sem, &other.sem),
            "OwnedSemaphorePermit::merge: the permits belong to different semaphores"
        );
        self.n += std::mem::take(&mut other.n);
    }

    /// Splits `n` permits off into a new guard; `None` if this guard holds fewer than `n`.
    pub fn split(&mut self, n: usize) -> Option<Self> {
        self.n = self.n.checked_sub(n)?;
        Some(OwnedSemaphorePermit {
            sem: self.sem.clone(),
            n,
        })
    }

    /// How many permits this guard holds.
    pub fn num_permits(&self) -> usize {
        self.n
    }

    /// The semaphore these permits belong to.
    pub fn semaphore(&self) -> &Arc<Semaphore> {
        &self.sem
    }
}

impl Drop for OwnedSemaphorePermit {
    fn drop(&mut self) {
        self.sem.release(self.n);
    }
}

impl fmt::Debug for OwnedSemaphorePermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedSemaphorePermit")
            .field("permits", &self.n)
            .finish()
    }
}

/// A semaphore that refuses to hold more than its initial number of free permits (asyncio's
/// `BoundedSemaphore`): [`release`](BoundedSemaphore::release) and
/// [`add_permits`](BoundedSemaphore::add_permits) fail instead of raising the count above the
/// bound, which catches "released more often than acquired" bugs.
///
/// Acquiring works as on [`Semaphore`] (same FIFO rule); it derefs to the inner semaphore for
/// the read-only and acquire methods.
///
/// ```
/// use weft_sync::BoundedSemaphore;
/// # futures_lite::future::block_on(async {
/// let sem = BoundedSemaphore::new(1);
/// assert!(sem.release().is_err()); // already at the bound
/// sem.acquire().await.unwrap().forget();
/// assert!(sem.release().is_ok()); // manual release, asyncio style
/// assert_eq!(sem.available_permits(), 1);
/// # });
/// ```
#[derive(Debug)]
pub struct BoundedSemaphore {
    sem: Semaphore,
    bound: usize,
}

/// [`BoundedSemaphore::release`] or `add_permits` would exceed the bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoundExceeded {
    bound: usize,
}

impl fmt::Display for BoundExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "BoundedSemaphore released too many times: it would hold more than its bound of {} \
             free permits; release only permits that were acquired",
            self.bound
        )
    }
}

impl std::error::Error for BoundExceeded {}

impl BoundedSemaphore {
    /// A semaphore with `permits` free permits, which is also its bound (capped at
    /// [`Semaphore::MAX_PERMITS`]).
    pub fn new(permits: usize) -> Self {
        BoundedSemaphore {
            sem: Semaphore::new(permits),
            bound: permits.min(Semaphore::MAX_PERMITS),
        }
    }

    /// The bound: the most free permits this semaphore may hold.
    pub fn bound(&self) -> usize {
        self.bound
    }

    /// Returns one permit (asyncio's `release`), e.g. after [`SemaphorePermit::forget`]; fails
    /// if that would exceed the bound.
    pub fn release(&self) -> Result<(), BoundExceeded> {
        self.add_permits(1)
    }

    /// Adds `n` permits; fails (adding none) if that would exceed the bound.
    pub fn add_permits(&self, n: usize) -> Result<(), BoundExceeded> {
        if n == 0 || self.sem.release_bounded(n, self.bound) {
            Ok(())
        } else {
            Err(BoundExceeded { bound: self.bound })
        }
    }
}

impl std::ops::Deref for BoundedSemaphore {
    type Target = Semaphore;
    fn deref(&self) -> &Semaphore {
        &self.sem
    }
}
