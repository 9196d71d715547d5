//! Tasks: [`Task`], [`JoinError`], [`Id`], [`TaskInfo`], [`Builder`], [`current`], [`yield_now`]
//! and the unhandled-error types.
//!
//! One concern per file: `meta` (what a task's allocation carries), `spawn` (the spawn path and
//! the future wrapper), `current` (the running task, one poll), `info`, `handle` (`Task`),
//! `abort`, `error`, `report` (hook payloads), `builder`, `yield_now`, `waker_cell` (the
//! protocol around the task's own waker in its metadata).

mod abort;
mod builder;
mod current;
mod error;
mod handle;
mod info;
mod meta;
mod report;
mod spawn;
mod waker_cell;
mod yield_now;

/// What `waker_cell.rs` is written against (loom's in `tests/loom.rs`).
mod sync {
    pub(crate) use std::sync::atomic::{AtomicU8, Ordering};

    /// `std`'s `UnsafeCell` with loom's access API.
    pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        pub(crate) const fn new(v: T) -> UnsafeCell<T> {
            UnsafeCell(std::cell::UnsafeCell::new(v))
        }

        #[inline]
        pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }

        #[inline]
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }

    /// Waits a moment for another thread (only when contended: rare, and short).
    pub(crate) fn spin() {
        std::thread::yield_now();
    }
}

pub use abort::AbortHandle;
pub use builder::Builder;
pub use current::{current, try_current};
pub use error::JoinError;
pub use handle::Task;
pub use info::{Id, TaskInfo};
pub use report::{report_unhandled, SlowPoll, UnhandledError};
pub use yield_now::{yield_now, YieldNow};

pub use crate::dump::{all_tasks, dump, print_tasks, TaskDump, TaskSnapshot, TaskState};

pub(crate) use current::{poll_timed, run_runnable};
pub(crate) use error::panic_message;
pub(crate) use meta::{Meta, MetaRef, Runnable};
pub(crate) use spawn::spawn_into;

#[cfg(test)]
mod tests {
    /// Per-task memory: the metadata in every task and the info in every registry entry.
    #[test]
    fn task_metadata_stays_small() {
        assert_eq!(std::mem::size_of::<super::TaskInfo>(), 16);
        assert_eq!(std::mem::size_of::<super::meta::Meta>(), 48);
        assert_eq!(std::mem::size_of::<super::Task<()>>(), 16);
        assert_eq!(std::mem::size_of::<Option<crate::registry::EntryKey>>(), 4);
        // A task's bookkeeping in its future: the pointer to its metadata.
        #[cfg(feature = "tracing")]
        let span = std::mem::size_of::<tracing::Span>();
        #[cfg(not(feature = "tracing"))]
        let span = 0;
        assert_eq!(std::mem::size_of::<super::spawn::Wrapped<()>>(), 8 + span);
    }

    /// The one-word origin of a `TaskInfo`: names survive clones and drops of the original, and
    /// an unnamed task's location needs no allocation.
    #[test]
    fn task_info_origin_keeps_name_and_location() {
        let here = std::panic::Location::caller();
        let unnamed = super::TaskInfo::new(None, here);
        assert_eq!((unnamed.name(), unnamed.location()), (None, here));
        let name = std::sync::Arc::new("worker".to_string());
        let named = super::TaskInfo::new(Some(name.clone()), here);
        let copies: Vec<_> = (0..3).map(|_| named.clone()).collect();
        drop(named);
        drop(name);
        for c in &copies {
            assert_eq!(c.name(), Some("worker"));
            assert_eq!(c.location(), here);
        }
        assert!(format!("{:?}", copies[0]).contains("worker"));
    }
}
