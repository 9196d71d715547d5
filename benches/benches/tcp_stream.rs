//! 64 KiB stream throughput (issue 19's I/O group): one TCP connection over loopback on weft,
//! tokio and smol, each on its own 2-worker runtime running both ends.
//!
//! One turn: the client connects, sends an 8-byte length and then that many bytes in 64 KiB
//! writes; the server reads them into a 64 KiB buffer and answers one byte when it has them
//! all. The sample is MiB/s over the turn (connect to answer). Rounds are interleaved (every
//! round runs each runtime once, in a rotating order); the table gives the median over rounds
//! and the min–max; results go to `weft_benches::report` (group `io`, workload
//! `tcp_stream 64KiB`, unit `MiB/s`).
//!
//! `cargo bench -p weft-benches --bench tcp_stream -- --quick` (3 rounds × 256 MiB, a few
//! seconds), `-- --test` (1 round × 4 MiB), no flag: 7 rounds × 1 GiB.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_lite::{AsyncReadExt as _, AsyncWriteExt as _};
use weft_benches::report::{record, Record};
use weft_benches::rounds::{rotation, Mode, Summary};
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

/// A runtime under test: runs one turn of `total` bytes, returns its wall time.
trait Stream {
    fn name(&self) -> &'static str;
    fn turn(&self, total: u64) -> Duration;
}

struct WeftStream {
    rt: weft_executor::Runtime,
    addr: SocketAddr,
}

impl WeftStream {
    fn new() -> WeftStream {
        let rt = weft_rt();
        let listener = weft::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("local addr");
        rt.spawn(async move {
            while let Ok((s, _)) = listener.accept().await {
                weft::spawn(async move { sink_body!(s) }).detach();
            }
        })
        .detach();
        WeftStream { rt, addr }
    }
}

impl Stream for WeftStream {
    fn name(&self) -> &'static str {
        "weft"
    }
    fn turn(&self, total: u64) -> Duration {
        let addr = self.addr;
        let start = Instant::now();
        let client = self.rt.spawn(async move {
            source_body!(
                weft::net::TcpStream::connect(addr).await.expect("connect"),
                total
            )
        });
        self.rt.block_on(client).expect("client task");
        start.elapsed()
    }
}

struct TokioStream {
    rt: tokio::runtime::Runtime,
    addr: SocketAddr,
}

impl TokioStream {
    fn new() -> TokioStream {
        let rt = tokio_rt();
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let addr = listener.local_addr().expect("local addr");
        rt.spawn(async move {
            use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
            while let Ok((s, _)) = listener.accept().await {
                tokio::spawn(async move { sink_body!(s) });
            }
        });
        TokioStream { rt, addr }
    }
}

impl Stream for TokioStream {
    fn name(&self) -> &'static str {
        "tokio"
    }
    fn turn(&self, total: u64) -> Duration {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let addr = self.addr;
        let start = Instant::now();
        let client = self.rt.spawn(async move {
            source_body!(
                tokio::net::TcpStream::connect(addr).await.expect("connect"),
                total
            )
        });
        self.rt.block_on(client).expect("client task");
        start.elapsed()
    }
}

struct SmolStream {
    rt: SmolRt,
    addr: SocketAddr,
}

impl SmolStream {
    fn new() -> SmolStream {
        let rt = SmolRt::new(WORKERS);
        let listener = smol::net::TcpListener::from(
            smol::Async::<std::net::TcpListener>::bind(([127, 0, 0, 1], 0)).expect("bind"),
        );
        let addr = listener.local_addr().expect("local addr");
        let ex = rt.executor().clone();
        rt.spawn(async move {
            while let Ok((s, _)) = listener.accept().await {
                ex.spawn(async move { sink_body!(s) }).detach();
            }
        })
        .detach();
        SmolStream { rt, addr }
    }
}

impl Stream for SmolStream {
    fn name(&self) -> &'static str {
        "smol"
    }
    fn turn(&self, total: u64) -> Duration {
        let addr = self.addr;
        let start = Instant::now();
        let client = self.rt.spawn(async move {
            source_body!(
                smol::net::TcpStream::connect(addr).await.expect("connect"),
                total
            )
        });
        self.rt.block_on(client);
        start.elapsed()
    }
}

fn main() {
    if !weft_benches::rounds::selected("tcp_stream") {
        return;
    }
    let mode = Mode::from_env();
    let contenders: Vec<Box<dyn Stream>> = vec![
        Box::new(WeftStream::new()),
        Box::new(TokioStream::new()),
        Box::new(SmolStream::new()),
    ];
    let total = total_bytes(mode);
    for c in &contenders {
        c.turn(total / 8); // warm-up
    }
    let n = contenders.len();
    let mut samples = vec![Vec::new(); n];
    for round in 0..mode.rounds() {
        for i in rotation(n, round) {
            let t = contenders[i].turn(total);
            samples[i].push(total as f64 / MIB / t.as_secs_f64().max(1e-9));
        }
    }
    println!(
        "\n## tcp_stream: one connection, {} MiB in 64 KiB writes, {WORKERS} workers ({} rounds, \
         interleaved)\n",
        total >> 20,
        mode.rounds()
    );
    println!("| runtime | MiB/s, median (min–max) | weft/this |\n|---|---|---|");
    let sums: Vec<Summary> = samples.iter().map(|s| Summary::of(s)).collect();
    for (i, c) in contenders.iter().enumerate() {
        println!(
            "| {} | {} | {:.2} |",
            c.name(),
            sums[i],
            sums[0].median / sums[i].median
        );
        record(&Record {
            group: "io",
            workload: "tcp_stream 64KiB",
            contender: c.name(),
            unit: "MiB/s",
            higher_is_better: true,
            samples: &samples[i],
        });
    }
    println!("(throughput ratio: above 1 = weft faster)");
}
