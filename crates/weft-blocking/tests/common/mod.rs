//! Shared by weft-blocking's integration tests.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::time::Duration;

/// Runs `f` on its own thread and fails the test if it does not return within 20 s (30 times
/// that under `cargo xtask valgrind`, which sets `WEFT_UNDER_VALGRIND`): a stranded job, a read
/// that never gets data or a write queued behind a blocked read fails instead of hanging.
/// A panic in `f` is re-raised here.
pub fn within<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let scale = if std::env::var_os("WEFT_UNDER_VALGRIND").is_some() {
        30
    } else {
        1
    };
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(catch_unwind(AssertUnwindSafe(f)));
    });
    match rx.recv_timeout(Duration::from_secs(20 * scale)) {
        Ok(Ok(v)) => v,
        Ok(Err(p)) => resume_unwind(p),
        Err(_) => panic!("timed out: {what}"),
    }
}
