//! [`AsyncClose`]: resources whose cleanup awaits (flush, say goodbye, return a connection),
//! the `async def close(self)` / `__aexit__` of asyncio.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::Shutdown;

use futures_lite::AsyncWriteExt;

use crate::net::{TcpStream, UnixStream};

/// A resource that knows how to close itself asynchronously: `conn.close().await` in asyncio's
/// `finally:` or `__aexit__`.
///
/// `weft::using(resource, body)` (in `weft-executor`) runs `body` and then `close`, also when the
/// body fails, panics or is cancelled (then `close` continues as a shielded task). Implemented
/// for weft's [`TcpStream`] and [`UnixStream`] (flush, then shut down the write half so the peer
/// sees EOF), for `weft::fs::File` (flush) and for `weft::http::Response` (drain the body within
/// a budget so the connection can be reused, else close it).
///
/// The future is `Send + 'static`, because a cancelled scope hands it to another task.
///
/// ```
/// use weft_reactor::net::{TcpListener, TcpStream};
/// use weft_reactor::AsyncClose;
/// use futures_lite::{AsyncReadExt, AsyncWriteExt};
///
/// weft_reactor::block_on(async {
///     let l = TcpListener::bind("127.0.0.1:0")?;
///     let mut c = TcpStream::connect(l.local_addr()?).await?;
///     let (mut s, _) = l.accept().await?;
///     c.write_all(b"bye").await?;
///     c.close().await?; // flushed, and the peer reads EOF
///     let mut got = Vec::new();
///     s.read_to_end(&mut got).await?;
///     assert_eq!(got, b"bye");
///     std::io::Result::Ok(())
/// })
/// .unwrap();
/// ```
#[doc(alias = "aclose")]
#[doc(alias = "__aexit__")]
pub trait AsyncClose: Sized {
    /// What a failed close reports (an `io::Error` for streams and files).
    type Error: fmt::Display + Send + 'static;

    /// Closes the resource, awaiting whatever that takes. Consumes it: once closed it is gone.
    fn close(self) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static;
}

/// `shutdown(Write)`, where a peer that already went away is not an error.
fn shutdown_write(r: io::Result<()>) -> io::Result<()> {
    match r {
        Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
        r => r,
    }
}

impl AsyncClose for TcpStream {
    type Error = io::Error;

    /// Flushes, then shuts down the write half (the peer reads EOF); the socket closes when
    /// the stream drops at the end.
    async fn close(mut self) -> io::Result<()> {
        self.flush().await?;
        shutdown_write(self.shutdown(Shutdown::Write))
    }
}

impl AsyncClose for UnixStream {
    type Error = io::Error;

    /// Flushes, then shuts down the write half (the peer reads EOF).
    async fn close(mut self) -> io::Result<()> {
        self.flush().await?;
        shutdown_write(self.shutdown(Shutdown::Write))
    }
}
