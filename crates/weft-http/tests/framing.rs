//! Smuggling patterns and limits (research/http.md §6 items 6 and 7); malformed responses
//! never panic and never poison a pooled connection.

mod common;

use common::{ok, run, Server, Step};
use weft_http::{Client, ErrorKind, ProtocolError};

fn bad_responses() -> Vec<(&'static str, Vec<u8>)> {
    let mut many = String::from("HTTP/1.1 200 OK\r\n");
    for i in 0..=weft_http::MAX_HEADERS {
        many.push_str(&format!("X-{i}: 1\r\n"));
    }
    many.push_str("Content-Length: 0\r\n\r\n");
    let big_head = format!(
        "HTTP/1.1 200 OK\r\nX-Big: {}\r\nContent-Length: 0\r\n\r\n",
        "a".repeat(weft_http::MAX_HEAD_BYTES)
    );
    let big_trailers = format!(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\nX-T: {}\r\n\r\n",
        "a".repeat(weft_http::MAX_TRAILER_BYTES)
    );
    vec![
        (
            "cl+te",
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
                .to_vec(),
        ),
        (
            "conflicting cl",
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd".to_vec(),
        ),
        (
            "+5",
            b"HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello".to_vec(),
        ),
        (
            "empty chunk size",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\nhello\r\n0\r\n\r\n".to_vec(),
        ),
        (
            "lf in chunk ext",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a\nb\r\nhello\r\n0\r\n\r\n"
                .to_vec(),
        ),
        ("head > 64 KiB", big_head.into_bytes()),
        ("too many headers", many.into_bytes()),
        ("trailers > 16 KiB", big_trailers.into_bytes()),
        ("garbage", b"\x00\x01\x02 not http\r\n\r\n".to_vec()),
        (
            "bad status",
            b"HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n".to_vec(),
        ),
        ("101", b"HTTP/1.1 101 Switching Protocols\r\n\r\n".to_vec()),
    ]
}

/// §6.6 and §6.7: each is a protocol error, the connection is closed, and the next request on
/// the same client works on a fresh connection.
#[test]
fn smuggling_patterns_and_limits_are_protocol_errors() {
    let cases = bad_responses();
    let n = cases.len();
    let table = std::sync::Arc::new(cases);
    let t = table.clone();
    let srv = Server::start(move |s| {
        if s.path == "/good" {
            return Step::Reply(ok("good"));
        }
        let i: usize = s.path.trim_start_matches("/bad/").parse().unwrap();
        Step::Reply(t[i].1.clone())
    });
    run(30, async {
        let c = Client::new();
        common::get_bytes(&c, srv.url("/good")).await;
        for (i, (name, _)) in table.iter().enumerate() {
            let created_before = c.pool_stats().connections_created;
            let res = match c.get(srv.url(&format!("/bad/{i}"))).send().await {
                Ok(r) => r.bytes().await.map(|_| ()),
                Err(e) => Err(e),
            };
            let e = res.expect_err(name);
            assert!(matches!(e.kind(), ErrorKind::Protocol(_)), "{name}: {e}");
            assert!(!e.to_string().is_empty());
            let stats = c.pool_stats();
            assert_eq!(stats.idle, 0, "{name}: the connection was not pooled");
            assert_eq!(stats.open, 0, "{name}: the connection was closed");
            let r = c.get(srv.url("/good")).send().await.unwrap();
            assert_eq!(
                r.text().await.unwrap(),
                "good",
                "{name}: next request works"
            );
            assert_eq!(
                c.pool_stats().connections_created,
                created_before + 1,
                "{name}: exactly one new connection"
            );
        }
        let _ = n;
    });
}

#[test]
fn specific_protocol_error_kinds() {
    let srv = Server::start(|s| match s.path.as_str() {
        "/clte" => Step::Reply(
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec(),
        ),
        "/plus" => Step::Reply(b"HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello".to_vec()),
        _ => Step::Reply(ok("x")),
    });
    run(10, async {
        let c = Client::new();
        let e = c.get(srv.url("/clte")).send().await.unwrap_err();
        assert_eq!(
            e.kind(),
            &ErrorKind::Protocol(ProtocolError::ContentLengthAndTransferEncoding)
        );
        assert!(e.to_string().contains("smuggling"), "{e}");
        let e = c.get(srv.url("/plus")).send().await.unwrap_err();
        assert_eq!(
            e.kind(),
            &ErrorKind::Protocol(ProtocolError::InvalidContentLength)
        );
    });
}

/// Truncated bodies are errors, never silently short.
#[test]
fn truncated_bodies() {
    let srv = Server::start(|s| match s.path.as_str() {
        "/cl" => Step::ReplyClose(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort".to_vec()),
        "/chunked" => Step::ReplyClose(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel".to_vec(),
        ),
        "/head" => Step::ReplyClose(b"HTTP/1.1 200 OK\r\nContent-Len".to_vec()),
        _ => Step::Reply(ok("x")),
    });
    run(10, async {
        let c = Client::new();
        for p in ["/cl", "/chunked", "/head"] {
            let res = match c.get(srv.url(p)).send().await {
                Ok(r) => r.bytes().await.map(|_| ()),
                Err(e) => Err(e),
            };
            assert_eq!(
                res.unwrap_err().kind(),
                &ErrorKind::IncompleteMessage,
                "{p}"
            );
        }
    });
}

/// Random bytes as a response: never a panic; the pool stays usable.
#[test]
fn random_responses_never_panic_nor_poison() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    let srv = Server::start(|s| {
        if s.path == "/good" {
            return Step::Reply(ok("good"));
        }
        let hex = s.path.trim_start_matches("/r/");
        let bytes: Vec<u8> = (0..hex.len() / 2)
            .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
            .collect();
        Step::ReplyClose(bytes)
    });
    let mut runner = TestRunner::new(Config {
        cases: 48,
        ..Config::default()
    });
    let strategy = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..200),
        proptest::collection::vec(
            prop_oneof![
                Just(b"HTTP/1.1 200 OK\r\n".to_vec()),
                Just(b"Content-Length: 3\r\n".to_vec()),
                Just(b"Transfer-Encoding: chunked\r\n".to_vec()),
                Just(b"\r\n".to_vec()),
                Just(b"3\r\nabc\r\n".to_vec()),
                Just(b"0\r\n\r\n".to_vec()),
                Just(b"\n".to_vec()),
                Just(b"ff;x\r\n".to_vec()),
            ],
            0..12
        )
        .prop_map(|v| v.concat()),
    ];
    let c = Client::new();
    runner
        .run(&strategy, |bytes| {
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            run(10, async {
                if let Ok(r) = c.get(srv.url(&format!("/r/{hex}"))).send().await {
                    let _ = r.bytes().await;
                }
                let r = c.get(srv.url("/good")).send().await.unwrap();
                assert_eq!(r.text().await.unwrap(), "good");
            });
            Ok(())
        })
        .unwrap();
}
