//! The watchdog every weft-compat integration test runs under.

// Each test file uses a different part of this module.
#![allow(dead_code)]

use std::future::Future;
use std::time::Duration;

/// Every test runs under this bound, so a lost wake-up fails instead of hanging.
pub const WATCHDOG: Duration = Duration::from_secs(30);

/// Runs `fut` on weft's executor, failing if it does not finish within [`WATCHDOG`].
pub fn run<F: Future + Send + 'static>(fut: F) -> F::Output
where
    F::Output: Send,
{
    weft_executor::run(async move {
        weft_timer::timeout(WATCHDOG, fut)
            .await
            .expect("watchdog: test did not finish in 30 s (lost wake-up?)")
    })
}
