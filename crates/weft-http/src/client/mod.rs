//! The client: [`Client`], its builder, requests, responses, the pool, connecting, TLS,
//! redirects and retries.

pub(crate) mod body;
pub(crate) mod builder;
pub(crate) mod close;
pub(crate) mod connect;
pub(crate) mod cookie;
pub(crate) mod cookie_date;
pub(crate) mod deadline;
pub(crate) mod decompress;
pub(crate) mod observe;
pub(crate) mod pool;
pub(crate) mod proxy;
pub mod redirect;
pub(crate) mod request;
pub(crate) mod response;
pub(crate) mod retry;
pub(crate) mod send;
pub(crate) mod tls;
pub(crate) mod tls_stream;

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::header::{HeaderValue, COOKIE, LOCATION};
use http::{HeaderMap, Method, Uri};

pub use body::Body;
pub use builder::ClientBuilder;
pub use observe::{Event, Observer};
pub use pool::PoolStats;
pub use proxy::Proxy;
pub use request::{IntoUrl, RequestBuilder};
pub use response::{BodyReader, BodyStream, Response};
pub use retry::Retry;

use connect::Connector;
use deadline::Deadlines;
use pool::{Pool, Pooled, Slot};
use redirect::{Action, Attempt, Policy};
use request::RequestParts;
use response::BodyState;
use send::Prepared;

use crate::error::{Error, ErrorKind, TimeoutKind};
use crate::proto::h1::decode::Decoder;
use crate::proto::h1::role::{host_header, Target};

/// The settings every request of a client uses.
pub(crate) struct Config {
    pub(crate) headers: HeaderMap,
    pub(crate) base_url: Option<Uri>,
    pub(crate) connect_timeout: Option<Duration>,
    pub(crate) read_timeout: Option<Duration>,
    pub(crate) total_timeout: Option<Duration>,
    pub(crate) pool_acquire_timeout: Option<Duration>,
    pub(crate) redirect: Policy,
    pub(crate) retry: Retry,
    pub(crate) max_body_size: u64,
    pub(crate) max_decoded_size: u64,
    pub(crate) proxies: Vec<Proxy>,
}

pub(crate) struct ClientInner {
    pub(crate) pool: Pool,
    pub(crate) keys: pool::KeyCache,
    pub(crate) connector: Connector,
    pub(crate) cfg: Config,
    pub(crate) hooks: observe::Hooks,
    pub(crate) jar: Option<cookie::Jar>,
}

/// An HTTP/1.1 client with a connection pool: aiohttp's `ClientSession`.
///
/// Cheap to clone; clones share the pool. Idle connections are closed when the last clone and
/// the last response are dropped (nothing runs in the background after that).
///
/// ```no_run
/// # weft_reactor::block_on(async {
/// let client = weft_http::Client::new();
/// let resp = client.get("http://127.0.0.1:8080/").header("accept", "text/plain").send().await?;
/// let text = resp.error_for_status()?.text().await?;
/// # let _ = text;
/// # Ok::<(), weft_http::Error>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<ClientInner>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("pool", &self.inner.pool.stats())
            .finish_non_exhaustive()
    }
}

impl Default for Client {
    fn default() -> Client {
        Client::new()
    }
}

/// The body a request attempt sends, and the copy kept for replays.
struct BodySource {
    template: Option<Body>,
    once: Option<Body>,
}

impl BodySource {
    fn new(body: Body) -> BodySource {
        match body.try_clone() {
            Some(_) => BodySource {
                template: Some(body),
                once: None,
            },
            None => BodySource {
                template: None,
                once: Some(body),
            },
        }
    }

    fn take(&mut self) -> Option<Body> {
        match &self.template {
            Some(t) => t.try_clone(),
            None => self.once.take(),
        }
    }

    fn put_back(&mut self, b: Body) {
        if self.template.is_none() {
            self.once = Some(b);
        }
    }

    fn is_replayable(&self) -> bool {
        self.template.is_some() || self.once.is_some()
    }
}

/// Per-request options that every hop and attempt uses.
struct HopOptions {
    tls_name: Option<String>,
    expect_continue: bool,
}

/// A failed attempt.
struct AttemptError {
    err: Error,
    /// Never written on a reused connection: re-send at once on another.
    stale: bool,
}

impl From<Error> for AttemptError {
    fn from(err: Error) -> AttemptError {
        AttemptError { err, stale: false }
    }
}

/// Runs `fut` under the request's total deadline, if any. The timer is registered only if `fut`
/// has to wait (`weft_timer::Timeout` polls the inner future first).
async fn within<F: std::future::Future>(
    deadline: Option<Instant>,
    fut: F,
) -> Result<F::Output, Error> {
    match deadline {
        Some(at) => weft_timer::timeout_at(at, fut)
            .await
            .map_err(|_| Error::timeout(TimeoutKind::Total)),
        None => Ok(fut.await),
    }
}

impl Client {
    /// A client with the default settings ([`ClientBuilder::new`]).
    ///
    /// # Panics
    ///
    /// Never in practice: the default configuration always builds.
    pub fn new() -> Client {
        ClientBuilder::new()
            .build()
            .expect("the default client configuration builds")
    }

    /// A builder for a configured client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// A request with `method` to `url`.
    pub fn request(&self, method: Method, url: impl IntoUrl) -> RequestBuilder {
        let url = url.into_url(self.inner.cfg.base_url.as_ref());
        RequestBuilder::new(self.clone(), method, url)
    }

    /// A GET request.
    pub fn get(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::GET, url)
    }

    /// A POST request.
    pub fn post(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::POST, url)
    }

    /// A PUT request.
    pub fn put(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::PUT, url)
    }

    /// A PATCH request.
    pub fn patch(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::PATCH, url)
    }

    /// A DELETE request.
    pub fn delete(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::DELETE, url)
    }

    /// A HEAD request.
    pub fn head(&self, url: impl IntoUrl) -> RequestBuilder {
        self.request(Method::HEAD, url)
    }

    /// Sends an `http::Request` (its URI must be absolute).
    pub async fn execute(&self, req: http::Request<Body>) -> Result<Response, Error> {
        let (parts, body) = req.into_parts();
        let uri = parts.uri.into_url(self.inner.cfg.base_url.as_ref())?;
        self.execute_parts(RequestParts {
            method: parts.method,
            uri,
            headers: parts.headers,
            body,
            timeout: None,
            tls_server_name: None,
            expect_continue: false,
        })
        .await
    }

    /// The pool's counters: open, idle, in use, waiting, created, reused.
    pub fn pool_stats(&self) -> PoolStats {
        self.inner.pool.stats()
    }

    pub(crate) async fn execute_parts(&self, req: RequestParts) -> Result<Response, Error> {
        let total = req.timeout.or(self.inner.cfg.total_timeout);
        let deadline = total.map(|d| Instant::now() + d);
        let hooks = &self.inner.hooks;
        // Only an observer needs the URL and method after the request has moved on.
        let started = hooks.on().map(|o| {
            o.on_event(&Event::RequestStart {
                method: &req.method,
                url: &req.uri,
            });
            (Instant::now(), req.method.clone(), req.uri.clone())
        });
        // The total deadline is enforced by each phase that can wait (checkout, connect, write,
        // read, backoff), each arming a timer only when it has to wait: no per-request timer
        // wraps the whole request, and the read phase's one timer carries on into the body.
        let res = self.follow_redirects(req, deadline).await;
        if let (Some(o), Some((t0, method, url))) = (hooks.on(), started) {
            o.on_event(&Event::RequestEnd {
                method: &method,
                url: res.as_ref().map_or(&url, |r| r.url()),
                status: res.as_ref().ok().map(|r| r.status()),
                error: res.as_ref().err(),
                elapsed: t0.elapsed(),
            });
        }
        res
    }

    async fn follow_redirects(
        &self,
        req: RequestParts,
        deadline: Option<Instant>,
    ) -> Result<Response, Error> {
        let RequestParts {
            mut method,
            mut uri,
            mut headers,
            body,
            timeout: _,
            tls_server_name,
            expect_continue,
        } = req;
        let opts = HopOptions {
            tls_name: tls_server_name,
            expect_continue,
        };
        let cfg = &self.inner.cfg;
        // The common case (no per-request headers): the defaults, borrowed; a redirect that
        // strips some clones them then.
        let mut headers: Cow<'_, HeaderMap> = if headers.is_empty() {
            Cow::Borrowed(&cfg.headers)
        } else {
            for (k, v) in cfg.headers.iter() {
                if !headers.contains_key(k) {
                    headers.insert(k.clone(), v.clone());
                }
            }
            Cow::Owned(headers)
        };
        let mut body = BodySource::new(body);
        // The URLs visited so far, made at the first redirect (most requests have none).
        let mut history: Vec<Uri> = Vec::new();
        loop {
            let jar = self.inner.jar.as_ref();
            let with_cookies = jar.and_then(|j| j.header_for(&uri)).map(|v| {
                let mut h = HeaderMap::clone(&headers);
                let joined = match h.get(COOKIE) {
                    Some(user) => {
                        let mut s = user.as_bytes().to_vec();
                        s.extend_from_slice(b"; ");
                        s.extend_from_slice(v.as_bytes());
                        HeaderValue::from_bytes(&s).unwrap_or(v)
                    }
                    None => v,
                };
                h.insert(COOKIE, joined);
                h
            });
            let resp = self
                .send_with_retries(
                    &method,
                    &uri,
                    with_cookies.as_ref().unwrap_or(&*headers),
                    &mut body,
                    &opts,
                    deadline,
                )
                .await
                .map_err(|e| e.with_url(&uri))?;
            if let Some(j) = jar {
                j.store(&uri, resp.headers());
            }
            if !redirect::is_redirect(resp.status()) {
                return Ok(resp);
            }
            let Some(loc) = resp.headers().get(LOCATION) else {
                return Ok(resp);
            };
            let loc = String::from_utf8_lossy(loc.as_bytes()).into_owned();
            let next = redirect::resolve(&uri, &loc).map_err(|e| e.with_url(&uri))?;
            let status = resp.status();
            if history.is_empty() {
                history.push(uri.clone());
            }
            match cfg.redirect.decide(&Attempt {
                status,
                next: &next,
                previous: &history,
            }) {
                Action::Stop => return Ok(resp),
                Action::TooMany => {
                    return Err(Error::new(ErrorKind::TooManyRedirects(
                        history.len().saturating_sub(1).max(cfg.redirect.limit()),
                    ))
                    .with_url(&uri))
                }
                Action::Follow => {}
            }
            drop(resp);
            let new_method = redirect::next_method(status, &method);
            if new_method != method && new_method == Method::GET {
                redirect::strip_body_headers(headers.to_mut());
                body = BodySource::new(Body::empty());
            } else if !body.is_replayable() {
                return Err(Error::new(ErrorKind::RedirectBodyNotReplayable).with_url(&uri));
            }
            method = new_method;
            if redirect::origin(&uri) != redirect::origin(&next) {
                redirect::strip_credentials(headers.to_mut());
            }
            if let Some(o) = self.inner.hooks.on() {
                o.on_event(&Event::Redirect {
                    status,
                    from: &uri,
                    to: &next,
                });
            }
            history.push(next.clone());
            uri = next;
        }
    }

    async fn send_with_retries(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &mut BodySource,
        opts: &HopOptions,
        deadline: Option<Instant>,
    ) -> Result<Response, Error> {
        let cfg = &self.inner.cfg;
        let mut retries = 0u32;
        let mut stale_resends = 0u32;
        loop {
            let Some(b) = body.take() else {
                return Err(Error::new(ErrorKind::RedirectBodyNotReplayable));
            };
            match self
                .send_once(method, uri, headers, b, body, opts, deadline)
                .await
            {
                Ok(r) => return Ok(r),
                Err(AttemptError { stale: true, err }) if stale_resends < 3 => {
                    stale_resends += 1;
                    if let Some(o) = self.inner.hooks.on() {
                        o.on_event(&Event::Retry {
                            url: uri,
                            attempt: stale_resends + retries,
                            error: &err,
                            delay: Duration::ZERO,
                        });
                    }
                }
                Err(AttemptError { err, .. }) => {
                    let replayable = body.template.is_some();
                    if replayable && cfg.retry.should_retry(retries, method, &err) {
                        let delay = cfg.retry.delay(retries);
                        retries += 1;
                        if let Some(o) = self.inner.hooks.on() {
                            o.on_event(&Event::Retry {
                                url: uri,
                                attempt: stale_resends + retries,
                                error: &err,
                                delay,
                            });
                        }
                        if !delay.is_zero() {
                            within(deadline, weft_timer::sleep(delay)).await?;
                        }
                        continue;
                    }
                    return Err(err);
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn send_once(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: Body,
        source: &mut BodySource,
        opts: &HopOptions,
        deadline: Option<Instant>,
    ) -> Result<Response, AttemptError> {
        let inner = &*self.inner;
        let https = uri.scheme_str() == Some("https");
        let host = uri.host().unwrap_or("");
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let proxy = proxy::select(&inner.cfg.proxies, https, host);
        let key = inner
            .keys
            .key(https, host, port, opts.tls_name.as_deref(), proxy);
        let checkout = inner.pool.checkout(key);
        let slot = match inner.cfg.pool_acquire_timeout {
            Some(d) => within(deadline, weft_timer::timeout(d, checkout))
                .await?
                .map_err(|_| Error::new(ErrorKind::PoolAcquireTimeout))?,
            None => within(deadline, checkout).await?,
        };
        let mut pooled: Pooled = match slot {
            Slot::Reused(p) => {
                if let Some(o) = inner.hooks.on() {
                    o.on_event(&Event::ConnectionReused { host, port });
                }
                p
            }
            Slot::Connect(permit) => {
                let t0 = inner.hooks.on().map(|_| Instant::now());
                // Boxed: connecting is rare next to reuse, and its future is the largest part
                // of a request's (moved several times per request otherwise).
                let connect = Box::pin(inner.connector.connect(permit.key(), &inner.hooks));
                let conn = match inner.cfg.connect_timeout {
                    Some(d) => within(deadline, weft_timer::timeout(d, connect))
                        .await?
                        .map_err(|_| Error::timeout(TimeoutKind::Connect))??,
                    None => within(deadline, connect).await??,
                };
                if let (Some(o), Some(t0)) = (inner.hooks.on(), t0) {
                    o.on_event(&Event::ConnectionCreated {
                        host,
                        port,
                        elapsed: t0.elapsed(),
                    });
                }
                permit.complete(conn)
            }
        };
        let reused = pooled.is_reused();
        let host_value = host_header(host, port, https);
        let forward = proxy.filter(|_| !https);
        let prepared = Prepared {
            method,
            target: Target {
                uri,
                host: host_value,
                absolute: forward.is_some(),
                proxy_auth: forward.and_then(|p| p.auth.as_deref()),
            },
            headers,
        };
        let write = send::write_request(pooled.conn(), &prepared, body, opts.expect_continue);
        let body_sent = match within(deadline, write).await? {
            Ok(sent) => sent,
            Err(f) => {
                if let Some(b) = f.body {
                    source.put_back(b);
                }
                return Err(AttemptError {
                    err: f.err,
                    stale: reused && f.never_written,
                });
            }
        };
        let mut deadlines = Deadlines::new(inner.cfg.read_timeout, deadline);
        let head = send::read_head(pooled.conn(), *method == Method::HEAD, &mut deadlines).await?;
        let decoder = Decoder::new(head.body);
        let mut headers = head.headers;
        let inflate = if *method == Method::HEAD {
            None
        } else {
            decompress::Inflate::for_headers(&headers, inner.cfg.max_decoded_size)
        };
        if inflate.is_some() {
            decompress::strip_encoding_headers(&mut headers);
        }
        let state = BodyState::new(
            pooled,
            decoder,
            // A final answer before the body was sent: the connection's framing is lost.
            head.keep_alive && body_sent,
            deadlines,
            inner.cfg.max_body_size,
            inflate,
        );
        Ok(Response::new(
            head.status,
            head.version,
            headers,
            uri.clone(),
            state,
        ))
    }
}
