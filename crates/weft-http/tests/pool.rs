//! Pool limits, the FIFO waiter queue, cancellation, and descriptor hygiene
//! (research/http.md §6 item 8, and the pool acceptance items).

mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{join_all, ok, run, Server, Step};
use weft_http::{Client, ErrorKind};

type Fut<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// `n` concurrent GETs of `url`; their indices in the order they completed.
async fn gets_in_completion_order(c: &Client, url: &str, n: usize) -> Vec<usize> {
    let order = Arc::new(Mutex::new(Vec::new()));
    let futs: Vec<Fut<'_, ()>> = (0..n)
        .map(|i| {
            let (c, order) = (c.clone(), order.clone());
            Box::pin(async move {
                common::get_bytes(&c, url).await;
                order.lock().unwrap().push(i);
            }) as Fut<'_, ()>
        })
        .collect();
    join_all(futs).await;
    let done = order.lock().unwrap().clone();
    done
}

/// 1,000 requests through a pool limited to 4 open exactly 4 connections.
#[test]
fn thousand_requests_four_connections() {
    let srv = Server::ok("payload");
    run(60, async {
        let c = Client::builder().pool_max_per_host(4).build().unwrap();
        let futs: Vec<Fut<'_, ()>> = (0..1000)
            .map(|i| {
                let c = c.clone();
                let url = srv.url(&format!("/{i}"));
                Box::pin(async move {
                    let r = c.get(url).send().await.unwrap();
                    assert_eq!(r.bytes().await.unwrap(), "payload");
                }) as Fut<'_, ()>
            })
            .collect();
        join_all(futs).await;
        let s = c.pool_stats();
        assert_eq!(s.connections_created, 4, "{s:?}");
        assert_eq!(s.connections_reused, 996, "{s:?}");
        assert_eq!(s.open, 4);
        assert_eq!(s.waiting, 0);
    });
    assert_eq!(srv.accepted(), 4);
}

/// The total limit holds across hosts, by evicting idle connections of other hosts.
#[test]
fn total_limit_across_hosts() {
    let a = Server::ok("a");
    let b = Server::ok("b");
    run(60, async {
        let c = Client::builder().pool_max_total(2).build().unwrap();
        let futs: Vec<Fut<'_, ()>> = (0..100)
            .map(|i| {
                let c = c.clone();
                let url = if i % 2 == 0 { a.url("/") } else { b.url("/") };
                Box::pin(async move {
                    c.get(url).send().await.unwrap().bytes().await.unwrap();
                    assert!(c.pool_stats().open <= 2);
                }) as Fut<'_, ()>
            })
            .collect();
        join_all(futs).await;
        assert!(c.pool_stats().open <= 2);
    });
}

/// §6.8: limit L with 10×L concurrent requests: exactly L connects and FIFO order;
/// then half of the waiters are cancelled: no deadlock, no slot leak.
#[test]
fn fifo_waiters_and_cancellation() {
    const L: usize = 3;
    let srv = Server::ok("x");
    run(60, async {
        let c = Client::builder().pool_max_per_host(L).build().unwrap();
        let order = gets_in_completion_order(&c, &srv.url("/"), 10 * L).await;
        // Every request completed over exactly L connections. Completion order across L
        // connections is not asserted: a request granted a *connect* finishes after requests
        // that later reused a faster connection, and a descheduled server thread reorders
        // further (this flaked under load). The queue order itself is asserted just below,
        // with one connection, where it is observable.
        let mut done = order;
        done.sort_unstable();
        assert_eq!(done, (0..10 * L).collect::<Vec<_>>());
        assert_eq!(c.pool_stats().connections_created, L as u64);

        // With one connection, completion order is exactly the queue order.
        let c1 = Client::builder().pool_max_per_host(1).build().unwrap();
        assert_eq!(
            gets_in_completion_order(&c1, &srv.url("/"), 20).await,
            (0..20).collect::<Vec<_>>(),
            "strict FIFO"
        );

        // Cancellation: L requests stall on the server; 4×L wait; cancel every other waiter.
        let stall = Server::start(|s| {
            if s.path == "/stall" {
                Step::Stall
            } else {
                Step::Reply(ok("y"))
            }
        });
        let c = Client::builder().pool_max_per_host(L).build().unwrap();
        let mut holders: Vec<Fut<'_, ()>> = Vec::new();
        for _ in 0..L {
            let c = c.clone();
            let url = stall.url("/stall");
            holders.push(Box::pin(async move {
                let _ = weft_timer::timeout(Duration::from_millis(300), c.get(url).send()).await;
            }));
        }
        let mut waiters: Vec<Fut<'_, bool>> = Vec::new();
        for i in 0..4 * L {
            let c = c.clone();
            let url = stall.url("/ok");
            waiters.push(Box::pin(async move {
                if i % 2 == 0 {
                    // Cancelled while queued.
                    weft_timer::timeout(Duration::from_millis(50), c.get(url).send())
                        .await
                        .is_ok()
                } else {
                    c.get(url).send().await.unwrap().bytes().await.unwrap();
                    true
                }
            }));
        }
        let all: Vec<Fut<'_, bool>> = holders
            .into_iter()
            .map(|h| {
                Box::pin(async move {
                    h.await;
                    true
                }) as Fut<'_, bool>
            })
            .chain(waiters)
            .collect();
        let done = join_all(all).await;
        assert_eq!(
            done.iter().filter(|d| !**d).count(),
            2 * L,
            "half were cancelled"
        );
        let s = c.pool_stats();
        assert_eq!(s.waiting, 0, "{s:?}");
        assert!(s.open <= L, "{s:?}");
        // Every slot is still usable.
        let futs: Vec<Fut<'_, ()>> = (0..L)
            .map(|_| {
                let c = c.clone();
                let url = stall.url("/ok");
                Box::pin(async move {
                    c.get(url).send().await.unwrap().bytes().await.unwrap();
                }) as Fut<'_, ()>
            })
            .collect();
        join_all(futs).await;
    });
}

/// `pool_acquire_timeout` fires on its own, separately from `connect_timeout`.
#[test]
fn pool_acquire_timeout_is_separate() {
    let srv = Server::start(|s| {
        if s.path == "/stall" {
            Step::Stall
        } else {
            Step::Reply(ok("y"))
        }
    });
    run(20, async {
        let c = Client::builder()
            .pool_max_per_host(1)
            .pool_acquire_timeout(Duration::from_millis(50))
            .connect_timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        let holder = c.get(srv.url("/stall")).send();
        let waiter = async {
            // Let the holder take the only slot first.
            weft_timer::sleep(Duration::from_millis(10)).await;
            c.get(srv.url("/ok")).send().await
        };
        let (h, w) = futures_lite::future::zip(
            weft_timer::timeout(Duration::from_millis(500), holder),
            waiter,
        )
        .await;
        assert!(h.is_err(), "the holder stalls");
        let e = w.unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::PoolAcquireTimeout, "{e}");
        assert!(e.to_string().contains("pool_acquire_timeout"), "{e}");
        assert_eq!(c.pool_stats().waiting, 0);
        // The stalled connection was closed when its request was dropped: the slot is free.
        assert_eq!(common::get_text(&c, srv.url("/ok")).await, "y");
    });
}

/// aiohttp#9670: a waiter cancelled *after* it was handed the connection passes it on, so the
/// next waiter gets it (no deadlock, no leaked slot, no extra connection).
#[test]
fn waiter_cancelled_after_the_handover_passes_it_on() {
    use std::task::{Context, Waker};
    let srv = Server::ok("x");
    run(20, async {
        let c = Client::builder().pool_max_per_host(1).build().unwrap();
        let a = c.get(srv.url("/a")).send().await.unwrap();
        let mut b: Fut<'_, _> = Box::pin(c.get(srv.url("/b")).send());
        let mut w: Fut<'_, _> = Box::pin(c.get(srv.url("/c")).send());
        let mut cx = Context::from_waker(Waker::noop());
        assert!(b.as_mut().poll(&mut cx).is_pending());
        assert!(w.as_mut().poll(&mut cx).is_pending());
        assert_eq!(c.pool_stats().waiting, 2);
        // A's body completes: the connection goes to B, which is dropped before it runs.
        a.bytes().await.unwrap();
        assert_eq!(c.pool_stats().waiting, 1);
        drop(b);
        let r = w.await.unwrap();
        assert_eq!(r.text().await.unwrap(), "x");
        let s = c.pool_stats();
        assert_eq!(
            (s.connections_created, s.open, s.waiting),
            (1, 1, 0),
            "{s:?}"
        );
    });
    assert_eq!(srv.seen().iter().filter(|s| s.path == "/b").count(), 0);
}
