//! `Content-Encoding: br` (feature `brotli`): decoding, `Accept-Encoding`, truncation, and the
//! decoded-size cap against a brotli bomb (421 bytes that expand to 256 MiB of zeros), with the
//! process's peak heap measured to show the cap holds while decoding, not only after.
//!
//! Fixtures (tests/fixtures) were made with Python's `brotli` 1.2.1:
//! `hello.br` = `compress(b"hello, brotli world\n" * 1000, quality=5)`,
//! `bomb_256m_zeros.br` = `compress(b"\0" * (256 << 20), quality=11)`.
#![cfg(feature = "brotli")]

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{resp, run, Server, Step};
use weft_http::{Client, ErrorKind};

/// The system allocator, keeping the live and peak heap sizes.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to `System` unchanged; only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc` is passed on as it is.
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            let now = LIVE.fetch_add(l.size(), Ordering::Relaxed) + l.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
        // SAFETY: `p` was allocated by `System` with `l` (see `alloc`).
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const HELLO: &[u8] = include_bytes!("fixtures/hello.br");
const BOMB: &[u8] = include_bytes!("fixtures/bomb_256m_zeros.br");

#[test]
fn brotli_bodies_are_decoded_and_advertised() {
    let text = "hello, brotli world\n".repeat(1000);
    let srv = Server::start(|s| match s.path.as_str() {
        "/br" => Step::Reply(resp("200 OK", "Content-Encoding: br\r\n", HELLO)),
        "/truncated" => Step::Reply(resp(
            "200 OK",
            "Content-Encoding: br\r\n",
            &HELLO[..HELLO.len() - 4],
        )),
        _ => Step::Reply(resp("200 OK", "Content-Encoding: br\r\n", b"not brotli")),
    });
    run(20, async {
        let c = Client::new();
        let r = c.get(srv.url("/br")).send().await.unwrap();
        assert!(r.headers().get("content-encoding").is_none());
        assert_eq!(r.text().await.unwrap(), text);
        for path in ["/truncated", "/garbage"] {
            let e = c.get(srv.url(path)).send().await.unwrap().bytes().await;
            let e = e.expect_err(path);
            assert!(matches!(e.kind(), ErrorKind::Protocol(_)), "{path}: {e}");
        }
        // The framing was intact each time: one connection throughout.
        assert_eq!(c.pool_stats().connections_created, 1);
    });
    let accept = srv.seen()[0].header_all("accept-encoding").join(",");
    assert!(accept.split(',').any(|c| c.trim() == "br"), "{accept:?}");
}

/// §6.7 for brotli: the bomb stops at the cap, and the heap never holds much more than it.
#[test]
fn brotli_bomb_is_capped_while_decoding() {
    const CAP: u64 = 1 << 20;
    let srv = Server::start(|_| Step::Reply(resp("200 OK", "Content-Encoding: br\r\n", BOMB)));
    run(60, async {
        let c = Client::builder().max_decoded_size(CAP).build().unwrap();
        let before = LIVE.load(Ordering::Relaxed);
        PEAK.store(before, Ordering::Relaxed);
        let e = c.get(srv.url("/")).send().await.unwrap().bytes().await;
        let e = e.expect_err("the bomb decoded completely");
        assert_eq!(e.kind(), &ErrorKind::BodyTooLarge(CAP), "{e}");
        let grew = PEAK.load(Ordering::Relaxed).saturating_sub(before);
        assert!(
            grew < 16 << 20,
            "decoding a capped bomb grew the heap by {grew} bytes"
        );
        // Streaming is capped too.
        let mut r = c.get(srv.url("/")).send().await.unwrap();
        let mut total = 0u64;
        let err = loop {
            match r.chunk().await {
                Ok(Some(ch)) => total += ch.len() as u64,
                Ok(None) => panic!("the bomb decoded completely"),
                Err(e) => break e,
            }
        };
        assert_eq!(err.kind(), &ErrorKind::BodyTooLarge(CAP));
        assert!(total <= CAP);
    });
}
