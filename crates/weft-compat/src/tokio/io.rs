//! Adapters between tokio's I/O traits and futures-io's.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use ::tokio::io::ReadBuf;

use crate::adapt::overlong;

pin_project_lite::pin_project! {
    /// A tokio `AsyncRead`/`AsyncWrite`/`AsyncBufRead` (a `tokio::net::TcpStream`, a tokio TLS
    /// stream, …) seen through futures-io's traits, the ones weft's I/O helpers use.
    ///
    /// `poll_close` is tokio's `poll_shutdown`. No tokio context is entered: an existing tokio
    /// socket can be polled from any thread (create it under [`Compat`](super::Compat)).
    ///
    /// ```
    /// use futures_lite::AsyncReadExt;
    /// use weft_compat::tokio::TokioToFutures;
    ///
    /// weft_executor::run(async {
    ///     let mut r = TokioToFutures::new(&b"hello"[..]); // &[u8] is a tokio AsyncRead
    ///     let mut s = String::new();
    ///     r.read_to_string(&mut s).await.unwrap();
    ///     assert_eq!(s, "hello");
    /// });
    /// ```
    #[derive(Debug)]
    pub struct TokioToFutures<T> {
        #[pin]
        inner: T,
    }
}

pin_project_lite::pin_project! {
    /// A futures-io `AsyncRead`/`AsyncWrite`/`AsyncBufRead` (a `weft::net::TcpStream`, a weft
    /// file, …) seen through tokio's traits, for libraries that take tokio I/O.
    ///
    /// `poll_shutdown` is futures-io's `poll_close`; `is_write_vectored` is `false` because
    /// futures-io cannot tell whether the inner `poll_write_vectored` really gathers.
    ///
    /// ```
    /// use tokio::io::AsyncReadExt;
    /// use weft_compat::tokio::FuturesToTokio;
    ///
    /// weft_executor::run(async {
    ///     let mut r = FuturesToTokio::new(futures_lite::io::Cursor::new(b"hi".to_vec()));
    ///     let mut s = String::new();
    ///     r.read_to_string(&mut s).await.unwrap();
    ///     assert_eq!(s, "hi");
    /// });
    /// ```
    #[derive(Debug)]
    pub struct FuturesToTokio<T> {
        #[pin]
        inner: T,
    }
}

wrapper_methods!(TokioToFutures);
wrapper_methods!(FuturesToTokio);

impl<T: ::tokio::io::AsyncRead> futures_io::AsyncRead for TokioToFutures<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut rb = ReadBuf::new(buf);
        let r = self.project().inner.poll_read(cx, &mut rb);
        r.map_ok(|()| rb.filled().len())
    }
}

impl<T: ::tokio::io::AsyncWrite> futures_io::AsyncWrite for TokioToFutures<T> {
    forward_write!(poll_close => poll_shutdown);
}

impl<T: ::tokio::io::AsyncBufRead> futures_io::AsyncBufRead for TokioToFutures<T> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        self.project().inner.poll_fill_buf(cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        self.project().inner.consume(amt);
    }
}

impl<T: futures_io::AsyncRead> ::tokio::io::AsyncRead for FuturesToTokio<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        // Zeroes only the part of the buffer that was never initialised (ReadBuf tracks it).
        let dst = buf.initialize_unfilled();
        let len = dst.len();
        match self.project().inner.poll_read(cx, dst) {
            Poll::Ready(Ok(n)) if n > len => Poll::Ready(Err(overlong(n, len))),
            Poll::Ready(Ok(n)) => {
                buf.advance(n);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: futures_io::AsyncWrite> ::tokio::io::AsyncWrite for FuturesToTokio<T> {
    forward_write!(poll_shutdown => poll_close);
}

impl<T: futures_io::AsyncBufRead> ::tokio::io::AsyncBufRead for FuturesToTokio<T> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        self.project().inner.poll_fill_buf(cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        self.project().inner.consume(amt);
    }
}
