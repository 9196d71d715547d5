//! No descriptor leak after many requests with connection churn. Alone in its binary: the
//! descriptor count is per process.

mod common;

use std::future::Future;
use std::pin::Pin;

use common::{fd_count, join_all, ok, resp, run, wait_until, Server, Step};
use weft_http::Client;

type Fut<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// No descriptor leak after 10,000 requests with connection churn, errors and drops included.
#[test]
fn no_fd_leak_with_churn() {
    let srv = Server::start(|s| {
        let i: usize = s.path[1..].parse().unwrap_or(0);
        match i % 5 {
            0 => Step::Reply(resp("200 OK", "Connection: close\r\n", b"closing")),
            1 => Step::ReplyClose(ok("fin")),
            2 => Step::Reply(
                b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n".to_vec(),
            ),
            _ => Step::Reply(ok(&"z".repeat(i % 3000))),
        }
    });
    // The baseline is taken once the reactor and the pools exist (they open descriptors lazily).
    let warm = Server::ok("warm");
    run(10, async {
        Client::new()
            .get(warm.url("/"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
    });
    run(
        10,
        wait_until("the warm-up connection is closed", || warm.open() == 0),
    );
    drop(warm);
    let before = fd_count();
    run(120, async {
        let c = Client::builder().pool_max_per_host(8).build().unwrap();
        for round in 0..100 {
            let futs: Vec<Fut<'_, ()>> = (0..100)
                .map(|j| {
                    let c = c.clone();
                    let url = srv.url(&format!("/{}", round * 100 + j));
                    Box::pin(async move {
                        if let Ok(r) = c.get(url).send().await {
                            if j % 7 != 0 {
                                let _ = r.bytes().await;
                            }
                        }
                    }) as Fut<'_, ()>
                })
                .collect();
            join_all(futs).await;
        }
        assert!(c.pool_stats().connections_created > 100);
        drop(c);
        wait_until("every client descriptor is closed", || srv.open() == 0).await;
    });
    drop(srv);
    run(
        20,
        wait_until("descriptors back to the baseline", || fd_count() <= before),
    );
}
