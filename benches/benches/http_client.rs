//! HTTP/1.1 clients against the same local hyper server (issue 19's HTTP group, plain HTTP):
//! hyper-util's pooled legacy `Client` (on tokio, and on weft through `weft_compat`'s
//! `WeftConnector`), reqwest and ureq, at 1 and 64 concurrent requests, with
//! 1 KiB and 64 KiB response bodies. weft's own `weft::http::Client` joins at merge (see
//! `WEFT_HTTP_CLIENT` below).
//!
//! The server is hyper's HTTP/1.1 server on a 1-worker tokio runtime
//! (`weft_benches::hyper_server`, path `/bytes/<n>`). Async clients run on one tokio
//! current-thread runtime (their usual home) with `c` tasks sharing one pooled client; ureq is
//! blocking, so `c` threads share one `Agent`. Rounds are interleaved; each cell is the median
//! requests/s over rounds (min–max) and the median of the rounds' p50/p99 latency.
//!
//! `cargo bench -p weft-benches --bench http_client -- --quick` (about 25 s), `-- --test`.

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

// WEFT_HTTP_CLIENT: at merge, add weft's own client here (ARCHITECTURE.md's HTTP API), e.g.
//
// struct Weft { rt: weft_executor::Runtime, client: weft::http::Client }
// impl HttpClient for Weft {
//     fn name(&self) -> &'static str { "weft" }
//     fn turn(&self, url: &str, conc: usize, dur: Duration, len: usize) -> Turn {
//         // `conc` weft tasks on a 1-worker weft Runtime, each looping
//         // `client.get(url).send().await?.bytes().await?` until `dur` has passed, exactly as
//         // `tokio_loops` does; Client::builder().pool_max_per_host(64).build()?
//     }
// }
//
// and put `Box::new(Weft { .. })` FIRST in `clients` in `main`, so the ratios are weft/peer.

fn main() {
    if !weft_benches::rounds::selected("http_client") {
        return;
    }
    let mode = Mode::from_env();
    let server = HttpServer::start(ServerRt::Tokio).expect("start the hyper server");
    let clients: Vec<Box<dyn HttpClient>> = vec![
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
    println!("| concurrency | body | client | requests/s median (min–max) | p50 µs | p99 µs |");
    println!("|---|---|---|---|---|---|");
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
            for (i, c) in clients.iter().enumerate() {
                println!(
                    "| {conc} | {} KiB | {} | {} | {:.0} | {:.0} |",
                    len / 1024,
                    c.name(),
                    Summary::of(&rps[i]),
                    Summary::of(&p50[i]).median,
                    Summary::of(&p99[i]).median
                );
            }
        }
    }
}
