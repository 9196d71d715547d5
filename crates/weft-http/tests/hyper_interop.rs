//! Interoperability with hyper's HTTP/1.1 server (on its own tokio runtime thread): keep-alive,
//! chunked and sized bodies, POST echo, HEAD, 204.
#![cfg(not(loom))]

mod common;

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use common::run;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response};
use weft_http::Client;

type BoxBody = http_body_util::combinators::BoxBody<Bytes, Infallible>;

async fn handle(req: Request<Incoming>) -> Result<Response<BoxBody>, Infallible> {
    let path = req.uri().path().to_string();
    let resp = match path.as_str() {
        "/echo" => {
            let body = req.into_body().collect().await.unwrap().to_bytes();
            Response::new(Full::new(body).boxed())
        }
        "/chunked" => {
            let frames =
                (0..5).map(|i| Ok::<_, Infallible>(Frame::data(Bytes::from(format!("part{i};")))));
            Response::new(BodyExt::boxed(StreamBody::new(futures_lite::stream::iter(
                frames,
            ))))
        }
        "/empty" => Response::builder()
            .status(204)
            .body(Full::new(Bytes::new()).boxed())
            .unwrap(),
        _ => Response::new(Full::new(Bytes::from("x".repeat(64 * 1024))).boxed()),
    };
    Ok(resp)
}

fn start_hyper() -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(l.local_addr().unwrap()).unwrap();
            loop {
                let Ok((s, _)) = l.accept().await else { return };
                tokio::spawn(async move {
                    let io = hyper_util::rt::TokioIo::new(s);
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(io, hyper::service::service_fn(handle))
                        .await;
                });
            }
        });
    });
    rx.recv().unwrap()
}

#[test]
fn against_hyper_server() {
    let addr = start_hyper();
    run(30, async {
        let c = Client::new();
        let base = format!("http://{addr}");
        for _ in 0..20 {
            let b = common::get_bytes(&c, format!("{base}/big")).await;
            assert_eq!(b.len(), 64 * 1024);
        }
        let r = c.get(format!("{base}/chunked")).send().await.unwrap();
        assert_eq!(r.text().await.unwrap(), "part0;part1;part2;part3;part4;");
        let payload = vec![b'p'; 100_000];
        let r = c
            .post(format!("{base}/echo"))
            .body(payload.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.bytes().await.unwrap(), payload);
        let r = c.head(format!("{base}/big")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let r = c.get(format!("{base}/empty")).send().await.unwrap();
        assert_eq!(r.status(), 204);
        let s = c.pool_stats();
        assert_eq!(
            s.connections_created, 1,
            "everything on one keep-alive connection: {s:?}"
        );
    });
}
