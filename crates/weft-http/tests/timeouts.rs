//! Timeouts (research/http.md §6 item 9): read, total, connect, and when each starts.

mod common;

use std::time::Duration;

use common::{ok, run, Server, Step};
use weft_http::{Body, Bytes, Client, ErrorKind, TimeoutKind};

#[test]
fn read_timeout_fires_when_the_server_stalls() {
    let srv = Server::start(|_| Step::Stall);
    run(20, async {
        let c = Client::builder()
            .read_timeout(Duration::from_millis(50))
            .build()
            .unwrap();
        let e = c.get(srv.url("/")).send().await.unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::Timeout(TimeoutKind::Read), "{e}");
        assert!(e.is_timeout());
        assert!(e.to_string().contains("read_timeout"), "{e}");
        assert_eq!(c.pool_stats().open, 0, "a timed-out connection is closed");
    });
}

/// The read timer starts after the request body is sent: a slow upload is not a read timeout.
#[test]
fn read_timeout_starts_after_the_body_is_sent() {
    let srv = Server::ok("got it");
    run(20, async {
        let c = Client::builder()
            .read_timeout(Duration::from_millis(40))
            .build()
            .unwrap();
        let slow = futures_lite::stream::unfold(0, |i| async move {
            if i == 3 {
                return None;
            }
            weft_timer::sleep(Duration::from_millis(60)).await;
            Some((Ok::<_, std::io::Error>(Bytes::from_static(b"part")), i + 1))
        });
        let r = c
            .post(srv.url("/up"))
            .body(Body::wrap_stream(slow, None))
            .send()
            .await
            .unwrap();
        assert_eq!(r.text().await.unwrap(), "got it");
    });
    assert_eq!(srv.seen()[0].body, b"partpartpart");
}

/// The total timeout covers the body, even while bytes keep trickling in.
#[test]
fn total_timeout_covers_the_body() {
    let srv = Server::start(|_| {
        Step::Drip(
            b"HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n".to_vec(),
            (0..40).map(|_| b"x".to_vec()).collect(),
            Duration::from_millis(20),
        )
    });
    run(20, async {
        let c = Client::builder()
            .read_timeout(Duration::from_secs(5))
            .total_timeout(Duration::from_millis(200))
            .build()
            .unwrap();
        let r = c.get(srv.url("/")).send().await.unwrap();
        let e = r.bytes().await.unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::Timeout(TimeoutKind::Total), "{e}");
    });
}

/// A per-request timeout overrides the client's.
#[test]
fn per_request_timeout() {
    let srv = Server::start(|_| Step::Stall);
    run(20, async {
        let c = Client::new();
        let e = common::send_error(c.get(srv.url("/")).timeout(Duration::from_millis(50))).await;
        assert_eq!(e.kind(), &ErrorKind::Timeout(TimeoutKind::Total), "{e}");
    });
}

/// The total timeout covers the wait for a pool slot (no pool-acquire timeout set): the
/// request-wide timer was replaced by one per waiting phase, this checks the checkout phase.
#[test]
fn total_timeout_covers_the_wait_for_a_pool_slot() {
    let srv = Server::start(|_| Step::Stall);
    run(20, async {
        let c = Client::builder().pool_max_per_host(1).build().unwrap();
        // Holds the only slot: the server never answers it.
        let holder = c
            .get(srv.url("/hold"))
            .timeout(Duration::from_secs(60))
            .send();
        // `or` polls the holder first, so it has taken the slot when the waiter checks out.
        let waiter = async {
            c.get(srv.url("/wait"))
                .timeout(Duration::from_millis(50))
                .send()
                .await
        };
        let e = futures_lite::future::or(holder, waiter).await.unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::Timeout(TimeoutKind::Total), "{e}");
    });
}

/// The total timeout covers connecting when it is shorter than the connect timeout.
#[test]
fn total_timeout_covers_connecting() {
    let (_l, fillers, addr) = common::full_backlog();
    run(20, async {
        let c = Client::builder()
            .connect_timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        // Connect stalls (full accept queue) or completes to a listener that never answers:
        // the total timeout ends it either way.
        let e = common::send_error(
            c.get(format!("http://{addr}/"))
                .timeout(Duration::from_millis(100)),
        )
        .await;
        assert_eq!(e.kind(), &ErrorKind::Timeout(TimeoutKind::Total), "{e}");
    });
    drop(fillers);
}

/// Connecting to a listener whose accept queue is full hangs; the connect timeout fires.
#[test]
fn connect_timeout() {
    // The accept queue is full (never accepted).
    let (_l, fillers, addr) = common::full_backlog();
    run(20, async {
        let c = Client::builder()
            .connect_timeout(Duration::from_millis(100))
            .build()
            .unwrap();
        // Some kernels accept into the SYN queue anyway (then the request gets through to a
        // listener that never answers); either way the request must not hang.
        if let Err(e) = c
            .get(format!("http://{addr}/"))
            .timeout(Duration::from_secs(2))
            .send()
            .await
        {
            assert!(
                e.kind() == &ErrorKind::Timeout(TimeoutKind::Connect)
                    || e.kind() == &ErrorKind::Timeout(TimeoutKind::Total),
                "{e}"
            );
        }
    });
    drop(fillers);
}

#[test]
fn refused_connection_is_a_connect_error() {
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    run(20, async {
        let c = Client::new();
        let e = c.get(format!("http://{addr}/")).send().await.unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::Connect, "{e}");
        assert!(e.to_string().contains("could not connect"), "{e}");
        assert_eq!(c.pool_stats().open, 0, "the slot was given back");
    });
    let _ = ok("");
}
