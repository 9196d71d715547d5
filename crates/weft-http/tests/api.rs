//! The request and response API against the loopback test server.

mod common;

use common::{ok, resp, run, Server, Step};
use futures_lite::{AsyncReadExt, StreamExt};
use weft_http::{Body, Bytes, Client, ErrorKind, Method, StatusCode};

#[test]
fn get_text_and_headers() {
    let srv = Server::ok("hello");
    run(10, async {
        let client = Client::new();
        let r = client
            .get(srv.url("/a?b=1"))
            .header("x-test", "1")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["content-type"], "text/plain");
        assert_eq!(r.content_length(), Some(5));
        assert_eq!(r.url().path(), "/a");
        assert_eq!(r.text().await.unwrap(), "hello");
    });
    let seen = srv.seen();
    assert_eq!(seen[0].method, "GET");
    assert_eq!(seen[0].path, "/a?b=1");
    assert_eq!(seen[0].header_all("x-test"), ["1"]);
    assert_eq!(seen[0].header_all("host"), [srv.addr().to_string()]);
    assert_eq!(
        seen[0].header_all("user-agent"),
        [weft_http::DEFAULT_USER_AGENT]
    );
}

#[test]
fn methods_query_form_auth_and_bodies() {
    let srv = Server::ok("");
    run(10, async {
        let c = Client::new();
        for m in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            c.request(m, srv.url("/m"))
                .body("data")
                .send()
                .await
                .unwrap();
        }
        c.get(srv.url("/q"))
            .query([("a b", "1&2"), ("c", "d")])
            .send()
            .await
            .unwrap();
        c.post(srv.url("/f"))
            .form([("k", "v w")])
            .send()
            .await
            .unwrap();
        c.get(srv.url("/auth"))
            .basic_auth("user", Some("pass"))
            .send()
            .await
            .unwrap();
        c.get(srv.url("/bearer"))
            .bearer_auth("tok")
            .send()
            .await
            .unwrap();
        c.post(srv.url("/empty")).send().await.unwrap();
        let chunks = futures_lite::stream::iter(vec![
            Ok::<_, std::io::Error>(Bytes::from_static(b"ab")),
            Ok(Bytes::from_static(b"cd")),
        ]);
        c.post(srv.url("/stream"))
            .body(Body::wrap_stream(chunks, None))
            .send()
            .await
            .unwrap();
        let big = vec![7u8; 200_000];
        c.put(srv.url("/big")).body(big).send().await.unwrap();
        let head = c.head(srv.url("/h")).send().await.unwrap();
        assert_eq!(
            head.content_length(),
            Some(0),
            "a HEAD response has no body"
        );
    });
    let seen = srv.seen();
    let by_path = |p: &str| seen.iter().find(|s| s.path.starts_with(p)).unwrap().clone();
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].body, b"data");
    assert_eq!(seen[3].method, "DELETE");
    assert_eq!(by_path("/q").path, "/q?a+b=1%262&c=d");
    let f = by_path("/f");
    assert_eq!(f.body, b"k=v+w");
    assert_eq!(
        f.header_all("content-type"),
        ["application/x-www-form-urlencoded"]
    );
    assert_eq!(
        by_path("/auth").header_all("authorization"),
        ["Basic dXNlcjpwYXNz"]
    );
    assert_eq!(
        by_path("/bearer").header_all("authorization"),
        ["Bearer tok"]
    );
    assert_eq!(by_path("/empty").header_all("content-length"), ["0"]);
    let s = by_path("/stream");
    assert_eq!(s.body, b"abcd");
    assert_eq!(s.header_all("transfer-encoding"), ["chunked"]);
    assert_eq!(by_path("/big").body.len(), 200_000);
    assert_eq!(by_path("/h").method, "HEAD");
}

#[test]
fn chunked_response_stream_lines_reader_and_trailers() {
    let body = b"5\r\nline1\r\n6\r\n\nline2\r\n1\r\n\n\r\n0\r\nX-Checksum: abc\r\n\r\n".to_vec();
    let head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    let full = [head, body].concat();
    let srv = Server::start(move |_| Step::Reply(full.clone()));
    run(10, async {
        let c = Client::new();
        let mut r = c.get(srv.url("/")).send().await.unwrap();
        let mut all = Vec::new();
        while let Some(ch) = r.chunk().await.unwrap() {
            all.extend_from_slice(&ch);
        }
        assert_eq!(all, b"line1\nline2\n");
        assert_eq!(r.trailers().unwrap()["x-checksum"], "abc");

        let lines: Vec<String> = c
            .get(srv.url("/"))
            .send()
            .await
            .unwrap()
            .lines()
            .map(|l| l.unwrap())
            .collect()
            .await;
        assert_eq!(lines, ["line1", "line2"]);

        let mut s = String::new();
        c.get(srv.url("/"))
            .send()
            .await
            .unwrap()
            .into_reader()
            .read_to_string(&mut s)
            .await
            .unwrap();
        assert_eq!(s, "line1\nline2\n");

        let n: usize = c
            .get(srv.url("/"))
            .send()
            .await
            .unwrap()
            .bytes_stream()
            .map(|b| b.unwrap().len())
            .fold(0, |a, b| a + b)
            .await;
        assert_eq!(n, 12);
        assert_eq!(
            c.pool_stats().connections_created,
            1,
            "all on one connection"
        );
    });
}

#[test]
fn status_errors_and_interim_responses() {
    let srv = Server::start(|s| match s.path.as_str() {
        "/404" => Step::Reply(resp("404 Not Found", "", b"nope")),
        "/continue" => {
            Step::Reply([b"HTTP/1.1 100 Continue\r\n\r\n".to_vec(), ok("after")].concat())
        }
        "/204" => Step::Reply(b"HTTP/1.1 204 No Content\r\n\r\n".to_vec()),
        "/latin1" => Step::Reply(resp(
            "200 OK",
            "Content-Type: text/plain; charset=ISO-8859-1\r\n",
            b"caf\xe9",
        )),
        _ => Step::Reply(ok("x")),
    });
    run(10, async {
        let c = Client::new();
        let r = c.get(srv.url("/404")).send().await.unwrap();
        let e = r.error_for_status().unwrap_err();
        assert_eq!(e.status(), Some(StatusCode::NOT_FOUND));
        assert!(e.to_string().contains("404"), "{e}");
        assert_eq!(common::get_text(&c, srv.url("/continue")).await, "after");
        let r = c.get(srv.url("/204")).send().await.unwrap();
        assert_eq!(r.status(), 204);
        assert_eq!(r.bytes().await.unwrap().len(), 0);
        assert_eq!(common::get_text(&c, srv.url("/latin1")).await, "café");
        assert_eq!(c.pool_stats().connections_created, 1);
    });
}

#[test]
fn bad_urls_are_builder_errors() {
    run(10, async {
        let c = Client::new();
        for bad in ["ftp://x/", "no-scheme", "http://", "http://exa mple.com/"] {
            let e = c.get(bad).send().await.unwrap_err();
            assert!(matches!(e.kind(), ErrorKind::Builder(_)), "{bad}: {e}");
        }
        let c = Client::builder()
            .base_url("http://127.0.0.1:1/api/")
            .build()
            .unwrap();
        let e = c.get("v1").send().await.unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::Connect, "{e}");
        assert_eq!(e.url().unwrap().path(), "/api/v1");
    });
}

#[test]
fn body_size_cap() {
    let srv = Server::start(|_| Step::Reply(ok(&"x".repeat(10_000))));
    run(10, async {
        let c = Client::builder().max_body_size(1000).build().unwrap();
        let e = common::body_error(c.get(srv.url("/"))).await;
        assert_eq!(
            e.kind(),
            &ErrorKind::DeclaredBodyTooLarge {
                limit: 1000,
                declared: 10_000
            }
        );
        assert!(e.is_body_too_large(), "{e}");
    });
}

/// A `Content-Length` above `max_body_size` fails `bytes()` from the head, before any of the
/// body is read: here only 100 of the declared 1,000,000 bytes ever come, so waiting for the
/// body (gathering it) would never end. The connection, with its unread body, is not reused.
#[test]
fn declared_body_over_the_limit_fails_from_the_head_and_closes() {
    let head = "HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n";
    let srv = Server::start(move |s| {
        if s.path == "/big" {
            let mut r = head.as_bytes().to_vec();
            r.extend_from_slice(&[b'x'; 100]);
            Step::Reply(r) // and never the rest: the connection stays open
        } else {
            Step::Reply(ok("next"))
        }
    });
    run(20, async {
        let c = Client::builder().max_body_size(1000).build().unwrap();
        let resp = c.get(srv.url("/big")).send().await.unwrap();
        let body = weft_timer::timeout(std::time::Duration::from_secs(5), resp.bytes()).await;
        let e = body
            .expect("bytes() waited for the body instead of failing from Content-Length")
            .unwrap_err();
        assert_eq!(
            e.kind(),
            &ErrorKind::DeclaredBodyTooLarge {
                limit: 1000,
                declared: 1_000_000
            }
        );
        let text = e.to_string();
        assert!(
            text.contains("1000000") && text.contains("1000 bytes"),
            "{text}"
        );
        assert_eq!(e.kind_name(), "body-too-large");
        // The unread body rules the connection out: the next request opens another.
        assert_eq!(common::get_text(&c, srv.url("/next")).await, "next");
        assert_eq!(
            srv.accepted(),
            2,
            "a connection with an unread body was reused"
        );
    });
}

/// A chunked body (no length to fail from up front) of many chunks is joined whole, and one
/// over the limit fails with `BodyTooLarge` and closes its connection.
#[test]
fn chunked_bodies_are_joined_and_capped() {
    let chunked = |chunks: usize| {
        let mut r = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        for i in 0..chunks {
            r.extend_from_slice(
                format!(
                    "100\r\n{}\r\n",
                    char::from(b'a' + i as u8).to_string().repeat(256)
                )
                .as_bytes(),
            );
        }
        r.extend_from_slice(b"0\r\n\r\n");
        r
    };
    let srv = Server::start(move |s| Step::Reply(chunked(if s.path == "/big" { 8 } else { 3 })));
    run(20, async {
        let c = Client::builder().max_body_size(1000).build().unwrap();
        let b = common::get_bytes(&c, srv.url("/small")).await;
        let want: Vec<u8> = (0..3u8).flat_map(|i| [b'a' + i; 256]).collect();
        assert_eq!(&b[..], &want[..]);
        let e = common::body_error(c.get(srv.url("/big"))).await;
        assert_eq!(e.kind(), &ErrorKind::BodyTooLarge(1000), "{e}");
        assert_eq!(common::get_bytes(&c, srv.url("/small")).await.len(), 768);
        assert_eq!(
            srv.accepted(),
            2,
            "a connection with an unread body was reused"
        );
    });
}

/// Within the reuse rules: a body over the limit but already buffered whole and within the
/// drain budget is drained when `bytes()` fails, and its connection is reused.
#[test]
fn declared_body_over_the_limit_but_buffered_keeps_the_connection() {
    let srv = Server::start(|s| {
        if s.path == "/big" {
            Step::Reply(ok(&"x".repeat(100)))
        } else {
            Step::Reply(ok("next"))
        }
    });
    run(20, async {
        let c = Client::builder().max_body_size(10).build().unwrap();
        let e = common::body_error(c.get(srv.url("/big"))).await;
        assert_eq!(
            e.kind(),
            &ErrorKind::DeclaredBodyTooLarge {
                limit: 10,
                declared: 100
            }
        );
        assert_eq!(common::get_text(&c, srv.url("/next")).await, "next");
        assert_eq!(srv.accepted(), 1, "a drained connection was not reused");
        assert_eq!(c.pool_stats().connections_reused, 1);
    });
}

#[test]
fn observer_sees_the_trace_signals() {
    use std::sync::{Arc, Mutex};
    use weft_http::Event;
    let target = Server::ok("end");
    let to = target.url("/end");
    let srv = Server::start(move |s| {
        if s.path == "/start" {
            Step::Reply(common::redirect("302 Found", &to))
        } else {
            Step::Reply(ok("x"))
        }
    });
    let log = Arc::new(Mutex::new(Vec::<String>::new()));
    let l = log.clone();
    run(10, async {
        let c = Client::builder()
            .observer(move |e: &Event<'_>| {
                let name = match e {
                    Event::RequestStart { .. } => "start".to_string(),
                    Event::RequestEnd { status, .. } => {
                        format!("end {}", status.map_or(0, |s| s.as_u16()))
                    }
                    Event::DnsResolved { .. } => "dns".into(),
                    Event::TlsHandshake { .. } => "tls".into(),
                    Event::ConnectionCreated { .. } => "create".into(),
                    Event::ConnectionReused { .. } => "reuse".into(),
                    Event::Redirect { status, .. } => format!("redirect {status}"),
                    Event::Retry { .. } => "retry".into(),
                    _ => "other".into(),
                };
                l.lock().unwrap().push(name);
            })
            .build()
            .unwrap();
        common::get_bytes(&c, srv.url("/start")).await;
        common::get_bytes(&c, srv.url("/again")).await;
    });
    let log = log.lock().unwrap().clone();
    assert_eq!(
        log,
        [
            "start",
            "dns",
            "create",
            "redirect 302 Found",
            "dns",
            "create",
            "end 200",
            "start",
            "reuse",
            "end 200"
        ]
    );
}

#[test]
fn host_names_are_resolved_off_the_executor() {
    let srv = Server::ok("by name");
    run(20, async {
        let c = Client::new();
        let r = c
            .get(format!("http://localhost:{}/", srv.addr().port()))
            .send()
            .await
            .unwrap();
        // `localhost` comes from /etc/hosts: no packet leaves the machine.
        assert_eq!(r.text().await.unwrap(), "by name");
    });
}

#[test]
fn expect_continue() {
    let srv = Server::start(|s| Step::Reply(ok(&format!("got {}", s.body.len()))));
    run(20, async {
        let c = Client::new();
        let r = c
            .put(srv.url("/upload"))
            .expect_continue(true)
            .body(vec![1u8; 5000])
            .send()
            .await
            .unwrap();
        assert_eq!(r.text().await.unwrap(), "got 5000");
        let r = c
            .put(srv.url("/reject"))
            .expect_continue(true)
            .body(vec![1u8; 5000])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 417);
        r.bytes().await.unwrap();
        assert_eq!(
            c.pool_stats().open,
            0,
            "the body was never sent: the connection is closed"
        );
        let r = c.put(srv.url("/again")).body("x").send().await.unwrap();
        assert_eq!(r.text().await.unwrap(), "got 1");
    });
    let seen = srv.seen();
    assert_eq!(seen[0].header_all("expect"), ["100-continue"]);
    assert!(seen[1].body.is_empty());
    assert!(seen[2].header_all("expect").is_empty());
}
