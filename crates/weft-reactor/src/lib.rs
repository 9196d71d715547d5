//! The weft reactor: readiness-based I/O on `polling`, `block_on`, and networking types.

use std::future::Future;

/// Runs `fut` to completion on the current thread.
///
/// Placeholder until the reactor lands: it drives the future only (no I/O, no timers).
///
/// ```
/// assert_eq!(weft_reactor::block_on(async { 1 + 1 }), 2);
/// ```
pub fn block_on<T>(fut: impl Future<Output = T>) -> T {
    futures_lite::future::block_on(fut)
}
