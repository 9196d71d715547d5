//! 64 KiB stream throughput (issue 19's I/O group): one TCP connection over loopback on weft,
//! tokio and smol, each on its own 2-worker runtime running both ends.
//!
//! One turn: the client connects, sends an 8-byte length and then that many bytes in 64 KiB
//! writes; the server reads them into a 64 KiB buffer and answers one byte when it has them
//! all. The sample is MiB/s over the turn (connect to answer). The servers are
//! [`weft_benches::net::Serve`]; the interleaved runner (`weft_benches::runner`) runs the rounds
//! (a warm-up turn each, then every runtime once per round, in a rotating order); results in
//! group `io`, workload `tcp_stream 64KiB`, unit `MiB/s`.
//!
//! `cargo bench -p weft-benches --bench tcp_stream -- --quick` (11 rounds × 256 MiB),
//! `-- --test` (1 round × 4 MiB), no flag: 21 rounds × 1 GiB.

use std::future::Future;
use std::time::{Duration, Instant};

use futures_lite::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use weft_benches::exec::{Exec, Spawner};
use weft_benches::net::Serve;
use weft_benches::rounds::Mode;
use weft_benches::runner::Workload;
use weft_benches::{tokio_rt, weft_rt, SmolRt, WORKERS};

const CHUNK: usize = 64 * 1024;
const MIB: f64 = 1024.0 * 1024.0;

fn total_bytes(mode: Mode) -> u64 {
    match mode {
        Mode::Test => 4 << 20,
        Mode::Quick => 256 << 20,
        Mode::Full => 1 << 30,
    }
}

/// The server side of one connection: read the length, then that many bytes, then answer.
macro_rules! sink_body {
    ($stream:expr) => {{
        let mut s = $stream;
        let mut len = [0u8; 8];
        if s.read_exact(&mut len).await.is_err() {
            return;
        }
        let mut left = u64::from_be_bytes(len);
        let mut buf = vec![0u8; CHUNK];
        while left > 0 {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => left = left.saturating_sub(n as u64),
            }
        }
        let _ = s.write_all(&[1]).await;
    }};
}

/// The client side of one turn: length, `total` bytes in [`CHUNK`] writes, wait for the answer.
macro_rules! source_body {
    ($stream:expr, $total:expr) => {{
        let mut s = $stream;
        let total: u64 = $total;
        s.write_all(&total.to_be_bytes())
            .await
            .expect("write length");
        let chunk = vec![7u8; CHUNK];
        let mut left = total;
        while left > 0 {
            let n = left.min(CHUNK as u64) as usize;
            s.write_all(&chunk[..n]).await.expect("stream write");
            left -= n as u64;
        }
        let mut ack = [0u8; 1];
        s.read_exact(&mut ack).await.expect("read answer");
    }};
}

/// One turn on `rt`: a client task streams `total` bytes to `addr`; the turn's MiB/s.
fn turn<E: Exec, F: Future<Output = ()> + Send + 'static>(rt: &E, total: u64, client: F) -> f64 {
    let start = Instant::now();
    let sp = rt.spawner();
    rt.block_on(sp.spawn(client));
    total as f64 / MIB / start.elapsed().as_secs_f64().max(1e-9)
}

/// The client on weft and smol (futures-lite I/O traits).
async fn source<S: AsyncRead + AsyncWrite + Unpin>(s: S, total: u64) {
    source_body!(s, total)
}

/// The server side on weft and smol.
async fn sink<S: AsyncRead + AsyncWrite + Unpin>(s: S) {
    sink_body!(s)
}

fn main() {
    let mode = Mode::from_env();
    let total = total_bytes(mode);
    let weft = weft_rt();
    let weft_addr = weft.serve(sink::<weft::net::TcpStream>);
    let tokio = tokio_rt();
    let tokio_addr = tokio.serve(|s: tokio::net::TcpStream| async move {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        sink_body!(s)
    });
    let smol = SmolRt::new(WORKERS);
    let smol_addr = smol.serve(sink::<smol::net::TcpStream>);
    let mut g = Workload::new("io", "tcp_stream 64KiB");
    g.unit("MiB/s", true)
        .iters(1)
        .expect_turn(Duration::from_millis(250));
    g.bench("weft", |b| {
        b.sample(turn(&weft, total, async move {
            source(weft_executor::Runtime::connect(weft_addr).await, total).await
        }))
    });
    g.bench("tokio", |b| {
        b.sample(turn(&tokio, total, async move {
            use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
            source_body!(tokio::runtime::Runtime::connect(tokio_addr).await, total)
        }))
    });
    g.bench("smol", |b| {
        b.sample(turn(&smol, total, async move {
            source(SmolRt::connect(smol_addr).await, total).await
        }))
    });
    g.run();
}
