//! HTTP/1.1 clients against the same local hyper server (issue 16's benchmarks, issue 19's HTTP
//! group, plain HTTP): weft's own `weft::http::Client` (`weft`: on a 1-worker weft `Runtime`;
//! `weft/local`: on a `LocalRuntime`, one thread like tokio's current-thread), hyper-util's
//! pooled legacy `Client` (on tokio, and on weft through `weft_compat`'s `WeftConnector`),
//! reqwest and ureq, at 1 and 64 concurrent requests, with 1 KiB and 64 KiB response bodies.
//! The last two columns are weft/peer and weft/local/peer: requests/s (higher is better for
//! weft) and p99 (lower is).
//!
//! No TLS variant: the peers' TLS stacks (tokio-rustls, hyper-rustls, reqwest's `rustls`
//! feature) are not in the lockfile; see docs/benchmarks.md.
//!
//! The server is hyper's HTTP/1.1 server on a 1-worker tokio runtime
//! (`weft_benches::hyper_server`, path `/bytes/<n>`). Async clients run on one tokio
//! current-thread runtime (their usual home) with `c` tasks sharing one pooled client; ureq is
//! blocking, so `c` threads share one `Agent`. Rounds are interleaved; each cell is the median
//! requests/s over rounds (min–max) and the median of the rounds' p50/p99 latency.
//!
//! `cargo bench -p weft-benches --bench http_client -- --quick` (about 45 s), `-- --test`.
//! `WEFT_HTTP_CLIENT_ONLY=<addr>,<requests>,<conc>,<body>` runs weft's client alone, for
//! `strace -f -c` (see [`client_only`]).

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use weft_benches::hyper_server::{HttpServer, ServerRt};
use weft_benches::rounds::{quantile, rotation, Mode, Summary};

const CONCURRENCY: [usize; 2] = [1, 64];
const BODIES: [usize; 2] = [1024, 64 * 1024];

/// What one client turn measured.
struct Turn {
    requests: u64,
    elapsed: Duration,
    latencies_us: Vec<u32>,
}

/// A client under test.
trait HttpClient {
    fn name(&self) -> &'static str;
    /// Runs `conc` concurrent request loops against `url` for `dur`; every body must be `len`
    /// bytes long.
    fn turn(&self, url: &str, conc: usize, dur: Duration, len: usize) -> Turn;
}

/// Collects per-task latencies into a [`Turn`].
fn merge(start: Instant, parts: Vec<Vec<u32>>) -> Turn {
    let mut latencies_us: Vec<u32> = parts.into_iter().flatten().collect();
    latencies_us.sort_unstable();
    Turn {
        requests: latencies_us.len() as u64,
        elapsed: start.elapsed(),
        latencies_us,
    }
}

fn micros(t0: Instant) -> u32 {
    u32::try_from(t0.elapsed().as_micros()).unwrap_or(u32::MAX)
}

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

struct HyperUtil {
    rt: tokio::runtime::Runtime,
    client: hyper_util::client::legacy::Client<
        hyper_util::client::legacy::connect::HttpConnector,
        Empty<Bytes>,
    >,
}

impl HyperUtil {
    fn new() -> HyperUtil {
        let rt = current_thread();
        let client = {
            let _g = rt.enter();
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .pool_max_idle_per_host(64)
                .build_http()
        };
        HyperUtil { rt, client }
    }
}

impl HttpClient for HyperUtil {
    fn name(&self) -> &'static str {
        "hyper-util"
    }
    fn turn(&self, url: &str, conc: usize, dur: Duration, len: usize) -> Turn {
        let client = self.client.clone();
        let uri: hyper::Uri = url.parse().expect("uri");
        tokio_loops(&self.rt, conc, dur, len, move || {
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
        })
    }
}

/// hyper-util's pooled client on weft (`weft_compat::hyper::WeftConnector`), to separate the
/// runtime from the client: same client code as [`HyperUtil`], weft instead of tokio.
struct HyperUtilOnWeft {
    rt: weft_executor::Runtime,
    client: hyper_util::client::legacy::Client<weft_compat::hyper::WeftConnector, Empty<Bytes>>,
}

impl HyperUtilOnWeft {
    fn new() -> HyperUtilOnWeft {
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
                .pool_max_idle_per_host(64)
                .build(WeftConnector::new());
        HyperUtilOnWeft { rt, client }
    }
}

impl HttpClient for HyperUtilOnWeft {
    fn name(&self) -> &'static str {
        "hyper-util/weft"
    }
    fn turn(&self, url: &str, conc: usize, dur: Duration, len: usize) -> Turn {
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
        merge(start, parts)
    }
}

struct Reqwest {
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
}

impl HttpClient for Reqwest {
    fn name(&self) -> &'static str {
        "reqwest"
    }
    fn turn(&self, url: &str, conc: usize, dur: Duration, len: usize) -> Turn {
        let client = self.client.clone();
        let url = url.to_string();
        tokio_loops(&self.rt, conc, dur, len, move || {
            let (client, url) = (client.clone(), url.clone());
            async move {
                let resp = client.get(url).send().await.expect("reqwest request");
                resp.bytes().await.expect("body").len()
            }
        })
    }
}

struct Ureq {
    agent: ureq::Agent,
}

impl HttpClient for Ureq {
    fn name(&self) -> &'static str {
        "ureq"
    }
    fn turn(&self, url: &str, conc: usize, dur: Duration, len: usize) -> Turn {
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
        assert!(
            !failed.load(Relaxed),
            "ureq: a request failed or had the wrong length"
        );
        merge(start, parts)
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
struct Weft {
    rt: WeftRt,
    client: weft::http::Client,
}

impl Weft {
    fn new(local: bool) -> Weft {
        let b = weft_executor::Runtime::builder()
            .worker_threads(1)
            .thread_name("weft-http-client");
        let rt = if local {
            WeftRt::Local(b.build_local().expect("weft local runtime"))
        } else {
            WeftRt::Multi(b.build().expect("weft runtime"))
        };
        let client = weft::http::Client::builder()
            .pool_max_per_host(64)
            .build()
            .expect("weft client");
        Weft { rt, client }
    }

    /// Runs `conc` copies of `job` as weft tasks and collects their outputs.
    fn tasks<F, Fut, T>(&self, conc: usize, job: F) -> Vec<T>
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
async fn weft_get(client: &weft::http::Client, url: &str) -> usize {
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
    fn turn(&self, url: &str, conc: usize, dur: Duration, len: usize) -> Turn {
        let start = Instant::now();
        let deadline = start + dur;
        let parts = self.tasks(conc, |_, client| {
            let url = url.to_string();
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
        merge(start, parts)
    }
}

/// `WEFT_HTTP_CLIENT_ONLY=<addr>[,<requests>[,<conc>[,<body>]]]`: only weft's client, for
/// `strace -f -c` against a server in another process (`weft-bench-http serve tokio`). Each of
/// `conc` tasks opens its connection with one warm-up GET, then all send `requests` keep-alive
/// GETs in total; subtract a warm-up-only run (`requests` = 0) from a full one to get the
/// syscalls per keep-alive request. `WEFT_HTTP_CLIENT_LOCAL=1` uses the `LocalRuntime`.
fn client_only(spec: &str) {
    let mut it = spec.split(',');
    let addr = it.next().unwrap_or("127.0.0.1:8080");
    let mut num = |d: usize| it.next().and_then(|v| v.parse().ok()).unwrap_or(d);
    let (requests, conc, len) = (num(20_000), num(1), num(1024));
    let url = format!("http://{addr}/bytes/{len}");
    let local = std::env::var_os("WEFT_HTTP_CLIENT_LOCAL").is_some();
    let w = Weft::new(local);
    let t0 = Instant::now();
    w.tasks(conc, |i, client| {
        let url = url.clone();
        let mine = requests / conc + usize::from(i < requests % conc);
        async move {
            assert_eq!(weft_get(&client, &url).await, len, "warm-up body");
            for _ in 0..mine {
                assert_eq!(weft_get(&client, &url).await, len, "wrong body length");
            }
        }
    });
    let stats = w.client.pool_stats();
    eprintln!(
        "weft client: {requests} requests (+{conc} warm-up) in {:?}; connections created {}, \
         reused {}",
        t0.elapsed(),
        stats.connections_created,
        stats.connections_reused
    );
    // Skip the runtime's teardown: strace counts what requests cost.
    std::process::exit(0);
}

fn main() {
    if let Ok(spec) = std::env::var("WEFT_HTTP_CLIENT_ONLY") {
        return client_only(&spec);
    }
    if !weft_benches::rounds::selected("http_client") {
        return;
    }
    let mode = Mode::from_env();
    let server = HttpServer::start(ServerRt::Tokio).expect("start the hyper server");
    let clients: Vec<Box<dyn HttpClient>> = vec![
        Box::new(Weft::new(false)),
        Box::new(Weft::new(true)),
        Box::new(HyperUtil::new()),
        Box::new(HyperUtilOnWeft::new()),
        Box::new(Reqwest {
            rt: current_thread(),
            client: reqwest::Client::builder()
                .pool_max_idle_per_host(64)
                .build()
                .expect("reqwest client"),
        }),
        Box::new(Ureq {
            agent: ureq::Agent::config_builder()
                .max_idle_connections_per_host(64)
                .build()
                .into(),
        }),
    ];
    let turn = match mode {
        Mode::Test => Duration::from_millis(50),
        Mode::Quick => Duration::from_millis(600),
        Mode::Full => Duration::from_secs(1),
    };
    println!(
        "\n## http_client: GET against hyper's server on 1 tokio thread ({} rounds × {:?}, \
         interleaved)\n",
        mode.rounds(),
        turn
    );
    println!(
        "| concurrency | body | client | requests/s median (min–max) | p50 µs | p99 µs | \
         weft/peer req/s / p99 | weft/local/peer req/s / p99 |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for conc in CONCURRENCY {
        for len in BODIES {
            let url = format!("http://{}/bytes/{len}", server.addr());
            for c in &clients {
                c.turn(&url, conc, turn / 4, len); // warm-up: opens the pooled connections
            }
            let n = clients.len();
            let (mut rps, mut p50, mut p99) = (vec![vec![]; n], vec![vec![]; n], vec![vec![]; n]);
            for round in 0..mode.rounds() {
                for i in rotation(n, round) {
                    let t = clients[i].turn(&url, conc, turn, len);
                    rps[i].push(t.requests as f64 / t.elapsed.as_secs_f64());
                    p50[i].push(f64::from(quantile(&t.latencies_us, 0.5).unwrap_or(0)));
                    p99[i].push(f64::from(quantile(&t.latencies_us, 0.99).unwrap_or(0)));
                }
            }
            // clients[0] and [1] are weft (Runtime, LocalRuntime): each peer's row also shows
            // weft/peer for requests/s and p99, for both.
            let med = |v: &[f64]| Summary::of(v).median;
            for (i, c) in clients.iter().enumerate() {
                let (r, p) = (Summary::of(&rps[i]), med(&p99[i]));
                let ratio = |w: usize| {
                    format!(
                        "{:.2}× / {:.2}×",
                        med(&rps[w]) / r.median,
                        med(&p99[w]) / p.max(1.0)
                    )
                };
                let ratio = if i < 2 {
                    "— | —".to_string()
                } else {
                    format!("{} | {}", ratio(0), ratio(1))
                };
                println!(
                    "| {conc} | {} KiB | {} | {r} | {:.0} | {p:.0} | {ratio} |",
                    len / 1024,
                    c.name(),
                    Summary::of(&p50[i]).median,
                );
            }
        }
    }
}
