//! One request on one connection: write the request (head and small bodies in one write), then
//! read the response head, skipping 1xx.

use std::future::poll_fn;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use futures_lite::StreamExt;
use http::{HeaderMap, Method, StatusCode};

use super::body::{Body, Kind};
use super::deadline::Deadlines;
use crate::error::{Error, ErrorKind, ProtocolError};
use crate::proto::h1::decode::encode_chunk_header;
use crate::proto::h1::head::{self, ResponseHead};
use crate::proto::h1::io::{is_buffer_limit, Conn};
use crate::proto::h1::role::{encode_head, RequestFraming, Target, EXPECT_CONTINUE};
use crate::proto::h1::MAX_HEAD_BYTES;

/// Bodies up to this size go out in the same write as the head.
const INLINE_BODY: usize = 64 * 1024;

/// What to send, borrowed from the request.
pub(crate) struct Prepared<'a> {
    pub(crate) method: &'a Method,
    pub(crate) target: Target<'a>,
    pub(crate) headers: &'a HeaderMap,
}

/// A failed write.
pub(crate) struct WriteFailure {
    pub(crate) err: Error,
    /// No byte of the request reached the connection: it can be sent elsewhere safely.
    pub(crate) never_written: bool,
    /// The body, handed back when it was never touched.
    pub(crate) body: Option<Body>,
}

fn framing_for(method: &Method, body: &Body) -> RequestFraming {
    match (&body.kind, body.len()) {
        (Kind::Empty, _) => {
            if matches!(*method, Method::POST | Method::PUT | Method::PATCH) {
                RequestFraming::Length(0)
            } else {
                RequestFraming::None
            }
        }
        (_, Some(n)) => RequestFraming::Length(n),
        (_, None) => RequestFraming::Chunked,
    }
}

async fn write_all(conn: &mut Conn, data: &[u8]) -> io::Result<()> {
    let mut off = 0;
    poll_fn(|cx| {
        while off < data.len() {
            match conn.io.poll_write(cx, &data[off..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => off += n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        conn.io.poll_flush(cx)
    })
    .await
}

async fn write_buf(conn: &mut Conn) -> io::Result<()> {
    let mut written = 0;
    poll_fn(|cx| conn.poll_write_buf(cx, &mut written)).await
}

/// Writes the request. `reused` says whether the connection came from the pool.
///
/// With `expect_continue` (and a body), the head carries `Expect: 100-continue` and the body
/// waits for `100 Continue` (or 1 s). Returns whether the body was sent: `false` when the server
/// answered with a final status first (that response stays buffered for [`read_head`]).
pub(crate) async fn write_request(
    conn: &mut Conn,
    req: &Prepared<'_>,
    body: Body,
    expect_continue: bool,
) -> Result<bool, WriteFailure> {
    let framing = framing_for(req.method, &body);
    let expect = expect_continue && !body.is_empty();
    conn.wbuf.clear();
    encode_head(
        &mut conn.wbuf,
        req.method,
        &req.target,
        req.headers,
        framing,
    );
    if expect {
        conn.wbuf.truncate(conn.wbuf.len() - 2);
        conn.wbuf.extend_from_slice(EXPECT_CONTINUE);
        conn.wbuf.extend_from_slice(b"\r\n");
    }
    let inline = match &body.kind {
        Kind::Bytes(b) if !expect && b.len() <= INLINE_BODY => {
            conn.wbuf.extend_from_slice(b);
            true
        }
        _ => false,
    };
    let mut written = 0;
    if let Err(e) = poll_fn(|cx| conn.poll_write_buf(cx, &mut written)).await {
        let never_written = written == 0;
        return Err(WriteFailure {
            err: Error::io(e),
            never_written,
            body: never_written.then_some(body),
        });
    }
    let fail = |err: Error| WriteFailure {
        err,
        never_written: false,
        body: None,
    };
    if expect && !wait_continue(conn).await.map_err(fail)? {
        return Ok(false);
    }
    match body.kind {
        Kind::Bytes(b) if !inline => write_all(conn, &b).await.map_err(|e| fail(Error::io(e)))?,
        Kind::Stream { mut stream, len } => {
            let mut sent: u64 = 0;
            while let Some(item) = stream.next().await {
                let chunk: Bytes =
                    item.map_err(|e| fail(Error::new(ErrorKind::Body).with_source(e)))?;
                if chunk.is_empty() {
                    continue;
                }
                sent += chunk.len() as u64;
                if len.is_some_and(|l| sent > l) {
                    return Err(fail(Error::new(ErrorKind::Body).with_source(
                        "the body stream yielded more bytes than its declared length",
                    )));
                }
                conn.wbuf.clear();
                if len.is_none() {
                    encode_chunk_header(&mut conn.wbuf, chunk.len());
                }
                conn.wbuf.extend_from_slice(&chunk);
                if len.is_none() {
                    conn.wbuf.extend_from_slice(b"\r\n");
                }
                write_buf(conn).await.map_err(|e| fail(Error::io(e)))?;
            }
            match len {
                None => {
                    conn.wbuf.clear();
                    conn.wbuf.extend_from_slice(b"0\r\n\r\n");
                    write_buf(conn).await.map_err(|e| fail(Error::io(e)))?;
                }
                Some(l) if sent != l => {
                    return Err(fail(
                        Error::new(ErrorKind::Body)
                            .with_source("the body stream ended before its declared length"),
                    ))
                }
                Some(_) => {}
            }
        }
        _ => {}
    }
    Ok(true)
}

/// Waits for `100 Continue` (true), a final response (false, left buffered), or 1 s (true).
/// (The total timeout still applies; the read timeout starts once the body is sent.)
async fn wait_continue(conn: &mut Conn) -> Result<bool, Error> {
    let mut timer = weft_timer::sleep(Duration::from_secs(1));
    poll_fn(|cx| loop {
        if !conn.rbuf.is_empty() {
            if let Some((h, n)) = head::parse(conn.rbuf.filled(), false)? {
                if h.status == StatusCode::CONTINUE {
                    conn.rbuf.consume(n);
                    return Poll::Ready(Ok(true));
                }
                if h.status.is_informational() && h.status != StatusCode::SWITCHING_PROTOCOLS {
                    conn.rbuf.consume(n);
                    continue;
                }
                return Poll::Ready(Ok(false));
            }
        }
        match conn.poll_fill(cx, MAX_HEAD_BYTES + 1) {
            Poll::Ready(Ok(0)) => {
                return Poll::Ready(Err(Error::new(ErrorKind::IncompleteMessage)))
            }
            Poll::Ready(Ok(_)) => {}
            Poll::Ready(Err(e)) if is_buffer_limit(&e) => {
                return Poll::Ready(Err(Error::protocol(ProtocolError::HeadTooLarge)))
            }
            Poll::Ready(Err(e)) => return Poll::Ready(Err(Error::io(e))),
            Poll::Pending => {
                if Pin::new(&mut timer).poll(cx).is_ready() {
                    return Poll::Ready(Ok(true));
                }
                return Poll::Pending;
            }
        }
    })
    .await
}

/// Reads the response head (skipping `100 Continue` and other interim 1xx responses).
pub(crate) async fn read_head(
    conn: &mut Conn,
    head_request: bool,
    deadlines: &mut Deadlines,
) -> Result<ResponseHead, Error> {
    poll_fn(|cx| loop {
        if !conn.rbuf.is_empty() {
            if let Some((h, n)) = head::parse(conn.rbuf.filled(), head_request)? {
                conn.rbuf.consume(n);
                if h.status.is_informational() {
                    if h.status == StatusCode::SWITCHING_PROTOCOLS {
                        return Poll::Ready(Err(Error::protocol(
                            ProtocolError::UnexpectedInformational(101),
                        )));
                    }
                    continue;
                }
                return Poll::Ready(Ok(h));
            }
        }
        // No readiness wait before the first read: the reactor's read skips the syscall while
        // its cache knows the socket is drained (cleared by the previous response's short read).
        match conn.poll_fill(cx, MAX_HEAD_BYTES + 1) {
            Poll::Ready(Ok(0)) => {
                return Poll::Ready(Err(Error::new(ErrorKind::IncompleteMessage)))
            }
            Poll::Ready(Ok(_)) => {
                deadlines.progress();
                deadlines.check_total()?;
            }
            Poll::Ready(Err(e)) if is_buffer_limit(&e) => {
                return Poll::Ready(Err(Error::protocol(ProtocolError::HeadTooLarge)))
            }
            Poll::Ready(Err(e)) => return Poll::Ready(Err(Error::io(e))),
            Poll::Pending => {
                deadlines.poll(cx)?;
                return Poll::Pending;
            }
        }
    })
    .await
}
