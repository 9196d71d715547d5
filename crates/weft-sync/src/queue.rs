//! asyncio-style queues: [`Queue`] (FIFO), [`LifoQueue`] and [`PriorityQueue`] (smallest first).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::loom::Arc;
use crate::qcore::{Core, GetState, JoinState, PutState, TryGet, TryPut};

pub use crate::qcore::QueueStore;

/// A FIFO queue with asyncio's `Queue` semantics.
///
/// ```
/// use weft_sync::Queue;
/// # futures_lite::future::block_on(async {
/// let q = Queue::bounded(2);
/// q.put(1).await.unwrap();
/// q.try_put(2).unwrap();
/// assert!(q.is_full());
/// assert_eq!(q.get().await.unwrap(), 1);
/// q.task_done().unwrap();
/// assert_eq!(q.try_get().unwrap(), 2);
/// q.task_done().unwrap();
/// q.join().await; // every item gotten was marked done
/// # });
/// ```
pub type Queue<T> = GenericQueue<T, VecDeque<T>>;

/// A LIFO queue (asyncio's `LifoQueue`): the most recently put item comes out first.
///
/// ```
/// use weft_sync::LifoQueue;
/// let q = LifoQueue::unbounded();
/// q.try_put(1).unwrap();
/// q.try_put(2).unwrap();
/// assert_eq!(q.try_get().unwrap(), 2);
/// ```
pub type LifoQueue<T> = GenericQueue<T, Vec<T>>;

/// A priority queue (asyncio's `PriorityQueue`, like `heapq`): the **smallest** item comes out
/// first. Wrap items in [`std::cmp::Reverse`] for largest-first.
///
/// ```
/// use weft_sync::PriorityQueue;
/// let q = PriorityQueue::unbounded();
/// q.try_put((3, "c")).unwrap();
/// q.try_put((1, "a")).unwrap();
/// assert_eq!(q.try_get().unwrap(), (1, "a"));
/// ```
pub type PriorityQueue<T> = GenericQueue<T, BinaryHeap<Reverse<T>>>;

/// The queue behind [`Queue`], [`LifoQueue`] and [`PriorityQueue`]; `S` picks the item order.
///
/// Semantics follow asyncio (3.13):
///
/// * `bounded(maxsize)` blocks `put` while `maxsize` items are queued; `bounded(0)` is unbounded,
///   as `asyncio.Queue(0)` is.
/// * Waiting putters and getters are served FIFO with hand-off: an item put while a getter waits
///   goes straight to the longest-waiting getter; a slot freed while putters wait is reserved for
///   the longest-waiting putter.
/// * [`task_done`](GenericQueue::task_done) / [`join`](GenericQueue::join) track "unfinished" items
///   (incremented by every successful put).
/// * [`shutdown`](GenericQueue::shutdown): later puts fail with [`QueueShutDown`]; gets drain
///   what is left and then fail; `shutdown(true)` discards the items (counting each as done) and
///   makes gets fail at once.
///
/// Clones are handles to the same queue.
pub struct GenericQueue<T, S> {
    core: Arc<Core<T, S>>,
}

impl<T, S> Clone for GenericQueue<T, S> {
    fn clone(&self) -> Self {
        GenericQueue {
            core: self.core.clone(),
        }
    }
}

value_error! {
    /// The queue was shut down. For `put`, it carries the item back.
    pub struct QueueShutDown<T = ()>(pub T) =>
        "queue was shut down: no more items can be put, and none are left to get";
}

value_error_enum! {
    /// Errors of the non-waiting queue operations and of `task_done`.
    pub enum QueueError<T = ()> {
        /// `try_put` on a full queue (the item is returned).
        Full(T) => "queue is full: await `put` to wait for a free slot",
        /// `try_get` on an empty queue.
        Empty => "queue is empty: await `get` to wait for an item",
        /// The queue was shut down (for `try_put`, the item is returned).
        ShutDown(T) => "queue was shut down",
        /// `task_done` was called more times than items were put.
        TaskDoneTooManyTimes =>
            "task_done() called more times than items were put: call it once per item gotten",
    }
}

impl<T> QueueError<T> {
    /// The rejected item, if this error carries one.
    pub fn into_inner(self) -> Option<T> {
        match self {
            QueueError::Full(t) | QueueError::ShutDown(t) => Some(t),
            _ => None,
        }
    }
}

impl<T, S: QueueStore<T>> GenericQueue<T, S> {
    /// A queue holding at most `maxsize` items (`0` means unbounded, as in asyncio).
    pub fn bounded(maxsize: usize) -> Self {
        let cap = if maxsize == 0 { usize::MAX } else { maxsize };
        GenericQueue {
            core: Arc::new(Core::new(cap)),
        }
    }

    /// A queue without a size limit: `put` never waits.
    pub fn unbounded() -> Self {
        Self::bounded(0)
    }

    /// Puts `item`, waiting while the queue is full.
    ///
    /// # Cancel safety
    /// Cancel-safe: if the future is dropped before completing, the item was not put (it is
    /// dropped with the future) and a slot already reserved for it is passed to the next putter.
    pub fn put(&self, item: T) -> Put<'_, T, S> {
        Put {
            core: &self.core,
            st: PutState::new(item),
        }
    }

    /// Puts `item` if there is room now.
    #[doc(alias = "put_nowait")]
    pub fn try_put(&self, item: T) -> Result<(), QueueError<T>> {
        self.core.try_put(item).map_err(|e| match e {
            TryPut::Full(t) => QueueError::Full(t),
            TryPut::Closed(t) => QueueError::ShutDown(t),
        })
    }

    /// Takes the next item, waiting while the queue is empty.
    ///
    /// # Cancel safety
    /// Cancel-safe: an item handed to a dropped `get` goes back to the head of the queue (or to
    /// the next waiting getter); no item is lost.
    pub fn get(&self) -> Get<'_, T, S> {
        Get {
            core: &self.core,
            st: GetState::new(),
        }
    }

    /// Takes the next item if there is one now.
    #[doc(alias = "get_nowait")]
    pub fn try_get(&self) -> Result<T, QueueError> {
        self.core.try_get().map_err(|e| match e {
            TryGet::Empty => QueueError::Empty,
            TryGet::Closed => QueueError::ShutDown(()),
        })
    }

    /// Blocking version of [`put`](GenericQueue::put), for threads outside the runtime.
    pub fn put_blocking(&self, item: T) -> Result<(), QueueShutDown<T>> {
        crate::block::block_on(self.put(item))
    }

    /// Blocking version of [`get`](GenericQueue::get), for threads outside the runtime.
    pub fn get_blocking(&self) -> Result<T, QueueShutDown> {
        crate::block::block_on(self.get())
    }

    /// Marks one gotten item as processed (asyncio's `task_done`).
    pub fn task_done(&self) -> Result<(), QueueError> {
        self.core
            .task_done()
            .map_err(|()| QueueError::TaskDoneTooManyTimes)
    }

    /// Number of items put and not yet marked done.
    #[doc(alias = "_unfinished_tasks")]
    pub fn unfinished_tasks(&self) -> usize {
        self.core.unfinished()
    }

    /// Waits until every item put has been marked done with [`task_done`](GenericQueue::task_done).
    ///
    /// # Cancel safety
    /// Cancel-safe: it only observes the counter.
    pub fn join(&self) -> Join<'_, T, S> {
        Join {
            core: &self.core,
            st: JoinState::default(),
        }
    }

    /// Shuts the queue down (asyncio 3.13 `shutdown`). Later puts fail, waiting putters fail.
    /// With `immediate == false` gets drain the remaining items, then fail; with `true` the
    /// remaining items are dropped (each counted as done, so `join` can return) and gets fail at
    /// once. Calling it again is allowed (a later `true` still discards).
    pub fn shutdown(&self, immediate: bool) {
        let (_, drained) = self.core.close(immediate);
        crate::qcore::drop_items(drained);
    }

    /// `true` once [`shutdown`](GenericQueue::shutdown) was called.
    #[doc(alias = "is_closed")]
    pub fn is_shut_down(&self) -> bool {
        self.core.is_closed()
    }

    /// Number of items in the queue.
    #[doc(alias = "qsize")]
    pub fn len(&self) -> usize {
        self.core.len()
    }

    /// `true` when no item is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `true` when a `put` would wait.
    pub fn is_full(&self) -> bool {
        self.core.is_full()
    }

    /// The size limit; `0` for an unbounded queue (as asyncio's `maxsize`).
    pub fn maxsize(&self) -> usize {
        self.core.capacity().unwrap_or(0)
    }
}

impl<T, S: QueueStore<T>> fmt::Debug for GenericQueue<T, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Queue");
        self.core.debug_fields(&mut d);
        d.finish()
    }
}

/// Future returned by [`GenericQueue::put`].
#[must_use = "futures do nothing unless polled"]
pub struct Put<'a, T, S: QueueStore<T>> {
    core: &'a Core<T, S>,
    st: PutState<T>,
}

impl<T, S: QueueStore<T>> Unpin for Put<'_, T, S> {}

impl<T, S: QueueStore<T>> Future for Put<'_, T, S> {
    type Output = Result<(), QueueShutDown<T>>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        this.st.poll(this.core, cx).map_err(QueueShutDown)
    }
}

impl<T, S: QueueStore<T>> Drop for Put<'_, T, S> {
    fn drop(&mut self) {
        self.st.cancel(self.core);
    }
}

impl<T, S: QueueStore<T>> fmt::Debug for Put<'_, T, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Put").finish_non_exhaustive()
    }
}

/// Future returned by [`GenericQueue::get`].
#[must_use = "futures do nothing unless polled"]
pub struct Get<'a, T, S: QueueStore<T>> {
    core: &'a Core<T, S>,
    st: GetState,
}

impl<T, S: QueueStore<T>> Future for Get<'_, T, S> {
    type Output = Result<T, QueueShutDown>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        this.st.poll(this.core, cx).map_err(|()| QueueShutDown(()))
    }
}

impl<T, S: QueueStore<T>> Drop for Get<'_, T, S> {
    fn drop(&mut self) {
        self.st.cancel(self.core);
    }
}

impl<T, S: QueueStore<T>> fmt::Debug for Get<'_, T, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Get").finish_non_exhaustive()
    }
}

/// Future returned by [`GenericQueue::join`].
#[must_use = "futures do nothing unless polled"]
pub struct Join<'a, T, S: QueueStore<T>> {
    core: &'a Core<T, S>,
    st: JoinState,
}

impl<T, S: QueueStore<T>> Future for Join<'_, T, S> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        this.st.poll(this.core, cx)
    }
}

impl<T, S: QueueStore<T>> Drop for Join<'_, T, S> {
    fn drop(&mut self) {
        self.st.cancel(self.core);
    }
}

impl<T, S: QueueStore<T>> fmt::Debug for Join<'_, T, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Join").finish_non_exhaustive()
    }
}
