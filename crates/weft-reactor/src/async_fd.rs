//! `Async<T>`: an fd-backed I/O object registered in the reactor.

use std::fmt;
use std::future::{poll_fn, Future};
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

use crate::reactor::Reactor;
use crate::source::{Source, READ, WRITE};

/// An I/O object (socket, pipe, ...) registered in the weft reactor.
///
/// `Async::new` puts the descriptor in non-blocking mode and registers it. Operations are
/// optimistic: [`read_with`](Async::read_with) and [`write_with`](Async::write_with) first try the
/// syscall and wait for readiness only when it returns `WouldBlock`. The descriptor is removed from
/// the reactor on drop, *before* it is closed.
///
/// `AsyncRead`/`AsyncWrite` are implemented for `Async<T>` and `&Async<T>` when `&T` implements
/// `Read`/`Write`. They keep one waker per direction: use one reader and one writer task at a time
/// (a second concurrent reader takes the slot over and the first one is woken to re-check). The
/// [`readable`](Async::readable)/[`writable`](Async::writable) futures have no such limit.
///
/// ```
/// use std::net::{TcpListener, TcpStream};
/// use futures_lite::{AsyncReadExt, AsyncWriteExt};
/// use weft_reactor::{block_on, Async};
///
/// block_on(async {
///     let listener = Async::new(TcpListener::bind("127.0.0.1:0")?)?;
///     let addr = listener.get_ref().local_addr()?;
///     let mut client = Async::new(TcpStream::connect(addr)?)?;
///     let (server, _) = listener.read_with(|l| l.accept()).await?;
///     let mut server = Async::new(server)?;
///     client.write_all(b"hi").await?;
///     let mut buf = [0u8; 2];
///     server.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"hi");
///     std::io::Result::Ok(())
/// })
/// .unwrap();
/// ```
pub struct Async<T: AsFd> {
    source: Arc<Source>,
    io: Option<T>,
}

impl<T: AsFd> Unpin for Async<T> {}

impl<T: AsFd + fmt::Debug> fmt::Debug for Async<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Async").field("io", &self.io).finish()
    }
}

/// Sets `O_NONBLOCK` on a descriptor.
fn set_nonblocking(fd: BorrowedFd<'_>) -> io::Result<()> {
    let raw = fd.as_raw_fd();
    // SAFETY: `raw` is a valid open descriptor borrowed for the duration of this call; F_GETFL
    // takes no pointer arguments.
    let flags = unsafe { libc::fcntl(raw, libc::F_GETFL) };
    if flags == -1 {
        return Err(io::Error::last_os_error());
    }
    if flags & libc::O_NONBLOCK == 0 {
        // SAFETY: as above; F_SETFL takes an integer argument.
        let r = unsafe { libc::fcntl(raw, libc::F_SETFL, flags | libc::O_NONBLOCK) };
        if r == -1 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

impl<T: AsFd> Async<T> {
    /// Puts `io` in non-blocking mode and registers it in the reactor.
    ///
    /// Errors if the descriptor cannot be made non-blocking or cannot be registered. A
    /// registration error carries a [`RegisterError`](crate::RegisterError) saying what is
    /// wrong: a regular file or directory cannot be polled (use a blocking thread pool for it),
    /// a descriptor can be registered only once, or the OS poller could not be created.
    ///
    /// ```
    /// use weft_reactor::Async;
    /// let sock = Async::new(std::net::UdpSocket::bind("127.0.0.1:0")?)?;
    /// assert!(sock.get_ref().local_addr()?.port() > 0);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn new(io: T) -> io::Result<Async<T>> {
        set_nonblocking(io.as_fd())?;
        Self::new_nonblocking(io)
    }

    /// Registers `io`, which the caller has already put in non-blocking mode.
    ///
    /// A blocking descriptor here makes reads and writes block the thread; that is a logic error,
    /// not undefined behaviour.
    pub fn new_nonblocking(io: T) -> io::Result<Async<T>> {
        // A stream socket (TCP, Unix stream) is known drained/full after a short read/write,
        // which saves a syscall per operation; anything else (datagram, pipe, tty) is not.
        let stream = socket2::SockRef::from(&io).r#type().ok() == Some(socket2::Type::STREAM);
        let a = Self::register(io, true)?;
        Ok(if stream { a.mark_stream() } else { a })
    }

    /// Registers `io` (already non-blocking). `ready`: whether both directions start out
    /// ready (the first operation is simply tried) or wait for the poller's first edge.
    pub(crate) fn register(io: T, ready: bool) -> io::Result<Async<T>> {
        let source = Reactor::get()?.insert_io(io.as_fd(), ready)?;
        Ok(Async {
            source,
            io: Some(io),
        })
    }

    /// A shared reference to the inner I/O object.
    pub fn get_ref(&self) -> &T {
        self.io
            .as_ref()
            .expect("Async: inner I/O object present until drop")
    }

    /// A mutable reference to the inner I/O object.
    ///
    /// # Safety
    ///
    /// The caller must not replace or close the inner descriptor (e.g. `*a.get_mut() = other`):
    /// the reactor registered *this* descriptor and must remove it before it is closed.
    pub unsafe fn get_mut(&mut self) -> &mut T {
        self.io
            .as_mut()
            .expect("Async: inner I/O object present until drop")
    }

    /// Deregisters the I/O object and returns it (still in non-blocking mode).
    ///
    /// The object is never closed here. If the descriptor turns out not to be registered
    /// (`ENOENT`/`EBADF`, e.g. after [`get_mut`](Async::get_mut) swapped it), there was nothing
    /// to undo and the object is returned. Any other deregistration error is returned and the
    /// object is leaked rather than closed, since the poller may still watch its descriptor.
    pub fn into_inner(mut self) -> io::Result<T> {
        let io = self
            .io
            .take()
            .expect("Async: inner I/O object present until drop");
        let Some(reactor) = Reactor::existing() else {
            return Ok(io);
        };
        match reactor.remove_io(&self.source, io.as_fd()) {
            Ok(()) => Ok(io),
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::EBADF)) => Ok(io),
            Err(e) => {
                std::mem::forget(io);
                Err(e)
            }
        }
    }

    /// Waits until the I/O object is readable (or an error/hang-up is pending).
    ///
    /// Level-triggered (see [`poll_readable`](Async::poll_readable)): completes at once while
    /// unread data is pending. Cancel-safe: dropping the future only removes its waker. Another
    /// task may still consume the data first, so the next read can return `WouldBlock`.
    pub fn readable(&self) -> Readable<'_, T> {
        Readable {
            io: self,
            slot: None,
        }
    }

    /// Waits until the I/O object is writable (or an error/hang-up is pending).
    ///
    /// Cancel-safe, like [`readable`](Async::readable).
    pub fn writable(&self) -> Writable<'_, T> {
        Writable {
            io: self,
            slot: None,
        }
    }

    /// Poll-style readiness for reading, with one waker slot shared by all callers.
    ///
    /// Level-triggered: `Ready` means the descriptor is readable now (or has an error/hang-up
    /// pending), confirmed with a zero-timeout `poll(2)` when the reactor's cached readiness
    /// says so, so a loop of `poll_readable` + a read that hits `WouldBlock` never spins.
    pub fn poll_readable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.source.poll_level(READ, None, cx)
    }

    /// Poll-style readiness for writing, with one waker slot shared by all callers.
    /// Level-triggered, like [`poll_readable`](Async::poll_readable).
    pub fn poll_writable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.source.poll_level(WRITE, None, cx)
    }

    /// Declares the descriptor a stream socket, whose short reads and writes mean "drained" and
    /// "full" (internal: TCP and Unix streams).
    pub(crate) fn mark_stream(self) -> Self {
        self.source.mark_stream();
        self
    }

    /// Waits for the poller's next readiness edge in `dir` without probing the descriptor
    /// (internal: a connecting socket registered unready).
    pub(crate) async fn edge(&self, dir: usize) {
        let mut slot = None;
        let _ = poll_fn(|cx| self.source.poll_ready_slot(dir, &mut slot, cx)).await;
        self.source.cancel_slot(dir, &mut slot);
    }

    /// Runs `op` until it returns something other than `WouldBlock`, waiting for readability in
    /// between.
    ///
    /// Cancel-safe if `op` is: a cancelled call never ran `op` partially (each attempt is one
    /// synchronous call).
    ///
    /// ```
    /// use weft_reactor::{block_on, Async};
    /// block_on(async {
    ///     let a = Async::new(std::net::UdpSocket::bind("127.0.0.1:0")?)?;
    ///     let b = std::net::UdpSocket::bind("127.0.0.1:0")?;
    ///     b.send_to(b"ping", a.get_ref().local_addr()?)?;
    ///     let mut buf = [0u8; 8];
    ///     let (n, _) = a.read_with(|s| s.recv_from(&mut buf)).await?;
    ///     assert_eq!(&buf[..n], b"ping");
    ///     std::io::Result::Ok(())
    /// })
    /// .unwrap();
    /// ```
    pub async fn read_with<R>(&self, mut op: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        let mut retry = Retry::new(self, READ);
        poll_fn(|cx| retry.poll_with(cx, &mut op)).await
    }

    /// Runs `op` until it returns something other than `WouldBlock`, waiting for writability in
    /// between. Cancel-safe if `op` is (see [`read_with`](Async::read_with)).
    pub async fn write_with<R>(&self, mut op: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        let mut retry = Retry::new(self, WRITE);
        poll_fn(|cx| retry.poll_with(cx, &mut op)).await
    }
}

impl<T: AsFd> Drop for Async<T> {
    fn drop(&mut self) {
        if let Some(io) = self.io.take() {
            // Deregister while the descriptor is still open, then close it by dropping `io`.
            if let Some(r) = Reactor::existing() {
                let _ = r.remove_io(&self.source, io.as_fd());
            }
            drop(io);
        }
    }
}

impl<T: AsFd> AsFd for Async<T> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.get_ref().as_fd()
    }
}

impl<T: AsFd> AsRawFd for Async<T> {
    fn as_raw_fd(&self) -> RawFd {
        self.get_ref().as_fd().as_raw_fd()
    }
}

/// Future returned by [`Async::readable`].
#[must_use = "futures do nothing unless polled"]
pub struct Readable<'a, T: AsFd> {
    io: &'a Async<T>,
    slot: Option<usize>,
}

/// Future returned by [`Async::writable`].
#[must_use = "futures do nothing unless polled"]
pub struct Writable<'a, T: AsFd> {
    io: &'a Async<T>,
    slot: Option<usize>,
}

macro_rules! readiness_future {
    ($name:ident, $dir:expr) => {
        impl<T: AsFd> Future for $name<'_, T> {
            type Output = io::Result<()>;

            fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                let this = &mut *self;
                this.io.source.poll_level($dir, Some(&mut this.slot), cx)
            }
        }

        impl<T: AsFd> Drop for $name<'_, T> {
            fn drop(&mut self) {
                self.io.source.cancel_slot($dir, &mut self.slot);
            }
        }

        impl<T: AsFd> fmt::Debug for $name<'_, T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("registered", &self.slot.is_some())
                    .finish()
            }
        }
    };
}

readiness_future!(Readable, READ);
readiness_future!(Writable, WRITE);

/// Runs `op` while the direction is ready, waiting through the direction's single poll-style
/// waker slot when it returns `WouldBlock` (`poll_accept`). Never clears readiness on success.
pub(crate) fn poll_io<T: AsFd, R>(
    a: &Async<T>,
    dir: usize,
    cx: &mut Context<'_>,
    mut op: impl FnMut(&T) -> io::Result<R>,
) -> Poll<io::Result<R>> {
    let io = a.get_ref();
    a.source.poll_io(dir, cx, || op(io), |_| false)
}

/// A transfer of `n` of `len` bytes left the socket buffer drained (read) or full (write).
fn short(n: usize, len: usize) -> bool {
    0 < n && n < len
}

fn total_len<B: std::ops::Deref<Target = [u8]>>(bufs: &[B]) -> usize {
    bufs.iter().map(|b| b.len()).sum()
}

/// Retries an operation while it returns `WouldBlock`, waiting for readiness in one direction
/// through a future-style waker slot of its own (many tasks may wait on one source at once).
///
/// Backs `read_with`/`write_with` and the listeners' `incoming()` streams. Dropping it removes its
/// waker slot and nothing else, so a pending operation is cancel-safe if `op` is.
pub(crate) struct Retry<'a, T: AsFd> {
    io: &'a Async<T>,
    dir: usize,
    slot: Option<usize>,
}

impl<'a, T: AsFd> Retry<'a, T> {
    /// A retrier for `io` in direction `dir` (`READ` or `WRITE`), not registered yet.
    pub(crate) fn new(io: &'a Async<T>, dir: usize) -> Self {
        Retry {
            io,
            dir,
            slot: None,
        }
    }

    /// Runs `op` until it returns something other than `WouldBlock`, registering this retrier's
    /// waker slot whenever it has to wait.
    pub(crate) fn poll_with<R>(
        &mut self,
        cx: &mut Context<'_>,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let Retry { io, dir, slot } = self;
        let inner = io.get_ref();
        let res = io.source.poll_io_slot(*dir, slot, cx, || op(inner));
        if res.is_ready() {
            io.source.cancel_slot(*dir, slot);
        }
        res
    }
}

impl<T: AsFd> Drop for Retry<'_, T> {
    fn drop(&mut self) {
        self.io.source.cancel_slot(self.dir, &mut self.slot);
    }
}

impl<T: AsFd> AsyncRead for &Async<T>
where
    for<'a> &'a T: Read,
{
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let (len, mut io) = (buf.len(), self.get_ref());
        self.source
            .poll_io(READ, cx, || io.read(buf), |&n| short(n, len))
    }

    fn poll_read_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        let (len, mut io) = (total_len(bufs), self.get_ref());
        self.source
            .poll_io(READ, cx, || io.read_vectored(bufs), |&n| short(n, len))
    }
}

/// Same as for `&Async<T>`: an owned `Async<T>` reads through a shared reference.
impl<T: AsFd> AsyncRead for Async<T>
where
    for<'a> &'a T: Read,
{
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut &*self).poll_read(cx, buf)
    }

    fn poll_read_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut &*self).poll_read_vectored(cx, bufs)
    }
}

impl<T: AsFd> AsyncWrite for &Async<T>
where
    for<'a> &'a T: Write,
{
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let (len, mut io) = (buf.len(), self.get_ref());
        self.source
            .poll_io(WRITE, cx, || io.write(buf), |&n| short(n, len))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let (len, mut io) = (total_len(bufs), self.get_ref());
        self.source
            .poll_io(WRITE, cx, || io.write_vectored(bufs), |&n| short(n, len))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut io = self.get_ref();
        self.source.poll_io(WRITE, cx, || io.flush(), |_| false)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}

/// Same as for `&Async<T>`: an owned `Async<T>` writes through a shared reference.
impl<T: AsFd> AsyncWrite for Async<T>
where
    for<'a> &'a T: Write,
{
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut &*self).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut &*self).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut &*self).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut &*self).poll_close(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::Async;

    /// `Async::new` on a stream socket turns on the short-read rule (no `EAGAIN` read or
    /// confirming `poll(2)` after a read that drained the socket); on a datagram socket not.
    #[test]
    fn new_detects_stream_sockets() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let tcp = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let tcp = Async::new(tcp).unwrap();
        assert!(tcp.source.is_stream());
        let udp = Async::new(std::net::UdpSocket::bind("127.0.0.1:0").unwrap()).unwrap();
        assert!(!udp.source.is_stream());
    }
}
