//! Helpers shared by the integration tests: a counting waker, hand-driven futures, and stress
//! workloads generic over a "spawn" function so they can run on any executor.
#![allow(dead_code)]

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

/// A waker that counts how often it was woken.
#[derive(Default)]
pub struct CountingWaker {
    pub count: AtomicUsize,
}

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.count.fetch_add(1, Ordering::SeqCst);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.count.fetch_add(1, Ordering::SeqCst);
    }
}

/// A future driven by hand, with its own counting waker.
pub struct Driven<T> {
    pub fut: Pin<Box<dyn Future<Output = T> + Send>>,
    pub waker: Arc<CountingWaker>,
    /// Wake count seen at the last poll.
    pub seen: usize,
}

impl<T> Driven<T> {
    pub fn new(fut: impl Future<Output = T> + Send + 'static) -> Self {
        Driven {
            fut: Box::pin(fut),
            waker: Arc::new(CountingWaker::default()),
            seen: 0,
        }
    }

    pub fn woken(&self) -> bool {
        self.waker.count.load(Ordering::SeqCst) > self.seen
    }

    pub fn poll(&mut self) -> Poll<T> {
        self.seen = self.waker.count.load(Ordering::SeqCst);
        let waker = Waker::from(self.waker.clone());
        let mut cx = Context::from_waker(&waker);
        self.fut.as_mut().poll(&mut cx)
    }
}

/// Polls a future once with a no-op waker.
pub fn poll_once<F: Future + Unpin>(f: &mut F) -> Poll<F::Output> {
    let mut cx = Context::from_waker(Waker::noop());
    Pin::new(f).poll(&mut cx)
}

/// A boxed "spawn and get a join future" function, so stress tests run on any executor.
pub type Spawn = Arc<
    dyn Fn(Pin<Box<dyn Future<Output = ()> + Send>>) -> Pin<Box<dyn Future<Output = ()> + Send>>
        + Send
        + Sync,
>;

/// Runs `f` on a multi-threaded async-executor with `threads` worker threads.
pub fn with_async_executor<F, Fut>(threads: usize, f: F)
where
    F: FnOnce(Spawn) -> Fut,
    Fut: Future<Output = ()>,
{
    let ex = Arc::new(async_executor::Executor::new());
    let (stop_tx, stop_rx) = stop_signal();
    std::thread::scope(|s| {
        for _ in 0..threads {
            let ex = ex.clone();
            let stop_rx = stop_rx.clone();
            s.spawn(move || futures_lite::future::block_on(ex.run(stop_rx.wait())));
        }
        let ex2 = ex.clone();
        let spawn: Spawn = Arc::new(move |fut| {
            let task = ex2.spawn(fut);
            Box::pin(task)
        });
        // Stop the workers even if the body panics, so a failing test fails instead of hanging.
        struct StopOnDrop(Arc<weft_sync::Event>);
        impl Drop for StopOnDrop {
            fn drop(&mut self) {
                self.0.set();
            }
        }
        let _stop = StopOnDrop(stop_tx);
        futures_lite::future::block_on(ex.run(f(spawn)));
    });
}

/// A stop signal built from weft's own `Event`.
fn stop_signal() -> (Arc<weft_sync::Event>, StopRx) {
    let ev = Arc::new(weft_sync::Event::new());
    (ev.clone(), StopRx(ev))
}

#[derive(Clone)]
pub struct StopRx(Arc<weft_sync::Event>);

impl StopRx {
    async fn wait(self) {
        self.0.wait().await
    }
}

/// 8 tasks x `iters` lock/unlock on one `Mutex<u64>`; returns the final counter.
pub async fn mutex_counter(spawn: Spawn, tasks: usize, iters: usize) -> u64 {
    let m = Arc::new(weft_sync::Mutex::new(0u64));
    let mut joins = Vec::new();
    for _ in 0..tasks {
        let m = m.clone();
        joins.push(spawn(Box::pin(async move {
            for _ in 0..iters {
                *m.lock().await += 1;
            }
        })));
    }
    for j in joins {
        j.await;
    }
    let v = *m.lock().await;
    v
}

/// `producers` x `per` items through `bounded(cap)` to `consumers`; returns every item received.
pub async fn channel_mpmc(
    spawn: Spawn,
    producers: usize,
    consumers: usize,
    per: usize,
    cap: usize,
) -> Vec<usize> {
    let (tx, rx) = weft_sync::channel::bounded(cap);
    let out = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut joins = Vec::new();
    for p in 0..producers {
        let tx = tx.clone();
        joins.push(spawn(Box::pin(async move {
            for i in 0..per {
                tx.send(p * per + i).await.unwrap();
            }
        })));
    }
    drop(tx);
    for _ in 0..consumers {
        let rx = rx.clone();
        let out = out.clone();
        joins.push(spawn(Box::pin(async move {
            let mut mine = Vec::new();
            while let Ok(v) = rx.recv().await {
                mine.push(v);
            }
            out.lock().unwrap().extend(mine);
        })));
    }
    drop(rx);
    for j in joins {
        j.await;
    }
    let v = std::mem::take(&mut *out.lock().unwrap());
    v
}

/// Runs `f` on its own thread and fails (instead of hanging) if it does not finish in time:
/// a deadlock shows up as a test failure (the bound is generous: the machine may be loaded).
/// The stuck thread is leaked.
pub fn within(what: &str, f: impl FnOnce() + Send + 'static) {
    let (tx, rx) = mpsc::channel();
    let h = std::thread::spawn(move || {
        f();
        let _ = tx.send(());
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(()) => h.join().unwrap(),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            if let Err(p) = h.join() {
                std::panic::resume_unwind(p)
            }
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what}: deadlocked"),
    }
}
