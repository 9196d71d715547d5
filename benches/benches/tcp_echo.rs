//! TCP echo (issue 19's I/O group, issue 13): 1 and 100 connections × 200 round trips of 64 B
//! over loopback, on weft, tokio and smol, each on its own 2-worker runtime running both the echo
//! server and the clients.
//!
//! One iteration: N client tasks each connect, then 200 times write 64 B and read the echo
//! back; the server runs one echo task per accepted connection. Rounds are interleaved (every
//! round runs each runtime in a rotating order); a turn is a few iterations, its sample the mean
//! time per iteration; the table gives the median over rounds and the min–max. Results go to
//! `weft_benches::report` (group `io`, workloads `tcp_echo c=1` / `tcp_echo c=100`, unit
//! `us/iter`, lower is better).
//!
//! `cargo bench -p weft-benches --bench tcp_echo -- --quick` (3 rounds per case, about 15 s),
//! `-- --test` (1 round of 1 iteration), no flag: 7 rounds.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_lite::{AsyncReadExt as _, AsyncWriteExt as _};
use weft_benches::report::{record, Record};
use weft_benches::rounds::{rotation, Mode, Summary};
use weft_benches::{tokio_rt, weft_rt, SmolRt, WORKERS};

/// Connection counts (issue 19).
const CONNS: [usize; 2] = [1, 100];
const ROUND_TRIPS: usize = 200;
const MSG: usize = 64;

fn iterations(mode: Mode) -> usize {
    match mode {
        Mode::Test => 1,
        Mode::Quick => 5,
        Mode::Full => 20,
    }
}

/// One client: connect, then [`ROUND_TRIPS`] × (write [`MSG`] bytes, read them back).
macro_rules! client_body {
    ($stream:expr, $read:ident, $write:ident) => {{
        let mut s = $stream;
        let msg = [7u8; MSG];
        let mut back = [0u8; MSG];
        for _ in 0..ROUND_TRIPS {
            s.$write(&msg).await.expect("echo write");
            s.$read(&mut back).await.expect("echo read");
        }
    }};
}

/// A runtime under test: runs one iteration, returns its wall time.
trait Echo {
    fn name(&self) -> &'static str;
    fn iteration(&self, conns: usize) -> Duration;
}

struct WeftEcho {
    rt: weft_executor::Runtime,
    addr: SocketAddr,
}

impl WeftEcho {
    fn new() -> WeftEcho {
        let rt = weft_rt();
        let listener = weft::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().unwrap();
        rt.spawn(async move {
            while let Ok((s, _)) = listener.accept().await {
                weft::spawn(async move {
                    let (r, mut w) = s.into_split();
                    let _ = futures_lite::io::copy(r, &mut w).await;
                })
                .detach();
            }
        })
        .detach();
        WeftEcho { rt, addr }
    }
}

impl Echo for WeftEcho {
    fn name(&self) -> &'static str {
        "weft"
    }
    fn iteration(&self, conns: usize) -> Duration {
        let addr = self.addr;
        let start = Instant::now();
        self.rt.block_on(async {
            let clients: Vec<_> = (0..conns)
                .map(|_| {
                    weft::spawn(async move {
                        client_body!(
                            weft::net::TcpStream::connect(addr).await.expect("connect"),
                            read_exact,
                            write_all
                        )
                    })
                })
                .collect();
            for c in clients {
                c.await.expect("client");
            }
        });
        start.elapsed()
    }
}

struct TokioEcho {
    rt: tokio::runtime::Runtime,
    addr: SocketAddr,
}

impl TokioEcho {
    fn new() -> TokioEcho {
        let rt = tokio_rt();
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let addr = listener.local_addr().unwrap();
        rt.spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (mut r, mut w) = s.split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                });
            }
        });
        TokioEcho { rt, addr }
    }
}

impl Echo for TokioEcho {
    fn name(&self) -> &'static str {
        "tokio"
    }
    fn iteration(&self, conns: usize) -> Duration {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let addr = self.addr;
        let start = Instant::now();
        self.rt.block_on(async {
            let clients: Vec<_> = (0..conns)
                .map(|_| {
                    tokio::spawn(async move {
                        client_body!(
                            tokio::net::TcpStream::connect(addr).await.expect("connect"),
                            read_exact,
                            write_all
                        )
                    })
                })
                .collect();
            for c in clients {
                c.await.expect("client");
            }
        });
        start.elapsed()
    }
}

struct SmolEcho {
    rt: SmolRt,
    addr: SocketAddr,
}

impl SmolEcho {
    fn new() -> SmolEcho {
        let rt = SmolRt::new(WORKERS);
        let listener = smol::net::TcpListener::from(
            smol::Async::<std::net::TcpListener>::bind(([127, 0, 0, 1], 0)).expect("bind"),
        );
        let addr = listener.local_addr().unwrap();
        let ex = rt.executor().clone();
        rt.spawn(async move {
            while let Ok((s, _)) = listener.accept().await {
                ex.spawn(async move {
                    let _ = futures_lite::io::copy(s.clone(), &mut s.clone()).await;
                })
                .detach();
            }
        })
        .detach();
        SmolEcho { rt, addr }
    }
}

impl Echo for SmolEcho {
    fn name(&self) -> &'static str {
        "smol"
    }
    fn iteration(&self, conns: usize) -> Duration {
        let addr = self.addr;
        let start = Instant::now();
        self.rt.block_on(async {
            let clients: Vec<_> = (0..conns)
                .map(|_| {
                    self.rt.spawn(async move {
                        client_body!(
                            smol::net::TcpStream::connect(addr).await.expect("connect"),
                            read_exact,
                            write_all
                        )
                    })
                })
                .collect();
            for c in clients {
                c.await;
            }
        });
        start.elapsed()
    }
}

fn main() {
    if !weft_benches::rounds::selected("tcp_echo") {
        return;
    }
    let mode = Mode::from_env();
    let contenders: Vec<Box<dyn Echo>> = vec![
        Box::new(WeftEcho::new()),
        Box::new(TokioEcho::new()),
        Box::new(SmolEcho::new()),
    ];
    for conns in CONNS {
        for c in &contenders {
            c.iteration(conns); // warm-up
        }
        let n = contenders.len();
        let mut samples = vec![Vec::new(); n];
        for round in 0..mode.rounds() {
            for i in rotation(n, round) {
                let iters = iterations(mode);
                let total: Duration = (0..iters).map(|_| contenders[i].iteration(conns)).sum();
                samples[i].push(total.as_secs_f64() * 1e6 / iters as f64);
            }
        }
        println!(
            "\n## tcp_echo: {conns} connection(s) × {ROUND_TRIPS} round trips of {MSG} B, {WORKERS} \
             workers ({} rounds, interleaved)\n",
            mode.rounds()
        );
        println!("| runtime | µs per iteration, median (min–max) | weft/this |\n|---|---|---|");
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
                workload: &format!("tcp_echo c={conns}"),
                contender: c.name(),
                unit: "us/iter",
                higher_is_better: false,
                samples: &samples[i],
            });
        }
        println!("(time ratio: below 1 = weft faster)");
    }
}
