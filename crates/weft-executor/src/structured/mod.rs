//! Structured concurrency: [`TaskGroup`] and [`task_group`], [`gather`] / [`try_gather`] /
//! [`gather_settled`] / [`race`] / [`wait`] / [`as_completed`], [`shield`], [`retry`] and the
//! [`stream`] generator helper.
//!
//! | asyncio | weft |
//! |---|---|
//! | `async with TaskGroup() as tg` | [`task_group`]`(\|g\| async move { .. })`, or [`TaskGroup::new`] + [`TaskGroup::join`] |
//! | `gather(*aws)` | [`gather`]`(iter)`, [`gather!`](macro@crate::gather)`(a, b, c)` |
//! | `gather(*aws, return_exceptions=True)` | [`gather_settled`] (panics become values) |
//! | first error wins | [`try_gather`], [`try_gather!`](macro@crate::try_gather) |
//! | `wait(aws, return_when=..., timeout=...)` | [`wait`] (never cancels) |
//! | `as_completed(aws)` | [`as_completed`] (a `Stream`) |
//! | `shield(aw)` | [`shield`] |
//! | async generator (`yield` in `async def`) | [`stream`] |
//!
//! Semantics (see `docs/asyncio.md` and `docs/cancel-safety.md`): a group's `join` waits for
//! every child, cancelled ones included; the first failure cancels the siblings (not in a
//! supervisor); every failure is reported; a cancelled child is not a failure; `wait` never
//! cancels; everything else cancels by dropping.

mod gather;
mod group_error;
mod retry;
mod set;
mod shield;
mod stream;
mod task_group;
mod wait;

#[doc(hidden)]
pub use gather::__private;
pub use gather::{
    as_completed, gather, gather_settled, race, try_gather, AsCompleted, AsCompletedIndexed,
};
pub use group_error::{Failure, FailureKind, GroupError, SpawnError};
pub use retry::{retry, retry_if, RetryPolicy};
pub(crate) use shield::shield_as;
pub(crate) use shield::shielded_ids;
pub use shield::{shield, shutdown_shielded, wait_shielded, Shield, ShieldReport};
pub use stream::{stream, Generator, YieldItem, YieldNow, Yielder};
pub use task_group::{task_group, GroupHandle, GroupSpawner, TaskGroup};
pub use wait::{wait, Flatten, ReturnWhen, TaskError, WaitResult, Waitable};
