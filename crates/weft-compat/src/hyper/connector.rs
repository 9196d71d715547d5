//! hyper-util's legacy pooled `Client` on weft: a connector over weft's TCP (feature
//! `hyper-util`).

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use ::hyper::Uri;
use hyper_util::client::legacy::connect::{Connected, Connection};
use weft_reactor::net::TcpStream;

use super::HyperIo;

/// A `tower_service::Service<Uri>` that opens plain-TCP connections with
/// `weft::net::TcpStream`, for `hyper_util::client::legacy::Client` (hyper-util's pooled client)
/// running on weft with [`WeftExecutor`](super::WeftExecutor) and [`WeftTimer`](super::WeftTimer).
///
/// Only `http://` URIs: for HTTPS wrap the stream in a TLS connector of your own, or use
/// `weft::http::Client`. The port defaults to 80.
///
/// ```
/// use bytes::Bytes;
/// use http_body_util::Empty;
/// use hyper_util::client::legacy::Client;
/// use weft_compat::hyper::{WeftConnector, WeftExecutor, WeftTimer};
///
/// let client: Client<WeftConnector, Empty<Bytes>> = Client::builder(WeftExecutor::new())
///     .timer(WeftTimer::new())
///     .pool_timer(WeftTimer::new())
///     .build(WeftConnector::new());
/// # drop(client);
/// ```
#[derive(Clone, Debug, Default)]
pub struct WeftConnector {
    nodelay: bool,
}

impl WeftConnector {
    /// A connector; `TCP_NODELAY` off, as hyper-util's `HttpConnector`.
    pub fn new() -> WeftConnector {
        WeftConnector { nodelay: false }
    }

    /// Sets `TCP_NODELAY` on every new connection.
    pub fn set_nodelay(&mut self, on: bool) -> &mut Self {
        self.nodelay = on;
        self
    }
}

/// Why [`WeftConnector`] could not connect.
#[derive(Debug)]
pub enum ConnectError {
    /// The URI is not `http://host[:port]/…`.
    InvalidUri(String),
    /// Resolving or connecting failed.
    Io(io::Error),
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectError::InvalidUri(why) => write!(f, "WeftConnector: {why}"),
            ConnectError::Io(e) => write!(f, "WeftConnector: connect failed: {e}"),
        }
    }
}

impl std::error::Error for ConnectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConnectError::Io(e) => Some(e),
            ConnectError::InvalidUri(_) => None,
        }
    }
}

/// The host and port of an `http://` URI.
fn target(uri: &Uri) -> Result<(String, u16), ConnectError> {
    match uri.scheme_str() {
        Some("http") => {}
        Some(other) => {
            return Err(ConnectError::InvalidUri(format!(
                "scheme {other:?} in {uri} is not supported (plain http only; put a TLS \
                 connector in front for https)"
            )))
        }
        None => {
            return Err(ConnectError::InvalidUri(format!(
                "{uri} has no scheme (expected http://host[:port]/)"
            )))
        }
    }
    let host = uri
        .host()
        .ok_or_else(|| ConnectError::InvalidUri(format!("{uri} has no host")))?;
    // `[::1]` → `::1` for the resolver.
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Ok((host.to_string(), uri.port_u16().unwrap_or(80)))
}

impl tower_service::Service<Uri> for WeftConnector {
    type Response = HyperIo<TcpStream>;
    type Error = ConnectError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, ConnectError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), ConnectError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let nodelay = self.nodelay;
        Box::pin(async move {
            let (host, port) = target(&uri)?;
            let stream = TcpStream::connect((host.as_str(), port))
                .await
                .map_err(ConnectError::Io)?;
            if nodelay {
                stream.set_nodelay(true).map_err(ConnectError::Io)?;
            }
            Ok(HyperIo::new(stream).with_vectored_writes(true))
        })
    }
}

impl<T> Connection for HyperIo<T> {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_parsed_and_bad_uris_explained() {
        let t = |s: &str| target(&s.parse().unwrap());
        assert_eq!(
            t("http://example.test/x").unwrap(),
            ("example.test".into(), 80)
        );
        assert_eq!(t("http://[::1]:8080/").unwrap(), ("::1".into(), 8080));
        let e = t("https://example.test/").unwrap_err().to_string();
        assert!(e.contains("plain http only"), "{e}");
        let e = t("/path-only").unwrap_err().to_string();
        assert!(e.contains("no scheme"), "{e}");
    }
}
