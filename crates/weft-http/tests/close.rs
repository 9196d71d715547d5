//! `AsyncClose` for `Response` (issue 21): closing drains a small body so the connection is
//! reused, and closes it when the body is too big.

mod common;

use std::time::Duration;

use common::{ok, resp, run, Server, Step};
use weft_http::Client;
use weft_reactor::AsyncClose;

/// The body arrives after the head, in pieces: dropping the response right away could not
/// drain it, `close` waits for it and keeps the connection.
#[test]
fn close_drains_a_small_body_still_arriving_and_reuses_the_connection() {
    let srv = Server::start(|s| {
        if s.index == 0 {
            let head = b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n".to_vec();
            Step::Drip(
                head,
                vec![b"abc".to_vec(), b"def".to_vec()],
                Duration::from_millis(5),
            )
        } else {
            Step::Reply(ok("second"))
        }
    });
    run(20, async {
        let c = Client::new();
        let r = c.get(srv.url("/1")).send().await.unwrap();
        r.close().await.unwrap();
        let r = c.get(srv.url("/2")).send().await.unwrap();
        assert_eq!(r.text().await.unwrap(), "second");
        assert_eq!(
            c.pool_stats().connections_created,
            1,
            "the connection was reused"
        );
    });
}

#[test]
fn using_a_response_releases_it_after_the_body() {
    let srv = Server::ok("hello");
    run(20, async {
        let c = Client::new();
        let r = c.get(srv.url("/1")).send().await.unwrap();
        let status = weft_executor::using(r, async |r| Ok::<_, weft_http::Error>(r.status()))
            .await
            .unwrap();
        assert_eq!(status, 200);
        let r = c.get(srv.url("/2")).send().await.unwrap();
        assert_eq!(r.text().await.unwrap(), "hello");
        assert_eq!(c.pool_stats().connections_created, 1);
    });
}

#[test]
fn close_does_not_drain_a_big_body() {
    let srv = Server::start(|_| Step::Reply(resp("200 OK", "", &vec![b'x'; 200_000])));
    run(20, async {
        let c = Client::new();
        let r = c.get(srv.url("/1")).send().await.unwrap();
        r.close().await.unwrap();
        let r = c.get(srv.url("/2")).send().await.unwrap();
        assert_eq!(r.bytes().await.unwrap().len(), 200_000);
        assert_eq!(
            c.pool_stats().connections_created,
            2,
            "the big body closed it"
        );
    });
}
