//! TCP echo (issue 19's I/O group, issue 13): 1 and 100 connections × 200 round trips of 64 B
//! over loopback, on weft, tokio and smol, each on its own 2-worker runtime running both the echo
//! server ([`weft_benches::net::Serve`]) and the clients.
//!
//! One iteration: N client tasks each connect, then 200 times write 64 B and read the echo
//! back; the server runs one echo task per accepted connection (each runtime's own split and
//! copy). Measured by the interleaved runner (`weft_benches::runner`): warm-up, a calibrated
//! iteration count per turn, the same for every runtime; results in group `io`, workloads
//! `tcp_echo c=1` / `tcp_echo c=100`, ns per iteration, lower is better.
//!
//! `cargo bench -p weft-benches --bench tcp_echo -- --quick` (11 rounds of ~150 ms turns per
//! case), `-- --test` (1 round of 1 iteration), no flag: full mode.

use std::future::Future;
use std::time::{Duration, Instant};

use futures_lite::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use weft_benches::exec::{Exec, Spawner};
use weft_benches::net::Serve;
use weft_benches::runner::Workload;
use weft_benches::{tokio_rt, weft_rt, SmolRt, WORKERS};

/// Connection counts (issue 19).
const CONNS: [usize; 2] = [1, 100];
const ROUND_TRIPS: usize = 200;
const MSG: usize = 64;

/// One client: [`ROUND_TRIPS`] × (write [`MSG`] bytes, read them back).
macro_rules! client_body {
    ($stream:expr) => {{
        let mut s = $stream;
        let msg = [7u8; MSG];
        let mut back = [0u8; MSG];
        for _ in 0..ROUND_TRIPS {
            s.write_all(&msg).await.expect("echo write");
            s.read_exact(&mut back).await.expect("echo read");
        }
    }};
}

/// The client on weft and smol (futures-lite I/O traits).
async fn client<S: AsyncRead + AsyncWrite + Unpin>(s: S) {
    client_body!(s)
}

/// The client on tokio (tokio's I/O traits).
async fn tokio_client(s: tokio::net::TcpStream) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    client_body!(s)
}

/// `iters` iterations of `conns` concurrent clients spawned on `rt`; their wall time.
fn iterations<E: Exec, F: Future<Output = ()> + Send + 'static>(
    rt: &E,
    iters: u64,
    conns: usize,
    client: impl Fn() -> F,
) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        rt.block_on(async {
            let sp = rt.spawner();
            let clients: Vec<_> = (0..conns).map(|_| sp.spawn(client())).collect();
            for c in clients {
                c.await;
            }
        });
    }
    start.elapsed()
}

fn main() {
    let weft = weft_rt();
    let weft_addr = weft.serve(|s: weft::net::TcpStream| async move {
        let (r, mut w) = s.into_split();
        let _ = futures_lite::io::copy(r, &mut w).await;
    });
    let tokio = tokio_rt();
    let tokio_addr = tokio.serve(|mut s: tokio::net::TcpStream| async move {
        let (mut r, mut w) = s.split();
        let _ = tokio::io::copy(&mut r, &mut w).await;
    });
    let smol = SmolRt::new(WORKERS);
    let smol_addr = smol.serve(|s: smol::net::TcpStream| async move {
        let _ = futures_lite::io::copy(s.clone(), &mut s.clone()).await;
    });
    for conns in CONNS {
        let mut g = Workload::new("io", &format!("tcp_echo c={conns}"));
        g.bench("weft", |b| {
            b.iter_custom(|n| {
                iterations(&weft, n, conns, move || async move {
                    client(weft_executor::Runtime::connect(weft_addr).await).await
                })
            })
        });
        g.bench("tokio", |b| {
            b.iter_custom(|n| {
                iterations(&tokio, n, conns, move || async move {
                    tokio_client(tokio::runtime::Runtime::connect(tokio_addr).await).await
                })
            })
        });
        g.bench("smol", |b| {
            b.iter_custom(|n| {
                iterations(&smol, n, conns, move || async move {
                    client(SmolRt::connect(smol_addr).await).await
                })
            })
        });
        g.run();
    }
}
