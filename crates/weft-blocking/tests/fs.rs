//! `weft_blocking::fs` agrees with `std::fs`.

use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_lite::future::block_on;
use futures_lite::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt, StreamExt};
use weft_blocking::fs::{self, File, OpenOptions, PathError};

/// A unique temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "weft-blocking-{}-{}-{}",
            tag,
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn data(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 % 253) as u8).collect()
}

#[test]
fn write_read_round_trip() {
    let d = TempDir::new("rt");
    let p = d.join("a.bin");
    let src = data(100_000);
    block_on(fs::write(&p, &src)).unwrap();
    assert_eq!(std::fs::read(&p).unwrap(), src);
    assert_eq!(block_on(fs::read(&p)).unwrap(), src);
    std::fs::write(&p, "héllo").unwrap();
    assert_eq!(block_on(fs::read_to_string(&p)).unwrap(), "héllo");
}

#[test]
fn file_write_read_and_append_agree_with_std() {
    let d = TempDir::new("append");
    let (a, b) = (d.join("weft.txt"), d.join("std.txt"));
    let part1 = data(20_000);
    let part2 = b"tail".repeat(3000);
    block_on(async {
        let mut f = File::create(&a).await.unwrap();
        f.write_all(&part1).await.unwrap();
        f.flush().await.unwrap();
        drop(f);
        let mut f = OpenOptions::new().append(true).open(&a).await.unwrap();
        f.write_all(&part2).await.unwrap();
        f.sync_all().await.unwrap();
    });
    let mut s = std::fs::File::create(&b).unwrap();
    s.write_all(&part1).unwrap();
    drop(s);
    let mut s = std::fs::OpenOptions::new().append(true).open(&b).unwrap();
    s.write_all(&part2).unwrap();
    drop(s);
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    let mut got = Vec::new();
    block_on(async { File::open(&a).await.unwrap().read_to_end(&mut got).await }).unwrap();
    assert_eq!(got, std::fs::read(&b).unwrap());
}

#[test]
fn seek_read_write_agree_with_std() {
    let d = TempDir::new("seek");
    let (a, b) = (d.join("weft.bin"), d.join("std.bin"));
    let src = data(50_000);
    std::fs::write(&a, &src).unwrap();
    std::fs::write(&b, &src).unwrap();
    let opts = |p: &Path| std::fs::OpenOptions::new().read(true).write(true).open(p);
    let mut s = opts(&b).unwrap();
    let weft_log = block_on(async {
        let mut f = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&a)
            .await
            .unwrap();
        let mut log = Vec::new();
        let mut buf = vec![0u8; 100];
        f.read_exact(&mut buf).await.unwrap();
        log.push(buf.clone());
        // Write after read: lands right after the 100 bytes read, not after the read-ahead.
        f.write_all(b"XYZ").await.unwrap();
        log.push(
            f.seek(SeekFrom::Current(0))
                .await
                .unwrap()
                .to_le_bytes()
                .to_vec(),
        );
        f.seek(SeekFrom::Start(40_000)).await.unwrap();
        f.read_exact(&mut buf).await.unwrap();
        log.push(buf.clone());
        f.seek(SeekFrom::End(-50)).await.unwrap();
        let mut rest = Vec::new();
        f.read_to_end(&mut rest).await.unwrap();
        log.push(rest);
        f.seek(SeekFrom::Start(10)).await.unwrap();
        f.write_all(b"0123456789").await.unwrap();
        f.seek(SeekFrom::Current(-5)).await.unwrap();
        let mut five = [0u8; 5];
        f.read_exact(&mut five).await.unwrap();
        log.push(five.to_vec());
        f.set_len(45_000).await.unwrap();
        log.push(f.metadata().await.unwrap().len().to_le_bytes().to_vec());
        log
    });
    let mut std_log = Vec::new();
    let mut buf = vec![0u8; 100];
    s.read_exact(&mut buf).unwrap();
    std_log.push(buf.clone());
    s.write_all(b"XYZ").unwrap();
    std_log.push(s.stream_position().unwrap().to_le_bytes().to_vec());
    s.seek(SeekFrom::Start(40_000)).unwrap();
    s.read_exact(&mut buf).unwrap();
    std_log.push(buf.clone());
    s.seek(SeekFrom::End(-50)).unwrap();
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).unwrap();
    std_log.push(rest);
    s.seek(SeekFrom::Start(10)).unwrap();
    s.write_all(b"0123456789").unwrap();
    s.seek(SeekFrom::Current(-5)).unwrap();
    let mut five = [0u8; 5];
    s.read_exact(&mut five).unwrap();
    std_log.push(five.to_vec());
    s.set_len(45_000).unwrap();
    std_log.push(s.metadata().unwrap().len().to_le_bytes().to_vec());
    drop(s);
    assert_eq!(weft_log, std_log);
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
}

#[test]
fn read_dir_over_1000_files_agrees_with_std() {
    let d = TempDir::new("dir");
    for i in 0..1000 {
        std::fs::write(d.join(&format!("f{i:04}")), [i as u8]).unwrap();
    }
    std::fs::create_dir(d.join("sub")).unwrap();
    let mut expected: Vec<_> = std::fs::read_dir(&d.0)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    expected.sort();
    let (mut got, dirs) = block_on(async {
        let mut rd = fs::read_dir(&d.0).await.unwrap();
        let mut names = Vec::new();
        let mut dirs = 0;
        while let Some(e) = rd.try_next().await.unwrap() {
            assert_eq!(e.path(), d.0.join(e.file_name()));
            if e.file_type().await.unwrap().is_dir() {
                dirs += 1;
            }
            names.push(e.file_name());
        }
        (names, dirs)
    });
    got.sort();
    assert_eq!(got.len(), 1001);
    assert_eq!(got, expected);
    assert_eq!(dirs, 1);
}

fn wait_for_content(p: &Path, want: &[u8]) {
    // The drop hands the bytes to the pool: poll with a bounded deadline.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = std::fs::read(p).unwrap();
        if got == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "dropped File did not persist: {} of {} bytes",
            got.len(),
            want.len()
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn file_dropped_without_flush_persists() {
    let d = TempDir::new("drop");
    // Small: everything is still in the buffer at drop.
    let small = d.join("small");
    block_on(async {
        let mut f = File::create(&small).await.unwrap();
        f.write_all(b"not flushed").await.unwrap();
    });
    wait_for_content(&small, b"not flushed");
    // Larger than the buffer: part written, part buffered at drop.
    let big = d.join("big");
    let src = data(30_001);
    block_on(async {
        let mut f = File::create(&big).await.unwrap();
        f.write_all(&src).await.unwrap();
    });
    wait_for_content(&big, &src);
}

#[test]
fn missing_file_is_not_found_naming_the_path() {
    let d = TempDir::new("missing");
    let p = d.join("nope/missing.txt");
    let err = block_on(File::open(&p)).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    let msg = err.to_string();
    assert!(msg.contains("failed to open"), "{msg}");
    assert!(msg.contains(&p.display().to_string()), "{msg}");
    let pe = err.get_ref().unwrap().downcast_ref::<PathError>().unwrap();
    assert_eq!(pe.path(), p);
    assert_eq!(pe.op(), "open");
    for err in [
        block_on(fs::read(&p)).unwrap_err(),
        block_on(fs::metadata(&p)).unwrap_err(),
        block_on(fs::remove_file(&p)).unwrap_err(),
        block_on(fs::read_dir(&p)).map(|_| ()).unwrap_err(),
        block_on(fs::copy(&p, d.join("x"))).map(|_| ()).unwrap_err(),
    ] {
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(err.to_string().contains(&p.display().to_string()), "{err}");
    }
}

#[test]
fn path_operations_agree_with_std() {
    let d = TempDir::new("ops");
    block_on(async {
        fs::create_dir_all(d.join("a/b/c")).await.unwrap();
        assert!(fs::metadata(d.join("a/b/c")).await.unwrap().is_dir());
        fs::write(d.join("a/x"), b"12345").await.unwrap();
        assert_eq!(fs::copy(d.join("a/x"), d.join("a/y")).await.unwrap(), 5);
        fs::rename(d.join("a/y"), d.join("a/z")).await.unwrap();
        assert!(!fs::try_exists(d.join("a/y")).await.unwrap());
        assert_eq!(fs::read(d.join("a/z")).await.unwrap(), b"12345");
        fs::hard_link(d.join("a/z"), d.join("a/h")).await.unwrap();
        assert_eq!(fs::metadata(d.join("a/h")).await.unwrap().len(), 5);
        assert_eq!(
            fs::canonicalize(d.join("a/b/../x")).await.unwrap(),
            std::fs::canonicalize(d.join("a/x")).unwrap()
        );
        #[cfg(unix)]
        {
            fs::symlink(d.join("a/x"), d.join("a/link")).await.unwrap();
            assert_eq!(
                fs::read_link(d.join("a/link")).await.unwrap(),
                d.join("a/x")
            );
            assert!(fs::symlink_metadata(d.join("a/link"))
                .await
                .unwrap()
                .is_symlink());
        }
        let mut perm = fs::metadata(d.join("a/x")).await.unwrap().permissions();
        perm.set_readonly(true);
        fs::set_permissions(d.join("a/x"), perm).await.unwrap();
        assert!(std::fs::metadata(d.join("a/x"))
            .unwrap()
            .permissions()
            .readonly());
        fs::create_dir(d.join("e")).await.unwrap();
        fs::remove_dir(d.join("e")).await.unwrap();
        fs::remove_file(d.join("a/z")).await.unwrap();
        fs::remove_dir_all(d.join("a")).await.unwrap();
        assert!(!d.join("a").exists());
        let err = fs::create_dir(&d.0).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
    });
}

#[test]
fn into_std_and_try_clone_keep_the_logical_position() {
    let d = TempDir::new("std");
    let p = d.join("f");
    std::fs::write(&p, data(20_000)).unwrap();
    block_on(async {
        let mut f = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&p)
            .await
            .unwrap();
        let mut buf = [0u8; 10];
        f.read_exact(&mut buf).await.unwrap();
        f.write_all(b"ab").await.unwrap();
        let c = f.try_clone().await.unwrap();
        drop(c);
        let mut s = f.into_std().await.unwrap();
        assert_eq!(s.stream_position().unwrap(), 12);
    });
    let mut want = data(20_000);
    want[10..12].copy_from_slice(b"ab");
    assert_eq!(std::fs::read(&p).unwrap(), want);
}

#[test]
fn types_and_futures_are_send() {
    fn send<T: Send>(_: &T) {}
    fn send_sync<T: Send + Sync>() {}
    send_sync::<File>();
    send_sync::<fs::ReadDir>();
    send_sync::<fs::DirEntry>();
    send_sync::<weft_blocking::BlockingPool>();
    send_sync::<weft_blocking::Unblock<std::fs::File>>();
    let d = TempDir::new("send");
    let p = d.join("x");
    let f = fs::write(p.clone(), b"1");
    send(&f);
    block_on(f).unwrap();
    let f = File::open(p.clone());
    send(&f);
    let mut file = block_on(f).unwrap();
    let r = file.sync_all();
    send(&r);
    block_on(r).unwrap();
    let rd = fs::read_dir(d.0.clone());
    send(&rd);
    assert_eq!(block_on(block_on(rd).unwrap().count()), 1);
}

/// Reads `n` bytes with 4 KiB reads (the benchmark's pattern), as sequential reading does.
async fn read_4k_chunks(f: &mut File, n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while out.len() < n {
        let want = (n - out.len()).min(buf.len());
        let got = f.read(&mut buf[..want]).await.unwrap();
        assert!(got > 0, "unexpected EOF");
        out.extend_from_slice(&buf[..got]);
    }
    out
}

#[test]
fn sequential_read_ahead_then_seek_write_set_len_agree_with_std() {
    // From the page cache on this thread (Linux), and with every fill on the pool.
    for inline in [true, false] {
        read_ahead_then_seek_write_set_len(inline);
    }
}

fn read_ahead_then_seek_write_set_len(inline: bool) {
    let d = TempDir::new("readahead");
    let (a, b) = (d.join("weft.bin"), d.join("std.bin"));
    let src = data(1_000_000);
    std::fs::write(&a, &src).unwrap();
    std::fs::write(&b, &src).unwrap();
    let weft_log = block_on(async {
        let mut f = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&a)
            .await
            .unwrap();
        f.set_inline_reads(inline);
        let mut log: Vec<Vec<u8>> = Vec::new();
        let pos = |p: u64| p.to_le_bytes().to_vec();
        // 300,000 bytes in 4 KiB reads: fills have grown and one is read ahead.
        log.push(read_4k_chunks(&mut f, 300_000).await);
        log.push(pos(f.seek(SeekFrom::Current(0)).await.unwrap()));
        log.push(pos(f.seek(SeekFrom::Current(-100_000)).await.unwrap()));
        log.push(read_4k_chunks(&mut f, 250_000).await);
        // Write after read-ahead: lands at the logical position.
        f.write_all(b"HELLO").await.unwrap();
        log.push(pos(f.seek(SeekFrom::Current(0)).await.unwrap()));
        log.push(read_4k_chunks(&mut f, 200_000).await);
        f.set_len(900_000).await.unwrap(); // position unchanged
        log.push(read_4k_chunks(&mut f, 1000).await);
        let mut rest = Vec::new();
        f.read_to_end(&mut rest).await.unwrap();
        log.push(rest);
        let mut s = f.into_std().await.unwrap();
        log.push(pos(s.stream_position().unwrap()));
        log
    });
    let mut s = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&b)
        .unwrap();
    let mut std_log: Vec<Vec<u8>> = Vec::new();
    let pos = |p: u64| p.to_le_bytes().to_vec();
    let read_n = |s: &mut std::fs::File, n: usize| {
        let mut v = vec![0u8; n];
        s.read_exact(&mut v).unwrap();
        v
    };
    std_log.push(read_n(&mut s, 300_000));
    std_log.push(pos(s.stream_position().unwrap()));
    std_log.push(pos(s.seek(SeekFrom::Current(-100_000)).unwrap()));
    std_log.push(read_n(&mut s, 250_000));
    s.write_all(b"HELLO").unwrap();
    std_log.push(pos(s.stream_position().unwrap()));
    std_log.push(read_n(&mut s, 200_000));
    s.set_len(900_000).unwrap();
    std_log.push(read_n(&mut s, 1000));
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).unwrap();
    std_log.push(rest);
    std_log.push(pos(s.stream_position().unwrap()));
    drop(s);
    assert_eq!(weft_log.len(), std_log.len());
    for (i, (w, s)) in weft_log.iter().zip(&std_log).enumerate() {
        assert!(
            w == s,
            "step {i} differs ({} vs {} bytes)",
            w.len(),
            s.len()
        );
    }
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
}

#[test]
fn dropped_reads_while_reading_ahead_lose_no_bytes() {
    for inline in [true, false] {
        dropped_reads_lose_no_bytes(inline);
    }
}

fn dropped_reads_lose_no_bytes(inline: bool) {
    use std::future::Future;
    let d = TempDir::new("dropread");
    let p = d.join("f.bin");
    let src = data(700_000);
    std::fs::write(&p, &src).unwrap();
    let mut f = block_on(File::open(&p)).unwrap();
    f.set_inline_reads(inline);
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        // Start a read and drop it after one poll: if it completed, its bytes count; if it
        // was pending on a fill, the fill's bytes must come out of the next read.
        {
            let mut fut = f.read(&mut buf);
            if let std::task::Poll::Ready(r) = std::pin::Pin::new(&mut fut).poll(&mut cx) {
                let n = r.unwrap();
                drop(fut);
                got.extend_from_slice(&buf[..n]);
            }
        }
        let n = block_on(f.read(&mut buf)).unwrap();
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    assert!(got == src, "got {} of {} bytes", got.len(), src.len());
}

#[test]
fn eof_at_fill_edges_then_appended_bytes_are_read() {
    for inline in [true, false] {
        eof_at_fill_edges(inline);
    }
}

fn eof_at_fill_edges(inline: bool) {
    let d = TempDir::new("edges");
    const K: usize = 1024;
    // Ends of the growing fills (8, 16, 32, 64, 128, then 128 KiB each) and their neighbours.
    let mut sizes = vec![0, 1, 4 * K];
    for edge in [8, 24, 56, 120, 248, 376, 504] {
        sizes.extend([edge * K - 1, edge * K, edge * K + 1]);
    }
    for len in sizes {
        let p = d.join(&format!("f{len}"));
        let src = data(len);
        std::fs::write(&p, &src).unwrap();
        block_on(async {
            let mut f = File::open(&p).await.unwrap();
            f.set_inline_reads(inline);
            let got = read_4k_chunks(&mut f, len).await;
            assert!(got == src, "len {len}: content differs");
            let mut buf = [0u8; 4096];
            assert_eq!(f.read(&mut buf).await.unwrap(), 0, "len {len}: EOF");
            assert_eq!(f.read(&mut buf).await.unwrap(), 0, "len {len}: EOF again");
            assert_eq!(f.seek(SeekFrom::Current(0)).await.unwrap(), len as u64);
            // EOF is not sticky: bytes appended later are read.
            let mut w = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
            w.write_all(b"more").unwrap();
            drop(w);
            let mut more = Vec::new();
            f.read_to_end(&mut more).await.unwrap();
            assert_eq!(more, b"more", "len {len}");
        });
        // read_to_end's growing buffers take the same path.
        assert_eq!(
            block_on(async {
                let mut v = Vec::new();
                let mut f = File::open(&p).await.unwrap();
                f.set_inline_reads(inline);
                f.read_to_end(&mut v).await.unwrap();
                v.len()
            }),
            len + 4
        );
    }
}

#[cfg(target_os = "linux")]
#[test]
fn read_error_is_reported_through_file() {
    let d = TempDir::new("readerr");
    // Reading a directory opened as a file fails with EISDIR.
    let dir = std::fs::File::open(&d.0).unwrap();
    let mut f = File::from_std(dir);
    let mut buf = [0u8; 4096];
    let err = block_on(f.read(&mut buf)).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::IsADirectory);
    // Reported once, in order; the next read tries again and fails the same way.
    let err = block_on(f.read(&mut buf)).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::IsADirectory);
}
