//! One interface over the three multi-threaded executors, so a workload is written once and run
//! on each (weft `Runtime`, tokio `multi_thread`, smol's `async-executor` pool): [`Exec`] is the
//! runtime (its own `block_on`), [`Spawner`] the cloneable handle tasks spawn through, with that
//! runtime's own `yield_now`. A handle's output is the task's value (a join error panics: a
//! benchmark task never fails).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::SmolRt;

/// A handle tasks spawn through; cheap to clone into tasks.
pub trait Spawner: Clone + Send + Sync + 'static {
    /// The join handle: awaiting it gives the task's output.
    type Task<T: Send + 'static>: Future<Output = T> + Send + Unpin + 'static;
    /// Spawns `fut` on the runtime.
    fn spawn<T: Send + 'static>(
        &self,
        fut: impl Future<Output = T> + Send + 'static,
    ) -> Self::Task<T>;
    /// Lets `task` run to completion without anyone awaiting it.
    fn detach<T: Send + 'static>(task: Self::Task<T>);
    /// The runtime's own `yield_now`.
    fn yield_now() -> impl Future<Output = ()> + Send;
}

/// A multi-threaded runtime: a [`Spawner`] plus `block_on` on the calling (non-worker) thread.
pub trait Exec: Sync {
    /// Its spawner.
    type Spawner: Spawner;
    /// A handle to spawn through.
    fn spawner(&self) -> Self::Spawner;
    /// Runs `fut` on the calling thread, the runtime's way.
    fn block_on<T>(&self, fut: impl Future<Output = T>) -> T;
}

/// Awaits a `Result`-returning join handle and unwraps it.
#[derive(Debug)]
pub struct Unwrap<F>(F);

impl<T, E: std::fmt::Debug, F: Future<Output = Result<T, E>> + Unpin> Future for Unwrap<F> {
    type Output = T;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        Pin::new(&mut self.0)
            .poll(cx)
            .map(|r| r.expect("benchmark task failed"))
    }
}

impl Spawner for weft_executor::Handle {
    type Task<T: Send + 'static> = Unwrap<weft_executor::Task<T>>;
    fn spawn<T: Send + 'static>(
        &self,
        fut: impl Future<Output = T> + Send + 'static,
    ) -> Self::Task<T> {
        Unwrap(weft_executor::Handle::spawn(self, fut))
    }
    fn detach<T: Send + 'static>(task: Self::Task<T>) {
        task.0.detach();
    }
    fn yield_now() -> impl Future<Output = ()> + Send {
        weft_executor::yield_now()
    }
}

impl Exec for weft_executor::Runtime {
    type Spawner = weft_executor::Handle;
    fn spawner(&self) -> weft_executor::Handle {
        self.handle()
    }
    fn block_on<T>(&self, fut: impl Future<Output = T>) -> T {
        weft_executor::Runtime::block_on(self, fut)
    }
}

impl Spawner for tokio::runtime::Handle {
    type Task<T: Send + 'static> = Unwrap<tokio::task::JoinHandle<T>>;
    fn spawn<T: Send + 'static>(
        &self,
        fut: impl Future<Output = T> + Send + 'static,
    ) -> Self::Task<T> {
        Unwrap(tokio::runtime::Handle::spawn(self, fut))
    }
    fn detach<T: Send + 'static>(task: Self::Task<T>) {
        drop(task); // dropping a tokio JoinHandle detaches
    }
    fn yield_now() -> impl Future<Output = ()> + Send {
        tokio::task::yield_now()
    }
}

impl Exec for tokio::runtime::Runtime {
    type Spawner = tokio::runtime::Handle;
    fn spawner(&self) -> tokio::runtime::Handle {
        self.handle().clone()
    }
    fn block_on<T>(&self, fut: impl Future<Output = T>) -> T {
        tokio::runtime::Runtime::block_on(self, fut)
    }
}

impl Spawner for Arc<async_executor::Executor<'static>> {
    type Task<T: Send + 'static> = async_executor::Task<T>;
    fn spawn<T: Send + 'static>(
        &self,
        fut: impl Future<Output = T> + Send + 'static,
    ) -> Self::Task<T> {
        async_executor::Executor::spawn(self, fut)
    }
    fn detach<T: Send + 'static>(task: Self::Task<T>) {
        task.detach();
    }
    fn yield_now() -> impl Future<Output = ()> + Send {
        futures_lite::future::yield_now()
    }
}

impl Exec for SmolRt {
    type Spawner = Arc<async_executor::Executor<'static>>;
    fn spawner(&self) -> Self::Spawner {
        self.executor().clone()
    }
    fn block_on<T>(&self, fut: impl Future<Output = T>) -> T {
        SmolRt::block_on(self, fut)
    }
}

/// The three runtimes with [`WORKERS`](crate::WORKERS) workers each, alive for a whole bench file.
#[derive(Debug)]
pub struct Rts {
    /// weft's `Runtime`.
    pub weft: weft_executor::Runtime,
    /// tokio's `multi_thread` runtime.
    pub tokio: tokio::runtime::Runtime,
    /// smol: one `async-executor` run by `WORKERS` threads.
    pub smol: SmolRt,
}

impl Rts {
    /// Builds the three runtimes.
    ///
    /// # Panics
    /// If a runtime cannot be built.
    pub fn new() -> Rts {
        Rts {
            weft: crate::weft_rt(),
            tokio: crate::tokio_rt(),
            smol: SmolRt::new(crate::WORKERS),
        }
    }
}

impl Default for Rts {
    fn default() -> Self {
        Rts::new()
    }
}

/// Adds the three runtimes of `$rts` as contenders `weft`, `tokio`, `smol` of workload `$g`;
/// `$body` runs with `$e` bound to the runtime (an [`Exec`]) and `$b` to the `Bencher`.
#[macro_export]
macro_rules! bench_rts {
    ($g:expr, $rts:expr, |$b:ident, $e:ident| $body:expr) => {{
        let rts: &$crate::exec::Rts = $rts;
        {
            let $e = &rts.weft;
            $g.bench("weft", move |$b| $body);
        }
        {
            let $e = &rts.tokio;
            $g.bench("tokio", move |$b| $body);
        }
        {
            let $e = &rts.smol;
            $g.bench("smol", move |$b| $body);
        }
    }};
}

/// async-executor's `yield_now` workload, shared by the `async_executor` bench and the
/// `exec_cost` callgrind driver: [`YIELD_TASKS`] tasks each yielding [`YIELD_STEPS`] times.
pub const YIELD_TASKS: usize = 300;
/// See [`YIELD_TASKS`].
pub const YIELD_STEPS: usize = 300;
/// async-executor's `spawn_batch` size: `yield_now` tasks spawned from the `block_on` thread.
pub const SPAWN_BATCH: usize = 250;

/// Runs the `yield_now` workload once on `e` (see [`YIELD_TASKS`]).
pub fn yield_workload<E: Exec>(e: &E) {
    let s = e.spawner();
    e.block_on(async {
        let hs: Vec<_> = (0..YIELD_TASKS)
            .map(|_| {
                s.spawn(async {
                    for _ in 0..YIELD_STEPS {
                        E::Spawner::yield_now().await;
                    }
                })
            })
            .collect();
        for h in hs {
            h.await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sum_on<E: Exec>(e: &E) -> u32 {
        let s = e.spawner();
        e.block_on(async move {
            let hs: Vec<_> = (0..10u32)
                .map(|i| {
                    s.spawn(async move {
                        E::Spawner::yield_now().await;
                        i
                    })
                })
                .collect();
            let mut sum = 0;
            for h in hs {
                sum += h.await;
            }
            sum
        })
    }

    #[test]
    fn every_runtime_runs_the_same_generic_workload() {
        let rts = Rts::new();
        assert_eq!(sum_on(&rts.weft), 45);
        assert_eq!(sum_on(&rts.tokio), 45);
        assert_eq!(sum_on(&rts.smol), 45);
    }
}
