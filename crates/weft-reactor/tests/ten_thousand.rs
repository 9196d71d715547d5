//! 10,000 concurrent loopback connections served by one `block_on`. The clients live in a
//! child process (this test binary re-run as `child_clients`), so each process needs only
//! ~10,000 descriptors. Skipped, saying so, if RLIMIT_NOFILE's hard limit is too low.

mod common;

use std::cell::Cell;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::rc::Rc;
use std::sync::mpsc;
use std::task::Poll;
use std::time::Duration;

use common::{raise_fd_limit, LocalTasks};
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use weft_reactor::block_on;
use weft_reactor::net::TcpListener;

const CONNS: usize = 10_000;
const ADDR_VAR: &str = "WEFT_TEN_THOUSAND_ADDR";

fn enough_fds() -> bool {
    let want = (CONNS + 512) as libc::rlim_t;
    raise_fd_limit(want) >= want
}

#[test]
fn ten_thousand_concurrent_connections() {
    if !enough_fds() {
        eprintln!("skipped: RLIMIT_NOFILE hard limit is below {}", CONNS + 512);
        return;
    }
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    sock.bind(
        &"127.0.0.1:0"
            .parse::<std::net::SocketAddr>()
            .unwrap()
            .into(),
    )
    .unwrap();
    sock.listen(4096).unwrap();
    let addr = sock.local_addr().unwrap().as_socket().unwrap();
    let listener = TcpListener::try_from(std::net::TcpListener::from(sock)).unwrap();

    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_clients",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ADDR_VAR, addr.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child_in = child.stdin.take().unwrap();
    let mut child_out = std::io::BufReader::new(child.stdout.take().unwrap());

    // Watchdog: a lost wake-up must fail the test, not hang CI.
    let (alive_tx, alive_rx) = mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) =
            alive_rx.recv_timeout(Duration::from_secs(300))
        {
            eprintln!("10,000 connections: no completion within 300 s (lost wake-up?)");
            std::process::abort();
        }
    });

    let tasks = LocalTasks::new();
    let open = Rc::new(Cell::new(0usize));
    let max_open = Rc::new(Cell::new(0usize));
    let served = Rc::new(Cell::new(0usize));
    block_on(tasks.run_until(async {
        let spawner = tasks.clone();
        let (o, m, s) = (open.clone(), max_open.clone(), served.clone());
        tasks.spawn(async move {
            for _ in 0..CONNS {
                let (mut c, _) = listener.accept().await.unwrap();
                let (open, max_open, served) = (o.clone(), m.clone(), s.clone());
                spawner.spawn(async move {
                    open.set(open.get() + 1);
                    max_open.set(max_open.get().max(open.get()));
                    let mut buf = [0u8; 8];
                    c.read_exact(&mut buf).await.unwrap();
                    c.write_all(&buf).await.unwrap();
                    let mut rest = Vec::new();
                    c.read_to_end(&mut rest).await.unwrap();
                    assert!(rest.is_empty());
                    open.set(open.get() - 1);
                    served.set(served.get() + 1);
                });
            }
        });
        // Wait until every connection is open at once, then let the child close them all.
        let mut told = false;
        futures_lite::future::poll_fn(|cx| {
            if !told && max_open.get() == CONNS {
                told = true;
                child_in.write_all(b"close\n").unwrap();
                child_in.flush().unwrap();
            }
            if served.get() == CONNS {
                return Poll::Ready(());
            }
            // Re-checked whenever a connection task makes progress (they share our waker).
            let _ = cx;
            Poll::Pending
        })
        .await;
    }));
    let _ = alive_tx.send(());
    watchdog.join().unwrap();
    // The child's stdout also carries libtest's own lines; find ours.
    let mut rest = String::new();
    child_out.read_to_string(&mut rest).unwrap();
    assert!(
        rest.contains(&format!("echoed {CONNS}\n")),
        "the client process did not get every echo: {rest}"
    );
    assert!(
        child.wait().unwrap().success(),
        "client process failed: {rest}"
    );
    assert_eq!(
        max_open.get(),
        CONNS,
        "connections were not all open at once"
    );
    assert_eq!(served.get(), CONNS);
}

/// The client side, run in a child process: connect, send 8 bytes, check the echo, for all
/// connections; hold them all open until the parent says "close".
#[test]
fn child_clients() {
    let Ok(addr) = std::env::var(ADDR_VAR) else {
        return; // only meaningful as the child of the test above
    };
    assert!(enough_fds());
    let mut conns = Vec::with_capacity(CONNS);
    for i in 0..CONNS {
        let mut c = std::net::TcpStream::connect(&addr).unwrap();
        c.write_all(&(i as u64).to_le_bytes()).unwrap();
        conns.push(c);
    }
    for (i, c) in conns.iter_mut().enumerate() {
        let mut buf = [0u8; 8];
        c.read_exact(&mut buf).unwrap();
        assert_eq!(u64::from_le_bytes(buf), i as u64);
    }
    println!("echoed {CONNS}");
    std::io::stdout().flush().unwrap();
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "close");
    drop(conns);
}
