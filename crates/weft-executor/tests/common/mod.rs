//! Helpers shared by the executor's integration-test binaries (`mod common;` in each).

// Every test binary compiles this module, but not every binary uses every helper.
#![allow(dead_code)]

use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use weft_executor::{LocalRuntime, Runtime};

/// Runs `f` on a helper thread and fails the test if it takes longer than `secs` (a lost
/// wake-up shows up as a timeout, not a hung test suite).
pub fn within<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(v) => v,
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("timed out after {secs} s"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("the test body panicked"),
    }
}

/// A multi-threaded runtime with `n` workers and default settings.
pub fn multi(n: usize) -> Runtime {
    Runtime::builder().worker_threads(n).build().unwrap()
}

/// A local runtime with default settings.
pub fn local() -> LocalRuntime {
    LocalRuntime::new().unwrap()
}

/// A local runtime whose clock starts paused (virtual time).
pub fn paused() -> LocalRuntime {
    LocalRuntime::builder()
        .start_paused(true)
        .build_local()
        .unwrap()
}

/// A flag, initially unset.
pub fn flag() -> Arc<AtomicBool> {
    Arc::new(AtomicBool::new(false))
}

/// Sets its flag when dropped (observes cancellation through destructors).
pub struct DropFlag(pub Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, SeqCst);
    }
}

/// Runs the single test `test` of this test binary again in a child process, with the
/// environment variable `child_env` set (the test checks it to play the child's part), and
/// returns the child's output. Fails the test if the child takes longer than 60 s.
pub fn run_as_child(test: &'static str, child_env: &'static str) -> Output {
    within(60, move || {
        Command::new(std::env::current_exe().unwrap())
            .args(["--exact", test, "--nocapture", "--test-threads=1"])
            .env(child_env, "1")
            .output()
            .unwrap()
    })
}
