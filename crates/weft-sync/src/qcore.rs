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
    /// An empty store with room for `n` items.
    #[doc(hidden)]
    fn with_room(n: usize) -> Self;
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
    fn with_room(n: usize) -> Self {
        VecDeque::with_capacity(n)
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
    fn with_room(n: usize) -> Self {
        Vec::with_capacity(n)
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
    fn with_room(n: usize) -> Self {
        BinaryHeap::with_capacity(n)
    }
}

/// Most memory a bounded queue reserves for its items when it is created.
const PREALLOC_BYTES: usize = 16 * 1024;

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
    getters: WaitList<GetSlot<T>>,
    putters: WaitList<PutSlot>,
    joiners: WaitList<()>,
}

/// The payload of a queued getter.
#[derive(Debug)]
struct GetSlot<T> {
    /// A `Stream` receiver's waiter: it is woken when an item arrives but not handed one (the
    /// item stays in the store, visible to everyone), because nothing guarantees that the stream
    /// is ever polled again.
    wake_only: bool,
    /// The item handed to this getter (`None`: still waiting, woken-only, or the queue closed).
    item: Option<T>,
}

/// The payload of a queued putter: it waits for `need` free slots.
#[derive(Debug)]
struct PutSlot {
    need: usize,
    /// Set by the notifier: `true` when `need` slots were reserved for it, `false` on close.
    granted: bool,
}

/// Drops `items` one by one outside any lock; a panicking destructor does not stop the others
/// from being dropped (the first panic is re-raised afterwards, unless already unwinding).
pub(crate) fn drop_items<T>(items: Vec<T>) {
    let mut first_panic = None;
    for item in items {
        if let Err(p) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(item))) {
            first_panic.get_or_insert(p);
        }
    }
    if let Some(p) = first_panic {
        if !std::thread::panicking() {
            std::panic::resume_unwind(p);
        }
    }
}

impl<T, S: QueueStore<T>> State<T, S> {
    fn used(&self) -> usize {
        self.store.count() + self.reserved + self.handed
    }

    /// Counts `n` discarded items as done (asyncio 3.13 `shutdown(immediate=True)`).
    fn discarded(&mut self, n: usize, wakes: &mut WakeList) {
        if n == 0 {
            return;
        }
        self.unfinished = self.unfinished.saturating_sub(n);
        if self.unfinished == 0 {
            self.joiners.notify_all(wakes, |_| {});
        }
    }

    /// Restores the invariants after a state change: hands items to waiting getters, slots to
    /// waiting putters, or fails them all after a close. Nothing to do (the common case of a
    /// send or receive that nobody waits for) costs three checks.
    #[inline]
    fn dispatch(&mut self, wakes: &mut WakeList) {
        if !self.closed && self.getters.is_empty() && self.putters.is_empty() {
            return;
        }
        self.dispatch_waiters(wakes);
    }

    fn dispatch_waiters(&mut self, wakes: &mut WakeList) {
        // Hand stored items to waiting getters (wake stream waiters, which re-check).
        while let Some(front) = self.getters.front() {
            if self.store.count() == 0 {
                break;
            }
            if front.wake_only {
                self.getters.notify_front(wakes, |_| {});
                continue;
            }
            let Some(item) = self.store.pop() else { break };
            self.handed += 1;
            self.getters
                .notify_front(wakes, |slot| slot.item = Some(item));
        }
        if self.closed {
            self.putters.notify_all(wakes, |slot| slot.granted = false);
            if self.immediate || (self.store.count() == 0 && self.reserved == 0) {
                self.getters
                    .notify_all(wakes, |slot| debug_assert!(slot.item.is_none()));
            }
        } else {
            // Reserve free slots for waiting putters (FIFO: a large `reserve_many` at the front
            // blocks the ones behind it).
            while let Some(front) = self.putters.front() {
                let need = front.need;
                if self.cap - self.used() < need {
                    break;
                }
                self.reserved += need;
                self.putters.notify_front(wakes, |slot| slot.granted = true);
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
                // Bounded: room for the bound up front (capped at `PREALLOC_BYTES`), so the hot
                // path under the lock does not reallocate while the queue fills.
                store: S::with_room(if cap == usize::MAX {
                    0
                } else {
                    cap.min(PREALLOC_BYTES / std::mem::size_of::<T>().max(1))
                }),
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

    /// Free slots right now (`None` if unbounded): the bound minus stored, handed and reserved.
    pub(crate) fn free(&self) -> Option<usize> {
        let st = self.state.lock();
        (st.cap != usize::MAX).then(|| st.cap - st.used())
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
            st.discarded(drained.len(), &mut wakes);
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

/// State machine of one pending reservation of `need` slots (the basis of `put`/`send` and of
/// the channel's `reserve`).
#[derive(Debug)]
pub(crate) struct ReserveState {
    need: usize,
    key: Option<usize>,
}

impl ReserveState {
    pub(crate) fn new(need: usize) -> Self {
        ReserveState { need, key: None }
    }

    /// `Ready(Ok(()))` once `need` slots are reserved (counted in `reserved`; the caller owns
    /// them), `Ready(Err(()))` when the queue is closed.
    pub(crate) fn poll<T, S: QueueStore<T>>(
        &mut self,
        core: &Core<T, S>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), ()>> {
        let mut wakes = WakeList::new();
        let mut st = core.state.lock();
        self.poll_locked(&mut st, cx, &mut wakes)
    }

    fn poll_locked<T, S: QueueStore<T>>(
        &mut self,
        st: &mut State<T, S>,
        cx: &mut Context<'_>,
        wakes: &mut WakeList,
    ) -> Poll<Result<(), ()>> {
        match ready!(st.putters.poll_waiter(&mut self.key, cx.waker(), wakes)) {
            None => {
                if st.closed {
                    return Poll::Ready(Err(()));
                }
                if st.putters.is_empty() && st.cap - st.used() >= self.need {
                    st.reserved += self.need;
                    return Poll::Ready(Ok(()));
                }
                let slot = PutSlot {
                    need: self.need,
                    granted: false,
                };
                self.key = Some(st.putters.push_back(slot, cx.waker()));
                Poll::Pending
            }
            Some(PutSlot { granted: false, .. }) => Poll::Ready(Err(())),
            Some(PutSlot { granted: true, .. }) if st.closed => {
                // Shut down after the slots were reserved: a put after `shutdown` fails, as in
                // asyncio (the waiting putter is woken with `QueueShutDown`).
                st.reserved -= self.need;
                st.dispatch(wakes);
                Poll::Ready(Err(()))
            }
            Some(PutSlot { granted: true, .. }) => Poll::Ready(Ok(())),
        }
    }

    /// Withdraws the reservation (on drop); a no-op unless it is queued.
    #[inline]
    pub(crate) fn cancel<T, S: QueueStore<T>>(&mut self, core: &Core<T, S>) {
        if let Some(key) = self.key.take() {
            Self::cancel_queued(key, core);
        }
    }

    fn cancel_queued<T, S: QueueStore<T>>(key: usize, core: &Core<T, S>) {
        {
            let mut wakes = WakeList::new();
            let mut st = core.state.lock();
            let (state, slot) = st.putters.remove(key, &mut wakes);
            if state == WaitState::Notified && slot.granted {
                // Pass the reserved slots on.
                st.reserved -= slot.need;
            }
            // A large request that was blocking the front may be gone: re-dispatch either way.
            st.dispatch(&mut wakes);
            drop(st);
            wakes.wake_all();
        }
    }
}

impl<T, S: QueueStore<T>> Core<T, S> {
    /// Reserves `n` slots now if they are free and no putter is queued.
    pub(crate) fn try_reserve(&self, n: usize) -> Result<(), TryPut<()>> {
        let mut st = self.state.lock();
        if st.closed {
            return Err(TryPut::Closed(()));
        }
        if !st.putters.is_empty() || st.cap - st.used() < n {
            return Err(TryPut::Full(()));
        }
        st.reserved += n;
        Ok(())
    }

    /// Uses one reserved slot to insert `item`; `Err(item)` (slot released) if the queue was
    /// closed meanwhile.
    pub(crate) fn put_reserved(&self, item: T) -> Result<(), T> {
        let mut wakes = WakeList::new();
        let mut st = self.state.lock();
        st.reserved -= 1;
        if st.closed {
            st.dispatch(&mut wakes);
            drop(st);
            return Err(item);
        }
        st.insert(item, &mut wakes);
        drop(st);
        wakes.wake_all();
        Ok(())
    }

    /// Gives back `n` reserved slots unused.
    pub(crate) fn release_reserved(&self, n: usize) {
        if n == 0 {
            return;
        }
        let mut wakes = WakeList::new();
        let mut st = self.state.lock();
        st.reserved -= n;
        st.dispatch(&mut wakes);
        drop(st);
        wakes.wake_all();
    }

    /// Takes up to `limit` stored items into `buf` under one lock; returns how many.
    pub(crate) fn try_get_many(&self, buf: &mut Vec<T>, limit: usize) -> usize {
        let mut wakes = WakeList::new();
        let mut st = self.state.lock();
        if st.immediate {
            return 0;
        }
        let mut n = 0;
        while n < limit {
            let Some(item) = st.store.pop() else { break };
            buf.push(item);
            n += 1;
        }
        if n > 0 {
            st.dispatch(&mut wakes);
        }
        drop(st);
        wakes.wake_all();
        n
    }
}

/// State machine of one pending put (the item lives here until a slot is reserved for it).
#[derive(Debug)]
pub(crate) struct PutState<T> {
    item: Option<T>,
    reserve: ReserveState,
}

impl<T> PutState<T> {
    pub(crate) fn new(item: T) -> Self {
        PutState {
            item: Some(item),
            reserve: ReserveState::new(1),
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
        assert!(self.item.is_some(), "put future polled after completion");
        let res = ready!(self.reserve.poll_locked(&mut st, cx, &mut wakes));
        let item = self.item.take().expect("checked above");
        if res.is_err() {
            return Poll::Ready(Err(item));
        }
        st.reserved -= 1;
        st.insert(item, &mut wakes);
        drop(st);
        wakes.wake_all();
        Poll::Ready(Ok(()))
    }

    /// Takes the item back (after `cancel`), e.g. when a timeout fired first.
    pub(crate) fn take_item(&mut self) -> Option<T> {
        self.item.take()
    }

    #[inline]
    pub(crate) fn cancel<S: QueueStore<T>>(&mut self, core: &Core<T, S>) {
        self.reserve.cancel(core);
    }
}

/// State machine of one pending get.
#[derive(Debug, Default)]
pub(crate) struct GetState {
    key: Option<usize>,
    /// For a `Stream`: never be handed an item (see `GetSlot::wake_only`).
    wake_only: bool,
}

impl GetState {
    pub(crate) fn new() -> Self {
        GetState {
            key: None,
            wake_only: false,
        }
    }

    /// A getter for a `Stream` (woken when an item arrives, never handed one).
    pub(crate) fn new_stream() -> Self {
        GetState {
            key: None,
            wake_only: true,
        }
    }

    /// `Err(())` when the queue is closed and drained.
    pub(crate) fn poll<T, S: QueueStore<T>>(
        &mut self,
        core: &Core<T, S>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<T, ()>> {
        let mut wakes = WakeList::new();
        let mut discard = None;
        let mut st = core.state.lock();
        let res = match ready!(st
            .getters
            .poll_waiter(&mut self.key, cx.waker(), &mut wakes))
        {
            // Not queued, or a stream waiter that was woken: check the store.
            None
            | Some(GetSlot {
                wake_only: true, ..
            }) => {
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
                        let slot = GetSlot {
                            wake_only: self.wake_only,
                            item: None,
                        };
                        self.key = Some(st.getters.push_back(slot, cx.waker()));
                        return Poll::Pending;
                    }
                }
            }
            // Notified: handed an item, or `None` when the queue closed.
            Some(GetSlot {
                item: Some(item), ..
            }) => {
                st.handed -= 1;
                if st.immediate {
                    // Handed before an immediate shutdown: discarded, counted as done.
                    st.discarded(1, &mut wakes);
                    st.dispatch(&mut wakes);
                    discard = Some(item);
                    Err(())
                } else {
                    st.dispatch(&mut wakes);
                    Ok(item)
                }
            }
            Some(GetSlot { item: None, .. }) => Err(()),
        };
        drop(st);
        wakes.wake_all();
        if let Some(item) = discard {
            drop_items(vec![item]);
        }
        Poll::Ready(res)
    }

    /// Withdraws the getter (on drop); a no-op unless it is queued.
    #[inline]
    pub(crate) fn cancel<T, S: QueueStore<T>>(&mut self, core: &Core<T, S>) {
        if let Some(key) = self.key.take() {
            Self::cancel_queued(key, core);
        }
    }

    fn cancel_queued<T, S: QueueStore<T>>(key: usize, core: &Core<T, S>) {
        {
            let mut wakes = WakeList::new();
            let mut discard = None;
            let mut st = core.state.lock();
            if let (
                _,
                GetSlot {
                    item: Some(item), ..
                },
            ) = st.getters.remove(key, &mut wakes)
            {
                st.handed -= 1;
                if st.immediate {
                    // Nobody may read it any more: discard it (counted as done) so `join`
                    // does not wait for it.
                    st.discarded(1, &mut wakes);
                    discard = Some(item);
                } else {
                    // Pass the item on: back to the front of the queue, or to the next getter.
                    st.store.push_returned(item);
                }
                st.dispatch(&mut wakes);
            }
            drop(st);
            wakes.wake_all();
            if let Some(item) = discard {
                drop_items(vec![item]);
            }
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
        let mut wakes = WakeList::new();
        let st = &mut *core.state.lock();
        st.joiners
            .poll_until(&mut self.key, cx.waker(), &mut wakes, || st.unfinished == 0)
    }

    pub(crate) fn cancel<T, S: QueueStore<T>>(&mut self, core: &Core<T, S>) {
        if let Some(key) = self.key.take() {
            let mut wakes = WakeList::new();
            core.state.lock().joiners.remove(key, &mut wakes);
        }
    }
}
