//! A pure, clock-free hierarchical timing wheel.
//!
//! [`Wheel`] knows nothing about [`Instant`](std::time::Instant): deadlines and "now" are plain
//! `u64` tick counts (the [`Timers`](crate::Timers) layer uses microsecond ticks since its origin). It
//! has 6 levels of 64 slots; level 0 slots are one tick wide, each higher level 64 times wider, so
//! the wheel positions deadlines up to 2^35 ticks ahead exactly (further deadlines are parked at
//! that distance and re-positioned when it is reached, so they still fire at the right tick).
//!
//! * Entries live in a [`slab`] and are linked into an intrusive doubly-linked list per slot, so
//!   [`insert`](Wheel::insert) and [`remove`](Wheel::remove) are O(1).
//! * Each level has a `u64` occupied bitmask, so [`next_expiration`](Wheel::next_expiration)
//!   finds the next non-empty slot without scanning.
//! * [`poll`](Wheel::poll) fires every entry whose deadline is `<= now`, in deadline order, and
//!   entries with equal deadlines in insertion order.
//!
//! ```
//! use weft_timer::wheel::Wheel;
//!
//! let mut wheel = Wheel::new();
//! wheel.insert(30, "c");
//! let b = wheel.insert(20, "b");
//! wheel.insert(10, "a");
//! wheel.remove(b);
//! assert_eq!(wheel.next_expiration(), Some(10));
//! assert_eq!(wheel.poll(25), vec!["a"]);
//! assert_eq!(wheel.poll(100), vec!["c"]);
//! assert!(wheel.is_empty());
//! ```

use std::fmt;
use std::num::NonZeroU64;

use slab::Slab;

const LEVELS: usize = 6;
const SLOT_BITS: u32 = 6;
const SLOT_MASK: u64 = (1 << SLOT_BITS) - 1;
/// The end of a slot list. Links are `u32` to keep an entry small (a wheel holds at most
/// `u32::MAX` entries, far beyond what fits in memory at 56 bytes each).
const NIL: u32 = u32::MAX;

/// How far ahead of the wheel's current time (in ticks) a deadline is positioned exactly.
///
/// A deadline further away is parked at this distance and re-positioned when that point is
/// reached; it still fires exactly at its own deadline.
pub const MAX_SPAN: u64 = 1 << 35;

/// Identifies one entry of a [`Wheel`]. Stale ids (of fired or removed entries) are detected:
/// they never refer to a newer entry that reused the same storage.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TimerId {
    key: u32,
    /// Never zero (the wheel's sequence starts at 1), so `Option<TimerId>` needs no tag.
    seq: NonZeroU64,
}

impl TimerId {
    /// The id's two parts, for a caller that packs it with other fields (see `shards::Key`).
    pub(crate) fn into_parts(self) -> (u32, NonZeroU64) {
        (self.key, self.seq)
    }

    /// The id made of [`into_parts`](Self::into_parts)'s output.
    pub(crate) fn from_parts(key: u32, seq: NonZeroU64) -> TimerId {
        TimerId { key, seq }
    }
}

#[derive(Clone, Copy)]
struct List {
    head: u32,
    tail: u32,
}

const EMPTY: List = List {
    head: NIL,
    tail: NIL,
};

struct Entry<T> {
    deadline: u64,
    seq: u64,
    prev: u32,
    next: u32,
    level: u8,
    slot: u8,
    value: T,
}

/// A hierarchical timing wheel holding values of type `T` keyed by `u64` deadlines.
///
/// See the [module docs](self) for the design. The wheel starts at time 0.
pub struct Wheel<T> {
    entries: Slab<Entry<T>>,
    slots: [[List; 64]; LEVELS],
    occupied: [u64; LEVELS],
    /// Per slot, a lower bound of its entries' deadlines (exact unless the earliest was
    /// removed): a coarse slot is re-positioned at that time rather than at its start, so a
    /// timer on a coarse level costs its driver one wake-up, at its deadline, not an early one
    /// at the slot's start and another.
    mins: [[u64; 64]; LEVELS],
    elapsed: u64,
    next_seq: u64,
    scratch: Vec<(u64, u64, usize)>,
}

impl<T> Default for Wheel<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> fmt::Debug for Wheel<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wheel")
            .field("len", &self.len())
            .field("elapsed", &self.elapsed)
            .field("next_expiration", &self.next_expiration())
            .finish()
    }
}

fn level_for(elapsed: u64, pos: u64) -> usize {
    let masked = (elapsed ^ pos) | SLOT_MASK;
    let significant = 63 - masked.leading_zeros();
    ((significant / SLOT_BITS) as usize).min(LEVELS - 1)
}

impl<T> Wheel<T> {
    /// An empty wheel whose current time is 0.
    pub fn new() -> Self {
        Wheel {
            entries: Slab::new(),
            slots: [[EMPTY; 64]; LEVELS],
            occupied: [0; LEVELS],
            mins: [[u64::MAX; 64]; LEVELS],
            elapsed: 0,
            next_seq: 1,
            scratch: Vec::new(),
        }
    }

    /// Number of entries in the wheel.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the wheel holds no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The wheel's current time: the largest `now` passed to [`poll`](Self::poll) so far.
    pub fn elapsed(&self) -> u64 {
        self.elapsed
    }

    /// Inserts `value` to fire at `deadline` (a deadline in the past fires at the next poll).
    /// O(1).
    pub fn insert(&mut self, deadline: u64, value: T) -> TimerId {
        let seq = NonZeroU64::new(self.next_seq).expect("a u64 sequence starting at 1 never wraps");
        self.next_seq += 1;
        let vacant = self.entries.vacant_entry();
        let key = vacant.key();
        assert!(
            key < NIL as usize,
            "weft-timer: more than u32::MAX - 1 timers in one wheel"
        );
        vacant.insert(Entry {
            deadline,
            seq: seq.get(),
            prev: NIL,
            next: NIL,
            level: 0,
            slot: 0,
            value,
        });
        let key = key as u32;
        self.place(key);
        TimerId { key, seq }
    }

    /// Removes the entry `id` and returns its value, or `None` if it already fired or was
    /// removed. O(1).
    pub fn remove(&mut self, id: TimerId) -> Option<T> {
        if !self.contains(id) {
            return None;
        }
        self.unlink(id.key);
        Some(self.entries.remove(id.key as usize).value)
    }

    /// Whether `id` is still waiting in the wheel.
    pub fn contains(&self, id: TimerId) -> bool {
        self.entries
            .get(id.key as usize)
            .is_some_and(|e| e.seq == id.seq.get())
    }

    /// Mutable access to the value of a waiting entry.
    pub fn get_mut(&mut self, id: TimerId) -> Option<&mut T> {
        match self.entries.get_mut(id.key as usize) {
            Some(e) if e.seq == id.seq.get() => Some(&mut e.value),
            _ => None,
        }
    }

    /// The deadline of a waiting entry.
    pub fn deadline(&self, id: TimerId) -> Option<u64> {
        match self.entries.get(id.key as usize) {
            Some(e) if e.seq == id.seq.get() => Some(e.deadline),
            _ => None,
        }
    }

    /// The time at which the wheel next has work: the earliest deadline, or (when the earliest
    /// entries sit on a coarse level) the earlier time at which they must be re-positioned.
    /// Never later than the earliest deadline. `None` when the wheel is empty.
    pub fn next_expiration(&self) -> Option<u64> {
        self.next_slot().map(|(t, _, _)| t)
    }

    /// Fires every entry whose deadline is `<= now` and returns their values in deadline order
    /// (equal deadlines in insertion order). Afterwards the wheel's time is `max(elapsed, now)`.
    pub fn poll(&mut self, now: u64) -> Vec<T> {
        let mut out = Vec::new();
        self.poll_into(now, &mut out);
        out
    }

    /// Like [`poll`](Self::poll) but appends to `out`; returns how many entries fired.
    pub fn poll_into(&mut self, now: u64, out: &mut Vec<T>) -> usize {
        self.poll_with(now, |_, v| out.push(v))
    }

    /// Like [`poll`](Self::poll) but hands each fired entry, with its deadline, to `f` (in
    /// deadline order); returns how many entries fired.
    pub fn poll_with(&mut self, now: u64, mut f: impl FnMut(u64, T)) -> usize {
        let mut fired = 0;
        while let Some((when, level, slot)) = self.next_slot() {
            if when > now {
                break;
            }
            self.elapsed = self.elapsed.max(when);
            let list = std::mem::replace(&mut self.slots[level][slot], EMPTY);
            self.occupied[level] &= !(1u64 << slot);
            let mut cur = list.head;
            if level == 0 {
                let mut scratch = std::mem::take(&mut self.scratch);
                while cur != NIL {
                    let e = &self.entries[cur as usize];
                    scratch.push((e.deadline, e.seq, cur as usize));
                    cur = e.next;
                }
                // Usually already sorted; equal deadlines keep insertion order via `seq`.
                scratch.sort_unstable();
                fired += scratch.len();
                for &(deadline, _, key) in &scratch {
                    f(deadline, self.entries.remove(key).value);
                }
                scratch.clear();
                self.scratch = scratch;
            } else {
                // Cascade: re-position every entry relative to the new time.
                while cur != NIL {
                    let next = self.entries[cur as usize].next;
                    self.place(cur);
                    cur = next;
                }
            }
        }
        self.elapsed = self.elapsed.max(now);
        fired
    }

    fn next_slot(&self) -> Option<(u64, usize, usize)> {
        // A coarse slot is re-positioned at its earliest deadline (`mins`), not at its start,
        // so time and new entries on finer levels may enter its span while it waits: every
        // level is looked at and the earliest wins, the coarser one on a tie (so its entries
        // join the finer level first and equal deadlines still fire in insertion order).
        let mut best: Option<(u64, usize, usize)> = None;
        for level in 0..LEVELS {
            if let Some(c) = self.level_slot(level) {
                if best.is_none_or(|b| c.0 <= b.0) {
                    best = Some(c);
                }
            }
        }
        best
    }

    /// The next occupied slot of `level` and the time it needs work.
    fn level_slot(&self, level: usize) -> Option<(u64, usize, usize)> {
        let occ = self.occupied[level];
        if occ == 0 {
            return None;
        }
        let shift = SLOT_BITS * level as u32;
        let current = ((self.elapsed >> shift) & SLOT_MASK) as u32;
        let slot = (current + occ.rotate_right(current).trailing_zeros()) % 64;
        let slot_range = 1u64 << shift;
        let level_range = slot_range << SLOT_BITS;
        let level_start = self.elapsed & !(level_range - 1);
        let mut when = level_start + slot as u64 * slot_range;
        if when < self.elapsed && slot != current {
            // Only possible on the top level, for a position past the level's wrap-around.
            when += level_range;
        }
        // Every deadline in the slot lies at or after this bound.
        Some((
            when.max(self.mins[level][slot as usize]),
            level,
            slot as usize,
        ))
    }

    fn place(&mut self, key: u32) {
        let elapsed = self.elapsed;
        let deadline = self.entries[key as usize].deadline;
        let pos = deadline.clamp(elapsed, elapsed.saturating_add(MAX_SPAN));
        let level = level_for(elapsed, pos);
        let slot = ((pos >> (SLOT_BITS * level as u32)) & SLOT_MASK) as usize;
        let tail = self.slots[level][slot].tail;
        let min = &mut self.mins[level][slot];
        *min = if tail == NIL { pos } else { (*min).min(pos) };
        {
            let e = &mut self.entries[key as usize];
            e.level = level as u8;
            e.slot = slot as u8;
            e.prev = tail;
            e.next = NIL;
        }
        if tail == NIL {
            self.slots[level][slot].head = key;
        } else {
            self.entries[tail as usize].next = key;
        }
        self.slots[level][slot].tail = key;
        self.occupied[level] |= 1u64 << slot;
    }

    fn unlink(&mut self, key: u32) {
        let (prev, next, level, slot) = {
            let e = &self.entries[key as usize];
            (e.prev, e.next, e.level as usize, e.slot as usize)
        };
        if prev == NIL {
            self.slots[level][slot].head = next;
        } else {
            self.entries[prev as usize].next = next;
        }
        if next == NIL {
            self.slots[level][slot].tail = prev;
        } else {
            self.entries[next as usize].prev = prev;
        }
        if self.slots[level][slot].head == NIL {
            self.occupied[level] &= !(1u64 << slot);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_and_ties() {
        let mut w = Wheel::new();
        w.insert(5000, 3);
        w.insert(70, 1);
        w.insert(70, 2);
        w.insert(3, 0);
        assert_eq!(w.poll(2), Vec::<i32>::new());
        assert_eq!(w.poll(10_000), vec![0, 1, 2, 3]);
    }

    #[test]
    fn past_deadline_fires_next_poll_in_order() {
        let mut w = Wheel::new();
        w.poll(100);
        w.insert(100, "b");
        w.insert(50, "a");
        assert_eq!(w.next_expiration(), Some(100));
        assert_eq!(w.poll(100), vec!["a", "b"]);
    }

    #[test]
    fn far_deadlines() {
        let mut w = Wheel::new();
        let far = MAX_SPAN * 3 + 17;
        w.insert(far, 1);
        w.insert(u64::MAX, 2);
        assert!(w.next_expiration().unwrap() <= far);
        assert_eq!(w.poll(far - 1), Vec::<i32>::new());
        assert_eq!(w.poll(far), vec![1]);
        assert_eq!(w.len(), 1);
    }

    #[test]
    fn a_deadline_just_past_level_0_is_the_next_expiration_itself() {
        // 65 ticks ahead sits on level 1; its driver should wait for 65, not for 64 and again.
        let mut w = Wheel::new();
        w.poll(3);
        w.insert(3 + 65, 'a');
        assert_eq!(w.next_expiration(), Some(68));
        assert_eq!(w.poll(67), Vec::<char>::new());
        assert_eq!(w.poll(68), vec!['a']);
    }

    #[test]
    fn a_postponed_level_1_slot_keeps_order_with_newer_level_0_entries() {
        let mut w = Wheel::new();
        w.insert(240, "old-240");
        w.insert(250, "old-250");
        w.poll(200); // time enters the slot's span; its cascade waits for 240
        w.insert(254, "new-254");
        w.insert(250, "new-250");
        w.insert(230, "new-230");
        assert_eq!(w.next_expiration(), Some(230));
        assert_eq!(
            w.poll(300),
            vec!["new-230", "old-240", "old-250", "new-250", "new-254"]
        );
    }

    #[test]
    fn every_level_is_re_positioned_at_its_earliest_deadline() {
        for deadline in [
            100u64,
            5_000,
            300_000,
            20_000_000,
            2_000_000_000,
            MAX_SPAN - 1,
        ] {
            let mut w = Wheel::new();
            w.poll(7);
            w.insert(deadline, deadline);
            // One wake-up, at the deadline: no re-positioning point before it.
            assert_eq!(w.next_expiration(), Some(deadline));
            assert_eq!(w.poll(deadline - 1), Vec::<u64>::new());
            assert_eq!(w.next_expiration(), Some(deadline));
            assert_eq!(w.poll(deadline), vec![deadline]);
        }
    }

    #[test]
    fn a_removed_earliest_entry_only_makes_the_bound_early() {
        let mut w = Wheel::new();
        let a = w.insert(5_000, 'a');
        w.insert(6_000, 'b');
        w.remove(a);
        let t = w.next_expiration().unwrap();
        assert!(t <= 6_000);
        assert_eq!(w.poll(t), Vec::<char>::new());
        assert_eq!(w.next_expiration(), Some(6_000));
        assert_eq!(w.poll(6_000), vec!['b']);
    }

    #[test]
    fn stale_id_is_ignored() {
        let mut w = Wheel::new();
        let a = w.insert(1, 'a');
        assert_eq!(w.poll(1), vec!['a']);
        let b = w.insert(5, 'b');
        assert_eq!(w.remove(a), None);
        assert!(w.contains(b));
        assert_eq!(w.remove(b), Some('b'));
        assert_eq!(w.next_expiration(), None);
    }
}

#[cfg(test)]
mod size_tests {
    #[test]
    fn an_entry_adds_32_bytes_to_its_value() {
        // deadline, seq, two u32 links, level, slot (padded): what a timer costs beyond its value.
        assert_eq!(
            std::mem::size_of::<super::Entry<[u64; 2]>>(),
            32 + std::mem::size_of::<[u64; 2]>()
        );
    }
}
