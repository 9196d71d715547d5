//! TLS with certificates made at test time: valid, wrong host, expired, untrusted; the pool key
//! (research/http.md §6 item 11); truncation of close-delimited bodies (§6 item 4).

mod common;

use std::sync::{mpsc, Mutex};
use std::time::Duration;

use common::tls::{untrusted_server, Pki};
use common::{ok, run, wait_until, Server, Step};
use weft_http::{Certificate, Client, ErrorKind, TlsFailure};

fn client(pki: &Pki, srv: &Server) -> Client {
    Client::builder()
        .add_root_certificate(Certificate::from_pem(pki.ca_pem.as_bytes()).unwrap())
        .resolve("a.test", srv.addr())
        .resolve("b.test", srv.addr())
        .resolve("other.test", srv.addr())
        .idle_timeout(Duration::from_secs(600))
        .build()
        .unwrap()
}

fn url(srv: &Server, host: &str, path: &str) -> String {
    format!("https://{host}:{}{path}", srv.addr().port())
}

#[test]
fn valid_certificate_works_and_connections_are_reused() {
    let pki = Pki::new();
    let srv = Server::start_with(
        |_| Step::Reply(ok("secure")),
        Some(pki.server(&["a.test"], false)),
    );
    run(30, async {
        let c = client(&pki, &srv);
        for _ in 0..3 {
            let r = c.get(url(&srv, "a.test", "/")).send().await.unwrap();
            assert_eq!(r.text().await.unwrap(), "secure");
        }
        // Session tickets arriving on the idle connection do not evict it.
        weft_timer::sleep(Duration::from_millis(50)).await;
        let r = c.get(url(&srv, "a.test", "/")).send().await.unwrap();
        assert_eq!(r.text().await.unwrap(), "secure");
        assert_eq!(c.pool_stats().connections_created, 1);
    });
    assert_eq!(srv.accepted(), 1);
}

fn tls_failure(e: &weft_http::Error) -> TlsFailure {
    match e.kind() {
        ErrorKind::Tls(f) => f.clone(),
        k => panic!("expected a TLS error, got {k:?}: {e}"),
    }
}

/// The error of a GET of `https://a.test/` (trusting `pki`) from a server configured with `cfg`.
fn handshake_error(pki: &Pki, cfg: std::sync::Arc<rustls::ServerConfig>) -> weft_http::Error {
    let srv = Server::start_with(|_| Step::Reply(ok("x")), Some(cfg));
    run(
        30,
        common::send_error(client(pki, &srv).get(url(&srv, "a.test", "/"))),
    )
}

#[test]
fn wrong_host_is_rejected_and_says_so() {
    let pki = Pki::new();
    let e = handshake_error(&pki, pki.server(&["other.test"], false));
    assert_eq!(tls_failure(&e), TlsFailure::WrongHost);
    assert!(e.to_string().contains("wrong host"), "{e}");
    assert!(e.is_connect());
}

#[test]
fn expired_is_rejected_and_says_so() {
    let pki = Pki::new();
    let e = handshake_error(&pki, pki.server(&["a.test"], true));
    assert_eq!(tls_failure(&e), TlsFailure::Expired);
    assert!(e.to_string().contains("expired"), "{e}");
}

#[test]
fn untrusted_is_rejected_unless_dangerously_allowed() {
    let srv = Server::start_with(
        |_| Step::Reply(ok("anyway")),
        Some(untrusted_server(&["a.test"])),
    );
    run(30, async {
        let pki = Pki::new();
        let e = common::send_error(client(&pki, &srv).get(url(&srv, "a.test", "/"))).await;
        assert_eq!(tls_failure(&e), TlsFailure::Untrusted);
        assert!(e.to_string().contains("trusted root"), "{e}");
        let c = Client::builder()
            .danger_accept_invalid_certs(true)
            .resolve("a.test", srv.addr())
            .build()
            .unwrap();
        let r = c.get(url(&srv, "a.test", "/")).send().await.unwrap();
        assert_eq!(r.text().await.unwrap(), "anyway");
    });
}

/// Two host names on one IP never share a TLS connection; a server-name override gets its own.
#[test]
fn pool_key_includes_the_tls_name() {
    let pki = Pki::new();
    let srv = Server::start_with(
        |_| Step::Reply(ok("k")),
        Some(pki.server(&["a.test", "b.test", "127.0.0.1"], false)),
    );
    run(30, async {
        let c = client(&pki, &srv);
        common::get_bytes(&c, url(&srv, "a.test", "/")).await;
        common::get_bytes(&c, url(&srv, "b.test", "/")).await;
        assert_eq!(c.pool_stats().connections_created, 2);
        common::get_bytes(&c, url(&srv, "a.test", "/")).await;
        assert_eq!(
            c.pool_stats().connections_created,
            2,
            "a.test reused its own"
        );
        let ip_url = format!("https://127.0.0.1:{}/", srv.addr().port());
        common::send_bytes(c.get(&ip_url).tls_server_name("a.test")).await;
        assert_eq!(
            c.pool_stats().connections_created,
            3,
            "override: its own connection"
        );
        common::send_bytes(c.get(&ip_url).tls_server_name("b.test")).await;
        assert_eq!(c.pool_stats().connections_created, 4);
        let e = common::send_error(c.get(&ip_url).tls_server_name("other.test")).await;
        assert_eq!(tls_failure(&e), TlsFailure::WrongHost);
    });
}

/// A close-delimited body over TLS that ends without close_notify is a truncation error.
#[test]
fn tls_close_delimited_without_close_notify_is_an_error() {
    let pki = Pki::new();
    let srv = Server::start_with(
        |_| Step::ReplyClose(b"HTTP/1.1 200 OK\r\n\r\nmaybe truncated".to_vec()),
        Some(pki.server(&["a.test"], false)),
    );
    run(30, async {
        let c = client(&pki, &srv);
        let r = c.get(url(&srv, "a.test", "/")).send().await.unwrap();
        let e = r.bytes().await.unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::IncompleteMessage, "{e}");
    });
}

/// An idle TLS connection closed by the server is evicted by the reactor watch.
#[test]
fn tls_idle_close_is_evicted() {
    let pki = Pki::new();
    let srv = Server::start_with(
        |_| Step::ReplyClose(ok("bye")),
        Some(pki.server(&["a.test"], false)),
    );
    run(30, async {
        let c = client(&pki, &srv);
        common::get_bytes(&c, url(&srv, "a.test", "/")).await;
        wait_until("the closed TLS connection is evicted", || {
            c.pool_stats().open == 0
        })
        .await;
    });
}

/// Mutual TLS: a server that requires a client certificate accepts the configured identity.
#[test]
fn client_certificate() {
    let pki = Pki::new();
    let srv = Server::start_with(
        |_| Step::Reply(ok("mutual")),
        Some(pki.server_mtls(&["a.test"])),
    );
    run(30, async {
        let e = client(&pki, &srv)
            .get(url(&srv, "a.test", "/"))
            .send()
            .await;
        assert!(e.is_err(), "no client certificate: refused");
        let id = weft_http::Identity::from_pem(pki.client_identity_pem().as_bytes()).unwrap();
        let c = Client::builder()
            .add_root_certificate(Certificate::from_pem(pki.ca_pem.as_bytes()).unwrap())
            .identity(id)
            .resolve("a.test", srv.addr())
            .build()
            .unwrap();
        let r = c.get(url(&srv, "a.test", "/")).send().await.unwrap();
        assert_eq!(r.text().await.unwrap(), "mutual");
    });
}

/// Megabytes each way: rustls takes no plaintext (a zero-length write) while 64 KiB of records
/// wait for the socket; the stream pushes them out and writes again.
#[test]
fn large_uploads_and_downloads_over_tls() {
    const LEN: usize = 4 << 20;
    let pki = Pki::new();
    let srv = Server::start_with(
        |s| {
            let sum = s.body.iter().map(|&b| b as u64).sum::<u64>();
            Step::Reply(ok(&format!("{} {sum}", s.body.len())))
        },
        Some(pki.server(&["a.test"], false)),
    );
    run(60, async {
        let c = client(&pki, &srv);
        let body: Vec<u8> = (0..LEN).map(|i| (i % 251) as u8).collect();
        let sum = body.iter().map(|&b| b as u64).sum::<u64>();
        for _ in 0..2 {
            let r = c
                .post(url(&srv, "a.test", "/up"))
                .body(body.clone())
                .send()
                .await
                .unwrap();
            assert_eq!(r.text().await.unwrap(), format!("{LEN} {sum}"));
        }
        assert_eq!(c.pool_stats().connections_created, 1);
    });
}

/// A TLS server whose first response is followed by a KeyUpdate once `go` fires (`sent` says it
/// went out); later requests get `again`.
fn key_update_server(pki: &Pki) -> (Server, mpsc::Sender<()>, mpsc::Receiver<()>) {
    let (go_tx, go_rx) = mpsc::channel();
    let (sent_tx, sent_rx) = mpsc::channel();
    let (go, sent) = (Mutex::new(Some(go_rx)), Mutex::new(Some(sent_tx)));
    let srv = Server::start_with(
        move |s| match s.index {
            0 => Step::KeyUpdate(
                ok("first"),
                Mutex::new(go.lock().unwrap().take()),
                Mutex::new(sent.lock().unwrap().take()),
            ),
            _ => Step::Reply(ok("again")),
        },
        Some(pki.server(&["a.test"], false)),
    );
    (srv, go_tx, sent_rx)
}

/// A post-handshake record on an idle pooled TLS connection (a KeyUpdate, which a TLS 1.3
/// server may send any time) is read by the idle watcher, which keeps the connection; the next
/// requests reuse it and do not hang.
#[test]
fn post_handshake_record_on_idle_tls_connection_then_reuse() {
    let pki = Pki::new();
    let (srv, go, sent) = key_update_server(&pki);
    let port = srv.addr().port();
    run(30, async {
        let c = client(&pki, &srv);
        assert_eq!(
            common::get_text(&c, url(&srv, "a.test", "/")).await,
            "first"
        );
        wait_until("the connection is idle", || c.pool_stats().idle == 1).await;
        go.send(()).unwrap();
        wait_until("the server sent the KeyUpdate", || sent.try_recv().is_ok()).await;
        wait_until("the idle watcher reads it", || {
            common::fds::unread_by_clients(port) == 0
        })
        .await;
        assert_eq!(c.pool_stats().idle, 1, "the record did not evict it");
        for _ in 0..3 {
            assert_eq!(
                common::get_text(&c, url(&srv, "a.test", "/")).await,
                "again"
            );
        }
        assert_eq!(c.pool_stats().connections_created, 1);
    });
    assert_eq!(srv.accepted(), 1);
}

/// The same record sent right behind the response (it may arrive with the body, while the
/// connection is being checked in, or once it is idle): the next requests still reuse it.
#[test]
fn post_handshake_record_right_after_the_response_then_reuse() {
    let pki = Pki::new();
    let (srv, go, sent) = key_update_server(&pki);
    go.send(()).unwrap();
    run(30, async {
        let c = client(&pki, &srv);
        assert_eq!(
            common::get_text(&c, url(&srv, "a.test", "/")).await,
            "first"
        );
        for _ in 0..3 {
            assert_eq!(
                common::get_text(&c, url(&srv, "a.test", "/")).await,
                "again"
            );
        }
        assert!(sent.try_recv().is_ok(), "the server sent the KeyUpdate");
        assert_eq!(c.pool_stats().connections_created, 1);
    });
    assert_eq!(srv.accepted(), 1);
}
