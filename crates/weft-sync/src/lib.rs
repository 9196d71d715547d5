//! Runtime-agnostic async synchronization primitives for weft.
//!
//! Works under any executor (weft, tokio, smol): nothing here depends on a runtime, only on
//! `std::task::Waker`. Every primitive is built on one FIFO waiter queue (see the wake policy in
//! `docs/sync.md`), so all of them share the same guarantees:
//!
//! * **FIFO, hand-off fairness.** Waiters are served in arrival order and the resource (permits,
//!   an item, a slot) is handed directly to the woken waiter, so nobody can barge in. The
//!   exception is [`Mutex`], which lets newcomers barge until a waiter has waited 1 ms (Go's
//!   rule), for speed under contention.
//! * **Cancel safety.** Dropping a pending `lock`, `acquire`, `get`, `put`, `send`, `recv` or
//!   `wait` loses no permit, no item and no wake-up: whatever had already been handed to the
//!   dropped waiter is passed to the next one.
//! * **Blocking variants** (`*_blocking`) for threads outside any runtime.
//!
//! | weft | asyncio |
//! |---|---|
//! | [`Mutex`] | `asyncio.Lock` |
//! | [`RwLock`] | (none) |
//! | [`Semaphore`], [`BoundedSemaphore`] | `asyncio.Semaphore`, `asyncio.BoundedSemaphore` |
//! | [`Event`] | `asyncio.Event` |
//! | [`Notify`] | (none; tokio's `Notify`: a stored wake-up permit) |
//! | [`Condition`] | `asyncio.Condition` |
//! | [`Barrier`] | `asyncio.Barrier` |
//! | [`Queue`], [`PriorityQueue`], [`LifoQueue`] | `asyncio.Queue`, `PriorityQueue`, `LifoQueue` |
//! | [`channel`] | (none; MPMC, oneshot, broadcast, watch channels) |
//! | [`CancellationToken`] | (task cancellation scopes) |

#![deny(unsafe_code)]
#![warn(missing_debug_implementations)]

#[macro_use]
mod error;

mod barrier;
mod block;
mod cancel;
pub mod channel;
mod condition;
mod event;
mod loom;
#[allow(unsafe_code)]
mod mutex;
mod notify;
mod qcore;
mod queue;
#[allow(unsafe_code)]
mod rwlock;
mod semaphore;
mod waitlist;

pub use barrier::{Barrier, BarrierWait, BarrierWaitResult, BrokenBarrierError, ZeroPartiesError};
pub use cancel::{CancellationToken, DropGuard, WaitForCancellation, WaitForCancellationOwned};
pub use condition::Condition;
pub use event::{Event, EventWait};
pub use mutex::{Mutex, MutexGuard, OwnedMutexGuard, TryLockError};
pub use notify::{Notified, Notify};
pub use queue::{
    GenericQueue, Get, Join, LifoQueue, PriorityQueue, Put, Queue, QueueError, QueueShutDown,
    QueueStore,
};
pub use rwlock::{
    MappedRwLockReadGuard, MappedRwLockWriteGuard, OwnedRwLockReadGuard, OwnedRwLockWriteGuard,
    RwLock, RwLockReadGuard, RwLockUpgradableReadGuard, RwLockWriteGuard,
    TryLockError as RwTryLockError,
};
pub use semaphore::{
    AcquireError, BoundExceeded, BoundedSemaphore, OwnedSemaphorePermit, Semaphore,
    SemaphorePermit, TryAcquireError,
};
