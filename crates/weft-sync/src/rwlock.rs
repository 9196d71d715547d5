//! An async reader-writer lock with FIFO fairness (no writer starvation).

use std::fmt;
use std::ops::{Deref, DerefMut};

use crate::loom::UnsafeCell;
use crate::semaphore::Semaphore;

use crate::loom::Arc;

/// Readers each take one permit; a writer takes them all (the default reader limit).
const MAX_READERS: usize = Semaphore::MAX_PERMITS;

/// An async reader-writer lock.
///
/// Fairness is strict FIFO over one permit queue: a waiting writer blocks every reader that
/// arrives after it, so writers are never starved, and readers queued behind a writer are let in
/// together once it leaves. Writers and upgradable readers additionally serialize on a small
/// internal mutex, so at most one of them is in line for the main queue at a time (this is what
/// makes [`RwLockUpgradableReadGuard::upgrade`] deadlock-free).
///
/// ```
/// use weft_sync::RwLock;
/// # futures_lite::future::block_on(async {
/// let lock = RwLock::new(5);
/// {
///     let r1 = lock.read().await;
///     let r2 = lock.read().await;
///     assert_eq!(*r1 + *r2, 10);
/// }
/// let up = lock.upgradable_read().await;
/// let mut w = up.upgrade().await;
/// *w += 1;
/// drop(w);
/// assert_eq!(*lock.read().await, 6);
/// # });
/// ```
pub struct RwLock<T> {
    sem: Semaphore,
    writers: Semaphore,
    /// Most readers at once; a writer takes this many permits.
    max: usize,
    data: UnsafeCell<T>,
}

// SAFETY: shared access hands out `&T` to several threads at once (needs `T: Sync`) and the write
// guard hands `&mut T` to one thread at a time (needs `T: Send`).
unsafe impl<T: Send + Sync> Sync for RwLock<T> {}

/// A `try_read`/`try_write` failed because the lock is held in a conflicting mode or others are
/// queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TryLockError(());

impl fmt::Display for TryLockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("rwlock is busy: await `read()`/`write()` to wait for it")
    }
}

impl std::error::Error for TryLockError {}

impl<T> RwLock<T> {
    /// Creates an unlocked lock holding `value`.
    pub fn new(value: T) -> Self {
        Self::with_max_readers(value, MAX_READERS)
    }

    /// Creates an unlocked lock that admits at most `max_readers` readers at once (capped at
    /// [`Semaphore::MAX_PERMITS`]); the next reader waits in the FIFO queue.
    ///
    /// # Panics
    /// If `max_readers == 0` (no reader could ever get in).
    ///
    /// ```
    /// use weft_sync::RwLock;
    /// let lock = RwLock::with_max_readers(0u8, 2);
    /// let (_a, _b) = (lock.try_read().unwrap(), lock.try_read().unwrap());
    /// assert!(lock.try_read().is_err());
    /// ```
    pub fn with_max_readers(value: T, max_readers: usize) -> Self {
        assert!(
            max_readers > 0,
            "RwLock::with_max_readers(_, 0): at least one reader must be allowed"
        );
        let max = max_readers.min(Semaphore::MAX_PERMITS);
        RwLock {
            sem: Semaphore::new(max),
            writers: Semaphore::new(1),
            max,
            data: UnsafeCell::new(value),
        }
    }

    /// Waits for shared read access; the guard keeps the `Arc` alive (`'static`).
    ///
    /// # Cancel safety
    /// Cancel-safe, as [`read`](RwLock::read).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use weft_sync::RwLock;
    /// # futures_lite::future::block_on(async {
    /// let lock = Arc::new(RwLock::new(1));
    /// let r = lock.clone().read_owned().await;
    /// let mut w = {
    ///     drop(r);
    ///     lock.clone().write_owned().await
    /// };
    /// *w += 1;
    /// drop(w);
    /// assert_eq!(*lock.try_read_owned().unwrap(), 2);
    /// # });
    /// ```
    pub async fn read_owned(self: Arc<Self>) -> OwnedRwLockReadGuard<T> {
        let _ = self.sem.acquire_raw(1).await;
        OwnedRwLockReadGuard { lock: self }
    }

    /// Owned version of [`try_read`](RwLock::try_read).
    pub fn try_read_owned(self: Arc<Self>) -> Result<OwnedRwLockReadGuard<T>, TryLockError> {
        self.sem.try_acquire_raw(1).map_err(|_| TryLockError(()))?;
        Ok(OwnedRwLockReadGuard { lock: self })
    }

    /// Waits for exclusive write access; the guard keeps the `Arc` alive (`'static`).
    ///
    /// # Cancel safety
    /// Cancel-safe, as [`write`](RwLock::write).
    pub async fn write_owned(self: Arc<Self>) -> OwnedRwLockWriteGuard<T> {
        std::mem::forget(self.write().await);
        OwnedRwLockWriteGuard { lock: self }
    }

    /// Owned version of [`try_write`](RwLock::try_write).
    pub fn try_write_owned(self: Arc<Self>) -> Result<OwnedRwLockWriteGuard<T>, TryLockError> {
        std::mem::forget(self.try_write()?);
        Ok(OwnedRwLockWriteGuard { lock: self })
    }

    /// Releases what a write guard holds.
    fn release_write(&self) {
        self.sem.release(self.max);
        self.writers.release(1);
    }

    /// Waits for shared read access.
    ///
    /// # Cancel safety
    /// Cancel-safe: dropping the future gives up its place; access already granted is passed on.
    pub async fn read(&self) -> RwLockReadGuard<'_, T> {
        let _ = self.sem.acquire_raw(1).await;
        RwLockReadGuard { lock: self }
    }

    /// Takes read access if it is free now and no one is queued.
    pub fn try_read(&self) -> Result<RwLockReadGuard<'_, T>, TryLockError> {
        self.sem
            .try_acquire_raw(1)
            .map(|()| RwLockReadGuard { lock: self })
            .map_err(|_| TryLockError(()))
    }

    /// Waits for exclusive write access.
    ///
    /// # Cancel safety
    /// Cancel-safe: dropping the future gives up its place; access already granted is passed on.
    pub async fn write(&self) -> RwLockWriteGuard<'_, T> {
        let _ = self.writers.acquire_raw(1).await;
        let gate = WriterGate(self);
        let _ = self.sem.acquire_raw(self.max).await;
        std::mem::forget(gate);
        RwLockWriteGuard { lock: self }
    }

    /// Takes write access if it is free now and no one is queued.
    pub fn try_write(&self) -> Result<RwLockWriteGuard<'_, T>, TryLockError> {
        self.writers
            .try_acquire_raw(1)
            .map_err(|_| TryLockError(()))?;
        match self.sem.try_acquire_raw(self.max) {
            Ok(()) => Ok(RwLockWriteGuard { lock: self }),
            Err(_) => {
                self.writers.release(1);
                Err(TryLockError(()))
            }
        }
    }

    /// Waits for an upgradable read: shared with plain readers, exclusive with writers and other
    /// upgradable readers, and upgradable to a write lock without letting a writer in between.
    ///
    /// # Cancel safety
    /// Cancel-safe: dropping the future gives up its place; access already granted is passed on.
    pub async fn upgradable_read(&self) -> RwLockUpgradableReadGuard<'_, T> {
        let _ = self.writers.acquire_raw(1).await;
        let gate = WriterGate(self);
        let _ = self.sem.acquire_raw(1).await;
        std::mem::forget(gate);
        RwLockUpgradableReadGuard { lock: self }
    }

    /// Blocking version of [`read`](RwLock::read), for threads outside the runtime.
    #[doc(alias = "blocking_read")]
    pub fn read_blocking(&self) -> RwLockReadGuard<'_, T> {
        crate::block::block_on(self.read())
    }

    /// Blocking version of [`write`](RwLock::write), for threads outside the runtime.
    #[doc(alias = "blocking_write")]
    pub fn write_blocking(&self) -> RwLockWriteGuard<'_, T> {
        crate::block::block_on(self.write())
    }

    /// Mutable access without locking (the `&mut` proves no guard exists).
    pub fn get_mut(&mut self) -> &mut T {
        // SAFETY: `&mut self` means no guard borrows the lock, so this is the only access.
        self.data.with_mut(|p| unsafe { &mut *p })
    }

    /// Consumes the lock and returns the value.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

/// Releases the writer gate if a `write`/`upgradable_read` future is dropped mid-way.
struct WriterGate<'a, T>(&'a RwLock<T>);

impl<T> Drop for WriterGate<'_, T> {
    fn drop(&mut self) {
        self.0.writers.release(1);
    }
}

impl<T: Default> Default for RwLock<T> {
    fn default() -> Self {
        RwLock::new(T::default())
    }
}

impl<T: fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RwLock");
        match self.try_read() {
            Ok(g) => d.field("data", &&*g).finish(),
            Err(_) => d.field("data", &format_args!("<locked>")).finish(),
        }
    }
}

/// Shared read access to a [`RwLock`]; released on drop.
#[must_use = "the lock is released as soon as the guard is dropped"]
#[clippy::has_significant_drop]
pub struct RwLockReadGuard<'a, T> {
    lock: &'a RwLock<T>,
}

impl<T> Deref for RwLockReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: a read permit is held, so no write guard (which needs every permit) exists.
        self.lock.data.with(|p| unsafe { &*p })
    }
}

impl<'a, T> RwLockReadGuard<'a, T> {
    /// Narrows the guard to a part of the data (e.g. one field), keeping the read access.
    ///
    /// ```
    /// use weft_sync::{RwLock, RwLockReadGuard};
    /// # futures_lite::future::block_on(async {
    /// let lock = RwLock::new((1, "a"));
    /// let first = RwLockReadGuard::map(lock.read().await, |v| &v.0);
    /// assert_eq!(*first, 1);
    /// # });
    /// ```
    pub fn map<U: ?Sized>(this: Self, f: impl FnOnce(&T) -> &U) -> MappedRwLockReadGuard<'a, U> {
        let lock = this.lock;
        // SAFETY: a read permit is held (and handed to the mapped guard), so no writer exists
        // for 'a.
        let data = f(lock.data.with(|p| unsafe { &*p }));
        std::mem::forget(this);
        MappedRwLockReadGuard {
            data,
            sem: &lock.sem,
        }
    }
}

impl<T> Drop for RwLockReadGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.sem.release(1);
    }
}

impl<T: fmt::Debug> fmt::Debug for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Exclusive write access to a [`RwLock`]; released on drop.
#[must_use = "the lock is released as soon as the guard is dropped"]
#[clippy::has_significant_drop]
pub struct RwLockWriteGuard<'a, T> {
    lock: &'a RwLock<T>,
}

impl<'a, T> RwLockWriteGuard<'a, T> {
    /// Turns write access into read access atomically (no writer can get in between).
    pub fn downgrade(self) -> RwLockReadGuard<'a, T> {
        let lock = self.lock;
        std::mem::forget(self);
        lock.sem.release(lock.max - 1);
        lock.writers.release(1);
        RwLockReadGuard { lock }
    }

    /// Narrows the guard to a part of the data (e.g. one field), keeping exclusive access.
    ///
    /// ```
    /// use weft_sync::RwLock;
    /// # futures_lite::future::block_on(async {
    /// let lock = RwLock::new((1, String::new()));
    /// let mut s = weft_sync::RwLockWriteGuard::map(lock.write().await, |v| &mut v.1);
    /// s.push('x');
    /// drop(s);
    /// assert_eq!(lock.read().await.1, "x");
    /// # });
    /// ```
    pub fn map<U: ?Sized>(
        this: Self,
        f: impl FnOnce(&mut T) -> &mut U,
    ) -> MappedRwLockWriteGuard<'a, U> {
        let lock = this.lock;
        // SAFETY: the write guard holds every permit, so access is exclusive; the mapped guard
        // takes over those permits (the original is forgotten), so it stays exclusive for 'a.
        let data = f(lock.data.with_mut(|p| unsafe { &mut *p }));
        std::mem::forget(this);
        MappedRwLockWriteGuard {
            data,
            sem: &lock.sem,
            writers: &lock.writers,
            max: lock.max,
        }
    }
}

impl<T> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the write guard holds every permit, so it has exclusive access.
        self.lock.data.with(|p| unsafe { &*p })
    }
}

impl<T> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the write guard holds every permit and is borrowed mutably: exclusive access.
        self.lock.data.with_mut(|p| unsafe { &mut *p })
    }
}

impl<T> Drop for RwLockWriteGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.release_write();
    }
}

impl<T: fmt::Debug> fmt::Debug for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Upgradable read access to a [`RwLock`]; released on drop.
#[must_use = "the lock is released as soon as the guard is dropped"]
#[clippy::has_significant_drop]
pub struct RwLockUpgradableReadGuard<'a, T> {
    lock: &'a RwLock<T>,
}

impl<'a, T> RwLockUpgradableReadGuard<'a, T> {
    /// Waits until the other readers leave, then turns this guard into a write guard.
    ///
    /// # Cancel safety
    /// Not cancel-safe in the sense that dropping the future releases the upgradable read (the
    /// guard was moved into it); no permit is lost.
    pub async fn upgrade(self) -> RwLockWriteGuard<'a, T> {
        let lock = self.lock;
        std::mem::forget(self);
        // If this future is dropped while waiting, give back what the guard held.
        struct Undo<'a, T>(&'a RwLock<T>);
        impl<T> Drop for Undo<'_, T> {
            fn drop(&mut self) {
                self.0.sem.release(1);
                self.0.writers.release(1);
            }
        }
        let undo = Undo(lock);
        let _ = lock.sem.acquire_raw(lock.max - 1).await;
        std::mem::forget(undo);
        RwLockWriteGuard { lock }
    }

    /// Turns this guard into a plain read guard, letting writers and upgradable readers queue.
    pub fn downgrade(self) -> RwLockReadGuard<'a, T> {
        let lock = self.lock;
        std::mem::forget(self);
        lock.writers.release(1);
        RwLockReadGuard { lock }
    }
}

impl<T> Deref for RwLockUpgradableReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: a read permit is held, so no write guard exists.
        self.lock.data.with(|p| unsafe { &*p })
    }
}

impl<T> Drop for RwLockUpgradableReadGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.sem.release(1);
        self.lock.writers.release(1);
    }
}

impl<T: fmt::Debug> fmt::Debug for RwLockUpgradableReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// A [`RwLockReadGuard`] narrowed by [`RwLockReadGuard::map`]; releases the read access on drop.
#[must_use = "the lock is released as soon as the guard is dropped"]
#[clippy::has_significant_drop]
pub struct MappedRwLockReadGuard<'a, U: ?Sized> {
    data: &'a U,
    sem: &'a Semaphore,
}

impl<U: ?Sized> Deref for MappedRwLockReadGuard<'_, U> {
    type Target = U;
    fn deref(&self) -> &U {
        self.data
    }
}

impl<U: ?Sized> Drop for MappedRwLockReadGuard<'_, U> {
    fn drop(&mut self) {
        self.sem.release(1);
    }
}

impl<U: ?Sized + fmt::Debug> fmt::Debug for MappedRwLockReadGuard<'_, U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// A [`RwLockWriteGuard`] narrowed by [`RwLockWriteGuard::map`]; releases the write access on
/// drop.
#[must_use = "the lock is released as soon as the guard is dropped"]
#[clippy::has_significant_drop]
pub struct MappedRwLockWriteGuard<'a, U: ?Sized> {
    data: &'a mut U,
    sem: &'a Semaphore,
    writers: &'a Semaphore,
    max: usize,
}

impl<U: ?Sized> Deref for MappedRwLockWriteGuard<'_, U> {
    type Target = U;
    fn deref(&self) -> &U {
        self.data
    }
}

impl<U: ?Sized> DerefMut for MappedRwLockWriteGuard<'_, U> {
    fn deref_mut(&mut self) -> &mut U {
        self.data
    }
}

impl<U: ?Sized> Drop for MappedRwLockWriteGuard<'_, U> {
    fn drop(&mut self) {
        self.sem.release(self.max);
        self.writers.release(1);
    }
}

impl<U: ?Sized + fmt::Debug> fmt::Debug for MappedRwLockWriteGuard<'_, U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Shared read access to a [`RwLock`] held through an `Arc`; released on drop.
#[must_use = "the lock is released as soon as the guard is dropped"]
#[clippy::has_significant_drop]
pub struct OwnedRwLockReadGuard<T> {
    lock: Arc<RwLock<T>>,
}

impl<T> Deref for OwnedRwLockReadGuard<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: a read permit is held, so no write guard exists.
        self.lock.data.with(|p| unsafe { &*p })
    }
}

impl<T> Drop for OwnedRwLockReadGuard<T> {
    fn drop(&mut self) {
        self.lock.sem.release(1);
    }
}

impl<T: fmt::Debug> fmt::Debug for OwnedRwLockReadGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Exclusive write access to a [`RwLock`] held through an `Arc`; released on drop.
#[must_use = "the lock is released as soon as the guard is dropped"]
#[clippy::has_significant_drop]
pub struct OwnedRwLockWriteGuard<T> {
    lock: Arc<RwLock<T>>,
}

impl<T> Deref for OwnedRwLockWriteGuard<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the write guard holds every permit, so it has exclusive access.
        self.lock.data.with(|p| unsafe { &*p })
    }
}

impl<T> DerefMut for OwnedRwLockWriteGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: every permit is held and the guard is borrowed mutably: exclusive access.
        self.lock.data.with_mut(|p| unsafe { &mut *p })
    }
}

impl<T> Drop for OwnedRwLockWriteGuard<T> {
    fn drop(&mut self) {
        self.lock.release_write();
    }
}

impl<T: fmt::Debug> fmt::Debug for OwnedRwLockWriteGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
