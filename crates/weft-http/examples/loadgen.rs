//! A small load generator for quick checks (syscalls per request, requests/s).
//!
//! `cargo run --release -p weft-http --example loadgen -- serve 127.0.0.1:8099` runs a minimal
//! keep-alive server on std threads; `... -- get http://127.0.0.1:8099/ 20000 [concurrency]`
//! sends that many GETs through one pooled client and prints requests/s.

use std::io::{Read, Write};
use std::time::Instant;

fn serve(addr: &str) {
    let l = std::net::TcpListener::bind(addr).expect("bind");
    for s in l.incoming().flatten() {
        std::thread::spawn(move || {
            let mut s = s;
            let _ = s.set_nodelay(true);
            let mut buf = Vec::new();
            let mut tmp = [0u8; 8192];
            let body = "x".repeat(1024);
            let resp = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            loop {
                while let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    buf.drain(..p + 4);
                    if s.write_all(resp.as_bytes()).is_err() {
                        return;
                    }
                }
                match s.read(&mut tmp) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => buf.extend_from_slice(&tmp[..n]),
                }
            }
        });
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("serve") => serve(args.get(1).map_or("127.0.0.1:8099", String::as_str)),
        Some("get") => {
            let url = args
                .get(1)
                .cloned()
                .unwrap_or_else(|| "http://127.0.0.1:8099/".into());
            let n: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(10_000);
            let c: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(1);
            let client = weft_http::Client::builder()
                .pool_max_per_host(c)
                .build()
                .expect("client");
            let start = Instant::now();
            weft_reactor::block_on(async {
                let next = std::sync::atomic::AtomicUsize::new(0);
                let worker = || async {
                    while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < n {
                        let r = client.get(&url).send().await.expect("send");
                        r.bytes().await.expect("body");
                    }
                };
                let futs: Vec<_> = (0..c).map(|_| Box::pin(worker())).collect();
                futures_lite::future::block_on(async {}); // keep futures-lite used
                let mut futs = futs;
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
            let dt = start.elapsed().as_secs_f64();
            println!(
                "{n} requests, c={c}: {:.0} req/s; {:?}",
                n as f64 / dt,
                client.pool_stats()
            );
        }
        _ => eprintln!("usage: loadgen serve ADDR | loadgen get URL N [C]"),
    }
}
