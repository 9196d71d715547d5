//! The one error type of the client: what happened, for which URL, and what to do about it.

use std::error::Error as StdError;
use std::fmt;
use std::io;

use http::{StatusCode, Uri};

/// A boxed error source.
pub(crate) type BoxError = Box<dyn StdError + Send + Sync>;

/// Everything that can go wrong with a request.
///
/// [`kind`](Error::kind) says what happened; `Display` says it in words, with the URL and a
/// hint at the fix; [`source`](StdError::source) holds the underlying I/O or TLS error.
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    url: Option<Uri>,
    source: Option<BoxError>,
}

/// Which timeout fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TimeoutKind {
    /// Resolving the name, connecting TCP and the TLS handshake took longer than
    /// `connect_timeout`.
    Connect,
    /// No byte arrived for `read_timeout` while waiting for the response head or body.
    Read,
    /// The whole request, body included, took longer than `total_timeout` (or the per-request
    /// `timeout`).
    Total,
}

/// Why a TLS handshake failed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TlsFailure {
    /// The certificate is valid but for another host name.
    WrongHost,
    /// The certificate has expired (or is not valid yet).
    Expired,
    /// The certificate chain does not lead to a trusted root.
    Untrusted,
    /// Another handshake or certificate failure (the text says which).
    Other(String),
}

/// What a response (or the server's side of the connection) did wrong.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The response head could not be parsed (the text says where).
    MalformedHead(String),
    /// The head was larger than the limit (64 KiB).
    HeadTooLarge,
    /// More header fields than the limit (100).
    TooManyHeaders,
    /// Both `Content-Length` and `Transfer-Encoding` were present (request smuggling risk).
    ContentLengthAndTransferEncoding,
    /// Several `Content-Length` values that differ.
    ConflictingContentLength,
    /// A `Content-Length` that is not a plain decimal number (such as `+5`).
    InvalidContentLength,
    /// `Transfer-Encoding` on an HTTP/1.0 response.
    TransferEncodingOnHttp10,
    /// A malformed chunk-size line (empty size, bad digit, overflow, LF or control byte in an
    /// extension, line too long).
    InvalidChunk(&'static str),
    /// Chunk extensions added up to more than 16 KiB in one body.
    ChunkExtensionsTooLarge,
    /// The trailer section was larger than 16 KiB or had too many fields.
    TrailersTooLarge,
    /// Bytes arrived after the end of a response, or on an idle connection.
    UnexpectedBytes,
    /// A 1xx response other than `100 Continue` that we cannot handle (such as `101`).
    UnexpectedInformational(u16),
    /// The `Location` of a redirect is missing or is not an http(s) URL.
    BadRedirect(String),
    /// A `Content-Encoding` that could not be decoded.
    Decode(String),
}

/// The kind of an [`Error`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The client or request was configured wrongly (bad URL, bad header, ...).
    Builder(String),
    /// The name could not be resolved, or no address accepted the TCP connection.
    Connect,
    /// A timeout fired.
    Timeout(TimeoutKind),
    /// Waiting for a free connection slot took longer than `pool_acquire_timeout`.
    PoolAcquireTimeout,
    /// The TLS handshake failed.
    Tls(TlsFailure),
    /// The server broke the HTTP/1.1 rules.
    Protocol(ProtocolError),
    /// The connection closed before the response was complete.
    IncompleteMessage,
    /// Reading or writing the connection failed.
    Io,
    /// More redirects than the policy allows.
    TooManyRedirects(usize),
    /// A `307`/`308` redirect needs the request body again, but it was a stream that cannot be
    /// replayed.
    RedirectBodyNotReplayable,
    /// The body was larger than the limit set on the client or the call.
    BodyTooLarge(u64),
    /// The response's `Content-Length` already exceeds the limit (`max_body_size`), so the
    /// body is not read at all ([`Error::is_body_too_large`] covers this and
    /// [`BodyTooLarge`](ErrorKind::BodyTooLarge)).
    DeclaredBodyTooLarge {
        /// The limit, in bytes.
        limit: u64,
        /// The body length the response declares (what is left of it, if part of the body
        /// was already read with `chunk`).
        declared: u64,
    },
    /// `error_for_status` found a 4xx or 5xx status.
    Status(StatusCode),
    /// The body could not be decoded as text or JSON.
    Decode,
    /// The request body stream failed.
    Body,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind) -> Error {
        Error {
            inner: Box::new(Inner {
                kind,
                url: None,
                source: None,
            }),
        }
    }

    pub(crate) fn with_source(mut self, source: impl Into<BoxError>) -> Error {
        self.inner.source = Some(source.into());
        self
    }

    pub(crate) fn with_url(mut self, url: &Uri) -> Error {
        if self.inner.url.is_none() {
            self.inner.url = Some(url.clone());
        }
        self
    }

    pub(crate) fn builder(msg: impl Into<String>) -> Error {
        Error::new(ErrorKind::Builder(msg.into()))
    }

    pub(crate) fn protocol(p: ProtocolError) -> Error {
        Error::new(ErrorKind::Protocol(p))
    }

    pub(crate) fn timeout(t: TimeoutKind) -> Error {
        Error::new(ErrorKind::Timeout(t))
    }

    pub(crate) fn io(e: io::Error) -> Error {
        // Errors that carry one of our own errors (from the TLS or decoder layers) unwrap to it.
        if e.get_ref().is_some_and(|r| r.is::<Error>()) {
            let inner = e.into_inner().expect("checked above");
            return *inner.downcast::<Error>().expect("checked above");
        }
        if e.kind() == io::ErrorKind::UnexpectedEof {
            return Error::new(ErrorKind::IncompleteMessage).with_source(e);
        }
        Error::new(ErrorKind::Io).with_source(e)
    }

    /// What happened.
    pub fn kind(&self) -> &ErrorKind {
        &self.inner.kind
    }

    /// The URL of the request, if known.
    pub fn url(&self) -> Option<&Uri> {
        self.inner.url.as_ref()
    }

    /// Whether a timeout (connect, read, total or pool acquire) fired.
    pub fn is_timeout(&self) -> bool {
        matches!(
            self.inner.kind,
            ErrorKind::Timeout(_) | ErrorKind::PoolAcquireTimeout
        )
    }

    /// Whether connecting (resolution, TCP, TLS) failed.
    pub fn is_connect(&self) -> bool {
        matches!(
            self.inner.kind,
            ErrorKind::Connect | ErrorKind::Tls(_) | ErrorKind::Timeout(TimeoutKind::Connect)
        )
    }

    /// Whether a body exceeded the size limit, as it arrived or already by its
    /// `Content-Length` ([`ErrorKind::BodyTooLarge`], [`ErrorKind::DeclaredBodyTooLarge`]).
    pub fn is_body_too_large(&self) -> bool {
        matches!(
            self.inner.kind,
            ErrorKind::BodyTooLarge(_) | ErrorKind::DeclaredBodyTooLarge { .. }
        )
    }

    /// The status, for an error from [`Response::error_for_status`](crate::Response::error_for_status).
    pub fn status(&self) -> Option<StatusCode> {
        match self.inner.kind {
            ErrorKind::Status(s) => Some(s),
            _ => None,
        }
    }

    /// A short stable name for the kind, for counting errors (`"connect"`, `"timeout-read"`, ...).
    pub fn kind_name(&self) -> &'static str {
        match &self.inner.kind {
            ErrorKind::Builder(_) => "builder",
            ErrorKind::Connect => "connect",
            ErrorKind::Timeout(TimeoutKind::Connect) => "timeout-connect",
            ErrorKind::Timeout(TimeoutKind::Read) => "timeout-read",
            ErrorKind::Timeout(TimeoutKind::Total) => "timeout-total",
            ErrorKind::PoolAcquireTimeout => "pool-acquire-timeout",
            ErrorKind::Tls(_) => "tls",
            ErrorKind::Protocol(_) => "protocol",
            ErrorKind::IncompleteMessage => "incomplete-message",
            ErrorKind::Io => "io",
            ErrorKind::TooManyRedirects(_) => "too-many-redirects",
            ErrorKind::RedirectBodyNotReplayable => "redirect-body-not-replayable",
            ErrorKind::BodyTooLarge(_) | ErrorKind::DeclaredBodyTooLarge { .. } => "body-too-large",
            ErrorKind::Status(_) => "status",
            ErrorKind::Decode => "decode",
            ErrorKind::Body => "body",
        }
    }

    /// Wraps this error in an `io::Error` (for the `AsyncRead` adapters).
    pub(crate) fn into_io(self) -> io::Error {
        io::Error::other(self)
    }
}

fn describe_protocol(p: &ProtocolError, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match p {
        ProtocolError::MalformedHead(w) => write!(f, "the response head is malformed ({w})"),
        ProtocolError::HeadTooLarge => f.write_str(
            "the response head is larger than 64 KiB; the server or a proxy is misbehaving",
        ),
        ProtocolError::TooManyHeaders => {
            f.write_str("the response has more than 100 header fields")
        }
        ProtocolError::ContentLengthAndTransferEncoding => f.write_str(
            "the response has both Content-Length and Transfer-Encoding (a request smuggling \
             pattern); the connection was closed",
        ),
        ProtocolError::ConflictingContentLength => {
            f.write_str("the response has several Content-Length values that differ")
        }
        ProtocolError::InvalidContentLength => {
            f.write_str("the response's Content-Length is not a plain decimal number")
        }
        ProtocolError::TransferEncodingOnHttp10 => {
            f.write_str("an HTTP/1.0 response used Transfer-Encoding")
        }
        ProtocolError::InvalidChunk(w) => write!(f, "a malformed chunk in a chunked body ({w})"),
        ProtocolError::ChunkExtensionsTooLarge => {
            f.write_str("chunk extensions in the body add up to more than 16 KiB")
        }
        ProtocolError::TrailersTooLarge => {
            f.write_str("the trailer section is larger than 16 KiB or has too many fields")
        }
        ProtocolError::UnexpectedBytes => f.write_str(
            "the server sent bytes that belong to no response; the connection was closed",
        ),
        ProtocolError::UnexpectedInformational(c) => {
            write!(f, "unexpected informational response {c}")
        }
        ProtocolError::BadRedirect(w) => write!(f, "bad redirect: {w}"),
        ProtocolError::Decode(w) => write!(f, "the body could not be decompressed ({w})"),
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner.kind {
            ErrorKind::Builder(m) => write!(f, "invalid request or client configuration: {m}")?,
            ErrorKind::Connect => f.write_str(
                "could not connect (name resolution or TCP failed); check the host, the port and \
                 that the server is running",
            )?,
            ErrorKind::Timeout(TimeoutKind::Connect) => f.write_str(
                "connect timed out (DNS + TCP + TLS); raise ClientBuilder::connect_timeout or check \
                 that the host is reachable",
            )?,
            ErrorKind::Timeout(TimeoutKind::Read) => f.write_str(
                "read timed out: the server sent nothing for read_timeout; raise \
                 ClientBuilder::read_timeout for slow servers",
            )?,
            ErrorKind::Timeout(TimeoutKind::Total) => f.write_str(
                "the request took longer than its total timeout (body included); raise \
                 total_timeout or RequestBuilder::timeout",
            )?,
            ErrorKind::PoolAcquireTimeout => f.write_str(
                "no connection slot became free within pool_acquire_timeout; raise \
                 pool_max_per_host/pool_max_total or lower the concurrency",
            )?,
            ErrorKind::Tls(TlsFailure::WrongHost) => f.write_str(
                "TLS: the server's certificate is not valid for this host name (wrong host)",
            )?,
            ErrorKind::Tls(TlsFailure::Expired) => {
                f.write_str("TLS: the server's certificate has expired or is not yet valid")?
            }
            ErrorKind::Tls(TlsFailure::Untrusted) => f.write_str(
                "TLS: the server's certificate is not signed by a trusted root; add the CA with \
                 ClientBuilder::add_root_certificate",
            )?,
            ErrorKind::Tls(TlsFailure::Other(m)) => write!(f, "TLS handshake failed: {m}")?,
            ErrorKind::Protocol(p) => describe_protocol(p, f)?,
            ErrorKind::IncompleteMessage => f.write_str(
                "the connection closed before the response was complete (a stale keep-alive \
                 connection or a crashed server); Retry::idempotent retries such requests",
            )?,
            ErrorKind::Io => f.write_str("I/O error on the connection")?,
            ErrorKind::TooManyRedirects(n) => write!(
                f,
                "more than {n} redirects; the server may loop (raise the redirect Policy limit)"
            )?,
            ErrorKind::RedirectBodyNotReplayable => f.write_str(
                "a 307/308 redirect asks to send the body again, but it was a stream; use a \
                 bytes body or handle the redirect yourself",
            )?,
            ErrorKind::BodyTooLarge(n) => write!(
                f,
                "the body is larger than the limit of {n} bytes (max_body_size); raise it or \
                 stream the body"
            )?,
            ErrorKind::DeclaredBodyTooLarge { limit, declared } => write!(
                f,
                "the response declares a body of {declared} bytes (Content-Length), more than \
                 the limit of {limit} bytes (max_body_size); raise it or stream the body"
            )?,
            ErrorKind::Status(s) => write!(f, "the server answered with status {s}")?,
            ErrorKind::Decode => f.write_str("the body could not be decoded")?,
            ErrorKind::Body => f.write_str("the request body stream failed")?,
        }
        if let Some(u) = &self.inner.url {
            write!(f, " (url: {u})")?;
        }
        if let Some(s) = &self.inner.source {
            write!(f, ": {s}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.inner.kind)
            .field("url", &self.inner.url)
            .field("source", &self.inner.source)
            .finish()
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.inner
            .source
            .as_ref()
            .map(|s| &**s as &(dyn StdError + 'static))
    }
}
