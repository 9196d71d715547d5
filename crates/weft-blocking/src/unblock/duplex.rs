//! Duplex values (a socket, a pty, a FIFO opened read+write): reads and writes on separate
//! sides, so a write never waits for a read blocked on the pool.
//!
//! An [`Unblock`] moves its value to a pool thread for each operation, so a write issued while
//! a read is in flight would wait for that read; on a duplex stream whose peer answers only
//! after it got our write, that read never completes: a deadlock. A value whose reads and
//! writes work through a shared reference (`&UnixStream`, `&TcpStream`, `&File`) can be used
//! by two pool threads at once: the [`Unblock`] then keeps a second, write-only `Unblock` (the
//! *write side*) over the same value, and every write, flush and close goes there.

use std::fmt;
use std::io::{self, Read, Write};
use std::sync::Arc;
use std::task::{Context, Poll};

use super::Unblock;

/// The write side of a duplex [`Unblock`]: its own buffer and its own pool operations.
pub(super) type WriteSide = Box<Unblock<Box<dyn Write + Send + Sync>>>;

/// A value shared by the read and the write side of [`Unblock::duplex`]: it reads and writes
/// through `&T`, so a read and a write can run on two pool threads at once.
pub struct Duplex<T>(Arc<T>);

impl<T> Duplex<T> {
    /// The shared value.
    pub fn get_ref(&self) -> &T {
        &self.0
    }

    /// The value, if the write side let go of it (it does once the `Unblock` is gone, e.g.
    /// after [`Unblock::into_inner`]); `Err(self)` while a background write still holds it.
    pub fn into_inner(self) -> Result<T, Duplex<T>> {
        Arc::try_unwrap(self.0).map_err(Duplex)
    }
}

impl<T> fmt::Debug for Duplex<T>
where
    T: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Duplex").field(&self.0).finish()
    }
}

impl<T> Read for Duplex<T>
where
    for<'a> &'a T: Read,
{
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self.0).read(buf)
    }
}

impl<T> Write for Duplex<T>
where
    for<'a> &'a T: Write,
{
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self.0).write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        (&*self.0).flush()
    }
}

impl<T> Unblock<Duplex<T>>
where
    T: Send + Sync + 'static,
    for<'a> &'a T: Read + Write,
{
    /// Wraps a duplex value (a `UnixStream`, `TcpStream`, a pty or FIFO `std::fs::File`) with
    /// separate read and write sides: a write, flush or close never waits for a read that is
    /// blocked on the pool (with [`Unblock::new`] it would, and if the peer waits for that
    /// write before it sends anything, neither ever completes). Each side has its own 8 KiB
    /// buffer and runs its own pool operations; split it with `futures_lite::io::split` to
    /// read and write from two tasks.
    ///
    /// ```
    /// # #[cfg(unix)] {
    /// use futures_lite::{AsyncReadExt, AsyncWriteExt};
    /// use std::io::{Read, Write};
    /// let (ours, mut peer) = std::os::unix::net::UnixStream::pair()?;
    /// std::thread::spawn(move || {
    ///     let mut ping = [0u8; 4];
    ///     peer.read_exact(&mut ping)?;
    ///     peer.write_all(b"pong")
    /// });
    /// let (mut r, mut w) = futures_lite::io::split(weft_blocking::Unblock::duplex(ours));
    /// futures_lite::future::block_on(async {
    ///     let read = async {
    ///         let mut pong = [0u8; 4];
    ///         r.read_exact(&mut pong).await.map(|()| pong)
    ///     };
    ///     // The read above is blocked until the peer answers; the write still goes out.
    ///     let write = async { w.write_all(b"ping").await?; w.flush().await };
    ///     let (pong, sent) = futures_lite::future::zip(read, write).await;
    ///     sent?;
    ///     assert_eq!(&pong?, b"pong");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # }
    /// # std::io::Result::Ok(())
    /// ```
    pub fn duplex(io: T) -> Unblock<Duplex<T>> {
        let shared = Arc::new(io);
        let mut u = Unblock::new(Duplex(shared.clone()));
        u.split_writes(Box::new(Duplex(shared)), false);
        u
    }
}

impl<T: Send + 'static> Unblock<T> {
    /// Sends every write, flush and close of this `Unblock` to a write side over `w` (the
    /// same value, shared), so they never wait for a read in flight. `grow`: the write buffer
    /// grows while written sequentially, as a file's does.
    pub(crate) fn split_writes(&mut self, w: Box<dyn Write + Send + Sync>, grow: bool) {
        let mut side = Unblock::with_capacity(self.capacity(), w).on_pool(&self.pool);
        side.grow_writes(grow);
        self.wr = Some(Box::new(side));
    }

    /// Starts writing the write side's buffered bytes if it is idle, without waiting (a read
    /// about to wait for the peer must not keep our request back). Registers no waker: the
    /// task that next writes or flushes picks up the outcome.
    pub(super) fn kick_writes(&mut self) {
        if let Some(w) = &mut self.wr {
            w.start_drain_if_idle();
        }
    }

    /// Waits until the write side (if any) has written its buffered bytes to the value; a
    /// write error stays there for the next write or flush.
    pub(super) fn poll_write_side_written(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        match &mut self.wr {
            Some(w) => w.poll_written(cx),
            None => Poll::Ready(()),
        }
    }
}

/// The write side's own entry points, used by the duplex `Unblock` above.
impl<W: Write + Send + 'static> Unblock<W> {
    fn start_drain_if_idle(&mut self) {
        if let Some(core) = self.idle_core() {
            if !core.wbuf.is_empty() && core.write_err.is_none() {
                self.start(super::buffer::Core::drain_writes);
            }
        }
    }

    fn poll_written(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            if std::task::ready!(self.poll_idle(cx)).is_err() {
                return Poll::Ready(()); // the value is gone; the next write reports it
            }
            let core = self.core();
            if core.wbuf.is_empty() || core.write_err.is_some() {
                return Poll::Ready(());
            }
            self.start(super::buffer::Core::drain_writes);
        }
    }
}
