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

use crate::pool::{BlockingPool, Unblocked};

/// Default buffer size of an [`Unblock`]: 8 KiB for I/O, 8192 items for iterators.
pub const DEFAULT_CAPACITY: usize = 8 * 1024;

type WriteFn<T> = fn(&mut T, &[u8]) -> io::Result<usize>;
type FlushFn<T> = fn(&mut T) -> io::Result<()>;
type RewindFn<T> = fn(&mut T, i64) -> io::Result<u64>;

/// The value and its buffers. It travels to a pool thread for each blocking operation and back.
struct Core<T> {
    io: Option<T>,
    cap: usize,
    rbuf: Vec<u8>,
    rpos: usize,
    /// Outcome of the last fill that produced no bytes: `Ok` = EOF, `Err` = read error.
    read_res: Option<io::Result<()>>,
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

    /// Drops unread read-ahead, moving a seekable value's cursor back over it.
    fn discard_read(&mut self) -> io::Result<()> {
        let unread = self.unread();
        self.rbuf.clear();
        self.rpos = 0;
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
    fn fill(&mut self) {
        self.rbuf.resize(self.cap, 0);
        self.rpos = 0;
        let io = self.io.as_mut().expect("Unblock: value already taken");
        loop {
            match io.read(&mut self.rbuf) {
                Ok(n) => {
                    self.rbuf.truncate(n);
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

enum State<T> {
    Idle(Box<Core<T>>),
    Busy(Unblocked<Box<Core<T>>>),
    Streaming(Arc<dyn PipeCtl>, Unblocked<Box<Core<T>>>),
    /// A blocking operation panicked and took the value with it.
    Lost,
}

/// Runs a blocking `Read`/`Write`/`Seek` value or an `Iterator` on the global blocking pool and
/// exposes it as [`AsyncRead`]/[`AsyncBufRead`]/[`AsyncWrite`]/[`AsyncSeek`] or [`Stream`].
///
/// Each blocking operation moves the value to a pool thread and back; no thread is held between
/// operations (except while an iterator is being streamed).
///
/// - **Reads** fill an internal buffer (8 KiB by default) with one `read` call when it is empty;
///   nothing is read ahead beyond that one call.
/// - **Writes** are copied into the buffer and written out when it is full, on
///   [`flush`](futures_lite::AsyncWriteExt::flush)/`close`, before a read or seek, and on drop:
///   dropping an `Unblock` with buffered bytes hands them to the pool, which writes and flushes
///   them in the background (call `flush().await` first to see errors and to know they landed).
/// - **Seeks** first write pending bytes and account for unread read-ahead, so the position is
///   the logical one.
/// - **Iterators** are pumped on a pool thread into a bounded queue (8192 items by default); the
///   pump holds one pool thread while the queue is full or `next()` blocks.
/// - **Cancel-safety:** all poll methods are cancel-safe: dropping a pending `read`/`write`
///   future loses nothing, because the in-flight operation finishes and its result (bytes read,
///   error) is kept for the next call. Reads and writes on the same value share one buffer:
///   a write after a read discards unread read-ahead (a seekable value created through
///   [`fs::File`](crate::fs::File) seeks back over it).
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
                wbuf: Vec::new(),
                write_err: None,
                needs_flush: false,
                seek_res: None,
                iter_done: false,
                writer: None,
                rewind: None,
            })),
            pool: BlockingPool::global().clone(),
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
        match &mut self.state {
            State::Idle(core) => core.io(),
            _ => panic!("Unblock: the value was lost because a blocking operation panicked"),
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
        if matches!(self.state, State::Lost) {
            panic!("Unblock: the value was lost because a blocking operation panicked");
        }
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
        match std::mem::replace(&mut self.state, State::Lost) {
            State::Idle(mut core) => {
                core.wbuf.clear();
                core.io.take().expect("Unblock: value already taken")
            }
            _ => panic!("Unblock: the value was lost because a blocking operation panicked"),
        }
    }

    pub(crate) fn set_rewind(&mut self, f: RewindFn<T>) {
        if let State::Idle(core) = &mut self.state {
            core.rewind = Some(f);
        }
    }

    /// Moves the core to a pool thread to run `op` on it.
    fn start(&mut self, op: impl FnOnce(&mut Core<T>) + Send + 'static) {
        let State::Idle(mut core) = std::mem::replace(&mut self.state, State::Lost) else {
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
            match std::mem::replace(&mut self.state, State::Lost) {
                State::Idle(core) => {
                    self.state = State::Idle(core);
                    return Poll::Ready(Ok(()));
                }
                State::Busy(mut job) => match Pin::new(&mut job).poll(cx) {
                    Poll::Pending => {
                        self.state = State::Busy(job);
                        return Poll::Pending;
                    }
                    Poll::Ready(core) => self.state = State::Idle(core),
                },
                State::Streaming(pipe, job) => {
                    pipe.close();
                    self.state = State::Busy(job);
                }
                State::Lost => {
                    return Poll::Ready(Err(io::Error::other(
                        "Unblock: the value was lost because a blocking operation panicked",
                    )))
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

use std::future::Future;

impl<T: Read + Send + 'static> AsyncRead for Unblock<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        loop {
            std::task::ready!(this.poll_idle(cx))?;
            let core = this.core();
            core.seek_res = None;
            let unread = core.unread();
            if unread > 0 {
                let n = unread.min(buf.len());
                buf[..n].copy_from_slice(&core.rbuf[core.rpos..core.rpos + n]);
                core.rpos += n;
                return Poll::Ready(Ok(n));
            }
            if let Some(res) = core.read_res.take() {
                return Poll::Ready(res.map(|()| 0));
            }
            if buf.is_empty() {
                return Poll::Ready(Ok(0));
            }
            if !core.wbuf.is_empty() && core.write_err.is_none() {
                this.start(Core::drain_writes);
                continue;
            }
            this.start(Core::fill);
        }
    }
}

impl<T: Read + Send + 'static> AsyncBufRead for Unblock<T> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let this = self.get_mut();
        loop {
            std::task::ready!(this.poll_idle(cx))?;
            let core = this.core();
            core.seek_res = None;
            if core.unread() > 0 {
                break;
            }
            if let Some(res) = core.read_res.take() {
                res?;
                break; // EOF: an empty slice
            }
            if !core.wbuf.is_empty() && core.write_err.is_none() {
                this.start(Core::drain_writes);
                continue;
            }
            this.start(Core::fill);
        }
        let core = this.core();
        Poll::Ready(Ok(&core.rbuf[core.rpos..]))
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        if let State::Idle(core) = &mut self.get_mut().state {
            core.rpos = (core.rpos + amt).min(core.rbuf.len());
        }
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
            let core = this.core();
            core.seek_res = None;
            core.writer.get_or_insert((write_fn::<T>, flush_fn::<T>));
            if let Some(e) = core.write_err.take() {
                return Poll::Ready(Err(e));
            }
            if core.unread() > 0 && core.rewind.is_some() {
                this.start(|core| {
                    if let Err(e) = core.discard_read() {
                        core.write_err = Some(e);
                    }
                });
                continue;
            }
            let _ = core.discard_read(); // no rewind: just forget the read-ahead
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
            let core = this.core();
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
            this.start(move |core| {
                let unread = core.unread() as i64;
                core.rbuf.clear();
                core.rpos = 0;
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
                            std::mem::replace(&mut this.state, State::Lost)
                        else {
                            unreachable!()
                        };
                        this.state = State::Busy(job2);
                    }
                }
            }
            match this.poll_idle(cx) {
                Poll::Pending => return Poll::Pending,
                // The iterator was lost to a panic: end the stream.
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
            let State::Idle(mut core) = std::mem::replace(&mut this.state, State::Lost) else {
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
        match std::mem::replace(&mut self.state, State::Lost) {
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
            State::Lost => {}
        }
    }
}

impl<T: Send + 'static> fmt::Debug for Unblock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Idle(_) => "idle",
            State::Busy(_) => "busy",
            State::Streaming(..) => "streaming",
            State::Lost => "lost",
        };
        f.debug_struct("Unblock").field("state", &state).finish()
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
    /// Marks the value as seekable so a write after a read seeks back over unread read-ahead.
    pub(crate) fn seekable(mut self) -> Unblock<T> {
        self.set_rewind(rewind_fn::<T>);
        self
    }
}
