//! A FIFO of parked `block_on` threads with O(1) push, pop and removal.

use slab::Slab;

/// Marks an item that is not queued.
pub(crate) const NOT_QUEUED: usize = usize::MAX;

struct Node<T> {
    item: T,
    prev: usize,
    next: usize,
}

/// A doubly linked FIFO whose nodes live in a slab; `push_back` returns the node's key, which
/// the owner keeps to `remove` it in O(1).
pub(crate) struct WaitList<T> {
    nodes: Slab<Node<T>>,
    head: usize,
    tail: usize,
}

impl<T> Default for WaitList<T> {
    fn default() -> Self {
        WaitList::new()
    }
}

impl<T> WaitList<T> {
    /// An empty list (usable in a `static`).
    pub(crate) const fn new() -> Self {
        WaitList {
            nodes: Slab::new(),
            head: NOT_QUEUED,
            tail: NOT_QUEUED,
        }
    }

    /// Whether nothing is queued.
    pub(crate) fn is_empty(&self) -> bool {
        self.head == NOT_QUEUED
    }

    /// Appends `item`; returns its key.
    pub(crate) fn push_back(&mut self, item: T) -> usize {
        let key = self.nodes.insert(Node {
            item,
            prev: self.tail,
            next: NOT_QUEUED,
        });
        if self.tail == NOT_QUEUED {
            self.head = key;
        } else {
            self.nodes[self.tail].next = key;
        }
        self.tail = key;
        key
    }

    /// Removes and returns the oldest item.
    pub(crate) fn pop_front(&mut self) -> Option<T> {
        if self.head == NOT_QUEUED {
            return None;
        }
        self.remove(self.head)
    }

    /// Removes the item queued under `key` (None if `key` is not queued).
    pub(crate) fn remove(&mut self, key: usize) -> Option<T> {
        let node = self.nodes.try_remove(key)?;
        if node.prev == NOT_QUEUED {
            self.head = node.next;
        } else {
            self.nodes[node.prev].next = node.next;
        }
        if node.next == NOT_QUEUED {
            self.tail = node.prev;
        } else {
            self.nodes[node.next].prev = node.prev;
        }
        Some(node.item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_with_removal_from_anywhere() {
        let mut l = WaitList::new();
        let a = l.push_back('a');
        let b = l.push_back('b');
        let c = l.push_back('c');
        assert_eq!(l.remove(b), Some('b'));
        assert_eq!(l.remove(b), None);
        let d = l.push_back('d');
        assert_eq!(l.pop_front(), Some('a'));
        assert_eq!(l.remove(a), None);
        assert_eq!(l.remove(d), Some('d'));
        assert_eq!(l.pop_front(), Some('c'));
        assert!(l.is_empty());
        assert_eq!(l.remove(c), None);
        assert_eq!(l.pop_front(), None);
    }
}
