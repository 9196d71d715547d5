//! Shared helpers for weft's side-by-side benchmarks (weft vs tokio vs smol).
//!
//! Every benchmark file builds its runtimes through these helpers so that all of them get the
//! same worker count ([`WORKERS`]), and measures through the interleaved [`runner`] (or
//! [`rounds`] for the load-style HTTP groups), writing [`report`] lines that `cargo xtask bench`
//! turns into `docs/benchmarks.md`. See that page for how to run them and for the numbers.

use std::future::Future;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

pub mod child;
pub mod exec;
pub mod http_load;
pub mod hyper_server;
pub mod local_spawn;
pub mod net;
pub mod pin;
pub mod plan;
pub mod report;
pub mod rounds;
pub mod runner;

/// Worker threads given to every multi-threaded runtime (weft `Runtime`, tokio `multi_thread`,
/// smol's `async-executor` pool). The reference machine has 2 cores.
pub const WORKERS: usize = 2;

/// A tokio multi-thread runtime with [`WORKERS`] workers and all drivers enabled.
///
/// # Panics
/// If the runtime cannot be built (no threads available).
pub fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .enable_all()
        .build()
        .expect("build tokio runtime")
}

/// A tokio current-thread runtime with all drivers enabled (the `rt_current_thread` peer).
///
/// # Panics
/// If the runtime cannot be built.
pub fn tokio_current() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("build tokio current-thread runtime")
}

/// A weft [`LocalRuntime`](weft_executor::LocalRuntime): one thread, `!Send` tasks.
///
/// # Panics
/// If the runtime cannot be built.
pub fn weft_local() -> weft_executor::LocalRuntime {
    weft_executor::LocalRuntime::new().expect("build weft local runtime")
}

/// A weft multi-threaded [`Runtime`](weft_executor::Runtime) with [`WORKERS`] workers.
///
/// # Panics
/// If the runtime cannot be built (no threads available).
pub fn weft_rt() -> weft_executor::Runtime {
    weft_executor::Runtime::builder()
        .worker_threads(WORKERS)
        .thread_name("weft-bench")
        .build()
        .expect("build weft runtime")
}

/// smol's multi-threaded setup: one `async-executor` run by `n` threads, each in
/// `smol::block_on(ex.run(stop))` (so idle workers drive smol's reactor, as in smol itself).
///
/// `block_on` runs a future on the calling thread, which is *not* one of the workers (the same
/// arrangement as tokio's `Runtime::block_on` on a multi-thread runtime).
pub struct SmolRt {
    ex: Arc<async_executor::Executor<'static>>,
    stop: Option<async_channel::Sender<()>>,
    threads: Vec<JoinHandle<()>>,
}

impl SmolRt {
    /// Starts the executor on `n` threads.
    ///
    /// # Panics
    /// If a thread cannot be spawned.
    pub fn new(n: usize) -> SmolRt {
        let ex = Arc::new(async_executor::Executor::new());
        let (stop, stop_rx) = async_channel::bounded::<()>(1);
        let threads = (0..n)
            .map(|i| {
                let ex = ex.clone();
                let stop_rx = stop_rx.clone();
                std::thread::Builder::new()
                    .name(format!("smol-bench-{i}"))
                    .spawn(move || {
                        let _ = smol::block_on(ex.run(stop_rx.recv()));
                    })
                    .expect("spawn smol worker")
            })
            .collect();
        SmolRt {
            ex,
            stop: Some(stop),
            threads,
        }
    }

    /// The shared executor (clone it into tasks that spawn).
    pub fn executor(&self) -> &Arc<async_executor::Executor<'static>> {
        &self.ex
    }

    /// Spawns a task on the pool.
    pub fn spawn<T: Send + 'static>(
        &self,
        fut: impl Future<Output = T> + Send + 'static,
    ) -> async_executor::Task<T> {
        self.ex.spawn(fut)
    }

    /// Runs `fut` to completion on the calling thread.
    pub fn block_on<T>(&self, fut: impl Future<Output = T>) -> T {
        futures_lite::future::block_on(fut)
    }
}

impl Drop for SmolRt {
    fn drop(&mut self) {
        // Closing the channel makes every `stop_rx.recv()` resolve, so `ex.run` returns.
        drop(self.stop.take());
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl std::fmt::Debug for SmolRt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmolRt")
            .field("threads", &self.threads.len())
            .finish()
    }
}

/// Stalls the calling worker for `d`, calling `std::thread::yield_now` in a loop (the 10 µs
/// "stall" of tokio's `spawn_many_remote_busy*` benches).
pub fn stall(d: Duration) {
    let start = std::time::Instant::now();
    while start.elapsed() < d {
        std::thread::yield_now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smol_rt_runs_tasks_on_its_workers_and_stops_on_drop() {
        let rt = SmolRt::new(WORKERS);
        let main = std::thread::current().id();
        let tasks: Vec<_> = (0..8)
            .map(|i| rt.spawn(async move { (i * 2, std::thread::current().id()) }))
            .collect();
        let out = rt.block_on(async {
            let mut v = Vec::new();
            for t in tasks {
                v.push(t.await);
            }
            v
        });
        assert_eq!(out.iter().map(|r| r.0).sum::<i32>(), 56);
        assert!(
            out.iter().all(|r| r.1 != main),
            "tasks ran on the caller thread"
        );
        drop(rt); // joins the workers; hangs (and the test times out) if shutdown is broken
    }

    #[test]
    fn runtimes_have_the_same_worker_count() {
        assert_eq!(weft_rt().worker_threads(), WORKERS);
        assert_eq!(tokio_rt().metrics().num_workers(), WORKERS);
    }

    #[test]
    fn stall_waits_at_least_its_duration() {
        let start = std::time::Instant::now();
        stall(Duration::from_micros(200));
        assert!(start.elapsed() >= Duration::from_micros(200));
    }
}
