//! [`Unblock`]: blocking `Read`/`Write`/`Seek`/`Iterator` values as async I/O and streams.

use std::any::Any;
use std::collections::VecDeque;
use std::fmt;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use futures_core::Stream;
use futures_io::{AsyncBufRead, AsyncRead, AsyncSeek, AsyncWrite};

use crate::error::PoolError;
use crate::pool::{BlockingPool, Unblocked};

/// Default buffer size of an [`Unblock`]: 8 KiB for I/O, 8192 items for iterators.
pub const DEFAULT_CAPACITY: usize = 8 * 1024;

/// Largest single read of a file being read sequentially (see [`fs::File`](crate::fs::File)).
pub(crate) const READ_AHEAD_MAX: usize = 128 * 1024;

/// Sequential fills (in a row, without a seek or write) after which a file reads ahead.
const READ_AHEAD_AFTER: u32 = 2;

type WriteFn<T> = fn(&mut T, &[u8]) -> io::Result<usize>;
type FlushFn<T> = fn(&mut T) -> io::Result<()>;
type RewindFn<T> = fn(&mut T, i64) -> io::Result<u64>;

/// The value and its buffers. It travels to a pool thread for each blocking operation and back.
struct Core<T> {
    io: Option<T>,
    cap: usize,
    /// The fill buffer: bytes `rbuf[rpos..]` were read from `io` and are not yet handed to the
    /// reader. They come logically *after* the reader's buffer ([`ReadSide`]): a filled `rbuf`
    /// is swapped into the reader's buffer once that one is used up.
    rbuf: Vec<u8>,
    rpos: usize,
    /// Outcome of the last fill that produced no bytes: `Ok` = EOF, `Err` = read error.
    read_res: Option<io::Result<()>>,
    /// Whether the last fill filled the whole buffer (a short read hints at EOF: no read-ahead).
    last_fill_full: bool,
    /// Whether `io` can seek (probed on the first fill of a value with `rewind`, `None` before
    /// and for plain values); read-ahead and rewinding are only done on seekable values.
    seekable: Option<bool>,
    wbuf: Vec<u8>,
    write_err: Option<io::Error>,
    needs_flush: bool,
    seek_res: Option<(SeekFrom, io::Result<u64>)>,
    iter_done: bool,
    /// Set by the first `poll_write`, so `Drop` can write buffered bytes without a `Write` bound.
    writer: Option<(WriteFn<T>, FlushFn<T>)>,
    /// Set for seekable values (files): moves the OS cursor back over unread read-ahead.
    rewind: Option<RewindFn<T>>,
}

fn write_fn<T: Write>(io: &mut T, buf: &[u8]) -> io::Result<usize> {
    io.write(buf)
}
fn flush_fn<T: Write>(io: &mut T) -> io::Result<()> {
    io.flush()
}
fn rewind_fn<T: Seek>(io: &mut T, by: i64) -> io::Result<u64> {
    io.seek(SeekFrom::Current(by))
}

impl<T> Core<T> {
    fn io(&mut self) -> &mut T {
        self.io.as_mut().expect("Unblock: value already taken")
    }

    fn unread(&self) -> usize {
        self.rbuf.len() - self.rpos
    }

    /// Writes the whole write buffer (on a pool thread). Errors are kept for the next write/flush.
    fn drain_writes(&mut self) {
        let Some((write, _)) = self.writer else {
            return;
        };
        let Some(io) = self.io.as_mut() else { return };
        while !self.wbuf.is_empty() {
            match write(io, &self.wbuf) {
                Ok(0) => {
                    self.write_err = Some(io::Error::new(
                        io::ErrorKind::WriteZero,
                        "failed to write buffered data",
                    ));
                    return;
                }
                Ok(n) => {
                    self.wbuf.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.write_err = Some(e);
                    return;
                }
            }
        }
    }

    fn flush_all(&mut self) {
        self.drain_writes();
        if self.write_err.is_some() {
            return;
        }
        if let (Some((_, flush)), Some(io)) = (self.writer, self.io.as_mut()) {
            match flush(io) {
                Ok(()) => self.needs_flush = false,
                Err(e) => self.write_err = Some(e),
            }
        } else {
            self.needs_flush = false;
        }
    }

    /// A file-mode value that turned out not to be seekable (a FIFO, tty, socket opened as a
    /// `fs::File`): its reads and writes are independent streams, so a write or failed seek
    /// must keep unread input instead of "rewinding" over it.
    fn unseekable(&self) -> bool {
        self.rewind.is_some() && self.seekable == Some(false)
    }

    /// Drops unread read-ahead (`front` bytes the reader's buffer held, then `rbuf`), moving a
    /// seekable value's cursor back over it.
    fn discard_read(&mut self, front: usize) -> io::Result<()> {
        let unread = front + self.unread();
        self.rpos = self.rbuf.len(); // keep the length: the next fill need not zero it again
        self.read_res = None;
        if unread > 0 {
            if let (Some(rewind), Some(io)) = (self.rewind, self.io.as_mut()) {
                rewind(io, -(unread as i64))?;
            }
        }
        Ok(())
    }
}

impl<T: Read> Core<T> {
    /// One `read` call of up to `size` bytes into `rbuf` (on a pool thread).
    fn fill(&mut self, size: usize) {
        if self.seekable.is_none() {
            if let (Some(rewind), Some(io)) = (self.rewind, self.io.as_mut()) {
                // A zero seek from the current position: fails (ESPIPE) on pipes, ttys, sockets.
                self.seekable = Some(rewind(io, 0).is_ok());
            }
        }
        // `rbuf` holds consumed bytes from an earlier fill: `resize` only zeroes the part beyond
        // its current length, so a reused buffer of the same size costs nothing to prepare.
        self.rbuf.resize(size, 0);
        self.rpos = 0;
        let io = self.io.as_mut().expect("Unblock: value already taken");
        loop {
            match io.read(&mut self.rbuf) {
                Ok(n) => {
                    self.rbuf.truncate(n);
                    self.last_fill_full = n == size;
                    if n == 0 {
                        self.read_res = Some(Ok(()));
                    }
                    return;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.rbuf.clear();
                    self.read_res = Some(Err(e));
                    return;
                }
            }
        }
    }
}

impl<T> Drop for Core<T> {
    fn drop(&mut self) {
        // Persist what was written but not flushed (like `BufWriter`'s drop). This runs on a
        // pool thread: `Unblock::drop` hands a dirty core to the pool.
        if !self.wbuf.is_empty() && self.write_err.is_none() {
            self.flush_all();
        }
    }
}

/// Bounded hand-off queue between an iterator pumped on a pool thread and the async consumer.
struct Pipe<I> {
    cap: usize,
    state: Mutex<PipeState<I>>,
    space: Condvar,
}

struct PipeState<I> {
    items: VecDeque<I>,
    done: bool,
    closed: bool,
    waker: Option<Waker>,
}

impl<I> Pipe<I> {
    fn lock(&self) -> MutexGuard<'_, PipeState<I>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Blocks while full; false if the consumer went away.
    fn push(&self, item: I) -> bool {
        let mut s = self.lock();
        while s.items.len() >= self.cap && !s.closed {
            s = self.space.wait(s).unwrap_or_else(|e| e.into_inner());
        }
        if s.closed {
            return false;
        }
        s.items.push_back(item);
        let w = s.waker.take();
        drop(s);
        if let Some(w) = w {
            w.wake();
        }
        true
    }

    fn finish(&self) {
        let mut s = self.lock();
        s.done = true;
        let w = s.waker.take();
        drop(s);
        if let Some(w) = w {
            w.wake();
        }
    }

    fn poll_pop(&self, cx: &mut Context<'_>) -> Poll<Option<I>> {
        let mut s = self.lock();
        if let Some(item) = s.items.pop_front() {
            if s.items.len() + 1 == self.cap {
                self.space.notify_one();
            }
            return Poll::Ready(Some(item));
        }
        if s.done {
            return Poll::Ready(None);
        }
        s.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

trait PipeCtl: Send + Sync {
    fn close(&self);
    fn as_any(&self) -> &dyn Any;
}

impl<I: Send + 'static> PipeCtl for Pipe<I> {
    fn close(&self) {
        let mut s = self.lock();
        s.closed = true;
        s.items.clear();
        drop(s);
        self.space.notify_all();
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The reader's side of the read buffer: it stays with the `Unblock` (never travels to the pool),
/// so buffered bytes can be consumed while the core is away reading ahead, and a dropped read
/// future never holds data.
struct ReadSide {
    /// Bytes `buf[pos..]` were read from the value and not yet consumed; they come first.
    buf: Vec<u8>,
    pos: usize,
    /// Files (`fs::File`) grow their fills and read ahead while read sequentially.
    adaptive: bool,
    /// Fills started in a row by sequential reads (reset by a seek, a write, EOF or an error).
    streak: u32,
    /// Size of the last fill of the current streak.
    size: usize,
}

impl ReadSide {
    fn unread(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Forgets the unread bytes (keeping the allocation) and returns how many there were.
    fn take_unread(&mut self) -> usize {
        let n = self.unread();
        self.pos = self.buf.len();
        self.reset();
        n
    }

    /// The access pattern changed: start the next streak small again.
    fn reset(&mut self) {
        self.streak = 0;
        self.size = 0;
    }

    /// Size of the next fill: `cap` for plain values; for files, doubling from `cap` up to
    /// [`READ_AHEAD_MAX`] while reads stay sequential, and at least the reader's buffer (`want`).
    fn next_fill(&mut self, want: usize, cap: usize) -> usize {
        if !self.adaptive {
            return cap;
        }
        self.streak = self.streak.saturating_add(1);
        let grown = if self.streak == 1 {
            cap
        } else {
            self.size.saturating_mul(2)
        };
        let size = grown
            .max(want.min(READ_AHEAD_MAX))
            .min(READ_AHEAD_MAX.max(cap))
            .max(cap);
        self.size = size;
        size
    }
}

enum State<T> {
    Idle(Box<Core<T>>),
    Busy(Unblocked<Box<Core<T>>>),
    Streaming(Arc<dyn PipeCtl>, Unblocked<Box<Core<T>>>),
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
/// exposes it as [`AsyncRead`]/[`AsyncBufRead`]/[`AsyncWrite`]/[`AsyncSeek`] or [`Stream`].
///
/// Each blocking operation moves the value to a pool thread and back; no thread is held between
/// operations (except while an iterator is being streamed).
///
/// - **Reads** fill an internal buffer (8 KiB by default) with one `read` call when it is empty;
///   nothing is read ahead beyond that one call. (The [`fs::File`](crate::fs::File) built on
///   this type grows its fills and reads ahead while read sequentially: see its docs.)
/// - **Writes** are copied into the buffer and written out when it is full, on
///   [`flush`](futures_lite::AsyncWriteExt::flush)/`close`, before a read or seek, and on drop:
///   dropping an `Unblock` with buffered bytes hands them to the pool, which writes and flushes
///   them in the background (call `flush().await` first to see errors and to know they landed).
/// - **Seeks** first write pending bytes and account for unread read-ahead (waiting for a fill
///   in flight), so the position is the logical one.
/// - **Iterators** are pumped on a pool thread into a bounded queue (8192 items by default); the
///   pump holds one pool thread while the queue is full or `next()` blocks.
/// - **Cancel-safety:** all poll methods are cancel-safe: dropping a pending `read`/`write`
///   future loses nothing, because the in-flight operation finishes and its result (bytes read,
///   error) is kept in the `Unblock` (never in the future) for the next call. Reads and writes
///   on the same value share one position: a write after a read discards unread read-ahead (a
///   seekable value created through [`fs::File`](crate::fs::File) seeks back over it).
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
                write_err: None,
                needs_flush: false,
                seek_res: None,
                iter_done: false,
                writer: None,
                rewind: None,
            })),
            pool: BlockingPool::global().clone(),
            rd: ReadSide {
                buf: Vec::new(),
                pos: 0,
                adaptive: false,
                streak: 0,
                size: 0,
            },
        }
    }

    /// Runs the blocking operations on `pool` instead of the global pool.
    pub fn on_pool(mut self, pool: &BlockingPool) -> Unblock<T> {
        self.pool = pool.clone();
        self
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

    /// Waits until no operation is in flight; then `self.state` is `Idle`.
    fn poll_idle(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            match std::mem::replace(&mut self.state, State::Lost(None)) {
                State::Idle(core) => {
                    self.state = State::Idle(core);
                    return Poll::Ready(Ok(()));
                }
                State::Busy(mut job) => match job.poll_checked(cx) {
                    Poll::Pending => {
                        self.state = State::Busy(job);
                        return Poll::Pending;
                    }
                    Poll::Ready(Ok(core)) => self.state = State::Idle(core),
                    Poll::Ready(Err(why)) => self.state = State::Lost(Some(why)),
                },
                State::Streaming(pipe, job) => {
                    pipe.close();
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

    fn core(&mut self) -> &mut Core<T> {
        match &mut self.state {
            State::Idle(core) => core,
            _ => unreachable!("Unblock::core called while not idle"),
        }
    }

    fn poll_flush_inner(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
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

impl<T: Read + Send + 'static> Unblock<T> {
    /// Makes unread bytes available in the reader's buffer (`Ok(true)`), or delivers the
    /// outcome of a fill that read nothing: EOF (`Ok(false)`) or the read error. Bytes, EOF and
    /// errors come out in the order the value produced them. `want` is the caller's buffer size.
    fn poll_front(&mut self, cx: &mut Context<'_>, want: usize) -> Poll<io::Result<bool>> {
        loop {
            if self.rd.unread() > 0 {
                // Served while a read-ahead may be in flight: no pool round trip.
                return Poll::Ready(Ok(true));
            }
            std::task::ready!(self.poll_idle(cx))?;
            let (core, rd) = self.idle_parts();
            core.seek_res = None;
            if core.unread() > 0 {
                // Hand the filled buffer to the reader; the used-up one becomes the fill buffer.
                std::mem::swap(&mut rd.buf, &mut core.rbuf);
                rd.pos = core.rpos;
                core.rpos = core.rbuf.len();
                let read_ahead = rd.adaptive
                    && rd.streak >= READ_AHEAD_AFTER
                    && core.seekable == Some(true)
                    && core.last_fill_full
                    && core.read_res.is_none()
                    && core.wbuf.is_empty();
                if read_ahead {
                    // Sequential reading of a file: fill the other buffer while this one is
                    // consumed. The bytes stay in this `Unblock` until read, sought or written
                    // over (which wait for the fill and account for it).
                    let size = rd.next_fill(0, core.cap);
                    self.start(move |core| core.fill(size));
                }
                return Poll::Ready(Ok(true));
            }
            if let Some(res) = core.read_res.take() {
                rd.reset();
                return Poll::Ready(res.map(|()| false));
            }
            if !core.wbuf.is_empty() && core.write_err.is_none() {
                self.start(Core::drain_writes);
                continue;
            }
            let size = rd.next_fill(want, core.cap);
            self.start(move |core| core.fill(size));
        }
    }
}

impl<T: Read + Send + 'static> AsyncRead for Unblock<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        if !std::task::ready!(this.poll_front(cx, buf.len()))? {
            return Poll::Ready(Ok(0));
        }
        let rd = &mut this.rd;
        let n = rd.unread().min(buf.len());
        buf[..n].copy_from_slice(&rd.buf[rd.pos..rd.pos + n]);
        rd.pos += n;
        Poll::Ready(Ok(n))
    }
}

impl<T: Read + Send + 'static> AsyncBufRead for Unblock<T> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let this = self.get_mut();
        if !std::task::ready!(this.poll_front(cx, 0))? {
            return Poll::Ready(Ok(&[])); // EOF
        }
        Poll::Ready(Ok(&this.rd.buf[this.rd.pos..]))
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        let rd = &mut self.get_mut().rd;
        rd.pos = (rd.pos + amt).min(rd.buf.len());
    }
}

impl<T: Write + Send + 'static> AsyncWrite for Unblock<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        loop {
            std::task::ready!(this.poll_idle(cx))?;
            let (core, rd) = this.idle_parts();
            core.seek_res = None;
            core.writer.get_or_insert((write_fn::<T>, flush_fn::<T>));
            if let Some(e) = core.write_err.take() {
                return Poll::Ready(Err(e));
            }
            if core.unseekable() {
                // A FIFO or tty: input and output are separate streams. Keep the unread input
                // for the next read (rewinding would fail with ESPIPE and lose it).
                rd.reset();
            } else if rd.unread() + core.unread() > 0 && core.rewind.is_some() {
                let front = rd.take_unread();
                // The write goes where the reader is, not after the read-ahead.
                this.start(move |core| {
                    if let Err(e) = core.discard_read(front) {
                        core.write_err = Some(e);
                    }
                });
                continue;
            } else {
                rd.take_unread();
                let _ = core.discard_read(0); // no rewind: just forget the read-ahead
            }
            if buf.is_empty() {
                return Poll::Ready(Ok(0));
            }
            if core.wbuf.len() < core.cap {
                let n = (core.cap - core.wbuf.len()).min(buf.len());
                if core.wbuf.capacity() == 0 {
                    core.wbuf.reserve_exact(core.cap);
                }
                core.wbuf.extend_from_slice(&buf[..n]);
                core.needs_flush = true;
                return Poll::Ready(Ok(n));
            }
            this.start(Core::drain_writes);
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_flush_inner(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_flush_inner(cx)
    }
}

impl<T: Seek + Send + 'static> AsyncSeek for Unblock<T> {
    fn poll_seek(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        pos: SeekFrom,
    ) -> Poll<io::Result<u64>> {
        let this = self.get_mut();
        loop {
            std::task::ready!(this.poll_idle(cx))?;
            let (core, rd) = this.idle_parts();
            if let Some((p, res)) = core.seek_res.take() {
                if p == pos {
                    return Poll::Ready(res);
                }
            }
            if !core.wbuf.is_empty() {
                if let Some(e) = core.write_err.take() {
                    return Poll::Ready(Err(e));
                }
                this.start(Core::drain_writes);
                continue;
            }
            if core.unseekable() {
                // The seek fails (ESPIPE) and must not take the unread input with it.
                rd.reset();
                this.start(move |core| {
                    let res = core.io().seek(pos);
                    core.seek_res = Some((pos, res));
                });
                continue;
            }
            // Unread bytes, in the reader's buffer and read ahead, are before the OS cursor.
            let front = rd.take_unread();
            this.start(move |core| {
                let unread = (front + core.unread()) as i64;
                core.rpos = core.rbuf.len();
                core.read_res = None;
                let target = match pos {
                    SeekFrom::Current(n) => n.checked_sub(unread).map(SeekFrom::Current),
                    p => Some(p),
                };
                let res = match target {
                    Some(t) => core.io().seek(t),
                    None => Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "invalid seek offset (overflow)",
                    )),
                };
                core.seek_res = Some((pos, res));
            });
        }
    }
}

impl<T> Stream for Unblock<T>
where
    T: Iterator + Send + 'static,
    T::Item: Send + 'static,
{
    type Item = T::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T::Item>> {
        let this = self.get_mut();
        loop {
            if let State::Streaming(pipe, _) = &mut this.state {
                let p = pipe
                    .as_any()
                    .downcast_ref::<Pipe<T::Item>>()
                    .expect("Unblock: pipe item type");
                match p.poll_pop(cx) {
                    Poll::Ready(Some(item)) => return Poll::Ready(Some(item)),
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(None) => {
                        // The pump finished: wait for it to hand the iterator back.
                        let State::Streaming(_, job2) =
                            std::mem::replace(&mut this.state, State::Lost(None))
                        else {
                            unreachable!()
                        };
                        this.state = State::Busy(job2);
                    }
                }
            }
            match this.poll_idle(cx) {
                Poll::Pending => return Poll::Pending,
                // The iterator was lost (a panic, or the pool never ran the pump): end the stream.
                Poll::Ready(Err(_)) => return Poll::Ready(None),
                Poll::Ready(Ok(())) => {}
            }
            let core = this.core();
            if core.iter_done {
                core.iter_done = false;
                return Poll::Ready(None);
            }
            let pipe = Arc::new(Pipe::<T::Item> {
                cap: core.cap,
                state: Mutex::new(PipeState {
                    items: VecDeque::new(),
                    done: false,
                    closed: false,
                    waker: None,
                }),
                space: Condvar::new(),
            });
            let feed = pipe.clone();
            let State::Idle(mut core) = std::mem::replace(&mut this.state, State::Lost(None))
            else {
                unreachable!()
            };
            let job = this.pool.run(move || {
                let io = core.io();
                loop {
                    match io.next() {
                        Some(item) => {
                            if !feed.push(item) {
                                break;
                            }
                        }
                        None => {
                            core.iter_done = true;
                            break;
                        }
                    }
                }
                feed.finish();
                core
            });
            this.state = State::Streaming(pipe, job);
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
                pipe.close();
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
            .finish()
    }
}

/// Standard input as an [`AsyncRead`]/[`AsyncBufRead`] (reads run on the blocking pool).
///
/// A read that was started keeps going in the background even if its future is dropped; the
/// bytes are kept in the buffer for the next read, so nothing is lost as long as the same
/// `Unblock` is used.
pub fn stdin() -> Unblock<io::Stdin> {
    Unblock::new(io::stdin())
}

/// Standard output as an [`AsyncWrite`]. Writes are buffered (8 KiB): call `flush().await`
/// to make them visible; on drop, buffered bytes are written in the background.
pub fn stdout() -> Unblock<io::Stdout> {
    Unblock::new(io::stdout())
}

/// Standard error as an [`AsyncWrite`]. Writes are buffered (8 KiB) like [`stdout`].
pub fn stderr() -> Unblock<io::Stderr> {
    Unblock::new(io::stderr())
}

impl<T: Seek + Send + 'static> Unblock<T> {
    /// File mode: a write after a read seeks back over unread read-ahead, and sequential reads
    /// grow their fills and read ahead (if the value turns out to be seekable).
    pub(crate) fn file_mode(mut self) -> Unblock<T> {
        self.set_rewind(rewind_fn::<T>);
        self.rd.adaptive = true;
        self
    }

    /// Writes buffered bytes and, on a seekable value, moves the OS cursor back over unread
    /// read-ahead, so the OS state matches the logical one. An unseekable value keeps its
    /// unread input (there is no cursor to move).
    pub(crate) async fn settle(&mut self) -> io::Result<()>
    where
        T: Write,
    {
        futures_lite::future::poll_fn(|cx| self.poll_flush_inner(cx)).await?;
        futures_lite::future::poll_fn(|cx| self.poll_idle(cx)).await?;
        if self.core().unseekable() {
            return Ok(());
        }
        // A zero seek from the current position discards read-ahead and rewinds the cursor.
        futures_lite::AsyncSeekExt::seek(self, SeekFrom::Current(0)).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io::{self, Read, Seek, SeekFrom};
    use std::sync::{mpsc, Arc, Mutex};
    use std::task::{Context, Poll, Waker};
    use std::time::Duration;

    use futures_lite::future::{block_on, poll_fn};
    use futures_lite::{AsyncReadExt, AsyncSeekExt};

    use super::{State, Unblock, DEFAULT_CAPACITY, READ_AHEAD_MAX};

    const K: usize = 1024;

    /// A seekable in-memory file that logs every `read` call as (position, buffer length), can
    /// fail once at a position, and can make each `read` wait for a token.
    struct Mock {
        data: Vec<u8>,
        pos: u64,
        log: Arc<Mutex<Vec<(u64, usize)>>>,
        fail_at: Option<u64>,
        gate: Option<mpsc::Receiver<()>>,
        /// Seeks fail like a pipe's (ESPIPE).
        unseekable: bool,
    }

    impl Read for Mock {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if let Some(g) = &self.gate {
                if g.recv_timeout(Duration::from_secs(10)).is_err() {
                    return Err(io::Error::new(io::ErrorKind::TimedOut, "gate: no token"));
                }
            }
            self.log.lock().unwrap().push((self.pos, buf.len()));
            let mut end = self.data.len() as u64;
            if let Some(f) = self.fail_at {
                if self.pos == f {
                    self.fail_at = None;
                    return Err(io::Error::other("boom"));
                }
                if self.pos < f {
                    end = end.min(f);
                }
            }
            let start = self.pos.min(end) as usize;
            let n = buf.len().min(end as usize - start);
            buf[..n].copy_from_slice(&self.data[start..start + n]);
            self.pos += n as u64;
            Ok(n)
        }
    }

    impl Seek for Mock {
        fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
            if self.unseekable {
                return Err(io::Error::new(io::ErrorKind::NotSeekable, "illegal seek"));
            }
            let to = match pos {
                SeekFrom::Start(n) => n as i64,
                SeekFrom::Current(n) => self.pos as i64 + n,
                SeekFrom::End(n) => self.data.len() as i64 + n,
            };
            if to < 0 {
                return Err(io::Error::new(io::ErrorKind::InvalidInput, "negative"));
            }
            self.pos = to as u64;
            Ok(self.pos)
        }
    }

    fn data(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 13 % 251) as u8).collect()
    }

    type Log = Arc<Mutex<Vec<(u64, usize)>>>;

    fn mock(n: usize) -> (Mock, Log) {
        let log = Log::default();
        let m = Mock {
            data: data(n),
            pos: 0,
            log: log.clone(),
            fail_at: None,
            gate: None,
            unseekable: false,
        };
        (m, log)
    }

    fn read_4k(u: &mut Unblock<Mock>) -> Vec<u8> {
        let mut buf = [0u8; 4 * K];
        let n = block_on(u.read(&mut buf)).unwrap();
        buf[..n].to_vec()
    }

    /// Waits for the in-flight fill and returns (reader's buffered bytes, read-ahead bytes).
    fn settle(u: &mut Unblock<Mock>) -> (usize, usize) {
        block_on(poll_fn(|cx| u.poll_idle(cx))).unwrap();
        let State::Idle(core) = &u.state else {
            unreachable!()
        };
        (u.rd.unread(), core.unread())
    }

    #[test]
    fn file_mode_grows_fills_and_reads_ahead_once_sequential() {
        let (m, log) = mock(2 * READ_AHEAD_MAX + 5 * K);
        let src = m.data.clone();
        let mut u = Unblock::new(m).file_mode();
        let mut got = Vec::new();
        for _ in 0..3 {
            got.extend(read_4k(&mut u)); // 8 KiB fill (2 reads), then a 16 KiB fill
        }
        // The 16 KiB fill was the second in a row: the next 32 KiB are read ahead while only
        // 12 KiB have been consumed.
        assert_eq!(settle(&mut u), (12 * K, 32 * K));
        assert_eq!(
            *log.lock().unwrap(),
            [(0, 8 * K), (8 * K as u64, 16 * K), (24 * K as u64, 32 * K)]
        );
        loop {
            let chunk = read_4k(&mut u);
            if chunk.is_empty() {
                break;
            }
            got.extend(chunk);
        }
        assert_eq!(got, src);
        let sizes: Vec<usize> = log.lock().unwrap().iter().map(|r| r.1).collect();
        assert_eq!(&sizes[..5], [8 * K, 16 * K, 32 * K, 64 * K, 128 * K]);
        assert!(sizes.iter().all(|&s| s <= READ_AHEAD_MAX));
        assert_eq!(*sizes.last().unwrap(), READ_AHEAD_MAX);
    }

    /// A pipe, tty or socket opened as a `fs::File`: a read-ahead could wait for a peer forever,
    /// and a write on the same file would wait for it.
    #[test]
    fn unseekable_file_never_reads_ahead() {
        let (mut m, log) = mock(300 * K);
        m.unseekable = true;
        let src = m.data.clone();
        let mut u = Unblock::new(m).file_mode();
        let mut got = Vec::new();
        loop {
            let chunk = read_4k(&mut u);
            assert_eq!(settle(&mut u).1, 0, "read ahead at {}", got.len());
            if chunk.is_empty() {
                break;
            }
            got.extend(chunk);
        }
        assert_eq!(got, src);
        // Fills still grow (one `read` call each never waits longer for being larger).
        assert_eq!(log.lock().unwrap()[4], (120 * K as u64, 128 * K));
    }

    #[test]
    fn plain_unblock_never_reads_ahead() {
        let (m, log) = mock(100 * K);
        let mut u = Unblock::new(m);
        for _ in 0..10 {
            assert_eq!(read_4k(&mut u).len(), 4 * K);
        }
        assert_eq!(settle(&mut u), (0, 0));
        assert!(log.lock().unwrap().iter().all(|r| r.1 == DEFAULT_CAPACITY));
        assert_eq!(log.lock().unwrap().len(), 5);
    }

    #[test]
    fn random_access_does_not_read_ahead() {
        let (m, log) = mock(1000 * K);
        let src = m.data.clone();
        let mut u = Unblock::new(m).file_mode();
        for i in 0..6u64 {
            let at = i * 100_000;
            assert_eq!(block_on(u.seek(SeekFrom::Start(at))).unwrap(), at);
            let mut b = [0u8; 100];
            block_on(u.read_exact(&mut b)).unwrap();
            assert_eq!(&b[..], &src[at as usize..at as usize + 100]);
        }
        assert_eq!(settle(&mut u), (8 * K - 100, 0));
        let log = log.lock().unwrap();
        assert_eq!(log.len(), 6);
        assert!(log.iter().all(|r| r.1 == DEFAULT_CAPACITY));
    }

    #[test]
    fn read_ahead_then_seek_is_logical() {
        let (m, _log) = mock(600 * K);
        let src = m.data.clone();
        let mut u = Unblock::new(m).file_mode();
        for _ in 0..50 {
            read_4k(&mut u); // 200 KiB: fills of 8..128 KiB, one in flight or buffered
        }
        assert_eq!(
            block_on(u.seek(SeekFrom::Current(0))).unwrap(),
            200 * K as u64
        );
        assert_eq!(read_4k(&mut u), &src[200 * K..204 * K]);
        for _ in 0..40 {
            read_4k(&mut u); // get a new streak going
        }
        let pos = 364 * K;
        assert_eq!(
            block_on(u.seek(SeekFrom::Current(-100))).unwrap(),
            pos as u64 - 100
        );
        assert_eq!(read_4k(&mut u), &src[pos - 100..pos - 100 + 4 * K]);
        let State::Idle(core) = &mut u.state else {
            unreachable!()
        };
        assert_eq!(
            core.io().pos,
            (pos - 100 + 8 * K) as u64,
            "one plain fill after a seek"
        );
    }

    #[test]
    fn read_error_comes_after_the_bytes_before_it_then_reading_resumes() {
        let (mut m, _log) = mock(700 * K);
        let src = m.data.clone();
        let fail = 300_001;
        m.fail_at = Some(fail as u64);
        let mut u = Unblock::new(m).file_mode();
        let mut got = Vec::new();
        let mut buf = [0u8; 4 * K];
        let err = loop {
            match block_on(u.read(&mut buf)) {
                Ok(0) => panic!("EOF before the error"),
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) => break e,
            }
        };
        assert_eq!(got, &src[..fail], "every byte before the error, in order");
        assert_eq!(err.to_string(), "boom");
        got.clear();
        block_on(u.read_to_end(&mut got)).unwrap();
        assert_eq!(got, &src[fail..]);
    }

    #[test]
    fn dropped_read_during_read_ahead_loses_nothing_and_seek_waits_for_it() {
        let (mut m, log) = mock(200 * K);
        let src = m.data.clone();
        let (tx, rx) = mpsc::channel();
        m.gate = Some(rx);
        let mut u = Unblock::new(m).file_mode();
        tx.send(()).unwrap();
        tx.send(()).unwrap();
        let mut got = Vec::new();
        for _ in 0..6 {
            got.extend(read_4k(&mut u)); // all of the 8 + 16 KiB fills, no third token yet
        }
        assert_eq!(got, &src[..24 * K]);
        // The 32 KiB read-ahead waits for a token: the next read is pending. Drop it.
        {
            let mut buf = [0u8; 4 * K];
            let mut fut = u.read(&mut buf);
            let mut cx = Context::from_waker(Waker::noop());
            assert!(std::pin::Pin::new(&mut fut).poll(&mut cx).is_pending());
        }
        tx.send(()).unwrap();
        assert_eq!(read_4k(&mut u), &src[24 * K..28 * K]);
        // The next read-ahead (64 KiB at 56 KiB) is in flight, blocked: a seek waits for it and
        // accounts for it.
        {
            let mut fut = u.seek(SeekFrom::Current(0));
            let mut cx = Context::from_waker(Waker::noop());
            assert!(std::pin::Pin::new(&mut fut).poll(&mut cx).is_pending());
            tx.send(()).unwrap();
            assert_eq!(block_on(fut).unwrap(), 28 * K as u64);
        }
        assert_eq!(log.lock().unwrap().last(), Some(&(56 * K as u64, 64 * K)));
        tx.send(()).unwrap();
        assert_eq!(read_4k(&mut u), &src[28 * K..32 * K]);
    }

    use std::future::Future;

    #[test]
    fn empty_read_is_ok_zero() {
        let (m, _) = mock(10);
        let mut u = Unblock::new(m).file_mode();
        let mut cx = Context::from_waker(Waker::noop());
        let mut empty = [0u8; 0];
        let mut fut = u.read(&mut empty);
        assert!(matches!(
            std::pin::Pin::new(&mut fut).poll(&mut cx),
            Poll::Ready(Ok(0))
        ));
    }
}
