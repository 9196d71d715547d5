//! A quick side-by-side: weft-http vs hyper-util's pooled legacy client (tokio, current
//! thread), same loopback server (`loadgen serve`), interleaved rounds. Not a benchmark suite:
//! `benches/` has that.
//!
//! `cargo run --release -p weft-http --example vs_hyper -- http://127.0.0.1:8099/ 20000 64`
//!
//! `VS_HYPER_ONLY=weft` (or `hyper`) runs one round of that client alone, for
//! `valgrind --tool=callgrind` or `strace -f -c`: subtract a run with 0 requests from a run with
//! N to get the cost per request.

use std::time::Instant;

use http_body_util::{BodyExt, Empty};

fn weft_round(url: &str, n: usize, c: usize) -> f64 {
    let client = weft_http::Client::builder()
        .pool_max_per_host(c)
        .build()
        .unwrap();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let start = Instant::now();
    weft_reactor::block_on(async {
        let worker = || async {
            while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < n {
                client.get(url).send().await.unwrap().bytes().await.unwrap();
            }
        };
        let mut futs: Vec<_> = (0..c).map(|_| Box::pin(worker())).collect();
        std::future::poll_fn(|cx| {
            futs.retain_mut(|f| std::future::Future::poll(f.as_mut(), cx).is_pending());
            if futs.is_empty() {
                std::task::Poll::Ready(())
            } else {
                std::task::Poll::Pending
            }
        })
        .await;
    });
    n as f64 / start.elapsed().as_secs_f64()
}

fn hyper_round(url: &str, n: usize, c: usize) -> f64 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let uri: hyper::Uri = url.parse().unwrap();
    rt.block_on(async {
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http::<Empty<bytes::Bytes>>();
        let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let start = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..c {
            let (client, uri, next) = (client.clone(), uri.clone(), next.clone());
            tasks.push(tokio::spawn(async move {
                while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < n {
                    let r = client.get(uri.clone()).await.unwrap();
                    r.into_body().collect().await.unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        n as f64 / start.elapsed().as_secs_f64()
    })
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let url = args
        .first()
        .cloned()
        .unwrap_or_else(|| "http://127.0.0.1:8099/".into());
    let n: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(20_000);
    let c: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(64);
    if let Ok(only) = std::env::var("VS_HYPER_ONLY") {
        let r = match only.as_str() {
            "weft" => weft_round(&url, n, c),
            _ => hyper_round(&url, n, c),
        };
        println!("{only}: c={c} {r:.0} req/s");
        return;
    }
    for round in 0..3 {
        let w = weft_round(&url, n, c);
        let h = hyper_round(&url, n, c);
        println!(
            "round {round}: c={c} weft {w:.0} req/s, hyper-util {h:.0} req/s, ratio {:.2}",
            w / h
        );
    }
}
