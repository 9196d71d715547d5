//! An async mutex with FIFO hand-off.

use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};

use crate::loom::{Arc, UnsafeCell};
use crate::semaphore::Semaphore;

/// An async mutual-exclusion lock (asyncio's `Lock`, but owning the data it protects).
///
/// Fairness follows Go's `sync.Mutex`: unlock frees the lock and wakes the longest waiter, but
/// until that waiter runs anyone may take the lock (so a task that unlocks and re-locks does not
/// pay a task switch per iteration). Waiters stay in FIFO order, and one that keeps losing for
/// 1 ms switches the mutex to strict FIFO hand-off until the queue drains, so nobody starves.
/// See `docs/sync.md` ("Fairness"). Prefer `std::sync::Mutex` when the guard is never held
/// across an `.await`.
///
/// ```
/// use weft_sync::Mutex;
/// # futures_lite::future::block_on(async {
/// let m = Mutex::new(1);
/// *m.lock().await += 1;
/// assert_eq!(*m.try_lock().unwrap(), 2);
/// # });
/// ```
#[doc(alias = "Lock")]
pub struct Mutex<T> {
    sem: Semaphore,
    data: UnsafeCell<T>,
}

// SAFETY: the semaphore grants at most one guard at a time, so `&Mutex<T>` only ever gives one
// thread access to the `T`; moving the `T` between threads needs `T: Send`.
unsafe impl<T: Send> Sync for Mutex<T> {}

/// `try_lock` failed: the mutex is held (or, while a waiter is starving, others are queued).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TryLockError(());

impl fmt::Display for TryLockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("mutex is locked: await `lock()` to wait for it")
    }
}

impl std::error::Error for TryLockError {}

impl<T> Mutex<T> {
    /// Creates an unlocked mutex holding `value`.
    pub fn new(value: T) -> Self {
        Mutex {
            sem: Semaphore::new_barging(1),
            data: UnsafeCell::new(value),
        }
    }

    /// Waits for the lock.
    ///
    /// # Cancel safety
    /// Cancel-safe: dropping the future gives up its place in line; if the lock had already been
    /// handed to it, it is passed to the next waiter.
    pub async fn lock(&self) -> MutexGuard<'_, T> {
        // The semaphore is never closed, so this cannot fail.
        let _ = self.sem.acquire_raw(1).await;
        MutexGuard {
            lock: self,
            _not_sync: PhantomData,
        }
    }

    /// Takes the lock if it is free (and no queued waiter is starving; see the type docs).
    pub fn try_lock(&self) -> Result<MutexGuard<'_, T>, TryLockError> {
        match self.sem.try_acquire_raw(1) {
            Ok(()) => Ok(MutexGuard {
                lock: self,
                _not_sync: PhantomData,
            }),
            Err(_) => Err(TryLockError(())),
        }
    }

    /// Waits for the lock and returns a guard that keeps the `Arc` alive (`'static`, can be moved
    /// into a spawned task).
    ///
    /// # Cancel safety
    /// Cancel-safe, as [`lock`](Mutex::lock).
    pub async fn lock_owned(self: Arc<Self>) -> OwnedMutexGuard<T> {
        let _ = self.sem.acquire_raw(1).await;
        OwnedMutexGuard {
            lock: self,
            _not_sync: PhantomData,
        }
    }

    /// Owned version of [`try_lock`](Mutex::try_lock).
    pub fn try_lock_owned(self: Arc<Self>) -> Result<OwnedMutexGuard<T>, TryLockError> {
        match self.sem.try_acquire_raw(1) {
            Ok(()) => Ok(OwnedMutexGuard {
                lock: self,
                _not_sync: PhantomData,
            }),
            Err(_) => Err(TryLockError(())),
        }
    }

    /// `true` while the lock is held (or was handed to a waiter that has not resumed yet), i.e.
    /// while `try_lock` would fail. asyncio's `Lock.locked`.
    ///
    /// ```
    /// use weft_sync::Mutex;
    /// let m = Mutex::new(());
    /// let g = m.try_lock().unwrap();
    /// assert!(m.locked());
    /// drop(g);
    /// assert!(!m.locked());
    /// ```
    pub fn locked(&self) -> bool {
        self.sem.locked()
    }

    /// Blocks the current thread until the lock is taken. For threads outside the runtime; calling
    /// it from async code can deadlock the executor.
    #[doc(alias = "blocking_lock")]
    pub fn lock_blocking(&self) -> MutexGuard<'_, T> {
        crate::block::block_on(self.lock())
    }

    /// Mutable access without locking (the `&mut` proves no guard exists).
    pub fn get_mut(&mut self) -> &mut T {
        // SAFETY: `&mut self` means no guard borrows the mutex, so this is the only access.
        self.data.with_mut(|p| unsafe { &mut *p })
    }

    /// Consumes the mutex and returns the value.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(value: T) -> Self {
        Mutex::new(value)
    }
}

impl<T: fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.try_lock() {
            Ok(g) => d.field("data", &&*g).finish(),
            Err(_) => d.field("data", &format_args!("<locked>")).finish(),
        }
    }
}

/// Guard of a locked [`Mutex`]; unlocks on drop.
#[must_use = "the mutex unlocks as soon as the guard is dropped"]
#[clippy::has_significant_drop]
pub struct MutexGuard<'a, T> {
    lock: &'a Mutex<T>,
    // Makes the guard !Sync unless the impl below applies (it needs `T: Sync`).
    _not_sync: PhantomData<Cell<()>>,
}

// SAFETY: `&MutexGuard` only hands out `&T`, which is safe to share when `T: Sync`.
unsafe impl<T: Send + Sync> Sync for MutexGuard<'_, T> {}

impl<'a, T> MutexGuard<'a, T> {
    /// The mutex this guard locks (used by [`Condition`](crate::Condition)).
    pub fn mutex(this: &Self) -> &'a Mutex<T> {
        this.lock
    }
}

impl<T> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the mutex's only permit, so no `&mut T` exists elsewhere.
        self.lock.data.with(|p| unsafe { &*p })
    }
}

impl<T> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the only permit and is borrowed mutably, so access is exclusive.
        self.lock.data.with_mut(|p| unsafe { &mut *p })
    }
}

impl<T> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.sem.release(1);
    }
}

impl<T: fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Guard of a [`Mutex`] locked through an `Arc`; unlocks on drop.
#[must_use = "the mutex unlocks as soon as the guard is dropped"]
#[clippy::has_significant_drop]
pub struct OwnedMutexGuard<T> {
    lock: Arc<Mutex<T>>,
    _not_sync: PhantomData<Cell<()>>,
}

// SAFETY: `&OwnedMutexGuard` only hands out `&T`, which is safe to share when `T: Sync`.
unsafe impl<T: Send + Sync> Sync for OwnedMutexGuard<T> {}

impl<T> OwnedMutexGuard<T> {
    /// The mutex this guard locks.
    pub fn mutex(this: &Self) -> &Arc<Mutex<T>> {
        &this.lock
    }
}

impl<T> Deref for OwnedMutexGuard<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the mutex's only permit, so no `&mut T` exists elsewhere.
        self.lock.data.with(|p| unsafe { &*p })
    }
}

impl<T> DerefMut for OwnedMutexGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the only permit and is borrowed mutably, so access is exclusive.
        self.lock.data.with_mut(|p| unsafe { &mut *p })
    }
}

impl<T> Drop for OwnedMutexGuard<T> {
    fn drop(&mut self) {
        self.lock.sem.release(1);
    }
}

impl<T: fmt::Debug> fmt::Debug for OwnedMutexGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
