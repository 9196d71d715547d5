//! Fetch 10,000 pages concurrently through one pooled HTTP client: asyncio's central example
//! (`aiohttp.ClientSession` + `gather` under a semaphore), with weft.
//!
//! ```sh
//! cargo run --release --example crawl                      # against an embedded local server
//! cargo run --release --example crawl -- urls.txt          # URLs from a file (one per line)
//! cargo run --release --example crawl -- http://127.0.0.1:8080/ --requests 500
//! ```
//!
//! Options: `--requests N` (default 10,000 with the embedded server, else one per URL),
//! `--concurrency C` (default 64), `--per-host P` (default 16).
//!
//! The embedded server (weft's own `TcpListener` + `spawn`, keep-alive, small pages) also
//! serves a few pages that stall, and the URL list gets a bad URL and a refused port, so the
//! summary shows errors being counted and named: a failure is never a panic.

use std::collections::BTreeMap;
use std::io::{self, Write as _};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use weft::http::{Client, Retry};
use weft::io::{AsyncReadExt, AsyncWriteExt};
use weft::net::{TcpListener, TcpStream};

const DEFAULT_REQUESTS: usize = 10_000;

struct Options {
    urls: Vec<String>,
    requests: Option<usize>,
    concurrency: usize,
    per_host: usize,
}

fn parse_args() -> Result<Options, String> {
    let mut o = Options {
        urls: Vec::new(),
        requests: None,
        concurrency: 64,
        per_host: 16,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut num = |name: &str| -> Result<usize, String> {
            args.next()
                .and_then(|v| v.parse().ok())
                .filter(|&n| n > 0)
                .ok_or_else(|| format!("{name} needs a positive number"))
        };
        match a.as_str() {
            "--requests" => o.requests = Some(num("--requests")?),
            "--concurrency" => o.concurrency = num("--concurrency")?,
            "--per-host" => o.per_host = num("--per-host")?,
            "-h" | "--help" => {
                return Err(
                    "usage: crawl [URL | FILE]... [--requests N] [--concurrency C] \
                            [--per-host P]"
                        .into(),
                )
            }
            u if u.contains("://") => o.urls.push(u.to_string()),
            file => {
                let text = std::fs::read_to_string(file)
                    .map_err(|e| format!("cannot read URL list {file:?}: {e}"))?;
                o.urls.extend(
                    text.lines()
                        .map(str::trim)
                        .filter(|l| !l.is_empty() && !l.starts_with('#'))
                        .map(String::from),
                );
            }
        }
    }
    Ok(o)
}

/// The embedded server: keep-alive HTTP/1.1, `/page/N` is a small HTML page, `/slow/N` never
/// answers in time.
async fn serve_one(mut s: TcpStream) -> io::Result<()> {
    s.set_nodelay(true)?;
    let mut buf = Vec::with_capacity(4096);
    let mut tmp = [0u8; 4096];
    loop {
        let end = loop {
            if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break p + 4;
            }
            let n = s.read(&mut tmp).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&tmp[..n]);
        };
        let line = String::from_utf8_lossy(&buf[..end])
            .lines()
            .next()
            .unwrap_or("")
            .to_string();
        buf.drain(..end);
        let path = line.split(' ').nth(1).unwrap_or("/");
        if path.starts_with("/slow") {
            weft::sleep(Duration::from_secs(30)).await;
            return Ok(());
        }
        let n: u64 = path
            .rsplit('/')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let body = format!(
            "<!doctype html><title>page {n}</title><p>{}</p><a href=\"/page/{}\">next</a>\n",
            "weft ".repeat(40),
            n + 1
        );
        let resp = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        s.write_all(resp.as_bytes()).await?;
    }
}

async fn embedded_server() -> io::Result<std::net::SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    weft::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            weft::spawn(async move {
                let _ = serve_one(s).await;
            })
            .detach();
        }
    })
    .detach();
    Ok(addr)
}

#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    errors: BTreeMap<&'static str, (usize, String)>,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    let opts = match parse_args() {
        Ok(o) => o,
        Err(msg) => {
            eprintln!("{msg}");
            std::process::exit(2);
        }
    };
    weft::run(async move {
        let mut urls = opts.urls;
        let embedded = urls.is_empty();
        let total = if embedded {
            let addr = match embedded_server().await {
                Ok(a) => a,
                Err(e) => {
                    eprintln!("crawl: cannot start the embedded server: {e}");
                    return;
                }
            };
            let refused = {
                let l = std::net::TcpListener::bind("127.0.0.1:0").ok();
                l.and_then(|l| l.local_addr().ok())
            };
            let n = opts.requests.unwrap_or(DEFAULT_REQUESTS);
            urls = (0..n)
                .map(|i| match i {
                    // A few failures on purpose, to show them counted and named.
                    13 => "http://exa mple.invalid/".to_string(),
                    29 => refused.map_or("http://127.0.0.1:1/".into(), |a| format!("http://{a}/")),
                    i if i % 2500 == 7 => format!("http://{addr}/slow/{i}"),
                    i => format!("http://{addr}/page/{i}"),
                })
                .collect();
            eprintln!("crawl: embedded server on http://{addr}/, {n} requests");
            n
        } else {
            let n = opts.requests.unwrap_or(urls.len());
            eprintln!("crawl: {} URL(s), {n} requests", urls.len());
            n
        };

        let client = match Client::builder()
            .pool_max_per_host(opts.per_host)
            .pool_max_total(opts.concurrency.max(opts.per_host))
            .connect_timeout(Duration::from_secs(2))
            .read_timeout(Duration::from_millis(500))
            .total_timeout(Duration::from_secs(10))
            .retry(Retry::idempotent(2).backoff(Duration::from_millis(20)))
            .build()
        {
            Ok(c) => c,
            Err(e) => {
                eprintln!("crawl: {e}");
                return;
            }
        };

        let urls = Arc::new(urls);
        let next = Arc::new(AtomicUsize::new(0));
        let done = Arc::new(AtomicUsize::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        let in_flight = Arc::new(AtomicUsize::new(0));
        let tally = Arc::new(Mutex::new(Tally::default()));
        let start = Instant::now();

        // The live progress line.
        let progress = {
            let (done, failed, in_flight) = (done.clone(), failed.clone(), in_flight.clone());
            weft::spawn(async move {
                let mut tick = weft::interval(Duration::from_millis(100));
                loop {
                    tick.tick().await;
                    let d = done.load(Ordering::Relaxed);
                    let rate = d as f64 / start.elapsed().as_secs_f64().max(1e-9);
                    eprint!(
                        "\r  done {d:>6}/{total}  in flight {:>4}  {rate:>8.0} req/s  errors {:<6}",
                        in_flight.load(Ordering::Relaxed),
                        failed.load(Ordering::Relaxed)
                    );
                    let _ = io::stderr().flush();
                }
            })
        };

        let mut workers = Vec::new();
        for _ in 0..opts.concurrency.min(total) {
            let (client, urls, next) = (client.clone(), urls.clone(), next.clone());
            let (done, failed, in_flight, tally) = (
                done.clone(),
                failed.clone(),
                in_flight.clone(),
                tally.clone(),
            );
            workers.push(weft::spawn(async move {
                let mut lat = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= total {
                        break;
                    }
                    let url = &urls[i % urls.len()];
                    in_flight.fetch_add(1, Ordering::Relaxed);
                    let t0 = Instant::now();
                    let res = async {
                        let resp = client.get(url).send().await?.error_for_status()?;
                        resp.bytes().await
                    }
                    .await;
                    in_flight.fetch_sub(1, Ordering::Relaxed);
                    match res {
                        Ok(_) => lat.push(t0.elapsed()),
                        Err(e) => {
                            failed.fetch_add(1, Ordering::Relaxed);
                            let mut t = tally.lock().unwrap();
                            let entry = t.errors.entry(e.kind_name()).or_insert((0, e.to_string()));
                            entry.0 += 1;
                        }
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                }
                tally.lock().unwrap().latencies.extend(lat);
            }));
        }
        for w in workers {
            let _ = w.await;
        }
        drop(progress);
        let elapsed = start.elapsed();
        let mut t = std::mem::take(&mut *tally.lock().unwrap());
        t.latencies.sort_unstable();
        let stats = client.pool_stats();
        let ok = t.latencies.len();
        eprintln!();
        println!("crawl: {total} requests in {:.2} s", elapsed.as_secs_f64());
        println!(
            "  requests/s   {:.0}",
            total as f64 / elapsed.as_secs_f64().max(1e-9)
        );
        println!(
            "  latency      p50 {:.2} ms  p99 {:.2} ms  (successful requests)",
            percentile(&t.latencies, 0.50).as_secs_f64() * 1e3,
            percentile(&t.latencies, 0.99).as_secs_f64() * 1e3
        );
        println!(
            "  connections  opened {}  reused {}",
            stats.connections_created, stats.connections_reused
        );
        println!("  ok {ok}  errors {}", total - ok);
        for (kind, (n, example)) in &t.errors {
            println!("    {kind:<22} {n:>6}  e.g. {example}");
        }
    });
}
