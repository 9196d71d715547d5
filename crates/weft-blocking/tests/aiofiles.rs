//! What an aiofiles user writes has a weft form: open modes, line iteration, `aiofiles.os`,
//! `aiofiles.tempfile`, and positional I/O keeping the position rules.

use std::io::{self, SeekFrom};
use std::path::Path;
use std::time::{Duration, Instant};

use futures_lite::future::block_on;
use futures_lite::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt, StreamExt};
use weft_blocking::fs::{self, NamedTempFile, TempDir};

/// Polls `cond` until it holds, failing after 10 s (background removal runs on the pool).
fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn open_modes_match_python() {
    block_on(async {
        let dir = TempDir::new().await?;
        let p = dir.path().join("f.txt");
        let mut f = fs::open(&p, "w").await?;
        f.write_all(b"hello").await?;
        f.close().await?;
        let mut f = fs::open(&p, "ab").await?;
        f.write_all(b" world").await?;
        f.close().await?;
        assert_eq!(fs::read(&p).await?, b"hello world");
        // "x" refuses an existing file.
        let e = fs::open(&p, "x").await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        // "r" cannot write.
        let mut r = fs::open(&p, "r").await?;
        r.write_all(b"!").await?;
        assert!(r.flush().await.is_err(), "a read-only file refuses writes");
        // "r+" reads and writes without truncating.
        let mut f = fs::open(&p, "r+").await?;
        let mut head = [0u8; 5];
        f.read_exact(&mut head).await?;
        f.write_all(b"_").await?;
        f.seek(SeekFrom::Start(0)).await?;
        let mut s = String::new();
        f.read_to_string(&mut s).await?;
        assert_eq!(s, "hello_world");
        // "w+" truncates and reads back.
        let mut f = fs::open(&p, "w+").await?;
        f.write_all(b"new").await?;
        f.seek(SeekFrom::Start(0)).await?;
        s.clear();
        f.read_to_string(&mut s).await?;
        assert_eq!(s, "new");
        // "a+" appends and reads.
        let mut f = fs::open(&p, "a+t").await?;
        f.write_all(b"er").await?;
        f.seek(SeekFrom::Start(0)).await?;
        s.clear();
        f.read_to_string(&mut s).await?;
        assert_eq!(s, "newer");
        // A bad mode names the path and the valid modes; nothing is created.
        let q = dir.path().join("bad");
        let e = fs::open(&q, "rw").await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        assert!(
            e.to_string().contains("bad") && e.to_string().contains("r, w, a, x"),
            "{e}"
        );
        assert!(!fs::exists(&q).await);
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn lines_agree_with_std_across_read_ahead() {
    block_on(async {
        let dir = TempDir::new().await?;
        let p = dir.path().join("lines.txt");
        let mut text: String = (0..20_000)
            .map(|i| format!("line {i} {}\n", "x".repeat(i % 50)))
            .collect();
        text.push_str("crlf\r\nlast without newline");
        fs::write(&p, &text).await?;
        let got: Vec<String> = fs::File::open(&p).await?.lines().try_collect().await?;
        let want: Vec<&str> = text.lines().collect();
        assert_eq!(got, want);
        // Not UTF-8: an InvalidData error, as for std.
        fs::write(&p, b"ok\n\xff\xfe\n").await?;
        let mut lines = fs::open(&p, "rb").await?.lines();
        assert_eq!(lines.next().await.unwrap()?, "ok");
        assert_eq!(
            lines.next().await.unwrap().unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
        io::Result::Ok(())
    })
    .unwrap();
}

#[test]
fn os_functions_exists_is_file_is_dir() {
    block_on(async {
        let dir = TempDir::new().await?;
        let sub = dir.path().join("a/b");
        fs::create_dir_all(&sub).await?;
        let file = sub.join("f");
        fs::write(&file, "1").await?;
        assert!(fs::exists(&file).await && fs::is_file(&file).await && !fs::is_dir(&file).await);
        assert!(fs::exists(&sub).await && fs::is_dir(&sub).await && !fs::is_file(&sub).await);
        let gone = sub.join("nope");
        assert!(!fs::exists(&gone).await && !fs::is_file(&gone).await && !fs::is_dir(&gone).await);
        assert!(!fs::try_exists(&gone).await?);
        let moved = dir.path().join("g");
        fs::rename(&file, &moved).await?;
        assert_eq!(fs::metadata(&moved).await?.len(), 1);
        let names: Vec<_> = fs::read_dir(dir.path())
            .await?
            .map(|e| e.unwrap().file_name())
            .collect()
            .await;
        assert_eq!(names.len(), 2);
        fs::remove_file(&moved).await?;
        assert!(!fs::exists(&moved).await);
        io::Result::Ok(())
    })
    .unwrap();
}

fn entries(dir: &Path) -> usize {
    std::fs::read_dir(dir).unwrap().count()
}

#[test]
fn temporary_files_and_directories_are_removed() {
    block_on(async {
        let dir = TempDir::new().await?;
        let base = dir.path().to_owned();

        // Anonymous: never visible in the directory.
        let mut f = fs::tempfile_in(&base).await?;
        assert_eq!(entries(&base), 0);
        f.write_all(b"abc").await?;
        f.seek(SeekFrom::Start(1)).await?;
        let mut s = String::new();
        f.read_to_string(&mut s).await?;
        assert_eq!(s, "bc");
        drop(f);

        // Named: visible while open, removed on drop (in the background) and by close.
        let mut n = NamedTempFile::new_in(&base).await?;
        n.write_all(b"named").await?;
        n.flush().await?;
        let path = n.path().to_owned();
        assert_eq!(std::fs::read(&path)?, b"named");
        drop(n);
        wait_until("the dropped NamedTempFile to be removed", || !path.exists());
        let n = NamedTempFile::new_in(&base).await?;
        let path = n.path().to_owned();
        n.close().await?;
        assert!(!path.exists());
        let (f, kept) = NamedTempFile::new_in(&base).await?.keep();
        drop(f);
        assert!(kept.exists(), "keep() keeps the file");
        std::fs::remove_file(&kept)?;

        // Directories: removed with their contents.
        let t = TempDir::new_in(&base).await?;
        let inner = t.path().to_owned();
        fs::create_dir_all(inner.join("x/y")).await?;
        fs::write(inner.join("x/y/z"), "z").await?;
        drop(t);
        wait_until("the dropped TempDir to be removed", || !inner.exists());
        let t = TempDir::new_in(&base).await?;
        let inner = t.path().to_owned();
        fs::write(inner.join("z"), "z").await?;
        t.close().await?;
        assert!(!inner.exists());
        let kept = TempDir::new_in(&base).await?.keep();
        assert!(kept.is_dir());
        assert_eq!(entries(&base), 1);
        drop(dir);
        wait_until("the outer TempDir to be removed", || !base.exists());
        io::Result::Ok(())
    })
    .unwrap();
}

#[cfg(unix)]
#[test]
fn positional_io_keeps_the_position_rules() {
    block_on(async {
        let data: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
        let mut f = fs::tempfile().await?;
        f.write_all(&data).await?;
        f.seek(SeekFrom::Start(0)).await?;
        // Read sequentially far enough that read-ahead is running.
        let mut got = vec![0u8; 200_000];
        f.read_exact(&mut got).await?;
        assert_eq!(got, data[..200_000]);
        // A positional read does not move the position and sees bytes not yet flushed.
        let mut b = [0u8; 4];
        assert_eq!(f.read_at(&mut b, 10).await?, 4);
        assert_eq!(b, data[10..14]);
        // A positional write into the read-ahead region is seen by later sequential reads.
        f.write_all_at(b"WXYZ", 200_100).await?;
        assert_eq!(f.seek(SeekFrom::Current(0)).await?, 200_000);
        let mut next = vec![0u8; 200];
        f.read_exact(&mut next).await?;
        assert_eq!(&next[100..104], b"WXYZ");
        assert_eq!(next[..100], data[200_000..200_100]);
        // Unflushed sequential writes are visible to read_at.
        f.write_all(b"tail").await?; // at 200_200, buffered
        f.read_exact_at(&mut b, 200_200).await?;
        assert_eq!(&b, b"tail");
        assert_eq!(f.seek(SeekFrom::Current(0)).await?, 200_204);
        let end = f.read_at(&mut b, 1_000_000).await?;
        assert_eq!(end, 0, "EOF");
        let e = f.read_exact_at(&mut b, 999_998).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        io::Result::Ok(())
    })
    .unwrap();
}
