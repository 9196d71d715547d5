//! Proxies: absolute-form requests through a forwarding proxy, CONNECT tunnels for https, a
//! refused tunnel, NO_PROXY, and the pool key per proxy.

mod common;

use common::tls::Pki;
use common::{ok, resp, run, Server, Step};
use weft_http::{Certificate, Client, ErrorKind, Proxy};

#[test]
fn http_through_a_forwarding_proxy() {
    let proxy = Server::start(|s| {
        if s.path.starts_with("http://") {
            Step::Reply(ok("via proxy"))
        } else {
            Step::Reply(resp("400 Bad Request", "", b"not a proxy request"))
        }
    });
    run(20, async {
        let c = Client::builder()
            .proxy(
                Proxy::http(&proxy.url(""))
                    .unwrap()
                    .basic_auth("user", "pw"),
            )
            .build()
            .unwrap();
        for _ in 0..2 {
            let r = c.get("http://a.test:1234/x?y=1").send().await.unwrap();
            assert_eq!(r.text().await.unwrap(), "via proxy");
        }
        assert_eq!(c.pool_stats().connections_created, 1);
    });
    let seen = &proxy.seen()[0];
    assert_eq!(seen.path, "http://a.test:1234/x?y=1");
    assert_eq!(seen.header_all("host"), ["a.test:1234"]);
    assert_eq!(
        seen.header_all("proxy-authorization"),
        ["Basic dXNlcjpwdw=="]
    );
}

#[test]
fn https_through_a_connect_tunnel() {
    let pki = Pki::new();
    let origin = Server::start_with(
        |_| Step::Reply(ok("tunnelled")),
        Some(pki.server(&["a.test"], false)),
    );
    let target = origin.addr();
    let proxy = Server::start(move |s| {
        if s.method == "CONNECT" {
            Step::Tunnel(target)
        } else {
            Step::Reply(resp("405 Method Not Allowed", "", b""))
        }
    });
    run(30, async {
        let c = Client::builder()
            .add_root_certificate(Certificate::from_pem(pki.ca_pem.as_bytes()).unwrap())
            .proxy(Proxy::all(&format!("http://u:p@{}", proxy.addr())).unwrap())
            .build()
            .unwrap();
        for _ in 0..2 {
            let r = c.get("https://a.test:8443/secret").send().await.unwrap();
            assert_eq!(r.text().await.unwrap(), "tunnelled");
        }
        assert_eq!(
            c.pool_stats().connections_created,
            1,
            "the tunnel is pooled"
        );
    });
    let seen = &proxy.seen()[0];
    assert_eq!(seen.method, "CONNECT");
    assert_eq!(seen.path, "a.test:8443");
    assert_eq!(seen.header_all("proxy-authorization"), ["Basic dTpw"]);
    assert_eq!(origin.seen()[0].path, "/secret");
    assert!(origin.seen()[0]
        .header_all("proxy-authorization")
        .is_empty());
}

#[test]
fn refused_tunnel_and_no_proxy() {
    let proxy = Server::start(|_| Step::Reply(resp("407 Proxy Authentication Required", "", b"")));
    let direct = Server::ok("direct");
    run(20, async {
        let c = Client::builder()
            .proxy(
                Proxy::all(&proxy.url(""))
                    .unwrap()
                    .no_proxy("localhost,127.0.0.1"),
            )
            .build()
            .unwrap();
        let e = c.get("https://a.test/").send().await.unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::Connect, "{e}");
        assert!(e.to_string().contains("CONNECT"), "{e}");
        let r = c.get(direct.url("/")).send().await.unwrap();
        assert_eq!(r.text().await.unwrap(), "direct");
    });
    assert_eq!(proxy.seen().len(), 1);
}

/// An https proxy (TLS to the proxy, certificate for `proxy.test`) that forwards absolute-form
/// requests with `forward` and tunnels CONNECTs to `target`.
fn https_proxy(pki: &Pki, target: Option<std::net::SocketAddr>) -> Server {
    Server::start_with(
        move |s| match (s.method.as_str(), target) {
            ("CONNECT", Some(t)) => Step::Tunnel(t),
            _ if s.path.starts_with("http://") => Step::Reply(ok("via https proxy")),
            _ => Step::Reply(resp("405 Method Not Allowed", "", b"")),
        },
        Some(pki.server(&["proxy.test"], false)),
    )
}

fn https_proxy_client(pki: &Pki, proxy: &Server) -> Client {
    Client::builder()
        .add_root_certificate(Certificate::from_pem(pki.ca_pem.as_bytes()).unwrap())
        .resolve("proxy.test", proxy.addr())
        .proxy(Proxy::all("https://u:p@proxy.test").unwrap())
        .build()
        .unwrap()
}

#[test]
fn http_through_an_https_proxy() {
    let pki = Pki::new();
    let proxy = https_proxy(&pki, None);
    run(30, async {
        let c = https_proxy_client(&pki, &proxy);
        for _ in 0..2 {
            let r = c.get("http://a.test:1234/x").send().await.unwrap();
            assert_eq!(r.text().await.unwrap(), "via https proxy");
        }
        assert_eq!(c.pool_stats().connections_created, 1);
    });
    let seen = &proxy.seen()[0];
    assert_eq!(seen.path, "http://a.test:1234/x");
    assert_eq!(seen.header_all("proxy-authorization"), ["Basic dTpw"]);
}

#[test]
fn https_through_an_https_proxy_is_tls_inside_tls() {
    let pki = Pki::new();
    let origin = Server::start_with(
        |s| Step::Reply(ok(if s.path == "/big" { BIG } else { "tunnelled" })),
        Some(pki.server(&["a.test"], false)),
    );
    let proxy = https_proxy(&pki, Some(origin.addr()));
    run(30, async {
        let c = https_proxy_client(&pki, &proxy);
        for _ in 0..2 {
            let r = c.get("https://a.test:8443/secret").send().await.unwrap();
            assert_eq!(r.text().await.unwrap(), "tunnelled");
        }
        let r = c.get("https://a.test:8443/big").send().await.unwrap();
        assert_eq!(r.text().await.unwrap(), BIG);
        assert_eq!(
            c.pool_stats().connections_created,
            1,
            "the tunnel is pooled"
        );
    });
    let seen = &proxy.seen();
    assert_eq!(seen.len(), 1, "one CONNECT, then only ciphertext: {seen:?}");
    assert_eq!(seen[0].method, "CONNECT");
    assert_eq!(seen[0].path, "a.test:8443");
    assert_eq!(seen[0].header_all("proxy-authorization"), ["Basic dTpw"]);
    let at_origin = origin.seen();
    assert_eq!(at_origin.len(), 3);
    for s in &at_origin {
        assert!(
            s.header_all("proxy-authorization").is_empty(),
            "the proxy credentials reached the origin"
        );
    }
}

#[test]
fn an_https_proxy_with_the_wrong_certificate_is_a_tls_error() {
    let pki = Pki::new();
    let proxy = https_proxy(&pki, None);
    run(30, async {
        let c = Client::builder()
            .resolve("proxy.test", proxy.addr())
            .proxy(Proxy::all("https://proxy.test").unwrap())
            .build()
            .unwrap();
        let e = c.get("http://a.test/").send().await.unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::Tls(_)), "{e}");
    });
    assert!(proxy.seen().is_empty());
}

/// Larger than rustls' 16 KiB record and the read buffer: many records through two TLS layers.
const BIG: &str = concat!(
    include_str!("proxy.rs"),
    include_str!("proxy.rs"),
    include_str!("proxy.rs"),
    include_str!("proxy.rs")
);
