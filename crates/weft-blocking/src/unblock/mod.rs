//! [`Unblock`]: blocking `Read`/`Write`/`Seek`/`Iterator` values as async I/O and streams.

mod async_io;
mod buffer;
mod duplex;
mod inline;
mod overflow;
mod pump;
mod read_ahead;
mod stdio;
#[cfg(test)]
mod tests;
mod wakers;
#[cfg(test)]
mod write_behind_tests;

/// What `overflow.rs` is written against (loom's types in its loom model).
mod sync {
    pub(super) use std::sync::{Arc, Mutex, MutexGuard};
}

use std::fmt;
use std::io::{self, Seek, SeekFrom, Write};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use crate::error::PoolError;
use crate::pool::{BlockingPool, Unblocked};

use buffer::{rewind_fn, Core, NowaitFn, RewindFn, WRITE_BUFFER_MAX};
use overflow::{CloseOnDrop, Overflow, WRITE_BEHIND_MAX};
use read_ahead::ReadSide;
use wakers::Waiters;

pub use duplex::Duplex;
pub use stdio::{stderr, stdin, stdout};

/// Default buffer size of an [`Unblock`]: 8 KiB for I/O, 8192 items for iterators.
pub const DEFAULT_CAPACITY: usize = 8 * 1024;

enum State<T> {
    Idle(Box<Core<T>>),
    Busy(Unblocked<Box<Core<T>>>),
    /// An iterator is being pumped into a queue (type-erased [`pump::Pipe`] of its items).
    Streaming(pump::Erased, Unblocked<Box<Core<T>>>),
    /// The value is gone: a blocking operation panicked and took it with it (`None`), or the
    /// pool never ran the operation (shut down, no thread), which dropped it.
    Lost(Option<PoolError>),
}

/// Why the value of an `Unblock` in state `Lost` is gone.
fn lost_message(why: &Option<PoolError>) -> String {
    match why {
        None => "Unblock: the value was lost because a blocking operation panicked".to_string(),
        Some(e) => format!("Unblock: the value was dropped because {e}"),
    }
}

fn lost_error(why: &Option<PoolError>) -> io::Error {
    match why {
        None => io::Error::other(lost_message(why)),
        Some(e) => e.clone().into(),
    }
}

/// Runs a blocking `Read`/`Write`/`Seek` value or an `Iterator` on the global blocking pool and
/// exposes it as [`AsyncRead`](futures_io::AsyncRead)/[`AsyncBufRead`](futures_io::AsyncBufRead)/[`AsyncWrite`](futures_io::AsyncWrite)/[`AsyncSeek`](futures_io::AsyncSeek) or [`Stream`](futures_core::Stream).
///
/// Each blocking operation moves the value to a pool thread and back; no thread is held between
/// operations (except while an iterator is being streamed).
///
/// - **Reads** fill an internal buffer (8 KiB by default) with one `read` call when it is empty;
///   nothing is read ahead beyond that one call. (The [`fs::File`](crate::fs::File) built on
///   this type grows its fills and reads ahead while read sequentially: see its docs.)
/// - **Writes** are copied into the buffer and written out when it is full (while a full buffer
///   is written on the pool, writes fill a second one of the same size instead of waiting, and
///   the same pool job writes that one next once it is full; an [`fs::File`](crate::fs::File)
///   written sequentially queues up to 1 MiB of full buffers that way), on
///   [`flush`](futures_lite::AsyncWriteExt::flush)/`close`, before a read or seek, and on drop:
///   dropping an `Unblock` with buffered bytes hands them to the pool, which writes and flushes
///   them in the background (call `flush().await` first to see errors and to know they landed).
/// - **Seeks** first write pending bytes and account for unread read-ahead (waiting for a fill
///   in flight), so the position is the logical one.
/// - **Iterators** are pumped on a pool thread into a bounded queue (8192 items by default); the
///   pump holds one pool thread while the queue is full or `next()` blocks.
/// - **Cancel-safety:** all poll methods are cancel-safe: dropping a pending `read`/`write`
///   future loses nothing, because the in-flight operation finishes and its result (bytes read,
///   error) is kept in the `Unblock` (never in the future) for the next call.
/// - **Duplex values:** reads and writes are separate streams, as on a socket, a pipe pair or a
///   tty: a write keeps the input already read into the buffer for the next read. On a seekable
///   value where a write must land at the read position, seek first (seeks are logical) or use
///   [`fs::File`](crate::fs::File), which moves the cursor back over unread read-ahead before a
///   write (and keeps the input on an unseekable file, a FIFO or tty).
/// - **One value, one operation at a time:** a write, flush or seek waits for a read that is in
///   flight on the pool. On a duplex stream whose peer answers only after our write, that read
///   never ends: use [`Unblock::duplex`] (separate read and write sides over a shared value),
///   which an unseekable [`fs::File`](crate::fs::File) (pty, FIFO, socket) does by itself.
///
/// ```
/// use futures_lite::{AsyncReadExt, StreamExt};
/// use weft_blocking::Unblock;
///
/// futures_lite::future::block_on(async {
///     let mut r = Unblock::new(std::io::Cursor::new(b"hello".to_vec()));
///     let mut s = String::new();
///     r.read_to_string(&mut s).await.unwrap();
///     assert_eq!(s, "hello");
///
///     let items: Vec<u32> = Unblock::new(1..=3).collect().await;
///     assert_eq!(items, [1, 2, 3]);
/// });
/// ```
pub struct Unblock<T: Send + 'static> {
    state: State<T>,
    pool: BlockingPool,
    rd: ReadSide,
    /// Duplex values ([`Unblock::duplex`], an unseekable `fs::File`): writes go to this
    /// separate write side, so they never wait for a read in flight.
    wr: Option<duplex::WriteSide>,
    /// Every task waiting for the pool job in flight (made on first wait): the halves of a
    /// split `Unblock` both wait for it, and each must be woken.
    waiters: Option<Arc<Waiters>>,
    /// Known not to seek (an `fs::File` on a FIFO, pty or socket): a seek fails at once with
    /// [`NotSeekable`](crate::NotSeekable), without waiting for a read in flight.
    unseekable: bool,
    /// While a write job is in flight: the buffers the writer fills meanwhile, which the job
    /// writes next (see `overflow.rs`).
    overflow: Option<Arc<Overflow>>,
    /// The last overflow's emptied buffer, reused by the next one.
    spare: Vec<u8>,
}

impl<T: Send + 'static> Unblock<T> {
    /// Wraps `io` with the default 8 KiB buffer (8192 items for an iterator).
    pub fn new(io: T) -> Unblock<T> {
        Unblock::with_capacity(DEFAULT_CAPACITY, io)
    }

    /// Wraps `io` with a buffer of `cap` bytes (or `cap` queued items for an iterator; at least 1).
    pub fn with_capacity(cap: usize, io: T) -> Unblock<T> {
        let cap = cap.max(1);
        Unblock {
            state: State::Idle(Box::new(Core {
                io: Some(io),
                cap,
                rbuf: Vec::new(),
                rpos: 0,
                read_res: None,
                last_fill_full: false,
                seekable: None,
                wbuf: Vec::new(),
                wcap: cap,
                wgrow: false,
                write_err: None,
                needs_flush: false,
                seek_res: None,
                iter_done: false,
                writer: None,
                rewind: None,
                nowait: None,
            })),
            pool: BlockingPool::global().clone(),
            rd: ReadSide::new(false),
            wr: None,
            waiters: None,
            unseekable: false,
            overflow: None,
            spare: Vec::new(),
        }
    }

    /// Runs the blocking operations on `pool` instead of the global pool.
    pub fn on_pool(mut self, pool: &BlockingPool) -> Unblock<T> {
        self.pool = pool.clone();
        if let Some(w) = self.wr.take() {
            self.wr = Some(Box::new(w.on_pool(pool)));
        }
        self
    }

    /// The buffer size given at construction.
    fn capacity(&self) -> usize {
        match &self.state {
            State::Idle(core) => core.cap,
            _ => DEFAULT_CAPACITY,
        }
    }

    /// Whether the write buffer grows while written sequentially (files).
    fn grow_writes(&mut self, on: bool) {
        if let State::Idle(core) = &mut self.state {
            core.wgrow = on;
        }
    }

    /// The core, if no operation is in flight.
    fn idle_core(&mut self) -> Option<&mut Core<T>> {
        match &mut self.state {
            State::Idle(core) => Some(core),
            _ => None,
        }
    }

    /// Waits for any in-flight operation (stopping an iterator pump, whose queued items are
    /// dropped) and returns the inner value. Buffered writes are *not* flushed and unread
    /// read-ahead stays buffered.
    ///
    /// **Cancel-safe.** Panics if an earlier blocking operation on this value panicked.
    pub async fn get_mut(&mut self) -> &mut T {
        futures_lite::future::poll_fn(|cx| self.poll_idle(cx).map(|_| ())).await;
        self.rd.reset(); // the caller may move the cursor: no read-ahead until reads resume
        match &mut self.state {
            State::Idle(core) => core.io(),
            State::Lost(why) => panic!("{}", lost_message(why)),
            _ => unreachable!("Unblock: not idle after poll_idle"),
        }
    }

    /// Runs `f` on the inner value on the pool and returns its result (the async form of
    /// [`get_mut`](Self::get_mut)). Buffered writes are written to the value first (a write
    /// error is kept and returned by the next write or flush).
    ///
    /// **Cancel-safety:** if dropped after `f` started, `f` still completes and its result is
    /// dropped; the value comes back for the next operation.
    pub async fn with_mut<R, F>(&mut self, f: F) -> R
    where
        F: FnOnce(&mut T) -> R + Send + 'static,
        R: Send + 'static,
    {
        futures_lite::future::poll_fn(|cx| self.poll_write_side_written(cx)).await;
        futures_lite::future::poll_fn(|cx| self.poll_idle(cx).map(|_| ())).await;
        if let State::Lost(why) = &self.state {
            panic!("{}", lost_message(why));
        }
        self.rd.reset();
        let slot: Arc<Mutex<Option<R>>> = Arc::new(Mutex::new(None));
        let out = slot.clone();
        self.start(move |core| {
            if core.write_err.is_none() {
                core.drain_writes();
            }
            let r = f(core.io());
            *out.lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
        });
        futures_lite::future::poll_fn(|cx| self.poll_idle(cx).map(|_| ())).await;
        let r = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
        r.expect("Unblock::with_mut: the closure panicked")
    }

    /// Waits for in-flight work, writes buffered bytes (errors are ignored: call `flush().await`
    /// first to see them) and returns the inner value. Unread read-ahead and queued iterator
    /// items are dropped.
    ///
    /// **Cancel-safe** (dropping the future drops the `Unblock`, which persists buffered writes).
    pub async fn into_inner(mut self) -> T {
        let _ = futures_lite::future::poll_fn(|cx| self.poll_flush_inner(cx)).await;
        futures_lite::future::poll_fn(|cx| self.poll_idle(cx).map(|_| ())).await;
        match std::mem::replace(&mut self.state, State::Lost(None)) {
            State::Idle(mut core) => {
                core.wbuf.clear();
                self.wr = None; // flushed above: lets go of a shared value (`Duplex`)
                core.io.take().expect("Unblock: value already taken")
            }
            State::Lost(why) => panic!("{}", lost_message(&why)),
            _ => unreachable!("Unblock: not idle after poll_idle"),
        }
    }

    pub(crate) fn set_rewind(&mut self, f: RewindFn<T>) {
        if let State::Idle(core) = &mut self.state {
            core.rewind = Some(f);
        }
    }

    /// Serves fills from the page cache on the caller's thread with `f` when it can (files).
    pub(crate) fn set_nowait(&mut self, f: NowaitFn<T>) {
        if let State::Idle(core) = &mut self.state {
            core.nowait = Some(f);
        }
    }

    /// Turns the caller's-thread fills of [`set_nowait`](Self::set_nowait) on or off.
    pub(crate) fn set_inline(&mut self, on: bool) {
        self.rd.inline = on;
    }

    /// Whether caller's-thread fills are allowed (see [`set_inline`](Self::set_inline)).
    pub(crate) fn inline_reads(&self) -> bool {
        self.rd.inline
    }

    /// The core and the reader's buffer; only while idle.
    fn idle_parts(&mut self) -> (&mut Core<T>, &mut ReadSide) {
        match &mut self.state {
            State::Idle(core) => (core, &mut self.rd),
            _ => unreachable!("Unblock::idle_parts called while not idle"),
        }
    }

    /// Moves the core to a pool thread to run `op` on it.
    fn start(&mut self, op: impl FnOnce(&mut Core<T>) + Send + 'static) {
        let State::Idle(mut core) = std::mem::replace(&mut self.state, State::Lost(None)) else {
            unreachable!("Unblock::start called while busy")
        };
        core.seek_res = None;
        self.state = State::Busy(self.pool.run(move || {
            op(&mut core);
            core
        }));
    }

    /// Starts writing the write buffer on the pool, with an overflow the writer fills meanwhile
    /// (see `overflow.rs`).
    fn start_drain(&mut self) {
        let State::Idle(mut core) = std::mem::replace(&mut self.state, State::Lost(None)) else {
            unreachable!("Unblock::start_drain called while busy")
        };
        core.seek_res = None;
        // A file written sequentially runs megabytes ahead; a plain value one buffer.
        let (grow_to, depth) = match core.wgrow {
            true => (WRITE_BUFFER_MAX.max(core.cap), WRITE_BEHIND_MAX),
            false => (core.wcap, 0),
        };
        let o = Overflow::new(std::mem::take(&mut self.spare), core.wcap, grow_to, depth);
        self.overflow = Some(o.clone());
        let mut job = DrainJob {
            core: Some(core),
            overflow: CloseOnDrop(o),
        };
        self.state = State::Busy(self.pool.run(move || {
            let core = job
                .core
                .as_mut()
                .expect("DrainJob: the core is there until the end");
            loop {
                core.drain_writes();
                let failed = !core.wbuf.is_empty(); // an error (kept in `write_err`)
                if !job.overflow.0.take_next(&mut core.wbuf, failed) {
                    break;
                }
            }
            // The buffers grew as they were queued, as the write buffer does without overlap.
            core.wcap = job.overflow.0.limit();
            job.core.take().expect("DrainJob: taken once")
        }));
    }

    /// While a write job is in flight: appends to its overflow (`None`: none open, wait for
    /// the job).
    fn poll_overflow(&mut self, cx: &Context<'_>, buf: &[u8]) -> Option<Poll<usize>> {
        match (&self.state, &self.overflow) {
            (State::Busy(_), Some(o)) => o.poll_append(cx, buf),
            _ => None,
        }
    }

    /// Waits until no operation is in flight; then `self.state` is `Idle`.
    fn poll_idle(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            match std::mem::replace(&mut self.state, State::Lost(None)) {
                State::Idle(core) => {
                    self.state = State::Idle(core);
                    return Poll::Ready(Ok(()));
                }
                State::Busy(mut job) => {
                    match job.poll_checked(&mut Context::from_waker(&self.job_waker(cx))) {
                        Poll::Pending => {
                            self.state = State::Busy(job);
                            return Poll::Pending;
                        }
                        Poll::Ready(Ok(core)) => self.state = State::Idle(core),
                        Poll::Ready(Err(why)) => self.state = State::Lost(Some(why)),
                    }
                    if let Some(o) = self.overflow.take() {
                        // Closed and emptied by the job (or lost with the value).
                        self.spare = Overflow::into_spare(o);
                    }
                }
                State::Streaming(pipe, job) => {
                    drop(pipe); // closes the queue: the pump stops and hands the value back
                    self.state = State::Busy(job);
                }
                State::Lost(why) => {
                    let err = lost_error(&why);
                    self.state = State::Lost(why);
                    return Poll::Ready(Err(err));
                }
            }
        }
    }

    /// The waker to poll the job in flight with: it wakes this task and every other task
    /// that waits for the same job (see `wakers.rs`).
    fn job_waker(&mut self, cx: &Context<'_>) -> Waker {
        self.waiters
            .get_or_insert_with(Default::default)
            .register(cx)
    }

    fn core(&mut self) -> &mut Core<T> {
        match &mut self.state {
            State::Idle(core) => core,
            _ => unreachable!("Unblock::core called while not idle"),
        }
    }

    fn poll_flush_inner(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(w) = &mut self.wr {
            // Duplex: only the write side writes; a read in flight is not waited for.
            return w.poll_flush_inner(cx);
        }
        loop {
            std::task::ready!(self.poll_idle(cx))?;
            let core = self.core();
            core.seek_res = None;
            if let Some(e) = core.write_err.take() {
                return Poll::Ready(Err(e));
            }
            if core.wbuf.is_empty() && !core.needs_flush {
                return Poll::Ready(Ok(()));
            }
            self.start(Core::flush_all);
        }
    }
}

/// A write job's core and overflow. Dropped with the core still in it (the pool dropped the job
/// unrun, as a shutdown does, or the write panicked), it moves the overflow's bytes into the
/// write buffer, after the unwritten ones, so the core's drop writes them all (the drop rule).
struct DrainJob<T> {
    core: Option<Box<Core<T>>>,
    overflow: CloseOnDrop,
}

impl<T> Drop for DrainJob<T> {
    fn drop(&mut self) {
        if let Some(mut core) = self.core.take() {
            self.overflow.0.take_next(&mut core.wbuf, true);
        }
    }
}

impl<T: Send + 'static> Drop for Unblock<T> {
    fn drop(&mut self) {
        match std::mem::replace(&mut self.state, State::Lost(None)) {
            State::Idle(core) => {
                if !core.wbuf.is_empty() && core.write_err.is_none() {
                    // Write the buffered bytes on the pool, not on this (async) thread.
                    self.pool.run(move || drop(core)).detach();
                }
            }
            State::Busy(job) => job.detach(),
            State::Streaming(pipe, job) => {
                drop(pipe); // closes the queue: the pump stops
                job.detach();
            }
            State::Lost(_) => {}
        }
    }
}

impl<T: Send + 'static> fmt::Debug for Unblock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Idle(_) => "idle",
            State::Busy(_) => "busy",
            State::Streaming(..) => "streaming",
            State::Lost(_) => "lost",
        };
        f.debug_struct("Unblock")
            .field("state", &state)
            .field("buffered", &self.rd.unread())
            .field("duplex", &self.wr.is_some())
            .finish()
    }
}

impl<T: Seek + Send + 'static> Unblock<T> {
    /// File mode: a write after a read seeks back over unread read-ahead, sequential reads grow
    /// their fills and read ahead (if the value turns out to be seekable), and sequential
    /// writes grow the write buffer.
    pub(crate) fn file_mode(mut self) -> Unblock<T> {
        self.set_rewind(rewind_fn::<T>);
        if let State::Idle(core) = &mut self.state {
            core.wgrow = true;
        }
        self.rd.adaptive = true;
        self
    }

    /// Records whether the value can seek (probed by the caller), so it is not probed again.
    pub(crate) fn set_seekable(&mut self, seekable: bool) {
        if let State::Idle(core) = &mut self.state {
            core.seekable = Some(seekable);
        }
        self.unseekable = !seekable;
    }

    /// Writes buffered bytes and, on a seekable value, moves the OS cursor back over unread
    /// read-ahead, so the OS state matches the logical one. An unseekable value keeps its
    /// unread input (there is no cursor to move).
    pub(crate) async fn settle(&mut self) -> io::Result<()>
    where
        T: Write,
    {
        futures_lite::future::poll_fn(|cx| self.poll_flush_inner(cx)).await?;
        if self.wr.is_some() {
            return Ok(()); // unseekable (duplex): no cursor to move, no read to wait for
        }
        futures_lite::future::poll_fn(|cx| self.poll_idle(cx)).await?;
        if self.core().unseekable() {
            return Ok(());
        }
        // A zero seek from the current position discards read-ahead and rewinds the cursor.
        futures_lite::AsyncSeekExt::seek(self, SeekFrom::Current(0)).await?;
        Ok(())
    }
}
