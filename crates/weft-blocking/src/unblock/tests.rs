//! Unit tests of the buffer core, the read-ahead policy and the state machine.

use std::io::{self, Read, Seek, SeekFrom};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures_lite::future::{block_on, poll_fn};
use futures_lite::{AsyncReadExt, AsyncSeekExt};

use super::read_ahead::READ_AHEAD_MAX;
use super::{State, Unblock, DEFAULT_CAPACITY};

const K: usize = 1024;

/// A seekable in-memory file that logs every `read` call as (position, buffer length), can
/// fail once at a position, and can make each `read` wait for a token.
struct Mock {
    data: Vec<u8>,
    pos: u64,
    log: Arc<Mutex<Vec<(u64, usize)>>>,
    fail_at: Option<u64>,
    gate: Option<mpsc::Receiver<()>>,
    /// Seeks fail like a pipe's (ESPIPE).
    unseekable: bool,
}

impl Read for Mock {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(g) = &self.gate {
            if g.recv_timeout(Duration::from_secs(10)).is_err() {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "gate: no token"));
            }
        }
        self.log.lock().unwrap().push((self.pos, buf.len()));
        let mut end = self.data.len() as u64;
        if let Some(f) = self.fail_at {
            if self.pos == f {
                self.fail_at = None;
                return Err(io::Error::other("boom"));
            }
            if self.pos < f {
                end = end.min(f);
            }
        }
        let start = self.pos.min(end) as usize;
        let n = buf.len().min(end as usize - start);
        buf[..n].copy_from_slice(&self.data[start..start + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for Mock {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        if self.unseekable {
            return Err(io::Error::new(io::ErrorKind::NotSeekable, "illegal seek"));
        }
        let to = match pos {
            SeekFrom::Start(n) => n as i64,
            SeekFrom::Current(n) => self.pos as i64 + n,
            SeekFrom::End(n) => self.data.len() as i64 + n,
        };
        if to < 0 {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "negative"));
        }
        self.pos = to as u64;
        Ok(self.pos)
    }
}

fn data(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 13 % 251) as u8).collect()
}

type Log = Arc<Mutex<Vec<(u64, usize)>>>;

fn mock(n: usize) -> (Mock, Log) {
    let log = Log::default();
    let m = Mock {
        data: data(n),
        pos: 0,
        log: log.clone(),
        fail_at: None,
        gate: None,
        unseekable: false,
    };
    (m, log)
}

fn read_4k(u: &mut Unblock<Mock>) -> Vec<u8> {
    let mut buf = [0u8; 4 * K];
    let n = block_on(u.read(&mut buf)).unwrap();
    buf[..n].to_vec()
}

/// Waits for the in-flight fill and returns (reader's buffered bytes, read-ahead bytes).
fn settle(u: &mut Unblock<Mock>) -> (usize, usize) {
    block_on(poll_fn(|cx| u.poll_idle(cx))).unwrap();
    let State::Idle(core) = &u.state else {
        unreachable!()
    };
    (u.rd.unread(), core.unread())
}

#[test]
fn file_mode_grows_fills_and_reads_ahead_once_sequential() {
    let (m, log) = mock(2 * READ_AHEAD_MAX + 5 * K);
    let src = m.data.clone();
    let mut u = Unblock::new(m).file_mode();
    let mut got = Vec::new();
    for _ in 0..3 {
        got.extend(read_4k(&mut u)); // 8 KiB fill (2 reads), then a 16 KiB fill
    }
    // The 16 KiB fill was the second in a row: the next 32 KiB are read ahead while only
    // 12 KiB have been consumed.
    assert_eq!(settle(&mut u), (12 * K, 32 * K));
    assert_eq!(
        *log.lock().unwrap(),
        [(0, 8 * K), (8 * K as u64, 16 * K), (24 * K as u64, 32 * K)]
    );
    loop {
        let chunk = read_4k(&mut u);
        if chunk.is_empty() {
            break;
        }
        got.extend(chunk);
    }
    assert_eq!(got, src);
    let sizes: Vec<usize> = log.lock().unwrap().iter().map(|r| r.1).collect();
    assert_eq!(&sizes[..5], [8 * K, 16 * K, 32 * K, 64 * K, 128 * K]);
    assert!(sizes.iter().all(|&s| s <= READ_AHEAD_MAX));
    assert_eq!(*sizes.last().unwrap(), READ_AHEAD_MAX);
}

/// A pipe, tty or socket opened as a `fs::File`: a read-ahead could wait for a peer forever,
/// and a write on the same file would wait for it.
#[test]
fn unseekable_file_never_reads_ahead() {
    let (mut m, log) = mock(300 * K);
    m.unseekable = true;
    let src = m.data.clone();
    let mut u = Unblock::new(m).file_mode();
    let mut got = Vec::new();
    loop {
        let chunk = read_4k(&mut u);
        assert_eq!(settle(&mut u).1, 0, "read ahead at {}", got.len());
        if chunk.is_empty() {
            break;
        }
        got.extend(chunk);
    }
    assert_eq!(got, src);
    // Fills still grow (one `read` call each never waits longer for being larger).
    assert_eq!(log.lock().unwrap()[4], (120 * K as u64, 128 * K));
}

#[test]
fn plain_unblock_never_reads_ahead() {
    let (m, log) = mock(100 * K);
    let mut u = Unblock::new(m);
    for _ in 0..10 {
        assert_eq!(read_4k(&mut u).len(), 4 * K);
    }
    assert_eq!(settle(&mut u), (0, 0));
    assert!(log.lock().unwrap().iter().all(|r| r.1 == DEFAULT_CAPACITY));
    assert_eq!(log.lock().unwrap().len(), 5);
}

#[test]
fn random_access_does_not_read_ahead() {
    let (m, log) = mock(1000 * K);
    let src = m.data.clone();
    let mut u = Unblock::new(m).file_mode();
    for i in 0..6u64 {
        let at = i * 100_000;
        assert_eq!(block_on(u.seek(SeekFrom::Start(at))).unwrap(), at);
        let mut b = [0u8; 100];
        block_on(u.read_exact(&mut b)).unwrap();
        assert_eq!(&b[..], &src[at as usize..at as usize + 100]);
    }
    assert_eq!(settle(&mut u), (8 * K - 100, 0));
    let log = log.lock().unwrap();
    assert_eq!(log.len(), 6);
    assert!(log.iter().all(|r| r.1 == DEFAULT_CAPACITY));
}

#[test]
fn read_ahead_then_seek_is_logical() {
    let (m, _log) = mock(600 * K);
    let src = m.data.clone();
    let mut u = Unblock::new(m).file_mode();
    for _ in 0..50 {
        read_4k(&mut u); // 200 KiB: fills of 8..128 KiB, one in flight or buffered
    }
    assert_eq!(
        block_on(u.seek(SeekFrom::Current(0))).unwrap(),
        200 * K as u64
    );
    assert_eq!(read_4k(&mut u), &src[200 * K..204 * K]);
    for _ in 0..40 {
        read_4k(&mut u); // get a new streak going
    }
    let pos = 364 * K;
    assert_eq!(
        block_on(u.seek(SeekFrom::Current(-100))).unwrap(),
        pos as u64 - 100
    );
    assert_eq!(read_4k(&mut u), &src[pos - 100..pos - 100 + 4 * K]);
    let State::Idle(core) = &mut u.state else {
        unreachable!()
    };
    assert_eq!(
        core.io().pos,
        (pos - 100 + 8 * K) as u64,
        "one plain fill after a seek"
    );
}

#[test]
fn read_error_comes_after_the_bytes_before_it_then_reading_resumes() {
    let (mut m, _log) = mock(700 * K);
    let src = m.data.clone();
    let fail = 300_001;
    m.fail_at = Some(fail as u64);
    let mut u = Unblock::new(m).file_mode();
    let mut got = Vec::new();
    let mut buf = [0u8; 4 * K];
    let err = loop {
        match block_on(u.read(&mut buf)) {
            Ok(0) => panic!("EOF before the error"),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => break e,
        }
    };
    assert_eq!(got, &src[..fail], "every byte before the error, in order");
    assert_eq!(err.to_string(), "boom");
    got.clear();
    block_on(u.read_to_end(&mut got)).unwrap();
    assert_eq!(got, &src[fail..]);
}

#[test]
fn dropped_read_during_read_ahead_loses_nothing_and_seek_waits_for_it() {
    let (mut m, log) = mock(200 * K);
    let src = m.data.clone();
    let (tx, rx) = mpsc::channel();
    m.gate = Some(rx);
    let mut u = Unblock::new(m).file_mode();
    tx.send(()).unwrap();
    tx.send(()).unwrap();
    let mut got = Vec::new();
    for _ in 0..6 {
        got.extend(read_4k(&mut u)); // all of the 8 + 16 KiB fills, no third token yet
    }
    assert_eq!(got, &src[..24 * K]);
    // The 32 KiB read-ahead waits for a token: the next read is pending. Drop it.
    {
        let mut buf = [0u8; 4 * K];
        let mut fut = u.read(&mut buf);
        let mut cx = Context::from_waker(Waker::noop());
        assert!(std::pin::Pin::new(&mut fut).poll(&mut cx).is_pending());
    }
    tx.send(()).unwrap();
    assert_eq!(read_4k(&mut u), &src[24 * K..28 * K]);
    // The next read-ahead (64 KiB at 56 KiB) is in flight, blocked: a seek waits for it and
    // accounts for it.
    {
        let mut fut = u.seek(SeekFrom::Current(0));
        let mut cx = Context::from_waker(Waker::noop());
        assert!(std::pin::Pin::new(&mut fut).poll(&mut cx).is_pending());
        tx.send(()).unwrap();
        assert_eq!(block_on(fut).unwrap(), 28 * K as u64);
    }
    assert_eq!(log.lock().unwrap().last(), Some(&(56 * K as u64, 64 * K)));
    tx.send(()).unwrap();
    assert_eq!(read_4k(&mut u), &src[28 * K..32 * K]);
}

use std::future::Future;

#[test]
fn empty_read_is_ok_zero() {
    let (m, _) = mock(10);
    let mut u = Unblock::new(m).file_mode();
    let mut cx = Context::from_waker(Waker::noop());
    let mut empty = [0u8; 0];
    let mut fut = u.read(&mut empty);
    assert!(matches!(
        std::pin::Pin::new(&mut fut).poll(&mut cx),
        Poll::Ready(Ok(0))
    ));
}

/// A seekable in-memory sink that logs the length of every `write` call.
#[derive(Default)]
struct Sink {
    data: Vec<u8>,
    pos: usize,
    writes: Arc<Mutex<Vec<usize>>>,
}

impl std::io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writes.lock().unwrap().push(buf.len());
        let end = self.pos + buf.len();
        if self.data.len() < end {
            self.data.resize(end, 0);
        }
        self.data[self.pos..end].copy_from_slice(buf);
        self.pos = end;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Seek for Sink {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let SeekFrom::Start(p) = pos else {
            unreachable!("the test only seeks from the start")
        };
        self.pos = p as usize;
        Ok(p)
    }
}

impl Read for Sink {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Ok(0)
    }
}

#[test]
fn file_mode_grows_the_write_buffer_while_writing_sequentially() {
    use futures_lite::AsyncWriteExt;
    let sink = Sink::default();
    let writes = sink.writes.clone();
    let src = data(1024 * K);
    let mut u = Unblock::new(sink).file_mode();
    block_on(async {
        for chunk in src.chunks(4 * K) {
            u.write_all(chunk).await.unwrap();
        }
        u.flush().await.unwrap();
    });
    let sizes = writes.lock().unwrap().clone();
    assert_eq!(
        &sizes[..6],
        [8 * K, 16 * K, 32 * K, 64 * K, 128 * K, 128 * K]
    );
    assert!(sizes.iter().all(|&s| s <= 128 * K));
    assert_eq!(sizes.iter().sum::<usize>(), src.len());
    // After a seek, writes start small again.
    writes.lock().unwrap().clear();
    block_on(async {
        u.seek(SeekFrom::Start(0)).await.unwrap();
        for chunk in src[..32 * K].chunks(4 * K) {
            u.write_all(chunk).await.unwrap();
        }
        u.flush().await.unwrap();
    });
    assert_eq!(*writes.lock().unwrap(), [8 * K, 16 * K, 8 * K]);
    let inner = block_on(u.into_inner());
    assert_eq!(inner.data, src);
}

#[test]
fn plain_unblock_keeps_its_write_buffer_size() {
    use futures_lite::AsyncWriteExt;
    let sink = Sink::default();
    let writes = sink.writes.clone();
    let mut u = Unblock::new(sink);
    block_on(async {
        for chunk in data(64 * K).chunks(4 * K) {
            u.write_all(chunk).await.unwrap();
        }
        u.flush().await.unwrap();
    });
    assert!(writes
        .lock()
        .unwrap()
        .iter()
        .all(|&s| s == DEFAULT_CAPACITY));
}

#[test]
fn a_panicking_iterator_re_raises_in_the_consumer_instead_of_hanging() {
    use futures_lite::StreamExt;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let it = (0..10u32).map(|i| if i == 5 { panic!("iterator boom") } else { i });
        let mut s = Unblock::new(it);
        let mut got = Vec::new();
        let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            block_on(async {
                while let Some(i) = s.next().await {
                    got.push(i);
                }
            })
        }));
        let msg = res
            .unwrap_err()
            .downcast_ref::<&str>()
            .map(|m| m.to_string())
            .unwrap_or_default();
        // Afterwards the stream just ends.
        let after = block_on(s.next());
        let _ = tx.send((got, msg, after));
    });
    let (got, msg, after) = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the stream of a panicking iterator never ended");
    assert_eq!(got, [0, 1, 2, 3, 4]);
    assert_eq!(msg, "iterator boom");
    assert_eq!(after, None);
}
