//! The pool key: everything that changes the peer's identity or the bytes on the wire.

use std::fmt;
use std::sync::Arc;

use crate::client::proxy::ProxyEndpoint;

/// Scheme, host, port and TLS server name (aiohttp#12835: the server name belongs in the key,
/// so a connection verified for one name is never handed to a request for another).
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct PoolKey(Arc<KeyInner>);

#[derive(PartialEq, Eq, Hash)]
struct KeyInner {
    https: bool,
    host: Box<str>,
    port: u16,
    server_name: Option<Box<str>>,
    proxy: Option<ProxyEndpoint>,
}

impl PoolKey {
    /// A key. `server_name` overrides the TLS name (default: the host).
    #[cfg(test)]
    pub(crate) fn new(https: bool, host: &str, port: u16, server_name: Option<&str>) -> PoolKey {
        PoolKey::with_proxy(https, host, port, server_name, None)
    }

    /// A key for a connection through `proxy` (or direct).
    pub(crate) fn with_proxy(
        https: bool,
        host: &str,
        port: u16,
        server_name: Option<&str>,
        proxy: Option<&ProxyEndpoint>,
    ) -> PoolKey {
        PoolKey(Arc::new(KeyInner {
            https,
            host: host.to_ascii_lowercase().into_boxed_str(),
            port,
            server_name: if https {
                server_name.map(Into::into)
            } else {
                None
            },
            proxy: proxy.cloned(),
        }))
    }

    /// The proxy this connection goes through.
    pub(crate) fn proxy(&self) -> Option<&ProxyEndpoint> {
        self.0.proxy.as_ref()
    }

    /// The host (lower case; IPv6 literals keep their brackets).
    pub(crate) fn host(&self) -> &str {
        &self.0.host
    }

    /// The port.
    pub(crate) fn port(&self) -> u16 {
        self.0.port
    }

    /// Whether the scheme is https.
    pub(crate) fn is_https(&self) -> bool {
        self.0.https
    }

    /// The TLS server name: the override, else the host.
    pub(crate) fn server_name(&self) -> &str {
        self.0.server_name.as_deref().unwrap_or(&self.0.host)
    }
}

impl fmt::Debug for PoolKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.0.https { "https" } else { "http" };
        write!(f, "{scheme}://{}:{}", self.0.host, self.0.port)?;
        if let Some(n) = &self.0.server_name {
            write!(f, " (tls name {n})")?;
        }
        if let Some(p) = &self.0.proxy {
            write!(f, " via {p:?}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_name_is_part_of_the_key() {
        let a = PoolKey::new(true, "127.0.0.1", 443, Some("a.test"));
        let b = PoolKey::new(true, "127.0.0.1", 443, Some("b.test"));
        let c = PoolKey::new(true, "127.0.0.1", 443, None);
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_eq!(a, PoolKey::new(true, "127.0.0.1", 443, Some("a.test")));
        assert_ne!(
            PoolKey::new(true, "h", 80, None),
            PoolKey::new(false, "h", 80, None)
        );
    }
}
