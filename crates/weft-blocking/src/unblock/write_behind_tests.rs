//! Write-behind of a file written sequentially (issue 17, `overflow.rs`): the writer runs up to
//! [`WRITE_BEHIND_MAX`] ahead of a pool job that is still writing, so it waits once per half of
//! that instead of once per 128 KiB buffer, and the usual rules hold with a deep queue: bytes in
//! order, drop while writing, a write error keeps the rest, the position is logical. Every test
//! runs on a one-thread pool under a watchdog. (With one second buffer, before, the first test
//! saw the writer stop 40 KiB ahead and the second counted a wait per buffer: 18 for 2 MiB.)

use std::io::{self, Read, Seek, SeekFrom, Write};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use futures_io::AsyncWrite;
use futures_lite::future::block_on;
use futures_lite::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use super::buffer::WRITE_BUFFER_MAX;
use super::overflow::WRITE_BEHIND_MAX;
use super::Unblock;
use crate::BlockingPool;

const K: usize = 1024;

/// How long a test waits for the other side before it fails: 20 s, 30 times that under
/// `cargo xtask valgrind` (which sets `WEFT_UNDER_VALGRIND`).
fn long() -> Duration {
    let scale = match std::env::var_os("WEFT_UNDER_VALGRIND") {
        Some(_) => 30,
        None => 1,
    };
    Duration::from_secs(20 * scale)
}

/// An in-memory file whose writes each wait for a token (all pass once the sender is gone),
/// report that they were entered, and can fail once.
struct Gated {
    data: Arc<Mutex<Vec<u8>>>,
    pos: usize,
    tokens: mpsc::Receiver<()>,
    entered: mpsc::Sender<usize>,
    fail_first: bool,
    dropped: Option<mpsc::Sender<()>>,
}

impl Write for Gated {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let _ = self.entered.send(buf.len());
        if let Err(mpsc::RecvTimeoutError::Timeout) = self.tokens.recv_timeout(long()) {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "gate: no token"));
        }
        if std::mem::take(&mut self.fail_first) {
            return Err(io::Error::other("disk on fire"));
        }
        let mut data = self.data.lock().unwrap();
        let end = self.pos + buf.len();
        if data.len() < end {
            data.resize(end, 0);
        }
        data[self.pos..end].copy_from_slice(buf);
        self.pos = end;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for Gated {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let data = self.data.lock().unwrap();
        let n = buf.len().min(data.len().saturating_sub(self.pos));
        buf[..n].copy_from_slice(&data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl Seek for Gated {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let len = self.data.lock().unwrap().len() as i64;
        let to = match pos {
            SeekFrom::Start(n) => n as i64,
            SeekFrom::Current(n) => self.pos as i64 + n,
            SeekFrom::End(n) => len + n,
        };
        if to < 0 {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "before start"));
        }
        self.pos = to as usize;
        Ok(to as u64)
    }
}

impl Drop for Gated {
    fn drop(&mut self) {
        if let Some(d) = self.dropped.take() {
            let _ = d.send(());
        }
    }
}

/// A file-mode `Unblock` over a [`Gated`] file on a one-thread pool, and its controls.
struct Rig {
    u: Unblock<Gated>,
    data: Arc<Mutex<Vec<u8>>>,
    /// `None`: the gate is open for good.
    tokens: Option<mpsc::Sender<()>>,
    entered: mpsc::Receiver<usize>,
    dropped: mpsc::Receiver<()>,
    _pool: BlockingPool,
}

impl Rig {
    fn new(fail_first: bool) -> Rig {
        let pool = BlockingPool::builder().max_threads(1).build();
        let data = Arc::new(Mutex::new(Vec::new()));
        let (tokens, rx) = mpsc::channel();
        let (entered_tx, entered) = mpsc::channel();
        let (dropped_tx, dropped) = mpsc::channel();
        let file = Gated {
            data: data.clone(),
            pos: 0,
            tokens: rx,
            entered: entered_tx,
            fail_first,
            dropped: Some(dropped_tx),
        };
        Rig {
            u: Unblock::new(file).file_mode().on_pool(&pool),
            data,
            tokens: Some(tokens),
            entered,
            dropped,
            _pool: pool,
        }
    }

    fn open_gate(&mut self) {
        self.tokens = None;
    }

    /// Writes `src` in 4 KiB writes with `cx` from `*at` on until one is `Pending` (`false`)
    /// or all of it is accepted (`true`).
    fn write_until_pending(&mut self, cx: &mut Context<'_>, src: &[u8], at: &mut usize) -> bool {
        while *at < src.len() {
            let end = (*at + 4 * K).min(src.len());
            match Pin::new(&mut self.u).poll_write(cx, &src[*at..end]) {
                Poll::Ready(n) => *at += n.expect("write failed"),
                Poll::Pending => return false,
            }
        }
        true
    }
}

/// Remembers that it was woken.
#[derive(Default)]
struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, SeqCst);
    }
}

fn data(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

/// Runs `f` on its own thread; fails the test if it takes longer than twice [`long`].
fn within(what: &str, f: impl FnOnce() + Send + 'static) {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        let _ = tx.send(r);
    });
    match rx.recv_timeout(long() * 2) {
        Ok(Ok(())) => {}
        Ok(Err(p)) => std::panic::resume_unwind(p),
        Err(_) => panic!("timed out: {what}"),
    }
}

#[test]
fn a_file_writer_runs_megabytes_ahead_of_a_stalled_write_and_no_further() {
    within("writing ahead of a stalled write", || {
        let mut r = Rig::new(false);
        let src = data(8 * WRITE_BEHIND_MAX);
        let flag = Arc::new(Flag::default());
        let waker = Waker::from(flag.clone());
        let mut cx = Context::from_waker(&waker);
        let mut at = 0;
        // The job's first write waits at the gate: everything after it queues up.
        assert!(!r.write_until_pending(&mut cx, &src, &mut at));
        assert!(
            at >= WRITE_BEHIND_MAX,
            "the writer stopped {at} bytes ahead of a stalled write"
        );
        // Bounded: the write buffer in flight plus the queue.
        assert!(
            at <= WRITE_BEHIND_MAX + WRITE_BUFFER_MAX,
            "ran {at} bytes ahead"
        );
        assert!(!flag.0.load(SeqCst));
        r.open_gate();
        block_on(async {
            r.u.write_all(&src[at..]).await.unwrap();
            r.u.flush().await.unwrap();
        });
        assert!(*r.data.lock().unwrap() == src, "bytes lost or reordered");
    });
}

#[test]
fn a_writer_ahead_of_the_disk_waits_once_per_half_queue() {
    within("counting the writer's waits", || {
        let mut r = Rig::new(false);
        let total = 2 * WRITE_BEHIND_MAX;
        let src = data(total);
        let flag = Arc::new(Flag::default());
        let waker = Waker::from(flag.clone());
        let mut cx = Context::from_waker(&waker);
        let (mut at, mut waits, mut sizes) = (0, 0, Vec::new());
        // Lockstep: each write the job enters is let through only after the writer ran as far
        // as it could, so the writer is always ahead of the disk. A write entered means every
        // wake-up from the job's earlier takes has happened.
        while !r.write_until_pending(&mut cx, &src, &mut at) {
            waits += 1;
            loop {
                sizes.push(r.entered.recv_timeout(long()).expect("no write entered"));
                let tokens = r.tokens.as_ref().unwrap();
                if flag.0.swap(false, SeqCst) {
                    tokens.send(()).unwrap();
                    break; // woken: write on
                }
                tokens.send(()).unwrap();
            }
        }
        r.open_gate();
        block_on(r.u.flush()).unwrap();
        sizes.extend(r.entered.try_iter());
        assert!(
            waits <= total / (WRITE_BEHIND_MAX / 2),
            "{waits} waits for {total} bytes"
        );
        assert!(*r.data.lock().unwrap() == src, "bytes lost or reordered");
        // Same `write` calls as without write-behind: growing to 128 KiB, then whole buffers.
        assert_eq!(
            &sizes[..6],
            [8 * K, 16 * K, 32 * K, 64 * K, 128 * K, 128 * K]
        );
        assert!(sizes.iter().all(|&s| s <= WRITE_BUFFER_MAX));
    });
}

/// Queues megabytes behind a stalled first write; returns the rig and the bytes accepted.
fn queued(fail_first: bool) -> (Rig, Vec<u8>) {
    let mut r = Rig::new(fail_first);
    let src = data(2 * WRITE_BEHIND_MAX);
    let waker = Waker::from(Arc::new(Flag::default()));
    let mut at = 0;
    r.write_until_pending(&mut Context::from_waker(&waker), &src, &mut at);
    r.entered
        .recv_timeout(long())
        .expect("the job never started");
    (r, src[..at].to_vec())
}

#[test]
fn dropping_a_file_with_a_deep_queue_writes_it_all_on_a_one_thread_pool() {
    within("drop with a deep queue", || {
        let (r, sent) = queued(false);
        let Rig {
            u,
            data,
            tokens,
            dropped,
            ..
        } = r;
        drop(u); // 8 KiB in flight at the gate, megabytes queued behind it
        drop(tokens); // the gate opens
        dropped
            .recv_timeout(long())
            .expect("the file was never dropped");
        assert!(*data.lock().unwrap() == sent, "bytes lost or reordered");
    });
}

#[test]
fn a_write_error_keeps_the_whole_queue_in_order() {
    within("write error with a deep queue", || {
        let (mut r, sent) = queued(true);
        r.open_gate();
        // Reported by the next write (which takes nothing), flush or close.
        let e = block_on(r.u.write(b"z")).unwrap_err();
        assert_eq!(e.to_string(), "disk on fire");
        block_on(r.u.close()).unwrap(); // nothing lost: the close writes it all
        assert!(*r.data.lock().unwrap() == sent, "bytes lost or reordered");
    });
}

#[test]
fn position_and_reads_are_logical_after_a_deep_write_behind() {
    within("seek and read after write-behind", || {
        let (mut r, sent) = queued(false);
        r.open_gate();
        let n = sent.len() as u64;
        block_on(async {
            assert_eq!(r.u.seek(SeekFrom::Current(0)).await.unwrap(), n);
            r.u.seek(SeekFrom::Start(n / 2)).await.unwrap();
            r.u.write_all(b"xyz").await.unwrap();
            r.u.seek(SeekFrom::Start(0)).await.unwrap();
            let mut back = Vec::new();
            r.u.read_to_end(&mut back).await.unwrap();
            let mut want = sent.clone();
            want[n as usize / 2..n as usize / 2 + 3].copy_from_slice(b"xyz");
            assert!(back == want, "read back differs");
        });
    });
}
