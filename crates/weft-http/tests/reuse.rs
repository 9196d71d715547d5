//! Connection reuse rules (research/http.md §6 items 1-5 and 12).

mod common;

use std::sync::mpsc;
use std::time::Duration;

use common::{fd_count, get_bytes, ok, resp, run, stale_after_first, wait_until, Server, Step};
use weft_http::{Body, Bytes, Client, ErrorKind, Retry};

/// §6.1: an idle pooled connection whose peer sends FIN is evicted without a new request.
#[test]
fn idle_fin_is_evicted_without_a_request() {
    let srv = Server::start(|_| Step::ReplyClose(ok("bye")));
    run(20, async {
        let before = fd_count();
        // A long idle timeout: only the reactor watch can evict it in time.
        let c = Client::builder()
            .idle_timeout(Duration::from_secs(600))
            .build()
            .unwrap();
        let r = c.get(srv.url("/")).send().await.unwrap();
        assert_eq!(r.text().await.unwrap(), "bye");
        wait_until("the reactor evicts the closed idle connection", || {
            c.pool_stats().idle == 0 && c.pool_stats().open == 0
        })
        .await;
        wait_until("its descriptor is closed", || fd_count() <= before).await;
    });
}

/// A client that retries idempotent requests twice, at once.
fn retrying_client() -> Client {
    Client::builder()
        .retry(Retry::idempotent(2).backoff(Duration::ZERO))
        .build()
        .unwrap()
}

/// §6.2: a GET whose pooled connection closes under it is retried when asked; a streamed POST
/// is not (the error says the connection closed); a POST never written is re-sent.
#[test]
fn stale_connection_retries() {
    let srv = Server::start(stale_after_first("ok"));
    run(20, async {
        let c = retrying_client();
        common::get_bytes(&c, srv.url("/1")).await;
        let r = c.get(srv.url("/2")).send().await.unwrap();
        assert_eq!(r.text().await.unwrap(), "ok");
        assert_eq!(c.pool_stats().connections_created, 2);
    });

    let srv = Server::start(stale_after_first("ok"));
    run(20, async {
        let c = retrying_client();
        common::get_bytes(&c, srv.url("/1")).await;
        let stream =
            futures_lite::stream::iter(vec![Ok::<_, std::io::Error>(Bytes::from_static(b"x"))]);
        let e =
            common::send_error(c.post(srv.url("/2")).body(Body::wrap_stream(stream, None))).await;
        assert_eq!(e.kind(), &ErrorKind::IncompleteMessage, "{e}");
        assert!(e.to_string().contains("closed before the response"), "{e}");
    });

    // Without a retry policy a GET that may have reached the server is not re-sent.
    let srv = Server::start(stale_after_first("ok"));
    run(20, async {
        let c = Client::new();
        common::get_bytes(&c, srv.url("/1")).await;
        let e = c.get(srv.url("/2")).send().await.unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::IncompleteMessage, "{e}");
    });
    assert_eq!(srv.seen().len(), 2);

    // The server resets the idle connection: a POST is sent on a new connection, once.
    let (tx, rx) = mpsc::channel();
    let tx = std::sync::Mutex::new(Some(tx));
    let srv = Server::start(move |s| {
        if s.index == 0 && s.conn == 0 {
            Step::ReplyReset(ok("first"), tx.lock().unwrap().take())
        } else {
            Step::Reply(ok("second"))
        }
    });
    run(20, async {
        let c = Client::new();
        assert_eq!(common::get_text(&c, srv.url("/1")).await, "first");
        rx.recv_timeout(Duration::from_secs(10))
            .expect("server reset the connection");
        let r = c.post(srv.url("/2")).body("payload").send().await.unwrap();
        assert_eq!(r.text().await.unwrap(), "second");
    });
    let posts: Vec<_> = srv
        .seen()
        .into_iter()
        .filter(|s| s.method == "POST")
        .collect();
    assert_eq!(posts.len(), 1, "the POST reached the server exactly once");
}

/// §6.3: dropping a response with 1 MiB unread closes the connection; a small buffered rest is
/// drained and the connection reused.
#[test]
fn dropped_bodies() {
    let big = "x".repeat(1 << 20);
    let srv = Server::start(move |s| match s.path.as_str() {
        "/big" => Step::Reply(ok(&big)),
        _ => Step::Reply(ok("small body")),
    });
    run(20, async {
        let c = Client::new();
        let r = c.get(srv.url("/big")).send().await.unwrap();
        drop(r);
        common::get_bytes(&c, srv.url("/small")).await;
        assert_eq!(
            c.pool_stats().connections_created,
            2,
            "the 1 MiB body was not drained"
        );
        let r = c.get(srv.url("/small")).send().await.unwrap();
        drop(r);
        common::get_bytes(&c, srv.url("/small")).await;
        assert_eq!(
            c.pool_stats().connections_created,
            2,
            "the small body was drained, reused"
        );
        assert!(c.pool_stats().connections_reused >= 2);
    });
}

/// §6.4: `Connection: close`, HTTP/1.0 without keep-alive and close-delimited bodies are never
/// reused.
#[test]
fn non_reusable_responses() {
    let srv = Server::start(|s| match s.path.as_str() {
        "/close" => Step::Reply(resp("200 OK", "Connection: close\r\n", b"c")),
        "/http10" => Step::Reply(b"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx".to_vec()),
        "/http10ka" => Step::Reply(
            b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx".to_vec(),
        ),
        "/delimited" => Step::ReplyClose(b"HTTP/1.1 200 OK\r\n\r\nuntil close".to_vec()),
        _ => Step::Reply(ok("k")),
    });
    run(20, async {
        let c = Client::new();
        let mut created = 0;
        for (path, reused) in [
            ("/close", false),
            ("/http10", false),
            ("/delimited", false),
            ("/http10ka", true),
            ("/keep", true),
        ] {
            let body = common::get_bytes(&c, srv.url(path)).await;
            assert!(!body.is_empty());
            created += 1;
            let stats = c.pool_stats();
            assert_eq!(stats.connections_created, created, "{path}");
            assert_eq!(
                stats.idle,
                usize::from(reused),
                "{path}: idle after the response"
            );
            if reused {
                // The next request takes the pooled connection.
                created -= 1;
            }
        }
        let r = c.get(srv.url("/delimited")).send().await.unwrap();
        assert_eq!(r.text().await.unwrap(), "until close");
    });
}

/// §6.5: bytes after a complete response poison the connection.
#[test]
fn extra_bytes_poison_the_connection() {
    let srv = Server::start(|s| match s.path.as_str() {
        "/extra" => Step::Reply([ok("one"), b"HTTP/1.1 200 OK\r\n".to_vec()].concat()),
        _ => Step::Reply(ok("two")),
    });
    run(20, async {
        let c = Client::new();
        assert_eq!(common::get_text(&c, srv.url("/extra")).await, "one");
        assert_eq!(common::get_text(&c, srv.url("/next")).await, "two");
        assert_eq!(c.pool_stats().connections_created, 2);
    });
}

/// Bytes that arrive on an idle connection later are seen by the reactor watch.
#[test]
fn late_garbage_on_idle_connection_evicts_it() {
    let srv = Server::start(|s| match s.path.as_str() {
        "/late" => Step::Drip(
            ok("one"),
            vec![b"garbage".to_vec()],
            Duration::from_millis(20),
        ),
        _ => Step::Reply(ok("two")),
    });
    run(20, async {
        let c = Client::builder()
            .idle_timeout(Duration::from_secs(600))
            .build()
            .unwrap();
        assert_eq!(common::get_text(&c, srv.url("/late")).await, "one");
        wait_until("the garbage evicts the idle connection", || {
            c.pool_stats().open == 0
        })
        .await;
        assert_eq!(common::get_text(&c, srv.url("/next")).await, "two");
        assert_eq!(c.pool_stats().connections_created, 2);
    });
}

/// §6.12: a host contacted once has its connection closed after `idle_timeout`.
#[test]
fn idle_sweeper_closes_after_idle_timeout() {
    let srv = Server::ok("hi");
    run(20, async {
        let c = Client::builder()
            .idle_timeout(Duration::from_millis(100))
            .build()
            .unwrap();
        common::get_bytes(&c, srv.url("/")).await;
        assert_eq!(c.pool_stats().idle, 1);
        wait_until("the sweeper closes the idle connection", || {
            c.pool_stats().open == 0
        })
        .await;
        wait_until("the server sees the close", || srv.open() == 0).await;
    });
}

/// Dropping the client closes idle connections: nothing outlives it.
#[test]
fn dropping_the_client_closes_idle_connections() {
    let srv = Server::ok("hi");
    run(20, async {
        let c = Client::new();
        for _ in 0..3 {
            common::get_bytes(&c, srv.url("/")).await;
        }
        assert_eq!(srv.accepted(), 1);
        drop(c);
        wait_until("the server sees the close", || srv.open() == 0).await;
    });
}

/// A body of `len` bytes that differs per request `index`.
fn numbered_body(index: usize, len: usize) -> Vec<u8> {
    (0..len).map(|i| ((i + 7 * index) % 251) as u8).collect()
}

/// Large bodies handed out by `bytes` and `chunk` (split off the read buffer, not copied)
/// stay intact while the same connection reads the next responses into its buffer; a body
/// that arrives in pieces is joined.
async fn kept_large_bodies(c: &Client, url: impl Fn(&str) -> String) {
    const LEN: usize = 100 * 1024;
    let whole = get_bytes(c, url("/0")).await;
    let mut r = c.get(url("/1")).send().await.unwrap();
    let mut chunks = Vec::new();
    while let Some(b) = r.chunk().await.unwrap() {
        chunks.push(b);
    }
    let dripped = get_bytes(c, url("/2")).await;
    let last = get_bytes(c, url("/3")).await;
    assert_eq!(&whole[..], &numbered_body(0, LEN)[..]);
    assert_eq!(chunks.concat(), numbered_body(1, LEN));
    assert_eq!(&dripped[..], &numbered_body(2, LEN)[..]);
    assert_eq!(&last[..], &numbered_body(3, LEN)[..]);
    assert_eq!(c.pool_stats().connections_created, 1);
}

/// The server for [`kept_large_bodies`]: request 2's body comes in four pieces.
fn large_body_script(s: &common::Seen) -> Step {
    let body = numbered_body(s.index, 100 * 1024);
    if s.index != 2 {
        return Step::Reply(resp("200 OK", "", &body));
    }
    let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len());
    let pieces = body.chunks(body.len() / 4).map(<[u8]>::to_vec).collect();
    Step::Drip(head.into_bytes(), pieces, Duration::from_millis(5))
}

#[test]
fn large_bodies_kept_across_reuse_plain() {
    let srv = Server::start(large_body_script);
    run(30, async {
        let c = Client::new();
        kept_large_bodies(&c, |p| srv.url(p)).await;
    });
}

#[test]
fn large_bodies_kept_across_reuse_tls() {
    let pki = common::tls::Pki::new();
    let srv = Server::start_with(large_body_script, Some(pki.server(&["a.test"], false)));
    run(30, async {
        let c = Client::builder()
            .add_root_certificate(weft_http::Certificate::from_pem(pki.ca_pem.as_bytes()).unwrap())
            .resolve("a.test", srv.addr())
            .build()
            .unwrap();
        kept_large_bodies(&c, |p| format!("https://a.test:{}{p}", srv.addr().port())).await;
    });
}
