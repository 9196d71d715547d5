//! A TCP echo server and client talking over loopback, every read under a timeout.
//!
//! Run it with `cargo run --release --example echo`.

use std::io;
use std::time::{Duration, Instant};

use weft::io::{AsyncReadExt, AsyncWriteExt};
use weft::net::{TcpListener, TcpStream};

/// How long any single read may take before we give up on the peer.
const READ_TIMEOUT: Duration = Duration::from_secs(5);
const ROUNDS: usize = 1_000;

/// Reads exactly `buf.len()` bytes, failing with `TimedOut` if the peer stalls.
async fn read_exact_timeout(stream: &mut TcpStream, buf: &mut [u8]) -> io::Result<()> {
    weft::timeout(READ_TIMEOUT, stream.read_exact(buf))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "peer sent nothing for 5 s"))?
}

/// Echoes everything one client sends until it closes its side.
async fn serve(listener: TcpListener) -> io::Result<u64> {
    let (mut stream, peer) = listener.accept().await?;
    println!("server: accepted {peer}");
    let mut buf = [0u8; 4096];
    let mut echoed = 0u64;
    loop {
        let n = weft::timeout(READ_TIMEOUT, stream.read(&mut buf))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "client went quiet"))??;
        if n == 0 {
            return Ok(echoed);
        }
        stream.write_all(&buf[..n]).await?;
        echoed += n as u64;
    }
}

/// Sends `ROUNDS` messages and checks each echo.
async fn client(addr: std::net::SocketAddr) -> io::Result<Duration> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let start = Instant::now();
    let mut reply = [0u8; 32];
    for i in 0..ROUNDS {
        let msg = format!("hello #{i:<24}\n");
        stream.write_all(msg.as_bytes()).await?;
        read_exact_timeout(&mut stream, &mut reply[..msg.len()]).await?;
        assert_eq!(&reply[..msg.len()], msg.as_bytes(), "echo mismatch");
    }
    stream.shutdown(std::net::Shutdown::Write)?;
    Ok(start.elapsed())
}

fn main() -> io::Result<()> {
    weft::block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        println!("server: listening on {addr}");
        let (served, took) = futures_lite::future::zip(serve(listener), client(addr)).await;
        let (served, took) = (served?, took?);
        println!(
            "client: {ROUNDS} round trips in {took:?} ({:.1} µs each); server echoed {served} bytes",
            took.as_secs_f64() * 1e6 / ROUNDS as f64
        );
        Ok(())
    })
}
