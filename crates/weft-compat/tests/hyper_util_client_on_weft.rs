//! hyper-util's pooled legacy `Client` running on weft (WeftConnector, WeftExecutor,
//! WeftTimer) against hyper's server on weft.

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper::{Request, Response};
use hyper_util::client::legacy::Client;
use weft_compat::hyper::{HyperIo, WeftConnector, WeftExecutor, WeftTimer};

#[test]
fn pooled_client_reuses_connections_for_sequential_requests() {
    let (bodies, accepted) = weft_executor::run(async {
        weft_timer::timeout(Duration::from_secs(30), async {
            let listener = weft_reactor::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let accepted = Arc::new(AtomicUsize::new(0));
            let count = accepted.clone();
            let _server = weft_executor::spawn(async move {
                loop {
                    let (s, _) = listener.accept().await.unwrap();
                    count.fetch_add(1, SeqCst);
                    weft_executor::spawn(async move {
                        let svc = hyper::service::service_fn(
                            |r: Request<hyper::body::Incoming>| async move {
                                Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(
                                    r.uri().path().to_string(),
                                ))))
                            },
                        );
                        let _ = hyper::server::conn::http1::Builder::new()
                            .timer(WeftTimer::new())
                            .serve_connection(HyperIo::new(s), svc)
                            .await;
                    })
                    .detach();
                }
            });

            let client: Client<WeftConnector, Empty<Bytes>> = Client::builder(WeftExecutor::new())
                .timer(WeftTimer::new())
                .pool_timer(WeftTimer::new())
                .build(WeftConnector::new());
            let mut bodies = Vec::new();
            for i in 0..10 {
                let uri = format!("http://{addr}/n/{i}").parse().unwrap();
                let resp = client.get(uri).await.expect("request");
                assert_eq!(resp.status(), 200);
                bodies.push(resp.into_body().collect().await.unwrap().to_bytes());
            }
            let err = client
                .get("https://127.0.0.1:1/".parse().unwrap())
                .await
                .expect_err("https is refused");
            let chain = format!("{:?}", std::error::Error::source(&err));
            assert!(chain.contains("plain http only"), "{chain}");
            (bodies, accepted.load(SeqCst))
        })
        .await
        .expect("watchdog: hyper-util test did not finish in 30 s")
    });
    let want: Vec<Bytes> = (0..10).map(|i| Bytes::from(format!("/n/{i}"))).collect();
    assert_eq!(bodies, want);
    // hyper-util may open a second connection while the first is on its way back to the pool
    // (it races a new connect against the checkout); 10 connections would mean no reuse.
    assert!(
        (1..10).contains(&accepted),
        "the pool must reuse keep-alive connections: {accepted} accepted for 10 requests"
    );
}
