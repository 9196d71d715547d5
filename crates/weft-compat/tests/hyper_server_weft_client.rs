//! Issue 18's acceptance test: hyper's HTTP/1.1 server running on weft through
//! `weft_compat::hyper` (weft's `TcpListener`, spawn and timers; no tokio anywhere), answering
//! weft's own HTTP client (`weft_http::Client`): keep-alive reuse, a POST with a body and a
//! chunked response.

mod common;

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use common::run;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::rt::Executor;
use hyper::{Request, Response};
use weft_compat::hyper::{HyperIo, WeftExecutor, WeftTimer};
use weft_http::Client;
use weft_reactor::net::TcpListener;

/// The chunks `/chunked` streams, in order.
const CHUNKS: [&str; 4] = ["alpha;", "beta;", "gamma;", "delta;"];

/// `/echo` answers with the request's method and body, `/chunked` streams [`CHUNKS`] with no
/// length (so hyper frames it chunked), anything else answers with the path.
async fn handle(
    req: Request<Incoming>,
) -> Result<Response<BoxBody<Bytes, Infallible>>, Infallible> {
    let path = req.uri().path().to_string();
    let resp = match path.as_str() {
        "/echo" => {
            let method = req.method().to_string();
            let body = req.into_body().collect().await.map(|b| b.to_bytes());
            let body = body.unwrap_or_default();
            let mut out = format!("{method} {}:", body.len()).into_bytes();
            out.extend_from_slice(&body);
            Response::new(Full::new(Bytes::from(out)).boxed())
        }
        "/chunked" => {
            let frames = CHUNKS
                .iter()
                .map(|c| Ok::<_, Infallible>(Frame::data(Bytes::from_static(c.as_bytes()))));
            Response::new(BodyExt::boxed(StreamBody::new(futures_lite::stream::iter(
                frames,
            ))))
        }
        _ => Response::new(Full::new(Bytes::from(path)).boxed()),
    };
    Ok(resp)
}

/// Binds weft's `TcpListener` on loopback and serves every connection with hyper's HTTP/1.1
/// server on its own weft task.
fn spawn_server() -> (SocketAddr, weft_executor::Task<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    let task = weft_executor::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.expect("accept");
            WeftExecutor::new().execute(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .timer(WeftTimer::new())
                    .keep_alive(true)
                    .serve_connection(HyperIo::new(stream), hyper::service::service_fn(handle))
                    .await;
            });
        }
    });
    (addr, task)
}

#[test]
fn weft_client_reuses_one_keep_alive_connection_to_hyper_on_weft() {
    run(async {
        let (addr, _server) = spawn_server();
        let client = Client::builder()
            .pool_max_per_host(4)
            .build()
            .expect("client");
        for i in 0..10 {
            let path = format!("/req/{i}");
            let resp = client
                .get(format!("http://{addr}{path}"))
                .send()
                .await
                .expect("GET");
            assert_eq!(resp.status(), 200);
            assert_eq!(resp.bytes().await.expect("body"), path.as_bytes());
        }
        let stats = client.pool_stats();
        assert_eq!(
            (stats.connections_created, stats.connections_reused),
            (1, 9),
            "ten sequential GETs must share one keep-alive connection: {stats:?}"
        );
        assert_eq!(
            stats.idle, 1,
            "the connection is back in the pool: {stats:?}"
        );
    });
}

#[test]
fn weft_client_posts_a_body_to_hyper_on_weft() {
    run(async {
        let (addr, _server) = spawn_server();
        let client = Client::new();
        let url = format!("http://{addr}/echo");
        // Large enough to take several writes on the client and several reads on the server.
        let payload = vec![b'p'; 200_000];
        let resp = client
            .post(&url)
            .body(payload.clone())
            .send()
            .await
            .expect("POST");
        assert_eq!(resp.status(), 200);
        let body = resp.bytes().await.expect("body");
        let (head, echoed) = body.split_at(body.iter().position(|&b| b == b':').unwrap() + 1);
        assert_eq!(head, b"POST 200000:");
        assert_eq!(echoed, &payload[..]);
        // A small POST after it reuses the same connection.
        let resp = client.post(&url).body("hi").send().await.expect("POST 2");
        assert_eq!(resp.text().await.expect("text"), "POST 2:hi");
        let stats = client.pool_stats();
        assert_eq!(
            (stats.connections_created, stats.connections_reused),
            (1, 1),
            "{stats:?}"
        );
    });
}

#[test]
fn weft_client_reads_a_chunked_response_from_hyper_on_weft() {
    run(async {
        let (addr, _server) = spawn_server();
        let client = Client::new();
        let url = format!("http://{addr}/chunked");
        for _ in 0..2 {
            let resp = client.get(&url).send().await.expect("GET /chunked");
            assert_eq!(resp.status(), 200);
            let te = resp
                .headers()
                .get("transfer-encoding")
                .map(|v| v.as_bytes());
            assert_eq!(
                te,
                Some(&b"chunked"[..]),
                "hyper framed the stream as chunked"
            );
            assert!(resp.headers().get("content-length").is_none());
            assert_eq!(resp.text().await.expect("text"), CHUNKS.concat());
        }
        // The chunked body was read to its terminator, so the connection was reusable.
        let stats = client.pool_stats();
        assert_eq!(
            (stats.connections_created, stats.connections_reused),
            (1, 1),
            "{stats:?}"
        );
    });
}
