//! The waiter-queue core every primitive in this crate is built on.
//!
//! A [`WaitList`] is a FIFO of parked futures stored in a [`Slab`] and linked through slab keys, so
//! registering, re-registering and removing a waiter are O(1) and a steady-state workload allocates
//! nothing. A `WaitList` has no lock of its own: it lives *inside* the primitive's state, behind the
//! primitive's single mutex, so "check the condition, then enqueue" is atomic with respect to
//! every notifier and no wake-up can slip between them.
//!
//! # Wake policy
//!
//! * **FIFO.** Waiters are notified strictly in the order they first registered. Re-polling a
//!   waiter never moves it.
//! * **Notify = hand-off.** A notifier does not merely wake a waiter: it *unlinks* the front waiter,
//!   marks it notified and usually hands it the resource it waited for (permits, a slot, an item) by
//!   writing into the waiter's payload. The woken future then completes without re-checking, so a
//!   newcomer cannot barge in between the wake and the poll.
//! * **Cancel-safe.** A future that is dropped removes its node ([`WaitList::remove`]). If the node
//!   had already been notified, the primitive gets the payload back and passes the notification on
//!   (returns the permits, re-queues the item, notifies the next waiter). If it was still waiting,
//!   the primitive re-runs its dispatch, because the removed waiter may have been the one blocking
//!   the queue's head (e.g. a large `acquire_many`).
//! * **Wake outside the lock.** Notifiers collect wakers into a [`WakeList`] and call them after the
//!   primitive's mutex has been released.

use std::task::{ready, Poll, Waker};

use slab::Slab;

const NIL: usize = usize::MAX;

/// The state of a waiter as seen by its future.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WaitState {
    /// Still linked in the queue.
    Waiting,
    /// Unlinked by a notifier; the payload holds whatever was handed over.
    Notified,
}

#[derive(Debug)]
struct Node<T> {
    waker: Option<Waker>,
    value: T,
    state: WaitState,
    prev: usize,
    next: usize,
}

/// A FIFO queue of waiters with a payload `T` each. See the module docs for the wake policy.
#[derive(Debug)]
pub(crate) struct WaitList<T> {
    slab: Slab<Node<T>>,
    head: usize,
    tail: usize,
    waiting: usize,
}

impl<T> Default for WaitList<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> WaitList<T> {
    /// An empty list (allocates nothing until the first waiter).
    pub(crate) const fn new() -> Self {
        WaitList {
            slab: Slab::new(),
            head: NIL,
            tail: NIL,
            waiting: 0,
        }
    }

    /// Number of waiters still queued (not yet notified).
    pub(crate) fn len(&self) -> usize {
        self.waiting
    }

    /// `true` when no waiter is queued.
    pub(crate) fn is_empty(&self) -> bool {
        self.waiting == 0
    }

    /// Appends a waiter at the back and returns its key.
    pub(crate) fn push_back(&mut self, value: T, waker: &Waker) -> usize {
        let key = self.slab.insert(Node {
            waker: Some(waker.clone()),
            value,
            state: WaitState::Waiting,
            prev: self.tail,
            next: NIL,
        });
        if self.tail == NIL {
            self.head = key;
        } else {
            self.slab[self.tail].next = key;
        }
        self.tail = key;
        self.waiting += 1;
        key
    }

    /// The state of waiter `key`.
    pub(crate) fn state(&self, key: usize) -> WaitState {
        self.slab[key].state
    }

    /// Stores `waker` for `key` if it differs from the one stored (a future may move between
    /// tasks). The replaced waker goes to `wakes` to be dropped after the lock is released: its
    /// `Drop` may touch this very primitive (tokio's `send_in_waker_drop` case).
    pub(crate) fn update_waker(&mut self, key: usize, waker: &Waker, wakes: &mut WakeList) {
        let node = &mut self.slab[key];
        match &node.waker {
            Some(w) if w.will_wake(waker) => {}
            _ => {
                if let Some(old) = node.waker.replace(waker.clone()) {
                    wakes.discard(old);
                }
            }
        }
    }

    /// The key of the front (oldest waiting) waiter.
    pub(crate) fn front_key(&self) -> Option<usize> {
        (self.head != NIL).then_some(self.head)
    }

    /// Queues a wake-up of the front waiter without unlinking or notifying it (it stays first
    /// in line and re-checks when polled). Returns `false` if the list is empty.
    pub(crate) fn wake_front(&self, wakes: &mut WakeList) -> bool {
        if self.head == NIL {
            return false;
        }
        if let Some(w) = &self.slab[self.head].waker {
            wakes.push(w.clone());
        }
        true
    }

    /// The payload of the front (oldest waiting) waiter.
    pub(crate) fn front(&self) -> Option<&T> {
        (self.head != NIL).then(|| &self.slab[self.head].value)
    }

    fn unlink(&mut self, key: usize) {
        let (prev, next) = {
            let n = &self.slab[key];
            (n.prev, n.next)
        };
        if prev == NIL {
            self.head = next;
        } else {
            self.slab[prev].next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            self.slab[next].prev = prev;
        }
        let n = &mut self.slab[key];
        n.prev = NIL;
        n.next = NIL;
        self.waiting -= 1;
    }

    /// Unlinks the front waiter, marks it notified, sets its payload with `f` and queues its waker.
    /// Returns `false` if the list was empty.
    pub(crate) fn notify_front(&mut self, wakes: &mut WakeList, f: impl FnOnce(&mut T)) -> bool {
        let key = self.head;
        if key == NIL {
            return false;
        }
        self.unlink(key);
        let node = &mut self.slab[key];
        node.state = WaitState::Notified;
        f(&mut node.value);
        if let Some(w) = node.waker.take() {
            wakes.push(w);
        }
        true
    }

    /// Notifies every queued waiter, in FIFO order, setting each payload with `f`.
    pub(crate) fn notify_all(&mut self, wakes: &mut WakeList, mut f: impl FnMut(&mut T)) {
        wakes.reserve(self.waiting);
        while self.notify_front(wakes, &mut f) {}
    }

    /// Removes waiter `key` entirely (called by the future when it completes or is dropped) and
    /// returns the state it was in together with its payload. Its waker goes to `wakes`, to be
    /// dropped after the lock is released.
    pub(crate) fn remove(&mut self, key: usize, wakes: &mut WakeList) -> (WaitState, T) {
        if self.slab[key].state == WaitState::Waiting {
            self.unlink(key);
        }
        let node = self.slab.remove(key);
        if let Some(w) = node.waker {
            wakes.discard(w);
        }
        (node.state, node.value)
    }

    /// Takes the payload of a notified waiter and frees its node.
    pub(crate) fn take_notified(&mut self, key: usize) -> T {
        debug_assert_eq!(self.slab[key].state, WaitState::Notified);
        self.slab.remove(key).value
    }

    /// The re-poll step of a future whose waiter key is `*key`: while the waiter is still queued,
    /// refreshes its waker and returns `Pending`; once it was notified, frees its node, clears
    /// `*key` and returns `Ready(Some(payload))`. Returns `Ready(None)` when the future has no
    /// waiter (`*key` is `None`), i.e. it should check its condition and maybe enqueue.
    #[inline]
    pub(crate) fn poll_waiter(
        &mut self,
        key: &mut Option<usize>,
        waker: &Waker,
        wakes: &mut WakeList,
    ) -> Poll<Option<T>> {
        let Some(k) = *key else {
            return Poll::Ready(None);
        };
        match self.state(k) {
            WaitState::Waiting => {
                self.update_waker(k, waker, wakes);
                Poll::Pending
            }
            WaitState::Notified => {
                let value = self.take_notified(k);
                *key = None;
                Poll::Ready(Some(value))
            }
        }
    }
}

/// Wakers collected under a lock, to be woken after it is released (on drop or
/// [`WakeList::wake_all`]), and stale wakers to be *dropped* after it is released: a waker's `Drop`
/// is user code that may touch the same primitive, so neither waking nor dropping one may happen
/// under the primitive's lock. Declare the list before taking the lock, so it drops after the
/// guard.
///
/// The first waker to wake and the first stale one are stored inline and everything beyond goes
/// to one boxed [`Spill`], so the common notification (zero or one waiter) allocates nothing and
/// creating, waking and dropping the list costs a few branches. It sits on every channel
/// operation's hot path: an earlier 8-slot inline array cost ~15 % of the mpsc profile, and two
/// inline `Vec`s (drop glue for each on every operation) still ~40 instructions per operation.
/// Broadcast-style notifications of several waiters spill.
#[derive(Default)]
pub(crate) struct WakeList {
    first: Option<Waker>,
    stale: Option<Waker>,
    spill: Option<Box<Spill>>,
}

/// The wakers of a [`WakeList`] beyond its inline ones.
#[derive(Default)]
struct Spill {
    rest: Vec<Waker>,
    stale: Vec<Waker>,
}

impl WaitList<()> {
    /// The whole poll of a future waiting for a level-triggered condition (`Event::wait`,
    /// `CancellationToken::cancelled`, `Queue::join`), whose notifier sets the condition and then
    /// calls `notify_all`: completes once this future's waiter was notified, or at once if
    /// `is_done()` holds; otherwise enqueues the waiter (or keeps it queued) and returns `Pending`.
    pub(crate) fn poll_until(
        &mut self,
        key: &mut Option<usize>,
        waker: &Waker,
        wakes: &mut WakeList,
        is_done: impl FnOnce() -> bool,
    ) -> Poll<()> {
        if ready!(self.poll_waiter(key, waker, wakes)).is_some() || is_done() {
            return Poll::Ready(());
        }
        *key = Some(self.push_back((), waker));
        Poll::Pending
    }
}

impl WakeList {
    /// An empty list.
    #[inline]
    pub(crate) fn new() -> Self {
        Self::default()
    }

    fn spill(&mut self) -> &mut Spill {
        self.spill.get_or_insert_with(Box::default)
    }

    /// Queues a waker.
    #[inline]
    pub(crate) fn push(&mut self, w: Waker) {
        if self.first.is_none() {
            self.first = Some(w);
        } else {
            self.spill().rest.push(w);
        }
    }

    /// Makes room for `n` more wakers at once (a broadcast-style notification would otherwise
    /// grow the list one doubling at a time).
    pub(crate) fn reserve(&mut self, n: usize) {
        let more = n.saturating_sub(usize::from(self.first.is_none()));
        if more > 0 {
            self.spill().rest.reserve(more);
        }
    }

    /// Keeps a waker that is no longer needed, to be dropped with the list (after the lock).
    #[inline]
    pub(crate) fn discard(&mut self, w: Waker) {
        if self.stale.is_none() {
            self.stale = Some(w);
        } else {
            self.spill().stale.push(w);
        }
    }

    /// Wakes everything queued, in the order queued. Call this after releasing the lock.
    ///
    /// If a waker panics, the ones not yet woken stay queued and the drop during unwinding wakes
    /// them.
    #[inline]
    pub(crate) fn wake_all(&mut self) {
        if let Some(w) = self.first.take() {
            w.wake();
        }
        if let Some(spill) = &mut self.spill {
            Self::wake_rest(spill);
        }
    }

    #[cold]
    fn wake_rest(spill: &mut Spill) {
        spill.rest.reverse();
        while let Some(w) = spill.rest.pop() {
            w.wake();
        }
    }
}

impl Drop for WakeList {
    #[inline]
    fn drop(&mut self) {
        self.wake_all();
        if let Some(spill) = self.spill.take() {
            // Out of line: the common list never spills, and its drop then stays a few checks.
            drop_spill(spill);
        }
    }
}

#[cold]
#[inline(never)]
fn drop_spill(spill: Box<Spill>) {
    drop(spill);
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::task::Waker;

    #[test]
    fn fifo_notify_and_remove() {
        let w = Waker::noop();
        let mut l = WaitList::new();
        let a = l.push_back(1, w);
        let b = l.push_back(2, w);
        let c = l.push_back(3, w);
        assert_eq!(l.len(), 3);
        // Remove the middle one while waiting.
        let mut wakes = WakeList::new();
        assert_eq!(l.remove(b, &mut wakes), (WaitState::Waiting, 2));
        assert!(l.notify_front(&mut wakes, |v| *v += 10));
        assert_eq!(l.state(a), WaitState::Notified);
        assert_eq!(l.state(c), WaitState::Waiting);
        assert_eq!(l.front(), Some(&3));
        assert_eq!(l.take_notified(a), 11);
        assert_eq!(l.remove(c, &mut wakes), (WaitState::Waiting, 3));
        assert!(l.is_empty());
        assert!(!l.notify_front(&mut wakes, |_| {}));
    }
}

#[cfg(all(test, not(loom)))]
mod wake_list_tests {
    use super::*;

    /// The per-operation list stays five words (two inline wakers and one spill pointer), so
    /// creating and dropping it on every channel operation costs a few checks (it was ten words
    /// with two `Vec`s and their drop glue before issue 19).
    #[test]
    fn wake_list_is_small_and_spills_only_beyond_one_waker() {
        assert!(std::mem::size_of::<WakeList>() <= 5 * std::mem::size_of::<usize>());
        let mut l = WakeList::new();
        l.push(Waker::noop().clone());
        l.discard(Waker::noop().clone());
        assert!(l.spill.is_none(), "one waker of each kind stays inline");
        l.push(Waker::noop().clone());
        l.reserve(4);
        assert!(l.spill.is_some());
        l.wake_all();
    }
}
