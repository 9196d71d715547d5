//! Request bodies: empty, bytes (replayable: redirects and retries can send them again), or a
//! stream (sent once).

use std::fmt;
use std::pin::Pin;

use bytes::Bytes;
use futures_core::Stream;

use crate::error::BoxError;

type BoxStream = Pin<Box<dyn Stream<Item = Result<Bytes, BoxError>> + Send>>;

/// A request body.
///
/// ```
/// use weft_http::Body;
/// let b = Body::from("hello");
/// assert_eq!(b.len(), Some(5));
/// assert!(b.is_replayable());
/// ```
pub struct Body {
    pub(crate) kind: Kind,
}

pub(crate) enum Kind {
    Empty,
    Bytes(Bytes),
    Stream { stream: BoxStream, len: Option<u64> },
}

impl Body {
    /// No body.
    pub fn empty() -> Body {
        Body { kind: Kind::Empty }
    }

    /// A body from a stream of byte chunks. `len` is sent as `Content-Length` when known,
    /// otherwise the body is chunked. A streamed body cannot be replayed (a 307/308 redirect or
    /// a retry of it fails with a clear error).
    pub fn wrap_stream<S, E>(stream: S, len: Option<u64>) -> Body
    where
        S: Stream<Item = Result<Bytes, E>> + Send + 'static,
        E: Into<BoxError> + 'static,
    {
        use futures_lite::StreamExt;
        Body {
            kind: Kind::Stream {
                stream: Box::pin(stream.map(|r| r.map_err(Into::into))),
                len,
            },
        }
    }

    /// The length, when known.
    pub fn len(&self) -> Option<u64> {
        match &self.kind {
            Kind::Empty => Some(0),
            Kind::Bytes(b) => Some(b.len() as u64),
            Kind::Stream { len, .. } => *len,
        }
    }

    /// Whether the body is known to be empty.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }

    /// Whether the body can be sent again (everything but streams).
    pub fn is_replayable(&self) -> bool {
        !matches!(self.kind, Kind::Stream { .. })
    }

    /// A copy for a replay (a cheap `Bytes` clone), or `None` for a stream.
    pub(crate) fn try_clone(&self) -> Option<Body> {
        match &self.kind {
            Kind::Empty => Some(Body::empty()),
            Kind::Bytes(b) => Some(Body {
                kind: Kind::Bytes(b.clone()),
            }),
            Kind::Stream { .. } => None,
        }
    }
}

impl Default for Body {
    fn default() -> Body {
        Body::empty()
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Empty => f.write_str("Body(empty)"),
            Kind::Bytes(b) => write!(f, "Body({} bytes)", b.len()),
            Kind::Stream { len, .. } => write!(f, "Body(stream, len {len:?})"),
        }
    }
}

impl From<Bytes> for Body {
    fn from(b: Bytes) -> Body {
        Body {
            kind: Kind::Bytes(b),
        }
    }
}

impl From<Vec<u8>> for Body {
    fn from(v: Vec<u8>) -> Body {
        Bytes::from(v).into()
    }
}

impl From<String> for Body {
    fn from(s: String) -> Body {
        Bytes::from(s).into()
    }
}

impl From<&'static str> for Body {
    fn from(s: &'static str) -> Body {
        Bytes::from_static(s.as_bytes()).into()
    }
}

impl From<&'static [u8]> for Body {
    fn from(s: &'static [u8]) -> Body {
        Bytes::from_static(s).into()
    }
}

impl From<()> for Body {
    fn from(_: ()) -> Body {
        Body::empty()
    }
}
