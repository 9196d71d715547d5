//! Responses and their bodies: buffered (`bytes`, `text`, `json`), chunks, a `Stream`, lines,
//! and `AsyncRead`. The body reader returns the connection to the pool at the end of the body
//! when the reuse rules allow it, and a dropped, unfinished body is drained within a small budget
//! from what is already buffered or readable at once, else its connection is closed.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll, Waker};

use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use futures_io::AsyncRead;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, StatusCode, Uri, Version};

use super::deadline::Deadlines;
use super::decompress::Inflate;
use super::pool::Pooled;
use crate::error::{Error, ErrorKind, ProtocolError};
use crate::proto::h1::decode::Decoder;
use crate::proto::h1::io::{is_buffer_limit, MAX_READ_BUF};
use crate::proto::h1::{MAX_CHUNK_LINE, MAX_TRAILER_BYTES};

/// How much a dropped, unfinished body may still be read to save its connection.
pub(crate) const DRAIN_BUDGET: usize = 64 * 1024;
/// The most bytes buffered while decoding a body (a chunk line or a trailer section).
const BODY_WINDOW: usize = MAX_TRAILER_BYTES + MAX_CHUNK_LINE + 8;
/// The most of a `Content-Length` body [`Response::bytes`] buffers before taking it out, so
/// a body up to this size usually becomes one `Bytes` split off the read buffer (no copy).
const GATHER_MAX: usize = MAX_READ_BUF;

/// Where [`BodyState::poll_raw`] delivers body data.
enum Out<'a> {
    /// Borrowed from the read buffer, to a callback.
    Slice(&'a mut dyn FnMut(&[u8]) -> Result<(), Error>),
    /// Taken out of the read buffer (split off when large). With `gather`, a `Content-Length`
    /// body is buffered up to [`GATHER_MAX`] bytes first.
    Bytes {
        slot: &'a mut Option<Bytes>,
        gather: bool,
    },
}

/// The body half of a response: the connection and how to decode what comes from it.
pub(crate) struct BodyState {
    conn: Option<Pooled>,
    decoder: Decoder,
    keep_alive: bool,
    deadlines: Deadlines,
    /// Boxed, as in [`Decoder`]: rare, and the size of a response is moved on every request.
    trailers: Option<Box<HeaderMap>>,
    max_body: u64,
    /// Content decoding (feature `gzip`), with its pending output.
    inflate: Option<Inflate>,
    decoded: Vec<u8>,
    decoded_pos: usize,
    raw_done: bool,
}

impl BodyState {
    pub(crate) fn new(
        conn: Pooled,
        decoder: Decoder,
        keep_alive: bool,
        deadlines: Deadlines,
        max_body: u64,
        inflate: Option<Inflate>,
    ) -> BodyState {
        let mut b = BodyState {
            conn: Some(conn),
            decoder,
            keep_alive,
            deadlines,
            trailers: None,
            max_body,
            inflate,
            decoded: Vec::new(),
            decoded_pos: 0,
            raw_done: false,
        };
        if b.decoder.is_done() {
            b.finish();
        }
        b
    }

    /// The body is complete: return the connection if the reuse rules allow it.
    fn finish(&mut self) {
        self.trailers = self.decoder.take_trailers();
        self.deadlines.clear();
        if let Some(mut pooled) = self.conn.take() {
            // Extra bytes after a complete response poison the connection.
            if self.keep_alive && pooled.conn().rbuf.is_empty() {
                pooled.release();
            }
        }
    }

    fn fail(&mut self, e: Error) -> Error {
        self.conn = None;
        self.deadlines.clear();
        e
    }

    /// Delivers at most `max` bytes of (decoded) body data to `out`. `Ok(false)` is the end.
    pub(crate) fn poll_data(
        &mut self,
        cx: &mut Context<'_>,
        max: usize,
        out: &mut dyn FnMut(&[u8]) -> Result<(), Error>,
    ) -> Poll<Result<bool, Error>> {
        if self.inflate.is_none() {
            return self.poll_raw(cx, max, Out::Slice(out));
        }
        loop {
            if self.decoded_pos < self.decoded.len() {
                let end = self.decoded.len().min(self.decoded_pos.saturating_add(max));
                let r = out(&self.decoded[self.decoded_pos..end]);
                self.decoded_pos = end;
                if self.decoded_pos == self.decoded.len() {
                    self.decoded.clear();
                    self.decoded_pos = 0;
                }
                return Poll::Ready(r.map(|()| true));
            }
            if self.raw_done {
                return Poll::Ready(Ok(false));
            }
            let Some(mut inflate) = self.inflate.take() else {
                return Poll::Ready(Ok(false));
            };
            let mut decoded = std::mem::take(&mut self.decoded);
            let mut feed = |d: &[u8]| inflate.feed(d, &mut decoded);
            let r = self.poll_raw(cx, usize::MAX, Out::Slice(&mut feed));
            let r = match r {
                Poll::Ready(Ok(false)) => {
                    self.raw_done = true;
                    inflate.finish(&mut decoded).map(|()| true)
                }
                Poll::Ready(other) => other,
                Poll::Pending => {
                    self.decoded = decoded;
                    self.inflate = Some(inflate);
                    return Poll::Pending;
                }
            };
            self.decoded = decoded;
            self.inflate = Some(inflate);
            if let Err(e) = r {
                return Poll::Ready(Err(self.fail(e)));
            }
        }
    }

    /// The next chunk of (decoded) body data as `Bytes`, `None` at the end. A large chunk is
    /// split off the read buffer without a copy; with `gather`, a `Content-Length` body is
    /// buffered (up to [`GATHER_MAX`]) so that it usually comes out whole.
    pub(crate) fn poll_bytes(
        &mut self,
        cx: &mut Context<'_>,
        gather: bool,
    ) -> Poll<Result<Option<Bytes>, Error>> {
        let mut slot = None;
        let more = if self.inflate.is_some() {
            let mut copy = |d: &[u8]| {
                slot = Some(Bytes::copy_from_slice(d));
                Ok(())
            };
            ready!(self.poll_data(cx, usize::MAX, &mut copy))
        } else {
            let out = Out::Bytes {
                slot: &mut slot,
                gather,
            };
            ready!(self.poll_raw(cx, usize::MAX, out))
        };
        Poll::Ready(more.map(|more| if more { slot } else { None }))
    }

    /// Delivers at most `max` bytes of the body as framed on the wire. `Ok(false)` is its end.
    fn poll_raw(
        &mut self,
        cx: &mut Context<'_>,
        max: usize,
        mut out: Out<'_>,
    ) -> Poll<Result<bool, Error>> {
        loop {
            let Some(pooled) = self.conn.as_mut() else {
                return Poll::Ready(Ok(false));
            };
            if self.decoder.is_done() {
                self.finish();
                return Poll::Ready(Ok(false));
            }
            let conn = pooled.conn();
            // Gathering: read on while less than the whole (or `GATHER_MAX` of the) body is here.
            let window = match (&out, self.decoder.remaining()) {
                (Out::Bytes { gather: true, .. }, Some(rem)) => {
                    let target = usize::try_from(rem).unwrap_or(usize::MAX).min(GATHER_MAX);
                    (conn.rbuf.filled().len() < target).then_some(target)
                }
                _ => None,
            };
            if window.is_none() && !conn.rbuf.is_empty() {
                let d = match self.decoder.decode_max(conn.rbuf.filled(), max) {
                    Ok(d) => d,
                    Err(e) => return Poll::Ready(Err(self.fail(e))),
                };
                if !d.data.is_empty() {
                    let r = match &mut out {
                        Out::Slice(f) => {
                            let r = f(&conn.rbuf.filled()[d.data]);
                            conn.rbuf.consume(d.consumed);
                            r
                        }
                        Out::Bytes { slot, .. } => {
                            **slot = Some(conn.rbuf.take(d.data, d.consumed));
                            Ok(())
                        }
                    };
                    if let Err(e) = r {
                        return Poll::Ready(Err(self.fail(e)));
                    }
                    if self.decoder.is_done() {
                        self.finish();
                    }
                    return Poll::Ready(Ok(true));
                }
                conn.rbuf.consume(d.consumed);
                if d.consumed > 0 || self.decoder.is_done() {
                    continue;
                }
            }
            let filled = match window {
                Some(total) => conn.poll_fill_to(cx, total),
                None => conn.poll_fill(cx, BODY_WINDOW),
            };
            match filled {
                Poll::Ready(Ok(0)) => {
                    if let Err(e) = self.decoder.eof() {
                        return Poll::Ready(Err(self.fail(e)));
                    }
                    self.keep_alive = false;
                }
                Poll::Ready(Ok(_)) => {
                    self.deadlines.progress();
                    if let Err(e) = self.deadlines.check_total() {
                        return Poll::Ready(Err(self.fail(e)));
                    }
                }
                Poll::Ready(Err(e)) if is_buffer_limit(&e) => {
                    return Poll::Ready(Err(
                        self.fail(Error::protocol(ProtocolError::TrailersTooLarge))
                    ))
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(self.fail(Error::io(e)))),
                Poll::Pending => {
                    if let Err(e) = self.deadlines.poll(cx) {
                        return Poll::Ready(Err(self.fail(e)));
                    }
                    return Poll::Pending;
                }
            }
        }
    }

    fn remaining_hint(&self) -> Option<u64> {
        if self.inflate.is_some() {
            return None;
        }
        self.decoder.remaining()
    }
}

impl Drop for BodyState {
    fn drop(&mut self) {
        if self.conn.is_none() {
            return;
        }
        // Drain what is buffered or readable right now, within the budget; else close (at
        // once when the known rest of the body is larger than the budget).
        if self
            .decoder
            .remaining()
            .is_some_and(|rest| rest > DRAIN_BUDGET as u64)
        {
            self.conn = None;
            return;
        }
        let mut budget = DRAIN_BUDGET;
        let mut cx = Context::from_waker(Waker::noop());
        while self.conn.is_some() && budget > 0 {
            let mut got = 0;
            let mut count = |d: &[u8]| {
                got = d.len();
                Ok(())
            };
            match self.poll_raw(&mut cx, budget, Out::Slice(&mut count)) {
                Poll::Ready(Ok(true)) => budget = budget.saturating_sub(got),
                _ => break,
            }
        }
        // Still unfinished: `self.conn` drops here and the connection is closed.
        self.conn = None;
    }
}

/// An HTTP response. The body is read with [`bytes`](Response::bytes),
/// [`text`](Response::text), [`chunk`](Response::chunk), [`bytes_stream`](Response::bytes_stream),
/// [`lines`](Response::lines) or [`into_reader`](Response::into_reader).
///
/// Dropping a response before its body is read drains up to 64 KiB that is already there and
/// then reuses the connection; a larger unread body closes the connection.
pub struct Response {
    status: StatusCode,
    version: Version,
    headers: HeaderMap,
    url: Uri,
    /// Boxed: a response is returned through every layer of a request (five `async fn`s, each
    /// move a copy), and the body state is more than half of it.
    body: Box<BodyState>,
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("url", &self.url)
            .field("status", &self.status)
            .field("version", &self.version)
            .field("headers", &self.headers)
            .finish()
    }
}

impl Response {
    pub(crate) fn new(
        status: StatusCode,
        version: Version,
        headers: HeaderMap,
        url: Uri,
        body: BodyState,
    ) -> Response {
        Response {
            status,
            version,
            headers,
            url,
            body: Box::new(body),
        }
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The HTTP version of the response.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The header fields.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The final URL, after redirects.
    pub fn url(&self) -> &Uri {
        &self.url
    }

    /// The body length from `Content-Length`, when the body is framed by it.
    pub fn content_length(&self) -> Option<u64> {
        self.body.remaining_hint()
    }

    /// The trailer fields of a chunked body, once the body has been read to the end.
    pub fn trailers(&self) -> Option<&HeaderMap> {
        self.body.trailers.as_deref()
    }

    /// Turns a 4xx or 5xx status into [`ErrorKind::Status`] (aiohttp's `raise_for_status`).
    ///
    /// ```
    /// # fn demo(resp: weft_http::Response) -> Result<(), weft_http::Error> {
    /// let resp = resp.error_for_status()?; // Err(e) with e.status() == Some(404) for a 404
    /// # let _ = resp; Ok(()) }
    /// ```
    pub fn error_for_status(self) -> Result<Response, Error> {
        match self.error_for_status_ref() {
            Ok(_) => Ok(self),
            Err(e) => Err(e),
        }
    }

    /// Like [`error_for_status`](Response::error_for_status), borrowing.
    pub fn error_for_status_ref(&self) -> Result<&Response, Error> {
        if self.status.is_client_error() || self.status.is_server_error() {
            Err(Error::new(ErrorKind::Status(self.status)).with_url(&self.url))
        } else {
            Ok(self)
        }
    }

    /// The next chunk of the body, `None` at its end. Cancel-safe: a cancelled call loses no
    /// byte (data is consumed only when it is returned). A chunk of 16 KiB or more may share
    /// the connection's read buffer instead of being copied (see [`bytes`](Response::bytes)).
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, Error> {
        let url = self.url.clone();
        poll_fn(|cx| self.body.poll_bytes(cx, false))
            .await
            .map_err(|e| e.with_url(&url))
    }

    /// The whole body, up to the client's `max_body_size` (default 64 MiB).
    ///
    /// A `Content-Length` body up to 256 KiB usually comes back without a copy, sharing the
    /// connection's read buffer (kept alive, at most four times the body's size, while the
    /// `Bytes` are); other bodies are joined into one allocation.
    ///
    /// A `Content-Length` above the limit fails at once with
    /// [`ErrorKind::DeclaredBodyTooLarge`], before any of the body is read; the connection is
    /// then reused only if the whole body is already buffered and within the 64 KiB drain
    /// budget of a dropped response, else closed.
    pub async fn bytes(mut self) -> Result<Bytes, Error> {
        let max = self.body.max_body;
        let declared = self.body.remaining_hint();
        if let Some(declared) = declared.filter(|&n| n > max) {
            // Dropping `self` applies the reuse rules of an unread body.
            let e = Error::new(ErrorKind::DeclaredBodyTooLarge {
                limit: max,
                declared,
            });
            return Err(e.with_url(&self.url));
        }
        let hint = declared.unwrap_or(0).min(max).min(1 << 24);
        let too_large = |body: &mut BodyState, url: &Uri| {
            let e = body.fail(Error::new(ErrorKind::BodyTooLarge(max)));
            Err(e.with_url(url))
        };
        // One chunk (the usual case for a body up to `GATHER_MAX`) is returned as it is;
        // more are joined.
        let mut first: Option<Bytes> = None;
        let mut joined: Option<BytesMut> = None;
        loop {
            if declared.is_none() && first.is_some() {
                // Not framed by `Content-Length` (chunked, close-delimited or decoded) and
                // more than one chunk: copy the rest straight from the read buffer (or the
                // decoder's output) into the joined buffer, once, instead of taking each
                // chunk out as `Bytes` first.
                return self.join_rest(first.take(), max).await;
            }
            let chunk = poll_fn(|cx| self.body.poll_bytes(cx, true))
                .await
                .map_err(|e| e.with_url(&self.url))?;
            let Some(chunk) = chunk else {
                return Ok(match joined {
                    Some(j) => j.freeze(),
                    None => first.unwrap_or_default(),
                });
            };
            let have =
                joined.as_ref().map_or(0, |j| j.len()) + first.as_ref().map_or(0, |f| f.len());
            if (have + chunk.len()) as u64 > max {
                return too_large(&mut self.body, &self.url);
            }
            match (&mut joined, first.take()) {
                (Some(j), _) => j.extend_from_slice(&chunk),
                (None, None) => first = Some(chunk),
                (None, Some(f)) => {
                    let mut j = BytesMut::with_capacity((hint as usize).max(f.len() + chunk.len()));
                    j.extend_from_slice(&f);
                    j.extend_from_slice(&chunk);
                    joined = Some(j);
                }
            }
        }
    }

    /// The rest of [`bytes`](Response::bytes) after its `first` chunk: `first` alone if the
    /// body ends there, else `first` and everything after it in one buffer, each later piece
    /// copied once from where the decoder delivers it.
    async fn join_rest(mut self, first: Option<Bytes>, max: u64) -> Result<Bytes, Error> {
        let first = first.unwrap_or_default();
        let mut joined: Option<BytesMut> = None;
        loop {
            let mut over = false;
            let mut append = |d: &[u8]| {
                let j = joined.get_or_insert_with(|| {
                    let mut j = BytesMut::with_capacity(2 * (first.len() + d.len()));
                    j.extend_from_slice(&first);
                    j
                });
                if (j.len() + d.len()) as u64 > max {
                    over = true;
                    return Err(Error::new(ErrorKind::BodyTooLarge(max)));
                }
                j.extend_from_slice(d);
                Ok(())
            };
            let more = poll_fn(|cx| self.body.poll_data(cx, usize::MAX, &mut append)).await;
            match more {
                Ok(true) => {}
                Ok(false) => return Ok(joined.map_or(first, BytesMut::freeze)),
                Err(e) => {
                    // A limit hit inside the decoder's callback leaves the connection open on
                    // the decoded path: close it, as `bytes` does for any oversized body.
                    let e = if over { self.body.fail(e) } else { e };
                    return Err(e.with_url(&self.url));
                }
            }
        }
    }

    /// The body as text, decoded with the charset of `Content-Type` (UTF-8 by default;
    /// ISO-8859-1/US-ASCII are understood; invalid sequences become U+FFFD).
    pub async fn text(self) -> Result<String, Error> {
        let latin1 = self
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|ct| {
                ct.split(';')
                    .skip(1)
                    .filter_map(|p| p.trim().split_once('='))
                    .find(|(k, _)| k.trim().eq_ignore_ascii_case("charset"))
                    .map(|(_, v)| v.trim().trim_matches('"').to_ascii_lowercase())
            })
            .is_some_and(|cs| matches!(cs.as_str(), "iso-8859-1" | "latin1" | "latin-1"));
        let b = self.bytes().await?;
        if latin1 {
            return Ok(b.iter().map(|&c| c as char).collect());
        }
        Ok(match String::from_utf8(b.to_vec()) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        })
    }

    /// The body parsed as JSON.
    #[cfg(feature = "json")]
    pub async fn json<T: serde::de::DeserializeOwned>(self) -> Result<T, Error> {
        let url = self.url.clone();
        let b = self.bytes().await?;
        serde_json::from_slice(&b)
            .map_err(|e| Error::new(ErrorKind::Decode).with_source(e).with_url(&url))
    }

    /// The body as a `Stream` of chunks.
    pub fn bytes_stream(self) -> BodyStream {
        BodyStream { resp: self }
    }

    /// The body as an `AsyncRead` (and, through `futures_lite::io::BufReader`, `AsyncBufRead`).
    pub fn into_reader(self) -> BodyReader {
        BodyReader { resp: self }
    }

    /// The body's lines (without `\n` or `\r\n`), as a `Stream`.
    pub fn lines(self) -> impl Stream<Item = Result<String, Error>> + Send + Unpin {
        use futures_lite::{AsyncBufReadExt, StreamExt};
        futures_lite::io::BufReader::new(self.into_reader())
            .lines()
            .map(|r| r.map_err(Error::io))
    }
}

/// The body of a [`Response`] as a `Stream` of `Bytes` chunks.
pub struct BodyStream {
    resp: Response,
}

impl fmt::Debug for BodyStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BodyStream")
            .field("url", &self.resp.url)
            .finish()
    }
}

impl Stream for BodyStream {
    type Item = Result<Bytes, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let resp = &mut self.resp;
        match resp.body.poll_bytes(cx, false) {
            Poll::Ready(Ok(chunk)) => Poll::Ready(chunk.map(Ok)),
            Poll::Ready(Err(e)) => Poll::Ready(Some(Err(e.with_url(&resp.url)))),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The body of a [`Response`] as an `AsyncRead`. Errors are `io::Error`s wrapping an
/// [`Error`] (`get_ref()` and downcast to see it).
pub struct BodyReader {
    resp: Response,
}

impl fmt::Debug for BodyReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BodyReader")
            .field("url", &self.resp.url)
            .finish()
    }
}

impl BodyReader {
    /// The response this reads from (status, headers, ...).
    pub fn response(&self) -> &Response {
        &self.resp
    }
}

impl AsyncRead for BodyReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let mut n = 0;
        let max = buf.len();
        match self.resp.body.poll_data(cx, max, &mut |d| {
            buf[..d.len()].copy_from_slice(d);
            n = d.len();
            Ok(())
        }) {
            Poll::Ready(Ok(_)) => Poll::Ready(Ok(n)),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e.into_io())),
            Poll::Pending => Poll::Pending,
        }
    }
}
