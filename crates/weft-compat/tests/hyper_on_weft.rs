//! hyper's HTTP/1.1 server and client running on weft through `weft_compat::hyper`, on loopback,
//! with no tokio anywhere.

mod common;

use std::convert::Infallible;
use std::future::Future;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{run, WATCHDOG};
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use http_body_util::{BodyExt, Empty, Full};
use hyper::rt::{Executor, Timer};
use hyper::{Request, Response};
use weft_compat::hyper::{HyperIo, WeftExecutor, WeftSleep, WeftTimer};
use weft_reactor::net::{TcpListener, TcpStream};

/// Answers `/echo` with the request body and everything else with the path.
async fn handle(req: Request<hyper::body::Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_string();
    let body = if path == "/echo" {
        req.into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default()
    } else {
        Bytes::from(path)
    };
    Ok(Response::new(Full::new(body)))
}

/// Serves every accepted connection with hyper's HTTP/1.1 server, each on its own weft task.
fn spawn_server(
    listener: TcpListener,
    header_timeout: Option<Duration>,
) -> weft_executor::Task<()> {
    weft_executor::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.expect("accept");
            WeftExecutor::new().execute(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .timer(WeftTimer::new())
                    .header_read_timeout(header_timeout)
                    .serve_connection(
                        HyperIo::new(stream).with_vectored_writes(true),
                        hyper::service::service_fn(handle),
                    )
                    .await;
            });
        }
    })
}

async fn client(
    addr: std::net::SocketAddr,
) -> hyper::client::conn::http1::SendRequest<Full<Bytes>> {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (send, conn) = hyper::client::conn::http1::handshake(HyperIo::new(stream))
        .await
        .expect("handshake");
    WeftExecutor::new().execute(async move {
        let _ = conn.await;
    });
    send
}

async fn get(
    send: &mut hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    path: &str,
    body: &'static [u8],
) -> (hyper::StatusCode, Bytes) {
    send.ready().await.expect("connection ready");
    let req = Request::post(path)
        .header("host", "localhost")
        .body(Full::new(Bytes::from_static(body)))
        .unwrap();
    let resp = send.send_request(req).await.expect("send_request");
    let status = resp.status();
    (
        status,
        resp.into_body().collect().await.expect("body").to_bytes(),
    )
}

#[test]
fn hyper_server_on_weft_answers_hyper_client_on_weft_with_keep_alive() {
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let _server = spawn_server(listener, None);

        let mut send = client(addr).await;
        for i in 0..20 {
            let path = format!("/req/{i}");
            let (status, body) = get(&mut send, &path, b"").await;
            assert_eq!(status, 200);
            assert_eq!(body, path.as_bytes());
        }
        // A body large enough to take several reads on both sides.
        static BIG: [u8; 300_000] = [7u8; 300_000];
        let (status, body) = get(&mut send, "/echo", &BIG).await;
        assert_eq!(status, 200);
        assert_eq!(body.len(), BIG.len());
        assert!(body.iter().all(|&b| b == 7));
    });
}

#[test]
fn many_concurrent_connections_each_get_their_own_answers() {
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let _server = spawn_server(listener, Some(Duration::from_secs(30)));

        let tasks: Vec<_> = (0..16)
            .map(|c| {
                weft_executor::spawn(async move {
                    let mut send = client(addr).await;
                    for i in 0..10 {
                        let path = format!("/c{c}/r{i}");
                        assert_eq!(get(&mut send, &path, b"").await.1, path.as_bytes());
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("client task");
        }
    });
}

#[test]
fn header_read_timeout_closes_a_connection_that_never_finishes_its_head() {
    run(async {
        let timeout = Duration::from_millis(100);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = weft_executor::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            hyper::server::conn::http1::Builder::new()
                .timer(WeftTimer::new())
                .header_read_timeout(timeout)
                .serve_connection(HyperIo::new(stream), hyper::service::service_fn(handle))
                .await
        });

        // hyper arms the timer when it first reads the connection, which can be before our
        // `connect` returns; only the start of the connect is a true lower bound.
        let start = Instant::now();
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"GET / HTTP/1.1\r\nhost: x\r\n")
            .await
            .unwrap(); // no final CRLF
        let mut rest = Vec::new();
        // The server gives up on the head and closes; hyper may send a 408 first.
        let _ = stream.read_to_end(&mut rest).await;
        assert!(
            start.elapsed() >= timeout,
            "closed after {:?}, before the {timeout:?} header timeout",
            start.elapsed()
        );
        let text = String::from_utf8_lossy(&rest);
        assert!(
            rest.is_empty() || text.starts_with("HTTP/1.1 408"),
            "got {text:?}"
        );
        let err = server
            .await
            .unwrap()
            .expect_err("serve_connection must fail on the timeout");
        assert!(err.is_timeout(), "expected a timeout error, got {err}");
    });
}

#[test]
fn header_read_timeout_stays_armed_across_keep_alive_requests() {
    // hyper arms a new header timer (WeftTimer::sleep_until) for every request head on a
    // keep-alive connection and drops it once the head is read. With the timer armed, 30
    // requests on one connection all succeed. The timeout is long so that a loaded machine
    // cannot make a gap between requests exceed it.
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let _server = spawn_server(listener, Some(Duration::from_secs(10)));
        let mut send = client(addr).await;
        for i in 0..30 {
            let path = format!("/{i}");
            assert_eq!(get(&mut send, &path, b"").await.1, path.as_bytes());
        }
    });
}

#[test]
fn timer_reset_moves_a_weft_sleep_in_place_and_replaces_a_foreign_one() {
    let timers = weft_timer::Timers::new(weft_timer::Clock::paused());
    let _g = timers.enter();
    let timer = WeftTimer::new();
    let t0 = timer.now();
    assert_eq!(t0, timers.now(), "now() reads weft's (paused) clock");

    let mut sleep = timer.sleep(Duration::from_secs(60));
    futures_lite::future::block_on(async {
        assert!(futures_lite::future::poll_once(&mut sleep).await.is_none());
        timer.reset(&mut sleep, t0 + Duration::from_secs(1));
        assert!(
            sleep.as_ref().get_ref().is::<WeftSleep>(),
            "reset kept the WeftSleep"
        );
        timers.advance(Duration::from_secs(1));
        assert!(
            futures_lite::future::poll_once(&mut sleep).await.is_some(),
            "fired at the new deadline"
        );
    });

    /// A sleep from another timer implementation.
    struct Foreign;
    impl Future for Foreign {
        type Output = ();
        fn poll(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<()> {
            std::task::Poll::Pending
        }
    }
    impl hyper::rt::Sleep for Foreign {}
    let mut foreign: std::pin::Pin<Box<dyn hyper::rt::Sleep>> = Box::pin(Foreign);
    timer.reset(&mut foreign, timers.now() + Duration::from_secs(2));
    assert!(
        foreign.as_ref().get_ref().is::<WeftSleep>(),
        "a foreign sleep is replaced"
    );
}

#[test]
fn a_reader_claiming_more_than_its_buffer_is_an_error_not_a_panic() {
    struct Liar;
    impl futures_io::AsyncRead for Liar {
        fn poll_read(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            buf: &mut [u8],
        ) -> std::task::Poll<std::io::Result<usize>> {
            std::task::Poll::Ready(Ok(buf.len() + 1))
        }
    }
    impl futures_io::AsyncWrite for Liar {
        fn poll_write(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            buf: &[u8],
        ) -> std::task::Poll<std::io::Result<usize>> {
            std::task::Poll::Ready(Ok(buf.len()))
        }
        fn poll_flush(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }
        fn poll_close(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }
    }
    let err = run(async {
        let (mut send, conn) =
            hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(HyperIo::new(Liar))
                .await
                .unwrap();
        let conn = weft_executor::spawn(conn);
        let req = Request::get("/")
            .header("host", "x")
            .body(Empty::new())
            .unwrap();
        let sent = send
            .send_request(req)
            .await
            .map(|_| ())
            .map_err(|e| format!("{e:?}"));
        let conn = conn.await.unwrap().map_err(|e| format!("{e:?}"));
        format!("{sent:?} {conn:?}")
    });
    let msg = err;
    assert!(msg.contains("broken reader"), "{msg}");
}

#[test]
fn an_upgraded_connection_is_a_futures_io_stream_through_hyper_to_futures() {
    use weft_compat::hyper::HyperToFutures;
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let _server = weft_executor::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let service =
                hyper::service::service_fn(|mut req: Request<hyper::body::Incoming>| async move {
                    // Echo everything sent after the 101, through weft's futures-io helpers.
                    WeftExecutor::new().execute(async move {
                        let upgraded = hyper::upgrade::on(&mut req).await.expect("upgrade");
                        let (r, mut w) = futures_lite::io::split(HyperToFutures::new(upgraded));
                        let _ = futures_lite::io::copy(r, &mut w).await;
                        let _ = w.close().await;
                    });
                    Ok::<_, Infallible>(
                        Response::builder()
                            .status(101)
                            .header("connection", "upgrade")
                            .header("upgrade", "echo")
                            .body(Empty::<Bytes>::new())
                            .unwrap(),
                    )
                });
            hyper::server::conn::http1::Builder::new()
                .serve_connection(HyperIo::new(stream), service)
                .with_upgrades()
                .await
                .unwrap();
        });

        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: upgrade\r\nupgrade: echo\r\n\r\n")
            .await
            .unwrap();
        // Read the 101 head, byte by byte so nothing after it is consumed.
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let mut b = [0u8; 1];
            s.read_exact(&mut b).await.expect("101 head");
            head.push(b[0]);
        }
        assert!(
            head.starts_with(b"HTTP/1.1 101"),
            "{}",
            String::from_utf8_lossy(&head)
        );
        s.write_all(b"ping over the upgraded connection")
            .await
            .unwrap();
        let mut back = [0u8; 33];
        s.read_exact(&mut back).await.unwrap();
        assert_eq!(&back, b"ping over the upgraded connection");
    });
}

#[test]
fn an_executor_with_a_handle_spawns_on_that_runtime_from_any_thread() {
    let rt = weft_executor::Runtime::builder()
        .worker_threads(1)
        .thread_name("pinned-rt")
        .build()
        .unwrap();
    let exec = WeftExecutor::with_handle(rt.handle());
    let (tx, rx) = std::sync::mpsc::channel();
    // Called from a plain thread, in no runtime at all.
    std::thread::spawn(move || {
        exec.execute(async move {
            let _ = tx.send(std::thread::current().name().map(str::to_owned));
        });
    })
    .join()
    .unwrap();
    let name = rx
        .recv_timeout(WATCHDOG)
        .expect("watchdog: the task never ran");
    assert!(
        name.as_deref().is_some_and(|n| n.starts_with("pinned-rt")),
        "ran on {name:?}"
    );
}
