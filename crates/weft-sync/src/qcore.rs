//! The shared core of [`Queue`](crate::Queue) (+ LIFO/priority) and the MPMC channels.
//!
//! One mutex protects the item store, the counters and three [`WaitList`]s (getters, putters,
//! `join` waiters). Every state change ends with [`State::dispatch`], which restores the
//! invariants:
//!
//! * a getter is queued only while the store is empty (items are handed to the front getter);
//! * a putter is queued only while the queue is full (a free slot is *reserved* for the front
//!   putter, which then inserts its own item when it is polled);
//! * `store.count() + reserved + handed <= cap`, where `handed` counts items given to getters that
//!   have not picked them up yet, so capacity is never exceeded even by cancelled getters.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::fmt;
use std::task::{ready, Context, Poll};

use crate::loom::Mutex;
use crate::waitlist::{WaitList, WaitState, WakeList};

mod sealed {
    pub trait Sealed {}
}

/// The item order of a queue: implemented by `VecDeque<T>` (FIFO), `Vec<T>` (LIFO) and
/// `BinaryHeap<Reverse<T>>` (smallest first). Sealed: it only names the storage of
/// [`GenericQueue`](crate::GenericQueue).
pub trait QueueStore<T>: sealed::Sealed + Default {
    #[doc(hidden)]
    fn push(&mut self, item: T);
    #[doc(hidden)]
    fn pop(&mut self) -> Option<T>;
    /// Puts back an item that had been handed to a getter that was then dropped, so it comes
    /// out next.
    #[doc(hidden)]
    fn push_returned(&mut self, item: T);
    #[doc(hidden)]
    fn count(&self) -> usize;
}

impl<T> sealed::Sealed for VecDeque<T> {}
impl<T> QueueStore<T> for VecDeque<T> {
    fn push(&mut self, item: T) {
        self.push_back(item)
    }
    fn pop(&mut self) -> Option<T> {
        self.pop_front()
    }
    fn push_returned(&mut self, item: T) {
        self.push_front(item)
    }
    fn count(&self) -> usize {
        VecDeque::len(self)
    }
}

impl<T> sealed::Sealed for Vec<T> {}
impl<T> QueueStore<T> for Vec<T> {
    fn push(&mut self, item: T) {
        Vec::push(self, item)
    }
    fn pop(&mut self) -> Option<T> {
        Vec::pop(self)
    }
    fn push_returned(&mut self, item: T) {
        Vec::push(self, item)
    }
    fn count(&self) -> usize {
        Vec::len(self)
    }
}

impl<T> sealed::Sealed for BinaryHeap<Reverse<T>> {}
impl<T: Ord> QueueStore<T> for BinaryHeap<Reverse<T>> {
    fn push(&mut self, item: T) {
        BinaryHeap::push(self, Reverse(item))
    }
    fn pop(&mut self) -> Option<T> {
        BinaryHeap::pop(self).map(|Reverse(t)| t)
    }
    fn push_returned(&mut self, item: T) {
        BinaryHeap::push(self, Reverse(item))
    }
    fn count(&self) -> usize {
        BinaryHeap::len(self)
    }
}

/// Result of a non-blocking put.
pub(crate) enum TryPut<T> {
    Full(T),
    Closed(T),
}

/// Result of a non-blocking get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TryGet {
    Empty,
    Closed,
}

pub(crate) struct Core<T, S> {
    state: Mutex<State<T, S>>,
}

struct State<T, S> {
    store: S,
    cap: usize,
    reserved: usize,
    handed: usize,
    closed: bool,
    immediate: bool,
    unfinished: usize,
    getters: WaitList<Option<T>>,
    putters: WaitList<bool>,
    joiners: WaitList<()>,
}

impl<T, S: QueueStore<T>> State<T, S> {
    fn used(&self) -> usize {
        self.store.count() + self.reserved + self.handed
    }

    fn dispatch(&mut self, wakes: &mut WakeList) {
        // Hand stored items to waiting getters.
        while !self.getters.is_empty() {
            let Some(item) = self.store.pop() else { break };
            self.handed += 1;
            self.getters.notify_front(wakes, |slot| *slot = Some(item));
        }
        if self.closed {
            self.putters.notify_all(wakes, |granted| *granted = false);
            if self.immediate || (self.store.count() == 0 && self.reserved == 0) {
                self.getters
                    .notify_all(wakes, |slot| debug_assert!(slot.is_none()));
            }
        } else {
            // Reserve free slots for waiting putters.
            while !self.putters.is_empty() && self.used() < self.cap {
                self.reserved += 1;
                self.putters.notify_front(wakes, |granted| *granted = true);
            }
        }
    }

    fn insert(&mut self, item: T, wakes: &mut WakeList) {
        self.store.push(item);
        self.unfinished += 1;
        self.dispatch(wakes);
    }
}

impl<T, S: QueueStore<T>> Core<T, S> {
    /// `cap == usize::MAX` means unbounded.
    pub(crate) fn new(cap: usize) -> Self {
        Core {
            state: Mutex::new(State {
                store: S::default(),
                cap,
                reserved: 0,
                handed: 0,
                closed: false,
                immediate: false,
                unfinished: 0,
                getters: WaitList::new(),
                putters: WaitList::new(),
                joiners: WaitList::new(),
            }),
        }
    }

    pub(crate) fn capacity(&self) -> Option<usize> {
        let cap = self.state.lock().cap;
        (cap != usize::MAX).then_some(cap)
    }

    pub(crate) fn len(&self) -> usize {
        let st = self.state.lock();
        st.store.count() + st.handed
    }

    pub(crate) fn is_full(&self) -> bool {
        let st = self.state.lock();
        st.used() >= st.cap
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.state.lock().closed
    }

    pub(crate) fn try_put(&self, item: T) -> Result<(), TryPut<T>> {
        let mut wakes = WakeList::new();
        let mut st = self.state.lock();
        if st.closed {
            return Err(TryPut::Closed(item));
        }
        if !st.putters.is_empty() || st.used() >= st.cap {
            return Err(TryPut::Full(item));
        }
        st.insert(item, &mut wakes);
        drop(st);
        wakes.wake_all();
        Ok(())
    }

    pub(crate) fn try_get(&self) -> Result<T, TryGet> {
        let mut wakes = WakeList::new();
        let mut st = self.state.lock();
        if st.immediate {
            return Err(TryGet::Closed);
        }
        match st.store.pop() {
            Some(item) => {
                st.dispatch(&mut wakes);
                drop(st);
                wakes.wake_all();
                Ok(item)
            }
            None if st.closed && st.reserved == 0 => Err(TryGet::Closed),
            None => Err(TryGet::Empty),
        }
    }

    /// Closes the queue: later puts fail, pending putters fail, getters drain then fail.
    /// With `immediate`, stored items are discarded (returned, to be dropped by the caller outside
    /// the lock, each counted as done) and getters fail at once.
    /// Returns `true` if this call closed it.
    pub(crate) fn close(&self, immediate: bool) -> (bool, Vec<T>) {
        let mut wakes = WakeList::new();
        let mut st = self.state.lock();
        let first = !st.closed;
        st.closed = true;
        let mut drained = Vec::new();
        if immediate {
            st.immediate = true;
            while let Some(item) = st.store.pop() {
                drained.push(item);
            }
            st.unfinished = st.unfinished.saturating_sub(drained.len());
            if st.unfinished == 0 {
                st.joiners.notify_all(&mut wakes, |_| {});
            }
        }
        st.dispatch(&mut wakes);
        drop(st);
        wakes.wake_all();
        (first, drained)
    }

    pub(crate) fn task_done(&self) -> Result<(), ()> {
        let mut wakes = WakeList::new();
        let mut st = self.state.lock();
        if st.unfinished == 0 {
            return Err(());
        }
        st.unfinished -= 1;
        if st.unfinished == 0 {
            st.joiners.notify_all(&mut wakes, |_| {});
        }
        drop(st);
        wakes.wake_all();
        Ok(())
    }

    pub(crate) fn unfinished(&self) -> usize {
        self.state.lock().unfinished
    }

    pub(crate) fn debug_fields(&self, d: &mut fmt::DebugStruct<'_, '_>) {
        match self.state.try_lock() {
            Some(st) => {
                d.field("len", &(st.store.count() + st.handed))
                    .field("capacity", &(st.cap != usize::MAX).then_some(st.cap))
                    .field("closed", &st.closed)
                    .field("getters", &st.getters.len())
                    .field("putters", &st.putters.len());
            }
            None => {
                d.field("state", &format_args!("<busy>"));
            }
        }
    }
}

/// State machine of one pending put (the item lives here until a slot is reserved for it).
#[derive(Debug)]
pub(crate) struct PutState<T> {
    item: Option<T>,
    key: Option<usize>,
}

impl<T> PutState<T> {
    pub(crate) fn new(item: T) -> Self {
        PutState {
            item: Some(item),
            key: None,
        }
    }

    /// `Err(item)` when the queue is closed.
    pub(crate) fn poll<S: QueueStore<T>>(
        &mut self,
        core: &Core<T, S>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), T>> {
        let mut wakes = WakeList::new();
        let mut st = core.state.lock();
        let item = self
            .item
            .take()
            .expect("put future polled after completion");
        match st.putters.poll_waiter(&mut self.key, cx.waker()) {
            Poll::Ready(None) => {
                if st.closed {
                    return Poll::Ready(Err(item));
                }
                if st.putters.is_empty() && st.used() < st.cap {
                    st.insert(item, &mut wakes);
                    drop(st);
                    wakes.wake_all();
                    return Poll::Ready(Ok(()));
                }
                self.item = Some(item);
                self.key = Some(st.putters.push_back(false, cx.waker()));
                Poll::Pending
            }
            Poll::Pending => {
                self.item = Some(item);
                Poll::Pending
            }
            Poll::Ready(Some(granted)) => {
                if !granted {
                    return Poll::Ready(Err(item));
                }
                st.reserved -= 1;
                if st.immediate {
                    st.dispatch(&mut wakes);
                    drop(st);
                    wakes.wake_all();
                    return Poll::Ready(Err(item));
                }
                st.insert(item, &mut wakes);
                drop(st);
                wakes.wake_all();
                Poll::Ready(Ok(()))
            }
        }
    }

    pub(crate) fn cancel<S: QueueStore<T>>(&mut self, core: &Core<T, S>) {
        if let Some(key) = self.key.take() {
            let mut wakes = WakeList::new();
            let mut st = core.state.lock();
            let (state, granted) = st.putters.remove(key);
            if state == WaitState::Notified && granted {
                // Pass the reserved slot on.
                st.reserved -= 1;
                st.dispatch(&mut wakes);
            }
            drop(st);
            wakes.wake_all();
        }
    }
}

/// State machine of one pending get.
#[derive(Debug, Default)]
pub(crate) struct GetState {
    key: Option<usize>,
}

impl GetState {
    pub(crate) fn new() -> Self {
        GetState { key: None }
    }

    /// `Err(())` when the queue is closed and drained.
    pub(crate) fn poll<T, S: QueueStore<T>>(
        &mut self,
        core: &Core<T, S>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<T, ()>> {
        let mut wakes = WakeList::new();
        let mut st = core.state.lock();
        let res = match ready!(st.getters.poll_waiter(&mut self.key, cx.waker())) {
            None => {
                if st.immediate {
                    return Poll::Ready(Err(()));
                }
                match st.store.pop() {
                    Some(item) => {
                        st.dispatch(&mut wakes);
                        Ok(item)
                    }
                    None if st.closed && st.reserved == 0 => Err(()),
                    None => {
                        self.key = Some(st.getters.push_back(None, cx.waker()));
                        return Poll::Pending;
                    }
                }
            }
            // Notified: handed an item, or `None` when the queue closed.
            Some(Some(item)) => {
                st.handed -= 1;
                st.dispatch(&mut wakes);
                Ok(item)
            }
            Some(None) => Err(()),
        };
        drop(st);
        wakes.wake_all();
        Poll::Ready(res)
    }

    pub(crate) fn cancel<T, S: QueueStore<T>>(&mut self, core: &Core<T, S>) {
        if let Some(key) = self.key.take() {
            let mut wakes = WakeList::new();
            let mut st = core.state.lock();
            if let (_, Some(item)) = st.getters.remove(key) {
                // Pass the item on: back to the front of the queue, or to the next getter.
                st.handed -= 1;
                st.store.push_returned(item);
                st.dispatch(&mut wakes);
            }
            drop(st);
            wakes.wake_all();
        }
    }
}

/// State machine of one pending `join`.
#[derive(Debug, Default)]
pub(crate) struct JoinState {
    key: Option<usize>,
}

impl JoinState {
    pub(crate) fn poll<T, S: QueueStore<T>>(
        &mut self,
        core: &Core<T, S>,
        cx: &mut Context<'_>,
    ) -> Poll<()> {
        let st = &mut *core.state.lock();
        st.joiners
            .poll_until(&mut self.key, cx.waker(), || st.unfinished == 0)
    }

    pub(crate) fn cancel<T, S: QueueStore<T>>(&mut self, core: &Core<T, S>) {
        if let Some(key) = self.key.take() {
            core.state.lock().joiners.remove(key);
        }
    }
}
