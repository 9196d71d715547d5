//! [`Slots`]: the storage of one registry shard, a slab whose slot is exactly an
//! `Option<Entry>`.
//!
//! `slab::Slab` keeps its free list inside the vacant slots, so its slot is the entry plus a
//! tag: 16 bytes for an 8-byte entry (a pointer to the task's metadata). Here a vacant slot is
//! `None` (the entry's non-null pointer gives `Option` its niche, so a slot is 8 bytes) and the
//! free list is a separate `Vec<u32>`, as long as the number of vacant slots. Every waiting task
//! has one slot: 8 bytes less per task.

/// A slab: `insert` returns a key that stays valid until `try_remove`.
pub(super) struct Slots<T> {
    slots: Vec<Option<T>>,
    /// Keys of the vacant slots.
    free: Vec<u32>,
    len: usize,
}

impl<T> Default for Slots<T> {
    fn default() -> Slots<T> {
        Slots::new()
    }
}

impl<T> Slots<T> {
    pub(super) const fn new() -> Slots<T> {
        Slots {
            slots: Vec::new(),
            free: Vec::new(),
            len: 0,
        }
    }

    /// The key the next [`Slots::insert`] returns.
    pub(super) fn next_key(&self) -> usize {
        match self.free.last() {
            Some(&k) => k as usize,
            None => self.slots.len(),
        }
    }

    /// Stores `v`; returns its key ([`Slots::next_key`] before the call).
    pub(super) fn insert(&mut self, v: T) -> usize {
        self.len += 1;
        match self.free.pop() {
            Some(k) => {
                self.slots[k as usize] = Some(v);
                k as usize
            }
            None => {
                self.slots.push(Some(v));
                self.slots.len() - 1
            }
        }
    }

    /// Takes the value at `key` out, if there is one.
    pub(super) fn try_remove(&mut self, key: usize) -> Option<T> {
        let v = self.slots.get_mut(key)?.take()?;
        self.len -= 1;
        // A key fits in u32: `EntryKey` packs it into 28 bits.
        self.free.push(key as u32);
        Some(v)
    }

    pub(super) fn get(&self, key: usize) -> Option<&T> {
        self.slots.get(key)?.as_ref()
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// The keys and values, in key order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (usize, &T)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(k, v)| Some((k, v.as_ref()?)))
    }
}

#[cfg(test)]
mod tests {
    use super::Slots;

    #[test]
    fn keys_are_reused_and_stay_valid() {
        let mut s = Slots::new();
        let a = s.insert("a");
        let b = s.insert("b");
        assert_eq!(s.next_key(), 2);
        assert_eq!(s.try_remove(a), Some("a"));
        assert_eq!(s.try_remove(a), None, "removed twice");
        assert_eq!((s.len(), s.get(b)), (1, Some(&"b")));
        assert_eq!(s.next_key(), a);
        assert_eq!(s.insert("c"), a);
        assert_eq!(s.iter().collect::<Vec<_>>(), [(0, &"c"), (1, &"b")]);
        assert_eq!(s.get(7), None);
    }

    #[test]
    fn a_slot_is_the_entry_alone() {
        type Entry = (std::task::Waker, std::ptr::NonNull<u8>);
        assert_eq!(
            std::mem::size_of::<Option<Entry>>(),
            std::mem::size_of::<Entry>()
        );
    }
}
