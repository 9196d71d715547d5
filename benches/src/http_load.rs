//! A small HTTP/1.1 load generator (the role `wrk -t1 -c64` plays in issue 13), so the
//! `http_server` benchmark and `cargo xtask syscalls` need no external tool.
//!
//! N keep-alive connections on one thread (a tokio current-thread runtime, the same load
//! generator for every server under test), each sending `GET /` and reading the whole response
//! before sending the next (no pipelining), until a time budget or a total request count runs
//! out. Latency is measured per request, from the write to the last byte of the body.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The request every connection sends.
const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nhost: localhost\r\n\r\n";

/// How much load to apply.
#[derive(Clone, Copy, Debug)]
pub struct LoadConfig {
    /// Concurrent keep-alive connections.
    pub conns: usize,
    /// Stop after this long.
    pub duration: Duration,
    /// Stop after this many requests in total.
    pub max_requests: u64,
}

/// What one load run measured.
#[derive(Clone, Debug)]
pub struct LoadReport {
    /// Requests answered completely.
    pub requests: u64,
    /// Wall time from the first request to the last response.
    pub elapsed: Duration,
    /// Per-request latency in microseconds, sorted.
    pub latencies_us: Vec<u32>,
    /// Connections that ended with an error (refused, reset, malformed response).
    pub errors: u64,
}

impl LoadReport {
    /// Requests per second.
    pub fn rps(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The `q` latency quantile in microseconds (0 if nothing was measured).
    pub fn latency_us(&self, q: f64) -> u32 {
        crate::rounds::quantile(&self.latencies_us, q).unwrap_or(0)
    }
}

/// Applies `cfg`'s load to the HTTP/1.1 server at `addr` from the calling thread.
///
/// # Errors
/// If the runtime cannot start or a connection cannot be opened.
pub fn run_load(addr: SocketAddr, cfg: LoadConfig) -> io::Result<LoadReport> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let mut streams = Vec::with_capacity(cfg.conns);
        for _ in 0..cfg.conns {
            let s = tokio::net::TcpStream::connect(addr).await?;
            s.set_nodelay(true)?;
            streams.push(s);
        }
        let issued = Arc::new(AtomicU64::new(0));
        let start = Instant::now();
        let deadline = start + cfg.duration;
        let tasks: Vec<_> = streams
            .into_iter()
            .map(|s| tokio::spawn(connection(s, deadline, issued.clone(), cfg.max_requests)))
            .collect();
        let mut report = LoadReport {
            requests: 0,
            elapsed: Duration::ZERO,
            latencies_us: Vec::new(),
            errors: 0,
        };
        for t in tasks {
            let (lat, err) = t.await.map_err(io::Error::other)?;
            report.requests += lat.len() as u64;
            report.latencies_us.extend(lat);
            report.errors += u64::from(err);
        }
        report.elapsed = start.elapsed();
        report.latencies_us.sort_unstable();
        Ok(report)
    })
}

/// One connection's loop; returns its latencies and whether it ended with an error.
async fn connection(
    mut s: tokio::net::TcpStream,
    deadline: Instant,
    issued: Arc<AtomicU64>,
    max: u64,
) -> (Vec<u32>, bool) {
    let mut lat = Vec::with_capacity(4096);
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let t0 = Instant::now();
        if t0 >= deadline || issued.fetch_add(1, Relaxed) >= max {
            return (lat, false);
        }
        if s.write_all(REQUEST).await.is_err() || read_response(&mut s, &mut buf).await.is_err() {
            return (lat, true);
        }
        lat.push(u32::try_from(t0.elapsed().as_micros()).unwrap_or(u32::MAX));
    }
}

/// Reads one response with a `content-length` body; `buf` is scratch space.
async fn read_response(s: &mut tokio::net::TcpStream, buf: &mut [u8]) -> io::Result<()> {
    let mut filled = 0;
    loop {
        if filled == buf.len() {
            return Err(io::Error::other("response head larger than 16 KiB"));
        }
        let n = s.read(&mut buf[filled..]).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        filled += n;
        if let Some(head_end) = find(&buf[..filled], b"\r\n\r\n") {
            let head = &buf[..head_end];
            let body_len = content_length(head)
                .ok_or_else(|| io::Error::other("response without content-length"))?;
            let mut have = filled - (head_end + 4);
            while have < body_len {
                let n = s.read(buf).await?;
                if n == 0 {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
                have += n;
            }
            if have > body_len {
                return Err(io::Error::other(
                    "extra bytes after the response (pipelining?)",
                ));
            }
            return Ok(());
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn content_length(head: &[u8]) -> Option<usize> {
    head.split(|&b| b == b'\n').find_map(|line| {
        let line = std::str::from_utf8(line).ok()?.trim_end_matches('\r');
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse().ok())?
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_length_is_found_case_insensitively() {
        let head = b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\ndate: x";
        assert_eq!(content_length(head), Some(13));
        assert_eq!(content_length(b"HTTP/1.1 200 OK\r\n"), None);
    }
}
