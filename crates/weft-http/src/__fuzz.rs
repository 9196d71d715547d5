//! Entry points for the fuzz targets in `fuzz/` and their stable replay tests. Not a public API:
//! hidden, unstable, may change with any release.

use std::ops::Range;

use http::{HeaderMap, StatusCode, Uri, Version};

use crate::proto::h1::{decode::Decoder, head};
use crate::Error;

/// How a parsed response body is framed (mirror of the private `BodyKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body.
    Empty,
    /// Exactly this many bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Until the connection closes.
    CloseDelimited,
}

/// A parsed response head: length in bytes, status, version, fields, framing, keep-alive.
pub type Head = (usize, StatusCode, Version, HeaderMap, Framing, bool);

/// The client's response head parser. `Ok(None)`: more bytes needed.
pub fn parse_head(buf: &[u8], head_request: bool) -> Result<Option<Head>, Error> {
    Ok(head::parse(buf, head_request)?.map(|(h, len)| {
        let framing = match h.body {
            head::BodyKind::Empty => Framing::Empty,
            head::BodyKind::Length(n) => Framing::Length(n),
            head::BodyKind::Chunked => Framing::Chunked,
            head::BodyKind::CloseDelimited => Framing::CloseDelimited,
        };
        (len, h.status, h.version, h.headers, framing, h.keep_alive)
    }))
}

/// The client's body decoder.
#[derive(Debug)]
pub struct BodyDecoder(Decoder);

impl BodyDecoder {
    /// A decoder for a body framed as `f`.
    pub fn new(f: Framing) -> BodyDecoder {
        BodyDecoder(Decoder::new(match f {
            Framing::Empty => head::BodyKind::Empty,
            Framing::Length(n) => head::BodyKind::Length(n),
            Framing::Chunked => head::BodyKind::Chunked,
            Framing::CloseDelimited => head::BodyKind::CloseDelimited,
        }))
    }
    /// Decodes at most `max` data bytes from `input`: (bytes consumed, data range).
    pub fn decode(&mut self, input: &[u8], max: usize) -> Result<(usize, Range<usize>), Error> {
        self.0.decode_max(input, max).map(|d| (d.consumed, d.data))
    }
    /// Whether the body is complete.
    pub fn is_done(&self) -> bool {
        self.0.is_done()
    }
    /// The connection reached EOF.
    pub fn eof(&mut self) -> Result<(), Error> {
        self.0.eof()
    }
    /// The trailers, once done.
    pub fn take_trailers(&mut self) -> Option<HeaderMap> {
        self.0.take_trailers().map(|t| *t)
    }
}

/// Resolves a redirect's `Location` against `base`, as the client does.
pub fn resolve_redirect(base: &Uri, location: &str) -> Result<Uri, Error> {
    crate::client::redirect::resolve(base, location)
}
