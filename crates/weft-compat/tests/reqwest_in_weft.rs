//! reqwest (a tokio-based client) used from a weft program through `Compat`, against hyper's
//! server running on weft through the hyper adapters: both halves of `weft-compat` at once.

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use weft_compat::hyper::{HyperIo, WeftTimer};
use weft_compat::tokio::CompatExt;

/// Echoes the method, path and body back.
async fn echo(req: Request<hyper::body::Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let head = format!("{} {} ", req.method(), req.uri().path());
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let mut out = head.into_bytes();
    out.extend_from_slice(&body);
    Ok(Response::new(Full::new(Bytes::from(out))))
}

#[test]
fn reqwest_inside_weft_run_talks_to_hyper_on_weft() {
    let bodies = weft_executor::run(async {
        weft_timer::timeout(Duration::from_secs(30), async {
            let listener = weft_reactor::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            let _server = weft_executor::spawn(async move {
                loop {
                    let (s, _) = listener.accept().await.unwrap();
                    weft_executor::spawn(async move {
                        let _ = hyper::server::conn::http1::Builder::new()
                            .timer(WeftTimer::new())
                            .serve_connection(HyperIo::new(s), hyper::service::service_fn(echo))
                            .await;
                    })
                    .detach();
                }
            });

            // Workspace builds unify reqwest's features with the benches' `rustls-no-provider`,
            // under which building a `Client` panics unless a crypto provider is installed.
            let _ = rustls::crypto::ring::default_provider().install_default();
            let client = async { reqwest::Client::builder().build() }
                .compat()
                .await
                .expect("reqwest client");
            let mut bodies = Vec::new();
            for i in 0..5 {
                let url = format!("http://{addr}/item/{i}");
                let text = async { client.post(url).body("payload").send().await?.text().await }
                    .compat()
                    .await
                    .expect("reqwest request");
                bodies.push(text);
            }
            bodies
        })
        .await
        .expect("watchdog: reqwest test did not finish in 30 s")
    });
    let want: Vec<String> = (0..5).map(|i| format!("POST /item/{i} payload")).collect();
    assert_eq!(bodies, want);
}
