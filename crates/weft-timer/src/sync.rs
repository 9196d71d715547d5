//! The synchronization primitives the sharded wheels are written against: std's here, loom's
//! when `tests/loom.rs` compiles `shards.rs` itself under `--cfg loom` (it supplies its own
//! `sync` module), so the model checks this very code.

pub(crate) use std::sync::atomic::{AtomicUsize, Ordering};
pub(crate) use std::sync::{Mutex, MutexGuard, PoisonError};
