//! A TLS client stream over any [`Transport`] (TCP, or TLS to an https proxy), doing its I/O
//! through the same reactor path as plain connections.
//!
//! Ciphertext is read with the transport's own `poll_read` (the reactor trusts its readiness
//! cache and clears it on a short read, so a drained socket costs neither an `EAGAIN` read nor
//! a confirming `poll(2)`) into an adaptive [`ReadBuf`] like the connection's own, then handed
//! to rustls from memory. Records are written with the transport's vectored write.

use std::future::poll_fn;
use std::io::{self, IoSlice, Read, Write};
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection};

use super::tls::classify;
use crate::error::{Error, ErrorKind};
use crate::proto::h1::io::{ReadBuf, Socket, Transport};

/// A TLS client stream.
pub(crate) struct TlsStream {
    io: Transport,
    tls: ClientConnection,
    /// Ciphertext read from `io` that rustls has not taken yet.
    cipher: ReadBuf,
}

fn tls_io_err(e: rustls::Error) -> io::Error {
    let kind = classify(&e);
    io::Error::other(Error::new(ErrorKind::Tls(kind)).with_source(e))
}

/// `std::io::Write` for rustls over a transport: `Pending` becomes `WouldBlock` (the waker, if
/// there is a context, is registered by the transport).
struct SyncWrite<'a, 'b> {
    io: &'a mut Transport,
    cx: Option<&'a mut Context<'b>>,
}

impl Write for SyncWrite<'_, '_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[IoSlice::new(buf)])
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self
            .io
            .poll_write_vectored_with(self.cx.as_deref_mut(), bufs)
        {
            Poll::Ready(r) => r,
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl TlsStream {
    /// Runs the handshake for `name` over `io`.
    pub(crate) async fn connect(
        config: Arc<ClientConfig>,
        name: ServerName<'static>,
        io: Transport,
    ) -> Result<TlsStream, Error> {
        let tls = ClientConnection::new(config, name)
            .map_err(|e| Error::new(ErrorKind::Tls(classify(&e))).with_source(e))?;
        let mut s = TlsStream {
            io,
            tls,
            cipher: ReadBuf::new(),
        };
        poll_fn(|cx| s.poll_handshake(cx))
            .await
            .map_err(Error::io)?;
        Ok(s)
    }

    fn poll_handshake(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            if self.tls.wants_write() {
                match self.poll_flush_with(Some(cx)) {
                    Poll::Ready(Ok(())) => {}
                    other => return other,
                }
            }
            if !self.tls.is_handshaking() {
                return Poll::Ready(Ok(()));
            }
            if !self.cipher.is_empty() {
                self.feed()?;
                continue;
            }
            match self.pull(Some(cx)) {
                Poll::Ready(Ok(0)) => {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the server closed the connection during the TLS handshake",
                    )))
                }
                Poll::Ready(Ok(_)) => {}
                other => return other.map_ok(drop),
            }
        }
    }

    /// Hands buffered ciphertext to rustls and decrypts it.
    fn feed(&mut self) -> io::Result<()> {
        let mut rd = self.cipher.filled();
        let n = self.tls.read_tls(&mut rd)?;
        self.cipher.consume(n);
        self.process()
    }

    fn process(&mut self) -> io::Result<()> {
        if let Err(e) = self.tls.process_new_packets() {
            // Best effort: tell the peer why (the alert is queued).
            let _ = self.poll_flush_with(None);
            return Err(tls_io_err(e));
        }
        Ok(())
    }

    /// Reads ciphertext from the transport. `Ok(0)` is EOF, which rustls is told about.
    fn pull(&mut self, cx: Option<&mut Context<'_>>) -> Poll<io::Result<usize>> {
        let io = &mut self.io;
        match self
            .cipher
            .poll_fill(usize::MAX, |space| io.poll_read_with(cx, space))
        {
            Poll::Ready(Ok(0)) => {
                self.tls.read_tls(&mut io::empty())?;
                self.process()?;
                Poll::Ready(Ok(0))
            }
            other => other,
        }
    }

    /// The socket underneath.
    pub(crate) fn socket(&self) -> &Socket {
        self.io.socket()
    }

    /// Reads plaintext (as much of `buf` as is already decrypted or buffered, reading the
    /// transport only when nothing is). EOF without close_notify is `UnexpectedEof`
    /// (truncation). With no context, raw non-blocking reads (`Pending`: would block).
    pub(crate) fn poll_read_with(
        &mut self,
        mut cx: Option<&mut Context<'_>>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut filled = 0;
        loop {
            if filled == buf.len() {
                return Poll::Ready(Ok(filled));
            }
            match self.tls.reader().read(&mut buf[filled..]) {
                Ok(0) => return Poll::Ready(Ok(filled)),
                Ok(n) => {
                    filled += n;
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) if filled > 0 => return Poll::Ready(Ok(filled)),
                Err(e) => return Poll::Ready(Err(e)),
            }
            if self.tls.wants_write() {
                // A key update or alert to answer: best effort, the reads go on.
                let _ = self.poll_flush_with(cx.as_deref_mut());
            }
            if !self.cipher.is_empty() {
                self.feed()?;
                continue;
            }
            if filled > 0 {
                return Poll::Ready(Ok(filled));
            }
            match self.pull(cx.as_deref_mut()) {
                Poll::Ready(Ok(_)) => {}
                other => return other,
            }
        }
    }

    /// Writes plaintext (encrypted into rustls' buffer), then pushes records out as far as
    /// possible.
    pub(crate) fn poll_write_vectored_with(
        &mut self,
        mut cx: Option<&mut Context<'_>>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if bufs.iter().all(|b| b.is_empty()) {
            return Poll::Ready(Ok(0));
        }
        loop {
            let n = self.tls.writer().write_vectored(bufs)?;
            match self.poll_flush_with(cx.as_deref_mut()) {
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                _ if n > 0 => return Poll::Ready(Ok(n)),
                // rustls' buffer was full and is empty now: write again.
                Poll::Ready(Ok(())) => {}
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    /// Writes every queued TLS record, then flushes the transport.
    pub(crate) fn poll_flush_with(
        &mut self,
        mut cx: Option<&mut Context<'_>>,
    ) -> Poll<io::Result<()>> {
        while self.tls.wants_write() {
            let mut w = SyncWrite {
                io: &mut self.io,
                cx: cx.as_deref_mut(),
            };
            match self.tls.write_tls(&mut w) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Poll::Pending,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
        self.io.poll_flush_with(cx)
    }
}

impl Drop for TlsStream {
    fn drop(&mut self) {
        // Best-effort close_notify; never wait for the peer's (aiohttp#11091).
        self.tls.send_close_notify();
        let _ = self.poll_flush_with(None);
    }
}
