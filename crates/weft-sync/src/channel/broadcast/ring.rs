//! The broadcast ring: `capacity` slots, each behind its own lock, allocated lazily in segments
//! of doubling size, so a channel with a huge capacity costs memory only for what it holds.
//!
//! Logical slot `i` (`pos % capacity` for message number `pos`) lives in segment `k` with
//! `k = 0` for `i < FIRST` and `k = 1 + log2(i / FIRST)` otherwise; segment `k > 0` starts at
//! `FIRST << (k - 1)` and is as long as its start (the last one is cut at the capacity).

use std::sync::OnceLock;

use crate::loom::Mutex;

/// Length of the first segment.
const FIRST: usize = 32;

/// Position of a slot that was never written (no message has this sequence number).
pub(super) const NEVER: u64 = u64::MAX;

/// One message of the ring and how many live receivers have yet to read it.
///
/// Along the ring `rem` never decreases from older to newer messages (a receiver reads in
/// order, and one that still has to read message `p` also has to read `p + 1`), so the messages
/// still kept are the newest ones.
pub(super) struct Slot<T> {
    /// Sequence number of the message held (or last held); [`NEVER`] if none was written.
    pub(super) pos: u64,
    /// Receivers that have not read message `pos` yet; at `0` the value is gone.
    pub(super) rem: usize,
    pub(super) value: Option<T>,
}

impl<T: Clone> Slot<T> {
    /// One receiver reads the message: the last reader moves it out, the others clone it.
    pub(super) fn read(&mut self) -> T {
        self.rem -= 1;
        let v = if self.rem == 0 {
            self.value.take()
        } else {
            self.value.clone()
        };
        v.expect("a broadcast slot holds its value until its last reader")
    }
}

impl<T> Slot<T> {
    /// A receiver positioned at or before `pos` leaves unread: returns the value if it was the
    /// last one to read it (to be dropped outside every lock).
    pub(super) fn forget(&mut self, pos: u64) -> Option<T> {
        if self.pos != pos || self.rem == 0 {
            return None;
        }
        self.rem -= 1;
        if self.rem == 0 {
            self.value.take()
        } else {
            None
        }
    }
}

/// One lazily allocated run of slots.
type Segment<T> = OnceLock<Box<[Mutex<Slot<T>>]>>;

pub(super) struct Ring<T> {
    cap: usize,
    segments: Box<[Segment<T>]>,
}

/// Segment number and offset of logical slot `i`.
fn locate(i: usize) -> (usize, usize) {
    if i < FIRST {
        return (0, i);
    }
    let k = (usize::BITS - (i / FIRST).leading_zeros()) as usize;
    (k, i - (FIRST << (k - 1)))
}

impl<T> Ring<T> {
    pub(super) fn new(cap: usize) -> Self {
        let (last, _) = locate(cap - 1);
        Ring {
            cap,
            segments: (0..=last).map(|_| OnceLock::new()).collect(),
        }
    }

    pub(super) fn capacity(&self) -> usize {
        self.cap
    }

    fn index(&self, pos: u64) -> (usize, usize) {
        let cap = self.cap as u64;
        // A mask for the usual power-of-two capacities (a 64-bit division costs tens of cycles).
        let i = if cap.is_power_of_two() {
            pos & (cap - 1)
        } else {
            pos % cap
        };
        // `i < cap <= usize::MAX`, so the cast is lossless.
        locate(i as usize)
    }

    /// The slot message `pos` goes to, if its segment exists (else no message was written there).
    pub(super) fn get(&self, pos: u64) -> Option<&Mutex<Slot<T>>> {
        let (k, off) = self.index(pos);
        self.segments[k].get().map(|s| &s[off])
    }

    /// The slot message `pos` goes to, allocating its segment (only the sender, under the tail
    /// lock, calls this).
    pub(super) fn get_or_alloc(&self, pos: u64) -> &Mutex<Slot<T>> {
        let (k, off) = self.index(pos);
        let seg = self.segments[k].get_or_init(|| {
            let start = if k == 0 { 0 } else { FIRST << (k - 1) };
            let len = if k == 0 { FIRST } else { start }.min(self.cap - start);
            (0..len)
                .map(|_| {
                    Mutex::new(Slot {
                        pos: NEVER,
                        rem: 0,
                        value: None,
                    })
                })
                .collect()
        });
        &seg[off]
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn segments_cover_every_slot_once() {
        for cap in [1, 2, 31, 32, 33, 64, 100, 1024, 1025] {
            let ring = Ring::<u8>::new(cap);
            let mut seen = std::collections::HashSet::new();
            for pos in 0..cap as u64 {
                let slot: *const _ = ring.get_or_alloc(pos);
                assert!(seen.insert(slot as usize), "cap {cap}: slot {pos} shared");
                assert!(std::ptr::eq(ring.get(pos + cap as u64).unwrap(), slot));
            }
            let total: usize = ring.segments.iter().map(|s| s.get().unwrap().len()).sum();
            assert_eq!(total, cap, "cap {cap}: segments hold exactly the capacity");
        }
    }

    #[test]
    fn a_huge_capacity_allocates_lazily() {
        let ring = Ring::<u8>::new(usize::MAX / 2);
        assert!(ring.get(5).is_none());
        ring.get_or_alloc(5);
        assert!(ring.get(5).is_some());
        assert!(ring.get(1 << 40).is_none());
    }
}
