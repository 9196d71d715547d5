//! Write overlap (issue 17): while the write buffer is written on the pool, the writer fills a
//! second buffer instead of waiting. On a one-thread pool: the bytes stay in order, a drop while
//! writing loses none, a write error keeps the rest for later, and a panicking write wakes the
//! writer waiting for room. Every test runs under a watchdog. (Before the overlap, the write
//! of "efgh" in `Rig::started` waited for the job writing "abcd": every test failed there.)

mod common;

use std::io::{self, Write};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use common::within;
use futures_lite::future::{block_on, poll_once};
use futures_lite::{AsyncWrite, AsyncWriteExt};
use weft_blocking::{BlockingPool, Unblock};

/// What the gated writer does with the first write once its gate opens.
#[derive(Clone, Copy, PartialEq)]
enum First {
    Write,
    Fail,
    Panic,
}

/// A writer whose writes wait for a gate the test opens; it reports each write it enters and
/// its drop, and records what it wrote.
struct Gated {
    gate: Arc<(Mutex<bool>, Condvar)>,
    out: Arc<Mutex<Vec<u8>>>,
    entered: Sender<()>,
    dropped: Sender<()>,
    first: First,
}

impl Write for Gated {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let _ = self.entered.send(());
        let (open, cv) = &*self.gate;
        let guard = open.lock().unwrap();
        let (guard, t) = cv
            .wait_timeout_while(guard, Duration::from_secs(20), |open| !*open)
            .unwrap();
        assert!(!t.timed_out(), "the test never opened the gate");
        drop(guard);
        match std::mem::replace(&mut self.first, First::Write) {
            First::Fail => return Err(io::Error::other("disk on fire")),
            First::Panic => panic!("write panicked (on purpose)"),
            First::Write => {}
        }
        self.out.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for Gated {
    fn drop(&mut self) {
        let _ = self.dropped.send(());
    }
}

fn open(gate: &(Mutex<bool>, Condvar)) {
    *gate.0.lock().unwrap() = true;
    gate.1.notify_all();
}

struct Rig {
    u: Unblock<Gated>,
    gate: Arc<(Mutex<bool>, Condvar)>,
    out: Arc<Mutex<Vec<u8>>>,
    entered: Receiver<()>,
    dropped: Receiver<()>,
    pool: BlockingPool,
}

impl Rig {
    /// A 4-byte buffer on a one-thread pool; "abcd" buffered, "efgh" written while the job
    /// writing "abcd" waits at the gate: the overlap under test.
    fn started(first: First) -> Rig {
        Rig::with(first, b"efgh")
    }

    /// [`started`](Self::started) with `second` (up to 4 bytes) written during the overlap.
    fn with(first: First, second: &[u8]) -> Rig {
        let pool = BlockingPool::builder().max_threads(1).build();
        let gate = Arc::new((Mutex::new(false), Condvar::new()));
        let out = Arc::new(Mutex::new(Vec::new()));
        let (entered_tx, entered) = channel();
        let (dropped_tx, dropped) = channel();
        let w = Gated {
            gate: gate.clone(),
            out: out.clone(),
            entered: entered_tx,
            dropped: dropped_tx,
            first,
        };
        let mut u = Unblock::with_capacity(4, w).on_pool(&pool);
        block_on(u.write_all(b"abcd")).unwrap(); // buffered
        let n = block_on(poll_once(u.write(second)));
        // The job writing "abcd" may not even have started: either way, no waiting for it.
        assert_eq!(
            n.map(|r| r.unwrap()),
            Some(second.len()),
            "a write waited for the buffer in flight"
        );
        Rig {
            u,
            gate,
            out,
            entered,
            dropped,
            pool,
        }
    }

    fn wait_entered(&self) {
        self.entered
            .recv_timeout(Duration::from_secs(20))
            .expect("the pool never started the write");
    }

    fn open(&self) {
        open(&self.gate);
    }

    fn out(&self) -> Vec<u8> {
        self.out.lock().unwrap().clone()
    }
}

#[test]
fn a_second_buffer_fills_while_the_first_is_written_in_order() {
    within("write overlap on a one-thread pool", || {
        let mut r = Rig::started(First::Write);
        r.wait_entered();
        // Both buffers are full: this write waits for room.
        let gate = r.gate.clone();
        let mut w = r.u.write(b"ijkl");
        assert!(block_on(poll_once(&mut w)).is_none(), "a third buffer?");
        open(&gate);
        assert_eq!(block_on(w).unwrap(), 4);
        block_on(r.u.write_all(b"mn")).unwrap();
        block_on(r.u.flush()).unwrap();
        assert_eq!(r.out(), b"abcdefghijklmn");
    });
}

#[test]
fn dropping_while_writing_loses_nothing_on_a_one_thread_pool() {
    within("drop while writing", || {
        let r = Rig::started(First::Write);
        r.wait_entered();
        let Rig {
            u,
            gate,
            out,
            dropped,
            pool,
            ..
        } = r;
        drop(u); // "abcd" in flight, "efgh" in the second buffer
        open(&gate);
        dropped
            .recv_timeout(Duration::from_secs(20))
            .expect("the writer was never dropped");
        assert_eq!(*out.lock().unwrap(), b"abcdefgh");
        // The one pool thread is free again.
        assert_eq!(block_on(pool.run(|| 7)), 7);
    });
}

#[test]
fn dropping_with_a_partial_second_buffer_loses_nothing() {
    within("drop while writing, second buffer not full", || {
        let r = Rig::with(First::Write, b"ef");
        r.wait_entered();
        let Rig {
            u,
            gate,
            out,
            dropped,
            ..
        } = r;
        drop(u); // "abcd" in flight, "ef" in the second buffer: the job leaves it to the drop
        open(&gate);
        dropped
            .recv_timeout(Duration::from_secs(20))
            .expect("the writer was never dropped");
        assert_eq!(*out.lock().unwrap(), b"abcdef");
    });
}

/// A plain writer that records what it wrote.
struct Recorder(Arc<Mutex<Vec<u8>>>);

impl Write for Recorder {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_shutdown_that_cancels_the_write_job_writes_both_buffers() {
    within("shutdown with a second buffer", || {
        let pool = BlockingPool::builder().max_threads(1).build();
        // The one thread is busy, so the write job stays queued.
        let gate = Arc::new((Mutex::new(false), Condvar::new()));
        let (busy_tx, busy) = channel();
        let g = gate.clone();
        let blocker = pool.run(move || {
            busy_tx.send(()).unwrap();
            let open = g.0.lock().unwrap();
            drop(g.1.wait_timeout_while(open, Duration::from_secs(20), |o| !*o));
        });
        busy.recv_timeout(Duration::from_secs(20)).unwrap();
        let out = Arc::new(Mutex::new(Vec::new()));
        let mut u = Unblock::with_capacity(4, Recorder(out.clone())).on_pool(&pool);
        block_on(u.write_all(b"abcd")).unwrap();
        assert_eq!(
            block_on(poll_once(u.write(b"ef"))).map(|r| r.unwrap()),
            Some(2)
        );
        drop(u);
        pool.shutdown(Duration::ZERO); // cancels the queued write job: its drop writes here
        assert_eq!(*out.lock().unwrap(), b"abcdef");
        open(&gate);
        drop(blocker);
    });
}

#[test]
fn a_write_error_keeps_the_second_buffer_after_the_first() {
    within("write error with a second buffer", || {
        let mut r = Rig::started(First::Fail);
        r.wait_entered();
        r.open();
        let e = block_on(r.u.flush()).unwrap_err();
        assert_eq!(e.to_string(), "disk on fire");
        // Nothing was lost or reordered: the next flush writes both buffers.
        block_on(r.u.flush()).unwrap();
        assert_eq!(r.out(), b"abcdefgh");
    });
}

#[test]
fn a_panicking_write_wakes_the_writer_waiting_for_room() {
    within("panicking write with a waiting writer", || {
        let mut r = Rig::started(First::Panic);
        r.wait_entered();
        let gate = r.gate.clone();
        let mut w = r.u.write(b"ijkl");
        assert!(block_on(poll_once(&mut w)).is_none());
        open(&gate);
        // The job's panic is re-raised in the writer (as for any pool job), which was woken.
        let p = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| block_on(w)));
        let p = p.expect_err("the write did not see the panic");
        assert_eq!(
            p.downcast_ref::<&str>(),
            Some(&"write panicked (on purpose)")
        );
        // Polling the lost value then fails (no hang).
        let mut u = r.u;
        let e = block_on(futures_lite::future::poll_fn(|cx| {
            std::pin::Pin::new(&mut u).poll_write(cx, b"x")
        }))
        .unwrap_err();
        assert!(e.to_string().contains("panicked"), "{e}");
    });
}
