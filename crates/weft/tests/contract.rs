//! The public contract of ARCHITECTURE.md, written the way users write it. If a facade path,
//! name or signature changes, this file stops compiling or its assertions fail.

use std::time::Duration;

use weft::prelude::*;
use weft::sync::channel;
use weft::{JoinError, ReturnWhen, Runtime, Task, TaskGroup};

#[test]
fn running_and_tasks() {
    let out = weft::run(async {
        let t: Task<u32> = weft::spawn(async { 1 });
        let named = weft::task::Builder::new()
            .name("worker")
            .spawn(async { weft::task::current().name().map(str::to_owned) });
        weft::yield_now().await;
        let local = weft::spawn_local(async { 2 });
        let blocking = weft::spawn_blocking(|| 3);
        let unblocked = weft::unblock(|| 4).await;
        assert!(!named.id().to_string().is_empty());
        assert_eq!(named.name(), Some("worker"));
        assert_eq!(named.await.unwrap().as_deref(), Some("worker"));
        let cancelled = weft::spawn(std::future::pending::<()>());
        let err = cancelled.cancel().await.unwrap_err();
        assert!(matches!(err, JoinError::Cancelled));
        let panicked = weft::spawn(async { panic!("boom") }).await.unwrap_err();
        assert!(matches!(panicked, JoinError::Panicked(_)));
        t.await.unwrap() + local.await.unwrap() + blocking.await.unwrap() + unblocked
    });
    assert_eq!(out, 10);
    assert_eq!(weft::block_on(async { 5 }), 5);

    let rt = Runtime::builder()
        .worker_threads(2)
        .thread_name("contract")
        .slow_poll_threshold(Duration::from_millis(100))
        .on_unhandled_error(|_| {})
        .build()
        .unwrap();
    assert_eq!(
        rt.block_on(async { weft::spawn(async { 6 }).await.unwrap() }),
        6
    );
}

async fn val(x: i32) -> i32 {
    x
}

#[test]
fn structured_concurrency() {
    weft::run(async {
        let mut g = TaskGroup::new();
        g.spawn(async { Ok::<_, std::io::Error>(1) });
        g.spawn(async { Ok(2) });
        assert_eq!(g.join().await.unwrap(), [1, 2]);

        let mut sup = TaskGroup::<u8, &str>::supervisor();
        sup.spawn(async { Err("bad") });
        sup.spawn(async { Ok(1) });
        assert_eq!(sup.join().await.unwrap_err().errors().count(), 1);

        let (a, b) = weft::gather!(async { 1 }, async { "x" }).await;
        assert_eq!((a, b), (1, "x"));
        assert_eq!(weft::gather(vec![val(1), val(2)]).await, [1, 2]);
        let tried: Result<(u8, u8), &str> =
            weft::try_gather!(async { Ok(1) }, async { Err("no") }).await;
        assert_eq!(tried, Err("no"));
        assert_eq!(
            weft::try_gather(vec![async { Ok::<_, ()>(1) }]).await,
            Ok(vec![1])
        );
        let first = weft::race(vec![
            Box::pin(async { 1 }) as std::pin::Pin<Box<dyn Future<Output = i32> + Send>>,
            Box::pin(std::future::pending()),
        ])
        .await;
        assert_eq!(first, Some(1));

        let tasks = vec![
            weft::spawn(async { 1 }),
            weft::spawn(std::future::pending()),
        ];
        let (done, pending) = weft::wait(
            tasks,
            ReturnWhen::FirstCompleted,
            Some(Duration::from_secs(5)),
        )
        .await;
        assert_eq!((done.len(), pending.len()), (1, 1));

        let all: Vec<i32> = weft::as_completed(vec![val(1), val(2)]).collect().await;
        assert_eq!(all.len(), 2);
        assert_eq!(weft::shield(async { 7 }).await.unwrap(), 7);

        let token = weft::sync::CancellationToken::new();
        let child = token.child_token();
        token.cancel();
        child.cancelled().await;
    });
}

#[test]
fn time() {
    weft::run(async {
        weft::sleep(Duration::from_millis(1)).await;
        weft::time::sleep_until(weft::time::now() + Duration::from_millis(1)).await;
        assert!(
            weft::timeout(Duration::from_millis(1), std::future::pending::<()>())
                .await
                .is_err()
        );
        let at = weft::time::now() + Duration::from_millis(1);
        assert!(weft::time::timeout_at(at, async { 1 }).await.is_ok());
        let mut iv = weft::time::interval(Duration::from_millis(1));
        iv.set_missed_tick_behavior(weft::time::MissedTickBehavior::Delay);
        iv.tick().await;
        let (tx, rx) = channel::oneshot::channel();
        let _h = weft::call_later(Duration::from_millis(1), move || {
            let _ = tx.send(());
        });
        rx.await.unwrap();
        assert!(!weft::call_at(weft::time::now() + Duration::from_secs(60), || {}).is_finished());
    });
}

#[weft::test(start_paused = true)]
async fn paused_time_advances() {
    let start = weft::time::now();
    weft::time::advance(Duration::from_secs(10));
    weft::sleep(Duration::from_secs(3600)).await;
    assert!(weft::time::now() - start >= Duration::from_secs(3610));
}

#[test]
fn sync_io_net_fs() {
    weft::run(async {
        let m = weft::sync::Mutex::new(0);
        *m.lock().await += 1;
        let s = weft::sync::Semaphore::new(1);
        drop(s.acquire().await.unwrap());
        let e = weft::sync::Event::new();
        e.set();
        e.wait().await;
        let q = weft::sync::Queue::bounded(1);
        q.put(1).await.unwrap();
        assert_eq!(q.get().await.unwrap(), 1);
        let (tx, rx) = channel::unbounded();
        tx.send(1).await.unwrap();
        assert_eq!(rx.recv().await.unwrap(), 1);

        let listener = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let mut c = weft::net::TcpStream::connect(addr).await.unwrap();
        let (mut s, _) = listener.accept().await.unwrap();
        c.write_all(b"hi").await.unwrap();
        let mut buf = [0; 2];
        s.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"hi");

        let path = std::env::temp_dir().join(format!("weft-contract-{}", std::process::id()));
        weft::fs::write(&path, b"x").await.unwrap();
        assert_eq!(weft::fs::read(&path).await.unwrap(), b"x");
        weft::fs::remove_file(&path).await.unwrap();
        let _: fn(std::net::UdpSocket) -> std::io::Result<weft::Async<std::net::UdpSocket>> =
            weft::Async::new;
    });
}

/// Answers `n` requests on one keep-alive connection with `body`, then closes.
async fn serve_keep_alive(listener: weft::net::TcpListener, n: usize, body: &'static str) {
    let (mut s, _) = listener.accept().await.unwrap();
    let mut buf = Vec::new();
    for _ in 0..n {
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
            let mut chunk = [0; 1024];
            let got = s.read(&mut chunk).await.unwrap();
            assert!(got > 0, "client closed before sending a whole head");
            buf.extend_from_slice(&chunk[..got]);
        }
        let end = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        buf.drain(..end);
        let resp = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        s.write_all(resp.as_bytes()).await.unwrap();
    }
}

#[test]
fn http_client() {
    use weft::http::{Policy, Retry};

    weft::run(async {
        let listener = weft::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/page", listener.local_addr().unwrap());
        let server = weft::spawn(serve_keep_alive(listener, 3, "line one\nline two"));

        let d = Duration::from_secs(10);
        let client = weft::http::Client::builder()
            .pool_max_per_host(8)
            .pool_max_total(64)
            .idle_timeout(d)
            .connect_timeout(d)
            .read_timeout(d)
            .total_timeout(d)
            .pool_acquire_timeout(d)
            .redirect(Policy::limited(10))
            .retry(Retry::idempotent(3).backoff(Duration::from_millis(10)))
            .build()
            .unwrap();

        let resp = client.get(&url).header("x-k", "v").send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert!(resp.headers().contains_key("content-type"));
        let text = resp.error_for_status().unwrap().text().await.unwrap();
        assert_eq!(text, "line one\nline two");

        let bytes = client
            .get(&url)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(&bytes[..], b"line one\nline two");

        let lines: Vec<String> = client
            .get(&url)
            .send()
            .await
            .unwrap()
            .lines()
            .map(|l| l.unwrap())
            .collect()
            .await;
        assert_eq!(lines, ["line one", "line two"]);

        // All three requests went over one pooled connection.
        assert_eq!(client.pool_stats().connections_created, 1);
        server.await.unwrap();
    });
}
