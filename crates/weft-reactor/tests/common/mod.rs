//! Test helpers: a tiny single-threaded task set to run many futures inside one `block_on`.
#![allow(dead_code)]

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

type LocalFut = Pin<Box<dyn Future<Output = ()>>>;

struct TaskWaker {
    idx: usize,
    ready: Arc<Mutex<Vec<usize>>>,
    parent: Arc<Mutex<Option<Waker>>>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.ready.lock().unwrap().push(self.idx);
        if let Some(w) = self.parent.lock().unwrap().as_ref() {
            w.wake_by_ref();
        }
    }
}

/// A set of `!Send` futures polled only when woken (no spawning on other threads).
#[derive(Clone, Default)]
pub struct LocalTasks {
    new: Rc<RefCell<Vec<LocalFut>>>,
}

impl LocalTasks {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a future; it is first polled on the next turn of `run_until`.
    pub fn spawn(&self, f: impl Future<Output = ()> + 'static) {
        self.new.borrow_mut().push(Box::pin(f));
    }

    /// Runs the spawned futures until `main` completes; returns its output.
    pub async fn run_until<T>(&self, main: impl Future<Output = T>) -> T {
        let mut main = std::pin::pin!(main);
        let ready = Arc::new(Mutex::new(Vec::new()));
        let parent: Arc<Mutex<Option<Waker>>> = Arc::new(Mutex::new(None));
        let mut tasks: Vec<Option<(LocalFut, Waker)>> = Vec::new();
        let mut free: Vec<usize> = Vec::new();
        std::future::poll_fn(move |cx| {
            *parent.lock().unwrap() = Some(cx.waker().clone());
            loop {
                loop {
                    let fresh: Vec<LocalFut> = std::mem::take(&mut *self.new.borrow_mut());
                    let mut batch: Vec<usize> = std::mem::take(&mut *ready.lock().unwrap());
                    for f in fresh {
                        let idx = free.pop().unwrap_or_else(|| {
                            tasks.push(None);
                            tasks.len() - 1
                        });
                        let w = Waker::from(Arc::new(TaskWaker {
                            idx,
                            ready: ready.clone(),
                            parent: parent.clone(),
                        }));
                        tasks[idx] = Some((f, w));
                        batch.push(idx);
                    }
                    if batch.is_empty() {
                        break;
                    }
                    for idx in batch {
                        let Some((mut f, w)) = tasks[idx].take() else {
                            continue;
                        };
                        match f.as_mut().poll(&mut Context::from_waker(&w)) {
                            Poll::Ready(()) => free.push(idx),
                            Poll::Pending => tasks[idx] = Some((f, w)),
                        }
                    }
                }
                if let Poll::Ready(v) = main.as_mut().poll(cx) {
                    return Poll::Ready(v);
                }
                if self.new.borrow().is_empty() && ready.lock().unwrap().is_empty() {
                    return Poll::Pending;
                }
            }
        })
        .await
    }
}

/// Raises the soft RLIMIT_NOFILE to at least `want` (bounded by the hard limit).
pub fn raise_fd_limit(want: libc::rlim_t) -> libc::rlim_t {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit struct.
    let r = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) };
    assert_eq!(r, 0);
    let target = want.min(lim.rlim_max);
    if lim.rlim_cur < target {
        lim.rlim_cur = target;
        // SAFETY: `lim` is a valid rlimit struct with cur <= max.
        let r = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) };
        assert_eq!(r, 0);
    }
    lim.rlim_cur
}

/// Number of open file descriptors of this process.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// A one-shot flag completed from another thread (or a timer callback).
#[derive(Default)]
pub struct Flag {
    done: std::sync::atomic::AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl Flag {
    /// Sets the flag and wakes its waiter.
    pub fn complete(&self) {
        self.done.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(w) = self.waker.lock().unwrap().take() {
            w.wake();
        }
    }

    /// Completes once the flag is set.
    pub async fn wait(&self) {
        use std::sync::atomic::Ordering::SeqCst;
        std::future::poll_fn(|cx| {
            if self.done.load(SeqCst) {
                return Poll::Ready(());
            }
            *self.waker.lock().unwrap() = Some(cx.waker().clone());
            if self.done.load(SeqCst) {
                return Poll::Ready(());
            }
            Poll::Pending
        })
        .await
    }
}

/// How long a multi-threaded test waits for a condition before it fails instead of hanging.
pub const WATCHDOG: std::time::Duration = std::time::Duration::from_secs(60);

/// Spins (yielding) until `cond` holds; panics naming `what` after [`WATCHDOG`].
pub fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !cond() {
        assert!(start.elapsed() < WATCHDOG, "watchdog: {what}");
        std::thread::yield_now();
    }
}
