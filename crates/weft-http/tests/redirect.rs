//! Redirects (research/http.md §6 item 10).

mod common;

use common::{ok, redirect, run, Server, Step};
use weft_http::redirect::{Action, Policy};
use weft_http::{Body, Bytes, Client, ErrorKind, StatusCode};

/// A redirect to another origin (another port here) drops every instance of Authorization,
/// Cookie and Proxy-Authorization; a same-origin redirect keeps them.
#[test]
fn credentials_are_stripped_across_origins() {
    let target = Server::ok("landed");
    let to = target.url("/dest");
    let src = Server::start(move |s| match s.path.as_str() {
        "/same" => Step::Reply(redirect("302 Found", "/after")),
        "/after" => Step::Reply(ok("same origin")),
        _ => Step::Reply(redirect("302 Found", &to)),
    });
    run(20, async {
        let c = Client::new();
        let send = |path: &str| {
            c.get(src.url(path))
                .header("authorization", "Bearer one")
                .header("authorization", "Bearer two")
                .header("cookie", "a=1")
                .header("cookie", "b=2")
                .header("proxy-authorization", "Basic x")
                .header("x-keep", "yes")
                .send()
        };
        let r = send("/cross").await.unwrap();
        assert_eq!(r.url().to_string(), target.url("/dest"));
        assert_eq!(r.text().await.unwrap(), "landed");
        let r = send("/same").await.unwrap();
        assert_eq!(r.text().await.unwrap(), "same origin");
    });
    let landed = &target.seen()[0];
    for h in ["authorization", "cookie", "proxy-authorization"] {
        assert!(landed.header_all(h).is_empty(), "{h} leaked: {landed:?}");
    }
    assert_eq!(landed.header_all("x-keep"), ["yes"]);
    assert_eq!(landed.header_all("host"), [target.addr().to_string()]);
    let after = src.seen().into_iter().find(|s| s.path == "/after").unwrap();
    assert_eq!(
        after.header_all("authorization"),
        ["Bearer one", "Bearer two"]
    );
}

/// Two host names on the same server are different origins too.
#[test]
fn other_host_name_is_another_origin() {
    let srv = Server::start(|s| {
        if s.path == "/start" {
            let port = s.header_all("host")[0]
                .rsplit(':')
                .next()
                .unwrap()
                .to_string();
            Step::Reply(redirect(
                "307 Temporary Redirect",
                &format!("http://b.test:{port}/end"),
            ))
        } else {
            Step::Reply(ok("end"))
        }
    });
    run(20, async {
        let c = Client::builder()
            .resolve("a.test", srv.addr())
            .resolve("b.test", srv.addr())
            .build()
            .unwrap();
        let url = format!("http://a.test:{}/start", srv.addr().port());
        let r = c.get(url).bearer_auth("secret").send().await.unwrap();
        assert_eq!(r.text().await.unwrap(), "end");
    });
    let end = srv.seen().into_iter().find(|s| s.path == "/end").unwrap();
    assert!(end.header_all("authorization").is_empty());
}

/// 303 turns a POST into a GET without its body headers; 307/308 keep method and body.
#[test]
fn method_and_body_on_redirect() {
    let srv = Server::start(|s| match s.path.as_str() {
        "/303" => Step::Reply(redirect("303 See Other", "/got")),
        "/307" => Step::Reply(redirect("307 Temporary Redirect", "/got")),
        "/308" => Step::Reply(redirect("308 Permanent Redirect", "/got")),
        _ => Step::Reply(ok("done")),
    });
    run(20, async {
        let c = Client::new();
        for p in ["/303", "/307", "/308"] {
            common::send_bytes(
                c.post(srv.url(p))
                    .header("content-type", "text/plain")
                    .body("payload"),
            )
            .await;
        }
        // A streamed body cannot be replayed for a 307.
        let stream =
            futures_lite::stream::iter(vec![Ok::<_, std::io::Error>(Bytes::from_static(b"s"))]);
        let e = common::send_error(
            c.post(srv.url("/307"))
                .body(Body::wrap_stream(stream, None)),
        )
        .await;
        assert_eq!(e.kind(), &ErrorKind::RedirectBodyNotReplayable, "{e}");
    });
    let got: Vec<_> = srv
        .seen()
        .into_iter()
        .filter(|s| s.path == "/got")
        .collect();
    assert_eq!(got.len(), 3);
    assert_eq!(got[0].method, "GET");
    assert!(got[0].body.is_empty());
    assert!(got[0].header_all("content-type").is_empty());
    assert!(got[0].header_all("content-length").is_empty());
    for g in &got[1..] {
        assert_eq!(g.method, "POST");
        assert_eq!(g.body, b"payload");
        assert_eq!(g.header_all("content-type"), ["text/plain"]);
    }
}

/// A loop: 10 hops are followed, the 11th is an error.
#[test]
fn too_many_redirects() {
    let srv = Server::start(|s| {
        let n: usize = s.path[1..].parse().unwrap_or(0);
        if n < 50 {
            Step::Reply(redirect("302 Found", &format!("/{}", n + 1)))
        } else {
            Step::Reply(ok("end"))
        }
    });
    run(20, async {
        let c = Client::new();
        let e = c.get(srv.url("/0")).send().await.unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::TooManyRedirects(10), "{e}");
        let c = Client::builder()
            .redirect(Policy::limited(60))
            .build()
            .unwrap();
        assert_eq!(common::get_text(&c, srv.url("/0")).await, "end");
        let c = Client::builder().redirect(Policy::none()).build().unwrap();
        let r = c.get(srv.url("/0")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FOUND);
        let c = Client::builder()
            .redirect(Policy::custom(|a| {
                if a.previous.len() < 3 {
                    Action::Follow
                } else {
                    Action::Stop
                }
            }))
            .build()
            .unwrap();
        let r = c.get(srv.url("/0")).send().await.unwrap();
        assert_eq!(r.url().path(), "/2");
    });
    let hops = srv.seen().iter().filter(|s| s.path == "/10").count();
    assert!(hops >= 1);
}

#[test]
fn bad_location_is_an_error() {
    let srv = Server::start(|_| Step::Reply(redirect("302 Found", "ftp://elsewhere/")));
    run(20, async {
        let e = Client::new().get(srv.url("/")).send().await.unwrap_err();
        assert!(matches!(e.kind(), ErrorKind::Protocol(_)), "{e}");
    });
}

/// The cookie jar: cookies set on a redirect are sent on the same-origin hop and later
/// requests, never to another host.
#[test]
fn cookie_jar_across_redirects() {
    let srv = Server::start(|s| {
        let host = s.header_all("host")[0].to_string();
        let port = host.rsplit(':').next().unwrap().to_string();
        match s.path.as_str() {
            "/login" => Step::Reply(common::resp(
                "302 Found",
                "Set-Cookie: sid=abc; Path=/\r\nLocation: /home\r\n",
                b"",
            )),
            "/away" => Step::Reply(redirect(
                "302 Found",
                &format!("http://b.test:{port}/other"),
            )),
            _ => Step::Reply(ok("page")),
        }
    });
    run(20, async {
        let c = Client::builder()
            .cookie_store(true)
            .resolve("a.test", srv.addr())
            .resolve("b.test", srv.addr())
            .build()
            .unwrap();
        let port = srv.addr().port();
        common::get_bytes(&c, format!("http://a.test:{port}/login")).await;
        common::send_bytes(
            c.get(format!("http://a.test:{port}/away"))
                .header("cookie", "mine=1"),
        )
        .await;
    });
    let seen = srv.seen();
    let find = |p: &str| seen.iter().find(|s| s.path == p).unwrap();
    assert_eq!(find("/home").header_all("cookie"), ["sid=abc"]);
    assert_eq!(find("/away").header_all("cookie"), ["mine=1; sid=abc"]);
    assert!(
        find("/other").header_all("cookie").is_empty(),
        "no cookie for b.test"
    );
}
