//! Tasks: [`Task`], [`JoinError`], [`Id`], [`TaskInfo`], [`Builder`], [`current`], [`yield_now`]
//! and the unhandled-error types.
//!
//! One concern per file: `meta` (what a task's allocation carries), `spawn` (the spawn path and
//! the future wrapper), `current` (the running task, one poll), `info`, `handle` (`Task`),
//! `abort`, `error`, `report` (hook payloads), `builder`, `yield_now`, `waker_parts` (a task's
//! waker in 4 bytes of its metadata).

mod abort;
mod builder;
mod current;
mod error;
mod handle;
mod info;
mod meta;
mod report;
#[cfg(test)]
mod size_tests;
mod spawn;
mod waker_parts;
mod yield_now;

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
        // 24, not more: async-task's header adds a `bool` after it, so the header is 64 bytes
        // (see `a_sleeping_task_fits_mallocs_144_byte_class`).
        assert_eq!(std::mem::size_of::<super::meta::Meta>(), 24);
        assert_eq!(std::mem::size_of::<super::Task<()>>(), 16);
        assert_eq!(std::mem::size_of::<Option<crate::registry::EntryKey>>(), 4);
        // A task's bookkeeping in its future: registry index and entry key, one word.
        #[cfg(feature = "tracing")]
        let span = std::mem::size_of::<tracing::Span>();
        #[cfg(not(feature = "tracing"))]
        let span = 0;
        assert_eq!(std::mem::size_of::<super::spawn::Wrapped<()>>(), 8 + span);
        // A task's output slot: a unit output (or a caught panic) is one pointer.
        assert_eq!(std::mem::size_of::<super::spawn::Outcome<()>>(), 8);
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
