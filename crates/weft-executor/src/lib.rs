//! weft's executors: a multi-threaded work-stealing `Runtime`, a `!Send` `LocalRuntime`, tasks,
//! and structured concurrency.
