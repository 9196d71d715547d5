//! Issue 13: the worker that runs out of work drives the reactor itself, in its own context, so
//! a task woken by a readiness edge is woken on that worker and normally runs there,
//! instead of being woken on another thread (the `Runtime::block_on` thread or the fallback
//! driver) and sent through the global queue to whichever worker an unpark reaches.

use std::future::Future;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::pin::Pin;
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::Duration;

use weft_executor::Runtime;
use weft_reactor::Async;

/// The name of the thread a waker fired on.
type Seen = Arc<Mutex<Option<String>>>;

struct RecordingWaker {
    inner: Waker,
    seen: Seen,
}

impl Wake for RecordingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        *self.seen.lock().unwrap() = Some(thread::current().name().unwrap_or("?").to_owned());
        self.inner.wake_by_ref();
    }
}

/// Polls `fut` with a waker that records the thread it fires on.
struct Recording<F> {
    fut: F,
    seen: Seen,
}

impl<F: Future + Unpin> Future for Recording<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let w = Waker::from(Arc::new(RecordingWaker {
            inner: cx.waker().clone(),
            seen: self.seen.clone(),
        }));
        Pin::new(&mut self.fut).poll(&mut Context::from_waker(&w))
    }
}

#[test]
fn a_task_woken_by_io_is_woken_on_a_worker_and_runs_there() {
    const ROUNDS: usize = 20;
    let rt = Runtime::builder()
        .worker_threads(2)
        .thread_name("drive-test")
        .build()
        .unwrap();
    let (a, mut b) = UnixStream::pair().unwrap();
    let (ack_tx, ack_rx) = mpsc::channel::<()>();
    let task = rt.spawn(async move {
        let a = Async::new(a).unwrap();
        // (thread the waker fired on, thread the task resumed on), for each round that waited.
        let mut woken = Vec::new();
        for _ in 0..ROUNDS {
            let seen = Seen::default();
            Recording {
                fut: Box::pin(a.readable()),
                seen: seen.clone(),
            }
            .await
            .unwrap();
            let here = thread::current().name().unwrap_or("?").to_owned();
            if let Some(on) = seen.lock().unwrap().take() {
                woken.push((on, here));
            }
            let mut byte = [0u8; 1];
            // Readiness was reported, so the byte is there.
            assert_eq!(a.get_ref().read(&mut byte).unwrap(), 1);
            ack_tx.send(()).unwrap();
        }
        woken
    });
    let writer = thread::spawn(move || {
        for _ in 0..ROUNDS {
            b.write_all(&[1]).unwrap();
            ack_rx
                .recv_timeout(Duration::from_secs(20))
                .expect("watchdog: the reader never saw the byte (lost wake-up?)");
        }
    });
    // The watchdog is the writer's `recv_timeout`: a lost wake-up fails there.
    let woken = rt.block_on(task).expect("the reader task failed");
    writer.join().unwrap();
    assert!(!woken.is_empty(), "no round waited for readiness");
    // Where the woken task then runs is a scheduling outcome, not a guarantee: with both
    // workers awake (a loaded machine) the other worker may steal it from the driver's queue.
    // What the design guarantees: edges are delivered by the runtime's own threads (a worker
    // driving the reactor, or the fallback driver thread when no worker can), never by the
    // `block_on` caller, and the task runs on a worker; and a worker drives the reactor.
    for (on, here) in &woken {
        assert!(
            on.starts_with("drive-test") || on == "weft-reactor",
            "the readiness waker fired on {on:?}, not on a runtime thread: {woken:?}"
        );
        assert!(here.starts_with("drive-test"), "the task ran on {here:?}");
    }
    assert!(
        woken.iter().any(|(on, _)| on.starts_with("drive-test")),
        "no readiness edge was delivered by a worker driving the reactor: {woken:?}"
    );
}
