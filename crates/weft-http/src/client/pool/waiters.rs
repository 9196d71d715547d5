//! The pool's FIFO waiter queue: requests waiting for a connection or a slot to open one.
//!
//! Pure data, no locking: the pool keeps it inside its `Mutex` and every method runs under that
//! lock; wakers are returned to the caller to wake after unlocking. That is also what lets
//! `tests/loom.rs` model it through this very file (`#[path]`), under loom's mutex.
//!
//! The protocol that makes a checkout cancel-safe: a grant is stored in the waiter's entry (and
//! its queue position dropped) under the lock, so a waiter is granted at most once; a waiter
//! that goes away takes its entry out under the lock with [`Waiters::cancel`], which hands back
//! a grant that arrived meanwhile, so the caller can pass it on: never lost, never given twice.

use std::collections::VecDeque;
use std::task::Waker;

/// A waiter's place: its slab index and a sequence number (slab indices are reused).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ticket {
    idx: usize,
    seq: u64,
}

struct Waiter<K, G> {
    key: K,
    seq: u64,
    waker: Option<Waker>,
    grant: Option<G>,
}

/// Waiters for key `K`, each granted at most one `G`.
pub(crate) struct Waiters<K, G> {
    slab: slab::Slab<Waiter<K, G>>,
    /// FIFO of the waiters without a grant; entries of cancelled waiters are skipped lazily.
    queue: VecDeque<Ticket>,
    seq: u64,
}

impl<K, G> Default for Waiters<K, G> {
    fn default() -> Self {
        Waiters {
            slab: slab::Slab::new(),
            queue: VecDeque::new(),
            seq: 0,
        }
    }
}

impl<K, G> Waiters<K, G> {
    /// Queues a waiter for `key` at the back.
    pub(crate) fn push(&mut self, key: K, waker: Waker) -> Ticket {
        self.seq += 1;
        let seq = self.seq;
        let idx = self.slab.insert(Waiter {
            key,
            seq,
            waker: Some(waker),
            grant: None,
        });
        let t = Ticket { idx, seq };
        self.queue.push_back(t);
        t
    }

    fn entry(&mut self, t: Ticket) -> Option<&mut Waiter<K, G>> {
        self.slab.get_mut(t.idx).filter(|w| w.seq == t.seq)
    }

    /// The waiter's grant, if it has one (its entry is then gone); else its waker is refreshed.
    pub(crate) fn poll(&mut self, t: Ticket, waker: &Waker) -> Option<G> {
        let w = self.entry(t)?;
        if let Some(g) = w.grant.take() {
            self.slab.remove(t.idx);
            return Some(g);
        }
        match &mut w.waker {
            Some(old) if old.will_wake(waker) => {}
            slot => *slot = Some(waker.clone()),
        }
        None
    }

    /// Removes a waiter that goes away, handing back a grant it had not claimed yet (the caller
    /// must pass it on).
    pub(crate) fn cancel(&mut self, t: Ticket) -> Option<G> {
        self.entry(t)?;
        self.slab.remove(t.idx).grant
    }

    /// Waiters without a grant.
    pub(crate) fn waiting(&self) -> usize {
        self.slab.iter().filter(|(_, w)| w.grant.is_none()).count()
    }

    fn live(&self, t: Ticket) -> bool {
        self.slab
            .get(t.idx)
            .is_some_and(|w| w.seq == t.seq && w.grant.is_none())
    }

    /// The queue position of the first waiting entry at or after `from`, dropping stale ones.
    pub(crate) fn next_live(&mut self, from: usize) -> Option<usize> {
        while from < self.queue.len() {
            if self.live(self.queue[from]) {
                return Some(from);
            }
            self.queue.remove(from);
        }
        None
    }

    /// The queue position of the first waiting entry whose key satisfies `pred`.
    pub(crate) fn first(&mut self, mut pred: impl FnMut(&K) -> bool) -> Option<usize> {
        let mut i = 0;
        while let Some(pos) = self.next_live(i) {
            if pred(self.key_at(pos)) {
                return Some(pos);
            }
            i = pos + 1;
        }
        None
    }

    /// The key of the waiter at queue position `pos` (from [`next_live`](Waiters::next_live)).
    pub(crate) fn key_at(&self, pos: usize) -> &K {
        &self.slab[self.queue[pos].idx].key
    }

    /// Grants `g` to the waiter at queue position `pos` (a live one), which leaves the queue.
    /// Returns its waker, to wake once the lock is released.
    pub(crate) fn grant(&mut self, pos: usize, g: G) -> Option<Waker> {
        let t = self.queue.remove(pos).expect("position in range");
        let w = &mut self.slab[t.idx];
        debug_assert!(w.grant.is_none(), "a waiter is granted at most once");
        w.grant = Some(g);
        w.waker.take()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn fifo_per_key_and_cancel_hands_back_the_grant() {
        let mut q: Waiters<&str, u32> = Waiters::default();
        let a = q.push("a", Waker::noop().clone());
        let b = q.push("b", Waker::noop().clone());
        let a2 = q.push("a", Waker::noop().clone());
        assert_eq!(q.waiting(), 3);
        let pos = q.first(|k| *k == "a").unwrap();
        q.grant(pos, 1);
        assert_eq!(q.first(|k| *k == "a").map(|p| *q.key_at(p)), Some("a"));
        // a was granted but goes away: the grant comes back.
        assert_eq!(q.cancel(a), Some(1));
        // b cancels before any grant: nothing comes back, and its queue entry is skipped.
        assert_eq!(q.cancel(b), None);
        assert_eq!(q.next_live(0).map(|p| *q.key_at(p)), Some("a"));
        let pos = q.next_live(0).unwrap();
        q.grant(pos, 2);
        assert_eq!(q.poll(a2, Waker::noop()), Some(2));
        assert_eq!(q.waiting(), 0);
        assert_eq!(q.next_live(0), None);
        // Stale tickets are ignored.
        assert_eq!(q.poll(a2, Waker::noop()), None);
        assert_eq!(q.cancel(a), None);
    }
}
