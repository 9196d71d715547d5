//! The pool key: everything that changes the peer's identity or the bytes on the wire.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex};

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

    /// Whether this is the key [`with_proxy`](PoolKey::with_proxy) would make from these parts.
    fn matches(
        &self,
        https: bool,
        host: &str,
        port: u16,
        server_name: Option<&str>,
        proxy: Option<&ProxyEndpoint>,
    ) -> bool {
        let k = &*self.0;
        k.https == https
            && k.port == port
            && k.host.eq_ignore_ascii_case(host)
            && k.server_name.as_deref() == server_name.filter(|_| https)
            && k.proxy.as_ref() == proxy
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

/// The last key a client made, reused while requests go to the same place (most do): a key is
/// two allocations otherwise, per request.
#[derive(Default)]
pub(crate) struct KeyCache(Mutex<Option<PoolKey>>);

impl KeyCache {
    /// The key for these parts: the cached one if it matches, else a new one (then cached).
    pub(crate) fn key(
        &self,
        https: bool,
        host: &str,
        port: u16,
        server_name: Option<&str>,
        proxy: Option<&ProxyEndpoint>,
    ) -> PoolKey {
        // Never wait: under contention a fresh key is cheaper than the lock.
        let Ok(mut last) = self.0.try_lock() else {
            return PoolKey::with_proxy(https, host, port, server_name, proxy);
        };
        if let Some(k) = last
            .as_ref()
            .filter(|k| k.matches(https, host, port, server_name, proxy))
        {
            return k.clone();
        }
        let k = PoolKey::with_proxy(https, host, port, server_name, proxy);
        *last = Some(k.clone());
        k
    }
}

/// A map keyed by [`PoolKey`], hashed with [`KeyHasher`] (a few hashes per request: SipHash was
/// a visible part of a keep-alive request's cost). Flooding is not a concern: the map holds only
/// hosts with open connections, at most `pool_max_total` of them.
pub(crate) type KeyMap<V> = HashMap<PoolKey, V, BuildHasherDefault<KeyHasher>>;

/// A multiply-rotate hasher (the Fx scheme) for pool keys.
#[derive(Default)]
pub(crate) struct KeyHasher(u64);

impl KeyHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    fn write_u16(&mut self, n: u16) {
        self.add(u64::from(n));
    }

    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
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
    fn key_cache_reuses_only_an_equal_key() {
        let c = KeyCache::default();
        let a = c.key(true, "A.test", 443, Some("n"), None);
        let again = c.key(true, "a.test", 443, Some("n"), None);
        assert!(Arc::ptr_eq(&a.0, &again.0), "the cached key is reused");
        for (https, host, port, name) in [
            (false, "a.test", 443, Some("n")),
            (true, "b.test", 443, Some("n")),
            (true, "a.test", 444, Some("n")),
            (true, "a.test", 443, Some("m")),
            (true, "a.test", 443, None),
        ] {
            let k = c.key(https, host, port, name, None);
            assert_eq!(k, PoolKey::new(https, host, port, name));
            assert_ne!(k, a);
            // Back to the first: equal to it again.
            assert_eq!(c.key(true, "a.test", 443, Some("n"), None), a);
        }
        // Plain http ignores a TLS name, as `with_proxy` does.
        let h = c.key(false, "h", 80, Some("ignored"), None);
        assert_eq!(h, PoolKey::new(false, "h", 80, None));
        assert!(Arc::ptr_eq(&h.0, &c.key(false, "h", 80, None, None).0));
    }

    #[test]
    fn key_map_finds_equal_keys() {
        let mut m: KeyMap<u32> = KeyMap::default();
        for (i, h) in ["a.test", "b.test", "a-much-longer-host-name.example"]
            .iter()
            .enumerate()
        {
            m.insert(PoolKey::new(false, h, 80, None), i as u32);
        }
        assert_eq!(m.get(&PoolKey::new(false, "A.test", 80, None)), Some(&0));
        assert_eq!(
            m.get(&PoolKey::new(
                false,
                "a-much-longer-host-name.example",
                80,
                None
            )),
            Some(&2)
        );
        assert_eq!(m.get(&PoolKey::new(true, "a.test", 80, None)), None);
        assert_eq!(m.get(&PoolKey::new(false, "a.test", 81, None)), None);
    }

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
