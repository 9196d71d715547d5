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
    let secs = secs * time_scale();
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

/// How much slower than native the tests run: 30 under `cargo xtask valgrind` (which sets
/// `WEFT_UNDER_VALGRIND`), else 1. Watchdogs scale by it; nothing else depends on time.
pub fn time_scale() -> u64 {
    if std::env::var_os("WEFT_UNDER_VALGRIND").is_some() {
        30
    } else {
        1
    }
}

/// Aborts the test process (with a message naming the test) if it is still alive after `secs`
/// seconds: a lost wake-up fails the run instead of hanging it. Disarmed when dropped.
pub fn watchdog(secs: u64) -> Watchdog {
    let secs = secs * time_scale();
    let name = std::thread::current()
        .name()
        .unwrap_or("<unnamed>")
        .to_string();
    let (tx, rx) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(Duration::from_secs(secs)) {
            eprintln!("watchdog: test {name} still running after {secs} s (a lost wake-up?)");
            std::process::abort();
        }
    });
    Watchdog(tx)
}

/// See [`watchdog`].
pub struct Watchdog(#[allow(dead_code)] mpsc::Sender<()>);

/// A runtime with a [`watchdog`] armed for as long as it lives (its shutdown included).
pub struct Watched {
    rt: Option<Runtime>,
    _dog: Watchdog,
}

impl Watched {
    /// Wraps `rt`, arming a 60 s watchdog.
    pub fn new(rt: Runtime) -> Watched {
        Watched {
            rt: Some(rt),
            _dog: watchdog(60),
        }
    }
}

impl Watched {
    /// [`Runtime::shutdown_timeout`], still watched.
    pub fn shutdown_timeout(mut self, d: Duration) -> bool {
        self.rt.take().unwrap().shutdown_timeout(d)
    }
}

impl std::ops::Deref for Watched {
    type Target = Runtime;
    fn deref(&self) -> &Runtime {
        self.rt.as_ref().unwrap()
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        // Shut the runtime down while the watchdog is still armed.
        drop(self.rt.take());
    }
}

/// A multi-threaded runtime with `n` workers and default settings, watched by a
/// [`watchdog`].
pub fn multi(n: usize) -> Watched {
    Watched::new(Runtime::builder().worker_threads(n).build().unwrap())
}

/// A multi-threaded runtime from `b` whose workers each enter `timers`, real-time timers that
/// only those workers drive (the no-op external driver keeps the timer crate's fallback thread
/// away, and no other thread enters them): a task's sleep then fires only if its worker's
/// `block_on` gets to process timers, which a test waiting on a plain channel cannot do for it.
pub fn with_worker_only_timers(b: weft_executor::RuntimeBuilder) -> (Runtime, weft_timer::Timers) {
    let timers = weft_timer::Timers::new(weft_timer::Clock::real());
    timers.set_driver(Arc::new(|| {}));
    let t = timers.clone();
    let rt = b
        .on_thread_start(move || std::mem::forget(t.enter()))
        .build()
        .unwrap();
    (rt, timers)
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
    run_as_child_with(test, child_env, &[])
}

/// [`run_as_child`] with the extra environment variables `env` set in the child (e.g.
/// `WEFT_DEBUG=1` for a test of debug-mode reports).
pub fn run_as_child_with(
    test: &'static str,
    child_env: &'static str,
    env: &'static [(&'static str, &'static str)],
) -> Output {
    within(60, move || {
        Command::new(std::env::current_exe().unwrap())
            .args(["--exact", test, "--nocapture", "--test-threads=1"])
            .env(child_env, "1")
            .envs(env.iter().copied())
            .output()
            .unwrap()
    })
}
