//! A task's waker kept in 4 bytes of its metadata instead of 16: the waker's data pointer is not
//! stored at all (it is the address of the task's allocation, a fixed distance before the
//! metadata, see [`TaskOffset`]), and its vtable is stored as a 32-bit [`VtableCode`].
//!
//! A task's waker is async-task's: its data is the task pointer, which is also where async-task's
//! header (holding the metadata) starts, and its vtable is a static of the task's
//! monomorphization. Both facts are checked at every spawn ([`TaskOffset::learn`],
//! [`VtableCode::new`]), so a different async-task fails loudly at the first spawn instead of
//! building a wrong waker.

use std::ptr;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::task::RawWakerVTable;

use crate::lock::lock;

/// The distance from a task's waker data pointer (the start of async-task's allocation) to its
/// `Meta`: one constant, since every task's header is the same type (`Header<Meta>`), learned
/// at the first spawn and checked at every later one.
pub(super) struct TaskOffset;

/// `usize::MAX` until the first spawn.
static OFFSET: AtomicUsize = AtomicUsize::new(usize::MAX);

impl TaskOffset {
    /// Records (first spawn) or checks (every other) that a task whose waker data is `data` has
    /// its metadata at `meta`; exposes `data`'s provenance for [`TaskOffset::data`].
    pub(super) fn learn(data: *const (), meta: *const ()) {
        let off = meta.addr().wrapping_sub(data.expose_provenance());
        let known = OFFSET.load(Ordering::Relaxed);
        if known == off {
            return;
        }
        let first = OFFSET.compare_exchange(usize::MAX, off, Ordering::Relaxed, Ordering::Relaxed);
        assert!(
            first.is_ok() || first == Err(off),
            "weft: async-task's task layout is not what weft-executor expects (metadata at \
             offset {off}, earlier {known}); pin async-task to the version in Cargo.lock"
        );
    }

    /// The waker data pointer of the task whose metadata is at `meta`.
    ///
    /// Only for a `meta` of a task spawned through `spawn_into` (which called
    /// [`TaskOffset::learn`] for it before the task was shared, so the load below sees the
    /// offset).
    pub(super) fn data(meta: *const ()) -> *const () {
        let off = OFFSET.load(Ordering::Relaxed);
        // The allocation's address with its exposed provenance (see `learn`): the metadata
        // pointer's own provenance covers only the metadata.
        ptr::with_exposed_provenance(meta.addr().wrapping_sub(off))
    }
}

/// A waker vtable in 32 bits. Even: the vtable's address minus [`ANCHOR`]'s (every static of a
/// program linked as usual lies within 2 GiB of every other: x86-64's default code model
/// requires it). Odd: `index << 1 | 1` into [`FAR`], for a vtable further away (a dynamic
/// library); looked up without a lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct VtableCode(u32);

/// The point relative codes count from (8-aligned, so a relative code of an aligned vtable is
/// even).
static ANCHOR: u64 = 0;

/// Vtables too far from [`ANCHOR`]: one per task type spawned from such a place, never removed.
const FAR_SLOTS: usize = 1024;
static FAR: [AtomicPtr<RawWakerVTable>; FAR_SLOTS] =
    [const { AtomicPtr::new(ptr::null_mut()) }; FAR_SLOTS];
/// How many [`FAR`] slots are used (taken only for a far vtable, at spawn).
static FAR_LEN: Mutex<usize> = Mutex::new(0);

fn anchor() -> usize {
    ptr::addr_of!(ANCHOR).addr()
}

impl VtableCode {
    /// The code before [`Meta::init_waker`](super::meta::Meta::init_waker) sets it: an index
    /// beyond [`FAR`], so using it panics rather than building a waker.
    pub(super) const UNSET: VtableCode = VtableCode(u32::MAX);

    /// The code of `vt` (exposing its provenance for [`VtableCode::vtable`]).
    pub(super) fn new(vt: &'static RawWakerVTable) -> VtableCode {
        let addr = ptr::from_ref(vt).expose_provenance();
        let rel = addr.wrapping_sub(anchor()) as isize;
        match i32::try_from(rel) {
            Ok(r) if r & 1 == 0 => VtableCode(r as u32),
            _ => VtableCode::far(vt),
        }
    }

    /// The [`FAR`] code of `vt`, adding it if needed.
    #[cold]
    pub(super) fn far(vt: &'static RawWakerVTable) -> VtableCode {
        let p = ptr::from_ref(vt).cast_mut();
        let mut len = lock(&FAR_LEN);
        let i = match (0..*len).find(|&i| FAR[i].load(Ordering::Relaxed) == p) {
            Some(i) => i,
            None => {
                assert!(
                    *len < FAR_SLOTS,
                    "weft: more than {FAR_SLOTS} task types spawned from dynamic libraries"
                );
                FAR[*len].store(p, Ordering::Release);
                *len += 1;
                *len - 1
            }
        };
        VtableCode(((i as u32) << 1) | 1)
    }

    /// The vtable this code stands for.
    pub(super) fn vtable(self) -> &'static RawWakerVTable {
        let p: *const RawWakerVTable = if self.0 & 1 == 0 {
            let rel = self.0 as i32 as isize;
            ptr::with_exposed_provenance(anchor().wrapping_add_signed(rel))
        } else {
            FAR.get((self.0 >> 1) as usize)
                .map_or(ptr::null_mut(), |s| s.load(Ordering::Acquire))
        };
        assert!(
            !p.is_null(),
            "weft: a task's waker was used before spawn set it"
        );
        // SAFETY: `p` is the address of the `&'static RawWakerVTable` the code was made from
        // (with its exposed provenance, or stored in `FAR` before the code was handed out);
        // `UNSET` has no vtable and was refused above.
        unsafe { &*p }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noop(_: *const ()) {}
    fn clone(p: *const ()) -> std::task::RawWaker {
        std::task::RawWaker::new(p, &NEAR)
    }
    static NEAR: RawWakerVTable = RawWakerVTable::new(clone, noop, noop, noop);
    static OTHER: RawWakerVTable = RawWakerVTable::new(clone, noop, noop, noop);

    #[test]
    fn a_vtable_survives_its_code_near_and_far() {
        let near = VtableCode::new(&NEAR);
        assert_eq!(near.0 & 1, 0, "a static of this binary is near the anchor");
        assert!(std::ptr::eq(near.vtable(), &NEAR));
        let far = VtableCode::far(&OTHER);
        assert_eq!(far.0 & 1, 1);
        assert!(std::ptr::eq(far.vtable(), &OTHER));
        assert_eq!(VtableCode::far(&OTHER), far, "a far vtable is stored once");
        assert!(std::ptr::eq(VtableCode::far(&NEAR).vtable(), &NEAR));
    }
}
