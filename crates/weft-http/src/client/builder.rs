//! `ClientBuilder`: limits, timeouts, redirect and retry policies, TLS options.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::header::{HeaderName, HeaderValue, ACCEPT, USER_AGENT};
use http::{HeaderMap, Uri};

use super::connect::Connector;
use super::observe::{Hooks, Observer};
use super::pool::{Pool, PoolConfig};
use super::proxy::Proxy;
use super::redirect::Policy;
use super::retry::Retry;
use super::tls::{build_config, Certificate, Identity, TlsOptions};
use super::{Client, ClientInner, Config};
use crate::error::Error;

/// The default `User-Agent`.
pub const DEFAULT_USER_AGENT: &str = concat!("weft-http/", env!("CARGO_PKG_VERSION"));

/// Builds a [`Client`]. Every setting has a default; see each method.
///
/// ```
/// use std::time::Duration;
/// use weft_http::{Client, Policy, Retry};
///
/// let client = Client::builder()
///     .pool_max_per_host(8)
///     .pool_max_total(64)
///     .idle_timeout(Duration::from_secs(10))
///     .connect_timeout(Duration::from_secs(5))
///     .read_timeout(Duration::from_secs(10))
///     .total_timeout(Duration::from_secs(30))
///     .pool_acquire_timeout(Duration::from_secs(5))
///     .redirect(Policy::limited(10))
///     .retry(Retry::idempotent(3).backoff(Duration::from_millis(100)))
///     .build()?;
/// # let _ = client;
/// # Ok::<(), weft_http::Error>(())
/// ```
#[must_use]
pub struct ClientBuilder {
    headers: HeaderMap,
    base_url: Option<String>,
    pool: PoolConfig,
    connect_timeout: Option<Duration>,
    read_timeout: Option<Duration>,
    total_timeout: Option<Duration>,
    pool_acquire_timeout: Option<Duration>,
    redirect: Policy,
    retry: Retry,
    tls: TlsOptions,
    resolve: HashMap<String, Vec<SocketAddr>>,
    nodelay: bool,
    max_body_size: u64,
    max_decoded_size: u64,
    hooks: Hooks,
    proxies: Vec<Proxy>,
    cookie_store: bool,
    error: Option<Error>,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("pool", &self.pool)
            .field("connect_timeout", &self.connect_timeout)
            .field("read_timeout", &self.read_timeout)
            .field("total_timeout", &self.total_timeout)
            .field("pool_acquire_timeout", &self.pool_acquire_timeout)
            .field("redirect", &self.redirect)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl Default for ClientBuilder {
    fn default() -> ClientBuilder {
        ClientBuilder::new()
    }
}

impl ClientBuilder {
    /// The defaults: at most 100 connections in total and no per-host limit (aiohttp's
    /// `TCPConnector`), 15 s idle timeout, 30 s connect timeout, 300 s total timeout, no read
    /// timeout, no pool-acquire timeout (bounded by the total), 10 redirects, no retries,
    /// webpki roots, 64 MiB `max_body_size`.
    pub fn new() -> ClientBuilder {
        let mut headers = HeaderMap::new();
        headers.insert(USER_AGENT, HeaderValue::from_static(DEFAULT_USER_AGENT));
        headers.insert(ACCEPT, HeaderValue::from_static("*/*"));
        if let Some(codings) = super::decompress::ACCEPT_ENCODING {
            headers.insert(
                http::header::ACCEPT_ENCODING,
                HeaderValue::from_static(codings),
            );
        }
        ClientBuilder {
            headers,
            base_url: None,
            pool: PoolConfig {
                max_per_host: usize::MAX,
                max_total: 100,
                max_idle_per_host: usize::MAX,
                idle_timeout: Duration::from_secs(15),
            },
            connect_timeout: Some(Duration::from_secs(30)),
            read_timeout: None,
            total_timeout: Some(Duration::from_secs(300)),
            pool_acquire_timeout: None,
            redirect: Policy::default(),
            retry: Retry::none(),
            tls: TlsOptions {
                builtin_roots: true,
                ..TlsOptions::default()
            },
            resolve: HashMap::new(),
            nodelay: true,
            max_body_size: 64 << 20,
            max_decoded_size: 64 << 20,
            hooks: Hooks::default(),
            proxies: Vec::new(),
            cookie_store: false,
            error: None,
        }
    }

    /// Headers sent with every request (a request's own headers of the same name win).
    pub fn default_headers(mut self, headers: HeaderMap) -> ClientBuilder {
        for (k, v) in headers.iter() {
            self.headers.insert(k.clone(), v.clone());
        }
        self
    }

    /// One header sent with every request.
    pub fn default_header<K, V>(mut self, name: K, value: V) -> ClientBuilder
    where
        K: TryInto<HeaderName>,
        V: TryInto<HeaderValue>,
    {
        match (name.try_into(), value.try_into()) {
            (Ok(k), Ok(v)) => {
                self.headers.insert(k, v);
            }
            _ => self.set_error(Error::builder("invalid default header name or value")),
        }
        self
    }

    /// The `User-Agent` (default `weft-http/<version>`).
    pub fn user_agent(self, ua: &str) -> ClientBuilder {
        self.default_header(USER_AGENT, ua)
    }

    /// A base URL that relative request URLs (`"/path"`, `"path"`) are resolved against.
    pub fn base_url(mut self, url: &str) -> ClientBuilder {
        self.base_url = Some(url.to_string());
        self
    }

    /// The most connections open to one (scheme, host, port, TLS name) at once; more requests
    /// wait in a FIFO queue (aiohttp `limit_per_host`; default: no limit).
    pub fn pool_max_per_host(mut self, n: usize) -> ClientBuilder {
        self.pool.max_per_host = n.max(1);
        self
    }

    /// The most connections open in total (aiohttp `limit`; default 100).
    pub fn pool_max_total(mut self, n: usize) -> ClientBuilder {
        self.pool.max_total = n.max(1);
        self
    }

    /// The most idle connections kept per host (default: as many as are open).
    pub fn pool_max_idle_per_host(mut self, n: usize) -> ClientBuilder {
        self.pool.max_idle_per_host = n;
        self
    }

    /// How long an idle connection is kept (default 15 s; keep it below the servers' keep-alive
    /// timeout). Expired connections are closed by a timer, without new requests.
    pub fn idle_timeout(mut self, d: Duration) -> ClientBuilder {
        self.pool.idle_timeout = d;
        self
    }

    /// The limit for name resolution + TCP connect + TLS handshake (default 30 s).
    pub fn connect_timeout(mut self, d: Duration) -> ClientBuilder {
        self.connect_timeout = Some(d);
        self
    }

    /// The longest wait for any byte of the response (head or body), restarted by every read;
    /// it starts only once the request has been sent (default: none).
    pub fn read_timeout(mut self, d: Duration) -> ClientBuilder {
        self.read_timeout = Some(d);
        self
    }

    /// The limit for a whole request: pool wait, connect, send, and the body (default 300 s).
    pub fn total_timeout(mut self, d: Duration) -> ClientBuilder {
        self.total_timeout = Some(d);
        self
    }

    /// Alias of [`total_timeout`](ClientBuilder::total_timeout) (reqwest's name).
    pub fn timeout(self, d: Duration) -> ClientBuilder {
        self.total_timeout(d)
    }

    /// The longest wait for a connection slot when the pool is at its limits, separate from
    /// `connect_timeout` (default: none, bounded by the total timeout).
    pub fn pool_acquire_timeout(mut self, d: Duration) -> ClientBuilder {
        self.pool_acquire_timeout = Some(d);
        self
    }

    /// The redirect policy (default [`Policy::limited(10)`](Policy::limited)).
    pub fn redirect(mut self, p: Policy) -> ClientBuilder {
        self.redirect = p;
        self
    }

    /// The retry policy (default [`Retry::none`]).
    pub fn retry(mut self, r: Retry) -> ClientBuilder {
        self.retry = r;
        self
    }

    /// Trusts `cert` as a root, in addition to the built-in ones.
    pub fn add_root_certificate(mut self, cert: Certificate) -> ClientBuilder {
        self.tls.extra_roots.push(cert);
        self
    }

    /// Whether the webpki (Mozilla) roots are trusted (default true).
    pub fn tls_built_in_root_certs(mut self, yes: bool) -> ClientBuilder {
        self.tls.builtin_roots = yes;
        self
    }

    /// **Dangerous**: accepts any server certificate, for any name. For tests only.
    pub fn danger_accept_invalid_certs(mut self, yes: bool) -> ClientBuilder {
        self.tls.accept_invalid_certs = yes;
        self
    }

    /// A client certificate for mutual TLS.
    pub fn identity(mut self, id: Identity) -> ClientBuilder {
        self.tls.identity = Some(id);
        self
    }

    /// Resolves `host` to `addr` without DNS (a port of 0 means the URL's port).
    pub fn resolve(mut self, host: &str, addr: SocketAddr) -> ClientBuilder {
        self.resolve
            .entry(host.to_ascii_lowercase())
            .or_default()
            .push(addr);
        self
    }

    /// `TCP_NODELAY` on new connections (default true).
    pub fn tcp_nodelay(mut self, yes: bool) -> ClientBuilder {
        self.nodelay = yes;
        self
    }

    /// The largest body [`Response::bytes`](crate::Response::bytes), `text` and `json` buffer
    /// (default 64 MiB; streaming reads are not limited). A `Content-Length` above it fails
    /// at once, before the body is read
    /// ([`ErrorKind::DeclaredBodyTooLarge`](crate::ErrorKind::DeclaredBodyTooLarge)).
    pub fn max_body_size(mut self, n: u64) -> ClientBuilder {
        self.max_body_size = n;
        self
    }

    /// The most bytes a `gzip`/`deflate`/`br` body may decode to, in every body API (default
    /// 64 MiB): a decompression bomb fails with `BodyTooLarge` instead of filling memory.
    /// Bodies are decoded only with the `gzip` (gzip, deflate) and `brotli` (br) features,
    /// which also send `Accept-Encoding`.
    pub fn max_decoded_size(mut self, n: u64) -> ClientBuilder {
        self.max_decoded_size = n;
        self
    }

    /// Receives the client's [`Event`](crate::Event)s: request start/end, DNS, TLS handshake,
    /// connection created/reused, redirect, retry (aiohttp's `TraceConfig`).
    pub fn observer(mut self, o: impl Observer) -> ClientBuilder {
        self.hooks = Hooks(Some(Arc::new(o)));
        self
    }

    /// Sends requests through `proxy` (several may be added; the first that applies wins).
    /// No proxy is used unless one is set here or [`proxy_from_env`](Self::proxy_from_env) is
    /// called.
    pub fn proxy(mut self, proxy: Proxy) -> ClientBuilder {
        self.proxies.push(proxy);
        self
    }

    /// Adds the proxies named by `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY` and `NO_PROXY` (upper
    /// or lower case).
    pub fn proxy_from_env(mut self) -> ClientBuilder {
        match super::proxy::from_env() {
            Ok(list) => self.proxies.extend(list),
            Err(e) => self.set_error(e),
        }
        self
    }

    /// Keeps cookies from `Set-Cookie` and sends them back to matching URLs (aiohttp's
    /// `CookieJar`; off by default). Cookies are matched per redirect hop (domain, path,
    /// Secure), and a request's own `Cookie` header is kept and extended.
    pub fn cookie_store(mut self, yes: bool) -> ClientBuilder {
        self.cookie_store = yes;
        self
    }

    fn set_error(&mut self, e: Error) {
        if self.error.is_none() {
            self.error = Some(e);
        }
    }

    /// Builds the client.
    pub fn build(self) -> Result<Client, Error> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let base_url = match &self.base_url {
            Some(b) => {
                let u: Uri = b
                    .parse()
                    .map_err(|e| Error::builder(format!("invalid base_url {b:?}: {e}")))?;
                if !matches!(u.scheme_str(), Some("http") | Some("https")) || u.host().is_none() {
                    return Err(Error::builder(format!(
                        "base_url {b:?} must be an absolute http(s) URL"
                    )));
                }
                Some(u)
            }
            None => None,
        };
        let (tls, tls_error) = match build_config(&self.tls) {
            Ok(c) => (Some(c), None),
            Err(e) => return Err(e),
        };
        let connector = Connector {
            tls,
            tls_error,
            resolve: self.resolve,
            nodelay: self.nodelay,
        };
        Ok(Client {
            inner: Arc::new(ClientInner {
                pool: Pool::new(self.pool),
                keys: Default::default(),
                connector,
                cfg: Config {
                    headers: self.headers,
                    base_url,
                    connect_timeout: self.connect_timeout,
                    read_timeout: self.read_timeout,
                    total_timeout: self.total_timeout,
                    pool_acquire_timeout: self.pool_acquire_timeout,
                    redirect: self.redirect,
                    retry: self.retry,
                    max_body_size: self.max_body_size,
                    max_decoded_size: self.max_decoded_size,
                    proxies: self.proxies,
                },
                hooks: self.hooks,
                jar: self.cookie_store.then(super::cookie::Jar::default),
            }),
        })
    }
}
