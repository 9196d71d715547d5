//! A fault-injecting HTTP/1.1 test server on loopback (std threads), scriptable per connection
//! and per request, plus watchdog helpers.
#![allow(dead_code)]

pub mod fds;
pub mod tls;

use std::future::Future;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll};
use std::thread;
use std::time::Duration;

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub conn: usize,
    pub index: usize,
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Seen {
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// What the server does with one request.
pub enum Step {
    /// Write these bytes and keep reading requests.
    Reply(Vec<u8>),
    /// Write these bytes, then close (FIN).
    ReplyClose(Vec<u8>),
    /// Write these bytes, then reset the connection (RST) and signal `notify`.
    ReplyReset(Vec<u8>, Option<std::sync::mpsc::Sender<()>>),
    /// Close without answering (the FIN crosses the request).
    Close,
    /// Write `head`, then `body` one piece at a time with a pause between pieces.
    Drip(Vec<u8>, Vec<Vec<u8>>, Duration),
    /// Never answer (hold the connection until the server stops).
    Stall,
    /// Answer a CONNECT with 200 and relay bytes to and from this address.
    Tunnel(SocketAddr),
    /// Write these bytes; when `go` fires, send a TLS 1.3 KeyUpdate that asks for an answer
    /// (a post-handshake record, here while the client's connection is idle), signal `sent`,
    /// and keep serving (plain TCP: only the reply).
    KeyUpdate(Vec<u8>, Pending<()>, Notify),
}

/// A one-shot receiver a script can move into a [`Step`] (scripts are `Fn`).
pub type Pending<T> = Mutex<Option<mpsc::Receiver<T>>>;
/// A one-shot sender a script can move into a [`Step`].
pub type Notify = Mutex<Option<mpsc::Sender<()>>>;

/// What the server needs of a connection beyond bytes: TLS controls (none on plain TCP).
trait Session: Read + Write {
    /// Queues a KeyUpdate that requests the peer's; `false` where there is no TLS.
    fn key_update(&mut self) -> bool {
        false
    }
}

impl Session for TcpStream {}

impl Session for rustls::StreamOwned<rustls::ServerConnection, TcpStream> {
    fn key_update(&mut self) -> bool {
        self.conn.refresh_traffic_keys().is_ok()
    }
}

type Script = dyn Fn(&Seen) -> Step + Send + Sync;

struct Shared {
    stop: AtomicBool,
    accepted: AtomicUsize,
    open: AtomicUsize,
    seen: Mutex<Vec<Seen>>,
    script: Box<Script>,
}

/// The server; stops (and closes its connections) on drop.
pub struct Server {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

/// A response with `Content-Length`.
pub fn ok(body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nContent-Type: text/plain\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// A response with a status, extra header lines (each ending in CRLF) and a body.
pub fn resp(status: &str, headers: &str, body: &[u8]) -> Vec<u8> {
    let mut v = format!(
        "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    v.extend_from_slice(body);
    v
}

/// A redirect to `location`.
pub fn redirect(status: &str, location: &str) -> Vec<u8> {
    resp(status, &format!("Location: {location}\r\n"), b"")
}

impl Server {
    /// Starts a server answering every request with `script`.
    pub fn start(script: impl Fn(&Seen) -> Step + Send + Sync + 'static) -> Server {
        Server::start_with(script, None)
    }

    /// Starts a server; with `tls`, every connection is wrapped in TLS first.
    pub fn start_with(
        script: impl Fn(&Seen) -> Step + Send + Sync + 'static,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            accepted: AtomicUsize::new(0),
            open: AtomicUsize::new(0),
            seen: Mutex::new(Vec::new()),
            script: Box::new(script),
        });
        let sh = shared.clone();
        thread::spawn(move || {
            while !sh.stop.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((s, _)) => {
                        s.set_nonblocking(false).unwrap();
                        let conn = sh.accepted.fetch_add(1, Ordering::SeqCst);
                        sh.open.fetch_add(1, Ordering::SeqCst);
                        let sh = sh.clone();
                        let tls = tls.clone();
                        thread::spawn(move || {
                            let _ = s.set_read_timeout(Some(Duration::from_millis(50)));
                            let _ = s.set_nodelay(true);
                            match tls {
                                None => {
                                    let raw = s.try_clone().unwrap();
                                    serve(&sh, conn, s, raw, false)
                                }
                                Some(cfg) => {
                                    let raw = s.try_clone().unwrap();
                                    let c = rustls::ServerConnection::new(cfg).unwrap();
                                    let stream = rustls::StreamOwned::new(c, s);
                                    serve(&sh, conn, stream, raw, true)
                                }
                            }
                            sh.open.fetch_sub(1, Ordering::SeqCst);
                        });
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        thread::sleep(Duration::from_millis(1))
                    }
                    Err(_) => thread::sleep(Duration::from_millis(1)),
                }
            }
        });
        Server { addr, shared }
    }

    /// Answers every request with `200 OK` and `body`, keeping the connection alive.
    pub fn ok(body: &'static str) -> Server {
        Server::start(move |_| Step::Reply(ok(body)))
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// Connections currently open on the server side.
    pub fn open(&self) -> usize {
        self.shared.open.load(Ordering::SeqCst)
    }

    /// Every request seen, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
    }
}

/// Reads more bytes into `buf` until `done(buf)`; `false` on EOF, error or stop (a read that
/// times out only re-checks the stop flag).
fn read_until<S: Read>(
    sh: &Shared,
    s: &mut S,
    buf: &mut Vec<u8>,
    mut done: impl FnMut(&[u8]) -> bool,
) -> bool {
    let mut tmp = [0u8; 8192];
    while !done(buf) {
        if sh.stop.load(Ordering::SeqCst) {
            return false;
        }
        match s.read(&mut tmp) {
            Ok(0) => return false,
            Ok(n) => buf.extend_from_slice(&tmp[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return false,
        }
    }
    true
}

/// The end of the head (`\r\n\r\n` included) in `buf`, if it is all there.
fn head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4)
}

/// Reads until `\r\n\r\n`; `None` on EOF/stop.
fn read_head<S: Read>(sh: &Shared, s: &mut S, buf: &mut Vec<u8>) -> Option<usize> {
    read_until(sh, s, buf, |b| head_end(b).is_some()).then(|| head_end(buf))?
}

/// Reads until `buf` holds `want` bytes; `false` on EOF/stop.
fn fill<S: Read>(sh: &Shared, s: &mut S, buf: &mut Vec<u8>, want: usize) -> bool {
    read_until(sh, s, buf, |b| b.len() >= want)
}

/// Reads a chunked body from `buf` (refilling), returning the data.
fn read_chunked<S: Read>(sh: &Shared, s: &mut S, buf: &mut Vec<u8>) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = loop {
            if let Some(p) = buf.windows(2).position(|w| w == b"\r\n") {
                break p;
            }
            let l = buf.len();
            if !fill(sh, s, buf, l + 1) {
                return None;
            }
        };
        let line = String::from_utf8_lossy(&buf[..line_end]).to_string();
        let size = usize::from_str_radix(line.split(';').next()?.trim(), 16).ok()?;
        buf.drain(..line_end + 2);
        if size == 0 {
            if !fill(sh, s, buf, 2) {
                return None;
            }
            buf.drain(..2);
            return Some(out);
        }
        if !fill(sh, s, buf, size + 2) {
            return None;
        }
        out.extend_from_slice(&buf[..size]);
        buf.drain(..size + 2);
    }
}

fn serve<S: Session>(sh: &Shared, conn: usize, mut s: S, raw: TcpStream, tls: bool) {
    let mut buf = Vec::new();
    let mut index = 0;
    loop {
        let Some(head_len) = read_head(sh, &mut s, &mut buf) else {
            return;
        };
        let mut hs = [httparse::EMPTY_HEADER; 64];
        let mut req = httparse::Request::new(&mut hs);
        if req.parse(&buf[..head_len]).is_err() {
            return;
        }
        let method = req.method.unwrap_or("").to_string();
        let path = req.path.unwrap_or("").to_string();
        let headers: Vec<(String, String)> = req
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.to_string(),
                    String::from_utf8_lossy(h.value).to_string(),
                )
            })
            .collect();
        buf.drain(..head_len);
        let cl = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse::<usize>().ok());
        let chunked = headers.iter().any(|(k, v)| {
            k.eq_ignore_ascii_case("transfer-encoding")
                && v.to_ascii_lowercase().contains("chunked")
        });
        let expects = headers.iter().any(|(k, v)| {
            k.eq_ignore_ascii_case("expect") && v.eq_ignore_ascii_case("100-continue")
        });
        if expects && path.starts_with("/reject") {
            // Refuse before the body is sent; the client must not send it (nor reuse us).
            let _ = s.write_all(b"HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\n\r\n");
            let _ = s.flush();
            sh.seen.lock().unwrap().push(Seen {
                conn,
                index,
                method,
                path,
                headers,
                body: Vec::new(),
            });
            index += 1;
            continue;
        }
        if expects
            && s.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
                .and_then(|_| s.flush())
                .is_err()
        {
            return;
        }
        let body = if chunked {
            match read_chunked(sh, &mut s, &mut buf) {
                Some(b) => b,
                None => return,
            }
        } else if let Some(n) = cl {
            if !fill(sh, &mut s, &mut buf, n) {
                return;
            }
            buf.drain(..n).collect()
        } else {
            Vec::new()
        };
        let seen = Seen {
            conn,
            index,
            method,
            path,
            headers,
            body,
        };
        index += 1;
        let step = (sh.script)(&seen);
        sh.seen.lock().unwrap().push(seen);
        match step {
            Step::Reply(b) => {
                if s.write_all(&b).and_then(|_| s.flush()).is_err() {
                    return;
                }
            }
            Step::ReplyClose(b) => {
                let _ = s.write_all(&b).and_then(|_| s.flush());
                let _ = raw.shutdown(Shutdown::Both);
                return;
            }
            Step::ReplyReset(b, notify) => {
                let _ = s.write_all(&b).and_then(|_| s.flush());
                let _ = socket2::SockRef::from(&raw).set_linger(Some(Duration::ZERO));
                // The RST goes out when the last descriptor closes.
                drop(s);
                drop(raw);
                if let Some(n) = notify {
                    let _ = n.send(());
                }
                return;
            }
            Step::Close => {
                let _ = raw.shutdown(Shutdown::Both);
                return;
            }
            Step::Drip(head, pieces, pause) => {
                if s.write_all(&head).and_then(|_| s.flush()).is_err() {
                    return;
                }
                for p in pieces {
                    thread::sleep(pause);
                    if sh.stop.load(Ordering::SeqCst)
                        || s.write_all(&p).and_then(|_| s.flush()).is_err()
                    {
                        return;
                    }
                }
            }
            Step::Tunnel(target) => {
                let Ok(mut up) = TcpStream::connect(target) else {
                    return;
                };
                if s.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .and_then(|_| s.flush())
                    .is_err()
                {
                    return;
                }
                if tls {
                    // The tunnel runs inside this TLS session (an https proxy).
                    relay_in(sh, s, up, &buf);
                    return;
                }
                drop(s);
                let _ = raw.set_read_timeout(None);
                if !buf.is_empty() && up.write_all(&buf).is_err() {
                    return;
                }
                let (mut down_r, mut up_w) = (raw.try_clone().unwrap(), up.try_clone().unwrap());
                let t = thread::spawn(move || {
                    let _ = io::copy(&mut down_r, &mut up_w);
                    let _ = up_w.shutdown(Shutdown::Write);
                });
                let mut raw_w = raw;
                let _ = io::copy(&mut up, &mut raw_w);
                let _ = raw_w.shutdown(Shutdown::Write);
                let _ = t.join();
                return;
            }
            Step::KeyUpdate(b, go, sent) => {
                if s.write_all(&b).and_then(|_| s.flush()).is_err() {
                    return;
                }
                let go = go.lock().unwrap().take();
                let sent = sent.lock().unwrap().take();
                if let (Some(go), Some(sent)) = (go, sent) {
                    if go.recv_timeout(Duration::from_secs(20)).is_err()
                        || !s.key_update()
                        || s.flush().is_err()
                    {
                        return;
                    }
                    let _ = sent.send(());
                }
            }
            Step::Stall => {
                while !sh.stop.load(Ordering::SeqCst) {
                    let mut tmp = [0u8; 1024];
                    match s.read(&mut tmp) {
                        Ok(0) => return,
                        Ok(_) => {}
                        Err(e)
                            if matches!(
                                e.kind(),
                                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                            ) => {}
                        Err(_) => return,
                    }
                }
                return;
            }
        }
    }
}

/// Sends `req` and reads the whole body, panicking on any error (the tests' common case).
pub async fn send_bytes(req: weft_http::RequestBuilder) -> weft_http::Bytes {
    req.send().await.unwrap().bytes().await.unwrap()
}

/// Sends `req` and reads the whole body as text, panicking on any error.
pub async fn send_text(req: weft_http::RequestBuilder) -> String {
    req.send().await.unwrap().text().await.unwrap()
}

/// Sends `req`, which must fail before a response, and returns the error.
pub async fn send_error(req: weft_http::RequestBuilder) -> weft_http::Error {
    req.send().await.unwrap_err()
}

/// Sends `req`, whose response head must arrive, and returns the error reading its body.
pub async fn body_error(req: weft_http::RequestBuilder) -> weft_http::Error {
    req.send().await.unwrap().bytes().await.unwrap_err()
}

/// `client.get(url)` and the whole body (see [`send_bytes`]).
pub async fn get_bytes(
    client: &weft_http::Client,
    url: impl weft_http::IntoUrl,
) -> weft_http::Bytes {
    send_bytes(client.get(url)).await
}

/// `client.get(url)` and the whole body as text (see [`send_text`]).
pub async fn get_text(client: &weft_http::Client, url: impl weft_http::IntoUrl) -> String {
    send_text(client.get(url)).await
}

/// A script for "connection 0 answers its first request, then closes when the next one
/// arrives" (a stale pooled connection); every other request gets `ok(body)`.
pub fn stale_after_first(body: &'static str) -> impl Fn(&Seen) -> Step + Send + Sync {
    move |s| {
        if s.conn == 0 && s.index == 1 {
            Step::Close
        } else {
            Step::Reply(ok(body))
        }
    }
}

/// A listener that never accepts, with its accept queue filled: connecting to it stalls.
/// Keep both values alive for as long as connects should stall.
pub fn full_backlog() -> (socket2::Socket, Vec<TcpStream>, SocketAddr) {
    use socket2::{Domain, Socket, Type};
    let l = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    l.bind(&any.into()).unwrap();
    l.listen(0).unwrap();
    let addr = l.local_addr().unwrap().as_socket().unwrap();
    let fillers = (0..4)
        .filter_map(|_| TcpStream::connect_timeout(&addr, Duration::from_millis(100)).ok())
        .collect();
    (l, fillers, addr)
}

/// Runs `fut` on `weft_reactor::block_on`, failing the test if it takes longer than `secs`.
pub fn run<F: Future>(secs: u64, fut: F) -> F::Output {
    weft_reactor::block_on(async move {
        match weft_timer::timeout(Duration::from_secs(secs), fut).await {
            Ok(v) => v,
            Err(_) => panic!("watchdog: the test did not finish within {secs} s"),
        }
    })
}

/// Relays between a stream that is read with a timeout (the TLS session of an https proxy,
/// one thread, so both sides take turns) and `up`, until either side closes or the server stops.
fn relay_in<S: Read + Write>(sh: &Shared, mut s: S, mut up: TcpStream, early: &[u8]) {
    let timed_out = |e: &io::Error| {
        matches!(
            e.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        )
    };
    if up.write_all(early).is_err() || up.set_nonblocking(true).is_err() {
        return;
    }
    let mut tmp = vec![0u8; 64 * 1024];
    while !sh.stop.load(Ordering::SeqCst) {
        match up.read(&mut tmp) {
            Ok(0) => return,
            Ok(n) => {
                if s.write_all(&tmp[..n]).and_then(|_| s.flush()).is_err() {
                    return;
                }
                continue;
            }
            Err(e) if timed_out(&e) => {}
            Err(_) => return,
        }
        // Blocks for at most the connection's read timeout.
        match s.read(&mut tmp) {
            Ok(0) => return,
            Ok(n) => {
                let _ = up.set_nonblocking(false);
                let sent = up.write_all(&tmp[..n]);
                let _ = up.set_nonblocking(true);
                if sent.is_err() {
                    return;
                }
            }
            Err(e) if timed_out(&e) => {}
            Err(_) => return,
        }
    }
}

/// Waits (polling every millisecond, driving the reactor) until `cond` holds; panics after 5 s.
pub async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let end = std::time::Instant::now() + Duration::from_secs(5);
    while std::time::Instant::now() < end {
        if cond() {
            return;
        }
        weft_timer::sleep(Duration::from_millis(1)).await;
    }
    panic!("watchdog: gave up waiting for: {what}");
}

/// Runs futures concurrently on this thread; results in input order.
pub async fn join_all<T>(futs: Vec<Pin<Box<dyn Future<Output = T> + '_>>>) -> Vec<T> {
    let mut futs: Vec<Option<Pin<Box<dyn Future<Output = T> + '_>>>> =
        futs.into_iter().map(Some).collect();
    let mut out: Vec<Option<T>> = futs.iter().map(|_| None).collect();
    std::future::poll_fn(|cx: &mut Context<'_>| {
        let mut pending = false;
        for (i, f) in futs.iter_mut().enumerate() {
            if let Some(fut) = f {
                match fut.as_mut().poll(cx) {
                    Poll::Ready(v) => {
                        out[i] = Some(v);
                        *f = None;
                    }
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    out.into_iter().map(|o| o.unwrap()).collect()
}

/// The number of open descriptors of this process.
pub fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0)
}
