//! Issue 20, finding S1: an idle live `Client` holds exactly the sockets its pool counts, whatever
//! happened to the connections it dropped: closed by the server while idle, abandoned by a
//! timeout mid-response, dropped mid-body, or abandoned mid-connect. Each test counts only the
//! client ends of its own server's port (`common::fds::census`), so the tests of this binary can
//! run in parallel and the test server's own descriptors never blur the count.

mod common;

use std::future::Future;
use std::net::{SocketAddr, TcpStream};
use std::pin::Pin;
use std::time::Duration;

use common::fds::census;
use common::{join_all, ok, resp, run, wait_until, Server, Step};
use weft_http::{Client, ErrorKind};

type Fut<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// Asserts that the client ends of `port` are exactly the pool's open connections (plus
/// `extra` sockets the test itself holds).
fn assert_sockets_match_pool(c: &Client, port: u16, extra: usize, when: &str) {
    let fds = census(port);
    let stats = c.pool_stats();
    assert_eq!(
        fds.client,
        stats.open + extra,
        "{when}: {} client sockets, but the pool has {} open (+{extra} held by the test): \
         {stats:?}, descriptors {:?}",
        fds.client,
        stats.open,
        fds.kinds
    );
}

/// The server closes every connection right after its response (FIN while the connection sits
/// idle in the pool): the idle watcher must evict it and its socket must close with it.
#[test]
fn connections_closed_by_the_server_while_idle_leave_no_socket() {
    let srv = Server::start(|_| Step::ReplyClose(ok("bye")));
    let port = srv.addr().port();
    let c = Client::builder().pool_max_per_host(8).build().unwrap();
    run(60, async {
        for round in 0..10 {
            let futs: Vec<Fut<'_, ()>> = (0..8)
                .map(|_| {
                    Box::pin(async {
                        // The FIN may also cross the response: either outcome is fine here.
                        if let Ok(r) = c.get(srv.url("/")).send().await {
                            let _ = r.bytes().await;
                        }
                    }) as Fut<'_, ()>
                })
                .collect();
            join_all(futs).await;
            assert_sockets_match_pool(&c, port, 0, &format!("round {round}, before eviction"));
            wait_until("the idle watcher evicted every closed connection", || {
                c.pool_stats().open == 0
            })
            .await;
            assert_sockets_match_pool(&c, port, 0, &format!("round {round}, after eviction"));
        }
    });
}

/// Requests abandoned mid-response (total timeout against a stalling server), responses
/// dropped mid-body (slow drip) and responses read to the end, mixed: no abandoned socket stays.
#[test]
fn abandoned_requests_leave_no_socket() {
    let srv = Server::start(|s| match s.path.as_str() {
        "/stall" => Step::Stall,
        "/drip" => Step::Drip(
            b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n".to_vec(),
            vec![b"ab".to_vec(), b"cd".to_vec(), b"ef".to_vec()],
            Duration::from_millis(30),
        ),
        _ => Step::Reply(resp("200 OK", "", b"fine")),
    });
    let port = srv.addr().port();
    let c = Client::builder().pool_max_per_host(4).build().unwrap();
    run(60, async {
        for round in 0..5 {
            let futs: Vec<Fut<'_, ()>> = (0..12)
                .map(|i| {
                    let c = &c;
                    let srv = &srv;
                    Box::pin(async move {
                        match i % 3 {
                            0 => {
                                let r = c
                                    .get(srv.url("/stall"))
                                    .timeout(Duration::from_millis(20))
                                    .send()
                                    .await;
                                let e = r.expect_err("the server never answers");
                                assert!(matches!(e.kind(), ErrorKind::Timeout(_)), "{e:?}");
                            }
                            1 => {
                                // The head arrives; the body is dropped unread.
                                let r = c.get(srv.url("/drip")).send().await.unwrap();
                                drop(r);
                            }
                            _ => {
                                assert_eq!(&common::get_bytes(c, srv.url("/")).await[..], b"fine")
                            }
                        }
                    }) as Fut<'_, ()>
                })
                .collect();
            join_all(futs).await;
            let s = c.pool_stats();
            assert_eq!((s.in_use, s.waiting), (0, 0), "round {round}: {s:?}");
            assert_sockets_match_pool(&c, port, 0, &format!("round {round}"));
        }
    });
    drop(c);
    assert_eq!(census(port).client, 0, "sockets left after the client");
}

/// Connects abandoned by the connect timeout (a listener whose accept queue is full drops the
/// SYNs) close their sockets at once.
#[test]
fn connects_abandoned_by_the_connect_timeout_leave_no_socket() {
    use socket2::{Domain, Socket, Type};
    let listener = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    listener
        .bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())
        .unwrap();
    listener.listen(0).unwrap();
    let addr = listener.local_addr().unwrap().as_socket().unwrap();
    // Fill the accept queue (never accepted) until a connect stalls.
    let mut fillers = Vec::new();
    for _ in 0..16 {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Ok(s) => fillers.push(s),
            Err(_) => break,
        }
    }
    let c = Client::builder()
        .connect_timeout(Duration::from_millis(30))
        .build()
        .unwrap();
    run(60, async {
        for i in 0..10 {
            // Whether the connect times out or (on an unloaded kernel queue) completes and the
            // request fails later, the socket count must match.
            let _ = c
                .get(format!("http://{addr}/"))
                .timeout(Duration::from_millis(200))
                .send()
                .await;
            assert_sockets_match_pool(&c, addr.port(), fillers.len(), &format!("attempt {i}"));
        }
    });
    drop(c);
    assert_eq!(census(addr.port()).client, fillers.len());
}
