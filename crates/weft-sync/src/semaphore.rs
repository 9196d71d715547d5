//! An async counting semaphore with strict FIFO fairness.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::loom::atomic::{AtomicUsize, Ordering};
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
    waiters: Mutex<WaitList<Waiter>>,
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
}

/// The semaphore was closed: no permit will ever be handed out again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AcquireError(());

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("semaphore closed: no permits will be handed out; stop acquiring")
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
            waiters: Mutex::new(WaitList::new()),
        }
    }

    /// Number of permits free right now.
    pub fn available_permits(&self) -> usize {
        permits(self.count.load(Ordering::Acquire))
    }

    /// Adds `n` permits (saturating at [`Semaphore::MAX_PERMITS`]) and wakes the waiters they satisfy.
    pub fn add_permits(&self, n: usize) {
        self.release(n);
    }

    /// Closes the semaphore: every pending and future `acquire*` fails with [`AcquireError`].
    /// Permits already held stay valid and are still returned on drop.
    pub fn close(&self) {
        let mut wakes = WakeList::new();
        let mut list = self.waiters.lock();
        self.count.fetch_or(CLOSED, Ordering::AcqRel);
        list.notify_all(&mut wakes, |w| w.granted = false);
        self.count.fetch_and(!WAITERS, Ordering::AcqRel);
        drop(list);
        wakes.wake_all();
    }

    /// `true` once [`close`](Semaphore::close) was called.
    pub fn is_closed(&self) -> bool {
        self.count.load(Ordering::Acquire) & CLOSED != 0
    }

    /// Hands permits to queued waiters in FIFO order, stopping at the first that cannot be
    /// served; clears `WAITERS` once the queue is empty. Call with the `waiters` lock held.
    fn dispatch(&self, list: &mut WaitList<Waiter>, wakes: &mut WakeList) {
        while let Some(w) = list.front() {
            let need = w.need;
            // `WAITERS` is set, so only lock holders change the count.
            if permits(self.count.load(Ordering::Acquire)) < need {
                break;
            }
            self.count.fetch_sub(need << SHIFT, Ordering::AcqRel);
            list.notify_front(wakes, |w| w.granted = true);
        }
        if list.is_empty() {
            self.count.fetch_and(!WAITERS, Ordering::AcqRel);
        }
    }

    /// Adds permits with the `waiters` lock held, then dispatches.
    fn release_locked(&self, n: usize, list: &mut WaitList<Waiter>, wakes: &mut WakeList) {
        let mut c = self.count.load(Ordering::Acquire);
        while let Err(actual) =
            self.count
                .compare_exchange_weak(c, plus(c, n), Ordering::AcqRel, Ordering::Acquire)
        {
            c = actual;
        }
        self.dispatch(list, wakes);
    }

    pub(crate) fn release(&self, n: usize) {
        if n == 0 {
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
        let mut list = self.waiters.lock();
        self.release_locked(n, &mut list, &mut wakes);
        drop(list);
        wakes.wake_all();
    }

    pub(crate) fn try_acquire_raw(&self, n: usize) -> Result<(), TryAcquireError> {
        let mut c = self.count.load(Ordering::Acquire);
        loop {
            if c & CLOSED != 0 {
                return Err(TryAcquireError::Closed);
            }
            if c & WAITERS != 0 || permits(c) < n {
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
    /// `n == 0` completes at once. A request for more than the semaphore will ever hold waits
    /// until the semaphore is closed.
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
            Some(list) => d.field("waiters", &list.len()).finish(),
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
        let mut list = sem.waiters.lock();
        match list.state(key) {
            WaitState::Waiting => {
                list.update_waker(key, cx.waker());
                Poll::Pending
            }
            WaitState::Notified => {
                let w = list.take_notified(key);
                self.key = None;
                self.done = true;
                if w.granted {
                    Poll::Ready(Ok(()))
                } else {
                    Poll::Ready(Err(AcquireError(())))
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
        match sem.try_acquire_raw(n) {
            Ok(()) => {
                self.done = true;
                return Poll::Ready(Ok(()));
            }
            Err(TryAcquireError::Closed) => {
                self.done = true;
                return Poll::Ready(Err(AcquireError(())));
            }
            Err(TryAcquireError::NoPermits) if n == 0 => {
                // Zero permits never wait, even behind a queue.
                self.done = true;
                return Poll::Ready(Ok(()));
            }
            Err(TryAcquireError::NoPermits) => {}
        }
        let mut list = sem.waiters.lock();
        let mut c = sem.count.load(Ordering::Acquire);
        loop {
            if c & CLOSED != 0 {
                self.done = true;
                return Poll::Ready(Err(AcquireError(())));
            }
            if c & WAITERS != 0 {
                break; // queue behind the others
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
                Ok(_) => break,
                Err(actual) => c = actual,
            }
        }
        let key = list.push_back(
            Waiter {
                need: n,
                granted: false,
            },
            cx.waker(),
        );
        self.key = Some(key);
        Poll::Pending
    }

    /// Called on drop: leaves the queue, passing on anything that was handed over.
    pub(crate) fn cancel(&mut self, sem: &Semaphore) {
        if let Some(key) = self.key.take() {
            let mut wakes = WakeList::new();
            let mut list = sem.waiters.lock();
            let (state, w) = list.remove(key);
            if state == WaitState::Notified && w.granted {
                sem.release_locked(w.need, &mut list, &mut wakes);
            } else {
                // The removed waiter may have been blocking the head of the queue; this also
                // clears `WAITERS` if the queue is now empty.
                sem.dispatch(&mut list, &mut wakes);
            }
            drop(list);
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
