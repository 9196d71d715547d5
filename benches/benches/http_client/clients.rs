//! The Rust contenders of the HTTP client benchmark: weft's own client (on a `Runtime` and on a
//! `LocalRuntime`), hyper-util's pooled legacy client (on tokio with hyper-rustls, and on weft
//! through `weft_compat`'s `WeftConnector`, plain only), reqwest and ureq. Every TLS client
//! trusts only the run-time CA (`Pki::ca_der`, passed to the client's process) and uses rustls
//! with the `ring` provider.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use rustls::pki_types::CertificateDer;
use weft_benches::hyper_server::tls::client_config_trusting;

use super::{merge, micros, HttpClient, Scheme, Turn};

/// Idle connections every pool may keep per host: the largest concurrency.
const POOL: usize = 64;

/// Runs `conc` copies of `one` (one request, returns the body length) on a tokio runtime until
/// `dur` has passed.
fn tokio_loops<F, Fut>(
    rt: &tokio::runtime::Runtime,
    conc: usize,
    dur: Duration,
    len: usize,
    one: F,
) -> Turn
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = usize> + Send + 'static,
{
    let start = Instant::now();
    let deadline = start + dur;
    let parts = rt.block_on(async move {
        let tasks: Vec<_> = (0..conc)
            .map(|_| {
                let one = one.clone();
                tokio::spawn(async move {
                    let mut lat = Vec::new();
                    while Instant::now() < deadline {
                        let t0 = Instant::now();
                        assert_eq!(one().await, len, "wrong body length");
                        lat.push(micros(t0));
                    }
                    lat
                })
            })
            .collect();
        let mut parts = Vec::new();
        for t in tasks {
            parts.push(t.await.expect("client task"));
        }
        parts
    });
    merge(start, parts)
}

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

type HttpsConnector =
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>;

/// hyper-util's pooled legacy `Client` on a tokio current-thread runtime, with hyper-rustls'
/// connector (`https_or_http`: plain URLs skip TLS).
pub struct HyperUtil {
    rt: tokio::runtime::Runtime,
    client: hyper_util::client::legacy::Client<HttpsConnector, Empty<Bytes>>,
}

impl HyperUtil {
    pub fn new(ca: &CertificateDer<'static>) -> HyperUtil {
        let rt = current_thread();
        let client = {
            let _g = rt.enter();
            let mut http = hyper_util::client::legacy::connect::HttpConnector::new();
            http.set_nodelay(true); // as weft and reqwest do
            http.enforce_http(false);
            let mut tls = client_config_trusting(ca).expect("rustls client config");
            tls.alpn_protocols.clear(); // hyper-rustls sets them (`enable_http1`)
            let https = hyper_rustls::HttpsConnectorBuilder::new()
                .with_tls_config(tls)
                .https_or_http()
                .enable_http1()
                .wrap_connector(http);
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .pool_max_idle_per_host(POOL)
                .build(https)
        };
        HyperUtil { rt, client }
    }
}

impl HttpClient for HyperUtil {
    fn name(&self) -> &'static str {
        "hyper-util"
    }
    fn turn(&self, url: &str, conc: usize, dur: Duration, len: usize) -> Result<Turn, String> {
        let client = self.client.clone();
        let uri: hyper::Uri = url.parse().expect("uri");
        Ok(tokio_loops(&self.rt, conc, dur, len, move || {
            let (client, uri) = (client.clone(), uri.clone());
            async move {
                let resp = client.get(uri).await.expect("hyper-util request");
                resp.into_body()
                    .collect()
                    .await
                    .expect("body")
                    .to_bytes()
                    .len()
            }
        }))
    }
}

/// hyper-util's pooled client on weft (`weft_compat::hyper::WeftConnector`), to separate the
/// runtime from the client: same client code as [`HyperUtil`], weft instead of tokio. Plain
/// HTTP only (the connector has no TLS).
pub struct HyperUtilOnWeft {
    rt: weft_executor::Runtime,
    client: hyper_util::client::legacy::Client<weft_compat::hyper::WeftConnector, Empty<Bytes>>,
}

impl HyperUtilOnWeft {
    pub fn new() -> HyperUtilOnWeft {
        use weft_compat::hyper::{WeftConnector, WeftExecutor, WeftTimer};
        let rt = weft_executor::Runtime::builder()
            .worker_threads(1)
            .thread_name("weft-client")
            .build()
            .expect("weft runtime");
        let client =
            hyper_util::client::legacy::Client::builder(WeftExecutor::with_handle(rt.handle()))
                .timer(WeftTimer::new())
                .pool_timer(WeftTimer::new())
                .pool_max_idle_per_host(POOL)
                .build(WeftConnector::new());
        HyperUtilOnWeft { rt, client }
    }
}

impl HttpClient for HyperUtilOnWeft {
    fn name(&self) -> &'static str {
        "hyper-util/weft"
    }
    fn supports(&self, scheme: Scheme) -> bool {
        scheme == Scheme::Plain
    }
    fn turn(&self, url: &str, conc: usize, dur: Duration, len: usize) -> Result<Turn, String> {
        let uri: hyper::Uri = url.parse().expect("uri");
        let start = Instant::now();
        let deadline = start + dur;
        let parts = self.rt.block_on(async {
            let tasks: Vec<_> = (0..conc)
                .map(|_| {
                    let (client, uri) = (self.client.clone(), uri.clone());
                    self.rt.spawn(async move {
                        let mut lat = Vec::new();
                        while Instant::now() < deadline {
                            let t0 = Instant::now();
                            let resp = client.get(uri.clone()).await.expect("request");
                            let body = resp.into_body().collect().await.expect("body");
                            assert_eq!(body.to_bytes().len(), len, "wrong body length");
                            lat.push(micros(t0));
                        }
                        lat
                    })
                })
                .collect();
            let mut parts = Vec::new();
            for t in tasks {
                parts.push(t.await.expect("client task"));
            }
            parts
        });
        Ok(merge(start, parts))
    }
}

/// reqwest on a tokio current-thread runtime, rustls preconfigured (its `rustls-no-provider`
/// feature: no aws-lc).
pub struct Reqwest {
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
}

impl Reqwest {
    pub fn new(ca: &CertificateDer<'static>) -> Reqwest {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(POOL)
            .tls_backend_preconfigured(client_config_trusting(ca).expect("rustls client config"))
            .build()
            .expect("reqwest client");
        Reqwest {
            rt: current_thread(),
            client,
        }
    }
}

impl HttpClient for Reqwest {
    fn name(&self) -> &'static str {
        "reqwest"
    }
    fn turn(&self, url: &str, conc: usize, dur: Duration, len: usize) -> Result<Turn, String> {
        let client = self.client.clone();
        let url = url.to_string();
        Ok(tokio_loops(&self.rt, conc, dur, len, move || {
            let (client, url) = (client.clone(), url.clone());
            async move {
                let resp = client.get(url).send().await.expect("reqwest request");
                resp.bytes().await.expect("body").len()
            }
        }))
    }
}

/// ureq (blocking): `c` threads share one `Agent`, rustls with `ring`.
pub struct Ureq {
    agent: ureq::Agent,
}

impl Ureq {
    pub fn new(ca: &CertificateDer<'static>) -> Ureq {
        use ureq::tls::{Certificate, RootCerts, TlsConfig, TlsProvider};
        let ca = Certificate::from_der(ca.as_ref()).to_owned();
        let tls = TlsConfig::builder()
            .provider(TlsProvider::Rustls)
            .root_certs(RootCerts::Specific(Arc::new(vec![ca])))
            .build();
        let agent = ureq::Agent::config_builder()
            .max_idle_connections(POOL) // the default (10) would reconnect at c=64
            .max_idle_connections_per_host(POOL)
            .tls_config(tls)
            .build()
            .into();
        Ureq { agent }
    }
}

impl HttpClient for Ureq {
    fn name(&self) -> &'static str {
        "ureq"
    }
    fn turn(&self, url: &str, conc: usize, dur: Duration, len: usize) -> Result<Turn, String> {
        let start = Instant::now();
        let deadline = start + dur;
        let failed = AtomicBool::new(false);
        let parts = std::thread::scope(|s| {
            let handles: Vec<_> = (0..conc)
                .map(|_| {
                    s.spawn(|| {
                        let mut lat = Vec::new();
                        while Instant::now() < deadline && !failed.load(Relaxed) {
                            let t0 = Instant::now();
                            let body = self
                                .agent
                                .get(url)
                                .call()
                                .and_then(|mut r| r.body_mut().read_to_vec());
                            match body {
                                Ok(b) if b.len() == len => lat.push(micros(t0)),
                                _ => failed.store(true, Relaxed),
                            }
                        }
                        lat
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("ureq thread"))
                .collect()
        });
        if failed.load(Relaxed) {
            return Err("ureq: a request failed or had the wrong length".to_string());
        }
        Ok(merge(start, parts))
    }
}

/// Where weft's client runs.
enum WeftRt {
    /// A 1-worker `Runtime`: tasks on the worker, `block_on`'s thread waits (and drives the
    /// reactor when no worker does).
    Multi(weft_executor::Runtime),
    /// A `LocalRuntime`: everything on the calling thread, like tokio's current-thread runtime.
    Local(weft_executor::LocalRuntime),
}

/// weft's own pooled client (`weft::http::Client`): `c` weft tasks share one client, exactly as
/// [`tokio_loops`] does for the tokio-based peers.
pub struct Weft {
    rt: WeftRt,
    /// The client every task clones.
    pub client: weft::http::Client,
}

impl Weft {
    /// `local`: on a `LocalRuntime`; `ca`: trust it (for the TLS cells).
    pub fn new(local: bool, ca: Option<&CertificateDer<'static>>) -> Weft {
        let b = weft_executor::Runtime::builder()
            .worker_threads(1)
            .thread_name("weft-http-client");
        let rt = if local {
            WeftRt::Local(b.build_local().expect("weft local runtime"))
        } else {
            WeftRt::Multi(b.build().expect("weft runtime"))
        };
        let mut client = weft::http::Client::builder().pool_max_per_host(POOL);
        if let Some(ca) = ca {
            client = client.add_root_certificate(weft::http::Certificate::from_der(ca.to_vec()));
        }
        let client = client.build().expect("weft client");
        Weft { rt, client }
    }

    /// Runs `conc` copies of `job` as weft tasks and collects their outputs.
    pub fn tasks<F, Fut, T>(&self, conc: usize, job: F) -> Vec<T>
    where
        F: Fn(usize, weft::http::Client) -> Fut,
        Fut: std::future::Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        let jobs = (0..conc).map(|i| job(i, self.client.clone()));
        match &self.rt {
            WeftRt::Multi(rt) => rt.block_on(async {
                let tasks: Vec<_> = jobs.map(|j| rt.spawn(j)).collect();
                let mut out = Vec::new();
                for t in tasks {
                    out.push(t.await.expect("weft client task"));
                }
                out
            }),
            WeftRt::Local(rt) => rt.block_on(async {
                let tasks: Vec<_> = jobs.map(|j| rt.spawn_local(j)).collect();
                let mut out = Vec::new();
                for t in tasks {
                    out.push(t.await.expect("weft client task"));
                }
                out
            }),
        }
    }
}

/// One GET through weft's client; returns the body length.
/// The URL is parsed once per turn, as for hyper-util (whose `get` takes a `Uri`).
pub async fn weft_get(client: &weft::http::Client, url: &hyper::Uri) -> usize {
    let resp = client.get(url).send().await.expect("weft request");
    resp.bytes().await.expect("weft body").len()
}

impl HttpClient for Weft {
    fn name(&self) -> &'static str {
        match self.rt {
            WeftRt::Multi(_) => "weft",
            WeftRt::Local(_) => "weft/local",
        }
    }
    fn turn(&self, url: &str, conc: usize, dur: Duration, len: usize) -> Result<Turn, String> {
        let start = Instant::now();
        let deadline = start + dur;
        let uri: hyper::Uri = url.parse().map_err(|e| format!("bad URL {url:?}: {e}"))?;
        let parts = self.tasks(conc, |_, client| {
            let url = uri.clone();
            async move {
                let mut lat = Vec::new();
                while Instant::now() < deadline {
                    let t0 = Instant::now();
                    assert_eq!(weft_get(&client, &url).await, len, "wrong body length");
                    lat.push(micros(t0));
                }
                lat
            }
        });
        Ok(merge(start, parts))
    }
}
