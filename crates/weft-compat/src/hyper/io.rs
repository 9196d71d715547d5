//! `hyper::rt::Read`/`Write` for futures-io streams.

use std::fmt;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

use crate::adapt::overlong;

/// The largest read handed to the inner stream at once (hyper's buffers start at 8 KiB and grow
/// while reads fill them).
const MAX_READ: usize = 64 * 1024;

pin_project_lite::pin_project! {
    /// Makes any futures-io `AsyncRead`/`AsyncWrite` stream (for instance
    /// `weft::net::TcpStream`, `weft::net::UnixStream`, a TLS stream) usable by hyper, which
    /// wants [`hyper::rt::Read`] and [`hyper::rt::Write`].
    ///
    /// # Reads
    ///
    /// hyper reads into uninitialised memory, futures-io into an initialised `&mut [u8]`. This
    /// wrapper reads into a scratch buffer of its own (allocated on the first read, sized to
    /// what hyper asks for, at most 64 KiB) and copies the bytes received into hyper's buffer.
    /// That costs a copy of the bytes actually read, never a zeroing of hyper's whole buffer,
    /// and nothing when the read would block; it needs no `unsafe` code.
    ///
    /// # Writes
    ///
    /// `poll_shutdown` is futures-io's `poll_close`. hyper asks [`is_write_vectored`] to choose
    /// between gathering writes (`writev` of head and body) and copying the body behind the head
    /// in one buffer; futures-io cannot tell whether a stream's `poll_write_vectored` is real, so
    /// the answer is `false` unless [`with_vectored_writes`](HyperIo::with_vectored_writes)
    /// says otherwise (`weft::net::TcpStream` has a real one).
    ///
    /// [`is_write_vectored`]: ::hyper::rt::Write::is_write_vectored
    ///
    /// ```no_run
    /// # async fn f() -> std::io::Result<()> {
    /// use weft_compat::hyper::HyperIo;
    ///
    /// let stream = weft_reactor::net::TcpStream::connect("127.0.0.1:8080").await?;
    /// let io = HyperIo::new(stream).with_vectored_writes(true);
    /// # let _ = io; Ok(()) }
    /// ```
    pub struct HyperIo<T> {
        #[pin]
        inner: T,
        scratch: Vec<u8>,
        vectored: bool,
    }
}

impl<T> HyperIo<T> {
    /// Wraps `inner`.
    pub fn new(inner: T) -> HyperIo<T> {
        HyperIo {
            inner,
            scratch: Vec::new(),
            vectored: false,
        }
    }

    /// Tells hyper whether `inner`'s `poll_write_vectored` really gathers several buffers in one
    /// write (default `false`: hyper then copies small bodies behind the head, one write).
    pub fn with_vectored_writes(mut self, on: bool) -> HyperIo<T> {
        self.vectored = on;
        self
    }

    /// The wrapped stream.
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// The wrapped stream, mutably.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// Unwraps the stream.
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T: AsyncRead> ::hyper::rt::Read for HyperIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ::hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.project();
        let want = buf.remaining().min(MAX_READ);
        if want == 0 {
            return Poll::Ready(Ok(()));
        }
        if this.scratch.len() < want {
            this.scratch.resize(want, 0);
        }
        let scratch = &mut this.scratch[..want];
        let n = match this.inner.poll_read(cx, scratch) {
            Poll::Ready(Ok(n)) => n,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        };
        // A reader that claims more than the buffer it was given is broken; do not panic on it.
        let Some(read) = scratch.get(..n) else {
            return Poll::Ready(Err(overlong(n, want)));
        };
        buf.put_slice(read);
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite> ::hyper::rt::Write for HyperIo<T> {
    forward_write!(poll_shutdown => poll_close);

    fn is_write_vectored(&self) -> bool {
        self.vectored
    }
}

impl<T: fmt::Debug> fmt::Debug for HyperIo<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HyperIo")
            .field("inner", &self.inner)
            .field("vectored", &self.vectored)
            .finish()
    }
}

pin_project_lite::pin_project! {
    /// hyper I/O ([`hyper::rt::Read`] + [`hyper::rt::Write`]) seen through futures-io's
    /// `AsyncRead`/`AsyncWrite`: typically the `hyper::upgrade::Upgraded` connection of a
    /// WebSocket or CONNECT request, to use with weft's I/O helpers. `poll_close` is hyper's
    /// `poll_shutdown`. The reverse of [`HyperIo`].
    ///
    /// ```
    /// use futures_lite::AsyncReadExt;
    /// use weft_compat::hyper::{HyperIo, HyperToFutures};
    ///
    /// weft_executor::run(async {
    ///     let hyper_side = HyperIo::new(futures_lite::io::Cursor::new(b"round trip".to_vec()));
    ///     let mut back = HyperToFutures::new(hyper_side);
    ///     let mut s = String::new();
    ///     back.read_to_string(&mut s).await.unwrap();
    ///     assert_eq!(s, "round trip");
    /// });
    /// ```
    #[derive(Debug)]
    pub struct HyperToFutures<T> {
        #[pin]
        inner: T,
    }
}

wrapper_methods!(HyperToFutures);

impl<T: ::hyper::rt::Read> AsyncRead for HyperToFutures<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut rb = ::hyper::rt::ReadBuf::new(buf);
        let r = self.project().inner.poll_read(cx, rb.unfilled());
        r.map_ok(|()| rb.filled().len())
    }
}

impl<T: ::hyper::rt::Write> AsyncWrite for HyperToFutures<T> {
    forward_write!(poll_close => poll_shutdown);
}
