//! Content decoding (feature `gzip`) with the decoded-size cap, and JSON (feature `json`).
//! Both features are on in the workspace build (the `weft` facade enables them).
#![cfg(all(feature = "gzip", feature = "json"))]

mod common;

use std::io::Write;

use common::{resp, run, Server, Step};
use weft_http::{Client, ErrorKind};

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[test]
fn gzip_and_deflate_bodies_are_decoded() {
    let text = "hello, compressed world\n".repeat(1000);
    let (gz, zl) = (gzip(text.as_bytes()), zlib(text.as_bytes()));
    let srv = Server::start(move |s| match s.path.as_str() {
        "/gzip" => Step::Reply(resp("200 OK", "Content-Encoding: gzip\r\n", &gz)),
        "/deflate" => Step::Reply(resp("200 OK", "Content-Encoding: deflate\r\n", &zl)),
        _ => Step::Reply(resp(
            "200 OK",
            "Content-Encoding: gzip\r\n",
            b"not gzip at all",
        )),
    });
    run(20, async {
        let c = Client::new();
        let r = c.get(srv.url("/gzip")).send().await.unwrap();
        assert!(r.headers().get("content-encoding").is_none());
        assert_eq!(r.text().await.unwrap(), text);
        let r = c.get(srv.url("/deflate")).send().await.unwrap();
        assert_eq!(r.text().await.unwrap(), text);
        let mut r = c.get(srv.url("/gzip")).send().await.unwrap();
        let mut n = 0;
        while let Some(ch) = r.chunk().await.unwrap() {
            n += ch.len();
        }
        assert_eq!(n, text.len());
        let e = common::body_error(c.get(srv.url("/bad"))).await;
        assert!(matches!(e.kind(), ErrorKind::Protocol(_)), "{e}");
        // The framing was intact: the connection stays usable.
        assert_eq!(c.pool_stats().connections_created, 1);
    });
    let seen = srv.seen();
    let want = if cfg!(feature = "brotli") {
        "gzip, deflate, br"
    } else {
        "gzip, deflate"
    };
    assert_eq!(seen[0].header_all("accept-encoding"), [want]);
}

/// §6.7: a decompression bomb stops at the decoded-size cap.
#[test]
fn gzip_bomb_is_capped() {
    let bomb = gzip(&vec![0u8; 32 << 20]);
    assert!(bomb.len() < 256 << 10, "the fixture is small on the wire");
    let srv =
        Server::start(move |_| Step::Reply(resp("200 OK", "Content-Encoding: gzip\r\n", &bomb)));
    run(60, async {
        let c = Client::builder().max_decoded_size(1 << 20).build().unwrap();
        let e = common::body_error(c.get(srv.url("/"))).await;
        assert_eq!(e.kind(), &ErrorKind::BodyTooLarge(1 << 20), "{e}");
        // Streaming is capped too.
        let mut r = c.get(srv.url("/")).send().await.unwrap();
        let mut total = 0usize;
        let err = loop {
            match r.chunk().await {
                Ok(Some(ch)) => total += ch.len(),
                Ok(None) => panic!("the bomb decoded completely"),
                Err(e) => break e,
            }
        };
        assert_eq!(err.kind(), &ErrorKind::BodyTooLarge(1 << 20));
        assert!(total <= 1 << 20);
    });
}

#[test]
fn json_round_trip() {
    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct Item {
        id: u32,
        name: String,
    }
    let srv = Server::start(|s| {
        Step::Reply(resp(
            "200 OK",
            "Content-Type: application/json\r\n",
            &s.body,
        ))
    });
    run(20, async {
        let c = Client::new();
        let item = Item {
            id: 7,
            name: "seven".into(),
        };
        let back: Item = c
            .post(srv.url("/echo"))
            .json(&item)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(back, item);
        let e = c
            .post(srv.url("/echo"))
            .body("{not json")
            .send()
            .await
            .unwrap()
            .json::<Item>()
            .await
            .unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::Decode);
    });
    assert_eq!(
        srv.seen()[0].header_all("content-type"),
        ["application/json"]
    );
}
